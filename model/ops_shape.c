/* Shape operators that move values, one image: the strided view behind
 * Transpose and Slice, ReduceSum / ReduceMean / ReduceMax over any axes but the
 * batch, and Concat of two inputs. All walk indices with zp_bcast_next (the
 * node's bdims and strides, model/onnx_nodes_shape.c), the backward passes
 * (model/grad_other.c) in the same order. */
#include <math.h>
#include <string.h>

#include "model/graph_internal.h"

void zp_op_view(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y)
{
    const int64_t total = g->tensors[n->out].size;
    int64_t idx[ZP_MAXDIM] = {0}, o0 = n->vbase, o1 = 0;
    for (int64_t i = 0; i < total; i++) {
        y[i] = x[o0];
        zp_bcast_next(n, idx, &o0, &o1);
    }
}

/* Sums in float in input order; Mean divides by the count at the end; Max keeps
 * the first maximum (a NaN wins, as MaxPool) */
void zp_op_reduce(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y)
{
    const int64_t total = g->tensors[n->in[0]].size, ny = g->tensors[n->out].size;
    const int max = n->op == ZP_OP_REDUCE_MAX;
    for (int64_t j = 0; j < ny; j++)
        y[j] = max ? -INFINITY : 0.f;
    int64_t idx[ZP_MAXDIM] = {0}, o0 = 0, o1 = 0;
    for (int64_t i = 0; i < total; i++) {
        if (!max)
            y[o1] += x[i];
        else if (x[i] > y[o1] || (x[i] != x[i] && y[o1] == y[o1]))
            y[o1] = x[i];
        zp_bcast_next(n, idx, &o0, &o1);
    }
    if (n->op == ZP_OP_REDUCE_MEAN)
        for (int64_t j = 0; j < ny; j++)
            y[j] /= (float)n->red_count;
}

void zp_op_concat(const struct zp_node *n, const float *x0, const float *x1, float *y)
{
    for (int64_t o = 0; o < n->cat_outer; o++) {
        memcpy(y, x0 + o * n->cat_a, (size_t)n->cat_a * sizeof(float));
        memcpy(y + n->cat_a, x1 + o * n->cat_b, (size_t)n->cat_b * sizeof(float));
        y += n->cat_a + n->cat_b;
    }
}
