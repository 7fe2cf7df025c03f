/* The tiny ONNX builder of the runtime tests and the gradient checks of the
 * training graph: see tests/onnx_builder.h. */
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

void mb_input_i64(struct mb *b, const char *name, int nd, const int64_t *dims)
{
    Onnx__ValueInfoProto *v = mb_vi(b, name, nd, dims);
    v->type->tensor_type->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    b->ins[b->g.n_input++] = v;
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

void mb_save(struct mb *b, const char *path)
{
    size_t len = onnx__model_proto__get_packed_size(&b->m);
    uint8_t *buf = malloc(len);
    onnx__model_proto__pack(&b->m, buf);
    for (int i = 0; i < b->n_allocs; i++)
        free(b->allocs[i]);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(buf);
}

void mb_expect_error(struct mb *b, enum zp_status want, const char *needle)
{
    struct zp_graph *g = NULL;
    struct zp_err err = {0};
    enum zp_status st = mb_load(b, &g, &err);
    if (st != want || !strstr(err.msg, needle)) {
        print_error("want status %d with '%s', got %d: %s\n", (int)want, needle, (int)st, err.msg);
        fail();
    }
    assert_null(g);
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

/* ---- training graph checks (model/graph_train.h) ------------------------------------ */

/* The loss of a check is L = sum r . logits with a fixed random r (so dlogits = r),
 * summed in double; a gradient entry is compared with (L(v + h) - L(v - h)) / 2h. */
#define H_STEP 1e-3
#define TOL 2e-2

struct zp_tgraph *mb_tgraph_new(struct zp_graph *g, int batch)
{
    struct zp_tgraph *t = NULL;
    struct zp_err err = {0};
    if (zp_tgraph_new(g, batch, &t, &err)) {
        print_error("zp_tgraph_new: %s\n", err.msg);
        fail();
    }
    return t;
}

const float *mb_tforward(struct zp_tgraph *t, const float *x, int batch, int train)
{
    const float *y = NULL;
    struct zp_err err = {0};
    if (zp_tgraph_forward(t, x, batch, train, &y, &err)) {
        print_error("forward: %s\n", err.msg);
        fail();
    }
    return y;
}

void mb_tbackward(struct zp_tgraph *t, const float *dy)
{
    struct zp_err err = {0};
    if (zp_tgraph_backward(t, dy, &err)) {
        print_error("backward: %s\n", err.msg);
        fail();
    }
}

double mb_loss_r(struct zp_tgraph *t, const float *x, int batch, int train, const float *r,
                     int64_t n)
{
    const float *y = mb_tforward(t, x, batch, train);
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)r[i] * y[i];
    return s;
}

/* Entries of a tensor a check visits (spread over it). */
size_t mb_fd_entries = 40;

/* Compares an analytic gradient with central differences of v (perturbed in
 * place, restored), over at most mb_fd_entries entries spread over the tensor. */
void mb_fd_compare(struct zp_tgraph *t, float *x, int batch, int train, const float *r,
                       int64_t nout, float *v, const float *an, size_t n, const char *what)
{
    double scale = 1e-3;
    for (size_t i = 0; i < n; i++)
        scale = fabs(an[i]) > scale ? fabs(an[i]) : scale;
    size_t step = n > mb_fd_entries ? n / mb_fd_entries : 1;
    for (size_t i = 0; i < n; i += step) {
        float keep = v[i];
        double fd[3];
        int ok = 0;
        /* a kink (a Relu unit changing sides) within h of the point spoils the
         * difference quotient; the same gradient must then show at a smaller h,
         * whereas a wrong gradient matches at none */
        for (int k = 0; k < 3 && !ok; k++) {
            double h = H_STEP / (k == 0 ? 1 : k == 1 ? 3 : 10);
            v[i] = keep + (float)h;
            double lp = mb_loss_r(t, x, batch, train, r, nout);
            v[i] = keep - (float)h;
            double lm = mb_loss_r(t, x, batch, train, r, nout);
            v[i] = keep;
            /* the step actually taken, in float */
            double hs = ((double)(float)(keep + (float)h) - (double)(float)(keep - (float)h)) / 2;
            fd[k] = (lp - lm) / (2 * hs);
            /* float rounding of the two losses, divided by the step */
            double noise = 4 * (fabs(lp) + fabs(lm)) * FLT_EPSILON / (2 * hs);
            ok = fabs(fd[k] - an[i]) <= TOL * (scale + fabs(fd[k])) + noise;
        }
        if (!ok) {
            print_error("%s[%zu]: analytic %.6g, finite differences %.6g %.6g %.6g (scale %.3g)\n",
                        what, i, an[i], fd[0], fd[1], fd[2], scale);
            fail();
        }
    }
}

/* Gradient check of the whole graph: the input and every parameter. */
void mb_check_grads(struct zp_graph *g, float *x, int batch, int train, const char *what)
{
    struct zp_tgraph *t = mb_tgraph_new(g, batch);
    int64_t shape[4], in = 1;
    for (int i = 0, nd = zp_graph_input_shape(g, shape); i < nd; i++)
        in *= shape[i];
    int64_t nout = zp_graph_output_size(g) * batch;
    float *r = mb_randv((size_t)nout, 99);
    (void)mb_tforward(t, x, batch, train);
    zp_tgraph_zero_grad(t);
    mb_tbackward(t, r);
    size_t nin = (size_t)(in * batch);
    float *gx = malloc(nin * sizeof *gx);
    memcpy(gx, zp_tgraph_input_grad(t), nin * sizeof *gx);
    char name[160];
    snprintf(name, sizeof name, "%s: d/dinput", what);
    if (zp_graph_input_is_index(g)) /* integer ids: no gradient, nothing to perturb */
        for (size_t i = 0; i < nin; i++)
            assert_true(gx[i] == 0.f);
    else
        mb_fd_compare(t, x, batch, train, r, nout, x, gx, nin, name);
    for (int p = 0; p < zp_tgraph_num_params(t); p++) {
        const struct zp_gparam *gp = zp_tgraph_param(t, p);
        float *an = malloc(gp->n * sizeof *an);
        memcpy(an, gp->g, gp->n * sizeof *an);
        snprintf(name, sizeof name, "%s: d/d %s (kind %d)", what, gp->name, (int)gp->kind);
        mb_fd_compare(t, x, batch, train, r, nout, gp->w, an, gp->n, name);
        free(an);
    }
    free(gx);
    free(r);
    zp_tgraph_free(t);
}

/* Inputs with distinct values at least 0.03 apart, none within 0.015 of the
 * kinks at 0 and +-0.5 (Relu, Clip, MaxPool ties). */
float *mb_kinkfree(size_t n, unsigned seed)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(((i * 37 + seed) % n) + 0.5) * 0.03f - (float)n * 0.015f;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(v[i]);
        if (fabsf(a - 0.5f) < 0.02f || a < 0.02f)
            v[i] += 0.04f;
    }
    return v;
}

void mb_conv_init(struct mb *b, const char *w, const char *bias, int64_t O, int64_t I,
                      int64_t k, unsigned seed)
{
    int64_t wd[4] = {O, I, k, k};
    float *v = mb_randv((size_t)(O * I * k * k), seed);
    mb_init_f(b, w, 4, wd, v);
    free(v);
    if (bias) {
        float *bv = mb_randv((size_t)O, seed + 1);
        mb_init_f(b, bias, 1, &O, bv);
        free(bv);
    }
}

void mb_bn_init(struct mb *b, const char *pre, int64_t C, unsigned seed)
{
    char nm[4][32];
    float *v = mb_randv((size_t)(4 * C), seed);
    for (int64_t c = 0; c < C; c++) {
        v[c] = 1.f + 0.3f * v[c];                 /* gamma */
        v[3 * C + c] = 0.5f + 0.4f * fabsf(v[3 * C + c]); /* var > 0 */
    }
    static const char *const sfx[4] = {"g", "b", "m", "v"};
    for (int i = 0; i < 4; i++) {
        snprintf(nm[i], sizeof nm[i], "%s_%s", pre, sfx[i]);
        mb_init_f(b, nm[i], 1, &C, v + i * C);
    }
    free(v);
}
