/* Backward passes of the operators without weights (Add / Mul and the other
 * binary ops with broadcasting, the math functions, Transpose / Slice,
 * reductions, Concat, Relu, Clip, the fixed affine of a folded-away BN, pooling,
 * GlobalAveragePool, Flatten / Reshape, Softmax, LogSoftmax) and BatchNormalization in both
 * modes, forward and backward, over the batch.
 *
 * Elementwise and pooling gradients are per image (images spread over the
 * threads; within an image the sums run in index order). BatchNormalization
 * works per channel over the whole batch, one thread per channel, images in
 * order, sums in double: deterministic whatever the threads. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/train_internal.h"

/* ---- BatchNormalization --------------------------------------------------------- */

/* Sums over one channel's values of one image, in float blocks of BLOCK values
 * (vectorized) added up in double, in a fixed order. */
#define BLOCK 512
#if defined(__clang__)
#define ZP_SIMD_SUM2(u, v)
#else
#define ZP_PRAGMA2(x) _Pragma(#x)
#define ZP_SIMD_SUM2(u, v) ZP_PRAGMA2(omp simd reduction(+ : u, v))
#endif

/* s1 += sum of p, s2 += sum of (p - m)^2 */
static void sums_x(const float *p, int64_t n, float m, double *s1, double *s2)
{
    for (int64_t i0 = 0; i0 < n; i0 += BLOCK) {
        int64_t i1 = i0 + BLOCK < n ? i0 + BLOCK : n;
        float a = 0.f, b = 0.f;
        ZP_SIMD_SUM2(a, b)
        for (int64_t i = i0; i < i1; i++) {
            a += p[i];
            b += (p[i] - m) * (p[i] - m);
        }
        *s1 += a;
        *s2 += b;
    }
}

/* s1 += sum of d, s2 += sum of d * (p - m) */
static void sums_dy(const float *d, const float *p, int64_t n, float m, double *s1, double *s2)
{
    for (int64_t i0 = 0; i0 < n; i0 += BLOCK) {
        int64_t i1 = i0 + BLOCK < n ? i0 + BLOCK : n;
        float a = 0.f, b = 0.f;
        ZP_SIMD_SUM2(a, b)
        for (int64_t i = i0; i < i1; i++) {
            a += d[i];
            b += d[i] * (p[i] - m);
        }
        *s1 += a;
        *s2 += b;
    }
}

void zp_tg_bn_forward(struct zp_tgraph *t, const struct zp_node *n, int train)
{
    struct zp_tg_bn *bn = &t->bn[t->node_bn[n - t->g->nodes]];
    const int64_t C = n->channels, S = n->inner, B = t->batch, M = B * S;
    const float *x = t->act[n->in[0]];
    float *y = t->act[n->out];
    float *gamma = n->bn, *beta = n->bn + C, *rmean = n->bn + 2 * C, *rvar = n->bn + 3 * C;
    const double mom = t->momentum >= 0 ? t->momentum : n->momentum;
    const int use_batch = train && !t->bn_frozen;
    bn->used_batch = use_batch;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < C; c++) {
        double mean, var;
        if (use_batch) {
            /* the mean first (deviations from it keep the variance exact), images in order */
            double s = 0, v = 0, unused = 0;
            for (int64_t i = 0; i < B; i++)
                sums_x(x + (i * C + c) * S, S, 0.f, &s, &unused);
            mean = s / (double)M;
            for (int64_t i = 0; i < B; i++)
                sums_x(x + (i * C + c) * S, S, (float)mean, &unused, &v);
            var = v / (double)M;
            double unbiased = M > 1 ? v / (double)(M - 1) : var;
            rmean[c] = (float)((1.0 - mom) * rmean[c] + mom * mean);
            rvar[c] = (float)((1.0 - mom) * rvar[c] + mom * unbiased);
        } else {
            mean = rmean[c];
            var = rvar[c];
        }
        double invstd = 1.0 / sqrt(var + n->eps);
        bn->mean[c] = (float)mean;
        bn->invstd[c] = (float)invstd;
        float a = (float)(gamma[c] * invstd), b = (float)(beta[c] - mean * (double)a);
        if (!use_batch) {
            /* the affine zp_graph_run applies (model/graph_fold.c arithmetic), so an
             * eval forward here and zp_graph_run after zp_tgraph_sync agree */
            int64_t bad;
            if (!zp_bn_affine(gamma + c, beta + c, rmean + c, rvar + c, n->eps, 1, &a, &b, &bad)) {
                n->scale[c] = a;
                n->shift[c] = b;
            }
        }
        for (int64_t i = 0; i < B; i++) {
            const float *p = x + (i * C + c) * S;
            float *q = y + (i * C + c) * S;
            ZP_SIMD
            for (int64_t k = 0; k < S; k++)
                q[k] = p[k] * a + b;
        }
    }
}

void zp_tg_bn_backward(struct zp_tgraph *t, const struct zp_node *n)
{
    struct zp_tg_bn *bn = &t->bn[t->node_bn[n - t->g->nodes]];
    const int64_t C = n->channels, S = n->inner, B = t->batch, M = B * S;
    const float *x = t->act[n->in[0]], *dy = t->grad[n->out];
    float *dx = t->grad[n->in[0]];
    const float *gamma = n->bn;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < C; c++) {
        const float mean = bn->mean[c], invstd = bn->invstd[c];
        double sdy = 0, sdyx = 0;
        for (int64_t i = 0; i < B; i++)
            sums_dy(dy + (i * C + c) * S, x + (i * C + c) * S, S, mean, &sdy, &sdyx);
        sdyx *= invstd;
        bn->dgamma[c] += (float)sdyx;
        bn->dbeta[c] += (float)sdy;
        const float a = gamma[c] * invstd;
        /* batch statistics: dx = gamma*invstd * (dy - mean(dy) - xhat*mean(dy*xhat)):
         * the means keep every term at the scale of dy (no cancellation of M*dy) */
        const float m1 = bn->used_batch ? (float)(sdy / (double)M) : 0.f,
                    m2 = bn->used_batch ? (float)(sdyx / (double)M) * invstd : 0.f;
        for (int64_t i = 0; i < B; i++) {
            const float *p = x + (i * C + c) * S, *d = dy + (i * C + c) * S;
            float *q = dx + (i * C + c) * S;
            ZP_SIMD
            for (int64_t k = 0; k < S; k++)
                q[k] += a * (d[k] - m1 - (p[k] - mean) * m2);
        }
    }
}

/* ---- the other operators, one image ------------------------------------------------- */

/* Add / Mul: walk the output index as the forward does, adding each output's
 * gradient to the input entries it read (several, along broadcast axes). */
static void binary_back(const struct zp_graph *g, const struct zp_node *n, const float *x0,
                        const float *x1, const float *dy, float *dx0, float *dx1)
{
    const int64_t total = g->tensors[n->out].size;
    const int mul = n->op == ZP_OP_MUL;
    int64_t idx[ZP_MAXDIM] = {0}, o0 = 0, o1 = 0;
    for (int64_t i = 0; i < total; i++) {
        if (dx0)
            dx0[o0] += mul ? dy[i] * x1[o1] : dy[i];
        if (dx1)
            dx1[o1] += mul ? dy[i] * x0[o0] : dy[i];
        zp_bcast_next(n, idx, &o0, &o1);
    }
}

/* Pooling: MaxPool sends the gradient to the window's first maximum (the
 * element the forward picked, same scan and tie rule); AveragePool spreads it
 * over the window with the forward's divisor. */
static void pool_back(const struct zp_graph *g, const struct zp_node *n, const float *x,
                      const float *dy, float *dx)
{
    const struct zp_tensor *X = &g->tensors[n->in[0]], *Y = &g->tensors[n->out];
    int64_t C = X->dims[1], H = X->dims[2], W = X->dims[3], OH = Y->dims[2], OW = Y->dims[3];
    for (int64_t c = 0; c < C; c++) {
        const float *p = x + c * H * W, *d = dy + c * OH * OW;
        float *q = dx + c * H * W;
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                int64_t y0 = oy * n->sh - n->pads[0], x0 = ox * n->sw - n->pads[1];
                float gv = d[oy * OW + ox];
                if (n->op == ZP_OP_MAXPOOL) {
                    int64_t at = zp_maxpool_at(n, p, H, W, y0, x0);
                    if (at >= 0)
                        q[at] += gv;
                    continue;
                }
                int64_t yb = y0 + n->kh, xb = x0 + n->kw, cnt = 0;
                if (yb > H + n->pads[2])
                    yb = H + n->pads[2];
                if (xb > W + n->pads[3])
                    xb = W + n->pads[3];
                for (int64_t iy = y0; iy < yb; iy++)
                    for (int64_t ix = x0; ix < xb; ix++)
                        cnt += (iy < 0 || iy >= H || ix < 0 || ix >= W) ? n->count_include_pad : 1;
                if (!cnt)
                    continue;
                float share = (float)(gv / (double)cnt);
                for (int64_t iy = y0 < 0 ? 0 : y0; iy < yb && iy < H; iy++)
                    for (int64_t ix = x0 < 0 ? 0 : x0; ix < xb && ix < W; ix++)
                        q[iy * W + ix] += share;
            }
    }
}

/* Sub, Div, Max, Min, Pow: the same walk with the ops' partial derivatives */
static void binary_math_back(const struct zp_graph *g, const struct zp_node *n, const float *x0,
                             const float *x1, const float *y, const float *dy, float *dx0,
                             float *dx1)
{
    const int64_t total = g->tensors[n->out].size;
    int64_t idx[ZP_MAXDIM] = {0}, o0 = 0, o1 = 0;
    for (int64_t i = 0; i < total; i++) {
        float da, db;
        zp_bin_deriv(n->op, x0[o0], x1[o1], y[i], &da, &db);
        if (dx0)
            dx0[o0] += dy[i] * da;
        if (dx1)
            dx1[o1] += dy[i] * db;
        zp_bcast_next(n, idx, &o0, &o1);
    }
}

/* LogSoftmax: dx = dy - softmax * sum(dy), softmax = exp(y) */
static void logsoftmax_back(const struct zp_node *n, const float *y, const float *dy, float *dx)
{
    for (int64_t o = 0; o < n->sm_outer; o++)
        for (int64_t in = 0; in < n->sm_inner; in++) {
            int64_t base = o * n->sm_len * n->sm_inner + in;
            double s = 0;
            for (int64_t k = 0; k < n->sm_len; k++)
                s += dy[base + k * n->sm_inner];
            for (int64_t k = 0; k < n->sm_len; k++) {
                int64_t j = base + k * n->sm_inner;
                dx[j] += (float)(dy[j] - expf(y[j]) * s);
            }
        }
}

/* Transpose / Slice: each output's gradient back to the element it copied */
static void view_back(const struct zp_graph *g, const struct zp_node *n, const float *dy,
                      float *dx)
{
    const int64_t total = g->tensors[n->out].size;
    int64_t idx[ZP_MAXDIM] = {0}, o0 = n->vbase, o1 = 0;
    for (int64_t i = 0; i < total; i++) {
        dx[o0] += dy[i];
        zp_bcast_next(n, idx, &o0, &o1);
    }
}

/* Reductions: Sum / Mean spread the output gradient over its inputs; Max sends
 * it to the first maximum, the element the forward kept (same scan, same rule) */
static void reduce_back(const struct zp_graph *g, const struct zp_node *n, const float *x,
                        const float *y, const float *dy, float *dx)
{
    const int64_t total = g->tensors[n->in[0]].size, ny = g->tensors[n->out].size;
    const int max = n->op == ZP_OP_REDUCE_MAX;
    unsigned char *taken = max ? calloc((size_t)ny, 1) : NULL;
    if (max && !taken)
        return; /* out of memory: no gradient (cannot report from here) */
    const float scale = n->op == ZP_OP_REDUCE_MEAN ? 1.f / (float)n->red_count : 1.f;
    int64_t idx[ZP_MAXDIM] = {0}, o0 = 0, o1 = 0;
    for (int64_t i = 0; i < total; i++) {
        if (!max)
            dx[i] += dy[o1] * scale;
        else if (!taken[o1] && (x[i] == y[o1] || (x[i] != x[i] && y[o1] != y[o1]))) {
            dx[i] += dy[o1];
            taken[o1] = 1;
        }
        zp_bcast_next(n, idx, &o0, &o1);
    }
    free(taken);
}

static void concat_back(const struct zp_node *n, const float *dy, float *dx0, float *dx1)
{
    for (int64_t o = 0; o < n->cat_outer; o++) {
        for (int64_t k = 0; dx0 && k < n->cat_a; k++)
            dx0[o * n->cat_a + k] += dy[k];
        for (int64_t k = 0; dx1 && k < n->cat_b; k++)
            dx1[o * n->cat_b + k] += dy[n->cat_a + k];
        dy += n->cat_a + n->cat_b;
    }
}

static void softmax_back(const struct zp_node *n, const float *y, const float *dy, float *dx)
{
    for (int64_t o = 0; o < n->sm_outer; o++)
        for (int64_t in = 0; in < n->sm_inner; in++) {
            int64_t base = o * n->sm_len * n->sm_inner + in;
            double s = 0;
            for (int64_t k = 0; k < n->sm_len; k++)
                s += (double)dy[base + k * n->sm_inner] * y[base + k * n->sm_inner];
            for (int64_t k = 0; k < n->sm_len; k++) {
                int64_t j = base + k * n->sm_inner;
                dx[j] += (float)(y[j] * (dy[j] - s));
            }
        }
}

void zp_tg_other_backward(struct zp_tgraph *t, const struct zp_node *n)
{
    const struct zp_graph *g = t->g;
    const int64_t ys = g->tensors[n->out].size;
    const struct zp_tensor *T0 = &g->tensors[n->in[0]];
    const struct zp_tensor *T1 = n->n_in > 1 ? &g->tensors[n->in[1]] : NULL;
    const int64_t s0 = T0->is_const ? 0 : T0->size, s1 = T1 && !T1->is_const ? T1->size : 0;
    const float *x0 = T0->is_const ? T0->data : t->act[n->in[0]];
    const float *x1 = T1 ? (T1->is_const ? T1->data : t->act[n->in[1]]) : NULL;
    float *dx0 = T0->is_const ? NULL : t->grad[n->in[0]];
    float *dx1 = T1 && !T1->is_const ? t->grad[n->in[1]] : NULL;
    const float *dy = t->grad[n->out], *y = t->act[n->out];
    /* x * x or x + x: both gradients land in one buffer, so one thread per image
     * does both (no race between them) */
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < t->batch; i++) {
        const float *a = x0 + i * s0, *d = dy + i * ys;
        float *da = dx0 ? dx0 + i * s0 : NULL;
        switch (n->op) {
        case ZP_OP_ADD:
        case ZP_OP_MUL:
            binary_back(g, n, a, x1 + i * s1, d, da, dx1 ? dx1 + i * s1 : NULL);
            break;
        case ZP_OP_RELU:
        case ZP_OP_CLIP:
        {
            const float lo = n->lo, hi = n->hi; /* locals: da might alias the node */
            ZP_SIMD
            for (int64_t k = 0; k < ys; k++)
                da[k] += a[k] > lo && a[k] < hi ? d[k] : 0.f;
            break;
        }
        case ZP_OP_AFFINE:
            for (int64_t c = 0; c < n->channels; c++)
                for (int64_t k = 0; k < n->inner; k++)
                    da[c * n->inner + k] += d[c * n->inner + k] * n->scale[c];
            break;
        case ZP_OP_AVGPOOL:
        case ZP_OP_MAXPOOL: pool_back(g, n, a, d, da); break;
        case ZP_OP_GAP:
            for (int64_t c = 0, S = n->inner; c < n->channels; c++) {
                const float share = d[c] / (float)S;
                float *q = da + c * S;
                ZP_SIMD
                for (int64_t k = 0; k < S; k++)
                    q[k] += share;
            }
            break;
        case ZP_OP_SOFTMAX: softmax_back(n, y + i * ys, d, da); break;
        case ZP_OP_LAYERNORM: zp_layernorm_back(n, a, d, da); break;
        case ZP_OP_LOGSOFTMAX: logsoftmax_back(n, y + i * ys, d, da); break;
        case ZP_OP_SUB:
        case ZP_OP_DIV:
        case ZP_OP_MAX:
        case ZP_OP_MIN:
        case ZP_OP_POW:
            binary_math_back(g, n, a, x1 + i * s1, y + i * ys, d, da, dx1 ? dx1 + i * s1 : NULL);
            break;
        case ZP_OP_VIEW: view_back(g, n, d, da); break;
        case ZP_OP_REDUCE_SUM:
        case ZP_OP_REDUCE_MEAN:
        case ZP_OP_REDUCE_MAX: reduce_back(g, n, a, y + i * ys, d, da); break;
        case ZP_OP_CONCAT: concat_back(n, d, da, dx1 ? dx1 + i * s1 : NULL); break;
        case ZP_OP_MATH:
            for (int64_t k = 0; k < ys; k++)
                da[k] += d[k] * zp_fn_deriv(n, a[k], y[i * ys + k]);
            break;
        default: /* ZP_OP_COPY that is not an alias */
            for (int64_t k = 0; k < ys; k++)
                da[k] += d[k];
            break;
        }
    }
}
