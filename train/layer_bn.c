/* Batch normalization in training mode: each channel is one contiguous CNHW row
 * of M = N*H*W values, normalized with the batch mean and (biased) variance; the
 * running statistics follow with momentum 0.1 and the unbiased variance, as in
 * PyTorch, so a folded model matches its evaluation-mode network. Sums are in
 * double, one thread per channel (fixed order). An activation (ReLU / ReLU6) may
 * be fused after the normalization: y = clamp(a*x + b, 0, hi). */
#include <math.h>

#include "train/layers.h"

#define BN_MOMENTUM 0.1
#define BLOCK 512

static float act_hi(const struct zp_tlayer *l)
{
    return l->act == 6 ? 6.0f : __builtin_inff();
}

void zp_bn_forward(struct zp_tlayer *l, const float *x, float *y, int batch, int train)
{
    const size_t M = (size_t)batch * l->h_in * l->w_in;
    const int use_batch = train && !l->bn_frozen;
    const int act = l->act;
    const float hi = act_hi(l);
    l->bn_used_batch = use_batch;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < l->c_in; c++) {
        const float *xc = x + (size_t)c * M;
        float *yc = y + (size_t)c * M;
        double mean, var;
        if (use_batch) {
            double s = 0.0;
            for (size_t i0 = 0; i0 < M; i0 += BLOCK) {
                size_t i1 = i0 + BLOCK < M ? i0 + BLOCK : M;
                float bs = 0.0f;
#pragma omp simd reduction(+ : bs)
                for (size_t i = i0; i < i1; i++)
                    bs += xc[i];
                s += bs;
            }
            mean = s / (double)M;
            double v = 0.0;
            const float mf = (float)mean;
            for (size_t i0 = 0; i0 < M; i0 += BLOCK) {
                size_t i1 = i0 + BLOCK < M ? i0 + BLOCK : M;
                float bv = 0.0f;
#pragma omp simd reduction(+ : bv)
                for (size_t i = i0; i < i1; i++) {
                    float d = xc[i] - mf;
                    bv += d * d;
                }
                v += bv;
            }
            var = v / (double)M;
            double unbiased = M > 1 ? v / (double)(M - 1) : var;
            l->run_mean[c] = (float)((1.0 - BN_MOMENTUM) * l->run_mean[c] + BN_MOMENTUM * mean);
            l->run_var[c] = (float)((1.0 - BN_MOMENTUM) * l->run_var[c] + BN_MOMENTUM * unbiased);
        } else {
            mean = l->run_mean[c];
            var = l->run_var[c];
        }
        double invstd = 1.0 / sqrt(var + l->eps);
        l->bmean[c] = (float)mean;
        l->binvstd[c] = (float)invstd;
        const float a = (float)(l->p[0].w[c] * invstd);
        const float b = (float)(l->p[1].w[c] - mean * l->p[0].w[c] * invstd);
        if (act) {
#pragma omp simd
            for (size_t i = 0; i < M; i++) {
                float v = a * xc[i] + b;
                v = v > 0.0f ? v : 0.0f; /* maxss / minss: no branch, no libm call */
                yc[i] = v < hi ? v : hi;
            }
        } else {
#pragma omp simd
            for (size_t i = 0; i < M; i++)
                yc[i] = a * xc[i] + b;
        }
    }
}

/* Sums of dy and dy*(x - mean) over one channel row, dy masked by the fused
 * activation. Float partial sums over blocks of BLOCK values (vectorized,
 * branch-free: the ReLU mask is data-dependent and mispredicts as a branch),
 * added up in double in a fixed order. */
static void bn_grad_sums(const float *xc, const float *dyc, size_t M, float a, float b, float hi,
                         float mean, double *sdy, double *sdyx)
{
    double t1 = 0.0, t2 = 0.0;
    for (size_t i0 = 0; i0 < M; i0 += BLOCK) {
        size_t i1 = i0 + BLOCK < M ? i0 + BLOCK : M;
        float s1 = 0.0f, s2 = 0.0f;
#pragma omp simd reduction(+ : s1, s2)
        for (size_t i = i0; i < i1; i++) {
            float z = a * xc[i] + b;
            float g = dyc[i] * (float)((z > 0.0f) & (z < hi)); /* no branch */
            s1 += g;
            s2 += g * (xc[i] - mean);
        }
        t1 += s1;
        t2 += s2;
    }
    *sdy = t1;
    *sdyx = t2;
}

void zp_bn_backward(struct zp_tlayer *l, const float *x, const float *dy, float *dx, int batch)
{
    const size_t M = (size_t)batch * l->h_in * l->w_in;
    const int act = l->act;
    const float hi = act_hi(l);
#pragma omp parallel for schedule(static)
    for (int c = 0; c < l->c_in; c++) {
        const float *xc = x + (size_t)c * M;
        const float *dyc = dy + (size_t)c * M;
        const float mean = l->bmean[c], invstd = l->binvstd[c], gamma = l->p[0].w[c];
        /* the fused activation's output was a*x + b; its gradient passes inside (0, hi) */
        const float a = gamma * invstd, b = l->p[1].w[c] - mean * gamma * invstd;
        /* no activation: z = 0*x + 1 lies in (0, inf) for every x, so nothing is masked */
        const float ma = act ? a : 0.0f, mb = act ? b : 1.0f;
        double sdy, sdyx;
        bn_grad_sums(xc, dyc, M, ma, mb, hi, mean, &sdy, &sdyx);
        sdyx *= invstd;
        l->p[0].g[c] += (float)sdyx;
        l->p[1].g[c] += (float)sdy;
        if (!dx)
            continue;
        float *dxc = dx + (size_t)c * M;
        if (l->bn_used_batch) {
            /* dx = gamma*invstd * (dy - mean(dy) - xhat*mean(dy*xhat)): the
             * means keep every term at the scale of dy (no cancellation of M*dy) */
            const float m1 = (float)(sdy / (double)M), m2 = (float)(sdyx / (double)M);
#pragma omp simd
            for (size_t i = 0; i < M; i++) {
                float z = ma * xc[i] + mb;
                float g = dyc[i] * (float)((z > 0.0f) & (z < hi)); /* no branch */
                float xhat = (xc[i] - mean) * invstd;
                dxc[i] = a * (g - m1 - xhat * m2);
            }
        } else {
#pragma omp simd
            for (size_t i = 0; i < M; i++) {
                float z = ma * xc[i] + mb;
                float g = dyc[i] * (float)((z > 0.0f) & (z < hi)); /* no branch */
                dxc[i] = a * g;
            }
        }
    }
}
