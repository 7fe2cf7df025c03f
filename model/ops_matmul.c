/* The transformer's products and lookups, one image each: the row GEMM of a
 * MatMul layer whose input has rank >= 3 ([T, K] rows x weight), MatMul of two
 * activations with numpy broadcasting of the batch dims (attention's Q K^T and
 * P V), and Gather from a constant table (the token embedding). The products go
 * through the dispatched f32 GEMM of kernels/ (zp_f32_gemm_t), which the
 * training backward (model/grad_conv.c, model/grad_transformer.c) uses too. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/kernels.h"
#include "model/graph_internal.h"

size_t zp_mm_ws(int ta, int tb, int64_t m, int64_t n, int64_t k, float beta)
{
    const struct zp_f32_gemm_t_call c = {.ta = ta, .tb = tb, .m = (int)m, .n = (int)n, .k = (int)k,
                                         .beta = beta};
    return zp_f32_gemm_t_ws(&c);
}

void zp_mm(int ta, int tb, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
           const float *B, int64_t ldb, float beta, float *C, int64_t ldc, float *ws)
{
    const struct zp_f32_gemm_t_call c = {.ta = ta, .tb = tb, .m = (int)M, .n = (int)N, .k = (int)K,
                                         .alpha = 1.f, .beta = beta, .a = A, .lda = (size_t)lda,
                                         .b = B, .ldb = (size_t)ldb, .c = C, .ldc = (size_t)ldc,
                                         .ws = ws, .threads = 1};
    struct zp_err err = {0};
    if (zp_f32_gemm_t(zp_gemm_select(ZP_KF_F32, -1), &c, &err) != ZP_OK) {
        fprintf(stderr, "f32 GEMM: %s\n", err.msg);
        ZP_ASSERT(!"f32 GEMM of a loaded graph failed");
    }
}

int64_t zp_op_mm_scratch(const struct zp_graph *g, const struct zp_node *n)
{
    (void)g;
    if (n->op == ZP_OP_GEMM && n->mm_rows > 1)
        return (int64_t)zp_mm_ws(0, 1, n->mm_rows, n->mm_cols, n->mm_k, 0.f);
    if (n->op == ZP_OP_MATMUL)
        return (int64_t)zp_mm_ws(0, 0, n->mm_rows, n->mm_cols, n->mm_k, 0.f);
    return 0;
}

void zp_op_gemm_rows(const struct zp_node *n, const float *x, float *y, const struct zp_exec *e)
{
    const int64_t R = n->mm_rows, K = n->mm_k, O = n->mm_cols;
    /* y[R, O] = x[R, K] w^T, w stored [O, K] */
    zp_mm(0, 1, R, O, K, x, K, e->w, K, 0.f, y, O, e->scratch);
    if (e->b)
        for (int64_t r = 0; r < R; r++) {
            float *p = y + r * O;
            ZP_SIMD
            for (int64_t o = 0; o < O; o++)
                p[o] += e->b[o];
        }
    if (e->act)
        zp_clamp(y, R * O, e->lo, e->hi);
}

int64_t zp_op_matmul_count(const struct zp_node *n)
{
    int64_t c = 1;
    for (int d = 0; d < n->bnd; d++)
        c *= n->bdims[d];
    return c;
}

void zp_op_matmul(const struct zp_node *n, const float *a, const float *b, float *y, float *scratch)
{
    const int64_t M = n->mm_rows, K = n->mm_k, N = n->mm_cols, cnt = zp_op_matmul_count(n);
    int64_t idx[ZP_MAXDIM] = {0}, oa = 0, ob = 0;
    for (int64_t j = 0; j < cnt; j++) {
        zp_mm(0, 0, M, N, K, a + oa, K, b + ob, N, 0.f, y + j * M * N, N, scratch);
        zp_bcast_next(n, idx, &oa, &ob);
    }
}

int64_t zp_gather_row(const struct zp_graph *g, const struct zp_node *n, float v)
{
    const int64_t V = g->tensors[n->in[1]].dims[0];
    if (!(v == floorf(v)) || v < (float)-V || v >= (float)V)
        return -1;
    int64_t r = (int64_t)v;
    return r < 0 ? r + V : r;
}

void zp_op_gather(const struct zp_graph *g, const struct zp_node *n, const float *table, const float *x,
                  float *y)
{
    if (!table)
        table = g->tensors[n->in[1]].data;
    const int64_t D = n->mm_cols;
    for (int64_t i = 0; i < n->mm_rows; i++) {
        const int64_t r = zp_gather_row(g, n, x[i]);
        if (r < 0) /* zp_graph_run checks the ids of an int64 input before this */
            for (int64_t k = 0; k < D; k++)
                y[i * D + k] = NAN;
        else
            memcpy(y + i * D, table + r * D, (size_t)D * sizeof(float));
    }
}
