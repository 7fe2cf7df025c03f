/* Backward passes of the layers: Conv (groups, depthwise, strides, dilations,
 * pads) and Gemm / MatMul, over the batch, with the matrix products through the
 * dispatched f32 GEMM of kernels/ (zp_f32_gemm_t, one thread per call: the loops
 * here are the parallel ones) and im2col / col2im from kernels/ too.
 *
 * Input gradient: per image (images are independent, spread over the threads):
 * dcol = W^T dy per group, scattered back by col2im (the adjoint of im2col).
 * Weight gradient: dW = sum over images of dy col^T, summed in fixed chunks of
 * images (model/train_internal.h), so the result does not depend on the
 * threads. Bias gradient: one thread per output channel, images in order. */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "kernels/kernels.h"
#include "model/train_internal.h"

/* A vectorized sum (the reassociation is fixed at compile time, so the result
 * still does not depend on the threads); nothing under clang (see ZP_SIMD). */
#if defined(__clang__)
#define ZP_SIMD_SUM(v)
#else
#define ZP_PRAGMA(x) _Pragma(#x)
#define ZP_SIMD_SUM(v) ZP_PRAGMA(omp simd reduction(+ : v))
#endif

/* The products are zp_mm / zp_mm_ws (model/ops_matmul.c): the dispatched f32
 * GEMM on the calling thread, workspace in the per-thread scratch. */

int zp_tg_chunks(int batch) { return batch < ZP_TG_MAX_CHUNKS ? batch : ZP_TG_MAX_CHUNKS; }

void zp_tg_chunk(int batch, int n_chunks, int c, int *i0, int *i1)
{
    *i0 = (int)((int64_t)batch * c / n_chunks);
    *i1 = (int)((int64_t)batch * (c + 1) / n_chunks);
}

struct cgeom {
    int64_t C, H, W, O, OH, OW, G, Cg, Og, K, P;
    int direct; /* 1x1, stride 1, no padding: the column matrix is the input itself */
    struct zp_im2col_geom ig; /* one group's im2col */
};

static struct cgeom cgeom(const struct zp_graph *g, const struct zp_node *n)
{
    const struct zp_tensor *X = &g->tensors[n->in[0]], *Y = &g->tensors[n->out];
    struct cgeom q;
    q.C = X->dims[1];
    q.H = X->dims[2];
    q.W = X->dims[3];
    q.O = Y->dims[1];
    q.OH = Y->dims[2];
    q.OW = Y->dims[3];
    q.G = n->group;
    q.Cg = q.C / q.G;
    q.Og = q.O / q.G;
    q.K = q.Cg * n->kh * n->kw;
    q.P = q.OH * q.OW;
    q.direct = n->kh == 1 && n->kw == 1 && n->sh == 1 && n->sw == 1 && !n->pads[0] &&
               !n->pads[1] && !n->pads[2] && !n->pads[3];
    q.ig = (struct zp_im2col_geom){.c = q.Cg, .h = q.H, .w = q.W, .kh = n->kh, .kw = n->kw, .sh = n->sh,
                                   .sw = n->sw, .dh = n->dh, .dw = n->dw, .pt = n->pads[0], .pl = n->pads[1],
                                   .oh = q.OH, .ow = q.OW};
    return q;
}

/* Per-thread scratch of a conv: the column matrix, then the GEMM workspace. */
static int64_t col_floats(const struct cgeom *q) { return (q->K * q->P + 15) & ~(int64_t)15; }

int64_t zp_tg_layer_scratch(const struct zp_graph *g, const struct zp_node *n, int max_batch)
{
    if (n->op == ZP_OP_CONV) {
        struct cgeom q = cgeom(g, n);
        if (q.Cg == 1 && q.Og == 1)
            return 0; /* depthwise: no GEMM, no columns */
        size_t a = zp_mm_ws(1, 0, q.K, q.P, q.Og, q.direct ? 1.f : 0.f), b = zp_mm_ws(0, 1, q.Og, q.K, q.P, 1.f);
        return col_floats(&q) + (int64_t)(a > b ? a : b);
    }
    if (n->op == ZP_OP_MATMUL)
        return zp_tg_matmul_scratch(n);
    if (n->op != ZP_OP_GEMM)
        return 0;
    const int64_t K = n->mm_k, O = n->mm_cols, R = n->mm_rows * max_batch;
    size_t a = zp_mm_ws(0, 0, R, K, O, 1.f), b = zp_mm_ws(1, 0, O, K, R, 0.f);
    size_t f = (size_t)zp_op_mm_scratch(g, n); /* the forward's */
    a = a > b ? a : b;
    return (int64_t)(a > f ? a : f);
}

/* Depthwise (one input and one output channel per group), directly: for one
 * image and channel, dx += the input gradient from dy, and dw (kh*kw taps) +=
 * each tap's sum over the pixels, in one pass over the rows. */
static void dw_backward(const struct zp_node *n, const struct cgeom *q, const float *x,
                        const float *w, const float *dy, float *dx, float *dw)
{
    const int64_t sw = n->sw, W = q->W, OW = q->OW;
    for (int64_t ky = 0; ky < n->kh; ky++)
        for (int64_t kx = 0; kx < n->kw; kx++) {
            const int64_t k = ky * n->kw + kx, off = kx * n->dw - n->pads[1];
            const float wk = w[k];
            int64_t lo, hi;
            zp_im2col_ox_range(&q->ig, kx, &lo, &hi);
            float s = 0.f;
            for (int64_t oy = 0; oy < q->OH; oy++) {
                int64_t iy = oy * n->sh + ky * n->dh - n->pads[0];
                if (iy < 0 || iy >= q->H)
                    continue;
                const float *restrict d = dy + oy * OW, *restrict xr = x + iy * W + off;
                float *restrict p = dx + iy * W + off;
                if (sw == 1) {
                    ZP_SIMD_SUM(s)
                    for (int64_t ox = lo; ox < hi; ox++) {
                        s += d[ox] * xr[ox];
                        p[ox] += wk * d[ox];
                    }
                } else {
                    ZP_SIMD_SUM(s)
                    for (int64_t ox = lo; ox < hi; ox++) {
                        s += d[ox] * xr[ox * sw];
                        p[ox * sw] += wk * d[ox];
                    }
                }
            }
            dw[k] += s;
        }
}

/* dw[j] += sum over chunks (in chunk order) of partial[c][j], through the weight
 * transform's straight-through mask when there is one. */
static void reduce_partials(const float *partial, int n_chunks, int64_t ws, float *dw,
                            const uint8_t *mask)
{
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < ws; j++) {
        float s = 0.f;
        for (int c = 0; c < n_chunks; c++)
            s += partial[c * ws + j];
        if (!mask || mask[j])
            dw[j] += s;
    }
}

/* db[o] += sum over images and the inner positions of dy[i][o][p], in a fixed
 * order. */
static void bias_grad(const float *dy, int batch, int64_t O, int64_t P, float *db)
{
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < O; o++) {
        double s = 0;
        for (int i = 0; i < batch; i++) { /* a float sum per plane, planes in double */
            const float *p = dy + ((int64_t)i * O + o) * P;
            float ps = 0.f;
            ZP_SIMD_SUM(ps)
            for (int64_t k = 0; k < P; k++)
                ps += p[k];
            s += ps;
        }
        db[o] += (float)s;
    }
}

void zp_tg_conv_backward(struct zp_tgraph *t, const struct zp_node *n, const float *x,
                         const float *w, float *dx)
{
    const struct zp_graph *g = t->g;
    const struct cgeom q = cgeom(g, n);
    const int B = t->batch;
    const float *dy = t->grad[n->out];
    const int64_t xs = q.C * q.H * q.W, ys = q.O * q.P, wg = q.Og * q.K;
    struct zp_tg_layer *L = &t->L[n->layer];
    /* input gradient, image by image (depthwise: with the weight gradient below) */
    const int depthwise = q.Cg == 1 && q.Og == 1;
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < (depthwise ? 0 : B); i++) {
        float *col = t->scratch + (int64_t)omp_get_thread_num() * t->scratch_per, *gws = col + col_floats(&q);
        for (int64_t gi = 0; gi < q.G; gi++) {
            const float *dyg = dy + i * ys + gi * q.Og * q.P;
            float *dxg = dx + i * xs + gi * q.Cg * q.H * q.W;
            if (q.direct) {
                zp_mm(1, 0, q.K, q.P, q.Og, w + gi * wg, q.K, dyg, q.P, 1.f, dxg, q.P, gws);
                continue;
            }
            zp_mm(1, 0, q.K, q.P, q.Og, w + gi * wg, q.K, dyg, q.P, 0.f, col, q.P, gws);
            zp_f32_col2im(&q.ig, col, dxg);
        }
    }
    /* weight gradient in fixed chunks of images */
    const int nc = zp_tg_chunks(B);
    const int64_t ws = q.O * q.K;
#pragma omp parallel for schedule(dynamic, 1)
    for (int c = 0; c < nc; c++) {
        float *col = t->scratch + (int64_t)omp_get_thread_num() * t->scratch_per, *gws = col + col_floats(&q);
        float *part = t->partial + c * ws;
        int i0, i1;
        zp_tg_chunk(B, nc, c, &i0, &i1);
        memset(part, 0, (size_t)ws * sizeof(float));
        for (int i = i0; i < i1; i++)
            for (int64_t gi = 0; gi < q.G; gi++) {
                const float *xg = x + i * xs + gi * q.Cg * q.H * q.W;
                const float *src = xg;
                if (depthwise) { /* input and weight gradient in one pass */
                    dw_backward(n, &q, xg, w + gi * wg, dy + i * ys + gi * q.P,
                                dx + i * xs + gi * q.H * q.W, part + gi * wg);
                    continue;
                }
                if (!q.direct) {
                    zp_f32_im2col(&q.ig, xg, col);
                    src = col;
                }
                zp_mm(0, 1, q.Og, q.K, q.P, dy + i * ys + gi * q.Og * q.P, q.P, src, q.P, 1.f,
                      part + gi * wg, q.K, gws);
            }
    }
    reduce_partials(t->partial, nc, ws, L->dw, L->wfn ? L->wmask : NULL);
    if (L->db)
        bias_grad(dy, B, q.O, q.P, L->db);
}

void zp_tg_gemm_backward(struct zp_tgraph *t, const struct zp_node *n, const float *x,
                         const float *w, float *dx)
{
    const int64_t K = n->mm_k, O = n->mm_cols, R = n->mm_rows;
    const int B = t->batch;
    const float *dy = t->grad[n->out];
    struct zp_tg_layer *L = &t->L[n->layer];
    const int nc = zp_tg_chunks(B);
    /* rows = images x their R rows (a rank >= 3 MatMul input is R rows of K):
     * dX[rows, K] += dY[rows, O] W[O, K], rows in chunks of images;
     * dW[O, K] += dY^T X per chunk */
#pragma omp parallel for schedule(dynamic, 1)
    for (int c = 0; c < nc; c++) {
        float *gws = t->scratch + (int64_t)omp_get_thread_num() * t->scratch_per;
        int i0, i1;
        zp_tg_chunk(B, nc, c, &i0, &i1);
        const int64_t r0 = i0 * R, nr = (i1 - i0) * R;
        zp_mm(0, 0, nr, K, O, dy + r0 * O, O, w, K, 1.f, dx + r0 * K, K, gws);
        zp_mm(1, 0, O, K, nr, dy + r0 * O, O, x + r0 * K, K, 0.f, t->partial + c * O * K, K, gws);
    }
    reduce_partials(t->partial, nc, O * K, L->dw, L->wfn ? L->wmask : NULL);
    if (L->db)
        bias_grad(dy, (int)(B * R), O, 1, L->db);
}
