/* Convolution (standard and depthwise) and fully connected layers: forward and
 * backward on CNHW batches. Standard convolution is im2col + sgemm; a 1x1
 * stride-1 convolution multiplies the activation rows directly. Depthwise runs
 * direct loops, one thread per channel, so each channel's weight gradient is a
 * sum in a fixed order. */
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "common/mem.h"
#include "train/layers.h"

static inline const float *weights_of(const struct zp_tlayer *l)
{
    return l->w_eff ? l->w_eff : l->p[0].w;
}

/* sgemm split over the OpenMP threads, OpenBLAS itself single-threaded
 * (zp_train_blas_threads): OpenBLAS's own pthreads and the OpenMP pool would
 * otherwise spin against each other on two cores. Each thread computes a block
 * of columns (split_rows 0) or rows of C with the full reduction, so the
 * result does not depend on thread timing. */
static void par_sgemm(int split_rows, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc)
{
    const int nt = omp_get_max_threads();
    const int total = split_rows ? M : N;
    if (nt <= 1 || total < 64 || (long)M * N * K < (1L << 18)) {
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    /* chunks in multiples of 16 (whole vector blocks) */
    const int chunk = ((total + nt - 1) / nt + 15) / 16 * 16;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < nt; t++) {
        int i0 = t * chunk, i1 = i0 + chunk < total ? i0 + chunk : total;
        if (i0 >= i1)
            continue;
        if (split_rows) {
            const float *a = ta == CblasNoTrans ? A + (size_t)i0 * lda : A + i0;
            cblas_sgemm(CblasRowMajor, ta, tb, i1 - i0, N, K, 1.0f, a, lda, B, ldb, beta,
                        C + (size_t)i0 * ldc, ldc);
        } else {
            const float *b = tb == CblasNoTrans ? B + i0 : B + (size_t)i0 * ldb;
            cblas_sgemm(CblasRowMajor, ta, tb, M, i1 - i0, K, 1.0f, A, lda, b, ldb, beta, C + i0,
                        ldc);
        }
    }
}

static int conv_is_pointwise(const struct zp_tlayer *l)
{
    return l->k == 1 && l->stride == 1 && l->pad == 0;
}

/* col[(ci*k + ky)*k + kx][n, oy, ox] = x[ci][n][oy*s - p + ky][ox*s - p + kx] (0 outside). */
static void im2col(const struct zp_tlayer *l, const float *x, float *col, int batch)
{
    const int k = l->k, s = l->stride, p = l->pad;
    const int H = l->h_in, W = l->w_in, Ho = l->h_out, Wo = l->w_out;
    const size_t np = (size_t)batch * Ho * Wo;
    const int rows = l->c_in * k * k;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        int ci = r / (k * k), ky = (r / k) % k, kx = r % k;
        float *dst = col + (size_t)r * np;
        for (int n = 0; n < batch; n++) {
            const float *src = x + ((size_t)ci * batch + n) * H * W;
            for (int oy = 0; oy < Ho; oy++) {
                int iy = oy * s - p + ky;
                float *d = dst + ((size_t)n * Ho + oy) * Wo;
                if (iy < 0 || iy >= H) {
                    memset(d, 0, sizeof(float) * (size_t)Wo);
                    continue;
                }
                for (int ox = 0; ox < Wo; ox++) {
                    int ix = ox * s - p + kx;
                    d[ox] = (ix >= 0 && ix < W) ? src[iy * W + ix] : 0.0f;
                }
            }
        }
    }
}

/* dx[ci] = sum over (ky, kx) of the col rows scattered back; one thread per
 * input channel, so no two threads write the same dx element. */
static void col2im(const struct zp_tlayer *l, const float *col, float *dx, int batch)
{
    const int k = l->k, s = l->stride, p = l->pad;
    const int H = l->h_in, W = l->w_in, Ho = l->h_out, Wo = l->w_out;
    const size_t np = (size_t)batch * Ho * Wo;
#pragma omp parallel for schedule(static)
    for (int ci = 0; ci < l->c_in; ci++) {
        float *dxc = dx + (size_t)ci * batch * H * W;
        memset(dxc, 0, sizeof(float) * (size_t)batch * H * W);
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                const float *src = col + ((size_t)(ci * k + ky) * k + kx) * np;
                for (int n = 0; n < batch; n++)
                    for (int oy = 0; oy < Ho; oy++) {
                        int iy = oy * s - p + ky;
                        if (iy < 0 || iy >= H)
                            continue;
                        const float *sr = src + ((size_t)n * Ho + oy) * Wo;
                        float *d = dxc + ((size_t)n * H + iy) * W;
                        for (int ox = 0; ox < Wo; ox++) {
                            int ix = ox * s - p + kx;
                            if (ix >= 0 && ix < W)
                                d[ix] += sr[ox];
                        }
                    }
            }
    }
}

void zp_conv_forward(struct zp_tlayer *l, const float *x, float *y, int batch)
{
    const int K = l->c_in * l->k * l->k;
    const int np = batch * l->h_out * l->w_out;
    const float *col = x;
    if (!conv_is_pointwise(l)) {
        im2col(l, x, l->col, batch);
        col = l->col;
    }
    par_sgemm(0, CblasNoTrans, CblasNoTrans, l->c_out, np, K, weights_of(l), K, col, np, 0.0f, y,
              np);
}

void zp_conv_backward(struct zp_tlayer *l, const float *x, const float *dy, float *dx, int batch)
{
    const int K = l->c_in * l->k * l->k;
    const int np = batch * l->h_out * l->w_out;
    const int pw = conv_is_pointwise(l);
    const float *col = pw ? x : l->col; /* im2col of x from the forward pass */
    par_sgemm(1, CblasNoTrans, CblasTrans, l->c_out, K, np, dy, np, col, np, 1.0f, l->p[0].g, K);
    if (!dx)
        return;
    float *dcol = pw ? dx : l->col;
    par_sgemm(0, CblasTrans, CblasNoTrans, K, np, l->c_out, weights_of(l), K, dy, np, 0.0f, dcol,
              np);
    if (!pw)
        col2im(l, dcol, dx, batch);
}

/* Copies plane x (H x W) into a zero-padded (H + 2p) x (W + 2p) buffer so the
 * depthwise loops run without bounds checks (and vectorize over columns). */
static void pad_plane(const float *x, int H, int W, int p, float *xp)
{
    const int Wp = W + 2 * p;
    memset(xp, 0, sizeof(float) * (size_t)(H + 2 * p) * Wp);
    for (int y = 0; y < H; y++)
        memcpy(xp + (size_t)(y + p) * Wp + p, x + (size_t)y * W, sizeof(float) * (size_t)W);
}

void zp_dwconv_forward(struct zp_tlayer *l, const float *x, float *y, int batch)
{
    const int k = l->k, s = l->stride, p = l->pad;
    const int H = l->h_in, W = l->w_in, Ho = l->h_out, Wo = l->w_out;
    const int Wp = W + 2 * p;
    const float *wt = weights_of(l);
#pragma omp parallel
    {
        float *xp = zp_alloc(sizeof(float) * (size_t)(H + 2 * p) * Wp);
#pragma omp for schedule(static)
        for (int c = 0; c < l->c_in; c++) {
            const float *wc = wt + (size_t)c * k * k;
            for (int n = 0; n < batch; n++) {
                pad_plane(x + ((size_t)c * batch + n) * H * W, H, W, p, xp);
                float *yp = y + ((size_t)c * batch + n) * Ho * Wo;
                for (int oy = 0; oy < Ho; oy++) {
                    float *yr = yp + (size_t)oy * Wo;
                    for (int ox = 0; ox < Wo; ox++)
                        yr[ox] = 0.0f;
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            const float w = wc[ky * k + kx];
                            const float *xr = xp + (size_t)(oy * s + ky) * Wp + kx;
                            if (s == 1) {
#pragma omp simd
                                for (int ox = 0; ox < Wo; ox++)
                                    yr[ox] += w * xr[ox];
                            } else {
                                for (int ox = 0; ox < Wo; ox++)
                                    yr[ox] += w * xr[ox * s];
                            }
                        }
                }
            }
        }
        zp_free(xp);
    }
}

void zp_dwconv_backward(struct zp_tlayer *l, const float *x, const float *dy, float *dx, int batch)
{
    const int k = l->k, s = l->stride, p = l->pad;
    const int H = l->h_in, W = l->w_in, Ho = l->h_out, Wo = l->w_out;
    const int Wp = W + 2 * p, Hp = H + 2 * p;
    const float *wt = weights_of(l);
#pragma omp parallel
    {
        float *xp = zp_alloc(sizeof(float) * (size_t)Hp * Wp);
        float *dxp = zp_alloc(sizeof(float) * (size_t)Hp * Wp);
#pragma omp for schedule(static)
        for (int c = 0; c < l->c_in; c++) {
            const float *wc = wt + (size_t)c * k * k;
            double gacc[49] = {0}; /* k <= 7 (checked by the builder) */
            for (int n = 0; n < batch; n++) {
                pad_plane(x + ((size_t)c * batch + n) * H * W, H, W, p, xp);
                const float *dyp = dy + ((size_t)c * batch + n) * Ho * Wo;
                if (dx)
                    memset(dxp, 0, sizeof(float) * (size_t)Hp * Wp);
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        const float w = wc[ky * k + kx];
                        float g = 0.0f; /* one plane's share, then summed in double */
                        for (int oy = 0; oy < Ho; oy++) {
                            const float *dr = dyp + (size_t)oy * Wo;
                            const float *xr = xp + (size_t)(oy * s + ky) * Wp + kx;
                            float *dxr = dxp + (size_t)(oy * s + ky) * Wp + kx;
                            if (s == 1) {
#pragma omp simd reduction(+ : g)
                                for (int ox = 0; ox < Wo; ox++)
                                    g += dr[ox] * xr[ox];
                                if (dx) {
#pragma omp simd
                                    for (int ox = 0; ox < Wo; ox++)
                                        dxr[ox] += w * dr[ox];
                                }
                            } else {
                                for (int ox = 0; ox < Wo; ox++)
                                    g += dr[ox] * xr[ox * s];
                                if (dx)
                                    for (int ox = 0; ox < Wo; ox++)
                                        dxr[ox * s] += w * dr[ox];
                            }
                        }
                        gacc[ky * k + kx] += g;
                    }
                if (dx) {
                    float *dxo = dx + ((size_t)c * batch + n) * H * W;
                    for (int yy = 0; yy < H; yy++)
                        memcpy(dxo + (size_t)yy * W, dxp + (size_t)(yy + p) * Wp + p,
                               sizeof(float) * (size_t)W);
                }
            }
            float *gc = l->p[0].g + (size_t)c * k * k;
            for (int i = 0; i < k * k; i++)
                gc[i] += (float)gacc[i];
        }
        zp_free(xp);
        zp_free(dxp);
    }
}

void zp_fc_forward(struct zp_tlayer *l, const float *x, float *y, int batch)
{
    const int NI = l->c_in, O = l->c_out;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, batch, NI, 1.0f, weights_of(l), NI, x,
                batch, 0.0f, y, batch);
    for (int o = 0; o < O; o++)
        for (int n = 0; n < batch; n++)
            y[(size_t)o * batch + n] += l->p[1].w[o];
}

void zp_fc_backward(struct zp_tlayer *l, const float *x, const float *dy, float *dx, int batch)
{
    const int NI = l->c_in, O = l->c_out;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, NI, batch, 1.0f, dy, batch, x, batch,
                1.0f, l->p[0].g, NI);
    for (int o = 0; o < O; o++) {
        double s = 0.0;
        for (int n = 0; n < batch; n++)
            s += dy[(size_t)o * batch + n];
        l->p[1].g[o] += (float)s;
    }
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, NI, batch, O, 1.0f, weights_of(l), NI,
                    dy, batch, 0.0f, dx, batch);
}
