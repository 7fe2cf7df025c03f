/* Batch normalization in training mode: each channel is one contiguous CNHW row
 * of M = N*H*W values, normalized with the batch mean and (biased) variance; the
 * running statistics follow with momentum 0.1 and the unbiased variance, as in
 * PyTorch, so a folded model matches its evaluation-mode network. Sums are in
 * double, one thread per channel (fixed order). */
#include <math.h>

#include "train/layers.h"

#define BN_MOMENTUM 0.1

void zp_bn_forward(struct zp_tlayer *l, const float *x, float *y, int batch, int train)
{
    const size_t M = (size_t)batch * l->h_in * l->w_in;
    const int use_batch = train && !l->bn_frozen;
    l->bn_used_batch = use_batch;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < l->c_in; c++) {
        const float *xc = x + (size_t)c * M;
        float *yc = y + (size_t)c * M;
        double mean, var;
        if (use_batch) {
            double s = 0.0;
            for (size_t i = 0; i < M; i++)
                s += xc[i];
            mean = s / (double)M;
            double v = 0.0;
            for (size_t i = 0; i < M; i++) {
                double d = xc[i] - mean;
                v += d * d;
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
        float a = (float)(l->p[0].w[c] * invstd);
        float b = (float)(l->p[1].w[c] - mean * l->p[0].w[c] * invstd);
        for (size_t i = 0; i < M; i++)
            yc[i] = a * xc[i] + b;
    }
}

void zp_bn_backward(struct zp_tlayer *l, const float *x, const float *dy, float *dx, int batch)
{
    const size_t M = (size_t)batch * l->h_in * l->w_in;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < l->c_in; c++) {
        const float *xc = x + (size_t)c * M;
        const float *dyc = dy + (size_t)c * M;
        const double mean = l->bmean[c], invstd = l->binvstd[c], gamma = l->p[0].w[c];
        double sdy = 0.0, sdyx = 0.0;
        for (size_t i = 0; i < M; i++) {
            sdy += dyc[i];
            sdyx += dyc[i] * ((xc[i] - mean) * invstd);
        }
        l->p[0].g[c] += (float)sdyx;
        l->p[1].g[c] += (float)sdy;
        if (!dx)
            continue;
        float *dxc = dx + (size_t)c * M;
        if (l->bn_used_batch) {
            /* dx = gamma*invstd/M * (M*dy - sum(dy) - xhat*sum(dy*xhat)) */
            const double k = gamma * invstd / (double)M;
            for (size_t i = 0; i < M; i++) {
                double xhat = (xc[i] - mean) * invstd;
                dxc[i] = (float)(k * ((double)M * dyc[i] - sdy - xhat * sdyx));
            }
        } else {
            const float k = (float)(gamma * invstd);
            for (size_t i = 0; i < M; i++)
                dxc[i] = k * dyc[i];
        }
    }
}
