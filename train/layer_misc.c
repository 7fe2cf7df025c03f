/* Parameter-free layers: ReLU, ReLU6, average pooling, global average pooling
 * and Flatten (CNHW -> [C*H*W, N]). */
#include <math.h>
#include <string.h>

#include "train/layers.h"

void zp_act_forward(struct zp_tlayer *l, const float *x, float *y, int batch)
{
    const long n = (long)batch * l->c_in * l->h_in * l->w_in;
    const float hi = l->kind == ZP_TL_RELU6 ? 6.0f : __builtin_inff();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        float v = x[i] > 0.0f ? x[i] : 0.0f;
        y[i] = v < hi ? v : hi;
    }
}

/* The gradient passes where the input is strictly inside (0, hi): at the kinks
 * it is 0, the convention of PyTorch's hardtanh / relu6. */
void zp_act_backward(struct zp_tlayer *l, const float *x, const float *dy, float *dx, int batch)
{
    const long n = (long)batch * l->c_in * l->h_in * l->w_in;
    const float hi = l->kind == ZP_TL_RELU6 ? 6.0f : __builtin_inff();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++)
        dx[i] = dy[i] * (float)((x[i] > 0.0f) & (x[i] < hi)); /* no branch */
}

void zp_pool_forward(struct zp_tlayer *l, const float *x, float *y, int batch)
{
    const int H = l->h_in, W = l->w_in;
    const long planes = (long)l->c_in * batch;
    if (l->kind == ZP_TL_GAP) {
#pragma omp parallel for schedule(static)
        for (long pl = 0; pl < planes; pl++) {
            const float *xp = x + (size_t)pl * H * W;
            double s = 0.0;
            for (int i = 0; i < H * W; i++)
                s += xp[i];
            y[pl] = (float)(s / (H * W)); /* [C][N] order is the plane order */
        }
        return;
    }
    if (l->kind == ZP_TL_FLATTEN) {
        const int hw = H * W;
        for (int c = 0; c < l->c_in; c++)
            for (int n = 0; n < batch; n++)
                for (int i = 0; i < hw; i++)
                    y[((size_t)c * hw + i) * batch + n] = x[((size_t)c * batch + n) * hw + i];
        return;
    }
    const int k = l->k, s = l->stride, Ho = l->h_out, Wo = l->w_out;
    const float inv = 1.0f / (float)(k * k);
#pragma omp parallel for schedule(static)
    for (long pl = 0; pl < planes; pl++) {
        const float *xp = x + (size_t)pl * H * W;
        float *yp = y + (size_t)pl * Ho * Wo;
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
                float acc = 0.0f;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++)
                        acc += xp[(oy * s + ky) * W + ox * s + kx];
                yp[oy * Wo + ox] = acc * inv;
            }
    }
}

void zp_pool_backward(struct zp_tlayer *l, const float *x, const float *dy, float *dx, int batch)
{
    (void)x;
    const int H = l->h_in, W = l->w_in;
    const long planes = (long)l->c_in * batch;
    if (l->kind == ZP_TL_GAP) {
        const float inv = 1.0f / (float)(H * W);
#pragma omp parallel for schedule(static)
        for (long pl = 0; pl < planes; pl++)
            for (int i = 0; i < H * W; i++)
                dx[(size_t)pl * H * W + i] = dy[pl] * inv;
        return;
    }
    if (l->kind == ZP_TL_FLATTEN) {
        const int hw = H * W;
        for (int c = 0; c < l->c_in; c++)
            for (int n = 0; n < batch; n++)
                for (int i = 0; i < hw; i++)
                    dx[((size_t)c * batch + n) * hw + i] = dy[((size_t)c * hw + i) * batch + n];
        return;
    }
    const int k = l->k, s = l->stride, Ho = l->h_out, Wo = l->w_out;
    const float inv = 1.0f / (float)(k * k);
#pragma omp parallel for schedule(static)
    for (long pl = 0; pl < planes; pl++) {
        float *dxp = dx + (size_t)pl * H * W;
        const float *dyp = dy + (size_t)pl * Ho * Wo;
        memset(dxp, 0, sizeof(float) * (size_t)H * W);
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++)
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++)
                        dxp[(oy * s + ky) * W + ox * s + kx] += dyp[oy * Wo + ox] * inv;
    }
}
