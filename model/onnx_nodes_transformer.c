/* ONNX import of the operators a transformer adds: Gather from a constant table
 * (the token embedding, indices an activation such as the int64 token input) and
 * MatMul of two activations with numpy broadcasting of the batch dims (attention:
 * Q K^T and P V). The kernels are model/ops_matmul.c. */
#include <stdio.h>
#include <string.h>

#include "model/onnx_load_internal.h"

enum zp_status ol_gather_node(struct nctx *c, struct zp_node *n, int arg)
{
    (void)arg;
    static const char *const an[] = {"axis", NULL};
    static const int at[] = {AI};
    enum zp_status st;
    int d, x;
    if ((st = ol_need_inputs(c, 2, 2)) || (st = ol_check_attrs(c, an, at)) ||
        (st = ol_input_at(c, 0, &d)) || (st = ol_input_at(c, 1, &x)))
        return st;
    if (d >= 0 && !ol_T(c, d)->is_const)
        return NERR(c, ZP_EUNSUPPORTED, "data '%s' is an activation; only a lookup in a "
                    "constant table (an embedding) is supported", ol_T(c, d)->name);
    if ((st = ol_need_const(c, d, "data", 1)) || (st = ol_need_act(c, x, "indices", 1, ZP_MAXDIM)))
        return st;
    const struct zp_tensor *D = ol_T(c, d), *X = ol_T(c, x);
    int64_t axis = ol_attr_i(c, "axis", 0);
    if (D->ndim < 1 || (axis != 0 && axis != -D->ndim))
        return NERR(c, ZP_EUNSUPPORTED, "axis %lld of data '%s' (rank %d): only axis 0 (rows of "
                    "the table) is supported", (long long)axis, D->name, D->ndim);
    if (D->dims[0] < 1 || D->size == 0)
        return NERR(c, ZP_EFORMAT, "data '%s' is empty", D->name);
    int nd = X->ndim + D->ndim - 1;
    if (nd > ZP_MAXDIM)
        return NERR(c, ZP_EUNSUPPORTED, "output rank %d, at most %d supported", nd, ZP_MAXDIM);
    int64_t dims[ZP_MAXDIM];
    memcpy(dims, X->dims, (size_t)X->ndim * sizeof *dims);
    for (int i = 1; i < D->ndim; i++)
        dims[X->ndim + i - 1] = D->dims[i];
    if ((st = ol_add_output(c, n, nd, dims)))
        return st;
    n->op = ZP_OP_GATHER;
    n->in[0] = x;
    n->in[1] = d;
    n->n_in = 2;
    n->mm_rows = X->size;
    n->mm_cols = D->size / D->dims[0];
    return ZP_OK;
}

enum zp_status ol_matmul_acts(struct nctx *c, struct zp_node *n, int a, int b)
{
    const struct zp_tensor *A = ol_T(c, a), *B = ol_T(c, b);
    if (A->ndim != B->ndim)
        return NERR(c, ZP_EUNSUPPORTED, "activations of different ranks (%d and %d)", A->ndim,
                    B->ndim);
    const int nd = A->ndim;
    if (nd < 3)
        return NERR(c, ZP_EUNSUPPORTED, "two activations of rank %d: each needs a matrix per "
                    "image (rank >= 3, batch first)", nd);
    const int64_t M = A->dims[nd - 2], K = A->dims[nd - 1], N = B->dims[nd - 1];
    if (B->dims[nd - 2] != K)
        return NERR(c, ZP_EFORMAT, "inner dimensions differ: '%s' [..., %lld, %lld] x '%s' "
                    "[..., %lld, %lld]", A->name, (long long)M, (long long)K, B->name,
                    (long long)B->dims[nd - 2], (long long)N);
    int64_t od[ZP_MAXDIM];
    od[0] = 1;
    for (int i = 1; i < nd - 2; i++) {
        const int64_t da = A->dims[i], db = B->dims[i];
        if (da != db && da != 1 && db != 1)
            return NERR(c, ZP_EFORMAT, "batch dims do not broadcast at axis %d (%lld vs %lld)", i,
                        (long long)da, (long long)db);
        od[i] = da > db ? da : db;
    }
    od[nd - 2] = M;
    od[nd - 1] = N;
    enum zp_status st = ol_add_output(c, n, nd, od);
    if (st)
        return st;
    n->op = ZP_OP_MATMUL;
    n->in[0] = a;
    n->in[1] = b;
    n->n_in = 2;
    n->mm_rows = M;
    n->mm_k = K;
    n->mm_cols = N;
    /* the batch dims after the image's: strides in floats, 0 along broadcast ones */
    n->bnd = nd - 3;
    int64_t sa = M * K, sb = K * N;
    for (int i = nd - 3; i >= 1; i--) {
        n->bdims[i - 1] = od[i];
        n->bstr[0][i - 1] = A->dims[i] == 1 ? 0 : sa;
        n->bstr[1][i - 1] = B->dims[i] == 1 ? 0 : sb;
        sa *= A->dims[i];
        sb *= B->dims[i];
    }
    return ZP_OK;
}
