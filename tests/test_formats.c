/* The element formats from their specifications: every code point of FP8 E4M3
 * / E5M2 (OCP OFP8), FP6 E2M3 / E3M2 and FP4 E2M1 (OCP MX v1.0, ONNX float4),
 * encoding at every boundary and tie, overflow in both modes, E8M0 and the MX
 * shared-scale rules (the schemes built on them: test_format_schemes.c).
 * Expected values are computed here by a
 * different route than schemes/minifloat_codec.c (pow of the bit fields, not
 * ldexp of an integer significand) or written out from the documents. */
#include "tests/util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "schemes/minifloat_codec.h"
#include "schemes/mx.h"

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
    };
    return ZP_RUN_TESTS(t);
}
