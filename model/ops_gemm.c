/* Gemm / MatMul of one image: y = W x + b with W stored [O, K] (the loader folded
 * alpha, beta and transB), then the fused activation. */
#include <cblas.h>

#include "model/graph_internal.h"

void zp_op_gemm(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y,
                const struct zp_exec *e)
{
    int64_t K = g->tensors[n->in[0]].dims[1], O = g->tensors[n->out].dims[1];
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)O, (int)K, 1.f, e->w, (int)K, x, 1, 0.f, y, 1);
    if (e->b)
        for (int64_t o = 0; o < O; o++)
            y[o] += e->b[o];
    if (e->act)
        zp_clamp(y, O, e->lo, e->hi);
}
