/* Fixtures of the scheme tests: see tests/scheme_fixtures.h. */
#include "tests/scheme_fixtures.h"
#include "tests/util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/rng.h"
#include "schemes/granularity.h"
#include "schemes/scheme.h"

/* A value within the tie tolerance of a half step (4 float ulps of the code
 * span, < 2.5e-4 LSB at 8 bits: schemes/affine.c) counts as the tie and may
 * round to the far (even) side. */
#define ZP_TIE_LSB 2.5e-4

struct zp_scheme_config zp_ts_cfg_of(const char *name, int bits)
{
    struct zp_scheme_config cfg;
    const struct zp_scheme *s = zp_scheme_find(name);
    assert_non_null(s);
    zp_scheme_config_defaults(&cfg, s);
    if (bits > 0)
        cfg.bits = bits;
    return cfg;
}

void zp_ts_set_opt(struct zp_scheme_config *cfg, const char *name, double v)
{
    int i = zp_scheme_option_index(cfg->scheme, name);
    assert_true(i >= 0);
    cfg->opt[i].num = v;
}

/* fit + quantize + dequantize of one slice. */
void zp_ts_qdq(const struct zp_scheme_config *cfg, const float *x, size_t n, int32_t *q,
                float *y, struct zp_qparams *p)
{
    struct zp_err err = {0};
    assert_int_equal(cfg->scheme->fit(cfg, x, n, p, &err), ZP_OK);
    cfg->scheme->quantize(cfg, p, x, q, n);
    cfg->scheme->dequantize(cfg, p, q, y, n);
}

void zp_ts_gaussian(float *x, size_t n, uint64_t seed)
{
    struct zp_rng r;
    zp_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)zp_rng_gaussian(&r);
}
