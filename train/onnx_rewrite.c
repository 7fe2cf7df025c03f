/* Trained values written into the source ONNX model (see train/onnx_rewrite.h).
 * protobuf-c decodes with malloc / free (the default allocator), so every field
 * replaced here is freed and the new one malloc'ed: onnx__model_proto__free_unpacked
 * then releases the edited model like a decoded one. */
#include "train/onnx_rewrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

void zp_bn_records_free(struct zp_bn_record *r, int n)
{
    for (int i = 0; r && i < n; i++) {
        free(r[i].gamma);
        free(r[i].beta);
        free(r[i].mean);
        free(r[i].var);
    }
}

/* The name the loader gives a node (model/graph.h zp_layer_info.name). */
static const char *node_name(const Onnx__NodeProto *nd)
{
    if (nd->name && nd->name[0])
        return nd->name;
    return nd->n_output ? nd->output[0] : "";
}

static Onnx__NodeProto *find_node(Onnx__GraphProto *G, const char *name, size_t *at)
{
    for (size_t i = 0; i < G->n_node; i++)
        if (G->node[i] && strcmp(node_name(G->node[i]), name) == 0) {
            if (at)
                *at = i;
            return G->node[i];
        }
    return NULL;
}

static Onnx__TensorProto *find_init(Onnx__GraphProto *G, const char *name)
{
    for (size_t i = 0; i < G->n_initializer; i++)
        if (strcmp(G->initializer[i]->name, name) == 0)
            return G->initializer[i];
    return NULL;
}

static int uses(const Onnx__GraphProto *G, const char *name)
{
    int n = 0;
    for (size_t i = 0; i < G->n_node; i++)
        for (size_t k = 0; G->node[i] && k < G->node[i]->n_input; k++)
            n += strcmp(G->node[i]->input[k], name) == 0;
    return n;
}

/* Replaces t's data with n floats (raw little-endian, this machine's layout)
 * and its dims with dims[ndim]. */
static enum zp_status set_tensor(Onnx__TensorProto *t, const float *data, const int64_t *dims,
                                 int ndim, struct zp_err *err)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)dims[i];
    uint8_t *raw = malloc(n * sizeof(float) + 1);
    int64_t *d = malloc(sizeof(int64_t) * (size_t)(ndim + 1));
    if (!raw || !d) {
        free(raw);
        free(d);
        return zp_err_set(err, ZP_ENOMEM, "onnx rewrite: out of memory");
    }
    memcpy(raw, data, n * sizeof(float));
    memcpy(d, dims, sizeof(int64_t) * (size_t)ndim);
    free(t->raw_data.data);
    free(t->float_data);
    free(t->dims);
    t->float_data = NULL;
    t->n_float_data = 0;
    t->has_raw_data = 1;
    t->raw_data.data = raw;
    t->raw_data.len = n * sizeof(float);
    t->dims = d;
    t->n_dims = (size_t)ndim;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    return ZP_OK;
}

static enum zp_status set_named(Onnx__GraphProto *G, const char *name, const float *data,
                                const int64_t *dims, int ndim, const char *what,
                                struct zp_err *err)
{
    Onnx__TensorProto *t = find_init(G, name);
    if (!t)
        return zp_err_set(err, ZP_EFORMAT, "onnx rewrite: %s: initializer '%s' not found", what,
                          name);
    if (uses(G, name) > 1)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "onnx rewrite: %s: initializer '%s' is shared by several nodes, so "
                          "one trained copy cannot be written",
                          what, name);
    return set_tensor(t, data, dims, ndim, err);
}

/* A new initializer (a Conv's bias after the fold) appended to G. */
static enum zp_status add_init(Onnx__GraphProto *G, const char *name, const float *data,
                               int64_t n, struct zp_err *err)
{
    Onnx__TensorProto *t = malloc(sizeof *t);
    Onnx__TensorProto **arr = realloc(G->initializer, sizeof *arr * (G->n_initializer + 1));
    if (arr)
        G->initializer = arr;
    if (!t || !arr || !(t->name = strdup(name))) {
        free(t);
        return zp_err_set(err, ZP_ENOMEM, "onnx rewrite: out of memory");
    }
    char *nm = t->name;
    onnx__tensor_proto__init(t);
    t->name = nm;
    G->initializer[G->n_initializer++] = t;
    return set_tensor(t, data, &n, 1, err);
}

/* A layer without bias (a Conv before a folded BN) gains input 2 named after it
 * (unique in the file). */
static enum zp_status add_bias_input(Onnx__GraphProto *G, Onnx__NodeProto *nd, const char *layer,
                                    const float *b, int64_t n, struct zp_err *err)
{
    char name[300];
    snprintf(name, sizeof name, "%s.bias", layer);
    for (int k = 2; find_init(G, name) || uses(G, name); k++)
        snprintf(name, sizeof name, "%s.bias%d", layer, k);
    char **in = realloc(nd->input, sizeof *in * 3);
    if (!in)
        return zp_err_set(err, ZP_ENOMEM, "onnx rewrite: out of memory");
    nd->input = in;
    if (nd->n_input < 2)
        return zp_err_set(err, ZP_EFORMAT, "onnx rewrite: conv '%s' has no weight input", layer);
    if (nd->n_input == 3) /* an empty name: the optional input absent */
        free(in[2]);
    if (!(in[2] = strdup(name)))
        return zp_err_set(err, ZP_ENOMEM, "onnx rewrite: out of memory");
    nd->n_input = 3;
    return add_init(G, name, b, n, err);
}

/* Gemm written as transB = 1, alpha = beta = 1 (the loader folded alpha and beta
 * into the stored [O, K] weight and bias). */
static enum zp_status gemm_plain_attrs(Onnx__NodeProto *nd, struct zp_err *err)
{
    size_t k = 0;
    for (size_t i = 0; i < nd->n_attribute; i++) {
        Onnx__AttributeProto *a = nd->attribute[i];
        if (strcmp(a->name, "alpha") == 0 || strcmp(a->name, "beta") == 0 ||
            strcmp(a->name, "transB") == 0)
            onnx__attribute_proto__free_unpacked(a, NULL);
        else
            nd->attribute[k++] = a;
    }
    Onnx__AttributeProto **arr = realloc(nd->attribute, sizeof *arr * (k + 1));
    Onnx__AttributeProto *a = malloc(sizeof *a);
    if (arr)
        nd->attribute = arr;
    nd->n_attribute = k;
    if (!arr || !a) {
        free(a);
        return zp_err_set(err, ZP_ENOMEM, "onnx rewrite: out of memory");
    }
    onnx__attribute_proto__init(a);
    if (!(a->name = strdup("transB"))) {
        free(a);
        return zp_err_set(err, ZP_ENOMEM, "onnx rewrite: out of memory");
    }
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = 1;
    nd->attribute[nd->n_attribute++] = a;
    return ZP_OK;
}

static enum zp_status write_layer(Onnx__GraphProto *G, const struct zp_layer_info *L,
                                  struct zp_err *err)
{
    Onnx__NodeProto *nd = find_node(G, L->name, NULL);
    if (!nd || nd->n_input < 2)
        return zp_err_set(err, ZP_EFORMAT, "onnx rewrite: layer '%s' (%s) not found in the model",
                          L->name, L->op);
    enum zp_status st;
    if (strcmp(L->op, "MatMul") == 0) { /* stored [O, K], the file holds [K, O] */
        const int64_t O = L->wshape[0], K = L->wshape[1];
        float *t = malloc(sizeof(float) * (size_t)(O * K) + 1);
        if (!t)
            return zp_err_set(err, ZP_ENOMEM, "onnx rewrite: out of memory");
        for (int64_t o = 0; o < O; o++)
            for (int64_t k = 0; k < K; k++)
                t[k * O + o] = L->weight[o * K + k];
        int64_t dims[2] = {K, O};
        st = set_named(G, nd->input[1], t, dims, 2, L->name, err);
        free(t);
        if (st == ZP_OK && L->bias)
            st = zp_err_set(err, ZP_EUNSUPPORTED, "onnx rewrite: MatMul '%s' gained a bias",
                            L->name);
        return st;
    }
    if ((st = set_named(G, nd->input[1], L->weight, L->wshape, L->wndim, L->name, err)))
        return st;
    if (strcmp(L->op, "Gemm") == 0 && (st = gemm_plain_attrs(nd, err)))
        return st;
    if (!L->bias)
        return ZP_OK;
    int64_t dims[1] = {L->n_out};
    if (nd->n_input >= 3 && nd->input[2][0])
        return set_named(G, nd->input[2], L->bias, dims, 1, L->name, err);
    return add_bias_input(G, nd, L->name, L->bias, L->n_out, err);
}

/* Removes a folded BN node: the Conv before it writes its output instead, its
 * parameter initializers go when nothing else reads them. */
static enum zp_status drop_bn(Onnx__GraphProto *G, const struct zp_bn_record *r,
                              const struct zp_layer_info *L, struct zp_err *err)
{
    size_t at;
    Onnx__NodeProto *bn = find_node(G, r->name, &at);
    Onnx__NodeProto *conv = find_node(G, L->name, NULL);
    if (!bn || !conv || bn->n_input < 1 || bn->n_output < 1 || conv->n_output < 1 ||
        strcmp(bn->input[0], conv->output[0]) != 0)
        return zp_err_set(err, ZP_EFORMAT,
                          "onnx rewrite: BatchNormalization '%s' does not read layer '%s'",
                          r->name, L->name);
    char *out = strdup(bn->output[0]);
    if (!out)
        return zp_err_set(err, ZP_ENOMEM, "onnx rewrite: out of memory");
    free(conv->output[0]);
    conv->output[0] = out;
    memmove(&G->node[at], &G->node[at + 1], sizeof *G->node * (G->n_node - at - 1));
    G->n_node--;
    for (size_t k = 1; k < bn->n_input; k++) {
        const char *nm = bn->input[k];
        if (uses(G, nm))
            continue;
        size_t w = 0;
        for (size_t i = 0; i < G->n_initializer; i++) {
            if (strcmp(G->initializer[i]->name, nm) == 0)
                onnx__tensor_proto__free_unpacked(G->initializer[i], NULL);
            else
                G->initializer[w++] = G->initializer[i];
        }
        G->n_initializer = w;
        w = 0; /* pre-IR-4 files also list initializers as graph inputs */
        for (size_t i = 0; i < G->n_input; i++) {
            if (strcmp(G->input[i]->name, nm) == 0)
                onnx__value_info_proto__free_unpacked(G->input[i], NULL);
            else
                G->input[w++] = G->input[i];
        }
        G->n_input = w;
    }
    onnx__node_proto__free_unpacked(bn, NULL);
    return ZP_OK;
}

static enum zp_status write_bn(Onnx__GraphProto *G, const struct zp_bn_record *r,
                               struct zp_err *err)
{
    Onnx__NodeProto *bn = find_node(G, r->name, NULL);
    if (!bn || bn->n_input < 5)
        return zp_err_set(err, ZP_EFORMAT,
                          "onnx rewrite: BatchNormalization '%s' not found in the model", r->name);
    const float *v[4] = {r->gamma, r->beta, r->mean, r->var};
    int64_t dims[1] = {r->channels};
    enum zp_status st = ZP_OK;
    for (int k = 0; k < 4 && st == ZP_OK; k++)
        st = set_named(G, bn->input[k + 1], v[k], dims, 1, r->name, err);
    return st;
}

enum zp_status zp_onnx_rewrite(const uint8_t *src, size_t len, const struct zp_graph *g,
                               const struct zp_bn_record *bn, int n_bn, const char *doc,
                               uint8_t **out, size_t *out_len, struct zp_err *err)
{
    *out = NULL;
    *out_len = 0;
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, src);
    if (!m || !m->graph) {
        if (m)
            onnx__model_proto__free_unpacked(m, NULL);
        return zp_err_set(err, ZP_EFORMAT, "onnx rewrite: the source model does not decode");
    }
    Onnx__GraphProto *G = m->graph;
    enum zp_status st = ZP_OK;
    for (int i = 0; i < zp_graph_num_layers(g) && st == ZP_OK; i++)
        st = write_layer(G, zp_graph_layer(g, i), err);
    for (int i = 0; i < n_bn && st == ZP_OK; i++)
        st = bn[i].after_layer >= 0 ? drop_bn(G, &bn[i], zp_graph_layer(g, bn[i].after_layer), err)
                                    : write_bn(G, &bn[i], err);
    if (st == ZP_OK && doc) {
        char *d = strdup(doc);
        if (!d) {
            st = zp_err_set(err, ZP_ENOMEM, "onnx rewrite: out of memory");
        } else {
            free(m->doc_string);
            m->doc_string = d;
        }
    }
    if (st == ZP_OK) {
        size_t n = onnx__model_proto__get_packed_size(m);
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf) {
            st = zp_err_set(err, ZP_ENOMEM, "onnx rewrite: out of memory");
        } else {
            onnx__model_proto__pack(m, buf);
            *out = buf;
            *out_len = n;
        }
    }
    onnx__model_proto__free_unpacked(m, NULL);
    return st;
}
