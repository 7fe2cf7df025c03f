/* Synthetic distributions: see synth.h. */
#include "experiment/synth.h"

#include <math.h>

#include "common/mem.h"
#include "common/normal.h"
#include "common/rng.h"

float *zp_synth_generate(const struct zp_synth_cfg *s)
{
    float *x = zp_alloc((size_t)s->n * sizeof *x);
    if (!x)
        return NULL;
    struct zp_rng r;
    zp_rng_seed(&r, s->seed);
    double mu = 0;
    if (s->dist == ZP_DIST_RELU_GAUSSIAN)
        mu = s->zero_share <= 0 ? 1e30 : s->zero_share >= 1 ? -1e30
                                                            : -s->scale * zp_normal_quantile(s->zero_share);
    for (int64_t i = 0; i < s->n; i++) {
        double v;
        switch (s->dist) {
        case ZP_DIST_UNIFORM:
            v = (2.0 * zp_rng_uniform(&r) - 1.0) * s->scale;
            break;
        case ZP_DIST_GAUSSIAN:
            v = zp_rng_gaussian(&r) * s->scale;
            break;
        case ZP_DIST_LAPLACE:
            v = zp_rng_laplace(&r, s->scale);
            break;
        default:
            v = s->zero_share >= 1 ? 0 : fmax(0.0, mu + zp_rng_gaussian(&r) * s->scale);
            if (s->zero_share <= 0)
                v = fabs(zp_rng_gaussian(&r) * s->scale) + 1e-30;
        }
        x[i] = (float)v;
    }
    return x;
}
