/* ONNX export of a trained network (see train/onnx_export.h). Every message
 * object is allocated from one pool and released together after packing. */
#include "train/onnx_export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#define ONNX_IR_VERSION 8 /* IR of opset 13..15 */
#define ONNX_OPSET 13     /* Clip takes min / max as inputs since opset 11 */

struct pool {
    void **p;
    size_t n, cap;
    int oom;
};

static void *pool_add(struct pool *pl, void *x)
{
    if (!x) {
        pl->oom = 1;
        return NULL;
    }
    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? 2 * pl->cap : 256;
        void **np = realloc(pl->p, cap * sizeof *np);
        if (!np) {
            free(x);
            pl->oom = 1;
            return NULL;
        }
        pl->p = np;
        pl->cap = cap;
    }
    pl->p[pl->n++] = x;
    return x;
}

static void *pz(struct pool *pl, size_t bytes)
{
    return pool_add(pl, calloc(1, bytes ? bytes : 1));
}

static char *pstr(struct pool *pl, const char *s)
{
    return pool_add(pl, strdup(s));
}

static void pool_free(struct pool *pl)
{
    for (size_t i = 0; i < pl->n; i++)
        free(pl->p[i]);
    free(pl->p);
}

struct builder {
    struct pool pool;
    Onnx__NodeProto **nodes;
    size_t n_nodes, cap_nodes;
    Onnx__TensorProto **inits;
    size_t n_inits, cap_inits;
};

static void push(struct builder *b, void ***arr, size_t *n, size_t *cap, void *x)
{
    if (!x)
        return;
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        void **na = pz(&b->pool, nc * sizeof *na);
        if (!na)
            return;
        if (*n)
            memcpy(na, *arr, *n * sizeof *na);
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = x;
}

static void add_init(struct builder *b, const char *name, const float *data, const int64_t *dims,
                     int ndim)
{
    Onnx__TensorProto *t = pz(&b->pool, sizeof *t);
    if (!t)
        return;
    onnx__tensor_proto__init(t);
    t->name = pstr(&b->pool, name);
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    size_t count = 1;
    t->n_dims = (size_t)ndim;
    t->dims = pz(&b->pool, sizeof(int64_t) * (size_t)(ndim ? ndim : 1));
    for (int i = 0; i < ndim && t->dims; i++) {
        t->dims[i] = dims[i];
        count *= (size_t)dims[i];
    }
    /* raw_data is little-endian float32: the layout of this (x86) machine */
    t->has_raw_data = 1;
    t->raw_data.len = count * sizeof(float);
    t->raw_data.data = pz(&b->pool, t->raw_data.len);
    if (t->raw_data.data)
        memcpy(t->raw_data.data, data, t->raw_data.len);
    push(b, (void ***)&b->inits, &b->n_inits, &b->cap_inits, t);
}

static Onnx__AttributeProto *attr_ints(struct builder *b, const char *name, const int64_t *v,
                                       int n)
{
    Onnx__AttributeProto *a = pz(&b->pool, sizeof *a);
    if (!a)
        return NULL;
    onnx__attribute_proto__init(a);
    a->name = pstr(&b->pool, name);
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    a->n_ints = (size_t)n;
    a->ints = pz(&b->pool, sizeof(int64_t) * (size_t)n);
    if (a->ints)
        memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
    return a;
}

static Onnx__AttributeProto *new_attr(struct builder *b, const char *name,
                                      Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = pz(&b->pool, sizeof *a);
    if (!a)
        return NULL;
    onnx__attribute_proto__init(a);
    a->name = pstr(&b->pool, name);
    a->has_type = 1;
    a->type = type;
    return a;
}

static Onnx__AttributeProto *attr_float(struct builder *b, const char *name, float v)
{
    Onnx__AttributeProto *a = new_attr(b, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) {
        a->has_f = 1;
        a->f = v;
    }
    return a;
}

static Onnx__AttributeProto *attr_int(struct builder *b, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = new_attr(b, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) {
        a->has_i = 1;
        a->i = v;
    }
    return a;
}

static Onnx__NodeProto *add_node(struct builder *b, const char *op, const char *name,
                                 const char *const *in, int n_in, const char *out)
{
    Onnx__NodeProto *nd = pz(&b->pool, sizeof *nd);
    if (!nd)
        return NULL;
    onnx__node_proto__init(nd);
    nd->op_type = pstr(&b->pool, op);
    nd->name = pstr(&b->pool, name);
    nd->n_input = (size_t)n_in;
    nd->input = pz(&b->pool, sizeof(char *) * (size_t)n_in);
    for (int i = 0; i < n_in && nd->input; i++)
        nd->input[i] = pstr(&b->pool, in[i]);
    nd->n_output = 1;
    nd->output = pz(&b->pool, sizeof(char *));
    if (nd->output)
        nd->output[0] = pstr(&b->pool, out);
    push(b, (void ***)&b->nodes, &b->n_nodes, &b->cap_nodes, nd);
    return nd;
}

static void set_attrs(struct builder *b, Onnx__NodeProto *nd, Onnx__AttributeProto **a, int n)
{
    if (!nd)
        return;
    nd->n_attribute = (size_t)n;
    nd->attribute = pz(&b->pool, sizeof(*a) * (size_t)n);
    for (int i = 0; i < n && nd->attribute; i++)
        nd->attribute[i] = a[i];
}

static Onnx__ValueInfoProto *value_info(struct builder *b, const char *name, const int64_t *dims,
                                        int ndim)
{
    Onnx__ValueInfoProto *v = pz(&b->pool, sizeof *v);
    Onnx__TypeProto *tp = pz(&b->pool, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = pz(&b->pool, sizeof *tt);
    Onnx__TensorShapeProto *sh = pz(&b->pool, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **d = pz(&b->pool, sizeof(*d) * (size_t)ndim);
    if (!v || !tp || !tt || !sh || !d)
        return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (int i = 0; i < ndim; i++) {
        d[i] = pz(&b->pool, sizeof **d);
        if (!d[i])
            return NULL;
        onnx__tensor_shape_proto__dimension__init(d[i]);
        if (dims[i] < 0) { /* the batch */
            d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d[i]->dim_param = pstr(&b->pool, "N");
        } else {
            d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d[i]->dim_value = dims[i];
        }
    }
    sh->n_dim = (size_t)ndim;
    sh->dim = d;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    v->name = pstr(&b->pool, name);
    v->type = tp;
    return v;
}

static size_t weight_count(const struct zp_tlayer *l)
{
    return l->p[0].n;
}

void zp_fold_bn(const struct zp_tnet *net, int i, float *w, float *b)
{
    const struct zp_tlayer *l = &net->L[i];
    const size_t nw = weight_count(l);
    const int O = l->kind == ZP_TL_DWCONV ? l->c_in : l->c_out;
    const size_t per = nw / (size_t)O;
    const struct zp_tlayer *bn =
        (i + 1 < net->n_layers && net->L[i + 1].kind == ZP_TL_BN) ? &net->L[i + 1] : NULL;
    for (int o = 0; o < O; o++) {
        double s = 1.0, shift = l->kind == ZP_TL_FC ? l->p[1].w[o] : 0.0;
        if (bn) {
            s = bn->p[0].w[o] / sqrt((double)bn->run_var[o] + bn->eps);
            shift = bn->p[1].w[o] - bn->run_mean[o] * s;
        }
        for (size_t j = 0; j < per; j++)
            w[(size_t)o * per + j] = (float)(l->p[0].w[(size_t)o * per + j] * s);
        b[o] = (float)shift;
    }
}

/* ReLU6 as Clip(x, 0, 6) with shared scalar initializers, ReLU as Relu. */
static void emit_act(struct builder *b, int act, int i, const char *in0, const char *out,
                     int *has_clip)
{
    char nm[48];
    if (act == 6) {
        if (!*has_clip) {
            float zero = 0.0f, six = 6.0f;
            add_init(b, "clip_min", &zero, NULL, 0);
            add_init(b, "clip_max", &six, NULL, 0);
            *has_clip = 1;
        }
        const char *in[3] = {in0, "clip_min", "clip_max"};
        snprintf(nm, sizeof nm, "relu6_%d", i);
        add_node(b, "Clip", nm, in, 3, out);
    } else {
        const char *in[1] = {in0};
        snprintf(nm, sizeof nm, "relu%d", i);
        add_node(b, "Relu", nm, in, 1, out);
    }
}

/* BatchNormalization kept as a node (training graphs): scale, B, mean, var from
 * the layer; ONNX momentum 0.9 is the training runtime's 0.1 weight of a new
 * batch (running = 0.9 running + 0.1 batch). */
static void emit_bn(struct builder *b, const struct zp_tlayer *l, int i, const char *in0,
                    const char *out)
{
    char nm[48], names[4][64];
    static const char *const suffix[4] = {"scale", "bias", "mean", "var"};
    const float *data[4] = {l->p[0].w, l->p[1].w, l->run_mean, l->run_var};
    int64_t d[1] = {l->c_in};
    snprintf(nm, sizeof nm, "bn%d", i);
    for (int k = 0; k < 4; k++) {
        snprintf(names[k], sizeof names[k], "%s.%s", nm, suffix[k]);
        add_init(b, names[k], data[k], d, 1);
    }
    const char *in[5] = {in0, names[0], names[1], names[2], names[3]};
    Onnx__NodeProto *nd = add_node(b, "BatchNormalization", nm, in, 5, out);
    Onnx__AttributeProto *a[2] = {attr_float(b, "epsilon", l->eps),
                                  attr_float(b, "momentum", 0.9f)};
    set_attrs(b, nd, a, 2);
}

static enum zp_status build_graph(struct builder *b, const struct zp_tnet *net, const char *name,
                                  int keep_bn, Onnx__GraphProto *g, struct zp_err *err)
{
    char cur[64] = "input", out[64], nm[48], wn[64], bn_[64];
    int has_clip = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const struct zp_tlayer *l = &net->L[i];
        int last = i == net->n_layers - 1;
        snprintf(out, sizeof out, "t%d", i);
        switch (l->kind) {
        case ZP_TL_CONV:
        case ZP_TL_DWCONV:
        case ZP_TL_FC: {
            const int O = l->kind == ZP_TL_DWCONV ? l->c_in : l->c_out;
            float *w = malloc(weight_count(l) * sizeof(float));
            float *bias = malloc((size_t)O * sizeof(float));
            if (!w || !bias) {
                free(w);
                free(bias);
                return zp_err_set(err, ZP_ENOMEM, "onnx export: out of memory");
            }
            int fused = !keep_bn && i + 1 < net->n_layers && net->L[i + 1].kind == ZP_TL_BN;
            if (fused) {
                zp_fold_bn(net, i, w, bias);
            } else { /* the layer's own weights; a conv has no bias of its own */
                memcpy(w, l->p[0].w, weight_count(l) * sizeof(float));
                for (int o = 0; o < O; o++)
                    bias[o] = l->kind == ZP_TL_FC ? l->p[1].w[o] : 0.0f;
            }
            const char *op = l->kind == ZP_TL_FC ? "Gemm" : "Conv";
            snprintf(nm, sizeof nm, "%s%d", l->kind == ZP_TL_FC ? "fc" : "conv", i);
            snprintf(wn, sizeof wn, "%s.weight", nm);
            snprintf(bn_, sizeof bn_, "%s.bias", nm);
            int act = fused ? net->L[i + 1].act : 0;
            if (fused) {
                i++; /* the BN is folded in */
                last = i == net->n_layers - 1 && !act;
                snprintf(out, sizeof out, act ? "t%d_pre" : "t%d", i);
            }
            if (l->kind == ZP_TL_FC) {
                int64_t wd[2] = {l->c_out, l->c_in}, bd[1] = {l->c_out};
                add_init(b, wn, w, wd, 2);
                add_init(b, bn_, bias, bd, 1);
            } else {
                int64_t cin_g = l->kind == ZP_TL_DWCONV ? 1 : l->c_in;
                int64_t wd[4] = {O, cin_g, l->k, l->k}, bd[1] = {O};
                add_init(b, wn, w, wd, 4);
                if (!keep_bn)
                    add_init(b, bn_, bias, bd, 1);
            }
            free(w);
            free(bias);
            /* a training graph's conv has no bias (the BN after it has the shift) */
            const int n_in = l->kind != ZP_TL_FC && keep_bn ? 2 : 3;
            const char *in[3] = {cur, wn, bn_};
            Onnx__NodeProto *nd = add_node(b, op, nm, in, n_in, last ? "logits" : out);
            if (l->kind == ZP_TL_FC) {
                Onnx__AttributeProto *a[1] = {attr_int(b, "transB", 1)};
                set_attrs(b, nd, a, 1);
            } else {
                int64_t ks[2] = {l->k, l->k}, st[2] = {l->stride, l->stride};
                int64_t pd[4] = {l->pad, l->pad, l->pad, l->pad}, dl[2] = {1, 1};
                Onnx__AttributeProto *a[5] = {
                    attr_ints(b, "kernel_shape", ks, 2), attr_ints(b, "strides", st, 2),
                    attr_ints(b, "pads", pd, 4), attr_ints(b, "dilations", dl, 2),
                    attr_int(b, "group", l->kind == ZP_TL_DWCONV ? l->c_in : 1)};
                set_attrs(b, nd, a, 5);
            }
            if (act) { /* the activation fused into the BN follows the folded conv */
                snprintf(cur, sizeof cur, "%s", out);
                snprintf(out, sizeof out, "t%d", i);
                last = i == net->n_layers - 1;
                emit_act(b, act, i, cur, last ? "logits" : out, &has_clip);
            }
            break;
        }
        case ZP_TL_BN:
            if (keep_bn) {
                char pre[64];
                snprintf(pre, sizeof pre, "t%d_pre", i);
                emit_bn(b, l, i, cur, l->act ? pre : last ? "logits" : out);
                if (l->act)
                    emit_act(b, l->act, i, pre, last ? "logits" : out, &has_clip);
                break;
            }
            return zp_err_set(err, ZP_EUNSUPPORTED,
                              "onnx export: layer %d: BatchNormalization not after a "
                              "convolution cannot be folded",
                              i);
        case ZP_TL_RELU6:
        case ZP_TL_RELU:
            emit_act(b, l->kind == ZP_TL_RELU6 ? 6 : 1, i, cur, last ? "logits" : out, &has_clip);
            break;
        case ZP_TL_GAP: {
            const char *in[1] = {cur};
            snprintf(nm, sizeof nm, "gap%d", i);
            add_node(b, "GlobalAveragePool", nm, in, 1, last ? "logits" : out);
            break;
        }
        case ZP_TL_AVGPOOL: {
            const char *in[1] = {cur};
            snprintf(nm, sizeof nm, "avgpool%d", i);
            Onnx__NodeProto *nd = add_node(b, "AveragePool", nm, in, 1, last ? "logits" : out);
            int64_t ks[2] = {l->k, l->k}, st[2] = {l->stride, l->stride};
            Onnx__AttributeProto *a[2] = {attr_ints(b, "kernel_shape", ks, 2),
                                          attr_ints(b, "strides", st, 2)};
            set_attrs(b, nd, a, 2);
            break;
        }
        case ZP_TL_FLATTEN: {
            const char *in[1] = {cur};
            snprintf(nm, sizeof nm, "flatten%d", i);
            Onnx__NodeProto *nd = add_node(b, "Flatten", nm, in, 1, last ? "logits" : out);
            Onnx__AttributeProto *a[1] = {attr_int(b, "axis", 1)};
            set_attrs(b, nd, a, 1);
            break;
        }
        }
        snprintf(cur, sizeof cur, "%s", out);
    }
    int64_t in_dims[4] = {-1, net->in_c, net->in_h, net->in_w};
    int64_t out_dims[2] = {-1, net->n_classes};
    g->name = pstr(&b->pool, name);
    g->n_node = b->n_nodes;
    g->node = b->nodes;
    g->n_initializer = b->n_inits;
    g->initializer = b->inits;
    g->n_input = 1;
    g->input = pz(&b->pool, sizeof(void *));
    g->n_output = 1;
    g->output = pz(&b->pool, sizeof(void *));
    if (g->input)
        g->input[0] = value_info(b, "input", in_dims, 4);
    if (g->output)
        g->output[0] = value_info(b, "logits", out_dims, 2);
    if (b->pool.oom || !g->input || !g->input[0] || !g->output || !g->output[0])
        return zp_err_set(err, ZP_ENOMEM, "onnx export: out of memory");
    return ZP_OK;
}

enum zp_status zp_onnx_export_buffer(const struct zp_tnet *net, int keep_bn, const char *name,
                                     const char *doc, uint8_t **buf, size_t *len,
                                     struct zp_err *err)
{
    *buf = NULL;
    *len = 0;
    struct builder b;
    memset(&b, 0, sizeof b);
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto ops = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__OperatorSetIdProto *opsp = &ops;
    enum zp_status st = build_graph(&b, net, name && *name ? name : "zeropoint", keep_bn, &g, err);
    if (st != ZP_OK) {
        pool_free(&b.pool);
        return st;
    }
    ops.domain = "";
    ops.has_version = 1;
    ops.version = ONNX_OPSET;
    m.has_ir_version = 1;
    m.ir_version = ONNX_IR_VERSION;
    m.n_opset_import = 1;
    m.opset_import = &opsp;
    m.producer_name = "zeropoint";
    m.producer_version = ZP_VERSION;
    m.doc_string = (char *)(doc ? doc : "");
    m.graph = &g;
    size_t n = onnx__model_proto__get_packed_size(&m);
    uint8_t *out = malloc(n ? n : 1);
    if (!out) {
        pool_free(&b.pool);
        return zp_err_set(err, ZP_ENOMEM, "onnx export: out of memory");
    }
    onnx__model_proto__pack(&m, out);
    pool_free(&b.pool);
    *buf = out;
    *len = n;
    return ZP_OK;
}

enum zp_status zp_onnx_export(const struct zp_tnet *net, const char *path, const char *name,
                              const char *doc, struct zp_err *err)
{
    uint8_t *buf;
    size_t len;
    enum zp_status st = zp_onnx_export_buffer(net, 0, name, doc, &buf, &len, err);
    if (st != ZP_OK)
        return st;
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(buf, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = 0;
    free(buf);
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return zp_err_set(err, ZP_EIO, "%s: cannot write the ONNX model", path);
    }
    return ZP_OK;
}
