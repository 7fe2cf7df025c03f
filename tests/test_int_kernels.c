/* The integer inference kernels (kernels/int/): gemmlowp's multiplier and shift on
 * worked values (rounding of ties and of negative values), the fixed-point product
 * against a double-precision reference, and every vector variant bit-exact with its
 * plain reference on ragged shapes (requantization fixed and float, depthwise with
 * padding and strides, channel sums, Add, the input quantization with exact ties),
 * uint8 and int8 codes alike, for every set the CPU has (AVX2, AVX-512). */
#include "tests/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "kernels/kernels.h"

static uint64_t rs = 12345;
static uint32_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)(rs >> 11);
}

static void test_quantize_multiplier(void **state)
{
    (void)state;
    struct zp_err err = {0};
    int32_t m;
    int sh;
    assert_int_equal(zp_quantize_multiplier(0.5, &m, &sh, &err), ZP_OK);
    assert_int_equal(m, 1 << 30);
    assert_int_equal(sh, 0);
    assert_int_equal(zp_quantize_multiplier(0.75, &m, &sh, &err), ZP_OK); /* TFLite's quantization_util test */
    assert_int_equal(m, 1610612736);
    assert_int_equal(sh, 0);
    assert_int_equal(zp_quantize_multiplier(0.25, &m, &sh, &err), ZP_OK);
    assert_int_equal(m, 1 << 30);
    assert_int_equal(sh, -1);
    assert_int_equal(zp_quantize_multiplier(3.0, &m, &sh, &err), ZP_OK);
    assert_int_equal(m, 1610612736);
    assert_int_equal(sh, 2);
    /* q rounds up to 1.0: halved, shift one more */
    assert_int_equal(zp_quantize_multiplier(1.0 - 1e-12, &m, &sh, &err), ZP_OK);
    assert_int_equal(m, 1 << 30);
    assert_int_equal(sh, 1);
    assert_int_equal(zp_quantize_multiplier(0.0, &m, &sh, &err), ZP_OK);
    assert_int_equal(m, 0);
    assert_int_not_equal(zp_quantize_multiplier(-1.0, &m, &sh, &err), ZP_OK);
    assert_non_null(strstr(err.msg, "multiplier"));
}

static void test_rounding_worked(void **state)
{
    (void)state;
    /* M = 0.5 (2^30, 0): the doubling high multiply rounds 1.5 to 2 but -1.5 to -1 */
    assert_int_equal(zp_mul_by_qm(3, 1 << 30, 0), 2);
    assert_int_equal(zp_mul_by_qm(-3, 1 << 30, 0), -1);
    /* M = 0.25 (2^30, -1): the rounding right shift rounds half away from zero */
    assert_int_equal(zp_mul_by_qm(2, 1 << 30, -1), 1);   /* 0.5 */
    assert_int_equal(zp_mul_by_qm(-2, 1 << 30, -1), -1); /* -0.5 */
    assert_int_equal(zp_mul_by_qm(-3, 1 << 30, -1), -1); /* -0.75 */
    assert_int_equal(zp_mul_by_qm(-5, 1 << 30, -1), -1); /* -1.25 */
    assert_int_equal(zp_rdivpot(-6, 2), -2);             /* -1.5 away from zero */
    assert_int_equal(zp_rdivpot(6, 2), 2);
    assert_int_equal(zp_rdivpot(5, 2), 1);
    assert_int_equal(zp_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
    /* a left shift: M = 3 */
    assert_int_equal(zp_mul_by_qm(-7, 1610612736, 2), -21);
}

static void test_against_double(void **state)
{
    (void)state;
    struct zp_err err = {0};
    long off_by_one = 0, n = 0;
    for (int t = 0; t < 200; t++) {
        double M = (rnd() % 1000000 + 1) / 1e6 * ldexp(1.0, -(int)(rnd() % 20)); /* 2^-20 .. 1 */
        int32_t m;
        int sh;
        assert_int_equal(zp_quantize_multiplier(M, &m, &sh, &err), ZP_OK);
        double Mq = (double)m * ldexp(1.0, sh - 31);
        assert_true(fabs(Mq - M) <= M * 1e-9);
        for (int i = 0; i < 500; i++) {
            int32_t x = (int32_t)(rnd() % 2000001) - 1000000;
            double want = x * Mq;
            double r = want >= 0 ? floor(want + 0.5) : ceil(want - 0.5); /* half away from zero */
            int32_t got = zp_mul_by_qm(x, m, sh);
            assert_true(fabs((double)got - r) <= 1.0);
            if (got != (int32_t)r) { /* gemmlowp rounds twice: only next to a tie of the final rounding */
                int right = sh < 0 ? -sh : 0;
                double frac = fabs(want) - floor(fabs(want));
                assert_true(fabs(frac - 0.5) <= ldexp(1.0, -right) + 1e-9);
                off_by_one++;
            }
            n++;
        }
    }
    /* the share that differs: about 2^-right next to each tie, averaged over the shifts */
    assert_true(off_by_one < n / 10);
}

static void fill_codes(uint8_t *x, size_t n) { for (size_t i = 0; i < n; i++) x[i] = (uint8_t)rnd(); }

/* The vector sets this CPU has (NULL-terminated). */
static int vector_sets(const struct zp_int_kernels **out)
{
    static const int isas[] = {ZP_ISA_AVX2, ZP_ISA_AVX512BW, ZP_ISA_AVX512VNNI};
    int n = 0;
    for (size_t i = 0; i < sizeof isas / sizeof *isas; i++)
        if ((out[n] = zp_int_kernels_select(isas[i])))
            printf("  checking the %s set\n", out[n++]->isa_name);
    if (!n)
        printf("  (no vector integer kernels on this CPU: the references only)\n");
    out[n] = NULL;
    return n;
}

static void test_requant_variants(void **state)
{
    (void)state;
    const struct zp_int_kernels *ref = zp_int_kernels_select(ZP_ISA_REF), *sets[4];
    assert_non_null(ref);
    vector_sets(sets);
    for (int vs = 0; sets[vs]; vs++) {
    const struct zp_int_kernels *v = sets[vs];
    static const int shapes[][2] = {{1, 1}, {3, 7}, {5, 8}, {9, 4}, {2, 17}, {7, 33}, {3, 64}, {1, 1000}, {2, 1100}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int mode = 0; mode < 4; mode++) {
            int R = shapes[s][0], N = shapes[s][1];
            int32_t *acc = malloc(sizeof(int32_t) * R * N), *ca = malloc(sizeof(int32_t) * N),
                    *cz = malloc(sizeof(int32_t) * N), *rsum = malloc(sizeof(int32_t) * R),
                    *mu = malloc(sizeof(int32_t) * N);
            int8_t *sh = malloc((size_t)N);
            float *fm = malloc(sizeof(float) * N);
            uint8_t *o1 = malloc((size_t)R * N), *o2 = malloc((size_t)R * N);
            for (int i = 0; i < R * N; i++) /* some near the int32 ends: the 64-bit products' rounding */
                acc[i] = i % 7 == 3 ? (int32_t)(rnd() << 1 | (rnd() & 1)) : (int32_t)(rnd() % 40001) - 20000;
            struct zp_err err = {0};
            for (int j = 0; j < N; j++) {
                ca[j] = (int32_t)(rnd() % 20001) - 10000;
                cz[j] = (int32_t)(rnd() % 16);
                int e;
                double M = (rnd() % 100000 + 1) * 1e-7 * (j % 5 == 0 ? 300 : 1); /* up to 0.01, some columns to 3 */
                assert_int_equal(zp_quantize_multiplier(M, &mu[j], &e, &err), ZP_OK);
                sh[j] = (int8_t)e;
                fm[j] = (float)M;
            }
            for (int i = 0; i < R; i++)
                rsum[i] = (int32_t)(rnd() % 201) - 100;
            int sgn = mode & 1;
            struct zp_rq_call c = {.rows = R, .n = N, .acc = acc, .ld_acc = (size_t)N, .col_add = ca,
                                   .col_zb = mode >= 2 ? cz : NULL, .rowsum = mode >= 2 ? rsum : NULL,
                                   .mult = mu, .shift = sh, .fmult = NULL, .zp = sgn ? -3 : 121,
                                   .lo = sgn ? -128 : 0, .hi = sgn ? 127 : 255, .out = o1, .ld_out = (size_t)N};
            for (int f = 0; f < 2; f++) {
                c.fmult = f ? fm : NULL;
                c.out = o1;
                ref->requant(&c);
                c.out = o2;
                v->requant(&c);
                assert_memory_equal(o1, o2, (size_t)R * N);
            }
            /* not all clamped: the test sees real values */
            int inside = 0;
            for (int i = 0; i < R * N; i++)
                inside += o1[i] != (uint8_t)c.lo && o1[i] != (uint8_t)c.hi;
            assert_true(R * N < 8 || inside > 0);
            free(acc), free(ca), free(cz), free(rsum), free(mu), free(sh), free(fm), free(o1), free(o2);
        }
    }
}

static void test_dw_chansum_add_variants(void **state)
{
    (void)state;
    const struct zp_int_kernels *ref = zp_int_kernels_select(ZP_ISA_REF), *sets[4];
    static const int dims[][7] = {/* h, w, c, k, stride, pad top/left */
                                  {5, 7, 3, 3, 1, 1}, {9, 6, 8, 3, 2, 1}, {4, 4, 17, 3, 1, 0},
                                  {8, 8, 24, 5, 2, 2}, {3, 5, 40, 1, 1, 0}, {7, 9, 8, 3, 1, 1},
                                  {6, 11, 16, 3, 2, 1}, {5, 6, 33, 3, 1, 1}, {2, 3, 8, 3, 1, 1},
                                  /* 3x3 runs of interior groups of even and odd length, 2 and 4
                                     pixels per vector, several channel blocks, no padding */
                                  {6, 20, 8, 3, 1, 1}, {5, 19, 4, 3, 1, 1}, {7, 15, 48, 3, 2, 1},
                                  {4, 12, 16, 3, 1, 0}, {5, 13, 2, 3, 1, 1}, {6, 10, 35, 3, 1, 1}};
    vector_sets(sets);
    for (int vs = 0; sets[vs]; vs++)
    for (size_t d = 0; d < sizeof dims / sizeof *dims; d++)
        for (int sg = 0; sg < 2; sg++) {
            const struct zp_int_kernels *v = sets[vs];
            int h = dims[d][0], w = dims[d][1], c = dims[d][2], k = dims[d][3], s = dims[d][4], pd = dims[d][5];
            int oh = (h + 2 * pd - k) / s + 1, ow = (w + 2 * pd - k) / s + 1;
            uint8_t *x = malloc((size_t)h * w * c), *x2 = malloc((size_t)h * w * c);
            int16_t *wt = malloc(sizeof(int16_t) * k * k * c);
            int32_t *a1 = malloc(sizeof(int32_t) * oh * ow * c), *a2 = malloc(sizeof(int32_t) * oh * ow * c);
            fill_codes(x, (size_t)h * w * c);
            fill_codes(x2, (size_t)h * w * c);
            for (int i = 0; i < k * k * c; i++)
                wt[i] = (int16_t)((int)(rnd() % 511) - 255);
            struct zp_idw_call call = {.h = h, .w = w, .c = c, .kh = k, .kw = k, .sh = s, .sw = s, .pt = pd,
                                       .pl = pd, .oh = oh, .ow = ow, .x = x, .x_signed = sg, .zx = sg ? -7 : 130,
                                       .wt = wt, .acc = a1};
            ref->dw(&call);
            call.acc = a2;
            v->dw(&call);
            assert_memory_equal(a1, a2, sizeof(int32_t) * oh * ow * c);
            ref->chansum(x, sg, h * w, c, a1);
            v->chansum(x, sg, h * w, c, a2);
            assert_memory_equal(a1, a2, sizeof(int32_t) * c);
            struct zp_iadd_params ap;
            struct zp_err err = {0};
            assert_int_equal(zp_add_params(0.02, 0.05, 0.06, &ap, &err), ZP_OK);
            ap.za = sg ? 3 : 128;
            ap.zb = sg ? -10 : 100;
            ap.zo = sg ? 0 : 90;
            ap.lo = sg ? -128 : 0;
            ap.hi = sg ? 127 : 255;
            int64_t n = (int64_t)h * w * c;
            uint8_t *o1 = malloc((size_t)n), *o2 = malloc((size_t)n);
            ref->add(&ap, x, x2, sg, n, o1);
            v->add(&ap, x, x2, sg, n, o2);
            assert_memory_equal(o1, o2, (size_t)n);
            /* the Add against its real-valued meaning: within one code */
            for (int64_t i = 0; i < n; i++) {
                int32_t ca = sg ? (int8_t)x[i] : x[i], cb = sg ? (int8_t)x2[i] : x2[i];
                double real = 0.02 * (ca - ap.za) + 0.05 * (cb - ap.zb);
                double want = fmin(fmax(nearbyint(real / 0.06) + ap.zo, ap.lo), ap.hi);
                int32_t got = sg ? (int8_t)o1[i] : o1[i];
                assert_true(fabs(got - want) <= 1.0);
            }
            free(x), free(x2), free(wt), free(a1), free(a2), free(o1), free(o2);
        }
}

/* The input quantization, NCHW to NHWC: random values, exact half steps (ties to
 * even), values a hair beside them, beyond the code range, at the float ends and
 * NaN-free infinities, 1 to 5 planes (3: the interleaving path) of 0 to 40 pixels
 * (vector bodies and tails). */
static void test_quantize_variants(void **state)
{
    (void)state;
    const struct zp_int_kernels *ref = zp_int_kernels_select(ZP_ISA_REF), *sets[4];
    vector_sets(sets);
    enum { HW = 41, C = 5 };
    float x[C * HW];
    uint8_t o1[C * HW], o2[C * HW];
    static const struct zp_iquant_params qs[] = {{0.5f, 0, -128, 127}, {2.f / 255.f, 128, 0, 255},
                                                 {0.0235f, 17, 0, 255}, {0.125f, -3, -127, 127}};
    for (int vs = 0; sets[vs]; vs++)
        for (size_t qi = 0; qi < sizeof qs / sizeof *qs; qi++)
            for (int c = 1; c <= C; c++)
                for (int hw = 0; hw < HW; hw += hw < 20 ? 1 : 7)
                    for (int kind = 0; kind < 4; kind++) {
                        for (int i = 0; i < c * hw; i++) {
                            double h = (double)((int)(rnd() % 301) - 150) + 0.5; /* a half step */
                            float t = (float)(h * qs[qi].scale);
                            x[i] = kind == 0    ? (float)((int)(rnd() % 20001) - 10000) * 1e-3f
                                   : kind == 1  ? t
                                   : kind == 3  ? (i % 5 == 0 ? t : (float)((int)(rnd() % 2001) - 1000) * 1e-3f)
                                   : i % 4 == 0 ? nextafterf(t, 1e30f)
                                   : i % 4 == 1 ? nextafterf(t, -1e30f)
                                   : i % 4 == 2 ? (i & 1 ? 3e9f : -3e38f)
                                                : (i & 1 ? INFINITY : -INFINITY);
                        }
                        memset(o1, 0xAA, sizeof o1);
                        memset(o2, 0xAA, sizeof o2);
                        ref->quantize(&qs[qi], x, c, hw, o1);
                        sets[vs]->quantize(&qs[qi], x, c, hw, o2);
                        assert_memory_equal(o1, o2, sizeof o1);
                    }
    /* the worked ties: 0.25 / 0.5 = 0.5 -> 0 and 0.75 / 0.5 = 1.5 -> 2 (half to even) */
    x[0] = 0.25f;
    x[1] = 0.75f;
    x[2] = -0.25f;
    x[3] = -0.75f;
    ref->quantize(&qs[0], x, 1, 4, o1);
    assert_int_equal((int8_t)o1[0], 0);
    assert_int_equal((int8_t)o1[1], 2);
    assert_int_equal((int8_t)o1[2], 0);
    assert_int_equal((int8_t)o1[3], -2);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_quantize_multiplier),
        cmocka_unit_test(test_rounding_worked),
        cmocka_unit_test(test_against_double),
        cmocka_unit_test(test_requant_variants),
        cmocka_unit_test(test_dw_chansum_add_variants),
        cmocka_unit_test(test_quantize_variants),
    };
    return ZP_RUN_TESTS(t);
}
