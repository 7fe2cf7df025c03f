/* Golden references: the plainest possible loops on the unpacked inputs, in 64-bit
 * integer (or double) arithmetic. Never optimised: every variant is tested against
 * these (tests/test_kernels.c). */
#include "kernels/internal.h"

#include <math.h>

static int32_t b_at(const struct zp_gemm_problem *p, size_t idx)
{
    switch (p->fmt) {
    case ZP_KF_U8: return (int32_t)((const uint8_t *)p->b)[idx] - p->zb;
    case ZP_KF_LUT4: return p->codebook[((const uint8_t *)p->b)[idx] & 15];
    default: return ((const int8_t *)p->b)[idx];
    }
}

static int32_t a_at(const struct zp_gemm_problem *p, size_t idx)
{
    if (p->fmt == ZP_KF_U8)
        return (int32_t)((const uint8_t *)p->a)[idx] - p->za;
    return ((const int8_t *)p->a)[idx];
}

void zp_ref_gemm(const struct zp_gemm_problem *p, void *c)
{
    if (zp_kfmt_traits(p->fmt)->bscale != ZP_KS_NONE) {
        zp_ref_gemm_blocked(p, c);
        return;
    }
    const int M = p->m, N = p->n, K = p->k;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            size_t o = (size_t)i * N + j;
            if (p->fmt == ZP_KF_F32) {
                double s = 0;
                for (int k = 0; k < K; k++)
                    s += (double)((const float *)p->a)[(size_t)i * K + k] *
                         (double)((const float *)p->b)[(size_t)k * N + j];
                ((float *)c)[o] = (float)s;
            } else if (p->fmt == ZP_KF_BIN) {
                /* sign(0) = +1; alphas are mean |x| of the row of A / column of B */
                double aa = 0, ab = 0;
                int64_t dot = 0;
                for (int k = 0; k < K; k++) {
                    float x = ((const float *)p->a)[(size_t)i * K + k];
                    float w = ((const float *)p->b)[(size_t)k * N + j];
                    aa += fabs((double)x);
                    ab += fabs((double)w);
                    dot += ((x < 0.0f) == (w < 0.0f)) ? 1 : -1;
                }
                ((float *)c)[o] = (float)(aa / K) * (float)(ab / K) * (float)dot;
            } else {
                int64_t s = 0;
                for (int k = 0; k < K; k++)
                    s += (int64_t)a_at(p, (size_t)i * K + k) * b_at(p, (size_t)k * N + j);
                ((int32_t *)c)[o] = (int32_t)s;
            }
        }
    }
}

void zp_ref_dw3x3(const struct zp_dw_problem *p)
{
    const int H = p->h, W = p->w, C = p->c, s = p->stride;
    const int Ho = zp_dw_out_dim(H, s), Wo = zp_dw_out_dim(W, s);
    for (int oy = 0; oy < Ho; oy++)
        for (int ox = 0; ox < Wo; ox++)
            for (int ch = 0; ch < C; ch++) {
                double fs = 0;
                int64_t is = 0;
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        int y = oy * s + ky - 1, x = ox * s + kx - 1;
                        if (y < 0 || y >= H || x < 0 || x >= W)
                            continue; /* zero padding */
                        size_t ii = ((size_t)y * W + x) * C + ch, wi = (size_t)(ky * 3 + kx) * C + ch;
                        if (p->fmt == ZP_KF_F32)
                            fs += (double)((const float *)p->in)[ii] * (double)((const float *)p->weight)[wi];
                        else
                            is += (int64_t)((const int8_t *)p->in)[ii] * ((const int8_t *)p->weight)[wi];
                    }
                size_t o = ((size_t)oy * Wo + ox) * C + ch;
                if (p->fmt == ZP_KF_F32)
                    ((float *)p->out)[o] = (float)fs;
                else
                    ((int32_t *)p->out)[o] = (int32_t)is;
            }
}
