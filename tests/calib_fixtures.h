/* Fixtures shared by the calibration tests (tests/test_calib_*.c): Laplace
 * samples, a calibrator run over batches, and the sample MSE of a uniform grid
 * computed directly (independently of calib/). */
#ifndef ZP_TESTS_CALIB_FIXTURES_H
#define ZP_TESTS_CALIB_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include "calib/calib.h"

float *zp_tc_laplace_sample(uint64_t seed, size_t n, double b);
void zp_tc_range_of(const struct zp_calib_options *o, const float *x, size_t n, size_t batch,
                     float *lo, float *hi);
int zp_tc_cmp_float(const void *a, const void *b);
double zp_tc_sample_mse(const float *x, size_t n, double base, double step, int levels);
double zp_tc_sym_mse(const float *x, size_t n, double t, int bits, int narrow);
double zp_tc_asym_mse(const float *x, size_t n, double lo, double hi, int bits);

#endif
