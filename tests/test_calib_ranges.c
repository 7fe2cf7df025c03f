/* Calibration methods and bias correction, each on data whose answer is known:
 * exact extremes, the EMA recurrence in closed form, sample quantiles with their
 * sampling error, and brute-force MSE / KL searches written here independently of
 * calib/ (the MSE on the sample values themselves, the KL on a histogram built
 * here).
 *
 * This file: method names and options, minmax, EMA, percentile, degenerate and non-finite input, per-channel ranges, bias correction. */
#include "tests/util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib/bias_correction.h"
#include "calib/calib.h"
#include "common/err.h"
#include "common/rng.h"
#include "common/round.h"
#include "tests/calib_fixtures.h"

/* ---- names and options --------------------------------------------------------- */

static void test_method_names(void **state)
{
    (void)state;
    const char *names[] = {"minmax", "ema", "percentile", "mse", "kl"};
    for (int i = 0; i < 5; i++) {
        enum zp_calib_method m;
        assert_int_equal(zp_calib_method_parse(names[i], &m), 0);
        assert_int_equal((int)m, i);
        assert_string_equal(zp_calib_method_name(m), names[i]);
    }
    enum zp_calib_method m;
    assert_int_equal(zp_calib_method_parse("entropy", &m), -1);
    assert_int_equal(zp_calib_method_parse(NULL, &m), -1);
}

static void expect_bad_option(struct zp_calib_options o, const char *field)
{
    struct zp_err err = {0};
    assert_null(zp_calib_new(&o, &err));
    assert_int_equal(err.status, ZP_ECONFIG);
    if (!strstr(err.msg, field))
        fail_msg("message '%s' does not name '%s'", err.msg, field);
}

static void test_bad_options(void **state)
{
    (void)state;
    struct zp_calib_options o = zp_calib_options_default(ZP_CALIB_EMA);
    o.ema_constant = 0.0;
    expect_bad_option(o, "ema_constant");
    o = zp_calib_options_default(ZP_CALIB_PERCENTILE);
    o.percentile = 40.0;
    expect_bad_option(o, "percentile");
    o.percentile = NAN;
    expect_bad_option(o, "percentile");
    o = zp_calib_options_default(ZP_CALIB_MSE);
    o.bits = 1;
    expect_bad_option(o, "bits");
    o = zp_calib_options_default(ZP_CALIB_MSE);
    o.bins = 8;
    expect_bad_option(o, "bins");
    o = zp_calib_options_default(ZP_CALIB_KL);
    o.bits = 12; /* 4096 levels do not fit 2048 bins */
    expect_bad_option(o, "bins");
    o = zp_calib_options_default(ZP_CALIB_MSE);
    o.narrow_range = 1;
    expect_bad_option(o, "narrow_range");
    o.method = (enum zp_calib_method)17;
    expect_bad_option(o, "method");
}

/* ---- minmax, ema ---------------------------------------------------------------- */

static void test_minmax_exact(void **state)
{
    (void)state;
    size_t n = 10000;
    float *x = zp_tc_laplace_sample(1, n, 2.0);
    float lo0 = x[0], hi0 = x[0];
    for (size_t i = 1; i < n; i++) {
        lo0 = fminf(lo0, x[i]);
        hi0 = fmaxf(hi0, x[i]);
    }
    struct zp_calib_options o = zp_calib_options_default(ZP_CALIB_MINMAX);
    float lo, hi;
    zp_tc_range_of(&o, x, n, 777, &lo, &hi);
    assert_true(lo == lo0 && hi == hi0);
    o = zp_calib_options_default(ZP_CALIB_PERCENTILE);
    o.percentile = 100.0; /* the 0th and 100th percentiles are the extremes */
    zp_tc_range_of(&o, x, n, 1000, &lo, &hi);
    assert_true(lo == lo0 && hi == hi0);
    free(x);
}

/* Batches 0: {-1, 2}; 1..k: {-3, 5}. lo_k = -3 + (-1 + 3)(1-c)^k, hi_k = 5 - 3(1-c)^k. */
static void test_ema_closed_form(void **state)
{
    (void)state;
    const double constants[] = {0.01, 0.25, 1.0};
    for (int ci = 0; ci < 3; ci++) {
        struct zp_calib_options o = zp_calib_options_default(ZP_CALIB_EMA);
        o.ema_constant = constants[ci];
        struct zp_err err = {0};
        struct zp_calib *c = zp_calib_new(&o, &err);
        assert_non_null(c);
        const float first[] = {2.0f, -1.0f, 0.5f}, later[] = {-3.0f, 5.0f, 1.0f, 0.0f};
        assert_int_equal(zp_calib_observe(c, first, 3, &err), ZP_OK);
        for (int k = 1; k <= 300; k++) {
            assert_int_equal(zp_calib_observe(c, later, 4, &err), ZP_OK);
            if (k % 50 && k != 1)
                continue;
            float lo, hi;
            assert_int_equal(zp_calib_range(c, &lo, &hi, &err), ZP_OK);
            double d = pow(1.0 - constants[ci], k);
            assert_true(zp_test_close(lo, -3.0 + 2.0 * d, 1e-5));
            assert_true(zp_test_close(hi, 5.0 - 3.0 * d, 1e-5));
        }
        zp_calib_free(c);
    }
}

/* ---- percentile ------------------------------------------------------------------- */

static void test_percentile_uniform(void **state)
{
    (void)state;
    size_t n = 200000;
    struct zp_rng r;
    zp_rng_seed(&r, 7);
    float *u = malloc(n * sizeof *u), *s = malloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++) {
        u[i] = (float)zp_rng_uniform(&r);
        s[i] = 2.0f * u[i] - 1.0f;
    }
    struct zp_calib_options o = zp_calib_options_default(ZP_CALIB_PERCENTILE);
    o.percentile = 99.0;
    /* The sample quantile's standard error is sqrt(p(1-p)/n)/density; the
     * histogram adds at most one bin (H/bins with H < 2·max|x|). */
    double se = sqrt(0.99 * 0.01 / (double)n), bin = 2.0 / o.bins;
    float lo, hi;
    zp_tc_range_of(&o, u, n, 50000, &lo, &hi);
    assert_true(lo == 0.0f); /* non-negative data: lo stays 0 */
    if (fabs(hi - 0.99) > 4.0 * se + bin)
        fail_msg("U(0,1) p99 = %g, expected 0.99 +- %g", hi, 4.0 * se + bin);
    /* U(-1,1): quantiles at 0.01 and 0.99 are -0.98 and 0.98, density 1/2. */
    zp_tc_range_of(&o, s, n, 50000, &lo, &hi);
    if (fabs(hi - 0.98) > 8.0 * se + 2 * bin || fabs(lo + 0.98) > 8.0 * se + 2 * bin)
        fail_msg("U(-1,1) p1, p99 = %g, %g, expected -+0.98 +- %g", lo, hi, 8.0 * se + 2 * bin);
    free(u);
    free(s);
}

/* Batches whose range grows by decades force the histogram to merge bins; the
 * result must still match the exact sample quantiles to within a bin or two of
 * the final histogram. */
static void test_percentile_growing_range(void **state)
{
    (void)state;
    size_t per = 20000, n = 4 * per;
    float *x = malloc(n * sizeof *x);
    struct zp_rng r;
    zp_rng_seed(&r, 11);
    const double scales[] = {0.01, 0.1, 1.0, 10.0};
    for (size_t i = 0; i < n; i++)
        x[i] = (float)zp_rng_laplace(&r, scales[i / per]);
    struct zp_calib_options o = zp_calib_options_default(ZP_CALIB_PERCENTILE);
    o.percentile = 99.9;
    float lo, hi;
    zp_tc_range_of(&o, x, n, per, &lo, &hi);
    float *sorted = malloc(n * sizeof *sorted);
    memcpy(sorted, x, n * sizeof *x);
    qsort(sorted, n, sizeof *sorted, zp_tc_cmp_float);
    double amax = fmax(-sorted[0], sorted[n - 1]), bin = 2.0 * amax / o.bins;
    double want_hi = sorted[(size_t)ceil(0.999 * n) - 1], want_lo = sorted[(size_t)(0.001 * n)];
    if (fabs(hi - want_hi) > 2 * bin || fabs(lo - want_lo) > 2 * bin)
        fail_msg("p0.1, p99.9 = %g, %g; sample quantiles %g, %g; bin %g", lo, hi, want_lo, want_hi,
                 bin);
    free(x);
    free(sorted);
}

/* ---- degenerate and bad input -------------------------------------------------------- */

static void test_degenerate_inputs(void **state)
{
    (void)state;
    float zeros[64] = {0}, pos[64], neg[64];
    for (int i = 0; i < 64; i++) {
        pos[i] = 3.5f;
        neg[i] = -2.0f;
    }
    zeros[5] = -0.0f;
    for (int m = ZP_CALIB_MINMAX; m <= ZP_CALIB_KL; m++)
        for (int sym = 0; sym <= 1; sym++) {
            struct zp_calib_options o = zp_calib_options_default((enum zp_calib_method)m);
            o.symmetric = sym;
            const float *inputs[] = {zeros, pos, neg};
            const float values[] = {0.0f, 3.5f, -2.0f};
            for (int k = 0; k < 3; k++) {
                float lo, hi;
                zp_tc_range_of(&o, inputs[k], 64, 16, &lo, &hi);
                if (!(isfinite(lo) && isfinite(hi) && lo < hi && lo <= 0.0f && hi >= 0.0f &&
                      lo <= values[k] && hi >= values[k]))
                    fail_msg("%s sym=%d constant %g: range [%g, %g]",
                             zp_calib_method_name((enum zp_calib_method)m), sym, values[k], lo,
                             hi);
                if (k == 0 && hi - lo > 1e-6f)
                    fail_msg("all-zero range [%g, %g] is wider than an epsilon", lo, hi);
            }
        }
}

static void test_nonfinite_rejected(void **state)
{
    (void)state;
    struct zp_calib_options o = zp_calib_options_default(ZP_CALIB_PERCENTILE);
    struct zp_err err = {0};
    struct zp_calib *c = zp_calib_new(&o, &err);
    float lo, hi;
    assert_int_equal(zp_calib_range(c, &lo, &hi, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "no values"));
    zp_err_clear(&err);
    const float good[] = {-1.0f, 1.0f};
    float bad[] = {0.5f, 2.0f, 100.0f, NAN, 7.0f};
    assert_int_equal(zp_calib_observe(c, good, 2, &err), ZP_OK);
    assert_int_equal(zp_calib_observe(c, bad, 5, &err), ZP_EINVAL);
    if (!strstr(err.msg, "element 3") || !strstr(err.msg, "nan"))
        fail_msg("message: %s", err.msg);
    zp_err_clear(&err);
    bad[3] = -INFINITY;
    assert_int_equal(zp_calib_observe(c, bad, 5, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "-inf"));
    /* The rejected batches left no trace: 100 was never added. */
    assert_int_equal(zp_calib_count(c), 2);
    zp_err_clear(&err);
    assert_int_equal(zp_calib_range(c, &lo, &hi, &err), ZP_OK);
    assert_true(hi <= 1.0f && lo >= -1.0f);
    zp_calib_free(c);
}

static void test_tensor_per_channel(void **state)
{
    (void)state;
    const float w[] = {1, -2, 3, 0, /* ch 0 */ 0, 0, 0, 0, /* ch 1 */ -5, -1, -4, -2};
    struct zp_calib_options o = zp_calib_options_default(ZP_CALIB_MINMAX);
    float lo[3], hi[3];
    struct zp_err err = {0};
    assert_int_equal(zp_calib_tensor(&o, w, 3, 4, lo, hi, &err), ZP_OK);
    assert_true(lo[0] == -2.0f && hi[0] == 3.0f);
    assert_true(lo[1] == 0.0f && hi[1] > 0.0f && hi[1] <= FLT_EPSILON);
    assert_true(lo[2] == -5.0f && hi[2] == -1.0f);
    assert_int_equal(zp_calib_tensor(&o, w, 1, 12, lo, hi, &err), ZP_OK);
    assert_true(lo[0] == -5.0f && hi[0] == 3.0f);
    float wn[] = {1, 2, 3, INFINITY};
    assert_int_equal(zp_calib_tensor(&o, wn, 2, 2, lo, hi, &err), ZP_EINVAL);
    if (!strstr(err.msg, "channel 1") || !strstr(err.msg, "element 1"))
        fail_msg("message: %s", err.msg);
}

/* ---- bias correction ---------------------------------------------------------------- */

/* A 1x1 convolution (a fully connected layer per pixel) with 4-bit symmetric
 * per-channel weights. Inputs have a positive mean (post-ReLU), so the weight
 * rounding error shifts each output channel's mean; the correction must cancel it
 * on the calibration set and equal the independent value Σ_k (W'-W)[c,k]·E[x_k]. */
static void test_bias_correction(void **state)
{
    (void)state;
    enum { CI = 24, CO = 10, HW = 25, N = 64, BATCH = 16 };
    struct zp_rng r;
    zp_rng_seed(&r, 21);
    static float w[CO][CI], wq[CO][CI], bias[CO], x[N][CI][HW], yf[N][CO][HW], yq[N][CO][HW];
    for (int c = 0; c < CO; c++) {
        float amax = 0.0f;
        for (int k = 0; k < CI; k++) {
            w[c][k] = (float)zp_rng_gaussian(&r);
            amax = fmaxf(amax, fabsf(w[c][k]));
        }
        float s = amax / 7.0f;
        for (int k = 0; k < CI; k++)
            wq[c][k] = s * (float)fmin(fmax(zp_round_div(w[c][k], s), -7.0), 7.0);
        bias[c] = (float)zp_rng_gaussian(&r);
    }
    for (int n = 0; n < N; n++)
        for (int k = 0; k < CI; k++)
            for (int p = 0; p < HW; p++)
                x[n][k][p] = (float)fabs(zp_rng_gaussian(&r) + 0.5);
    float b_corr[CO];
    memcpy(b_corr, bias, sizeof bias);
    double out_sq = 0.0; /* mean y² of the float layer: sqrt is the output scale */
    for (int pass = 0; pass < 2; pass++) {
        struct zp_bias_corr *bc = zp_bias_corr_new(CO);
        assert_non_null(bc);
        for (int n = 0; n < N; n++)
            for (int c = 0; c < CO; c++)
                for (int p = 0; p < HW; p++) {
                    double sf = bias[c], sq = b_corr[c];
                    for (int k = 0; k < CI; k++) {
                        sf += (double)w[c][k] * x[n][k][p];
                        sq += (double)wq[c][k] * x[n][k][p];
                    }
                    yf[n][c][p] = (float)sf;
                    yq[n][c][p] = (float)sq;
                    if (pass == 0)
                        out_sq += sf * sf / (N * CO * HW);
                }
        for (int n = 0; n < N; n += BATCH)
            zp_bias_corr_add(bc, &yf[n][0][0], &yq[n][0][0], BATCH, CO, HW);
        assert_int_equal(zp_bias_corr_count(bc), N * HW);
        float e[CO];
        zp_bias_corr_result(bc, e);
        zp_bias_corr_free(bc);
        double scale = sqrt(out_sq), worst = 0.0;
        for (int c = 0; c < CO; c++) {
            double expect = 0.0;
            for (int k = 0; k < CI; k++) {
                double mean_x = 0.0;
                for (int n = 0; n < N; n++)
                    for (int p = 0; p < HW; p++)
                        mean_x += x[n][k][p];
                expect += ((double)wq[c][k] - w[c][k]) * mean_x / (N * HW);
            }
            if (pass == 1)
                expect = 0.0; /* corrected: the shift is gone */
            worst = fmax(worst, fabs(e[c]));
            if (fabs(e[c] - expect) > 1e-5 * scale)
                fail_msg("pass %d channel %d: mean error %g, expected %g (scale %g)", pass, c,
                         e[c], expect, scale);
            if (pass == 0)
                b_corr[c] = bias[c] - e[c];
        }
        if (pass == 0 && worst < 1e-3 * scale) /* else the test proves nothing */
            fail_msg("4-bit weights shifted no channel mean (worst %g)", worst);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_method_names),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_minmax_exact),
        cmocka_unit_test(test_ema_closed_form),
        cmocka_unit_test(test_percentile_uniform),
        cmocka_unit_test(test_percentile_growing_range),
        cmocka_unit_test(test_degenerate_inputs),
        cmocka_unit_test(test_nonfinite_rejected),
        cmocka_unit_test(test_tensor_per_channel),
        cmocka_unit_test(test_bias_correction),
    };
    return ZP_RUN_TESTS(tests);
}
