/* Calibration methods and bias correction, each on data whose answer is known:
 * exact extremes, the EMA recurrence in closed form, sample quantiles with their
 * sampling error, and brute-force MSE / KL searches written here independently of
 * calib/ (the MSE on the sample values themselves, the KL on a histogram built
 * here).
 *
 * This file: the MSE and KL searches against brute force. */
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

/* ---- mse -------------------------------------------------------------------------- */

/* The method's range against the best of the same candidate thresholds evaluated
 * directly on the sample: its sample MSE within 1%, its threshold within 3%
 * (the MSE curve is flat at the optimum, so the threshold test is looser). Where
 * the sample and the histogram's uniform-within-bin model differ is exactly what
 * these tolerances absorb. */
static void check_sym_mse(const float *x, size_t n, int bits, int narrow)
{
    struct zp_calib_options o = zp_calib_options_default(ZP_CALIB_MSE);
    o.bits = bits;
    o.symmetric = 1;
    o.narrow_range = narrow;
    o.bins = 512; /* keeps the brute force below fast under ASan */
    float lo, hi;
    zp_tc_range_of(&o, x, n, n, &lo, &hi);
    assert_true(lo == -hi);
    double amax = 0.0;
    for (size_t i = 0; i < n; i++)
        amax = fmax(amax, fabs(x[i]));
    double best = INFINITY, best_t = 0.0;
    for (int k = 1; k <= o.bins; k++) {
        double t = amax * k / o.bins, e = zp_tc_sym_mse(x, n, t, bits, narrow);
        if (e < best) {
            best = e;
            best_t = t;
        }
    }
    double got = zp_tc_sym_mse(x, n, hi, bits, narrow);
    /* At 8 bits the optimum sits among the few largest values, where the curve is
     * flat and set by single outliers: only the MSE is compared there. */
    if (got > best * 1.01 || (bits <= 4 && fabs(hi - best_t) > 0.03 * best_t))
        fail_msg("%d-bit%s: mse chose T=%g (sample MSE %g); brute force T=%g (MSE %g)", bits,
                 narrow ? " narrow" : "", hi, got, best_t, best);
}

static void test_mse_laplace_symmetric(void **state)
{
    (void)state;
    size_t n = 20000;
    float *x = zp_tc_laplace_sample(3, n, 1.0);
    check_sym_mse(x, n, 4, 0);
    check_sym_mse(x, n, 3, 1);
    check_sym_mse(x, n, 8, 1);
    /* Banner et al. (ACIQ) give 5.03·b as the MSE-optimal clip of a Laplace(b)
     * at 4 bits under the Δ²/12 noise model: the search lands near it. */
    struct zp_calib_options o = zp_calib_options_default(ZP_CALIB_MSE);
    o.bits = 4;
    o.symmetric = 1;
    float lo, hi;
    zp_tc_range_of(&o, x, n, 4096, &lo, &hi);
    if (fabs(hi - 5.03) > 0.6)
        fail_msg("4-bit Laplace(1) clip %g, expected about 5.03", hi);
    free(x);
}

static void test_mse_one_sided(void **state)
{
    (void)state;
    size_t n = 20000;
    float *x = zp_tc_laplace_sample(5, n, 1.0);
    for (size_t i = 0; i < n; i++)
        x[i] = fabsf(x[i]) * (i % 4 == 0 ? 0.0f : 1.0f); /* ReLU-like: a quarter exact zeros */
    struct zp_calib_options o = zp_calib_options_default(ZP_CALIB_MSE);
    o.bits = 4;
    o.bins = 512;
    float lo, hi;
    zp_tc_range_of(&o, x, n, 3000, &lo, &hi);
    assert_true(lo == 0.0f);
    double mx = 0.0;
    for (size_t i = 0; i < n; i++)
        mx = fmax(mx, x[i]);
    double best = INFINITY, best_t = 0.0;
    for (int k = 1; k <= o.bins; k++) {
        double t = mx * k / o.bins, e = zp_tc_asym_mse(x, n, 0.0, t, o.bits);
        if (e < best) {
            best = e;
            best_t = t;
        }
    }
    double got = zp_tc_asym_mse(x, n, 0.0, hi, o.bits);
    if (got > best * 1.01 || fabs(hi - best_t) > 0.03 * best_t)
        fail_msg("one-sided 4-bit: mse chose %g (MSE %g); brute force %g (MSE %g)", hi, got,
                 best_t, best);
    free(x);
}

/* Skewed two-sided data under an asymmetric quantizer: both ends move. Brute
 * force over a 64 x 64 grid of (lo, hi) on the sample; the method searches a
 * finer grid, so it must do at least about as well. */
static void test_mse_two_sided(void **state)
{
    (void)state;
    size_t n = 5000;
    float *x = zp_tc_laplace_sample(9, n, 1.0);
    float mn = 0.0f, mx = 0.0f;
    for (size_t i = 0; i < n; i++) {
        if (x[i] < 0)
            x[i] *= 0.3f;
        mn = fminf(mn, x[i]);
        mx = fmaxf(mx, x[i]);
    }
    struct zp_calib_options o = zp_calib_options_default(ZP_CALIB_MSE);
    o.bits = 3;
    float lo, hi;
    zp_tc_range_of(&o, x, n, n, &lo, &hi);
    assert_true(lo < 0.0f && hi > 0.0f && lo >= mn && hi <= mx);
    double best = INFINITY;
    for (int a = 1; a <= 64; a++)
        for (int b = 1; b <= 64; b++)
            best = fmin(best, zp_tc_asym_mse(x, n, mn * a / 64.0, mx * b / 64.0, o.bits));
    double got = zp_tc_asym_mse(x, n, lo, hi, o.bits), full = zp_tc_asym_mse(x, n, mn, mx, o.bits);
    if (got > best * 1.01)
        fail_msg("two-sided 3-bit: mse chose [%g, %g] (MSE %g); grid best MSE %g", lo, hi, got,
                 best);
    assert_true(got < full); /* clipping must pay at 3 bits on a Laplace tail */
    free(x);
}

/* ---- kl ---------------------------------------------------------------------------- */

/* TensorRT's search written out plainly on a histogram h[0..bins): for each cut i,
 * P = h[0..i) with the tail added to P[i-1]; Q = h[0..i) summed over `target`
 * groups [j·i/target, (j+1)·i/target), each group's sum shared equally by the
 * group's bins where P > 0. Returns the best cut (first minimum). */
static int brute_kl_cut(const double *h, int bins, int target)
{
    double total = 0.0;
    for (int k = 0; k < bins; k++)
        total += h[k];
    double *p = malloc((size_t)bins * sizeof *p), *q = malloc((size_t)bins * sizeof *q);
    double best = INFINITY;
    int best_i = bins;
    for (int i = target; i <= bins; i++) {
        double tail = 0.0, qtot = 0.0;
        for (int k = i; k < bins; k++)
            tail += h[k];
        for (int k = 0; k < i; k++) {
            p[k] = h[k];
            qtot += h[k];
        }
        p[i - 1] += tail;
        int ok = qtot > 0.0;
        for (int j = 0; j < target && ok; j++) {
            int b = (int)((long)j * i / target), e = (int)((long)(j + 1) * i / target);
            double sum = 0.0;
            int nonzero = 0;
            for (int k = b; k < e; k++) {
                sum += h[k];
                nonzero += p[k] > 0.0;
            }
            for (int k = b; k < e; k++)
                q[k] = p[k] > 0.0 ? sum / nonzero : 0.0;
            if (nonzero > 0 && sum == 0.0)
                ok = 0;
        }
        if (!ok)
            continue;
        double kl = 0.0;
        for (int k = 0; k < i; k++)
            if (p[k] > 0.0)
                kl += p[k] / total * log((p[k] / total) / (q[k] / qtot));
        if (kl < best) {
            best = kl;
            best_i = i;
        }
    }
    free(p);
    free(q);
    return best_i;
}

/* One batch, so the method's histogram spans exactly [0, max|x|] like ours. */
static void check_kl(const float *x, size_t n, int bits, int symmetric)
{
    struct zp_calib_options o = zp_calib_options_default(ZP_CALIB_KL);
    o.bits = bits;
    o.symmetric = symmetric;
    float lo, hi;
    zp_tc_range_of(&o, x, n, n, &lo, &hi);
    double amax = 0.0;
    for (size_t i = 0; i < n; i++)
        amax = fmax(amax, fabs(x[i]));
    double *h = calloc((size_t)o.bins, sizeof *h);
    for (size_t i = 0; i < n; i++) {
        if (x[i] == 0.0f) /* exact zeros stay out of the KL histogram */
            continue;
        double a = fabs(x[i]) * (o.bins / amax);
        h[a >= o.bins ? o.bins - 1 : (int)a] += 1.0;
    }
    int one_sided = !symmetric;
    int cut = brute_kl_cut(h, o.bins, one_sided ? 1 << bits : 1 << (bits - 1));
    double t = fmin(cut * amax / o.bins, amax), w = amax / o.bins;
    if (fabs(hi - t) > w * 1.001 || (symmetric && lo != -hi) || (!symmetric && lo != 0.0f))
        fail_msg("kl %d-bit %s: range [%g, %g], brute force threshold %g (bin %g)", bits,
                 symmetric ? "symmetric" : "one-sided", lo, hi, t, w);
    free(h);
}

static void test_kl_laplace(void **state)
{
    (void)state;
    size_t n = 100000;
    float *x = zp_tc_laplace_sample(13, n, 1.0);
    check_kl(x, n, 8, 1);
    check_kl(x, n, 4, 1);
    for (size_t i = 0; i < n; i++)
        x[i] = fabsf(x[i]);
    check_kl(x, n, 8, 0);
    for (size_t i = 0; i < n; i += 2) /* ReLU-like: half exact zeros */
        x[i] = 0.0f;
    check_kl(x, n, 8, 0);
    check_kl(x, n, 4, 0);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mse_laplace_symmetric),
        cmocka_unit_test(test_mse_one_sided),
        cmocka_unit_test(test_mse_two_sided),
        cmocka_unit_test(test_kl_laplace),
    };
    return ZP_RUN_TESTS(tests);
}
