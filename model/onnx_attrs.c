/* ONNX import: the node being converted, its attributes, inputs and outputs,
 * each checked with an error that names the node (model/onnx_load_internal.h). */
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

/* Every node error names the model, the node and its operator. */
enum zp_status ol_node_err(struct nctx *c, enum zp_status st, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return zp_err_set(c->L->err, st, "%s: node '%s' (%s): %s", c->L->what, c->name, c->op, msg);
}

const Onnx__AttributeProto *ol_attr(struct nctx *c, const char *name)
{
    for (size_t i = 0; i < c->np->n_attribute; i++)
        if (c->np->attribute[i]->name && strcmp(c->np->attribute[i]->name, name) == 0)
            return c->np->attribute[i];
    return NULL;
}

/* Rejects attributes outside `allowed` (NULL-terminated) and mistyped ones. */
enum zp_status ol_check_attrs(struct nctx *c, const char *const *allowed, const int *types)
{
    for (size_t i = 0; i < c->np->n_attribute; i++) {
        const Onnx__AttributeProto *a = c->np->attribute[i];
        const char *an = ol_str_or(a->name, "");
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

int64_t ol_attr_i(struct nctx *c, const char *name, int64_t dflt)
{
    const Onnx__AttributeProto *a = ol_attr(c, name);
    return a ? a->i : dflt;
}

float ol_attr_f(struct nctx *c, const char *name, float dflt)
{
    const Onnx__AttributeProto *a = ol_attr(c, name);
    return a ? a->f : dflt;
}

/* Copies an INTS attribute of exactly n values (returns 0 if absent). */
enum zp_status ol_attr_ints(struct nctx *c, const char *name, int64_t *v, size_t n,
                                int *present)
{
    const Onnx__AttributeProto *a = ol_attr(c, name);
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

int ol_attr_str_is(struct nctx *c, const char *name, const char *val, const char *dflt)
{
    const Onnx__AttributeProto *a = ol_attr(c, name);
    if (!a || !a->has_s)
        return strcmp(dflt, val) == 0;
    return a->s.len == strlen(val) && memcmp(a->s.data, val, a->s.len) == 0;
}

/* Input i of the node: tensor index, -1 when absent (empty name or beyond n_input). */
enum zp_status ol_input_at(struct nctx *c, size_t i, int *t)
{
    *t = -1;
    if (i >= c->np->n_input || !c->np->input[i][0])
        return ZP_OK;
    int k = ol_lookup(c->L, c->np->input[i]);
    if (k < 0)
        return NERR(c, ZP_EFORMAT, "input '%s' is not defined before this node (undefined tensor, "
                    "a cycle, or nodes not in topological order)", c->np->input[i]);
    *t = k;
    return ZP_OK;
}

enum zp_status ol_need_inputs(struct nctx *c, size_t lo, size_t hi)
{
    if (c->np->n_input < lo || c->np->n_input > hi)
        return NERR(c, ZP_EFORMAT, "%zu inputs, expected %zu..%zu", c->np->n_input, lo, hi);
    if (c->np->n_output < 1 || !c->np->output[0][0])
        return NERR(c, ZP_EFORMAT, "no output");
    return ZP_OK;
}

struct zp_tensor *ol_T(struct nctx *c, int t) { return &c->L->g->tensors[t]; }

enum zp_status ol_need_act(struct nctx *c, int t, const char *what, int min_nd, int max_nd)
{
    if (t < 0)
        return NERR(c, ZP_EFORMAT, "missing %s input", what);
    if (ol_T(c, t)->is_const)
        return NERR(c, ZP_EUNSUPPORTED, "%s input '%s' is a constant; expected an activation",
                    what, ol_T(c, t)->name);
    if (ol_T(c, t)->ndim < min_nd || ol_T(c, t)->ndim > max_nd)
        return NERR(c, ZP_EUNSUPPORTED, "%s input '%s' has rank %d, expected %d..%d", what,
                    ol_T(c, t)->name, ol_T(c, t)->ndim, min_nd, max_nd);
    return ZP_OK;
}

enum zp_status ol_need_const(struct nctx *c, int t, const char *what, int fl)
{
    if (t < 0)
        return NERR(c, ZP_EFORMAT, "missing %s input", what);
    if (!ol_T(c, t)->is_const)
        return NERR(c, ZP_EUNSUPPORTED, "%s input '%s' must be an initializer", what,
                    ol_T(c, t)->name);
    if (fl && !ol_T(c, t)->data)
        return NERR(c, ZP_EUNSUPPORTED, "%s input '%s' must be float32", what, ol_T(c, t)->name);
    if (!fl && !ol_T(c, t)->idata)
        return NERR(c, ZP_EUNSUPPORTED, "%s input '%s' must be int64", what, ol_T(c, t)->name);
    return ZP_OK;
}

/* Creates the activation `on` with the given full shape (batch first), produced
 * by node g->n_nodes + k (a Split makes one node per output, a Concat of more
 * than two inputs a chain); ol_add_output_k: the node's output k;
 * ol_add_output: output 0. */
enum zp_status ol_add_named_output(struct nctx *c, struct zp_node *n, const char *on, size_t k,
                                   int ndim, const int64_t *dims)
{
    if (ol_lookup(c->L, on) >= 0)
        return NERR(c, ZP_EFORMAT, "output '%s' is already defined", on);
    int64_t size;
    if (ndim < 1 || ndim > ZP_MAXDIM || !ol_dims_ok(dims + 1, ndim - 1, 1, &size))
        return NERR(c, ZP_EUNSUPPORTED, "output '%s' would have an empty or too large shape", on);
    int t = ol_new_tensor(c->L, on);
    if (t < 0)
        return NERR(c, ZP_ENOMEM, "out of memory");
    struct zp_tensor *o = ol_T(c, t);
    o->ndim = ndim;
    o->dims[0] = 1;
    for (int i = 1; i < ndim; i++)
        o->dims[i] = dims[i];
    o->size = size;
    o->producer = c->L->g->n_nodes + (int)k;
    n->out = t;
    return ZP_OK;
}

enum zp_status ol_add_output_k(struct nctx *c, struct zp_node *n, size_t k, int ndim,
                               const int64_t *dims)
{
    return ol_add_named_output(c, n, c->np->output[k], k, ndim, dims);
}

enum zp_status ol_add_output(struct nctx *c, struct zp_node *n, int ndim, const int64_t *dims)
{
    return ol_add_output_k(c, n, 0, ndim, dims);
}

/* Binds the node's output name to an existing tensor (Identity, Dropout, folded BN). */
enum zp_status ol_alias_output(struct nctx *c, int t)
{
    const char *on = c->np->output[0];
    if (ol_lookup(c->L, on) >= 0)
        return NERR(c, ZP_EFORMAT, "output '%s' is already defined", on);
    char *k = ol_keep_str(c->L->g, on);
    if (!k)
        return NERR(c, ZP_ENOMEM, "out of memory");
    ol_bind(c->L, k, t);
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
enum zp_status ol_window_attrs(struct nctx *c, struct zp_node *n, int64_t H, int64_t W,
                                   int64_t *OH, int64_t *OW)
{
    int64_t v[4];
    int present;
    enum zp_status st;
    n->sh = n->sw = n->dh = n->dw = 1;
    if ((st = ol_attr_ints(c, "strides", v, 2, &present)))
        return st;
    if (present) { n->sh = v[0]; n->sw = v[1]; }
    if (ol_attr(c, "dilations")) {
        if ((st = ol_attr_ints(c, "dilations", v, 2, &present)))
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
    if ((st = ol_attr_ints(c, "pads", v, 4, &present)))
        return st;
    if (present) {
        /* ONNX order: [top, left, bottom, right] = x1_begin, x2_begin, x1_end, x2_end */
        for (int i = 0; i < 4; i++) {
            if (v[i] < 0 || v[i] > 4096)
                return NERR(c, ZP_EUNSUPPORTED, "pads must be in 0..4096");
            n->pads[i] = v[i];
        }
    }
    const Onnx__AttributeProto *ap = ol_attr(c, "auto_pad");
    if (ap && !ol_attr_str_is(c, "auto_pad", "NOTSET", "NOTSET")) {
        int upper = ol_attr_str_is(c, "auto_pad", "SAME_UPPER", "");
        int lower = ol_attr_str_is(c, "auto_pad", "SAME_LOWER", "");
        int valid = ol_attr_str_is(c, "auto_pad", "VALID", "");
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

/* A variadic op as a chain of two-input nodes: ((x0 op x1) op x2) ... Link j
 * fills n (j = 1) or the node slot after it (build() sizes g->nodes for that),
 * with output "<output>#<tag><j>" (the last: the node's output); t0 is input 0.
 * Adds the extra nodes to g->n_nodes (build() counts n itself). */
enum zp_status ol_chain(struct nctx *c, struct zp_node *n, int t0, ol_pair_fn pair, int arg,
                        const char *tag)
{
    struct zp_graph *g = c->L->g;
    const struct zp_node base = *n;
    const size_t k = c->np->n_input;
    enum zp_status st;
    int t;
    for (size_t j = 1; j < k; j++) {
        if ((st = ol_input_at(c, j, &t)))
            return st;
        if (t < 0)
            return NERR(c, ZP_EFORMAT, "missing input %zu", j);
        struct zp_node *m = j == 1 ? n : &g->nodes[g->n_nodes + j - 1];
        if (j > 1)
            *m = base;
        char mid[600]; /* an intermediate's name; the last link writes the output itself */
        snprintf(mid, sizeof mid, "%.500s#%.40s%zu", c->np->output[0], tag, j);
        if ((st = pair(c, m, arg, t0, t, j + 1 < k ? mid : c->np->output[0], j - 1)))
            return st;
        t0 = m->out;
    }
    g->n_nodes += (int)k - 2;
    return ZP_OK;
}
