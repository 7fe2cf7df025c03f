/* Load-time folding of the shape arithmetic exporters write around static
 * shapes: Shape (of any tensor: every shape is fixed at load), ConstantOfShape
 * and Range on constants, and Gather, Concat, Unsqueeze, Squeeze, Slice, Cast,
 * Add, Sub, Mul, Div when every input is a constant (the Shape -> Gather ->
 * Unsqueeze -> Concat -> Reshape chains of a ViT or BERT export). The result is
 * a constant tensor, so the nodes reading it see an initializer.
 *
 * The runtime runs one image at a time, so the batch dimension of an activation
 * is 1 inside the graph: Shape reports 1 there, which is the batch each image
 * is computed with. Values go through double (int64 shapes are far below 2^53). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/mem.h"
#include "model/onnx_load_internal.h"

#define F_INT ONNX__TENSOR_PROTO__DATA_TYPE__INT64
#define F_FLOAT ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT

static double get(const struct zp_tensor *T, int64_t i)
{
    return T->data ? (double)T->data[i] : (double)T->idata[i];
}

/* A new constant for output k: int64 (type F_INT) or float, dims nd. */
static enum zp_status new_const(struct nctx *c, size_t k, int nd, const int64_t *dims, int type,
                                struct zp_tensor **out)
{
    const char *on = k < c->np->n_output ? c->np->output[k] : "";
    if (!on[0])
        return NERR(c, ZP_EFORMAT, "output %zu has no name", k);
    if (ol_lookup(c->L, on) >= 0)
        return NERR(c, ZP_EFORMAT, "output '%s' is already defined", on);
    int64_t size;
    if (nd < 0 || nd > ZP_MAXDIM || !ol_dims_ok(dims, nd, 0, &size))
        return NERR(c, ZP_EUNSUPPORTED, "folded constant '%s': rank %d or size out of range", on,
                    nd);
    int t = ol_new_tensor(c->L, on);
    if (t < 0)
        return NERR(c, ZP_ENOMEM, "out of memory");
    struct zp_tensor *o = ol_T(c, t);
    o->is_const = 1;
    o->ndim = nd;
    memcpy(o->dims, dims, (size_t)nd * sizeof *dims);
    o->size = size;
    const size_t n = (size_t)(size ? size : 1);
    if (type == F_INT)
        o->idata = zp_calloc(n, sizeof *o->idata);
    else
        o->data = zp_calloc(n, sizeof *o->data);
    if (!o->idata && !o->data)
        return NERR(c, ZP_ENOMEM, "out of memory");
    *out = o;
    return ZP_OK;
}

static void put(struct zp_tensor *T, int64_t i, double v)
{
    if (T->data)
        T->data[i] = (float)v;
    else
        T->idata[i] = (int64_t)v;
}

static int type_of(const struct zp_tensor *T) { return T->data ? F_FLOAT : F_INT; }

static enum zp_status fold_shape(struct nctx *c, int x)
{
    const struct zp_tensor *X = ol_T(c, x);
    int64_t nd = X->ndim, start = ol_attr_i(c, "start", 0), end = ol_attr_i(c, "end", nd);
    start = start < 0 ? start + nd : start;
    end = end < 0 ? end + nd : end;
    start = start < 0 ? 0 : start > nd ? nd : start;
    end = end < start ? start : end > nd ? nd : end;
    int64_t len = end - start;
    struct zp_tensor *o;
    enum zp_status st = new_const(c, 0, 1, &len, F_INT, &o);
    for (int64_t i = 0; !st && i < len; i++)
        o->idata[i] = X->is_const || start + i > 0 ? X->dims[start + i] : 1;
    return st;
}

static enum zp_status fold_constant_of_shape(struct nctx *c, const struct zp_tensor *S)
{
    const Onnx__AttributeProto *a = ol_attr(c, "value");
    const Onnx__TensorProto *v = a ? a->t : NULL;
    int type = F_FLOAT;
    double val = 0;
    if (v) {
        type = v->data_type;
        int raw = v->has_raw_data && v->raw_data.len > 0;
        if (type == F_FLOAT && (raw ? v->raw_data.len == 4 : v->n_float_data == 1)) {
            float f;
            memcpy(&f, raw ? (const void *)v->raw_data.data : (const void *)v->float_data, 4);
            val = f;
        } else if (type == F_INT && (raw ? v->raw_data.len == 8 : v->n_int64_data == 1)) {
            int64_t i;
            memcpy(&i, raw ? (const void *)v->raw_data.data : (const void *)v->int64_data, 8);
            val = (double)i;
        } else {
            return NERR(c, ZP_EUNSUPPORTED, "value must be one float32 or int64");
        }
    }
    if (!S->idata || S->ndim != 1 || S->size > ZP_MAXDIM)
        return NERR(c, ZP_EUNSUPPORTED, "input '%s' must be a 1-D int64 shape", S->name);
    struct zp_tensor *o;
    enum zp_status st = new_const(c, 0, (int)S->size, S->idata, type, &o);
    for (int64_t i = 0; !st && i < o->size; i++)
        put(o, i, val);
    return st;
}

static enum zp_status fold_range(struct nctx *c, const struct zp_tensor *const *in)
{
    for (int k = 0; k < 3; k++)
        if (in[k]->size != 1)
            return NERR(c, ZP_EFORMAT, "'%s' must be a scalar", in[k]->name);
    const double a = get(in[0], 0), b = get(in[1], 0), d = get(in[2], 0);
    if (d == 0)
        return NERR(c, ZP_EFORMAT, "delta is 0");
    double cnt = ceil((b - a) / d);
    int64_t n = cnt > 0 ? (int64_t)cnt : 0;
    struct zp_tensor *o;
    enum zp_status st = new_const(c, 0, 1, &n, type_of(in[0]), &o);
    for (int64_t i = 0; !st && i < n; i++)
        put(o, i, a + (double)i * d);
    return st;
}

/* Axis a of rank r, negative from the end; -1 when out of range. */
static int axis_of(int64_t a, int r) { return a < -r || a >= r ? -1 : (int)(a < 0 ? a + r : a); }

static enum zp_status fold_gather(struct nctx *c, const struct zp_tensor *D, const struct zp_tensor *I)
{
    int ax = axis_of(ol_attr_i(c, "axis", 0), D->ndim);
    if (ax < 0 || !I->idata)
        return NERR(c, ZP_EFORMAT, "axis out of range or indices not int64");
    int64_t dims[2 * ZP_MAXDIM], outer = 1, inner = 1;
    int nd = 0;
    for (int k = 0; k < ax; k++)
        outer *= (dims[nd++] = D->dims[k]);
    for (int k = 0; k < I->ndim; k++)
        dims[nd++] = I->dims[k];
    for (int k = ax + 1; k < D->ndim; k++)
        inner *= (dims[nd++] = D->dims[k]);
    struct zp_tensor *o;
    enum zp_status st = new_const(c, 0, nd, dims, type_of(D), &o);
    const int64_t len = D->dims[ax];
    for (int64_t p = 0; !st && p < outer; p++)
        for (int64_t j = 0; j < I->size; j++) {
            int64_t r = I->idata[j] < 0 ? I->idata[j] + len : I->idata[j];
            if (r < 0 || r >= len)
                return NERR(c, ZP_EFORMAT, "index %lld outside axis %d of size %lld",
                            (long long)I->idata[j], ax, (long long)len);
            for (int64_t q = 0; q < inner; q++)
                put(o, (p * I->size + j) * inner + q, get(D, (p * len + r) * inner + q));
        }
    return st;
}

static enum zp_status fold_concat(struct nctx *c, const struct zp_tensor *const *in, size_t k)
{
    const struct zp_tensor *A = in[0];
    int ax = axis_of(ol_attr_i(c, "axis", 0), A->ndim);
    if (ax < 0)
        return NERR(c, ZP_EFORMAT, "axis out of range");
    int64_t dims[ZP_MAXDIM], outer = 1, inner = 1;
    memcpy(dims, A->dims, sizeof dims);
    dims[ax] = 0;
    for (size_t i = 0; i < k; i++) {
        if (!in[i])
            return NERR(c, ZP_EFORMAT, "input %zu has no name", i);
        if (in[i]->ndim != A->ndim || type_of(in[i]) != type_of(A))
            return NERR(c, ZP_EUNSUPPORTED, "constant inputs of different ranks or types");
        dims[ax] += in[i]->dims[ax];
    }
    for (int d = 0; d < ax; d++)
        outer *= dims[d];
    for (int d = ax + 1; d < A->ndim; d++)
        inner *= dims[d];
    struct zp_tensor *o;
    enum zp_status st = new_const(c, 0, A->ndim, dims, type_of(A), &o);
    int64_t w = 0;
    for (int64_t p = 0; !st && p < outer; p++)
        for (size_t i = 0; i < k; i++)
            for (int64_t q = 0; q < in[i]->dims[ax] * inner; q++)
                put(o, w++, get(in[i], p * in[i]->dims[ax] * inner + q));
    return st;
}

/* Unsqueeze / Squeeze: the same values under new dims (axes from the input or,
 * before opset 13, the attribute). */
static enum zp_status fold_squeeze(struct nctx *c, const struct zp_tensor *X,
                                   const struct zp_tensor *A, int unsqueeze)
{
    int64_t ax[ZP_MAXDIM];
    int na = 0;
    const Onnx__AttributeProto *at = ol_attr(c, "axes");
    if (A) {
        na = (int)A->size;
        for (int i = 0; i < na && i < ZP_MAXDIM; i++)
            ax[i] = A->idata ? A->idata[i] : 0;
    } else if (at) {
        na = (int)at->n_ints;
        for (int i = 0; i < na && i < ZP_MAXDIM; i++)
            ax[i] = at->ints[i];
    }
    const int r = unsqueeze ? X->ndim + na : X->ndim;
    if (na > ZP_MAXDIM || r > ZP_MAXDIM || (A && !A->idata))
        return NERR(c, ZP_EUNSUPPORTED, "axes must be int64, at most %d", ZP_MAXDIM);
    int mark[ZP_MAXDIM] = {0};
    for (int i = 0; i < na; i++) {
        int a = axis_of(ax[i], r);
        if (a < 0 || mark[a]++ || (!unsqueeze && X->dims[a] != 1))
            return NERR(c, ZP_EFORMAT, "axes value %lld invalid", (long long)ax[i]);
    }
    int64_t dims[ZP_MAXDIM];
    int nd = 0;
    for (int i = 0, j = 0; i < r; i++) {
        if (unsqueeze)
            dims[nd++] = mark[i] ? 1 : X->dims[j++];
        else if (!(na ? mark[i] : X->dims[i] == 1))
            dims[nd++] = X->dims[i];
    }
    struct zp_tensor *o;
    enum zp_status st = new_const(c, 0, nd, dims, type_of(X), &o);
    for (int64_t i = 0; !st && i < X->size; i++)
        put(o, i, get(X, i));
    return st;
}

/* Slice of a 1-D constant (starts, ends, axes 0, steps), ONNX's clamping. */
static enum zp_status fold_slice(struct nctx *c, const struct zp_tensor *const *in, size_t k)
{
    const struct zp_tensor *X = in[0];
    if (X->ndim != 1 || k < 3)
        return NERR(c, ZP_EUNSUPPORTED, "folding a Slice of a constant needs a 1-D constant "
                    "and starts / ends inputs");
    for (size_t i = 1; i < k; i++)
        if (in[i]->size != 1 || !in[i]->idata)
            return NERR(c, ZP_EUNSUPPORTED, "starts / ends / axes / steps of one int64 each");
    const int64_t n = X->dims[0], step = k > 4 ? in[4]->idata[0] : 1;
    if (k > 3 && axis_of(in[3]->idata[0], 1) != 0)
        return NERR(c, ZP_EFORMAT, "axes out of range");
    if (step == 0)
        return NERR(c, ZP_EFORMAT, "step 0");
    int64_t s = in[1]->idata[0], e = in[2]->idata[0];
    s = s < 0 ? s + n : s;
    e = e < 0 ? e + n : e;
    if (step > 0) {
        s = s < 0 ? 0 : s > n ? n : s;
        e = e < 0 ? 0 : e > n ? n : e;
    } else {
        s = s < 0 ? -1 : s > n - 1 ? n - 1 : s;
        e = e < -1 ? -1 : e > n - 1 ? n - 1 : e;
    }
    int64_t len = step > 0 ? (e > s ? (e - s + step - 1) / step : 0)
                           : (s > e ? (s - e - step - 1) / -step : 0);
    struct zp_tensor *o;
    enum zp_status st = new_const(c, 0, 1, &len, type_of(X), &o);
    for (int64_t i = 0; !st && i < len; i++)
        put(o, i, get(X, s + i * step));
    return st;
}

/* Add / Sub / Mul / Div of two constants of one shape, or one of them a
 * scalar; int64 division truncates toward zero (ONNX's integer Div). */
static enum zp_status fold_arith(struct nctx *c, const struct zp_tensor *A, const struct zp_tensor *B)
{
    const struct zp_tensor *big = A->size >= B->size ? A : B;
    if (A->size != B->size && A->size != 1 && B->size != 1)
        return NERR(c, ZP_EUNSUPPORTED, "both inputs are constants of different sizes (only the "
                    "same shape or a scalar is folded)");
    if (type_of(A) != type_of(B))
        return NERR(c, ZP_EUNSUPPORTED, "constant inputs of different types");
    struct zp_tensor *o;
    enum zp_status st = new_const(c, 0, big->ndim, big->dims, type_of(A), &o);
    const char op = c->op[0];
    for (int64_t i = 0; !st && i < big->size; i++) {
        const double a = get(A, A->size == 1 ? 0 : i), b = get(B, B->size == 1 ? 0 : i);
        if (op == 'D' && type_of(A) == F_INT && b == 0)
            return NERR(c, ZP_EINVAL, "integer division by zero");
        const double v = op == 'A' ? a + b : op == 'S' ? a - b : op == 'M' ? a * b
                       : type_of(A) == F_INT ? trunc(a / b) : (double)((float)a / (float)b);
        put(o, i, v);
    }
    return st;
}

static enum zp_status fold_cast(struct nctx *c, const struct zp_tensor *X)
{
    const int64_t to = ol_attr_i(c, "to", 0);
    if (to != F_INT && to != F_FLOAT)
        return NERR(c, ZP_EUNSUPPORTED, "cast to type %lld not supported (float32, int64)",
                    (long long)to);
    struct zp_tensor *o;
    enum zp_status st = new_const(c, 0, X->ndim, X->dims, (int)to, &o);
    for (int64_t i = 0; !st && i < X->size; i++)
        put(o, i, to == F_INT ? trunc(get(X, i)) : get(X, i));
    return st;
}

int ol_foldable(const struct nctx *c)
{
    static const char *const always[] = {"Shape", "ConstantOfShape", "Range", NULL};
    static const char *const consts[] = {"Gather", "Concat", "Unsqueeze", "Squeeze", "Slice",
                                         "Cast", "Add", "Sub", "Mul", "Div", NULL};
    for (int i = 0; always[i]; i++)
        if (!strcmp(c->op, always[i]))
            return 1;
    if (c->np->n_input < 1 || c->np->n_input > 8)
        return 0;
    for (size_t k = 0; k < c->np->n_input; k++) {
        int t = c->np->input[k][0] ? ol_lookup(c->L, c->np->input[k]) : -1;
        if (c->np->input[k][0] && (t < 0 || !c->L->g->tensors[t].is_const))
            return 0;
    }
    for (int i = 0; consts[i]; i++)
        if (!strcmp(c->op, consts[i]))
            return 1;
    return 0;
}

enum zp_status ol_fold_node(struct nctx *c, struct zp_node *n, int arg)
{
    (void)n;
    (void)arg;
    const struct zp_tensor *in[8] = {0};
    const size_t k = c->np->n_input;
    enum zp_status st;
    if (k > 8)
        return NERR(c, ZP_EUNSUPPORTED, "too many inputs to fold");
    for (size_t i = 0; i < k; i++) {
        int t;
        if ((st = ol_input_at(c, i, &t)))
            return st;
        in[i] = t >= 0 ? ol_T(c, t) : NULL;
    }
    if (!strcmp(c->op, "Shape")) {
        if (k != 1 || !in[0])
            return NERR(c, ZP_EFORMAT, "needs one input");
        return fold_shape(c, ol_lookup(c->L, c->np->input[0]));
    }
    for (size_t i = 0; i < k; i++)
        if (in[i] && !in[i]->is_const)
            return NERR(c, ZP_EUNSUPPORTED, "input '%s' is an activation; only constant inputs "
                        "are folded at load", in[i]->name);
    if (!strcmp(c->op, "ConstantOfShape"))
        return k == 1 && in[0] ? fold_constant_of_shape(c, in[0]) : NERR(c, ZP_EFORMAT, "needs one input");
    if (!strcmp(c->op, "Range"))
        return k == 3 && in[0] && in[1] && in[2] ? fold_range(c, in) : NERR(c, ZP_EFORMAT, "needs 3 inputs");
    if (!in[0])
        return NERR(c, ZP_EFORMAT, "missing input");
    switch (c->op[0]) {
    case 'G': return k == 2 && in[1] ? fold_gather(c, in[0], in[1]) : NERR(c, ZP_EFORMAT, "needs 2 inputs");
    case 'C': return !strcmp(c->op, "Cast") ? fold_cast(c, in[0]) : fold_concat(c, in, k);
    case 'U': return fold_squeeze(c, in[0], k > 1 ? in[1] : NULL, 1);
    case 'S':
        if (!strcmp(c->op, "Squeeze"))
            return fold_squeeze(c, in[0], k > 1 ? in[1] : NULL, 0);
        if (!strcmp(c->op, "Slice"))
            return fold_slice(c, in, k);
        __attribute__((fallthrough)); /* Sub */
    default:
        return k == 2 && in[1] ? fold_arith(c, in[0], in[1]) : NERR(c, ZP_EFORMAT, "needs 2 inputs");
    }
}
