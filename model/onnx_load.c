/* ONNX import: protobuf-c parses the bytes, then everything is validated here
 * before the graph exists (dims, data sizes, attribute types, tensor names,
 * topological order), because a model file is user input: a corrupt or hostile
 * file must give an error naming the node or tensor, never a crash. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#include "common/file.h"
#include "common/mem.h"
#include "model/graph_internal.h"

struct loader {
    struct zp_graph *g;
    const char *what;
    struct zp_err *err;
    char **hkeys; /* name -> tensor index (open addressing) */
    int *hvals;
    size_t hcap;
};

/* ---- small helpers ---------------------------------------------------------- */

static const char *str_or(const char *s, const char *dflt) { return s && *s ? s : dflt; }

static char *keep_str(struct zp_graph *g, const char *s)
{
    if (g->n_strings == g->cap_strings) {
        int cap = g->cap_strings ? 2 * g->cap_strings : 64;
        char **p = realloc(g->strings, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        g->strings = p;
        g->cap_strings = cap;
    }
    char *c = strdup(s ? s : "");
    if (c)
        g->strings[g->n_strings++] = c;
    return c;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int lookup(const struct loader *L, const char *name)
{
    if (!name || !L->hcap)
        return -1;
    for (size_t i = hash_str(name) & (L->hcap - 1);; i = (i + 1) & (L->hcap - 1)) {
        if (!L->hkeys[i])
            return -1;
        if (strcmp(L->hkeys[i], name) == 0)
            return L->hvals[i];
    }
}

/* Maps name to tensor t (a new name; duplicates are rejected by the callers). */
static void bind(struct loader *L, const char *name, int t)
{
    size_t i = hash_str(name) & (L->hcap - 1);
    while (L->hkeys[i] && strcmp(L->hkeys[i], name) != 0)
        i = (i + 1) & (L->hcap - 1);
    L->hkeys[i] = (char *)name;
    L->hvals[i] = t;
}

/* The tensor array is sized once in build() (initializers + input + one per node
 * output), so it never moves: converters keep zp_tensor pointers across calls. */
static int new_tensor(struct loader *L, const char *name)
{
    struct zp_graph *g = L->g;
    if (g->n_tensors == g->cap_tensors)
        return -1;
    struct zp_tensor *t = &g->tensors[g->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = keep_str(g, name);
    if (!t->name)
        return -1;
    t->producer = -1;
    bind(L, t->name, g->n_tensors);
    return g->n_tensors++;
}

static int64_t prod(const int64_t *d, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= d[i];
    return p;
}

/* Checks dims (>= 0 for constants, >= 1 for activations) and the element limit;
 * computes the product without overflow. */
static int dims_ok(const int64_t *d, int n, int64_t min_dim, int64_t *size)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++) {
        if (d[i] < min_dim || d[i] > ZP_MAX_ELEMS)
            return 0;
        p *= d[i];
        if (p > ZP_MAX_ELEMS)
            return 0;
    }
    *size = p;
    return 1;
}

/* ---- initializers ----------------------------------------------------------- */

static enum zp_status load_const(struct loader *L, const Onnx__TensorProto *tp, const char *name,
                                 int *out)
{
    const char *tn = str_or(name, "(unnamed)");
    if (tp->n_dims > ZP_MAXDIM)
        return zp_err_set(L->err, ZP_EUNSUPPORTED,
                          "%s: tensor '%s': %zu dimensions, at most %d supported", L->what, tn,
                          tp->n_dims, ZP_MAXDIM);
    int64_t size;
    if (!dims_ok(tp->dims, (int)tp->n_dims, 0, &size))
        return zp_err_set(L->err, ZP_EFORMAT, "%s: tensor '%s': dimensions must be in 0..2^28 with "
                          "at most 2^28 elements", L->what, tn);
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return zp_err_set(L->err, ZP_EUNSUPPORTED,
                          "%s: tensor '%s': external data is not supported", L->what, tn);
    int dt = tp->data_type;
    if (dt != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && dt != ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
        return zp_err_set(L->err, ZP_EUNSUPPORTED, "%s: tensor '%s': data type %d not supported "
                          "(expected float32 or int64)", L->what, tn, dt);
    size_t esz = dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? 4 : 8;
    const void *src = NULL;
    if (tp->has_raw_data && tp->raw_data.len > 0) {
        if (tp->raw_data.len != (size_t)size * esz)
            return zp_err_set(L->err, ZP_EFORMAT,
                              "%s: tensor '%s': raw_data has %zu bytes, dims "
                              "need %lld",
                              L->what, tn, tp->raw_data.len, (long long)size * (long long)esz);
        src = tp->raw_data.data;
    } else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        if (tp->n_float_data != (size_t)size)
            return zp_err_set(L->err, ZP_EFORMAT,
                              "%s: tensor '%s': float_data has %zu values, dims "
                              "need %lld",
                              L->what, tn, tp->n_float_data, (long long)size);
        src = tp->float_data;
    } else {
        if (tp->n_int64_data != (size_t)size)
            return zp_err_set(L->err, ZP_EFORMAT,
                              "%s: tensor '%s': int64_data has %zu values, dims "
                              "need %lld",
                              L->what, tn, tp->n_int64_data, (long long)size);
        src = tp->int64_data;
    }
    if (lookup(L, tn) >= 0)
        return zp_err_set(L->err, ZP_EFORMAT, "%s: tensor '%s' is defined twice", L->what, tn);
    int t = new_tensor(L, tn);
    if (t < 0)
        return zp_err_set(L->err, ZP_ENOMEM, "%s: out of memory", L->what);
    struct zp_tensor *T = &L->g->tensors[t];
    T->is_const = 1;
    T->ndim = (int)tp->n_dims;
    for (int i = 0; i < T->ndim; i++)
        T->dims[i] = tp->dims[i];
    T->size = size;
    void *buf = zp_alloc(size ? (size_t)size * esz : esz);
    if (!buf)
        return zp_err_set(L->err, ZP_ENOMEM, "%s: tensor '%s': out of memory", L->what, tn);
    if (size)
        memcpy(buf, src, (size_t)size * esz);
    if (esz == 4)
        T->data = buf;
    else
        T->idata = buf;
    /* Non-finite weights are refused here, at load, before any cell fits a
     * quantizer to them or writes a result (issue 17 item 6). A one-element
     * +-Inf is kept: it is how an exporter may spell an open Clip bound. */
    if (esz == 4) {
        const float *v = buf;
        for (int64_t i = 0; i < size; i++)
            if (!isfinite(v[i]) && (isnan(v[i]) || size > 1))
                return zp_err_set(L->err, ZP_EINVAL, "%s: tensor '%s': element %lld is %s: weights "
                                  "must be finite", L->what, tn, (long long)i,
                                  isnan(v[i]) ? "NaN" : v[i] > 0 ? "+Inf" : "-Inf");
    }
    *out = t;
    return ZP_OK;
}

/* ---- nodes ------------------------------------------------------------------ */

struct nctx { /* the node being converted */
    struct loader *L;
    const Onnx__NodeProto *np;
    const char *name, *op;
};

#define NERR(c, st, ...) node_err((c), (st), __VA_ARGS__)
static enum zp_status node_err(struct nctx *c, enum zp_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum zp_status node_err(struct nctx *c, enum zp_status st, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return zp_err_set(c->L->err, st, "%s: node '%s' (%s): %s", c->L->what, c->name, c->op, msg);
}

static const Onnx__AttributeProto *attr(struct nctx *c, const char *name)
{
    for (size_t i = 0; i < c->np->n_attribute; i++)
        if (c->np->attribute[i]->name && strcmp(c->np->attribute[i]->name, name) == 0)
            return c->np->attribute[i];
    return NULL;
}

/* Rejects attributes outside `allowed` (NULL-terminated) and mistyped ones. */
static enum zp_status check_attrs(struct nctx *c, const char *const *allowed, const int *types)
{
    for (size_t i = 0; i < c->np->n_attribute; i++) {
        const Onnx__AttributeProto *a = c->np->attribute[i];
        const char *an = str_or(a->name, "");
        int k = 0;
        while (allowed[k] && strcmp(allowed[k], an) != 0)
            k++;
        if (!allowed[k])
            return NERR(c, ZP_EUNSUPPORTED, "attribute '%s' not supported", an);
        if (a->has_type && (int)a->type != types[k])
            return NERR(c, ZP_EFORMAT, "attribute '%s' has type %d, expected %d", an, (int)a->type,
                        types[k]);
    }
    return ZP_OK;
}

static int64_t attr_i(struct nctx *c, const char *name, int64_t dflt)
{
    const Onnx__AttributeProto *a = attr(c, name);
    return a ? a->i : dflt;
}

static float attr_f(struct nctx *c, const char *name, float dflt)
{
    const Onnx__AttributeProto *a = attr(c, name);
    return a ? a->f : dflt;
}

/* Copies an INTS attribute of exactly n values (returns 0 if absent). */
static enum zp_status attr_ints(struct nctx *c, const char *name, int64_t *v, size_t n,
                                int *present)
{
    const Onnx__AttributeProto *a = attr(c, name);
    *present = 0;
    if (!a)
        return ZP_OK;
    if (a->n_ints != n)
        return NERR(c, ZP_EUNSUPPORTED, "attribute '%s' has %zu values, expected %zu", name,
                    a->n_ints, n);
    for (size_t i = 0; i < n; i++)
        v[i] = a->ints[i];
    *present = 1;
    return ZP_OK;
}

static int attr_str_is(struct nctx *c, const char *name, const char *val, const char *dflt)
{
    const Onnx__AttributeProto *a = attr(c, name);
    if (!a || !a->has_s)
        return strcmp(dflt, val) == 0;
    return a->s.len == strlen(val) && memcmp(a->s.data, val, a->s.len) == 0;
}

/* Input i of the node: tensor index, -1 when absent (empty name or beyond n_input). */
static enum zp_status input_at(struct nctx *c, size_t i, int *t)
{
    *t = -1;
    if (i >= c->np->n_input || !c->np->input[i][0])
        return ZP_OK;
    int k = lookup(c->L, c->np->input[i]);
    if (k < 0)
        return NERR(c, ZP_EFORMAT, "input '%s' is not defined before this node (undefined tensor, "
                    "a cycle, or nodes not in topological order)", c->np->input[i]);
    *t = k;
    return ZP_OK;
}

static enum zp_status need_inputs(struct nctx *c, size_t lo, size_t hi)
{
    if (c->np->n_input < lo || c->np->n_input > hi)
        return NERR(c, ZP_EFORMAT, "%zu inputs, expected %zu..%zu", c->np->n_input, lo, hi);
    if (c->np->n_output < 1 || !c->np->output[0][0])
        return NERR(c, ZP_EFORMAT, "no output");
    return ZP_OK;
}

static struct zp_tensor *T(struct nctx *c, int t) { return &c->L->g->tensors[t]; }

static enum zp_status need_act(struct nctx *c, int t, const char *what, int min_nd, int max_nd)
{
    if (t < 0)
        return NERR(c, ZP_EFORMAT, "missing %s input", what);
    if (T(c, t)->is_const)
        return NERR(c, ZP_EUNSUPPORTED, "%s input '%s' is a constant; expected an activation",
                    what, T(c, t)->name);
    if (T(c, t)->ndim < min_nd || T(c, t)->ndim > max_nd)
        return NERR(c, ZP_EUNSUPPORTED, "%s input '%s' has rank %d, expected %d..%d", what,
                    T(c, t)->name, T(c, t)->ndim, min_nd, max_nd);
    return ZP_OK;
}

static enum zp_status need_const(struct nctx *c, int t, const char *what, int fl)
{
    if (t < 0)
        return NERR(c, ZP_EFORMAT, "missing %s input", what);
    if (!T(c, t)->is_const)
        return NERR(c, ZP_EUNSUPPORTED, "%s input '%s' must be an initializer", what,
                    T(c, t)->name);
    if (fl && !T(c, t)->data)
        return NERR(c, ZP_EUNSUPPORTED, "%s input '%s' must be float32", what, T(c, t)->name);
    if (!fl && !T(c, t)->idata)
        return NERR(c, ZP_EUNSUPPORTED, "%s input '%s' must be int64", what, T(c, t)->name);
    return ZP_OK;
}

/* Creates the node's output activation with the given full shape (batch first). */
static enum zp_status add_output(struct nctx *c, struct zp_node *n, int ndim, const int64_t *dims)
{
    const char *on = c->np->output[0];
    if (lookup(c->L, on) >= 0)
        return NERR(c, ZP_EFORMAT, "output '%s' is already defined", on);
    int64_t size;
    if (ndim < 1 || ndim > ZP_MAXDIM || !dims_ok(dims + 1, ndim - 1, 1, &size))
        return NERR(c, ZP_EUNSUPPORTED, "output '%s' would have an empty or too large shape", on);
    int t = new_tensor(c->L, on);
    if (t < 0)
        return NERR(c, ZP_ENOMEM, "out of memory");
    struct zp_tensor *o = T(c, t);
    o->ndim = ndim;
    o->dims[0] = 1;
    for (int i = 1; i < ndim; i++)
        o->dims[i] = dims[i];
    o->size = size;
    o->producer = c->L->g->n_nodes;
    n->out = t;
    return ZP_OK;
}

/* Binds the node's output name to an existing tensor (Identity, Dropout, folded BN). */
static enum zp_status alias_output(struct nctx *c, int t)
{
    const char *on = c->np->output[0];
    if (lookup(c->L, on) >= 0)
        return NERR(c, ZP_EFORMAT, "output '%s' is already defined", on);
    char *k = keep_str(c->L->g, on);
    if (!k)
        return NERR(c, ZP_ENOMEM, "out of memory");
    bind(c->L, k, t);
    return ZP_OK;
}

/* Output size along one spatial axis; -1 when the window does not fit. */
static int64_t out_len(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1,
                       int ceil_mode)
{
    int64_t span = d * (k - 1) + 1, room = in + p0 + p1 - span;
    if (room < 0)
        return -1;
    int64_t o = (ceil_mode ? (room + s - 1) / s : room / s) + 1;
    /* ceil mode: the last window must start inside the input or left padding */
    if (ceil_mode && (o - 1) * s >= in + p0)
        o--;
    return o;
}

/* Shared by Conv and the pools: strides, dilations, pads / auto_pad. */
static enum zp_status window_attrs(struct nctx *c, struct zp_node *n, int64_t H, int64_t W,
                                   int64_t *OH, int64_t *OW)
{
    int64_t v[4];
    int present;
    enum zp_status st;
    n->sh = n->sw = n->dh = n->dw = 1;
    if ((st = attr_ints(c, "strides", v, 2, &present)))
        return st;
    if (present) { n->sh = v[0]; n->sw = v[1]; }
    if (attr(c, "dilations")) {
        if ((st = attr_ints(c, "dilations", v, 2, &present)))
            return st;
        n->dh = v[0];
        n->dw = v[1];
    }
    if (n->sh < 1 || n->sw < 1 || n->dh < 1 || n->dw < 1 || n->sh > 4096 || n->sw > 4096 ||
        n->dh > 4096 || n->dw > 4096)
        return NERR(c, ZP_EFORMAT, "strides and dilations must be in 1..4096");
    if (n->kh < 1 || n->kw < 1 || n->kh > 4096 || n->kw > 4096)
        return NERR(c, ZP_EFORMAT, "kernel size must be in 1..4096");
    memset(n->pads, 0, sizeof n->pads);
    if ((st = attr_ints(c, "pads", v, 4, &present)))
        return st;
    if (present) {
        /* ONNX order: [top, left, bottom, right] = x1_begin, x2_begin, x1_end, x2_end */
        for (int i = 0; i < 4; i++) {
            if (v[i] < 0 || v[i] > 4096)
                return NERR(c, ZP_EUNSUPPORTED, "pads must be in 0..4096");
            n->pads[i] = v[i];
        }
    }
    const Onnx__AttributeProto *ap = attr(c, "auto_pad");
    if (ap && !attr_str_is(c, "auto_pad", "NOTSET", "NOTSET")) {
        int upper = attr_str_is(c, "auto_pad", "SAME_UPPER", "");
        int lower = attr_str_is(c, "auto_pad", "SAME_LOWER", "");
        int valid = attr_str_is(c, "auto_pad", "VALID", "");
        if (!upper && !lower && !valid)
            return NERR(c, ZP_EUNSUPPORTED, "auto_pad '%.*s' not supported",
                        (int)(ap->has_s ? ap->s.len > 40 ? 40 : ap->s.len : 0),
                        ap->has_s ? (const char *)ap->s.data : "");
        if (present && (n->pads[0] | n->pads[1] | n->pads[2] | n->pads[3]))
            return NERR(c, ZP_EFORMAT, "both auto_pad and pads given");
        memset(n->pads, 0, sizeof n->pads);
        if (!valid) {
            int64_t in[2] = {H, W}, k[2] = {n->kh, n->kw}, s[2] = {n->sh, n->sw},
                    d[2] = {n->dh, n->dw};
            for (int a = 0; a < 2; a++) {
                int64_t o = (in[a] + s[a] - 1) / s[a];
                int64_t total = (o - 1) * s[a] + (k[a] - 1) * d[a] + 1 - in[a];
                if (total < 0)
                    total = 0;
                int64_t small = total / 2, big = total - small;
                n->pads[a] = upper ? small : big;
                n->pads[a + 2] = upper ? big : small;
            }
        }
    }
    *OH = out_len(H, n->kh, n->sh, n->dh, n->pads[0], n->pads[2], n->ceil_mode);
    *OW = out_len(W, n->kw, n->sw, n->dw, n->pads[1], n->pads[3], n->ceil_mode);
    if (*OH < 1 || *OW < 1)
        return NERR(c, ZP_EUNSUPPORTED, "kernel %lldx%lld does not fit the %lldx%lld input",
                    (long long)n->kh, (long long)n->kw, (long long)H, (long long)W);
    return ZP_OK;
}

enum {
    AI = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT,
    AIS = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS,
    AF = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT,
    AS = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING,
    AT = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR
};

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

static enum zp_status conv_node(struct nctx *c, struct zp_node *n)
{
    static const char *const an[] = {"group", "strides", "dilations", "pads", "auto_pad",
                                     "kernel_shape", NULL};
    static const int at[] = {AI, AIS, AIS, AIS, AS, AIS};
    enum zp_status st;
    int x, w, b;
    if ((st = need_inputs(c, 2, 3)) || (st = check_attrs(c, an, at)) || (st = input_at(c, 0, &x)) ||
        (st = input_at(c, 1, &w)) || (st = input_at(c, 2, &b)))
        return st;
    if ((st = need_act(c, x, "X", 4, 4)) || (st = need_const(c, w, "W", 1)))
        return st;
    const struct zp_tensor *X = T(c, x), *Wt = T(c, w);
    int64_t C = X->dims[1], H = X->dims[2], Wd = X->dims[3];
    if (Wt->ndim != 4)
        return NERR(c, ZP_EUNSUPPORTED, "weight '%s' has rank %d; only 2-D convolution (rank 4) "
                    "is supported", Wt->name, Wt->ndim);
    int64_t O = Wt->dims[0];
    n->group = attr_i(c, "group", 1);
    if (n->group < 1 || C % n->group || O < 1 || O % n->group || Wt->dims[1] * n->group != C)
        return NERR(c, ZP_EFORMAT, "weight '%s' [%lld, %lld, ...] does not match %lld input "
                    "channels with group %lld", Wt->name, (long long)O, (long long)Wt->dims[1],
                    (long long)C, (long long)n->group);
    n->kh = Wt->dims[2];
    n->kw = Wt->dims[3];
    int64_t ks[2];
    int present;
    if ((st = attr_ints(c, "kernel_shape", ks, 2, &present)))
        return st;
    if (present && (ks[0] != n->kh || ks[1] != n->kw))
        return NERR(c, ZP_EFORMAT, "kernel_shape [%lld, %lld] disagrees with weight '%s'",
                    (long long)ks[0], (long long)ks[1], Wt->name);
    if (b >= 0) {
        if ((st = need_const(c, b, "B", 1)))
            return st;
        if (T(c, b)->size != O)
            return NERR(c, ZP_EFORMAT, "bias '%s' has %lld values, expected %lld", T(c, b)->name,
                        (long long)T(c, b)->size, (long long)O);
    }
    int64_t OH, OW;
    if ((st = window_attrs(c, n, H, Wd, &OH, &OW)))
        return st;
    int64_t dims[4] = {1, O, OH, OW};
    if ((st = add_output(c, n, 4, dims)))
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
        memcpy(bc, T(c, b)->data, (size_t)O * sizeof(float));
    return add_layer(c, n, wc, bc);
}

/* Gemm (A activation [N, K], B initializer) and MatMul with an initializer B. The
 * weight is stored [O, K]; alpha and beta are folded into weight and bias. */
static enum zp_status gemm_node(struct nctx *c, struct zp_node *n, int matmul)
{
    static const char *const an[] = {"alpha", "beta", "transA", "transB", NULL};
    static const int at[] = {AF, AF, AI, AI};
    static const char *const none[] = {NULL};
    enum zp_status st;
    int a, bw, cb = -1;
    if ((st = need_inputs(c, 2, matmul ? 2 : 3)) ||
        (st = check_attrs(c, matmul ? none : an, at)) || (st = input_at(c, 0, &a)) ||
        (st = input_at(c, 1, &bw)) || (!matmul && (st = input_at(c, 2, &cb))))
        return st;
    if (a >= 0 && bw >= 0 && !T(c, a)->is_const && !T(c, bw)->is_const)
        return NERR(c, ZP_EUNSUPPORTED,
                    "both inputs are activations; the weight must be an initializer");
    if ((st = need_act(c, a, "A", 2, 2)) || (st = need_const(c, bw, "B", 1)))
        return st;
    float alpha = matmul ? 1.f : attr_f(c, "alpha", 1.f),
          beta = matmul ? 1.f : attr_f(c, "beta", 1.f);
    int transA = matmul ? 0 : (int)attr_i(c, "transA", 0),
        transB = matmul ? 0 : (int)attr_i(c, "transB", 0);
    if (transA)
        return NERR(c, ZP_EUNSUPPORTED, "transA=1 (a transposed activation) not supported");
    const struct zp_tensor *B = T(c, bw);
    int64_t K = T(c, a)->dims[1];
    if (B->ndim != 2)
        return NERR(c, ZP_EUNSUPPORTED, "weight '%s' has rank %d, expected 2", B->name, B->ndim);
    int64_t bk = transB ? B->dims[1] : B->dims[0], O = transB ? B->dims[0] : B->dims[1];
    if (bk != K || O < 1)
        return NERR(c, ZP_EFORMAT, "weight '%s' [%lld, %lld] does not match %lld input features "
                    "(transB=%d)", B->name, (long long)B->dims[0], (long long)B->dims[1],
                    (long long)K, transB);
    if (cb >= 0) {
        if ((st = need_const(c, cb, "C", 1)))
            return st;
        const struct zp_tensor *Ct = T(c, cb);
        int okshape = Ct->size == 1 ||
                      (Ct->size == O && (Ct->ndim == 1 || (Ct->ndim == 2 && Ct->dims[0] == 1)));
        if (!okshape)
            return NERR(c, ZP_EUNSUPPORTED, "C '%s' must broadcast to [%lld] (a per-output bias)",
                        Ct->name, (long long)O);
    }
    int64_t dims[2] = {1, O};
    if ((st = add_output(c, n, 2, dims)))
        return st;
    n->op = ZP_OP_GEMM;
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
        const struct zp_tensor *Ct = T(c, cb);
        for (int64_t o = 0; o < O; o++)
            b[o] = beta * Ct->data[Ct->size == 1 ? 0 : o];
    }
    return add_layer(c, n, w, b);
}

/* Numpy broadcasting of two inputs over the per-image dims; a constant operand
 * may not extend the batch dimension. */
static enum zp_status binary_node(struct nctx *c, struct zp_node *n, enum zp_op op)
{
    static const char *const none[] = {NULL};
    enum zp_status st;
    int t[2];
    if ((st = need_inputs(c, 2, 2)) || (st = check_attrs(c, none, NULL)) ||
        (st = input_at(c, 0, &t[0])) || (st = input_at(c, 1, &t[1])))
        return st;
    if (t[0] < 0 || t[1] < 0)
        return NERR(c, ZP_EFORMAT, "missing input");
    if (T(c, t[0])->is_const && T(c, t[1])->is_const)
        return NERR(c, ZP_EUNSUPPORTED,
                    "both inputs are constants (constant folding not supported)");
    for (int k = 0; k < 2; k++) {
        if (T(c, t[k])->is_const && !T(c, t[k])->data)
            return NERR(c, ZP_EUNSUPPORTED, "input '%s' must be float32", T(c, t[k])->name);
        if (T(c, t[k])->is_const && T(c, t[k])->size == 0)
            return NERR(c, ZP_EUNSUPPORTED, "constant '%s' is empty", T(c, t[k])->name);
    }
    if (!T(c, t[0])->is_const && !T(c, t[1])->is_const && T(c, t[0])->ndim != T(c, t[1])->ndim)
        return NERR(c, ZP_EUNSUPPORTED, "activations of different ranks (%d and %d)",
                    T(c, t[0])->ndim, T(c, t[1])->ndim);
    int nd = T(c, t[0])->ndim > T(c, t[1])->ndim ? T(c, t[0])->ndim : T(c, t[1])->ndim;
    int act = T(c, t[0])->is_const ? 1 : 0;
    if (T(c, t[act])->ndim != nd)
        return NERR(c, ZP_EUNSUPPORTED, "constant '%s' has a higher rank than the activation",
                    T(c, t[1 - act])->name);
    int64_t od[ZP_MAXDIM], dk[2][ZP_MAXDIM];
    for (int k = 0; k < 2; k++) {
        const struct zp_tensor *X = T(c, t[k]);
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
    if ((st = add_output(c, n, nd, od)))
        return st;
    n->op = op;
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
    enum zp_status st = input_at(c, i, &t);
    if (st || t < 0)
        return st;
    if ((st = need_const(c, t, i == 1 ? "min" : "max", 1)))
        return st;
    if (T(c, t)->size != 1)
        return NERR(c, ZP_EFORMAT, "'%s' must be a scalar", T(c, t)->name);
    *v = T(c, t)->data[0];
    return ZP_OK;
}

static enum zp_status unary_common(struct nctx *c, struct zp_node *n, enum zp_op op, int x)
{
    enum zp_status st = need_act(c, x, "X", 1, ZP_MAXDIM);
    if (st || (st = add_output(c, n, T(c, x)->ndim, T(c, x)->dims)))
        return st;
    n->op = op;
    n->in[0] = x;
    n->n_in = 1;
    return ZP_OK;
}

static enum zp_status clip_node(struct nctx *c, struct zp_node *n)
{
    static const char *const an[] = {"min", "max", NULL};
    static const int at[] = {AF, AF};
    enum zp_status st;
    int x;
    if ((st = need_inputs(c, 1, 3)) || (st = check_attrs(c, an, at)) || (st = input_at(c, 0, &x)))
        return st;
    n->lo = -FLT_MAX;
    n->hi = FLT_MAX;
    if (c->np->n_attribute) {
        if (c->L->g->opset >= 11)
            return NERR(c, ZP_EFORMAT,
                        "min/max attributes are opset < 11; this model is opset %lld",
                        (long long)c->L->g->opset);
        n->lo = attr_f(c, "min", -FLT_MAX);
        n->hi = attr_f(c, "max", FLT_MAX);
    }
    if ((st = scalar_input(c, 1, &n->lo)) || (st = scalar_input(c, 2, &n->hi)))
        return st;
    if (isnan(n->lo) || isnan(n->hi))
        return NERR(c, ZP_EINVAL, "min/max is NaN");
    return unary_common(c, n, ZP_OP_CLIP, x);
}

/* BatchNormalization: folded into the producing Conv when that Conv's output has
 * no other reader; otherwise a per-channel affine op. */
static enum zp_status bn_node(struct nctx *c, struct zp_node *n, const int *consumers)
{
    static const char *const an[] = {"epsilon", "momentum", "training_mode", "spatial", NULL};
    static const int at[] = {AF, AF, AI, AI};
    enum zp_status st;
    int x, p[4];
    if ((st = need_inputs(c, 5, 5)) || (st = check_attrs(c, an, at)) || (st = input_at(c, 0, &x)))
        return st;
    if (attr_i(c, "training_mode", 0) != 0 || attr_i(c, "spatial", 1) != 1)
        return NERR(c, ZP_EUNSUPPORTED, "training_mode=1 / spatial=0 not supported");
    if (c->np->n_output > 1)
        for (size_t i = 1; i < c->np->n_output; i++)
            if (c->np->output[i][0])
                return NERR(c, ZP_EUNSUPPORTED,
                            "training outputs (running mean/var) not supported");
    if ((st = need_act(c, x, "X", 2, ZP_MAXDIM)))
        return st;
    int64_t C = T(c, x)->dims[1];
    static const char *const pn[] = {"scale", "B", "mean", "var"};
    for (int i = 0; i < 4; i++) {
        if ((st = input_at(c, (size_t)i + 1, &p[i])) || (st = need_const(c, p[i], pn[i], 1)))
            return st;
        if (T(c, p[i])->size != C)
            return NERR(c, ZP_EFORMAT, "%s '%s' has %lld values, expected %lld channels", pn[i],
                        T(c, p[i])->name, (long long)T(c, p[i])->size, (long long)C);
    }
    float eps = attr_f(c, "epsilon", 1e-5f);
    float *sc = malloc((size_t)C * sizeof(float)), *sh = malloc((size_t)C * sizeof(float));
    if (!sc || !sh) {
        free(sc);
        free(sh);
        return NERR(c, ZP_ENOMEM, "out of memory");
    }
    for (int64_t k = 0; k < C; k++) {
        double v = (double)T(c, p[3])->data[k] + eps;
        if (!(v > 0)) {
            free(sc);
            free(sh);
            return NERR(c, ZP_EINVAL, "var + epsilon <= 0 at channel %lld", (long long)k);
        }
        double s = T(c, p[0])->data[k] / sqrt(v);
        sc[k] = (float)s;
        sh[k] = (float)(T(c, p[1])->data[k] - T(c, p[2])->data[k] * s);
        if (!isfinite(sc[k]) || !isfinite(sh[k])) {
            free(sc);
            free(sh);
            return NERR(c, ZP_EINVAL, "scale / sqrt(var + epsilon) or its shift overflows float at "
                        "channel %lld", (long long)k);
        }
    }
    struct zp_graph *g = c->L->g;
    int prod_node = T(c, x)->producer;
    if (prod_node >= 0 && g->nodes[prod_node].op == ZP_OP_CONV && consumers[x] == 1) {
        int l = g->nodes[prod_node].layer;
        int64_t O = C, per = g->tensors[g->nodes[prod_node].in[0]].dims[1] /
                             g->nodes[prod_node].group * g->nodes[prod_node].kh *
                             g->nodes[prod_node].kw;
        float *w = g->layer_w[l], *b = g->layer_b[l];
        if (!b) {
            b = g->layer_b[l] = zp_calloc((size_t)O, sizeof(float));
            if (!b) {
                free(sc);
                free(sh);
                return NERR(c, ZP_ENOMEM, "out of memory");
            }
        }
        int64_t bad = -1;
        for (int64_t o = 0; o < O; o++) {
            for (int64_t k = 0; k < per; k++) {
                w[o * per + k] *= sc[o];
                if (bad < 0 && !isfinite(w[o * per + k]))
                    bad = o;
            }
            b[o] = b[o] * sc[o] + sh[o];
            if (bad < 0 && !isfinite(b[o]))
                bad = o;
        }
        free(sc);
        free(sh);
        if (bad >= 0)
            return NERR(c, ZP_EINVAL, "folding into Conv '%s' overflows float at output channel %lld",
                        g->layers[l].name ? g->layers[l].name : "?", (long long)bad);
        return alias_output(c, x);
    }
    if ((st = unary_common(c, n, ZP_OP_AFFINE, x))) {
        free(sc);
        free(sh);
        return st;
    }
    n->scale = sc;
    n->shift = sh;
    n->channels = C;
    n->inner = T(c, x)->size / C;
    return ZP_OK;
}

static enum zp_status pool_node(struct nctx *c, struct zp_node *n, int maxpool)
{
    static const char *const am[] = {"kernel_shape", "strides", "pads", "auto_pad", "ceil_mode",
                                     "dilations", "storage_order", NULL};
    static const int tm[] = {AIS, AIS, AIS, AS, AI, AIS, AI};
    static const char *const aa[] = {"kernel_shape", "strides", "pads", "auto_pad", "ceil_mode",
                                     "count_include_pad", NULL};
    static const int ta[] = {AIS, AIS, AIS, AS, AI, AI};
    enum zp_status st;
    int x;
    if ((st = need_inputs(c, 1, 1)) ||
        (st = check_attrs(c, maxpool ? am : aa, maxpool ? tm : ta)) || (st = input_at(c, 0, &x)) ||
        (st = need_act(c, x, "X", 4, 4)))
        return st;
    if (c->np->n_output > 1 && c->np->output[1][0])
        return NERR(c, ZP_EUNSUPPORTED, "the Indices output is not supported");
    if (attr_i(c, "storage_order", 0) != 0)
        return NERR(c, ZP_EUNSUPPORTED, "storage_order=1 not supported");
    int64_t ks[2];
    int present;
    if ((st = attr_ints(c, "kernel_shape", ks, 2, &present)))
        return st;
    if (!present)
        return NERR(c, ZP_EFORMAT, "kernel_shape (2 values) is required");
    n->kh = ks[0];
    n->kw = ks[1];
    n->ceil_mode = attr_i(c, "ceil_mode", 0) != 0;
    n->count_include_pad = attr_i(c, "count_include_pad", 0) != 0;
    const struct zp_tensor *X = T(c, x);
    int64_t OH, OW;
    if ((st = window_attrs(c, n, X->dims[2], X->dims[3], &OH, &OW)))
        return st;
    if (n->pads[0] >= n->kh || n->pads[2] >= n->kh || n->pads[1] >= n->kw || n->pads[3] >= n->kw)
        return NERR(c, ZP_EUNSUPPORTED, "padding at least as large as the kernel");
    int64_t dims[4] = {1, X->dims[1], OH, OW};
    if ((st = add_output(c, n, 4, dims)))
        return st;
    n->op = maxpool ? ZP_OP_MAXPOOL : ZP_OP_AVGPOOL;
    n->in[0] = x;
    n->n_in = 1;
    return ZP_OK;
}

static enum zp_status reshape_to(struct nctx *c, struct zp_node *n, int x, int nd, const int64_t *d)
{
    enum zp_status st = add_output(c, n, nd, d);
    if (st)
        return st;
    if (T(c, n->out)->size != T(c, x)->size)
        return NERR(c, ZP_EFORMAT, "reshape changes the element count");
    n->op = ZP_OP_COPY;
    n->alias = 1;
    n->in[0] = x;
    n->n_in = 1;
    return ZP_OK;
}

static enum zp_status flatten_node(struct nctx *c, struct zp_node *n)
{
    static const char *const an[] = {"axis", NULL};
    static const int at[] = {AI};
    enum zp_status st;
    int x;
    if ((st = need_inputs(c, 1, 1)) || (st = check_attrs(c, an, at)) || (st = input_at(c, 0, &x)) ||
        (st = need_act(c, x, "input", 1, ZP_MAXDIM)))
        return st;
    int64_t axis = attr_i(c, "axis", 1);
    if (axis < 0)
        axis += T(c, x)->ndim;
    if (axis != 1)
        return NERR(c, ZP_EUNSUPPORTED, "axis %lld would merge the batch dimension; only axis 1 "
                    "is supported", (long long)attr_i(c, "axis", 1));
    int64_t d[2] = {1, T(c, x)->size};
    return reshape_to(c, n, x, 2, d);
}

/* Reshape: dimension 0 is the batch (0, -1 or the exported batch size); the other
 * dims may use 0 (copy) and one -1 (inferred) over the per-image elements. */
static enum zp_status reshape_node(struct nctx *c, struct zp_node *n)
{
    static const char *const an[] = {"allowzero", NULL};
    static const int at[] = {AI};
    enum zp_status st;
    int x, s;
    if ((st = need_inputs(c, 2, 2)) || (st = check_attrs(c, an, at)) || (st = input_at(c, 0, &x)) ||
        (st = input_at(c, 1, &s)) || (st = need_act(c, x, "data", 1, ZP_MAXDIM)) ||
        (st = need_const(c, s, "shape", 0)))
        return st;
    const struct zp_tensor *S = T(c, s), *X = T(c, x);
    if (S->ndim != 1 || S->size < 1 || S->size > ZP_MAXDIM)
        return NERR(c, ZP_EUNSUPPORTED, "shape '%s' must have 1..%d values", S->name, ZP_MAXDIM);
    int nd = (int)S->size, infer = -1;
    int64_t d[ZP_MAXDIM], known = 1;
    d[0] = 1;
    for (int i = 1; i < nd; i++) {
        int64_t v = S->idata[i];
        if (v == 0) {
            if (attr_i(c, "allowzero", 0))
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
    return reshape_to(c, n, x, nd, d);
}

static enum zp_status softmax_node(struct nctx *c, struct zp_node *n)
{
    static const char *const an[] = {"axis", NULL};
    static const int at[] = {AI};
    enum zp_status st;
    int x;
    if ((st = need_inputs(c, 1, 1)) || (st = check_attrs(c, an, at)) || (st = input_at(c, 0, &x)) ||
        (st = need_act(c, x, "input", 2, ZP_MAXDIM)))
        return st;
    const struct zp_tensor *X = T(c, x);
    int old = c->L->g->opset < 13;
    int64_t axis = attr_i(c, "axis", old ? 1 : -1);
    if (axis < 0)
        axis += X->ndim;
    if (axis < 1 || axis >= X->ndim)
        return NERR(c, ZP_EUNSUPPORTED, "axis %lld not supported (the batch axis or out of range)",
                    (long long)attr_i(c, "axis", 0));
    n->sm_outer = prod(X->dims + 1, (int)axis - 1);
    if (old) { /* opset < 13: softmax over everything from axis on */
        n->sm_len = prod(X->dims + axis, X->ndim - (int)axis);
        n->sm_inner = 1;
    } else {
        n->sm_len = X->dims[axis];
        n->sm_inner = prod(X->dims + axis + 1, X->ndim - (int)axis - 1);
    }
    return unary_common(c, n, ZP_OP_SOFTMAX, x);
}

static enum zp_status constant_node(struct nctx *c)
{
    static const char *const an[] = {"value", NULL};
    static const int at[] = {AT};
    enum zp_status st;
    if ((st = need_inputs(c, 0, 0)) || (st = check_attrs(c, an, at)))
        return st;
    const Onnx__AttributeProto *a = attr(c, "value");
    if (!a || !a->t)
        return NERR(c, ZP_EUNSUPPORTED, "only the 'value' tensor form is supported");
    int t;
    return load_const(c->L, a->t, c->np->output[0], &t);
}

/* Cast to float32: the identity on float activations and constants (PyTorch casts
 * Clip's bounds); int64 constants are converted. Other targets are unsupported. */
static enum zp_status cast_node(struct nctx *c)
{
    static const char *const an[] = {"to", "saturate", NULL};
    static const int at[] = {AI, AI};
    enum zp_status st;
    int x;
    if ((st = need_inputs(c, 1, 1)) || (st = check_attrs(c, an, at)) || (st = input_at(c, 0, &x)))
        return st;
    if (x < 0)
        return NERR(c, ZP_EFORMAT, "missing input");
    if (attr_i(c, "to", 0) != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return NERR(c, ZP_EUNSUPPORTED, "cast to type %lld not supported (only float32)",
                    (long long)attr_i(c, "to", 0));
    if (!T(c, x)->is_const || T(c, x)->data)
        return alias_output(c, x);
    const char *on = c->np->output[0];
    if (lookup(c->L, on) >= 0)
        return NERR(c, ZP_EFORMAT, "output '%s' is already defined", on);
    int t = new_tensor(c->L, on);
    if (t < 0)
        return NERR(c, ZP_ENOMEM, "out of memory");
    struct zp_tensor *o = T(c, t), *X = T(c, x);
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

static enum zp_status convert_node(struct nctx *c, struct zp_node *n, const int *consumers)
{
    const char *op = c->op;
    static const char *const none[] = {NULL};
    enum zp_status st;
    int x;
    if (c->np->domain && *c->np->domain && strcmp(c->np->domain, "ai.onnx") != 0)
        return NERR(c, ZP_EUNSUPPORTED, "operator domain '%s' not supported", c->np->domain);
    if (!strcmp(op, "Conv"))
        return conv_node(c, n);
    if (!strcmp(op, "Gemm"))
        return gemm_node(c, n, 0);
    if (!strcmp(op, "MatMul"))
        return gemm_node(c, n, 1);
    if (!strcmp(op, "Add"))
        return binary_node(c, n, ZP_OP_ADD);
    if (!strcmp(op, "Mul"))
        return binary_node(c, n, ZP_OP_MUL);
    if (!strcmp(op, "Clip"))
        return clip_node(c, n);
    if (!strcmp(op, "BatchNormalization"))
        return bn_node(c, n, consumers);
    if (!strcmp(op, "AveragePool"))
        return pool_node(c, n, 0);
    if (!strcmp(op, "MaxPool"))
        return pool_node(c, n, 1);
    if (!strcmp(op, "Flatten"))
        return flatten_node(c, n);
    if (!strcmp(op, "Reshape"))
        return reshape_node(c, n);
    if (!strcmp(op, "Softmax"))
        return softmax_node(c, n);
    if (!strcmp(op, "Constant"))
        return constant_node(c);
    if (!strcmp(op, "Cast"))
        return cast_node(c);
    if (!strcmp(op, "Relu") || !strcmp(op, "GlobalAveragePool") || !strcmp(op, "Identity")) {
        if ((st = need_inputs(c, 1, 1)) || (st = check_attrs(c, none, NULL)) ||
            (st = input_at(c, 0, &x)))
            return st;
        if (!strcmp(op, "Identity"))
            return alias_output(c, x);
        if (!strcmp(op, "Relu")) {
            n->lo = 0.f;
            n->hi = FLT_MAX;
            return unary_common(c, n, ZP_OP_RELU, x);
        }
        if ((st = need_act(c, x, "X", 3, ZP_MAXDIM)))
            return st;
        int64_t d[ZP_MAXDIM];
        for (int i = 0; i < T(c, x)->ndim; i++)
            d[i] = i < 2 ? T(c, x)->dims[i] : 1;
        if ((st = add_output(c, n, T(c, x)->ndim, d)))
            return st;
        n->op = ZP_OP_GAP;
        n->in[0] = x;
        n->n_in = 1;
        n->channels = T(c, x)->dims[1];
        n->inner = T(c, x)->size / n->channels;
        return ZP_OK;
    }
    if (!strcmp(op, "Dropout")) {
        static const char *const an[] = {"seed", "ratio", "is_test", NULL};
        static const int at[] = {AI, AF, AI};
        if ((st = need_inputs(c, 1, 3)) || (st = check_attrs(c, an, at)) ||
            (st = input_at(c, 0, &x)))
            return st;
        if (x < 0)
            return NERR(c, ZP_EFORMAT, "missing input");
        /* inference: Dropout is the identity (its mask output must be unused) */
        return alias_output(c, x);
    }
    return NERR(c, ZP_EUNSUPPORTED, "operator not supported");
}

/* ---- graph-level checks and the execution plan ------------------------------ */

static enum zp_status load_input(struct loader *L, const Onnx__GraphProto *gp)
{
    const Onnx__ValueInfoProto *in = NULL;
    for (size_t i = 0; i < gp->n_input; i++) {
        const char *nm = str_or(gp->input[i]->name, "");
        if (lookup(L, nm) >= 0)
            continue; /* an initializer listed as input (older exporters) */
        if (in)
            return zp_err_set(L->err, ZP_EUNSUPPORTED,
                              "%s: graph has more than one input ('%s' and "
                              "'%s'); one image input is supported",
                              L->what, str_or(in->name, ""), nm);
        in = gp->input[i];
    }
    if (!in || !*str_or(in->name, ""))
        return zp_err_set(L->err, ZP_EFORMAT, "%s: graph has no (named) input", L->what);
    const char *nm = in->name;
    const Onnx__TypeProto *tp = in->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type ||
        !tp->tensor_type->shape)
        return zp_err_set(L->err, ZP_EFORMAT, "%s: input '%s': no tensor type with a shape",
                          L->what, nm);
    if (tp->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return zp_err_set(L->err, ZP_EUNSUPPORTED,
                          "%s: input '%s': element type %d, expected float32", L->what, nm,
                          tp->tensor_type->elem_type);
    const Onnx__TensorShapeProto *sh = tp->tensor_type->shape;
    if (sh->n_dim < 2 || sh->n_dim > 5)
        return zp_err_set(L->err, ZP_EUNSUPPORTED,
                          "%s: input '%s': rank %zu, expected 2..5 (batch first)", L->what, nm,
                          sh->n_dim);
    int t = new_tensor(L, nm);
    if (t < 0)
        return zp_err_set(L->err, ZP_ENOMEM, "%s: out of memory", L->what);
    struct zp_tensor *X = &L->g->tensors[t];
    X->ndim = (int)sh->n_dim;
    X->dims[0] = 1;
    for (int i = 1; i < X->ndim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = sh->dim[i];
        if (d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ||
            d->dim_value < 1)
            return zp_err_set(L->err, ZP_EUNSUPPORTED, "%s: input '%s': dimension %d must be a "
                              "fixed positive size", L->what, nm, i);
        X->dims[i] = d->dim_value;
    }
    if (!dims_ok(X->dims + 1, X->ndim - 1, 1, &X->size))
        return zp_err_set(L->err, ZP_EUNSUPPORTED, "%s: input '%s': too large", L->what, nm);
    L->g->input = t;
    return ZP_OK;
}

static enum zp_status build(struct loader *L, const Onnx__ModelProto *m)
{
    struct zp_graph *g = L->g;
    const Onnx__GraphProto *gp = m->graph;
    if (!gp)
        return zp_err_set(L->err, ZP_EFORMAT, "%s: not an ONNX model (no graph)", L->what);
    g->opset = 0;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const char *d = m->opset_import[i]->domain;
        if (!d || !*d || !strcmp(d, "ai.onnx"))
            g->opset = m->opset_import[i]->version;
    }
    if (g->opset <= 0)
        g->opset = 13; /* missing opset_import: assume a current one */
    size_t names = gp->n_initializer + gp->n_input + 1;
    for (size_t i = 0; i < gp->n_node; i++)
        names += gp->node[i]->n_output;
    if (names > (1u << 24))
        return zp_err_set(L->err, ZP_EUNSUPPORTED, "%s: graph too large (%zu names)", L->what,
                          names);
    L->hcap = 64;
    while (L->hcap < 2 * names)
        L->hcap *= 2;
    L->hkeys = calloc(L->hcap, sizeof *L->hkeys);
    L->hvals = calloc(L->hcap, sizeof *L->hvals);
    g->nodes = calloc(gp->n_node ? gp->n_node : 1, sizeof *g->nodes);
    g->cap_tensors = (int)names;
    g->tensors = calloc(names, sizeof *g->tensors);
    if (!L->hkeys || !L->hvals || !g->nodes || !g->tensors)
        return zp_err_set(L->err, ZP_ENOMEM, "%s: out of memory", L->what);
    enum zp_status st;
    int t;
    for (size_t i = 0; i < gp->n_initializer; i++)
        if ((st = load_const(L, gp->initializer[i], gp->initializer[i]->name, &t)))
            return st;
    if ((st = load_input(L, gp)))
        return st;
    /* readers of a Conv output over the WHOLE graph (later nodes included), filled
     * for BatchNormalization inputs only: folding needs it to be the sole reader */
    int *consumers = calloc((size_t)(names + 1), sizeof *consumers);
    if (!consumers)
        return zp_err_set(L->err, ZP_ENOMEM, "%s: out of memory", L->what);
    /* BN folding needs the number of readers of the Conv output over the WHOLE
     * graph, later nodes included: count by name with a temporary pass. */
    st = ZP_OK;
    for (size_t i = 0; i < gp->n_node && !st; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        char fallback[32];
        snprintf(fallback, sizeof fallback, "#%zu", i);
        struct nctx c = {L, np, NULL, str_or(np->op_type, "?")};
        c.name = str_or(np->name, np->n_output && np->output[0][0] ? np->output[0] : fallback);
        c.name = keep_str(g, c.name);
        if (!c.name) {
            st = zp_err_set(L->err, ZP_ENOMEM, "%s: out of memory", L->what);
            break;
        }
        struct zp_node *n = &g->nodes[g->n_nodes];
        memset(n, 0, sizeof *n);
        n->in[0] = n->in[1] = -1;
        n->out = -1;
        n->layer = -1;
        n->name = c.name;
        n->op_type = keep_str(g, c.op);
        if (!n->op_type) {
            st = zp_err_set(L->err, ZP_ENOMEM, "%s: out of memory", L->what);
            break;
        }
        if (!strcmp(c.op, "BatchNormalization") && np->n_input >= 1) {
            int x = lookup(L, np->input[0]);
            if (x >= 0 && x < (int)(names + 1)) {
                int cnt = 0;
                for (size_t j = 0; j < gp->n_node; j++)
                    for (size_t k = 0; k < gp->node[j]->n_input; k++)
                        cnt += strcmp(gp->node[j]->input[k], np->input[0]) == 0;
                for (size_t j = 0; j < gp->n_output; j++)
                    cnt += gp->output[j]->name && strcmp(gp->output[j]->name, np->input[0]) == 0;
                consumers[x] = cnt;
            }
        }
        st = convert_node(&c, n, consumers);
        if (!st && n->out >= 0)
            g->n_nodes++;
    }
    free(consumers);
    if (st)
        return st;
    if (gp->n_output < 1 || !gp->output[0]->name)
        return zp_err_set(L->err, ZP_EFORMAT, "%s: graph has no output", L->what);
    g->output = lookup(L, gp->output[0]->name);
    if (g->output < 0)
        return zp_err_set(L->err, ZP_EFORMAT, "%s: graph output '%s' is not produced by any node",
                          L->what, gp->output[0]->name);
    if (g->tensors[g->output].is_const)
        return zp_err_set(L->err, ZP_EUNSUPPORTED, "%s: graph output '%s' is a constant", L->what,
                          gp->output[0]->name);
    if ((st = zp_graph_plan(g)))
        return zp_err_set(L->err, st, "%s: out of memory", L->what);
    int64_t scratch = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == ZP_OP_CONV) {
            int64_t s = zp_op_conv_scratch(g, &g->nodes[i]);
            if (s > scratch)
                scratch = s;
        }
    g->scratch_size = scratch;
    zp_graph_fill_layers(g);
    return ZP_OK;
}

enum zp_status zp_onnx_load_buffer(const void *buf, size_t len, const char *what,
                                   struct zp_graph **out, struct zp_err *err)
{
    *out = NULL;
    what = what ? what : "(buffer)";
    if (!buf || len == 0)
        return zp_err_set(err, ZP_EFORMAT, "%s: empty file", what);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    if (!m)
        return zp_err_set(err, ZP_EFORMAT, "%s: not a valid ONNX protobuf (truncated or corrupt)",
                          what);
    struct zp_graph *g = calloc(1, sizeof *g);
    if (!g) {
        onnx__model_proto__free_unpacked(m, NULL);
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", what);
    }
    g->input = g->output = -1;
    (void)zp_model_avx512(); /* detect the CPU now, before any threads run kernels */
    struct loader L = {g, what, err, NULL, NULL, 0};
    enum zp_status st = build(&L, m);
    free(L.hkeys);
    free(L.hvals);
    onnx__model_proto__free_unpacked(m, NULL);
    if (st) {
        zp_graph_free(g);
        return st;
    }
    *out = g;
    return ZP_OK;
}

enum zp_status zp_onnx_load(const char *path, struct zp_graph **out, struct zp_err *err)
{
    *out = NULL;
    char *buf = NULL;
    size_t len = 0;
    /* Regular files only, read with the size fstat gives, at most the model
     * file limit (ZP_MAX_MODEL_MB; see common/file.h). */
    enum zp_status st = zp_file_read(path, zp_file_model_max_bytes(), "model file", &buf, &len, err);
    if (st != ZP_OK)
        return st;
    st = zp_onnx_load_buffer(buf, len, path, out, err);
    free(buf);
    return st;
}
