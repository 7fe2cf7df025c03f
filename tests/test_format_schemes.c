/* The number-format schemes end to end: MX blocks (each scale rule, MXINT8,
 * the clip count), NVFP4's two-level scales, NF4's levels against QLoRA's
 * published table and its double quantization, minifloat's options and checks,
 * bits_per_weight of every scheme and the ABI 2 descriptor fields. Expected
 * values are worked out by hand in the comments. */
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
