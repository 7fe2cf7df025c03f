/* ONNX import: the operators that become layers with weights (Conv, Gemm,
 * MatMul) and the elementwise ones (Add, Mul, Relu, Clip, ...). */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#include "common/file.h"
#include "common/mem.h"
#include "model/onnx_load_internal.h"

static enum zp_status add_layer(struct nctx *c, struct zp_node *n, float *w, float *b)
{
    struct zp_graph *g = c->L->g;
    int i = g->n_layers;
    struct zp_layer_info *li = realloc(g->layers, (size_t)(i + 1) * sizeof *li);
    if (li)
        g->layers = li;
    int *ln = realloc(g->layer_node, (size_t)(i + 1) * sizeof *ln);
    if (ln)
        g->layer_node = ln;
    float **lw = realloc(g->layer_w, (size_t)(i + 1) * sizeof *lw);
    if (lw)
        g->layer_w = lw;
    float **lb = realloc(g->layer_b, (size_t)(i + 1) * sizeof *lb);
    if (lb)
        g->layer_b = lb;
    if (!li || !ln || !lw || !lb) {
        zp_free(w);
        zp_free(b);
        return NERR(c, ZP_ENOMEM, "out of memory");
    }
    memset(&g->layers[i], 0, sizeof g->layers[i]);
    g->layer_node[i] = g->n_nodes;
    g->layer_w[i] = w;
    g->layer_b[i] = b;
    g->n_layers++;
    n->layer = i;
    return ZP_OK;
}

enum zp_status ol_conv_node(struct nctx *c, struct zp_node *n, int arg)
{
    (void)arg;
    static const char *const an[] = {"group", "strides", "dilations", "pads", "auto_pad",
                                     "kernel_shape", NULL};
    static const int at[] = {AI, AIS, AIS, AIS, AS, AIS};
    enum zp_status st;
    int x, w, b;
    if ((st = ol_need_inputs(c, 2, 3)) || (st = ol_check_attrs(c, an, at)) || (st = ol_input_at(c, 0, &x)) ||
        (st = ol_input_at(c, 1, &w)) || (st = ol_input_at(c, 2, &b)))
        return st;
    if ((st = ol_need_act(c, x, "X", 4, 4)) || (st = ol_need_const(c, w, "W", 1)))
        return st;
    const struct zp_tensor *X = ol_T(c, x), *Wt = ol_T(c, w);
    int64_t C = X->dims[1], H = X->dims[2], Wd = X->dims[3];
    if (Wt->ndim != 4)
        return NERR(c, ZP_EUNSUPPORTED, "weight '%s' has rank %d; only 2-D convolution (rank 4) "
                    "is supported", Wt->name, Wt->ndim);
    int64_t O = Wt->dims[0];
    n->group = ol_attr_i(c, "group", 1);
    if (n->group < 1 || C % n->group || O < 1 || O % n->group || Wt->dims[1] * n->group != C)
        return NERR(c, ZP_EFORMAT, "weight '%s' [%lld, %lld, ...] does not match %lld input "
                    "channels with group %lld", Wt->name, (long long)O, (long long)Wt->dims[1],
                    (long long)C, (long long)n->group);
    n->kh = Wt->dims[2];
    n->kw = Wt->dims[3];
    int64_t ks[2];
    int present;
    if ((st = ol_attr_ints(c, "kernel_shape", ks, 2, &present)))
        return st;
    if (present && (ks[0] != n->kh || ks[1] != n->kw))
        return NERR(c, ZP_EFORMAT, "kernel_shape [%lld, %lld] disagrees with weight '%s'",
                    (long long)ks[0], (long long)ks[1], Wt->name);
    if (b >= 0) {
        if ((st = ol_need_const(c, b, "B", 1)))
            return st;
        if (ol_T(c, b)->size != O)
            return NERR(c, ZP_EFORMAT, "bias '%s' has %lld values, expected %lld", ol_T(c, b)->name,
                        (long long)ol_T(c, b)->size, (long long)O);
    }
    int64_t OH, OW;
    if ((st = ol_window_attrs(c, n, H, Wd, &OH, &OW)))
        return st;
    int64_t dims[4] = {1, O, OH, OW};
    if ((st = ol_add_output(c, n, 4, dims)))
        return st;
    n->op = ZP_OP_CONV;
    n->in[0] = x;
    n->n_in = 1;
    float *wc = zp_alloc((size_t)Wt->size * sizeof(float));
    float *bc = b >= 0 ? zp_alloc((size_t)O * sizeof(float)) : NULL;
    if (!wc || (b >= 0 && !bc)) {
        zp_free(wc);
        zp_free(bc);
        return NERR(c, ZP_ENOMEM, "out of memory");
    }
    memcpy(wc, Wt->data, (size_t)Wt->size * sizeof(float));
    if (bc)
        memcpy(bc, ol_T(c, b)->data, (size_t)O * sizeof(float));
    return add_layer(c, n, wc, bc);
}

/* Gemm (A activation [N, K], B initializer) and MatMul with an initializer B. The
 * weight is stored [O, K]; alpha and beta are folded into weight and bias. */
enum zp_status ol_gemm_node(struct nctx *c, struct zp_node *n, int matmul)
{
    static const char *const an[] = {"alpha", "beta", "transA", "transB", NULL};
    static const int at[] = {AF, AF, AI, AI};
    static const char *const none[] = {NULL};
    enum zp_status st;
    int a, bw, cb = -1;
    if ((st = ol_need_inputs(c, 2, matmul ? 2 : 3)) ||
        (st = ol_check_attrs(c, matmul ? none : an, at)) || (st = ol_input_at(c, 0, &a)) ||
        (st = ol_input_at(c, 1, &bw)) || (!matmul && (st = ol_input_at(c, 2, &cb))))
        return st;
    if (a >= 0 && bw >= 0 && !ol_T(c, a)->is_const && !ol_T(c, bw)->is_const) {
        if (matmul)
            return ol_matmul_acts(c, n, a, bw);
        return NERR(c, ZP_EUNSUPPORTED,
                    "both inputs are activations; the weight must be an initializer");
    }
    /* MatMul: a rank >= 3 input is rows of K ([B, ..., K] x [K, N], numpy's
     * matmul with the weight broadcast over the leading dims) */
    if ((st = ol_need_act(c, a, "A", 2, matmul ? ZP_MAXDIM : 2)) ||
        (st = ol_need_const(c, bw, "B", 1)))
        return st;
    float alpha = matmul ? 1.f : ol_attr_f(c, "alpha", 1.f),
          beta = matmul ? 1.f : ol_attr_f(c, "beta", 1.f);
    int transA = matmul ? 0 : (int)ol_attr_i(c, "transA", 0),
        transB = matmul ? 0 : (int)ol_attr_i(c, "transB", 0);
    if (transA)
        return NERR(c, ZP_EUNSUPPORTED, "transA=1 (a transposed activation) not supported");
    const struct zp_tensor *B = ol_T(c, bw), *A = ol_T(c, a);
    int64_t K = A->dims[A->ndim - 1];
    if (B->ndim != 2)
        return NERR(c, ZP_EUNSUPPORTED, "weight '%s' has rank %d, expected 2", B->name, B->ndim);
    int64_t bk = transB ? B->dims[1] : B->dims[0], O = transB ? B->dims[0] : B->dims[1];
    if (bk != K || O < 1)
        return NERR(c, ZP_EFORMAT, "weight '%s' [%lld, %lld] does not match %lld input features "
                    "(transB=%d)", B->name, (long long)B->dims[0], (long long)B->dims[1],
                    (long long)K, transB);
    if (cb >= 0) {
        if ((st = ol_need_const(c, cb, "C", 1)))
            return st;
        const struct zp_tensor *Ct = ol_T(c, cb);
        int okshape = Ct->size == 1 ||
                      (Ct->size == O && (Ct->ndim == 1 || (Ct->ndim == 2 && Ct->dims[0] == 1)));
        if (!okshape)
            return NERR(c, ZP_EUNSUPPORTED, "C '%s' must broadcast to [%lld] (a per-output bias)",
                        Ct->name, (long long)O);
    }
    int64_t dims[ZP_MAXDIM];
    memcpy(dims, A->dims, sizeof dims);
    dims[A->ndim - 1] = O;
    if ((st = ol_add_output(c, n, A->ndim, dims)))
        return st;
    n->op = ZP_OP_GEMM;
    n->mm_rows = A->size / K;
    n->mm_k = K;
    n->mm_cols = O;
    n->in[0] = a;
    n->n_in = 1;
    float *w = zp_alloc((size_t)(O * K) * sizeof(float));
    float *b = cb >= 0 ? zp_alloc((size_t)O * sizeof(float)) : NULL;
    if (!w || (cb >= 0 && !b)) {
        zp_free(w);
        zp_free(b);
        return NERR(c, ZP_ENOMEM, "out of memory");
    }
    for (int64_t o = 0; o < O; o++)
        for (int64_t k = 0; k < K; k++)
            w[o * K + k] = alpha * (transB ? B->data[o * K + k] : B->data[k * O + o]);
    if (b) {
        const struct zp_tensor *Ct = ol_T(c, cb);
        for (int64_t o = 0; o < O; o++)
            b[o] = beta * Ct->data[Ct->size == 1 ? 0 : o];
    }
    return add_layer(c, n, w, b);
}

/* Numpy broadcasting of two inputs over the per-image dims; a constant operand
 * may not extend the batch dimension. Max / Min take any number of inputs: one
 * is the identity, more than two a chain of two-input nodes (n and the ones
 * after it), intermediate results named "<output>#<op><j>". */
static enum zp_status binary_pair(struct nctx *c, struct zp_node *n, int op, int t0, int t1,
                                  const char *on, size_t slot);

enum zp_status ol_binary_node(struct nctx *c, struct zp_node *n, int op)
{
    static const char *const none[] = {NULL};
    const int variadic = op == ZP_OP_MAX || op == ZP_OP_MIN;
    const size_t k = c->np->n_input;
    enum zp_status st;
    int t0;
    if ((st = ol_need_inputs(c, variadic ? 1 : 2, variadic && k > 2 ? k : 2)) ||
        (st = ol_check_attrs(c, none, NULL)) || (st = ol_input_at(c, 0, &t0)))
        return st;
    if (t0 < 0)
        return NERR(c, ZP_EFORMAT, "missing input");
    if (k == 1) {
        if ((st = ol_need_act(c, t0, "input", 1, ZP_MAXDIM)))
            return st;
        return ol_alias_output(c, t0);
    }
    return ol_chain(c, n, t0, binary_pair, op, c->op);
}

static enum zp_status binary_pair(struct nctx *c, struct zp_node *n, int op, int t0, int t1,
                                  const char *on, size_t slot)
{
    enum zp_status st;
    int t[2] = {t0, t1};
    if (ol_T(c, t[0])->is_const && ol_T(c, t[1])->is_const)
        return NERR(c, ZP_EUNSUPPORTED,
                    "both inputs are constants (constant folding not supported)");
    for (int k = 0; k < 2; k++) {
        if (ol_T(c, t[k])->is_const && !ol_T(c, t[k])->data)
            return NERR(c, ZP_EUNSUPPORTED, "input '%s' must be float32", ol_T(c, t[k])->name);
        if (ol_T(c, t[k])->is_const && ol_T(c, t[k])->size == 0)
            return NERR(c, ZP_EUNSUPPORTED, "constant '%s' is empty", ol_T(c, t[k])->name);
    }
    if (!ol_T(c, t[0])->is_const && !ol_T(c, t[1])->is_const && ol_T(c, t[0])->ndim != ol_T(c, t[1])->ndim)
        return NERR(c, ZP_EUNSUPPORTED, "activations of different ranks (%d and %d)",
                    ol_T(c, t[0])->ndim, ol_T(c, t[1])->ndim);
    int nd = ol_T(c, t[0])->ndim > ol_T(c, t[1])->ndim ? ol_T(c, t[0])->ndim : ol_T(c, t[1])->ndim;
    int act = ol_T(c, t[0])->is_const ? 1 : 0;
    if (ol_T(c, t[act])->ndim != nd)
        return NERR(c, ZP_EUNSUPPORTED, "constant '%s' has a higher rank than the activation",
                    ol_T(c, t[1 - act])->name);
    int64_t od[ZP_MAXDIM], dk[2][ZP_MAXDIM];
    for (int k = 0; k < 2; k++) {
        const struct zp_tensor *X = ol_T(c, t[k]);
        int off = nd - X->ndim;
        for (int i = 0; i < nd; i++)
            dk[k][i] = i < off ? 1 : X->dims[i - off];
    }
    for (int i = 0; i < nd; i++) {
        if (dk[0][i] != dk[1][i] && dk[0][i] != 1 && dk[1][i] != 1)
            return NERR(c, ZP_EFORMAT, "shapes do not broadcast at axis %d (%lld vs %lld)", i,
                        (long long)dk[0][i], (long long)dk[1][i]);
        od[i] = dk[0][i] > dk[1][i] ? dk[0][i] : dk[1][i];
    }
    if (od[0] != 1)
        return NERR(c, ZP_EUNSUPPORTED, "a constant with a batch dimension > 1 is not supported");
    od[0] = 1;
    if ((st = ol_add_named_output(c, n, on, slot, nd, od)))
        return st;
    n->op = (enum zp_op)op;
    n->in[0] = t[0];
    n->in[1] = t[1];
    n->n_in = 2;
    /* per-image strides: 0 along broadcast axes */
    n->bnd = nd - 1;
    for (int k = 0; k < 2; k++) {
        int64_t s = 1;
        for (int i = nd - 1; i >= 1; i--) {
            n->bstr[k][i - 1] = dk[k][i] == 1 ? 0 : s;
            s *= dk[k][i];
        }
    }
    for (int i = 1; i < nd; i++)
        n->bdims[i - 1] = od[i];
    return ZP_OK;
}

static enum zp_status scalar_input(struct nctx *c, size_t i, float *v)
{
    int t;
    enum zp_status st = ol_input_at(c, i, &t);
    if (st || t < 0)
        return st;
    if ((st = ol_need_const(c, t, i == 1 ? "min" : "max", 1)))
        return st;
    if (ol_T(c, t)->size != 1)
        return NERR(c, ZP_EFORMAT, "'%s' must be a scalar", ol_T(c, t)->name);
    *v = ol_T(c, t)->data[0];
    return ZP_OK;
}

enum zp_status ol_unary_common(struct nctx *c, struct zp_node *n, enum zp_op op, int x)
{
    enum zp_status st = ol_need_act(c, x, "X", 1, ZP_MAXDIM);
    if (st || (st = ol_add_output(c, n, ol_T(c, x)->ndim, ol_T(c, x)->dims)))
        return st;
    n->op = op;
    n->in[0] = x;
    n->n_in = 1;
    return ZP_OK;
}

enum zp_status ol_clip_node(struct nctx *c, struct zp_node *n, int arg)
{
    (void)arg;
    static const char *const an[] = {"min", "max", NULL};
    static const int at[] = {AF, AF};
    enum zp_status st;
    int x;
    if ((st = ol_need_inputs(c, 1, 3)) || (st = ol_check_attrs(c, an, at)) || (st = ol_input_at(c, 0, &x)))
        return st;
    n->lo = -FLT_MAX;
    n->hi = FLT_MAX;
    if (c->np->n_attribute) {
        if (c->L->g->opset >= 11)
            return NERR(c, ZP_EFORMAT,
                        "min/max attributes are opset < 11; this model is opset %lld",
                        (long long)c->L->g->opset);
        n->lo = ol_attr_f(c, "min", -FLT_MAX);
        n->hi = ol_attr_f(c, "max", FLT_MAX);
    }
    if ((st = scalar_input(c, 1, &n->lo)) || (st = scalar_input(c, 2, &n->hi)))
        return st;
    if (isnan(n->lo) || isnan(n->hi))
        return NERR(c, ZP_EINVAL, "min/max is NaN");
    return ol_unary_common(c, n, ZP_OP_CLIP, x);
}

/* BatchNormalization: folded into the producing Conv when that Conv's output has
 * no other reader; otherwise a per-channel affine op. */
