/* ternary: an example of an external scheme, built as a shared object and
 * loaded with `harness ... --plugin build/release/plugins/ternary.so` (or a
 * config's plugin list). Ternary weight networks (TWN, Li & Liu 2016):
 *   threshold  d = 0.7 * mean|x|
 *   alpha      = mean of |x| over the elements with |x| > d (0 if there are none)
 *   x'         = +alpha if x > d, -alpha if x < -d, else 0
 * Codes 0, 1, 2 decode to -alpha, 0, +alpha (a three-level codebook).
 *
 * A plugin needs only schemes/scheme.h: it calls back into the harness
 * (zp_scheme_register, zp_err_set), which exports its symbols (-rdynamic). */
#include <math.h>
#include <stddef.h>

#include "schemes/scheme.h"

/* TWN's approximation of the optimal threshold for Gaussian-like weights. */
#define TERNARY_THRESHOLD 0.7

static enum zp_status ternary_fit(const struct zp_scheme_config *cfg, const float *x, size_t n,
                                  struct zp_qparams *p, struct zp_err *err)
{
    (void)cfg;
    (void)err;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += fabs((double)x[i]);
    double delta = TERNARY_THRESHOLD * sum / (double)n;
    double above = 0.0;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs((double)x[i]);
        if (a > delta) {
            above += a;
            count++;
        }
    }
    float alpha = count ? (float)(above / (double)count) : 0.0f;
    p->scale = alpha > 0.0f ? alpha : 1.0f;
    /* offset carries the threshold to quantize (codebooks leave it unused). */
    p->offset = (float)delta;
    p->zero_point = 1;
    p->qmin = 0;
    p->qmax = 2;
    p->n_levels = 3;
    p->levels[0] = -alpha;
    p->levels[1] = 0.0f;
    p->levels[2] = alpha;
    return ZP_OK;
}

static void ternary_quantize(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                             const float *x, int32_t *q, size_t n)
{
    (void)cfg;
    for (size_t i = 0; i < n; i++)
        q[i] = x[i] > p->offset ? 2 : x[i] < -p->offset ? 0 : 1;
}

static void ternary_dequantize(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                               const int32_t *q, float *y, size_t n)
{
    (void)cfg;
    for (size_t i = 0; i < n; i++)
        y[i] = p->levels[q[i] < 0 ? 0 : q[i] > 2 ? 2 : q[i]];
}

static const struct zp_scheme ternary = {
    .abi = ZP_SCHEME_ABI,
    .name = "ternary",
    .summary = "plugin: ternary weights {-alpha, 0, +alpha}, threshold 0.7 mean|x| (TWN)",
    .min_bits = 2,
    .max_bits = 2,
    .default_bits = 2,
    .granularities = ZP_GRAN_BIT(ZP_PER_TENSOR) | ZP_GRAN_BIT(ZP_PER_CHANNEL) |
                     ZP_GRAN_BIT(ZP_PER_GROUP),
    .kernel_family = NULL,
    .fit = ternary_fit,
    .quantize = ternary_quantize,
    .dequantize = ternary_dequantize,
};

/* The plugin entry point (ZP_PLUGIN_ENTRY). */
enum zp_status zp_plugin_register(struct zp_err *err);

enum zp_status zp_plugin_register(struct zp_err *err)
{
    return zp_scheme_register(&ternary, err);
}
