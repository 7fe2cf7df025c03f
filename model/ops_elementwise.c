/* Elementwise operators of one image: Add / Mul with numpy broadcasting (the other
 * binary ops and the math functions are model/ops_math.c), Relu,
 * Clip, the per-channel affine of a standalone BatchNormalization, Softmax, and
 * the copy behind Flatten / Reshape (when it is not planned as an alias). */
#include <math.h>
#include <string.h>

#include "model/graph_internal.h"

/* A vectorized reduction (omp simd); nothing under clang (see ZP_SIMD). */
#if defined(__clang__)
#define ZP_SIMD_REDUCE(r)
#else
#define ZP_PRAGMA_(x) _Pragma(#x)
#define ZP_SIMD_REDUCE(r) ZP_PRAGMA_(omp simd reduction(r))
#endif

static void add_mul_run(enum zp_op op, const float *pa, int64_t sa, const float *pb, int64_t sb,
                        float *y, int64_t len)
{
    if (op == ZP_OP_ADD)
        ZP_BIN_RUN(a + b);
    else
        ZP_BIN_RUN(a * b);
}

void zp_op_binary(const struct zp_graph *g, const struct zp_node *n, const float *x0,
                  const float *x1, float *y)
{
    if (n->op == ZP_OP_CONCAT) {
        zp_op_concat(n, x0, x1, y);
        return;
    }
    if (n->op != ZP_OP_ADD && n->op != ZP_OP_MUL) { /* Sub, Div, Max, Min, Pow */
        zp_op_binary_math(g, n, x0, x1, y);
        return;
    }
    const int64_t total = g->tensors[n->out].size;
    const int nd = n->bnd;
    /* the common case: both operands have the output's shape */
    int same = 1;
    int64_t s = 1;
    for (int i = nd - 1; i >= 0; i--) {
        same &= n->bstr[0][i] == s && n->bstr[1][i] == s;
        s *= n->bdims[i];
    }
    if (same) {
        if (n->op == ZP_OP_ADD)
            for (int64_t i = 0; i < total; i++)
                y[i] = x0[i] + x1[i];
        else
            for (int64_t i = 0; i < total; i++)
                y[i] = x0[i] * x1[i];
        return;
    }
    zp_bcast_runs(g, n, x0, x1, y, add_mul_run);
}

void zp_bcast_runs(const struct zp_graph *g, const struct zp_node *n, const float *x0,
                   const float *x1, float *y, zp_bin_run_fn *run)
{
    const int64_t total = g->tensors[n->out].size;
    const int nd = n->bnd;
    if (nd == 0) {
        run(n->op, x0, 0, x1, 0, y, 1);
        return;
    }
    const int64_t len = n->bdims[nd - 1], sa = n->bstr[0][nd - 1], sb = n->bstr[1][nd - 1];
    /* the outer axes as zp_bcast_next walks them, one run per step */
    int64_t idx[ZP_MAXDIM] = {0}, o0 = 0, o1 = 0;
    for (int64_t i = 0; i < total; i += len) {
        run(n->op, x0 + o0, sa, x1 + o1, sb, y + i, len);
        for (int d = nd - 2; d >= 0; d--) {
            o0 += n->bstr[0][d];
            o1 += n->bstr[1][d];
            if (++idx[d] < n->bdims[d])
                break;
            o0 -= n->bstr[0][d] * n->bdims[d];
            o1 -= n->bstr[1][d] * n->bdims[d];
            idx[d] = 0;
        }
    }
}

/* Softmax of one contiguous row, the arithmetic of the strided loop below (max,
 * expf of the difference, a double sum, then e / sum rounded to float) made
 * cheaper: expf is not called where it is exactly 0 (x <= -104: e^-104 is below
 * half the smallest float denormal), which is half of every row under a causal
 * mask; the max and the double sum are vector reductions (a fixed order set at
 * compile time, so still deterministic); and e * (1 / sum) in double replaces
 * e / sum (a vector loop). The last two can move a result by one float ulp,
 * only when it lies within about 2^-50 relative of a rounding boundary. */
static void softmax_row(const float *p, float *q, int64_t len)
{
    float m = -INFINITY;
    ZP_SIMD_REDUCE(max : m)
    for (int64_t k = 0; k < len; k++)
        m = p[k] > m ? p[k] : m;
    for (int64_t k = 0; k < len; k++) {
        const float d = p[k] - m;
        q[k] = d <= -104.f ? 0.f : expf(d);
    }
    double s = 0;
    ZP_SIMD_REDUCE(+ : s)
    for (int64_t k = 0; k < len; k++)
        s += q[k];
    const double inv = 1.0 / s;
    ZP_SIMD
    for (int64_t k = 0; k < len; k++)
        q[k] = (float)(q[k] * inv);
}

void zp_op_unary(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y)
{
    const int64_t total = g->tensors[n->out].size;
    switch (n->op) {
    case ZP_OP_RELU:
    case ZP_OP_CLIP:
        if (x != y)
            memcpy(y, x, (size_t)total * sizeof(float));
        zp_clamp(y, total, n->lo, n->hi);
        break;
    case ZP_OP_AFFINE:
    case ZP_OP_BN: /* inference: the running statistics as scale / shift */
        for (int64_t c = 0; c < n->channels; c++)
            for (int64_t i = 0; i < n->inner; i++)
                y[c * n->inner + i] = x[c * n->inner + i] * n->scale[c] + n->shift[c];
        break;
    case ZP_OP_SOFTMAX:
        if (n->sm_inner == 1) { /* the last axis (attention): contiguous rows */
            for (int64_t o = 0; o < n->sm_outer; o++)
                softmax_row(x + o * n->sm_len, y + o * n->sm_len, n->sm_len);
            break;
        }
        for (int64_t o = 0; o < n->sm_outer; o++)
            for (int64_t in = 0; in < n->sm_inner; in++) {
                const float *p = x + o * n->sm_len * n->sm_inner + in;
                float *q = y + o * n->sm_len * n->sm_inner + in;
                float m = -INFINITY;
                for (int64_t k = 0; k < n->sm_len; k++)
                    m = p[k * n->sm_inner] > m ? p[k * n->sm_inner] : m;
                double s = 0;
                for (int64_t k = 0; k < n->sm_len; k++) {
                    float e = expf(p[k * n->sm_inner] - m);
                    q[k * n->sm_inner] = e;
                    s += e;
                }
                for (int64_t k = 0; k < n->sm_len; k++)
                    q[k * n->sm_inner] = (float)(q[k * n->sm_inner] / s);
            }
        break;
    case ZP_OP_MATH: zp_op_math(g, n, x, y); break;
    case ZP_OP_LAYERNORM: zp_op_layernorm(n, x, y); break;
    case ZP_OP_LOGSOFTMAX: zp_op_logsoftmax(n, x, y); break;
    case ZP_OP_VIEW: zp_op_view(g, n, x, y); break;
    case ZP_OP_REDUCE_SUM:
    case ZP_OP_REDUCE_MEAN:
    case ZP_OP_REDUCE_MAX: zp_op_reduce(g, n, x, y); break;
    default: /* ZP_OP_COPY */
        if (x != y)
            memcpy(y, x, (size_t)total * sizeof(float));
        break;
    }
}
