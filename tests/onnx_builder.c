/* The tiny ONNX builder of the runtime tests: see tests/onnx_builder.h. */
#include "tests/onnx_builder.h"
#include "tests/util.h"


#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#include "model/graph.h"
#include "model/graph_internal.h"
#include "model/graph_train.h"

/* ---- a tiny ONNX builder ------------------------------------------------------ */



void *mb_alloc(struct mb *b, size_t n)
{
    void *p = calloc(1, n ? n : 1);
    assert_non_null(p);
    assert_true(b->n_allocs < 2048);
    b->allocs[b->n_allocs++] = p;
    return p;
}

char *mb_str(struct mb *b, const char *s)
{
    char *p = mb_alloc(b, strlen(s) + 1);
    strcpy(p, s);
    return p;
}

void mb_begin(struct mb *b, int64_t opset)
{
    memset(b, 0, sizeof *b);
    onnx__model_proto__init(&b->m);
    onnx__graph_proto__init(&b->g);
    onnx__operator_set_id_proto__init(&b->opset);
    b->opset.domain = mb_str(b, "");
    b->opset.has_version = 1;
    b->opset.version = opset;
    b->opsets[0] = &b->opset;
    b->m.n_opset_import = 1;
    b->m.opset_import = b->opsets;
    b->m.has_ir_version = 1;
    b->m.ir_version = 7;
    b->m.graph = &b->g;
    b->g.node = b->nodes;
    b->g.initializer = b->inits;
    b->g.input = b->ins;
    b->g.output = b->outs;
}

Onnx__ValueInfoProto *mb_vi(struct mb *b, const char *name, int nd, const int64_t *dims)
{
    Onnx__ValueInfoProto *v = mb_alloc(b, sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = mb_str(b, name);
    if (nd) {
        Onnx__TypeProto *t = mb_alloc(b, sizeof *t);
        onnx__type_proto__init(t);
        Onnx__TypeProto__Tensor *tt = mb_alloc(b, sizeof *tt);
        onnx__type_proto__tensor__init(tt);
        tt->has_elem_type = 1;
        tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
        Onnx__TensorShapeProto *s = mb_alloc(b, sizeof *s);
        onnx__tensor_shape_proto__init(s);
        s->n_dim = (size_t)nd;
        s->dim = mb_alloc(b, (size_t)nd * sizeof *s->dim);
        for (int i = 0; i < nd; i++) {
            Onnx__TensorShapeProto__Dimension *d = mb_alloc(b, sizeof *d);
            onnx__tensor_shape_proto__dimension__init(d);
            if (i == 0) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                d->dim_param = mb_str(b, "N");
            } else {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = dims[i];
            }
            s->dim[i] = d;
        }
        tt->shape = s;
        t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
        t->tensor_type = tt;
        v->type = t;
    }
    return v;
}

void mb_input(struct mb *b, const char *name, int nd, const int64_t *dims)
{
    b->ins[b->g.n_input++] = mb_vi(b, name, nd, dims);
}

void mb_output(struct mb *b, const char *name)
{
    b->outs[b->g.n_output++] = mb_vi(b, name, 0, NULL);
}

Onnx__TensorProto *mb_tensor(struct mb *b, const char *name, int nd, const int64_t *dims)
{
    Onnx__TensorProto *t = mb_alloc(b, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = mb_str(b, name);
    t->n_dims = (size_t)nd;
    t->dims = mb_alloc(b, (size_t)nd * sizeof(int64_t));
    if (nd)
        memcpy(t->dims, dims, (size_t)nd * sizeof(int64_t));
    t->has_data_type = 1;
    return t;
}

void mb_init_f(struct mb *b, const char *name, int nd, const int64_t *dims, const float *v)
{
    Onnx__TensorProto *t = mb_tensor(b, name, nd, dims);
    size_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= (size_t)dims[i];
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    float *c = mb_alloc(b, n * sizeof(float));
    memcpy(c, v, n * sizeof(float));
    if (b->raw ^= 1) { /* both encodings exporters use */
        t->has_raw_data = 1;
        t->raw_data.len = n * sizeof(float);
        t->raw_data.data = (uint8_t *)c;
    } else {
        t->n_float_data = n;
        t->float_data = c;
    }
    b->inits[b->g.n_initializer++] = t;
}

void mb_init_i64(struct mb *b, const char *name, int n, const int64_t *v)
{
    int64_t d = n;
    Onnx__TensorProto *t = mb_tensor(b, name, 1, &d);
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    t->n_int64_data = (size_t)n;
    t->int64_data = mb_alloc(b, (size_t)n * sizeof(int64_t));
    memcpy(t->int64_data, v, (size_t)n * sizeof(int64_t));
    b->inits[b->g.n_initializer++] = t;
}

/* inputs / outputs: comma-separated names ("" for an absent optional input) */
char **mb_names(struct mb *b, const char *list, size_t *n)
{
    char **v = mb_alloc(b, 8 * sizeof *v);
    *n = 0;
    if (!*list)
        return v;
    const char *p = list;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *s = mb_alloc(b, len + 1);
        memcpy(s, p, len);
        v[(*n)++] = s;
        if (!e)
            break;
        p = e + 1;
    }
    return v;
}

Onnx__NodeProto *mb_node(struct mb *b, const char *op, const char *name, const char *in,
                                const char *out)
{
    Onnx__NodeProto *n = mb_alloc(b, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = mb_str(b, op);
    n->name = mb_str(b, name);
    n->input = mb_names(b, in, &n->n_input);
    n->output = mb_names(b, out, &n->n_output);
    n->attribute = mb_alloc(b, 8 * sizeof *n->attribute);
    b->nodes[b->g.n_node++] = n;
    return n;
}

Onnx__AttributeProto *mb_attr(struct mb *b, Onnx__NodeProto *n, const char *name, int type)
{
    Onnx__AttributeProto *a = mb_alloc(b, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = mb_str(b, name);
    a->has_type = 1;
    a->type = type;
    n->attribute[n->n_attribute++] = a;
    return a;
}

void mb_attr_i(struct mb *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = mb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

void mb_attr_f(struct mb *b, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = mb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

void mb_attr_s(struct mb *b, Onnx__NodeProto *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = mb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.len = strlen(v);
    a->s.data = (uint8_t *)mb_str(b, v);
}

void mb_attr_ints(struct mb *b, Onnx__NodeProto *n, const char *name, int cnt,
                         const int64_t *v)
{
    Onnx__AttributeProto *a = mb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)cnt;
    a->ints = mb_alloc(b, (size_t)cnt * sizeof(int64_t));
    memcpy(a->ints, v, (size_t)cnt * sizeof(int64_t));
}

static enum zp_status load_as(struct mb *b, int train, struct zp_graph **g, struct zp_err *err)
{
    size_t len = onnx__model_proto__get_packed_size(&b->m);
    uint8_t *buf = malloc(len);
    onnx__model_proto__pack(&b->m, buf);
    for (int i = 0; i < b->n_allocs; i++)
        free(b->allocs[i]);
    zp_err_clear(err);
    enum zp_status st = train ? zp_onnx_load_train_buffer(buf, len, "test.onnx", g, err)
                              : zp_onnx_load_buffer(buf, len, "test.onnx", g, err);
    free(buf);
    return st;
}

/* Packs, frees the builder, loads. Returns the status; *g is NULL on error. */
enum zp_status mb_load(struct mb *b, struct zp_graph **g, struct zp_err *err)
{
    return load_as(b, 0, g, err);
}

static struct zp_graph *load_ok_as(struct mb *b, int train)
{
    struct zp_graph *g = NULL;
    struct zp_err err = {0};
    if (load_as(b, train, &g, &err) != ZP_OK) {
        print_error("load failed: %s\n", err.msg);
        fail();
    }
    return g;
}

struct zp_graph *mb_load_ok(struct mb *b) { return load_ok_as(b, 0); }
struct zp_graph *mb_load_train_ok(struct mb *b) { return load_ok_as(b, 1); }

/* ---- helpers ------------------------------------------------------------------- */

float *mb_randv(size_t n, unsigned seed)
{
    float *v = malloc(n * sizeof *v);
    unsigned s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        v[i] = (float)((s >> 8) & 0xFFFF) / 32768.f - 1.f;
    }
    return v;
}

void mb_run(struct zp_graph *g, const float *x, int batch, float *y,
                const struct zp_run_hooks *h)
{
    struct zp_err err = {0};
    if (zp_graph_run(g, x, batch, y, h, &err) != ZP_OK) {
        print_error("run failed: %s\n", err.msg);
        fail();
    }
}

void mb_assert_close(const float *got, const float *want, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= tol * (1 + fabs(want[i])))) {
            print_error("element %zu: got %.7g, want %.7g\n", i, got[i], want[i]);
            fail();
        }
}
