/* Fixtures of the calibration tests: see tests/calib_fixtures.h. */
#include "tests/calib_fixtures.h"
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

float *zp_tc_laplace_sample(uint64_t seed, size_t n, double b)
{
    struct zp_rng r;
    zp_rng_seed(&r, seed);
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)zp_rng_laplace(&r, b);
    return x;
}

void zp_tc_range_of(const struct zp_calib_options *o, const float *x, size_t n, size_t batch,
                     float *lo, float *hi)
{
    struct zp_err err = {0};
    struct zp_calib *c = zp_calib_new(o, &err);
    assert_non_null(c);
    for (size_t i = 0; i < n; i += batch)
        assert_int_equal(zp_calib_observe(c, x + i, i + batch <= n ? batch : n - i, &err), ZP_OK);
    assert_int_equal(zp_calib_range(c, lo, hi, &err), ZP_OK);
    zp_calib_free(c);
}

int zp_tc_cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Mean squared error on the sample of the quantizer levels base + j·step,
 * j = 0..levels-1, rounding with the harness's zp_round_div. */
double zp_tc_sample_mse(const float *x, size_t n, double base, double step, int levels)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double q = zp_round_div((float)(x[i] - base), (float)step);
        q = fmin(fmax(q, 0.0), levels - 1.0);
        double d = base + q * step - x[i];
        s += d * d;
    }
    return s / (double)n;
}

double zp_tc_sym_mse(const float *x, size_t n, double t, int bits, int narrow)
{
    double h = ldexp(1.0, bits - 1);
    if (narrow)
        return zp_tc_sample_mse(x, n, -(h - 1) * t / (h - 1), t / (h - 1), (int)(2 * h) - 1);
    double step = t / (h - 0.5);
    return zp_tc_sample_mse(x, n, -h * step, step, (int)(2 * h));
}

double zp_tc_asym_mse(const float *x, size_t n, double lo, double hi, int bits)
{
    int levels = 1 << bits;
    return zp_tc_sample_mse(x, n, lo, (hi - lo) / (levels - 1), levels);
}
