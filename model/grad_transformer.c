/* Backward passes of the transformer's operators without weights of their own
 * (model/ops_matmul.c): MatMul of two activations and Gather.
 *
 * MatMul, per image (images spread over the threads) and per broadcast batch
 * index in order: dA += dC B^T, dB += A^T dC, summing over the batch indices an
 * operand was broadcast along. Gather: the table's rows get the gradients of
 * the outputs that copied them, images and rows in order on one thread (rows
 * repeat, so a parallel sum would race or depend on the threads); the indices
 * are integers and get none. */
#include <omp.h>

#include "model/train_internal.h"

int64_t zp_tg_matmul_scratch(const struct zp_node *n)
{
    const int64_t M = n->mm_rows, K = n->mm_k, N = n->mm_cols;
    size_t a = zp_mm_ws(0, 1, M, K, N, 1.f), b = zp_mm_ws(1, 0, K, N, M, 1.f),
           f = zp_mm_ws(0, 0, M, N, K, 0.f);
    a = a > b ? a : b;
    return (int64_t)(a > f ? a : f);
}

void zp_tg_matmul_backward(struct zp_tgraph *t, const struct zp_node *n)
{
    const struct zp_graph *g = t->g;
    const int64_t M = n->mm_rows, K = n->mm_k, N = n->mm_cols, cnt = zp_op_matmul_count(n);
    const int64_t sa = g->tensors[n->in[0]].size, sb = g->tensors[n->in[1]].size,
                  ys = g->tensors[n->out].size;
    const float *A = t->act[n->in[0]], *B = t->act[n->in[1]], *dy = t->grad[n->out];
    float *dA = t->grad[n->in[0]], *dB = t->grad[n->in[1]];
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < t->batch; i++) {
        float *ws = t->scratch + (int64_t)omp_get_thread_num() * t->scratch_per;
        int64_t idx[ZP_MAXDIM] = {0}, oa = i * sa, ob = i * sb;
        for (int64_t j = 0; j < cnt; j++) {
            const float *dc = dy + i * ys + j * M * N;
            zp_mm(0, 1, M, K, N, dc, N, B + ob, N, 1.f, dA + oa, K, ws);
            zp_mm(1, 0, K, N, M, A + oa, K, dc, N, 1.f, dB + ob, N, ws);
            zp_bcast_next(n, idx, &oa, &ob);
        }
    }
}

void zp_tg_gather_backward(struct zp_tgraph *t, const struct zp_node *n)
{
    const struct zp_graph *g = t->g;
    const int64_t R = n->mm_rows, D = n->mm_cols;
    const float *x = t->act[n->in[0]], *dy = t->grad[n->out];
    float *dt = t->node_tab[n - g->nodes];
    for (int64_t i = 0; i < (int64_t)t->batch * R; i++) {
        const int64_t r = zp_gather_row(g, n, x[i]);
        if (r < 0)
            continue;
        float *p = dt + r * D;
        const float *d = dy + i * D;
        ZP_SIMD
        for (int64_t k = 0; k < D; k++)
            p[k] += d[k];
    }
}
