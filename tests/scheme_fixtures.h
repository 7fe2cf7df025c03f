/* Fixtures shared by the scheme tests (tests/test_schemes_*.c): a scheme config
 * by name, an option setter, quantize + dequantize of one slice, Gaussian data. */
#ifndef ZP_TESTS_SCHEME_FIXTURES_H
#define ZP_TESTS_SCHEME_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include "schemes/scheme.h"

struct zp_scheme_config zp_ts_cfg_of(const char *name, int bits);
void zp_ts_set_opt(struct zp_scheme_config *cfg, const char *name, double v);
void zp_ts_qdq(const struct zp_scheme_config *cfg, const float *x, size_t n, int32_t *q,
                float *y, struct zp_qparams *p);
void zp_ts_gaussian(float *x, size_t n, uint64_t seed);

#endif
