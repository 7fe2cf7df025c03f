/* SQNR of the floating-point element formats on 2^20 N(0, 1) samples,
 * per-tensor minifloat with the scale putting the tensor's max at the format's
 * max.
 *
 * Issue 14 asks for E4M3 within 0.3 dB of 31.86 dB and E2M1 within 0.3 dB of
 * 19.82 dB (13.80 + 6.02 M, the ceiling of a float format with M mantissa bits
 * and unbounded exponent range). The data do not meet it: E4M3 measures
 * ~31.5 dB (just under the band), E2M1 ~17.4 dB, because with only two
 * exponent bits most of the Gaussian's mass sits in E2M1's subnormal and lowest
 * binades, where the step is absolute, not relative. Those numbers are printed
 * and NOT asserted against the targets (we do not tune to a target).
 * What is asserted: the measured SQNR equals, within 0.05 dB, the exact
 * expected SQNR of that grid on N(0, 1), computed here by integrating the
 * Gaussian over every rounding cell of the decoded levels (no sampling, no
 * scheme code): the quantizer is the format, and the gap to 13.80 + 6.02 M is
 * the format's, not the code's. Also prints the other formats and the MX / NVFP4
 * / NF4 block schemes for the record in docs/schemes.md. */
#include "tests/util.h"

#include <math.h>
#include <stdio.h>

#include "common/mem.h"
#include "common/rng.h"
#include "schemes/granularity.h"
#include "schemes/minifloat_codec.h"
#include "schemes/mx.h"
#include "schemes/scheme.h"

enum { N = 1 << 20, ROWS = 256 };

static float *gaussian(uint64_t seed)
{
    float *x = zp_alloc(N * sizeof *x);
    assert_non_null(x);
    struct zp_rng r;
    zp_rng_seed(&r, seed);
    for (size_t i = 0; i < N; i++)
        x[i] = (float)zp_rng_gaussian(&r);
    return x;
}

/* 10 log10(sum x^2 / sum (x - x')^2) of cfg applied to x as a [ROWS, N/ROWS]
 * weight (blocks along the rows). */
static double sqnr(const struct zp_scheme_config *cfg, const float *x)
{
    float *y = zp_alloc(N * sizeof *y);
    assert_non_null(y);
    int64_t shape[2] = {ROWS, N / ROWS};
    struct zp_err err = {0};
    assert_int_equal(zp_fake_quant(cfg, x, shape, 2, "sqnr", y, NULL, &err), ZP_OK);
    double s = 0, e = 0;
    for (size_t i = 0; i < N; i++) {
        s += (double)x[i] * x[i];
        e += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
    }
    zp_free(y);
    return 10.0 * log10(s / e);
}

static struct zp_scheme_config minifloat(enum zp_mf_format f)
{
    struct zp_scheme_config cfg;
    zp_scheme_config_defaults(&cfg, zp_scheme_find("minifloat"));
    cfg.opt[zp_scheme_option_index(cfg.scheme, "format")].num = f;
    cfg.bits = zp_mf_info(f)->width;
    return cfg;
}

static double Phi(double x)
{
    return 0.5 * erfc(-x / sqrt(2.0));
}

static double phi(double x)
{
    return isinf(x) ? 0.0 : exp(-0.5 * x * x) / sqrt(2.0 * M_PI);
}

/* E[(x - Q(x))^2] for x ~ N(0,1) and Q rounding to the nearest of the ascending
 * levels v[0..n): on each cell [a, b] with level c, the integral of
 * (x - c)^2 phi = [Phi - x phi] + 2c [phi] + c^2 [Phi] from a to b. */
static double expected_mse(const double *v, int n)
{
    double mse = 0;
    for (int i = 0; i < n; i++) {
        double a = i == 0 ? -INFINITY : 0.5 * (v[i - 1] + v[i]);
        double b = i == n - 1 ? INFINITY : 0.5 * (v[i] + v[i + 1]);
        double c = v[i];
        double x2 = (Phi(b) - (isinf(b) ? 0 : b * phi(b))) - (Phi(a) - (isinf(a) ? 0 : a * phi(a)));
        double x1 = phi(a) - phi(b);
        double x0 = Phi(b) - Phi(a);
        mse += x2 - 2 * c * x1 + c * c * x0;
    }
    return mse;
}

/* The exact SQNR of format f scaled by s on N(0, 1). */
static double expected_sqnr(enum zp_mf_format f, double s)
{
    const struct zp_mf_info *in = zp_mf_info(f);
    double v[512];
    int n = 0;
    for (int k = (int)in->max_mag; k >= 1; k--)
        v[n++] = -s * zp_mf_decode(f, (uint32_t)k);
    for (int k = 0; k <= (int)in->max_mag; k++)
        v[n++] = s * zp_mf_decode(f, (uint32_t)k);
    return -10.0 * log10(expected_mse(v, n));
}

static void test_acceptance(void **state)
{
    (void)state;
    float *x = gaussian(14);
    float amax = 0;
    for (size_t i = 0; i < N; i++)
        amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
    static const struct {
        enum zp_mf_format f;
        double target;
    } cases[] = {{ZP_MF_E4M3, 31.86}, {ZP_MF_E2M1, 19.82}};
    for (int i = 0; i < 2; i++) {
        struct zp_scheme_config c = minifloat(cases[i].f);
        double got = sqnr(&c, x);
        double want = expected_sqnr(cases[i].f, (double)amax / zp_mf_info(cases[i].f)->max);
        printf("per-tensor %s on N(0,1), max %.3f: measured %.3f dB, exact for this grid %.3f dB, "
               "issue target %.2f +- 0.3 dB: %s\n",
               zp_mf_info(cases[i].f)->name, amax, got, want, cases[i].target,
               fabs(got - cases[i].target) <= 0.3 ? "met" : "NOT met");
        assert_true(fabs(got - want) < 0.05);
    }
    zp_free(x);
}

/* The other formats and the block schemes, printed; each must beat the next
 * narrower element and stay under its format's ceiling + 1 dB. */
static void test_record(void **state)
{
    (void)state;
    float *x = gaussian(15);
    static const struct {
        enum zp_mf_format f;
        int m;
    } fl[] = {{ZP_MF_E4M3, 3}, {ZP_MF_E5M2, 2}, {ZP_MF_E2M3, 3}, {ZP_MF_E3M2, 2}, {ZP_MF_E2M1, 1}};
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
        struct zp_scheme_config c = minifloat(fl[i].f);
        double s = sqnr(&c, x);
        printf("minifloat %s per-tensor: %.2f dB (ceiling %.2f)\n", zp_mf_info(fl[i].f)->name, s,
               13.80 + 6.02 * fl[i].m);
        assert_true(s < 13.80 + 6.02 * fl[i].m + 1.0 && s > 6.02 * fl[i].m);
    }
    static const char *const el[] = {"fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1",
                                     "int8"};
    static const int width[] = {8, 8, 6, 6, 4, 8};
    static const char *const rule[] = {"floor", "ceil", "round"};
    for (int e = 0; e < 6; e++) {
        for (int r = 0; r < 3; r++) {
            struct zp_scheme_config c;
            zp_scheme_config_defaults(&c, zp_scheme_find("mx"));
            c.opt[0].num = e;
            c.opt[1].num = r;
            c.bits = width[e];
            printf("mx %s %s k=32: %.2f dB\n", el[e], rule[r], sqnr(&c, x));
        }
    }
    struct zp_scheme_config c;
    zp_scheme_config_defaults(&c, zp_scheme_find("nvfp4"));
    double nv = sqnr(&c, x);
    zp_scheme_config_defaults(&c, zp_scheme_find("mx"));
    c.opt[0].num = ZP_MX_FP4_E2M1;
    c.bits = 4;
    double mx4 = sqnr(&c, x);
    zp_scheme_config_defaults(&c, zp_scheme_find("nf4"));
    double nf = sqnr(&c, x);
    c.opt[0].num = 1;
    double nfdq = sqnr(&c, x);
    printf("nvfp4: %.2f dB, mxfp4 floor: %.2f dB, nf4: %.2f dB, nf4 double_quant: %.2f dB\n", nv,
           mx4, nf, nfdq);
    /* NVFP4's finer blocks and mantissa'd scales beat MXFP4's power-of-two ones */
    assert_true(nv > mx4);
    assert_true(fabs(nf - nfdq) < 0.5);
    zp_free(x);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_acceptance),
        cmocka_unit_test(test_record),
    };
    return ZP_RUN_TESTS(t);
}
