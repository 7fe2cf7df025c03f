/* Scaled element formats as codebook slices (see fp_levels.h). */
#include "schemes/fp_levels.h"

#include <math.h>
#include <string.h>

int32_t zp_fp_index_of_code(enum zp_mf_format f, uint32_t code)
{
    const struct zp_mf_info *in = zp_mf_info(f);
    uint32_t sb = zp_mf_sign_bit(in);
    uint32_t mag = code & (sb - 1u);
    if (mag > in->max_mag) { /* the patterns past the largest finite: inf or NaN */
        uint32_t inf = ((1u << in->ebits) - 1u) << in->mbits;
        if (in->has_inf && mag == inf)
            return (code & sb) ? ZP_FP_Q_NEG_INF : ZP_FP_Q_POS_INF;
        return ZP_FP_Q_NAN;
    }
    return (int32_t)in->max_mag + ((code & sb) ? -(int32_t)mag : (int32_t)mag);
}

void zp_fp_set_levels(enum zp_mf_format f, float scale, struct zp_qparams *p)
{
    const struct zp_mf_info *in = zp_mf_info(f);
    memset(p, 0, sizeof *p);
    int32_t m = (int32_t)in->max_mag;
    p->n_levels = 2 * m + 1;
    p->qmin = 0;
    p->qmax = 2 * m;
    p->scale = scale;
    for (int32_t k = 0; k <= m; k++) {
        float v = (float)((double)scale * (double)zp_mf_decode(f, (uint32_t)k));
        p->levels[m + k] = v;
        p->levels[m - k] = -v;
    }
    p->levels[m] = 0.0f; /* +0, not the -0 the mirror wrote */
}

void zp_fp_quantize(enum zp_mf_format f, int saturate, const struct zp_qparams *p,
                    const float *x, int32_t *q, size_t n)
{
    int32_t mid = (p->n_levels - 1) / 2;
    if (!(p->scale > 0.0f)) {
        for (size_t i = 0; i < n; i++)
            q[i] = mid;
        return;
    }
    double s = p->scale;
    for (size_t i = 0; i < n; i++)
        q[i] = zp_fp_index_of_code(f, zp_mf_encode_double(f, (double)x[i] / s, saturate));
}

void zp_fp_dequantize(const struct zp_qparams *p, const int32_t *q, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int32_t c = q[i];
        if (c >= 0 && c < p->n_levels)
            y[i] = p->levels[c];
        else if (c == ZP_FP_Q_POS_INF)
            y[i] = INFINITY;
        else if (c == ZP_FP_Q_NEG_INF)
            y[i] = -INFINITY;
        else
            y[i] = NAN;
    }
}
