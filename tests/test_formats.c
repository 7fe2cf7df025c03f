/* The number formats from their specifications: every code point of FP8 E4M3 /
 * E5M2 (OCP OFP8), FP6 E2M3 / E3M2 and FP4 E2M1 (OCP MX v1.0, ONNX float4),
 * encoding at every boundary and tie, overflow in both modes, E8M0, the MX
 * shared-scale rules, NVFP4's two-level scales, NF4's levels (QLoRA) and the
 * bits_per_weight of every scheme. Expected values are computed here by a
 * different route than schemes/minifloat_codec.c (pow of the bit fields, not
 * ldexp of an integer significand) or written out from the documents. */
#include "tests/util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/rng.h"
#include "schemes/fp_levels.h"
#include "schemes/granularity.h"
#include "schemes/minifloat_codec.h"
#include "schemes/mx.h"
#include "schemes/nf4.h"
#include "schemes/scheme.h"

static struct zp_scheme_config cfg_of(const char *name, int bits)
{
    struct zp_scheme_config cfg;
    const struct zp_scheme *s = zp_scheme_find(name);
    assert_non_null(s);
    zp_scheme_config_defaults(&cfg, s);
    if (bits > 0)
        cfg.bits = bits;
    return cfg;
}

static double clip_share(const struct zp_scheme_config *cfg, const struct zp_tensor_qparams *qp,
                         const float *x, const int64_t *shape, int ndim)
{
    size_t n = 0;
    struct zp_err err = {0};
    assert_int_equal(zp_tensor_clip_count(cfg, qp, x, shape, ndim, &n, &err), ZP_OK);
    return (double)n / (double)qp->n_slices;
}

static void set_opt(struct zp_scheme_config *cfg, const char *name, double v)
{
    int i = zp_scheme_option_index(cfg->scheme, name);
    assert_true(i >= 0);
    cfg->opt[i].num = v;
}

/* Value of a code from the bit fields, by the textbook formula. NaN / inf per
 * the documents: E4M3 only S.1111.111 is NaN; E5M2 exponent 11111 is inf
 * (mantissa 0) or NaN; FP6 / FP4 have neither. */
static double ref_decode(int ebits, int mbits, int bias, int kind, unsigned code)
{
    int width = 1 + ebits + mbits;
    int s = (code >> (width - 1)) & 1;
    unsigned e = (code >> mbits) & ((1u << ebits) - 1);
    unsigned m = code & ((1u << mbits) - 1);
    double sign = s ? -1.0 : 1.0;
    if (kind == 1 && e == (1u << ebits) - 1 && m == (1u << mbits) - 1)
        return NAN;
    if (kind == 2 && e == (1u << ebits) - 1)
        return m ? NAN : sign * INFINITY;
    double frac = (double)m / pow(2.0, mbits);
    if (e == 0)
        return sign * frac * pow(2.0, 1 - bias);
    return sign * (1.0 + frac) * pow(2.0, (double)e - bias);
}

struct fmt_ref {
    enum zp_mf_format f;
    int ebits, mbits, bias, kind;
    double max;
    int n_nan, n_inf;
};
static const struct fmt_ref fmts[] = {
    {ZP_MF_E4M3, 4, 3, 7, 1, 448.0, 2, 0},   {ZP_MF_E5M2, 5, 2, 15, 2, 57344.0, 6, 2},
    {ZP_MF_E2M3, 2, 3, 1, 0, 7.5, 0, 0},     {ZP_MF_E3M2, 3, 2, 3, 0, 28.0, 0, 0},
    {ZP_MF_E2M1, 2, 1, 1, 0, 6.0, 0, 0},
};
#define N_FMTS (sizeof fmts / sizeof fmts[0])

static void test_decode_every_code(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_FMTS; k++) {
        const struct fmt_ref *r = &fmts[k];
        const struct zp_mf_info *in = zp_mf_info(r->f);
        unsigned n = 1u << in->width;
        int nan = 0, inf = 0;
        double mx = 0;
        for (unsigned c = 0; c < n; c++) {
            double want = ref_decode(r->ebits, r->mbits, r->bias, r->kind, c);
            float got = zp_mf_decode(r->f, c);
            if (isnan(want)) {
                nan++;
                assert_true(isnan(got));
                continue;
            }
            if (isinf(want))
                inf++;
            if (got != (float)want || !signbit(got) != !signbit(want)) {
                printf("%s code 0x%02x: got %g want %g\n", in->name, c, got, want);
                fail();
            }
            if (!isinf(want) && fabs(want) > mx)
                mx = fabs(want);
        }
        assert_int_equal(nan, r->n_nan);
        assert_int_equal(inf, r->n_inf);
        assert_true(mx == r->max);
        assert_true(in->max == (float)r->max);
        assert_true(zp_mf_decode(r->f, in->max_mag) == in->max);
    }
}

/* Spot values written out from the documents. */
static void test_spec_values(void **state)
{
    (void)state;
    /* OFP8 E4M3 */
    assert_true(zp_mf_decode(ZP_MF_E4M3, 0x7E) == 448.0f);
    assert_true(zp_mf_decode(ZP_MF_E4M3, 0xFE) == -448.0f);
    assert_true(zp_mf_decode(ZP_MF_E4M3, 0x08) == 0x1p-6f);
    assert_true(zp_mf_decode(ZP_MF_E4M3, 0x01) == 0x1p-9f);
    assert_true(zp_mf_decode(ZP_MF_E4M3, 0x07) == 0.875f * 0x1p-6f);
    assert_true(zp_mf_decode(ZP_MF_E4M3, 0x38) == 1.0f);
    assert_true(zp_mf_decode(ZP_MF_E4M3, 0x77) == 240.0f);
    assert_true(zp_mf_decode(ZP_MF_E4M3, 0x78) == 256.0f);
    assert_true(isnan(zp_mf_decode(ZP_MF_E4M3, 0x7F)));
    assert_true(isnan(zp_mf_decode(ZP_MF_E4M3, 0xFF)));
    assert_true(zp_mf_decode(ZP_MF_E4M3, 0x80) == 0.0f && signbit(zp_mf_decode(ZP_MF_E4M3, 0x80)));
    /* OFP8 E5M2 */
    assert_true(zp_mf_decode(ZP_MF_E5M2, 0x7B) == 57344.0f);
    assert_true(isinf(zp_mf_decode(ZP_MF_E5M2, 0x7C)) && zp_mf_decode(ZP_MF_E5M2, 0x7C) > 0);
    assert_true(isinf(zp_mf_decode(ZP_MF_E5M2, 0xFC)) && zp_mf_decode(ZP_MF_E5M2, 0xFC) < 0);
    assert_true(isnan(zp_mf_decode(ZP_MF_E5M2, 0x7D)) && isnan(zp_mf_decode(ZP_MF_E5M2, 0x7E)) &&
                isnan(zp_mf_decode(ZP_MF_E5M2, 0x7F)));
    assert_true(zp_mf_decode(ZP_MF_E5M2, 0x04) == 0x1p-14f);
    assert_true(zp_mf_decode(ZP_MF_E5M2, 0x01) == 0x1p-16f);
    assert_true(zp_mf_decode(ZP_MF_E5M2, 0x3C) == 1.0f);
    /* MX FP6 */
    assert_true(zp_mf_decode(ZP_MF_E2M3, 0x1F) == 7.5f);
    assert_true(zp_mf_decode(ZP_MF_E2M3, 0x01) == 0.125f);
    assert_true(zp_mf_decode(ZP_MF_E2M3, 0x08) == 1.0f);
    assert_true(zp_mf_decode(ZP_MF_E2M3, 0x3F) == -7.5f);
    assert_true(zp_mf_decode(ZP_MF_E3M2, 0x1F) == 28.0f);
    assert_true(zp_mf_decode(ZP_MF_E3M2, 0x01) == 0.0625f);
    assert_true(zp_mf_decode(ZP_MF_E3M2, 0x04) == 0.25f);
    assert_true(zp_mf_decode(ZP_MF_E3M2, 0x0C) == 1.0f);
    /* FP4 E2M1: the ONNX float4 table, all eight magnitudes */
    static const float e2m1[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
    for (unsigned c = 0; c < 8; c++) {
        assert_true(zp_mf_decode(ZP_MF_E2M1, c) == e2m1[c]);
        assert_true(zp_mf_decode(ZP_MF_E2M1, c | 8u) == -e2m1[c]);
    }
    /* emax_elem (OCP MX v1.0 element tables) */
    assert_int_equal(zp_mf_info(ZP_MF_E4M3)->emax, 8);
    assert_int_equal(zp_mf_info(ZP_MF_E5M2)->emax, 15);
    assert_int_equal(zp_mf_info(ZP_MF_E2M3)->emax, 2);
    assert_int_equal(zp_mf_info(ZP_MF_E3M2)->emax, 4);
    assert_int_equal(zp_mf_info(ZP_MF_E2M1)->emax, 2);
}

static void test_encode_roundtrip(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_FMTS; k++) {
        enum zp_mf_format f = fmts[k].f;
        unsigned n = 1u << zp_mf_info(f)->width;
        for (unsigned c = 0; c < n; c++) {
            float v = zp_mf_decode(f, c);
            if (!isfinite(v))
                continue;
            assert_int_equal(zp_mf_encode(f, v, 1), c);
            assert_int_equal(zp_mf_encode(f, v, 0), c);
        }
    }
}

/* Between every two adjacent non-negative values: the midpoint goes to the one
 * with the even code (even mantissa), a float ulp either side to the nearer. */
static void test_encode_every_tie(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_FMTS; k++) {
        enum zp_mf_format f = fmts[k].f;
        const struct zp_mf_info *in = zp_mf_info(f);
        uint32_t sb = zp_mf_sign_bit(in);
        for (uint32_t c = 0; c < in->max_mag; c++) {
            float a = zp_mf_decode(f, c), b = zp_mf_decode(f, c + 1);
            float mid = (float)(0.5 * ((double)a + b)); /* exact: few significant bits */
            assert_true((double)mid == 0.5 * ((double)a + b));
            uint32_t even = (c % 2 == 0) ? c : c + 1;
            for (int sat = 0; sat < 2; sat++) {
                assert_int_equal(zp_mf_encode(f, mid, sat), even);
                assert_int_equal(zp_mf_encode(f, -mid, sat), even | sb);
                assert_int_equal(zp_mf_encode(f, nextafterf(mid, 0.0f), sat), c);
                assert_int_equal(zp_mf_encode(f, nextafterf(mid, INFINITY), sat), c + 1);
                assert_int_equal(zp_mf_encode(f, -nextafterf(mid, INFINITY), sat), (c + 1) | sb);
            }
        }
        /* the double entry point sees ties a float cannot carry: one double
         * ulp past a midpoint whose float neighbour is the midpoint itself */
        for (uint32_t c = 0; c < in->max_mag; c++) {
            double a = zp_mf_decode(f, c), b = zp_mf_decode(f, c + 1), mid = 0.5 * (a + b);
            assert_int_equal(zp_mf_encode_double(f, nextafter(mid, 1e300), 1), c + 1);
            assert_int_equal(zp_mf_encode_double(f, nextafter(mid, 0.0), 1), c);
        }
        /* below the smallest subnormal: half of it ties to 0 (even) */
        float mins = zp_mf_decode(f, 1);
        assert_int_equal(zp_mf_encode(f, mins / 2, 1), 0);
        assert_int_equal(zp_mf_encode(f, -mins / 2, 1), sb); /* -0 */
        assert_int_equal(zp_mf_encode(f, nextafterf(mins / 2, 1.0f), 1), 1);
        assert_int_equal(zp_mf_encode(f, 1e-30f, 1), 0);
    }
}

static void test_overflow_and_nan(void **state)
{
    (void)state;
    /* E4M3: grid past 448 continues with 480 (the NaN pattern); 464 ties to
     * 448 (mantissa 110 even), anything above overflows. */
    assert_int_equal(zp_mf_encode(ZP_MF_E4M3, 464.0f, 0), 0x7E);
    assert_int_equal(zp_mf_encode(ZP_MF_E4M3, 464.0f, 1), 0x7E);
    assert_int_equal(zp_mf_encode(ZP_MF_E4M3, nextafterf(464.0f, 1e9f), 1), 0x7E);
    assert_int_equal(zp_mf_encode(ZP_MF_E4M3, nextafterf(464.0f, 1e9f), 0), 0x7F);
    assert_int_equal(zp_mf_encode(ZP_MF_E4M3, -1e9f, 0), 0xFF);
    assert_int_equal(zp_mf_encode(ZP_MF_E4M3, -1e9f, 1), 0xFE);
    assert_int_equal(zp_mf_encode(ZP_MF_E4M3, INFINITY, 1), 0x7E);
    assert_int_equal(zp_mf_encode(ZP_MF_E4M3, INFINITY, 0), 0x7F);
    assert_int_equal(zp_mf_encode(ZP_MF_E4M3, NAN, 1), 0x7F);
    /* E5M2: 61440 ties between 57344 (mantissa 11) and 65536 (even): overflow. */
    assert_int_equal(zp_mf_encode(ZP_MF_E5M2, nextafterf(61440.0f, 0), 0), 0x7B);
    assert_int_equal(zp_mf_encode(ZP_MF_E5M2, 61440.0f, 0), 0x7C);
    assert_int_equal(zp_mf_encode(ZP_MF_E5M2, 61440.0f, 1), 0x7B);
    assert_int_equal(zp_mf_encode(ZP_MF_E5M2, -1e9f, 0), 0xFC);
    assert_int_equal(zp_mf_encode(ZP_MF_E5M2, -INFINITY, 0), 0xFC);
    assert_int_equal(zp_mf_encode(ZP_MF_E5M2, -INFINITY, 1), 0xFB);
    assert_true(isnan(zp_mf_decode(ZP_MF_E5M2, zp_mf_encode(ZP_MF_E5M2, NAN, 0))));
    /* FP6 / FP4: no inf or NaN, always clamp. E2M1 7 ties between 6 (odd) and
     * 8 (even, beyond max): clamps to 6; 5 ties to 4 (even). */
    assert_int_equal(zp_mf_encode(ZP_MF_E2M1, 7.0f, 0), 0x7);
    assert_int_equal(zp_mf_encode(ZP_MF_E2M1, 5.0f, 0), 0x6);
    assert_int_equal(zp_mf_encode(ZP_MF_E2M1, -1e9f, 0), 0xF);
    assert_int_equal(zp_mf_encode(ZP_MF_E2M1, INFINITY, 0), 0x7);
    assert_int_equal(zp_mf_encode(ZP_MF_E2M3, 100.0f, 0), 0x1F);
    assert_int_equal(zp_mf_encode(ZP_MF_E3M2, -100.0f, 0), 0x3F);
    assert_int_equal(zp_mf_encode(ZP_MF_E2M1, NAN, 1), 0);
}

static void test_e8m0(void **state)
{
    (void)state;
    assert_true(zp_e8m0_decode(127) == 1.0f);
    assert_true(zp_e8m0_decode(0) == 0x1p-127f);
    assert_true(zp_e8m0_decode(254) == 0x1p127f);
    assert_true(zp_e8m0_decode(130) == 8.0f);
    assert_true(isnan(zp_e8m0_decode(0xFF)));
    assert_int_equal(zp_e8m0_from_exp(0), 127);
    assert_int_equal(zp_e8m0_from_exp(-300), 0);
    assert_int_equal(zp_e8m0_from_exp(300), 254); /* never the NaN pattern */
}

static void test_mx_shared_exponent(void **state)
{
    (void)state;
    /* FP4, amax 7: floor 2 - 2 = 0 (7 clips to 6); ceil log2(7/6) -> 1; round:
     * 7 = 1.75 * 4 rounds to 1 mantissa bit as 2.0 * 4 -> binade 3 -> 1. */
    assert_int_equal(zp_mx_shared_exponent(7.0, ZP_MX_FP4_E2M1, ZP_MX_FLOOR), 0);
    assert_int_equal(zp_mx_shared_exponent(7.0, ZP_MX_FP4_E2M1, ZP_MX_CEIL), 1);
    assert_int_equal(zp_mx_shared_exponent(7.0, ZP_MX_FP4_E2M1, ZP_MX_ROUND), 1);
    /* amax 6: every rule gives X = 1 */
    for (int r = 0; r < 3; r++)
        assert_int_equal(zp_mx_shared_exponent(6.0, ZP_MX_FP4_E2M1, (enum zp_mx_rule)r), 0);
    /* amax 6.5: 1.625 rounds to 1.5 -> round keeps 0; ceil still 1 */
    assert_int_equal(zp_mx_shared_exponent(6.5, ZP_MX_FP4_E2M1, ZP_MX_ROUND), 0);
    assert_int_equal(zp_mx_shared_exponent(6.5, ZP_MX_FP4_E2M1, ZP_MX_CEIL), 1);
    /* E4M3, amax 1: floor 0 - 8 = -8; ceil(log2(1/448)) = -8 */
    assert_int_equal(zp_mx_shared_exponent(1.0, ZP_MX_FP8_E4M3, ZP_MX_FLOOR), -8);
    assert_int_equal(zp_mx_shared_exponent(1.0, ZP_MX_FP8_E4M3, ZP_MX_CEIL), -8);
    /* E4M3 amax 500: floor 8 - 8 = 0 (500 > 448 clips); ceil 1 */
    assert_int_equal(zp_mx_shared_exponent(500.0, ZP_MX_FP8_E4M3, ZP_MX_FLOOR), 0);
    assert_int_equal(zp_mx_shared_exponent(500.0, ZP_MX_FP8_E4M3, ZP_MX_CEIL), 1);
    /* E5M2 amax 3: floor 1 - 15 = -14 */
    assert_int_equal(zp_mx_shared_exponent(3.0, ZP_MX_FP8_E5M2, ZP_MX_FLOOR), -14);
    /* INT8 (max 127/64): 1.99 floor 0, clips; ceil 1; round 127.36 -> 127: 0;
     * 1.995 -> 127.68 -> 128: 1 */
    assert_int_equal(zp_mx_shared_exponent(1.99, ZP_MX_INT8, ZP_MX_FLOOR), 0);
    assert_int_equal(zp_mx_shared_exponent(1.99, ZP_MX_INT8, ZP_MX_CEIL), 1);
    assert_int_equal(zp_mx_shared_exponent(1.99, ZP_MX_INT8, ZP_MX_ROUND), 0);
    assert_int_equal(zp_mx_shared_exponent(1.995, ZP_MX_INT8, ZP_MX_ROUND), 1);
    /* zero and E8M0 clamping */
    assert_int_equal(zp_mx_shared_exponent(0.0, ZP_MX_FP4_E2M1, ZP_MX_FLOOR), 0);
    assert_int_equal(zp_mx_shared_exponent(1e-45, ZP_MX_FP8_E4M3, ZP_MX_FLOOR), -127);
    assert_int_equal(zp_mx_shared_exponent(1e38, ZP_MX_FP4_E2M1, ZP_MX_FLOOR), 124);
}

/* MXFP4, two blocks of 32, floor rule, end to end through the tensor API. */
static void test_mx_block_end_to_end(void **state)
{
    (void)state;
    struct zp_scheme_config cfg = cfg_of("mx", 4);
    set_opt(&cfg, "element", ZP_MX_FP4_E2M1);
    assert_int_equal(cfg.granularity, ZP_PER_GROUP);
    assert_int_equal(cfg.group_size, 32);
    struct zp_err err = {0};
    assert_int_equal(zp_scheme_config_check(&cfg, &err), ZP_OK);
    float x[64] = {0}, y[64];
    /* block 0: amax 7 -> X = 1 */
    const float b0[] = {7.0f, -3.1f, 0.26f, 1.25f, 0.0f, -5.0f, 2.5f, 0.74f, 0.25f};
    const float w0[] = {6.0f, -3.0f, 0.5f, 1.0f, 0.0f, -4.0f, 2.0f, 0.5f, 0.0f};
    memcpy(x, b0, sizeof b0);
    /* block 1: amax 0.75 -> floor(log2 .75) = -1, X = 2^-3; 0.75 / X = 6 */
    const float b1[] = {0.75f, -0.1f, 0.3f, 0.03f};
    const float w1[] = {0.75f, -0.125f, 0.25f, 0.0f}; /* 0.8->1, 2.4->2, 0.24->0 */
    memcpy(x + 32, b1, sizeof b1);
    int64_t shape[2] = {2, 32};
    struct zp_tensor_qparams qp;
    assert_int_equal(zp_fake_quant(&cfg, x, shape, 2, "mx", y, &qp, &err), ZP_OK);
    assert_true(qp.slice[0].scale == 1.0f);
    assert_true(qp.slice[1].scale == 0.125f);
    for (size_t i = 0; i < sizeof w0 / sizeof w0[0]; i++)
        assert_true(y[i] == w0[i]);
    for (size_t i = 0; i < sizeof w1 / sizeof w1[0]; i++)
        assert_true(y[32 + i] == w1[i]);
    /* one block of two clips (7 > 6 X) */
    assert_true(clip_share(&cfg, &qp, x, shape, 2) == 0.5);
    int64_t wrong[2] = {1, 64}; /* 2 blocks too, but ... */
    int64_t other[2] = {4, 32}; /* 4 blocks: does not match qp */
    size_t nc = 99;
    assert_int_equal(zp_tensor_clip_count(&cfg, &qp, x, wrong, 2, &nc, &err), ZP_OK);
    assert_int_equal(nc, 1);
    assert_int_equal(zp_tensor_clip_count(&cfg, &qp, x, other, 2, &nc, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "do not match"));
    zp_err_clear(&err);
    zp_tensor_qparams_free(&qp);
    /* ceil: block 0 X = 2, 7/2 = 3.5 ties to 4 -> 8? No: 3.5 lies between 3 (odd)
     * and 4 (even): 4 * 2 = 8; nothing clips. */
    set_opt(&cfg, "scale_rule", ZP_MX_CEIL);
    assert_int_equal(zp_fake_quant(&cfg, x, shape, 2, "mx", y, &qp, &err), ZP_OK);
    assert_true(qp.slice[0].scale == 2.0f);
    assert_true(y[0] == 8.0f);
    assert_true(y[1] == -3.0f); /* -1.55 -> -1.5 */
    assert_true(clip_share(&cfg, &qp, x, shape, 2) == 0.0);
    zp_tensor_qparams_free(&qp);
    /* MXINT8: X = 2^-? for amax 7: floor 2 - 0 = 2, X = 4, element 7/4*64 = 112 */
    cfg = cfg_of("mx", 8);
    set_opt(&cfg, "element", ZP_MX_INT8);
    assert_int_equal(zp_fake_quant(&cfg, x, shape, 2, "mx", y, &qp, &err), ZP_OK);
    assert_true(qp.slice[0].scale == 4.0f);
    assert_true(y[0] == 7.0f);
    assert_true(y[1] == -3.125f); /* -3.1/4*64 = -49.6 -> -50 -> -50/16 */
    zp_tensor_qparams_free(&qp);
    /* bits must match the element */
    cfg = cfg_of("mx", 8);
    set_opt(&cfg, "element", ZP_MX_FP6_E2M3);
    zp_err_clear(&err);
    assert_int_equal(zp_scheme_config_check(&cfg, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "set bits 6"));
}

/* NVFP4: s_t = amax_t / 2688; block scales E4M3 of amax_b / 6 / s_t. */
static void test_nvfp4_two_level(void **state)
{
    (void)state;
    struct zp_scheme_config cfg = cfg_of("nvfp4", 0);
    assert_int_equal(cfg.granularity, ZP_PER_GROUP);
    assert_int_equal(cfg.group_size, 16);
    float x[48] = {0}, y[48];
    x[0] = 2688.0f; /* s_t = 1, block 0 scale 448 */
    x[16] = 0.7f;   /* block 1: 0.11667 -> E4M3 15 * 2^-7 = 0.1171875 */
    x[17] = -0.2f;  /* -0.2 / 0.1171875 = -1.7067 -> -1.5 */
    x[32] = 3.0f;   /* block 2: 0.5 exactly */
    x[33] = 1.3f;   /* 2.6 -> 3 -> 1.5 */
    x[34] = 0.5f;   /* 1.0 -> 0.5 */
    int64_t shape[2] = {1, 48}; /* one output channel: blocks run along it */
    struct zp_tensor_qparams qp;
    struct zp_err err = {0};
    assert_int_equal(zp_fake_quant(&cfg, x, shape, 2, "nv", y, &qp, &err), ZP_OK);
    assert_true(qp.slice[0].scale == 448.0f);
    assert_true(qp.slice[1].scale == 0.1171875f);
    assert_true(qp.slice[2].scale == 0.5f);
    assert_true(y[0] == 2688.0f);
    assert_true(y[16] == 6.0f * 0.1171875f);
    assert_true(y[17] == -1.5f * 0.1171875f);
    assert_true(y[32] == 3.0f && y[33] == 1.5f && y[34] == 0.5f);
    zp_tensor_qparams_free(&qp);
    /* fitted alone (an activation), block 1 is its own tensor: scale 0.7 / 6 */
    struct zp_qparams p;
    assert_int_equal(cfg.scheme->fit(&cfg, x + 16, 16, &p, &err), ZP_OK);
    assert_true(zp_test_close(p.scale, 0.7 / 6.0, 1e-6));
    /* bits: 4 + 8/16 + 32 / n */
    int64_t big[2] = {64, 128};
    assert_true(fabs(zp_bits_per_weight(&cfg, big, 2, &err) - (4.5 + 32.0 / 8192)) < 1e-12);
}

static void test_nf4_levels(void **state)
{
    (void)state;
    /* QLoRA appendix E / bitsandbytes' NF4 table */
    static const double pub[16] = {
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
        -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
        0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0};
    float nf[16];
    zp_nf4_levels(nf);
    for (int i = 0; i < 16; i++) {
        if (fabs(nf[i] - pub[i]) > 2e-7) {
            printf("NF4 level %d: %.9f vs published %.9f\n", i, nf[i], pub[i]);
            fail();
        }
    }
    assert_true(nf[7] == 0.0f);
    float map[256];
    zp_nf4_dq_map(map);
    for (int i = 1; i < 256; i++)
        assert_true(map[i] > map[i - 1]);
    assert_true(map[255] == 1.0f);
    assert_true(zp_test_close(map[0], -0.99296875, 1e-6)); /* last midpoint at 10^0 */
    int zero = 0;
    for (int i = 0; i < 256; i++)
        zero += map[i] == 0.0f;
    assert_int_equal(zero, 1);
    assert_true(zp_test_close(map[128], 5.5e-7, 1e-6)); /* smallest positive: 0.55e-6 */
}

static void test_nf4_blocks(void **state)
{
    (void)state;
    struct zp_scheme_config cfg = cfg_of("nf4", 0);
    assert_int_equal(cfg.group_size, 64);
    enum { N = 64 * 512 };
    static float x[N], y[N], z[N];
    struct zp_rng r;
    zp_rng_seed(&r, 5);
    for (int i = 0; i < N; i++)
        x[i] = (float)zp_rng_gaussian(&r);
    int64_t shape[2] = {1, N};
    struct zp_tensor_qparams qp;
    struct zp_err err = {0};
    assert_int_equal(zp_fake_quant(&cfg, x, shape, 2, "nf4", y, &qp, &err), ZP_OK);
    float nf[16];
    zp_nf4_levels(nf);
    /* every output is absmax * a level, the nearest one */
    for (int b = 0; b < 4; b++) {
        float c = 0;
        for (int i = 0; i < 64; i++)
            c = fabsf(x[b * 64 + i]) > c ? fabsf(x[b * 64 + i]) : c;
        for (int i = 0; i < 64; i++) {
            float v = x[b * 64 + i] / c, best = 9;
            int bi = 0;
            for (int k = 0; k < 16; k++)
                if (fabsf(v - nf[k]) < best)
                    best = fabsf(v - nf[k]), bi = k;
            assert_true(zp_test_close(y[b * 64 + i], c * nf[bi], 1e-6) || nf[bi] == 0.0f);
        }
    }
    zp_tensor_qparams_free(&qp);
    /* double quantization: block absmaxes within 1% and a little more error */
    set_opt(&cfg, "double_quant", 1);
    assert_int_equal(zp_fake_quant(&cfg, x, shape, 2, "nf4", z, &qp, &err), ZP_OK);
    double e1 = 0, e2 = 0;
    for (int i = 0; i < N; i++) {
        e1 += (double)(x[i] - y[i]) * (x[i] - y[i]);
        e2 += (double)(x[i] - z[i]) * (x[i] - z[i]);
    }
    for (size_t s = 0; s < qp.n_slices; s++)
        assert_true(fabs(qp.slice[s].levels[15] - qp.slice[s].amax) < 0.01 * qp.slice[s].amax);
    assert_true(e2 >= e1 * 0.999 && e2 < e1 * 1.05);
    zp_tensor_qparams_free(&qp);
    assert_true(fabs(zp_bits_per_weight(&cfg, shape, 2, &err) -
                     (4.0 + (8.0 * 512 + 32.0 * 2 + 32.0) / N)) < 1e-12);
    int64_t big[2] = {1, 64LL * 256 * 64};
    double b = zp_bits_per_weight(&cfg, big, 2, &err);
    assert_true(b > 4.126 && b < 4.128); /* QLoRA: 4.127 */
}

static void test_minifloat_scheme(void **state)
{
    (void)state;
    struct zp_scheme_config cfg = cfg_of("minifloat", 8);
    struct zp_err err = {0};
    const float x[] = {448.0f, -1.0f, 3.3f, 0.0f};
    struct zp_qparams p;
    assert_int_equal(cfg.scheme->fit(&cfg, x, 4, &p, &err), ZP_OK);
    assert_true(p.scale == 1.0f);
    assert_int_equal(p.n_levels, 253);
    int32_t q[4];
    float y[4];
    cfg.scheme->quantize(&cfg, &p, x, q, 4);
    cfg.scheme->dequantize(&cfg, &p, q, y, 4);
    assert_true(y[0] == 448.0f && y[1] == -1.0f && y[2] == 3.25f && y[3] == 0.0f);
    /* codes are level indices, ascending with value */
    assert_int_equal(q[3], 126);
    assert_int_equal(q[0], 252);
    assert_int_equal(zp_fp_index_of_code(ZP_MF_E4M3, 0xFE), 0);
    /* non-saturating with a calibrated range: beyond it E4M3 overflows to NaN */
    set_opt(&cfg, "saturating", 0);
    assert_int_equal(zp_scheme_config_check(&cfg, &err), ZP_OK);
    assert_int_equal(cfg.scheme->fit_range(&cfg, -1.0f, 1.0f, &p, &err), ZP_OK);
    const float big[] = {2.0f, -1.0f};
    cfg.scheme->quantize(&cfg, &p, big, q, 2);
    cfg.scheme->dequantize(&cfg, &p, q, y, 2);
    assert_true(isnan(y[0]) && y[1] == -1.0f);
    set_opt(&cfg, "format", ZP_MF_E5M2);
    assert_int_equal(cfg.scheme->fit_range(&cfg, -1.0f, 1.0f, &p, &err), ZP_OK);
    cfg.scheme->quantize(&cfg, &p, big, q, 2);
    cfg.scheme->dequantize(&cfg, &p, q, y, 2);
    assert_true(isinf(y[0]) && y[0] > 0);
    /* FP4 needs bits 4, and has nothing to overflow to */
    set_opt(&cfg, "format", ZP_MF_E2M1);
    zp_err_clear(&err);
    assert_int_equal(zp_scheme_config_check(&cfg, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "set bits 4"));
    cfg.bits = 4;
    zp_err_clear(&err);
    assert_int_equal(zp_scheme_config_check(&cfg, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "saturating"));
    set_opt(&cfg, "saturating", 1);
    assert_int_equal(zp_scheme_config_check(&cfg, &err), ZP_OK);
    /* per-group at 8 bits is allowed for schemes without kernels */
    cfg = cfg_of("minifloat", 8);
    cfg.granularity = ZP_PER_GROUP;
    assert_int_equal(zp_scheme_config_check(&cfg, &err), ZP_OK);
    /* all-zero slice */
    const float zeros[3] = {0};
    assert_int_equal(cfg.scheme->fit(&cfg, zeros, 3, &p, &err), ZP_OK);
    cfg.scheme->quantize(&cfg, &p, zeros, q, 3);
    cfg.scheme->dequantize(&cfg, &p, q, y, 3);
    assert_true(y[0] == 0.0f && y[2] == 0.0f);
}

static void test_bits_per_weight_all(void **state)
{
    (void)state;
    int64_t shape[2] = {64, 128};
    struct zp_err err = {0};
    struct {
        const char *name;
        int bits;
        enum zp_granularity g;
        double want;
    } cases[] = {
        {"symmetric", 8, ZP_PER_CHANNEL, 8.0 + 32.0 / 128},
        {"symmetric", 8, ZP_PER_TENSOR, 8.0 + 32.0 / 8192},
        {"no-128", 8, ZP_PER_CHANNEL, 8.25},
        {"asymmetric", 8, ZP_PER_CHANNEL, 8.0 + 40.0 / 128},
        {"linear4", 4, ZP_PER_GROUP, 4.0 + 32.0 / 32},
        {"lut4", 4, ZP_PER_CHANNEL, 4.0 + 16 * 32.0 / 128},
        {"binary", 1, ZP_PER_CHANNEL, 1.25},
        {"minifloat", 8, ZP_PER_TENSOR, 8.0 + 32.0 / 8192},
        {"mx", 8, ZP_PER_GROUP, 8.25},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct zp_scheme_config cfg = cfg_of(cases[i].name, cases[i].bits);
        cfg.granularity = cases[i].g;
        double b = zp_bits_per_weight(&cfg, shape, 2, &err);
        if (fabs(b - cases[i].want) > 1e-12) {
            printf("%s: %g, want %g\n", cases[i].name, b, cases[i].want);
            fail();
        }
    }
    struct zp_scheme_config cfg = cfg_of("mx", 4);
    set_opt(&cfg, "element", ZP_MX_FP4_E2M1);
    assert_true(zp_bits_per_weight(&cfg, shape, 2, &err) == 4.25);
    cfg.axis = 5;
    cfg.granularity = ZP_PER_CHANNEL;
    zp_err_clear(&err);
    assert_true(zp_bits_per_weight(&cfg, shape, 2, &err) < 0);
    assert_non_null(strstr(err.msg, "axis"));
}

/* ABI 2 descriptor fields: block_size sets the defaults and needs per-group. */
static void test_block_size_descriptor(void **state)
{
    (void)state;
    static const char *const block[] = {"mx", "nvfp4", "nf4"};
    static const int size[] = {32, 16, 64};
    for (int i = 0; i < 3; i++) {
        struct zp_scheme_config c = cfg_of(block[i], 0);
        assert_int_equal(c.granularity, ZP_PER_GROUP);
        assert_int_equal(c.group_size, size[i]);
        assert_non_null(c.scheme->bits_per_weight);
    }
    struct zp_scheme_config c = cfg_of("minifloat", 0);
    assert_int_equal(c.granularity, ZP_PER_TENSOR);
    for (int i = 0; i < zp_scheme_count(); i++)
        assert_non_null(zp_scheme_at(i)->bits_per_weight); /* every built-in counts its bits */
    struct zp_scheme bad = *zp_scheme_find("nf4");
    bad.name = "nf4_no_group";
    bad.granularities = ZP_GRAN_BIT(ZP_PER_TENSOR) | ZP_GRAN_BIT(ZP_PER_CHANNEL);
    struct zp_err err = {0};
    int before = zp_scheme_count();
    assert_int_equal(zp_scheme_register(&bad, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "block_size"));
    assert_int_equal(zp_scheme_count(), before);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_decode_every_code),
        cmocka_unit_test(test_spec_values),
        cmocka_unit_test(test_encode_roundtrip),
        cmocka_unit_test(test_encode_every_tie),
        cmocka_unit_test(test_overflow_and_nan),
        cmocka_unit_test(test_e8m0),
        cmocka_unit_test(test_mx_shared_exponent),
        cmocka_unit_test(test_mx_block_end_to_end),
        cmocka_unit_test(test_nvfp4_two_level),
        cmocka_unit_test(test_nf4_levels),
        cmocka_unit_test(test_nf4_blocks),
        cmocka_unit_test(test_minifloat_scheme),
        cmocka_unit_test(test_bits_per_weight_all),
        cmocka_unit_test(test_block_size_descriptor),
    };
    return ZP_RUN_TESTS(t);
}
