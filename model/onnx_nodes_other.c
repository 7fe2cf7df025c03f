/* ONNX import: BatchNormalization (folded where it can be), pooling, the shape
 * operators (Flatten, Reshape), Softmax, Constant, Cast, Relu, Identity /
 * Dropout and GlobalAveragePool. The dispatch is the op table, model/onnx_ops.c. */
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

enum zp_status ol_bn_node(struct nctx *c, struct zp_node *n, int arg)
{
    (void)arg;
    const int *consumers = c->consumers;
    static const char *const an[] = {"epsilon", "momentum", "training_mode", "spatial", NULL};
    static const int at[] = {AF, AF, AI, AI};
    enum zp_status st;
    int x, p[4];
    if ((st = ol_need_inputs(c, 5, 5)) || (st = ol_check_attrs(c, an, at)) || (st = ol_input_at(c, 0, &x)))
        return st;
    if (ol_attr_i(c, "training_mode", 0) != 0 || ol_attr_i(c, "spatial", 1) != 1)
        return NERR(c, ZP_EUNSUPPORTED, "training_mode=1 / spatial=0 not supported");
    if (c->np->n_output > 1)
        for (size_t i = 1; i < c->np->n_output; i++)
            if (c->np->output[i][0])
                return NERR(c, ZP_EUNSUPPORTED,
                            "training outputs (running mean/var) not supported");
    if ((st = ol_need_act(c, x, "X", 2, ZP_MAXDIM)))
        return st;
    int64_t C = ol_T(c, x)->dims[1];
    static const char *const pn[] = {"scale", "B", "mean", "var"};
    for (int i = 0; i < 4; i++) {
        if ((st = ol_input_at(c, (size_t)i + 1, &p[i])) || (st = ol_need_const(c, p[i], pn[i], 1)))
            return st;
        if (ol_T(c, p[i])->size != C)
            return NERR(c, ZP_EFORMAT, "%s '%s' has %lld values, expected %lld channels", pn[i],
                        ol_T(c, p[i])->name, (long long)ol_T(c, p[i])->size, (long long)C);
    }
    float eps = ol_attr_f(c, "epsilon", 1e-5f);
    /* training keeps the node: [eval shift | gamma | beta | mean | var] in one
     * allocation (n->shift, freed with the graph), the eval scale in n->scale */
    int keep = c->L->keep_bn;
    float *sc = malloc((size_t)C * sizeof(float));
    float *sh = malloc((size_t)C * (keep ? 5 : 1) * sizeof(float));
    if (!sc || !sh) {
        free(sc);
        free(sh);
        return NERR(c, ZP_ENOMEM, "out of memory");
    }
    int64_t bad = -1;
    int r = zp_bn_affine(ol_T(c, p[0])->data, ol_T(c, p[1])->data, ol_T(c, p[2])->data,
                         ol_T(c, p[3])->data, eps, C, sc, sh, &bad);
    if (r) {
        free(sc);
        free(sh);
        if (r == 1)
            return NERR(c, ZP_EINVAL, "var + epsilon <= 0 at channel %lld", (long long)bad);
        return NERR(c, ZP_EINVAL, "scale / sqrt(var + epsilon) or its shift overflows float at "
                    "channel %lld", (long long)bad);
    }
    struct zp_graph *g = c->L->g;
    int prod_node = ol_T(c, x)->producer;
    if (!keep && prod_node >= 0 && g->nodes[prod_node].op == ZP_OP_CONV && consumers[x] == 1) {
        int l = g->nodes[prod_node].layer;
        st = zp_bn_fold_conv(g, prod_node, sc, sh, &bad);
        free(sc);
        free(sh);
        if (st == ZP_ENOMEM)
            return NERR(c, ZP_ENOMEM, "out of memory");
        if (st)
            return NERR(c, ZP_EINVAL, "folding into Conv '%s' overflows float at output channel %lld",
                        g->layers[l].name ? g->layers[l].name : "?", (long long)bad);
        return ol_alias_output(c, x);
    }
    if ((st = ol_unary_common(c, n, keep ? ZP_OP_BN : ZP_OP_AFFINE, x))) {
        free(sc);
        free(sh);
        return st;
    }
    n->scale = sc;
    n->shift = sh;
    n->channels = C;
    n->inner = ol_T(c, x)->size / C;
    if (keep) {
        n->bn = sh + C;
        for (int i = 0; i < 4; i++)
            memcpy(n->bn + i * C, ol_T(c, p[i])->data, (size_t)C * sizeof(float));
        n->eps = eps;
        /* ONNX momentum weights the old value (default 0.9); ours the new batch */
        n->momentum = 1.f - ol_attr_f(c, "momentum", 0.9f);
    }
    return ZP_OK;
}

enum zp_status ol_pool_node(struct nctx *c, struct zp_node *n, int maxpool)
{
    static const char *const am[] = {"kernel_shape", "strides", "pads", "auto_pad", "ceil_mode",
                                     "dilations", "storage_order", NULL};
    static const int tm[] = {AIS, AIS, AIS, AS, AI, AIS, AI};
    static const char *const aa[] = {"kernel_shape", "strides", "pads", "auto_pad", "ceil_mode",
                                     "count_include_pad", NULL};
    static const int ta[] = {AIS, AIS, AIS, AS, AI, AI};
    enum zp_status st;
    int x;
    if ((st = ol_need_inputs(c, 1, 1)) ||
        (st = ol_check_attrs(c, maxpool ? am : aa, maxpool ? tm : ta)) || (st = ol_input_at(c, 0, &x)) ||
        (st = ol_need_act(c, x, "X", 4, 4)))
        return st;
    if (c->np->n_output > 1 && c->np->output[1][0])
        return NERR(c, ZP_EUNSUPPORTED, "the Indices output is not supported");
    if (ol_attr_i(c, "storage_order", 0) != 0)
        return NERR(c, ZP_EUNSUPPORTED, "storage_order=1 not supported");
    int64_t ks[2];
    int present;
    if ((st = ol_attr_ints(c, "kernel_shape", ks, 2, &present)))
        return st;
    if (!present)
        return NERR(c, ZP_EFORMAT, "kernel_shape (2 values) is required");
    n->kh = ks[0];
    n->kw = ks[1];
    n->ceil_mode = ol_attr_i(c, "ceil_mode", 0) != 0;
    n->count_include_pad = ol_attr_i(c, "count_include_pad", 0) != 0;
    const struct zp_tensor *X = ol_T(c, x);
    int64_t OH, OW;
    if ((st = ol_window_attrs(c, n, X->dims[2], X->dims[3], &OH, &OW)))
        return st;
    if (n->pads[0] >= n->kh || n->pads[2] >= n->kh || n->pads[1] >= n->kw || n->pads[3] >= n->kw)
        return NERR(c, ZP_EUNSUPPORTED, "padding at least as large as the kernel");
    int64_t dims[4] = {1, X->dims[1], OH, OW};
    if ((st = ol_add_output(c, n, 4, dims)))
        return st;
    n->op = maxpool ? ZP_OP_MAXPOOL : ZP_OP_AVGPOOL;
    n->in[0] = x;
    n->n_in = 1;
    return ZP_OK;
}

enum zp_status ol_reshape_to(struct nctx *c, struct zp_node *n, int x, int nd, const int64_t *d)
{
    enum zp_status st = ol_add_output(c, n, nd, d);
    if (st)
        return st;
    if (ol_T(c, n->out)->size != ol_T(c, x)->size)
        return NERR(c, ZP_EFORMAT, "reshape changes the element count");
    n->op = ZP_OP_COPY;
    n->alias = 1;
    n->in[0] = x;
    n->n_in = 1;
    return ZP_OK;
}

enum zp_status ol_flatten_node(struct nctx *c, struct zp_node *n, int arg)
{
    (void)arg;
    static const char *const an[] = {"axis", NULL};
    static const int at[] = {AI};
    enum zp_status st;
    int x;
    if ((st = ol_need_inputs(c, 1, 1)) || (st = ol_check_attrs(c, an, at)) || (st = ol_input_at(c, 0, &x)) ||
        (st = ol_need_act(c, x, "input", 1, ZP_MAXDIM)))
        return st;
    int64_t axis = ol_attr_i(c, "axis", 1);
    if (axis < 0)
        axis += ol_T(c, x)->ndim;
    if (axis != 1)
        return NERR(c, ZP_EUNSUPPORTED, "axis %lld would merge the batch dimension; only axis 1 "
                    "is supported", (long long)ol_attr_i(c, "axis", 1));
    int64_t d[2] = {1, ol_T(c, x)->size};
    return ol_reshape_to(c, n, x, 2, d);
}

/* Reshape: dimension 0 is the batch (0, -1 or the exported batch size); the other
 * dims may use 0 (copy) and one -1 (inferred) over the per-image elements. */
enum zp_status ol_reshape_node(struct nctx *c, struct zp_node *n, int arg)
{
    (void)arg;
    static const char *const an[] = {"allowzero", NULL};
    static const int at[] = {AI};
    enum zp_status st;
    int x, s;
    if ((st = ol_need_inputs(c, 2, 2)) || (st = ol_check_attrs(c, an, at)) || (st = ol_input_at(c, 0, &x)) ||
        (st = ol_input_at(c, 1, &s)) || (st = ol_need_act(c, x, "data", 1, ZP_MAXDIM)) ||
        (st = ol_need_const(c, s, "shape", 0)))
        return st;
    const struct zp_tensor *S = ol_T(c, s), *X = ol_T(c, x);
    if (S->ndim != 1 || S->size < 1 || S->size > ZP_MAXDIM)
        return NERR(c, ZP_EUNSUPPORTED, "shape '%s' must have 1..%d values", S->name, ZP_MAXDIM);
    int nd = (int)S->size, infer = -1;
    int64_t d[ZP_MAXDIM], known = 1;
    d[0] = 1;
    for (int i = 1; i < nd; i++) {
        int64_t v = S->idata[i];
        if (v == 0) {
            if (ol_attr_i(c, "allowzero", 0))
                return NERR(c, ZP_EUNSUPPORTED, "allowzero=1 with a zero dimension");
            if (i >= X->ndim)
                return NERR(c, ZP_EFORMAT, "shape value 0 at axis %d copies a missing input axis",
                            i);
            v = X->dims[i];
        }
        if (v == -1) {
            if (infer >= 0)
                return NERR(c, ZP_EFORMAT, "more than one -1 in shape");
            infer = i;
            continue;
        }
        if (v < 1 || v > ZP_MAX_ELEMS)
            return NERR(c, ZP_EFORMAT, "shape value %lld at axis %d not supported", (long long)v,
                        i);
        d[i] = v;
        known *= v;
        if (known > ZP_MAX_ELEMS)
            return NERR(c, ZP_EFORMAT, "shape too large");
    }
    if (infer >= 0) {
        if (X->size % known)
            return NERR(c, ZP_EFORMAT, "cannot reshape %lld values per image to shape '%s'",
                        (long long)X->size, S->name);
        d[infer] = X->size / known;
    }
    return ol_reshape_to(c, n, x, nd, d);
}

/* Softmax and LogSoftmax (op) */
enum zp_status ol_softmax_node(struct nctx *c, struct zp_node *n, int op)
{
    static const char *const an[] = {"axis", NULL};
    static const int at[] = {AI};
    enum zp_status st;
    int x;
    if ((st = ol_need_inputs(c, 1, 1)) || (st = ol_check_attrs(c, an, at)) || (st = ol_input_at(c, 0, &x)) ||
        (st = ol_need_act(c, x, "input", 2, ZP_MAXDIM)))
        return st;
    const struct zp_tensor *X = ol_T(c, x);
    int old = c->L->g->opset < 13;
    int64_t axis = ol_attr_i(c, "axis", old ? 1 : -1);
    if (axis < 0)
        axis += X->ndim;
    if (axis < 1 || axis >= X->ndim)
        return NERR(c, ZP_EUNSUPPORTED, "axis %lld not supported (the batch axis or out of range)",
                    (long long)ol_attr_i(c, "axis", 0));
    n->sm_outer = ol_prod(X->dims + 1, (int)axis - 1);
    if (old) { /* opset < 13: softmax over everything from axis on */
        n->sm_len = ol_prod(X->dims + axis, X->ndim - (int)axis);
        n->sm_inner = 1;
    } else {
        n->sm_len = X->dims[axis];
        n->sm_inner = ol_prod(X->dims + axis + 1, X->ndim - (int)axis - 1);
    }
    return ol_unary_common(c, n, (enum zp_op)op, x);
}

enum zp_status ol_constant_node(struct nctx *c, struct zp_node *n, int arg)
{
    (void)n;
    (void)arg;
    static const char *const an[] = {"value", NULL};
    static const int at[] = {AT};
    enum zp_status st;
    if ((st = ol_need_inputs(c, 0, 0)) || (st = ol_check_attrs(c, an, at)))
        return st;
    const Onnx__AttributeProto *a = ol_attr(c, "value");
    if (!a || !a->t)
        return NERR(c, ZP_EUNSUPPORTED, "only the 'value' tensor form is supported");
    int t;
    return ol_load_const(c->L, a->t, c->np->output[0], &t);
}

/* Cast to float32: the identity on float activations and constants (PyTorch casts
 * Clip's bounds); int64 constants are converted. Other targets are unsupported. */
enum zp_status ol_cast_node(struct nctx *c, struct zp_node *n, int arg)
{
    (void)n;
    (void)arg;
    static const char *const an[] = {"to", "saturate", NULL};
    static const int at[] = {AI, AI};
    enum zp_status st;
    int x;
    if ((st = ol_need_inputs(c, 1, 1)) || (st = ol_check_attrs(c, an, at)) || (st = ol_input_at(c, 0, &x)))
        return st;
    if (x < 0)
        return NERR(c, ZP_EFORMAT, "missing input");
    if (ol_attr_i(c, "to", 0) != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return NERR(c, ZP_EUNSUPPORTED, "cast to type %lld not supported (only float32)",
                    (long long)ol_attr_i(c, "to", 0));
    if (!ol_T(c, x)->is_const || ol_T(c, x)->data)
        return ol_alias_output(c, x);
    const char *on = c->np->output[0];
    if (ol_lookup(c->L, on) >= 0)
        return NERR(c, ZP_EFORMAT, "output '%s' is already defined", on);
    int t = ol_new_tensor(c->L, on);
    if (t < 0)
        return NERR(c, ZP_ENOMEM, "out of memory");
    struct zp_tensor *o = ol_T(c, t), *X = ol_T(c, x);
    o->is_const = 1;
    o->ndim = X->ndim;
    memcpy(o->dims, X->dims, sizeof o->dims);
    o->size = X->size;
    o->data = zp_alloc((size_t)(X->size ? X->size : 1) * sizeof(float));
    if (!o->data)
        return NERR(c, ZP_ENOMEM, "out of memory");
    for (int64_t i = 0; i < X->size; i++)
        o->data[i] = (float)X->idata[i];
    return ZP_OK;
}

/* Relu, and Identity / Dropout (inference: the identity; Dropout's mask output
 * must be unused). */
enum zp_status ol_relu_node(struct nctx *c, struct zp_node *n, int arg)
{
    static const char *const none[] = {NULL};
    (void)arg;
    enum zp_status st;
    int x;
    if ((st = ol_need_inputs(c, 1, 1)) || (st = ol_check_attrs(c, none, NULL)) ||
        (st = ol_input_at(c, 0, &x)))
        return st;
    n->lo = 0.f;
    n->hi = FLT_MAX;
    return ol_unary_common(c, n, ZP_OP_RELU, x);
}

enum zp_status ol_identity_node(struct nctx *c, struct zp_node *n, int dropout)
{
    static const char *const none[] = {NULL};
    static const char *const an[] = {"seed", "ratio", "is_test", NULL};
    static const int at[] = {AI, AF, AI};
    (void)n;
    enum zp_status st;
    int x;
    if ((st = ol_need_inputs(c, 1, dropout ? 3 : 1)) ||
        (st = ol_check_attrs(c, dropout ? an : none, dropout ? at : NULL)) ||
        (st = ol_input_at(c, 0, &x)))
        return st;
    if (x < 0)
        return NERR(c, ZP_EFORMAT, "missing input");
    return ol_alias_output(c, x);
}

enum zp_status ol_gap_node(struct nctx *c, struct zp_node *n, int arg)
{
    static const char *const none[] = {NULL};
    (void)arg;
    enum zp_status st;
    int x;
    if ((st = ol_need_inputs(c, 1, 1)) || (st = ol_check_attrs(c, none, NULL)) ||
        (st = ol_input_at(c, 0, &x)) || (st = ol_need_act(c, x, "X", 3, ZP_MAXDIM)))
        return st;
    int64_t d[ZP_MAXDIM];
    for (int i = 0; i < ol_T(c, x)->ndim; i++)
        d[i] = i < 2 ? ol_T(c, x)->dims[i] : 1;
    if ((st = ol_add_output(c, n, ol_T(c, x)->ndim, d)))
        return st;
    n->op = ZP_OP_GAP;
    n->in[0] = x;
    n->n_in = 1;
    n->channels = ol_T(c, x)->dims[1];
    n->inner = ol_T(c, x)->size / n->channels;
    return ZP_OK;
}
