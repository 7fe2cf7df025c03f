/* The integer inference kernels' variants (kernels/int/), declared for the
 * selection in select.c. Internal to kernels/. */
#ifndef ZP_KERNELS_INT_VARIANTS_H
#define ZP_KERNELS_INT_VARIANTS_H

#include <math.h>

#include "common/round.h"
#include "kernels/kernels.h"

/* One output of the depthwise convolution and one channel sum, as the references
 * compute them: the vector variants' tails call these too. */
static inline int32_t zp_int_code(const uint8_t *x, int is_signed, size_t i)
{
    return is_signed ? (int32_t)(int8_t)x[i] : (int32_t)x[i];
}

static inline int32_t zp_int_dw_one(const struct zp_idw_call *c, int oy, int ox, int ch)
{
    int32_t s = 0;
    for (int ky = 0; ky < c->kh; ky++) {
        int iy = oy * c->sh - c->pt + ky;
        if (iy < 0 || iy >= c->h)
            continue;
        for (int kx = 0; kx < c->kw; kx++) {
            int ix = ox * c->sw - c->pl + kx;
            if (ix < 0 || ix >= c->w)
                continue;
            int32_t xv = zp_int_code(c->x, c->x_signed, ((size_t)iy * c->w + ix) * c->c + ch) - c->zx;
            s += xv * c->wt[((size_t)ky * c->kw + kx) * c->c + ch];
        }
    }
    return s;
}

static inline int32_t zp_int_chansum_one(const uint8_t *x, int x_signed, int hw, int c, int ch)
{
    int32_t s = 0;
    for (int p = 0; p < hw; p++)
        s += zp_int_code(x, x_signed, (size_t)p * c + ch);
    return s;
}

/* One input value's code, as the reference quantizes it (inv = 1 / scale in double). */
static inline uint8_t zp_int_quantize_one(const struct zp_iquant_params *q, double inv, float x)
{
    double xd = x;
    double r = zp_round_quot(xd * inv, xd, (double)q->scale) + q->zp;
    return (uint8_t)(int32_t)(r < q->qmin ? q->qmin : r > q->qmax ? q->qmax : r);
}

#if defined(__x86_64__)
zp_iquant_fn zp_int_quantize__avx2;
zp_rq_fn zp_int_requant__avx512;
zp_idw_fn zp_int_dw__avx512;
zp_idw_fn zp_int_dw__avx512vnni;
zp_iquant_fn zp_int_quantize__avx512;
zp_rq_fn zp_int_requant__avx2;
zp_idw_fn zp_int_dw__avx2;
zp_isum_fn zp_int_chansum__avx2;
zp_iadd_fn zp_int_add__avx2;
#endif

#endif
