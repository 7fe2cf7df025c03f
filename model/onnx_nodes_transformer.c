/* ONNX import of the operators a transformer adds: Gather from a constant table
 * (the token embedding, indices an activation such as the int64 token input),
 * MatMul of two activations with numpy broadcasting of the batch dims (attention:
 * Q K^T and P V) and LayerNormalization. The kernels are model/ops_matmul.c and
 * model/ops_norm.c. */
#include <stdio.h>
#include <stdlib.h>
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

/* LayerNormalization over the axes from `axis` to the last (not the batch);
 * Scale and B constants of that many values (or one, broadcast). Only the
 * output Y: the optional Mean / InvStdDev outputs are training by-products no
 * exporter feeds to inference. */
static enum zp_status ln_const(struct nctx *c, size_t i, const char *what, int64_t L, float dflt,
                               float **out)
{
    int t;
    enum zp_status st = ol_input_at(c, i, &t);
    if (st)
        return st;
    float *v = malloc((size_t)L * sizeof *v);
    if (!v)
        return NERR(c, ZP_ENOMEM, "out of memory");
    *out = v;
    if (t < 0) {
        for (int64_t k = 0; k < L; k++)
            v[k] = dflt;
        return ZP_OK;
    }
    if ((st = ol_need_const(c, t, what, 1)))
        return st;
    const struct zp_tensor *T = ol_T(c, t);
    if (T->size != L && T->size != 1)
        return NERR(c, ZP_EUNSUPPORTED, "%s '%s' has %lld values; expected %lld (the normalized "
                    "axes) or 1", what, T->name, (long long)T->size, (long long)L);
    for (int64_t k = 0; k < L; k++)
        v[k] = T->data[T->size == 1 ? 0 : k];
    return ZP_OK;
}

enum zp_status ol_layernorm_node(struct nctx *c, struct zp_node *n, int arg)
{
    (void)arg;
    static const char *const an[] = {"axis", "epsilon", "stash_type", NULL};
    static const int at[] = {AI, AF, AI};
    enum zp_status st;
    int x;
    if ((st = ol_need_inputs(c, 2, 3)) || (st = ol_check_attrs(c, an, at)) ||
        (st = ol_input_at(c, 0, &x)) || (st = ol_need_act(c, x, "X", 2, ZP_MAXDIM)))
        return st;
    for (size_t k = 1; k < c->np->n_output; k++)
        if (c->np->output[k][0])
            return NERR(c, ZP_EUNSUPPORTED, "output %zu ('%s'): only Y, not Mean / InvStdDev",
                        k, c->np->output[k]);
    const struct zp_tensor *X = ol_T(c, x);
    int64_t axis = ol_attr_i(c, "axis", -1);
    axis = axis < 0 ? axis + X->ndim : axis;
    if (axis < 1 || axis >= X->ndim)
        return NERR(c, ZP_EUNSUPPORTED, "axis %lld: the normalized axes must be inside the "
                    "per-image ones (1..%d)", (long long)ol_attr_i(c, "axis", -1), X->ndim - 1);
    int64_t L = 1;
    for (int k = (int)axis; k < X->ndim; k++)
        L *= X->dims[k];
    n->eps = ol_attr_f(c, "epsilon", 1e-5f);
    if (!(n->eps >= 0.f))
        return NERR(c, ZP_EFORMAT, "epsilon %g is negative", (double)n->eps);
    /* the node owns scale and shift (zp_graph_free frees them) once it loads */
    if ((st = ln_const(c, 1, "Scale", L, 1.f, &n->scale)) ||
        (st = ln_const(c, 2, "B", L, 0.f, &n->shift)) ||
        (st = ol_unary_common(c, n, ZP_OP_LAYERNORM, x))) {
        free(n->scale); /* a failed node is not kept: nothing else frees them */
        free(n->shift);
        n->scale = n->shift = NULL;
        return st;
    }
    n->sm_len = L;
    n->sm_outer = X->size / L;
    return ZP_OK;
}
