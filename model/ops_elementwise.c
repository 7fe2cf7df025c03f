/* Elementwise operators of one image: Add / Mul with numpy broadcasting (the other
 * binary ops and the math functions are model/ops_math.c), Relu,
 * Clip, the per-channel affine of a standalone BatchNormalization, Softmax, and
 * the copy behind Flatten / Reshape (when it is not planned as an alias). */
#include <math.h>
#include <string.h>

#include "model/graph_internal.h"

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
    /* general: walk the output index, advancing both inputs by their strides */
    int64_t idx[ZP_MAXDIM] = {0}, o0 = 0, o1 = 0;
    for (int64_t i = 0; i < total; i++) {
        float a = x0[o0], b = x1[o1];
        y[i] = n->op == ZP_OP_ADD ? a + b : a * b;
        zp_bcast_next(n, idx, &o0, &o1);
    }
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
