/* ONNX QDQ rewrite of a quantized cell (see train/onnx_qdq.h). The float part
 * (folded BN removed, weights and biases as the graph holds them) is
 * train/onnx_rewrite.c's; this file then edits the decoded protobuf: protobuf-c
 * frees a decoded message field by field with free(), so everything added here
 * is malloc'ed piece by piece and onnx__model_proto__free_unpacked releases it. */
#include "train/onnx_qdq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "train/onnx_rewrite.h"

#define QDQ_MIN_OPSET 13 /* per-axis DequantizeLinear */

static const char *node_name(const Onnx__NodeProto *nd)
{
    if (nd->name && nd->name[0])
        return nd->name;
    return nd->n_output ? nd->output[0] : "";
}

static int readers(const Onnx__GraphProto *G, const char *name)
{
    int n = 0;
    for (size_t i = 0; i < G->n_node; i++)
        for (size_t k = 0; k < G->node[i]->n_input; k++)
            n += strcmp(G->node[i]->input[k], name) == 0;
    for (size_t i = 0; i < G->n_output; i++)
        n += strcmp(G->output[i]->name, name) == 0;
    return n;
}

static int layer_of(const struct zp_graph *g, const char *name)
{
    for (int l = 0; l < zp_graph_num_layers(g); l++)
        if (strcmp(zp_graph_layer(g, l)->name, name) == 0)
            return l;
    return -1;
}

/* The BatchNormalization nodes the loader folded: the sole reader of a layer's
 * output (model/onnx_load.c folds exactly those). */
static enum zp_status folded_bns(const uint8_t *src, size_t len, const struct zp_graph *g,
                                 struct zp_bn_record **out, int *n_out, struct zp_err *err)
{
    *out = NULL;
    *n_out = 0;
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, src);
    if (!m || !m->graph) {
        if (m)
            onnx__model_proto__free_unpacked(m, NULL);
        return zp_err_set(err, ZP_EFORMAT, "onnx qdq: the source model does not decode");
    }
    const Onnx__GraphProto *G = m->graph;
    struct zp_bn_record *r = calloc(G->n_node + 1, sizeof *r);
    if (!r) {
        onnx__model_proto__free_unpacked(m, NULL);
        return zp_err_set(err, ZP_ENOMEM, "onnx qdq: out of memory");
    }
    int n = 0;
    for (size_t i = 0; i < G->n_node; i++) {
        const Onnx__NodeProto *bn = G->node[i];
        if (strcmp(bn->op_type, "BatchNormalization") != 0 || bn->n_input < 1)
            continue;
        for (size_t j = 0; j < G->n_node; j++) {
            const Onnx__NodeProto *c = G->node[j];
            int l = c->n_output ? layer_of(g, node_name(c)) : -1;
            if (l >= 0 && strcmp(c->output[0], bn->input[0]) == 0 &&
                readers(G, c->output[0]) == 1) {
                snprintf(r[n].name, sizeof r[n].name, "%s", node_name(bn));
                r[n].after_layer = l;
                n++;
                break;
            }
        }
    }
    onnx__model_proto__free_unpacked(m, NULL);
    *out = r;
    *n_out = n;
    return ZP_OK;
}

/* ---- building blocks, each piece malloc'ed -------------------------------- */

static Onnx__TensorProto *new_tensor(const char *name, int dtype, const void *data, size_t bytes,
                                     const int64_t *dims, int ndim)
{
    Onnx__TensorProto *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    onnx__tensor_proto__init(t);
    t->name = strdup(name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)ndim;
    t->dims = malloc(sizeof(int64_t) * (size_t)(ndim + 1));
    t->has_raw_data = 1;
    t->raw_data.len = bytes;
    t->raw_data.data = malloc(bytes + 1);
    if (!t->name || !t->dims || !t->raw_data.data) {
        onnx__tensor_proto__free_unpacked(t, NULL);
        return NULL;
    }
    if (ndim)
        memcpy(t->dims, dims, sizeof(int64_t) * (size_t)ndim);
    memcpy(t->raw_data.data, data, bytes);
    return t;
}

static Onnx__NodeProto *new_node(const char *op, const char *name, const char *const *in,
                                 int n_in, const char *out, int axis)
{
    Onnx__NodeProto *nd = malloc(sizeof *nd);
    if (!nd)
        return NULL;
    onnx__node_proto__init(nd);
    nd->op_type = strdup(op);
    nd->name = strdup(name);
    nd->input = calloc((size_t)n_in, sizeof(char *));
    nd->output = calloc(1, sizeof(char *));
    int ok = nd->op_type && nd->name && nd->input && nd->output;
    if (nd->input)
        for (int i = 0; i < n_in; i++, nd->n_input++)
            ok &= (nd->input[i] = strdup(in[i])) != NULL;
    if (nd->output) {
        nd->n_output = 1;
        ok &= (nd->output[0] = strdup(out)) != NULL;
    }
    if (ok && axis >= 0) {
        Onnx__AttributeProto *a = malloc(sizeof *a);
        nd->attribute = malloc(sizeof *nd->attribute);
        if (a)
            onnx__attribute_proto__init(a);
        ok = a && nd->attribute && (a->name = strdup("axis"));
        if (nd->attribute && a) {
            nd->attribute[0] = a;
            nd->n_attribute = 1;
        } else {
            free(a);
        }
        if (ok) {
            a->has_type = 1;
            a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
            a->has_i = 1;
            a->i = axis;
        }
    }
    if (!ok) {
        onnx__node_proto__free_unpacked(nd, NULL);
        return NULL;
    }
    return nd;
}

struct edit {
    Onnx__GraphProto *G;
    Onnx__NodeProto **nodes; /* the new node order */
    size_t n_nodes, cap_nodes;
    int oom;
};

static void emit(struct edit *e, Onnx__NodeProto *nd)
{
    if (!nd) {
        e->oom = 1;
        return;
    }
    if (e->n_nodes == e->cap_nodes) {
        size_t cap = e->cap_nodes ? 2 * e->cap_nodes : 64;
        Onnx__NodeProto **a = realloc(e->nodes, cap * sizeof *a);
        if (!a) {
            onnx__node_proto__free_unpacked(nd, NULL);
            e->oom = 1;
            return;
        }
        e->nodes = a;
        e->cap_nodes = cap;
    }
    e->nodes[e->n_nodes++] = nd;
}

static void add_init(struct edit *e, Onnx__TensorProto *t)
{
    Onnx__GraphProto *G = e->G;
    Onnx__TensorProto **a = t ? realloc(G->initializer, sizeof *a * (G->n_initializer + 1)) : NULL;
    if (!a) {
        if (t)
            onnx__tensor_proto__free_unpacked(t, NULL);
        e->oom = 1;
        return;
    }
    G->initializer = a;
    G->initializer[G->n_initializer++] = t;
}

static Onnx__TensorProto *find_init(Onnx__GraphProto *G, const char *name)
{
    for (size_t i = 0; i < G->n_initializer; i++)
        if (strcmp(G->initializer[i]->name, name) == 0)
            return G->initializer[i];
    return NULL;
}

static int code_type(int is_signed)
{
    return is_signed ? ONNX__TENSOR_PROTO__DATA_TYPE__INT8 : ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
}

/* Scale and zero-point initializers "<base>.scale" / "<base>.zero_point": scalars
 * when n == 1 and not per_axis, else 1-D of n. */
static void add_qparams(struct edit *e, const char *base, const float *scale, const int32_t *zp,
                        size_t n, int per_axis, int is_signed)
{
    char nm[600];
    int64_t d[1] = {(int64_t)n};
    uint8_t *z = malloc(n + 1);
    if (!z) {
        e->oom = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        z[i] = is_signed ? (uint8_t)(int8_t)zp[i] : (uint8_t)zp[i];
    snprintf(nm, sizeof nm, "%s.scale", base);
    add_init(e, new_tensor(nm, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, scale, n * sizeof(float), d,
                           per_axis));
    snprintf(nm, sizeof nm, "%s.zero_point", base);
    add_init(e, new_tensor(nm, code_type(is_signed), z, n, d, per_axis));
    free(z);
}

/* QuantizeLinear then DequantizeLinear of `in` into `out`, parameters "<base>.*". */
static void emit_qdq(struct edit *e, const char *base, const struct zp_qdq_quant *q,
                     const char *in, const char *out)
{
    char s[600], z[600], mid[600], nm[600];
    add_qparams(e, base, &q->scale, &q->zero_point, 1, 0, q->is_signed);
    snprintf(s, sizeof s, "%s.scale", base);
    snprintf(z, sizeof z, "%s.zero_point", base);
    snprintf(mid, sizeof mid, "%s.q", base);
    const char *qi[3] = {in, s, z}, *di[3] = {mid, s, z};
    snprintf(nm, sizeof nm, "%s.QuantizeLinear", base);
    emit(e, new_node("QuantizeLinear", nm, qi, 3, mid, -1));
    snprintf(nm, sizeof nm, "%s.DequantizeLinear", base);
    emit(e, new_node("DequantizeLinear", nm, di, 3, out, -1));
}

static int replace_str(char **slot, const char *s)
{
    char *d = strdup(s);
    if (!d)
        return -1;
    free(*slot);
    *slot = d;
    return 0;
}

/* The weight initializer becomes "<w>.quantized" (int8 / uint8), read back under
 * its own name by a DequantizeLinear, so the layer node keeps its inputs. */
static enum zp_status quantize_weight(struct edit *e, Onnx__NodeProto *nd,
                                      const struct zp_layer_info *li, const struct zp_qdq_layer *q,
                                      struct zp_err *err)
{
    Onnx__GraphProto *G = e->G;
    const char *wname = nd->input[1];
    Onnx__TensorProto *t = find_init(G, wname);
    if (!t)
        return zp_err_set(err, ZP_EFORMAT, "onnx qdq: layer '%s': weight '%s' is no initializer",
                          li->name, wname);
    size_t n = 1;
    for (size_t d = 0; d < t->n_dims; d++)
        n *= (size_t)t->dims[d];
    if (n != q->n_codes)
        return zp_err_set(err, ZP_EINVAL, "onnx qdq: layer '%s': %zu weight codes for %zu weights",
                          li->name, q->n_codes, n);
    const int matmul = strcmp(li->op, "MatMul") == 0;
    const int64_t O = li->wshape[0];
    if (q->n_scales != 1 && (int64_t)q->n_scales != O)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "onnx qdq: layer '%s': %zu weight scales; QDQ has per-tensor (1) or "
                          "per-channel (%lld) ones",
                          li->name, q->n_scales, (long long)O);
    uint8_t *raw = malloc(n + 1);
    if (!raw)
        return zp_err_set(err, ZP_ENOMEM, "onnx qdq: out of memory");
    if (matmul) { /* graph [O, K], the file [K, O] */
        const int64_t K = (int64_t)n / O;
        for (int64_t o = 0; o < O; o++)
            for (int64_t k = 0; k < K; k++)
                raw[k * O + o] = q->codes[o * K + k];
    } else {
        memcpy(raw, q->codes, n);
    }
    char qname[600];
    snprintf(qname, sizeof qname, "%s.quantized", wname);
    free(t->raw_data.data);
    free(t->float_data);
    t->float_data = NULL;
    t->n_float_data = 0;
    t->raw_data.data = raw;
    t->raw_data.len = n;
    t->has_raw_data = 1;
    t->data_type = code_type(q->w_signed);
    if (replace_str(&t->name, qname))
        return zp_err_set(err, ZP_ENOMEM, "onnx qdq: out of memory");
    /* pre-IR-4 files list initializers as graph inputs: the float name is now a node's */
    size_t w = 0;
    for (size_t i = 0; i < G->n_input; i++) {
        if (strcmp(G->input[i]->name, wname) == 0)
            onnx__value_info_proto__free_unpacked(G->input[i], NULL);
        else
            G->input[w++] = G->input[i];
    }
    G->n_input = w;
    const int per_axis = q->n_scales > 1;
    add_qparams(e, wname, q->w_scale, q->w_zero_point, q->n_scales, per_axis, q->w_signed);
    char s[600], z[600], nm[600];
    snprintf(s, sizeof s, "%s.scale", wname);
    snprintf(z, sizeof z, "%s.zero_point", wname);
    snprintf(nm, sizeof nm, "%s.DequantizeLinear", wname);
    const char *in[3] = {qname, s, z};
    emit(e, new_node("DequantizeLinear", nm, in, 3, wname, per_axis ? (matmul ? 1 : 0) : -1));
    return ZP_OK;
}

/* The cell's own float biases (bias correction, int32 rounding) into the layer. */
static enum zp_status write_bias(struct edit *e, Onnx__NodeProto *nd,
                                 const struct zp_layer_info *li, const float *bias,
                                 struct zp_err *err)
{
    if (strcmp(li->op, "MatMul") == 0)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "onnx qdq: MatMul '%s' has no bias input for the cell's corrected bias",
                          li->name);
    int64_t d[1] = {li->n_out};
    char nm[600];
    snprintf(nm, sizeof nm, "%s.cell_bias", li->name);
    add_init(e, new_tensor(nm, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, bias,
                           (size_t)li->n_out * sizeof(float), d, 1));
    if (nd->n_input < 3) {
        char **in = realloc(nd->input, sizeof *in * 3);
        if (!in)
            return zp_err_set(err, ZP_ENOMEM, "onnx qdq: out of memory");
        nd->input = in;
        in[2] = NULL;
        nd->n_input = 3;
    }
    if (replace_str(&nd->input[2], nm))
        return zp_err_set(err, ZP_ENOMEM, "onnx qdq: out of memory");
    return ZP_OK;
}

static enum zp_status edit_layer(struct edit *e, Onnx__NodeProto *nd, const struct zp_layer_info *li,
                                 const struct zp_qdq_layer *q, struct zp_err *err)
{
    if (nd->n_input < 2 || nd->n_output < 1)
        return zp_err_set(err, ZP_EFORMAT, "onnx qdq: layer '%s' has no weight input", li->name);
    enum zp_status st = quantize_weight(e, nd, li, q, err);
    if (!st && q->bias)
        st = write_bias(e, nd, li, q->bias, err);
    if (st)
        return st;
    if (q->quant_in) {
        char base[600], out[600];
        snprintf(base, sizeof base, "%s.input", li->name);
        snprintf(out, sizeof out, "%s.dq", base);
        emit_qdq(e, base, &q->in, nd->input[0], out);
        if (replace_str(&nd->input[0], out))
            e->oom = 1;
    }
    char y[600];
    snprintf(y, sizeof y, "%s", nd->output[0]);
    if (q->quant_out) {
        char pre[600];
        snprintf(pre, sizeof pre, "%s.float", y);
        if (replace_str(&nd->output[0], pre))
            e->oom = 1;
        emit(e, nd);
        char base[600];
        snprintf(base, sizeof base, "%s.output", li->name);
        emit_qdq(e, base, &q->out, pre, y);
    } else {
        emit(e, nd);
    }
    return ZP_OK;
}

static enum zp_status check_opset(const Onnx__ModelProto *m, struct zp_err *err)
{
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if ((!o->domain || !o->domain[0] || strcmp(o->domain, "ai.onnx") == 0) &&
            o->version < QDQ_MIN_OPSET)
            return zp_err_set(err, ZP_EUNSUPPORTED,
                              "onnx qdq: the model imports opset %lld; per-axis "
                              "DequantizeLinear needs opset %d (convert the model first)",
                              (long long)o->version, QDQ_MIN_OPSET);
    }
    return ZP_OK;
}

enum zp_status zp_onnx_qdq(const uint8_t *src, size_t len, const struct zp_graph *g,
                           const struct zp_qdq_layer *L, const char *doc, uint8_t **out,
                           size_t *out_len, struct zp_err *err)
{
    *out = NULL;
    *out_len = 0;
    struct zp_bn_record *bn = NULL;
    int n_bn = 0;
    uint8_t *fl = NULL;
    size_t fl_len = 0;
    enum zp_status st = folded_bns(src, len, g, &bn, &n_bn, err);
    if (!st)
        st = zp_onnx_rewrite(src, len, g, bn, n_bn, doc, &fl, &fl_len, err);
    free(bn);
    if (st)
        return st;
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, fl_len, fl);
    free(fl);
    if (!m || !m->graph) {
        if (m)
            onnx__model_proto__free_unpacked(m, NULL);
        return zp_err_set(err, ZP_EFORMAT, "onnx qdq: the rewritten model does not decode");
    }
    st = check_opset(m, err);
    struct edit e = {.G = m->graph};
    Onnx__GraphProto *G = m->graph;
    int done = 0;
    size_t i = 0;
    for (; i < G->n_node && !st && !e.oom; i++) {
        Onnx__NodeProto *nd = G->node[i];
        int l = layer_of(g, node_name(nd));
        G->node[i] = NULL;
        if (l < 0) {
            emit(&e, nd);
            continue;
        }
        st = edit_layer(&e, nd, zp_graph_layer(g, l), &L[l], err);
        if (st)
            onnx__node_proto__free_unpacked(nd, NULL);
        done++;
    }
    for (; i < G->n_node; i++) /* after a failure: the rest still to free */
        if (G->node[i])
            emit(&e, G->node[i]);
    free(G->node);
    G->node = e.nodes;
    G->n_node = e.n_nodes;
    if (!st && e.oom)
        st = zp_err_set(err, ZP_ENOMEM, "onnx qdq: out of memory");
    if (!st && done != zp_graph_num_layers(g))
        st = zp_err_set(err, ZP_EFORMAT, "onnx qdq: %d of the %d layers found in the model", done,
                        zp_graph_num_layers(g));
    if (!st) {
        size_t n = onnx__model_proto__get_packed_size(m);
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf) {
            st = zp_err_set(err, ZP_ENOMEM, "onnx qdq: out of memory");
        } else {
            onnx__model_proto__pack(m, buf);
            *out = buf;
            *out_len = n;
        }
    }
    onnx__model_proto__free_unpacked(m, NULL);
    return st;
}
