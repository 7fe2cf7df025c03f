/* binary: one bit per value, x' = alpha * sign(x) with sign(0) = +1 and
 * alpha = mean|x| over the slice (XNOR-Net's optimal scale for sign codes).
 * Codes: 0 = -alpha, 1 = +alpha, stored as the two-level codebook
 * {-alpha, +alpha}; scale holds alpha for the binary kernels. */
#include "schemes/scheme.h"

#include <math.h>

static void set_alpha(struct zp_qparams *p, float alpha)
{
    p->scale = alpha > 0.0f ? alpha : 1.0f; /* informational: 1 for an all-zero slice */
    p->offset = 0.0f;
    p->zero_point = 0;
    p->qmin = 0;
    p->qmax = 1;
    p->n_levels = 2;
    p->levels[0] = -alpha;
    p->levels[1] = alpha;
}

static enum zp_status bin_fit(const struct zp_scheme_config *cfg, const float *x, size_t n,
                              struct zp_qparams *p, struct zp_err *err)
{
    (void)cfg;
    (void)err;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += fabs((double)x[i]);
    set_alpha(p, (float)(sum / (double)n));
    return ZP_OK;
}

static void bin_quantize(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                         const float *x, int32_t *q, size_t n)
{
    (void)cfg;
    (void)p;
    for (size_t i = 0; i < n; i++)
        q[i] = x[i] >= 0.0f; /* sign(0) = +1; -0.0 >= 0 holds too */
}

const struct zp_scheme zp_scheme_binary = {
    .abi = ZP_SCHEME_ABI,
    .name = "binary",
    .summary = "1 bit: alpha * sign(x), alpha = mean|x| per slice",
    .min_bits = 1,
    .max_bits = 1,
    .default_bits = 1,
    .granularities = ZP_GRAN_BIT(ZP_PER_TENSOR) | ZP_GRAN_BIT(ZP_PER_CHANNEL) |
                     ZP_GRAN_BIT(ZP_PER_GROUP),
    .kernel_family = "binary",
    .validate = zp_scheme_check_bits,
    .fit = bin_fit,
    .fit_range = NULL, /* alpha is a mean over the data, not a function of the range */
    .quantize = bin_quantize,
    .dequantize = zp_lut_dequantize,
    .clip_range = zp_lut_clip_range,
    .bits_per_weight = zp_bpw_scale,
};
