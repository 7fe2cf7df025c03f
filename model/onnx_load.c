/* ONNX import: protobuf-c parses the bytes, then everything is validated here
 * before the graph exists (dims, data sizes, attribute types, tensor names,
 * topological order), because a model file is user input: a corrupt or hostile
 * file must give an error naming the node or tensor, never a crash.
 *
 * This file: the loader (tensor names, initializers, the graph input, the node
 * loop, the public entry points); node attributes are model/onnx_attrs.c, the
 * operators model/onnx_nodes_layers.c and model/onnx_nodes_other.c. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#include "common/file.h"
#include "common/mem.h"
#include "model/graph_train.h"
#include "model/onnx_load_internal.h"

/* ---- small helpers ---------------------------------------------------------- */

const char *ol_str_or(const char *s, const char *dflt) { return s && *s ? s : dflt; }

char *ol_keep_str(struct zp_graph *g, const char *s)
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

int ol_lookup(const struct loader *L, const char *name)
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
void ol_bind(struct loader *L, const char *name, int t)
{
    size_t i = hash_str(name) & (L->hcap - 1);
    while (L->hkeys[i] && strcmp(L->hkeys[i], name) != 0)
        i = (i + 1) & (L->hcap - 1);
    L->hkeys[i] = (char *)name;
    L->hvals[i] = t;
}

/* The tensor array is sized once in build() (initializers + input + one per node
 * output), so it never moves: converters keep zp_tensor pointers across calls. */
int ol_new_tensor(struct loader *L, const char *name)
{
    struct zp_graph *g = L->g;
    if (g->n_tensors == g->cap_tensors)
        return -1;
    struct zp_tensor *t = &g->tensors[g->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = ol_keep_str(g, name);
    if (!t->name)
        return -1;
    t->producer = -1;
    ol_bind(L, t->name, g->n_tensors);
    return g->n_tensors++;
}

int64_t ol_prod(const int64_t *d, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= d[i];
    return p;
}

/* Checks dims (>= 0 for constants, >= 1 for activations) and the element limit;
 * computes the product without overflow. */
int ol_dims_ok(const int64_t *d, int n, int64_t min_dim, int64_t *size)
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

enum zp_status ol_load_const(struct loader *L, const Onnx__TensorProto *tp, const char *name,
                                 int *out)
{
    const char *tn = ol_str_or(name, "(unnamed)");
    if (tp->n_dims > ZP_MAXDIM)
        return zp_err_set(L->err, ZP_EUNSUPPORTED,
                          "%s: tensor '%s': %zu dimensions, at most %d supported", L->what, tn,
                          tp->n_dims, ZP_MAXDIM);
    int64_t size;
    if (!ol_dims_ok(tp->dims, (int)tp->n_dims, 0, &size))
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
    if (ol_lookup(L, tn) >= 0)
        return zp_err_set(L->err, ZP_EFORMAT, "%s: tensor '%s' is defined twice", L->what, tn);
    int t = ol_new_tensor(L, tn);
    if (t < 0)
        return zp_err_set(L->err, ZP_ENOMEM, "%s: out of memory", L->what);
    struct zp_tensor *ol_T = &L->g->tensors[t];
    ol_T->is_const = 1;
    ol_T->ndim = (int)tp->n_dims;
    for (int i = 0; i < ol_T->ndim; i++)
        ol_T->dims[i] = tp->dims[i];
    ol_T->size = size;
    void *buf = zp_alloc(size ? (size_t)size * esz : esz);
    if (!buf)
        return zp_err_set(L->err, ZP_ENOMEM, "%s: tensor '%s': out of memory", L->what, tn);
    if (size)
        memcpy(buf, src, (size_t)size * esz);
    if (esz == 4)
        ol_T->data = buf;
    else
        ol_T->idata = buf;
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


/* ---- graph-level checks and the execution plan ------------------------------ */

/* zp_onnx_check: reports the error just set (status st) and clears it, keeping
 * the first for the return value. */
static void note_problem(struct loader *L, enum zp_status st)
{
    (void)st;
    L->report(L->report_ctx, L->err->msg);
    if (!L->n_bad++)
        L->first = *L->err;
    zp_err_clear(L->err);
}

/* Graph input problems in zp_onnx_check: reported like a node's, and the input
 * is still created with its shape when it has a fixed one (else marked unknown),
 * so the nodes reading it are checked too. */
static enum zp_status input_problem(struct loader *L, const Onnx__ValueInfoProto *in,
                                    enum zp_status st)
{
    if (!L->report)
        return st;
    note_problem(L, st);
    const char *nm = ol_str_or(in->name, "");
    if (!*nm || ol_lookup(L, nm) >= 0)
        return ZP_OK;
    int t = ol_new_tensor(L, nm);
    if (t < 0)
        return zp_err_set(L->err, ZP_ENOMEM, "%s: out of memory", L->what);
    struct zp_tensor *X = &L->g->tensors[t];
    const Onnx__TypeProto *tp = in->type;
    const Onnx__TensorShapeProto *sh =
        tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && tp->tensor_type
            ? tp->tensor_type->shape : NULL;
    int ok = sh && sh->n_dim >= 1 && sh->n_dim <= ZP_MAXDIM;
    X->ndim = ok ? (int)sh->n_dim : 0;
    X->dims[0] = 1;
    for (int i = 1; ok && i < X->ndim; i++) {
        ok = sh->dim[i]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
             sh->dim[i]->dim_value >= 1;
        X->dims[i] = ok ? sh->dim[i]->dim_value : 1;
    }
    if (!ok || !ol_dims_ok(X->dims + 1, X->ndim - 1, 1, &X->size))
        L->unknown[t] = 1;
    return ZP_OK;
}

static enum zp_status load_input(struct loader *L, const Onnx__GraphProto *gp)
{
    const Onnx__ValueInfoProto *in = NULL;
    enum zp_status st;
    for (size_t i = 0; i < gp->n_input; i++) {
        const char *nm = ol_str_or(gp->input[i]->name, "");
        if (ol_lookup(L, nm) >= 0)
            continue; /* an initializer listed as input (older exporters) */
        if (in) {
            st = zp_err_set(L->err, ZP_EUNSUPPORTED,
                            "%s: graph has more than one input ('%s' and "
                            "'%s'); one image input is supported",
                            L->what, ol_str_or(in->name, ""), nm);
            if ((st = input_problem(L, gp->input[i], st)))
                return st;
            continue;
        }
        in = gp->input[i];
    }
    if (!in || !*ol_str_or(in->name, ""))
        return zp_err_set(L->err, ZP_EFORMAT, "%s: graph has no (named) input", L->what);
    const char *nm = in->name;
    const Onnx__TypeProto *tp = in->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type ||
        !tp->tensor_type->shape)
        return zp_err_set(L->err, ZP_EFORMAT, "%s: input '%s': no tensor type with a shape",
                          L->what, nm);
    const int elem = tp->tensor_type->elem_type;
    if (elem != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && elem != ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
        st = zp_err_set(L->err, ZP_EUNSUPPORTED,
                        "%s: input '%s': element type %d, expected float32 or int64", L->what, nm,
                        elem);
        return input_problem(L, in, st);
    }
    const Onnx__TensorShapeProto *sh = tp->tensor_type->shape;
    if (sh->n_dim < 2 || sh->n_dim > 5)
        return input_problem(L, in, zp_err_set(L->err, ZP_EUNSUPPORTED,
                             "%s: input '%s': rank %zu, expected 2..5 (batch first)", L->what,
                             nm, sh->n_dim));
    for (int i = 1; i < (int)sh->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = sh->dim[i];
        if (d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ||
            d->dim_value < 1)
            return input_problem(L, in, zp_err_set(L->err, ZP_EUNSUPPORTED, "%s: input '%s': "
                                 "dimension %d must be a fixed positive size", L->what, nm, i));
    }
    int t = ol_new_tensor(L, nm);
    if (t < 0)
        return zp_err_set(L->err, ZP_ENOMEM, "%s: out of memory", L->what);
    struct zp_tensor *X = &L->g->tensors[t];
    X->ndim = (int)sh->n_dim;
    X->dims[0] = 1;
    for (int i = 1; i < X->ndim; i++)
        X->dims[i] = sh->dim[i]->dim_value;
    if (!ol_dims_ok(X->dims + 1, X->ndim - 1, 1, &X->size))
        return zp_err_set(L->err, ZP_EUNSUPPORTED, "%s: input '%s': too large", L->what, nm);
    /* int64 ids (tokens) travel as floats holding integers: zp_graph_run checks them */
    X->is_index = elem == ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    L->g->input = t;
    return ZP_OK;
}

/* zp_onnx_check: the outputs of node np are unknown (it failed, or reads an
 * unknown tensor); 1 when a tensor could not be made (out of memory). */
static int mark_unknown(struct loader *L, const Onnx__NodeProto *np)
{
    for (size_t k = 0; k < np->n_output; k++) {
        if (!np->output[k][0])
            continue;
        int t = ol_lookup(L, np->output[k]);
        if (t < 0 && (t = ol_new_tensor(L, np->output[k])) < 0)
            return 1;
        L->unknown[t] = 1;
    }
    return 0;
}

static int reads_unknown(const struct loader *L, const Onnx__NodeProto *np)
{
    for (size_t k = 0; k < np->n_input; k++) {
        int t = ol_lookup(L, np->input[k]);
        if (t >= 0 && L->unknown[t])
            return 1;
    }
    return 0;
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
    for (size_t i = 0; i < gp->n_node; i++) /* + a Concat's intermediate results */
        names += gp->node[i]->n_output + (gp->node[i]->n_input > 2 ? gp->node[i]->n_input : 0);
    if (names > (1u << 24) || gp->n_node > (1u << 24))
        return zp_err_set(L->err, ZP_EUNSUPPORTED, "%s: graph too large (%zu names)", L->what,
                          names);
    L->hcap = 64;
    while (L->hcap < 2 * names)
        L->hcap *= 2;
    L->hkeys = calloc(L->hcap, sizeof *L->hkeys);
    L->hvals = calloc(L->hcap, sizeof *L->hvals);
    /* one per node; a Split one per output, a Concat one per input after the first */
    size_t node_slots = 1;
    for (size_t i = 0; i < gp->n_node; i++) {
        size_t k = gp->node[i]->n_output > gp->node[i]->n_input ? gp->node[i]->n_output
                                                                  : gp->node[i]->n_input;
        node_slots += k > 1 ? k : 1;
    }
    g->nodes = calloc(node_slots, sizeof *g->nodes);
    g->cap_tensors = (int)names;
    g->tensors = calloc(names, sizeof *g->tensors);
    if (L->report)
        L->unknown = calloc(names, 1);
    if (!L->hkeys || !L->hvals || !g->nodes || !g->tensors || (L->report && !L->unknown))
        return zp_err_set(L->err, ZP_ENOMEM, "%s: out of memory", L->what);
    enum zp_status st;
    int t;
    for (size_t i = 0; i < gp->n_initializer; i++)
        if ((st = ol_load_const(L, gp->initializer[i], gp->initializer[i]->name, &t)))
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
        struct nctx c = {L, np, NULL, ol_str_or(np->op_type, "?"), consumers};
        c.name = ol_str_or(np->name, np->n_output && np->output[0][0] ? np->output[0] : fallback);
        c.name = ol_keep_str(g, c.name);
        if (!c.name) {
            st = zp_err_set(L->err, ZP_ENOMEM, "%s: out of memory", L->what);
            break;
        }
        if (L->report && reads_unknown(L, np)) {
            /* its input shapes are unknown: only the operator itself can be checked */
            if (ol_convert_fn_of(&c) == NULL)
                note_problem(L, ol_unsupported_op(&c));
            if (mark_unknown(L, np))
                st = zp_err_set(L->err, ZP_ENOMEM, "%s: out of memory", L->what);
            continue;
        }
        struct zp_node *n = &g->nodes[g->n_nodes];
        memset(n, 0, sizeof *n);
        n->in[0] = n->in[1] = -1;
        n->out = -1;
        n->layer = -1;
        n->name = c.name;
        n->op_type = ol_keep_str(g, c.op);
        if (!n->op_type) {
            st = zp_err_set(L->err, ZP_ENOMEM, "%s: out of memory", L->what);
            break;
        }
        if (!strcmp(c.op, "BatchNormalization") && np->n_input >= 1) {
            int x = ol_lookup(L, np->input[0]);
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
        st = ol_convert_node(&c, n);
        if (st && st != ZP_ENOMEM && L->report) {
            note_problem(L, st);
            st = mark_unknown(L, np) ? zp_err_set(L->err, ZP_ENOMEM, "%s: out of memory", L->what)
                                     : ZP_OK;
            continue;
        }
        if (!st && n->out >= 0)
            g->n_nodes++;
    }
    free(consumers);
    if (st)
        return st;
    if (L->n_bad) {
        *L->err = L->first;
        return L->first.status;
    }
    if (gp->n_output < 1 || !gp->output[0]->name)
        return zp_err_set(L->err, ZP_EFORMAT, "%s: graph has no output", L->what);
    g->output = ol_lookup(L, gp->output[0]->name);
    if (g->output < 0)
        return zp_err_set(L->err, ZP_EFORMAT, "%s: graph output '%s' is not produced by any node",
                          L->what, gp->output[0]->name);
    if (g->tensors[g->output].is_const)
        return zp_err_set(L->err, ZP_EUNSUPPORTED, "%s: graph output '%s' is a constant", L->what,
                          gp->output[0]->name);
    if ((st = zp_graph_plan(g)))
        return zp_err_set(L->err, st, "%s: out of memory", L->what);
    int64_t scratch = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const struct zp_node *n = &g->nodes[i];
        int64_t s = n->op == ZP_OP_CONV ? zp_op_conv_scratch(g, n) : zp_op_mm_scratch(g, n);
        if (s > scratch)
            scratch = s;
    }
    g->scratch_size = scratch;
    zp_graph_fill_layers(g);
    return ZP_OK;
}

static enum zp_status load_buffer(const void *buf, size_t len, const char *what, int keep_bn,
                                  struct loader *check, struct zp_graph **out,
                                  struct zp_err *err)
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
    struct loader L = {g, what, err, NULL, NULL, 0, keep_bn, NULL, NULL, 0, NULL, {0}};
    if (check) {
        L.report = check->report;
        L.report_ctx = check->report_ctx;
    }
    enum zp_status st = build(&L, m);
    if (check)
        check->n_bad = L.n_bad;
    free(L.hkeys);
    free(L.hvals);
    free(L.unknown);
    onnx__model_proto__free_unpacked(m, NULL);
    if (st) {
        zp_graph_free(g);
        return st;
    }
    *out = g;
    return ZP_OK;
}

enum zp_status zp_onnx_load_buffer(const void *buf, size_t len, const char *what,
                                   struct zp_graph **out, struct zp_err *err)
{
    return load_buffer(buf, len, what, 0, NULL, out, err);
}

enum zp_status zp_onnx_load_train_buffer(const void *buf, size_t len, const char *what,
                                         struct zp_graph **out, struct zp_err *err)
{
    return load_buffer(buf, len, what, 1, NULL, out, err);
}

static enum zp_status load_file(const char *path, int keep_bn, struct loader *check,
                                struct zp_graph **out, struct zp_err *err)
{
    *out = NULL;
    char *buf = NULL;
    size_t len = 0;
    /* Regular files only, read with the size fstat gives, at most the model
     * file limit (ZP_MAX_MODEL_MB; see common/file.h). */
    enum zp_status st = zp_file_read(path, zp_file_model_max_bytes(), "model file", &buf, &len, err);
    if (st != ZP_OK)
        return st;
    st = load_buffer(buf, len, path, keep_bn, check, out, err);
    free(buf);
    return st;
}

enum zp_status zp_onnx_load(const char *path, struct zp_graph **out, struct zp_err *err)
{
    return load_file(path, 0, NULL, out, err);
}

enum zp_status zp_onnx_load_train(const char *path, struct zp_graph **out, struct zp_err *err)
{
    return load_file(path, 1, NULL, out, err);
}

enum zp_status zp_onnx_check(const char *path, void (*report)(void *ctx, const char *msg),
                             void *ctx, int *n_bad, struct zp_err *err)
{
    struct loader check = {0};
    check.report = report;
    check.report_ctx = ctx;
    struct zp_graph *g = NULL;
    enum zp_status st = load_file(path, 0, &check, &g, err);
    zp_graph_free(g);
    *n_bad = check.n_bad;
    return st;
}
