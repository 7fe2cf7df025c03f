/* Every operator of the float runtime against naive loops written here, on tiny
 * models built message by message with protobuf-c (the same structures an ONNX
 * exporter writes), packed to bytes and loaded through zp_onnx_load_buffer.
 * Convolutions run twice: through the AVX-512 kernels (when the CPU has them)
 * and through the portable ones. */
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

/* ---- a tiny ONNX builder ------------------------------------------------------ */

struct mb {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opset, *opsets[1];
    Onnx__NodeProto *nodes[64];
    Onnx__TensorProto *inits[64];
    Onnx__ValueInfoProto *ins[4], *outs[4];
    void *allocs[2048];
    int n_allocs;
    int raw; /* alternate raw_data / float_data */
};

static void *mb_alloc(struct mb *b, size_t n)
{
    void *p = calloc(1, n ? n : 1);
    assert_non_null(p);
    assert_true(b->n_allocs < 2048);
    b->allocs[b->n_allocs++] = p;
    return p;
}

static char *mb_str(struct mb *b, const char *s)
{
    char *p = mb_alloc(b, strlen(s) + 1);
    strcpy(p, s);
    return p;
}

static void mb_begin(struct mb *b, int64_t opset)
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

static Onnx__ValueInfoProto *mb_vi(struct mb *b, const char *name, int nd, const int64_t *dims)
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

static void mb_input(struct mb *b, const char *name, int nd, const int64_t *dims)
{
    b->ins[b->g.n_input++] = mb_vi(b, name, nd, dims);
}

static void mb_output(struct mb *b, const char *name)
{
    b->outs[b->g.n_output++] = mb_vi(b, name, 0, NULL);
}

static Onnx__TensorProto *mb_tensor(struct mb *b, const char *name, int nd, const int64_t *dims)
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

static void mb_init_f(struct mb *b, const char *name, int nd, const int64_t *dims, const float *v)
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

static void mb_init_i64(struct mb *b, const char *name, int n, const int64_t *v)
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
static char **mb_names(struct mb *b, const char *list, size_t *n)
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

static Onnx__NodeProto *mb_node(struct mb *b, const char *op, const char *name, const char *in,
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

static Onnx__AttributeProto *mb_attr(struct mb *b, Onnx__NodeProto *n, const char *name, int type)
{
    Onnx__AttributeProto *a = mb_alloc(b, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = mb_str(b, name);
    a->has_type = 1;
    a->type = type;
    n->attribute[n->n_attribute++] = a;
    return a;
}

static void mb_attr_i(struct mb *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = mb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

static void mb_attr_f(struct mb *b, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = mb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

static void mb_attr_s(struct mb *b, Onnx__NodeProto *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = mb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.len = strlen(v);
    a->s.data = (uint8_t *)mb_str(b, v);
}

static void mb_attr_ints(struct mb *b, Onnx__NodeProto *n, const char *name, int cnt,
                         const int64_t *v)
{
    Onnx__AttributeProto *a = mb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)cnt;
    a->ints = mb_alloc(b, (size_t)cnt * sizeof(int64_t));
    memcpy(a->ints, v, (size_t)cnt * sizeof(int64_t));
}

/* Packs, frees the builder, loads. Returns the status; *g is NULL on error. */
static enum zp_status mb_load(struct mb *b, struct zp_graph **g, struct zp_err *err)
{
    size_t len = onnx__model_proto__get_packed_size(&b->m);
    uint8_t *buf = malloc(len);
    onnx__model_proto__pack(&b->m, buf);
    for (int i = 0; i < b->n_allocs; i++)
        free(b->allocs[i]);
    zp_err_clear(err);
    enum zp_status st = zp_onnx_load_buffer(buf, len, "test.onnx", g, err);
    free(buf);
    return st;
}

static struct zp_graph *mb_load_ok(struct mb *b)
{
    struct zp_graph *g = NULL;
    struct zp_err err = {0};
    if (mb_load(b, &g, &err) != ZP_OK) {
        print_error("load failed: %s\n", err.msg);
        fail();
    }
    return g;
}

/* ---- helpers ------------------------------------------------------------------- */

static float *randv(size_t n, unsigned seed)
{
    float *v = malloc(n * sizeof *v);
    unsigned s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        v[i] = (float)((s >> 8) & 0xFFFF) / 32768.f - 1.f;
    }
    return v;
}

static void run(struct zp_graph *g, const float *x, int batch, float *y,
                const struct zp_run_hooks *h)
{
    struct zp_err err = {0};
    if (zp_graph_run(g, x, batch, y, h, &err) != ZP_OK) {
        print_error("run failed: %s\n", err.msg);
        fail();
    }
}

static void assert_close(const float *got, const float *want, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= tol * (1 + fabs(want[i])))) {
            print_error("element %zu: got %.7g, want %.7g\n", i, got[i], want[i]);
            fail();
        }
}

/* Naive convolution: ONNX semantics, padding reads `pad`. */
struct cspec {
    int64_t N, C, H, W, O, kh, kw, sh, sw, dh, dw, group, pt, pl, pb, pr;
};

static void ref_conv(const struct cspec *s, const float *x, const float *w, const float *b,
                     float pad, float *y, int64_t OH, int64_t OW)
{
    int64_t Cg = s->C / s->group, Og = s->O / s->group;
    for (int64_t n = 0; n < s->N; n++)
        for (int64_t o = 0; o < s->O; o++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    double acc = b ? b[o] : 0;
                    int64_t gi = o / Og;
                    for (int64_t c = 0; c < Cg; c++)
                        for (int64_t ky = 0; ky < s->kh; ky++)
                            for (int64_t kx = 0; kx < s->kw; kx++) {
                                int64_t iy = oy * s->sh + ky * s->dh - s->pt;
                                int64_t ix = ox * s->sw + kx * s->dw - s->pl;
                                float v =
                                    iy < 0 || iy >= s->H || ix < 0 || ix >= s->W
                                        ? pad
                                        : x[((n * s->C + gi * Cg + c) * s->H + iy) * s->W + ix];
                                acc += (double)v * w[((o * Cg + c) * s->kh + ky) * s->kw + kx];
                            }
                    y[((n * s->O + o) * OH + oy) * OW + ox] = (float)acc;
                }
}

/* Builds Conv(X) with the spec, runs it, compares with ref_conv. auto_pad: NULL for
 * explicit pads, else the string (the spec's pads must then be what ONNX implies). */
static void check_conv(const struct cspec *s, const char *auto_pad, int with_bias, float pad_value)
{
    for (int portable = 0; portable < 2; portable++) {
        zp_model_portable_only = portable;
        int64_t OH = (s->H + s->pt + s->pb - s->dh * (s->kh - 1) - 1) / s->sh + 1;
        int64_t OW = (s->W + s->pl + s->pr - s->dw * (s->kw - 1) - 1) / s->sw + 1;
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[4] = {1, s->C, s->H, s->W}, wd[4] = {s->O, s->C / s->group, s->kh, s->kw};
        size_t nx = (size_t)(s->N * s->C * s->H * s->W),
               nw = (size_t)(wd[0] * wd[1] * wd[2] * wd[3]);
        float *x = randv(nx, 1), *w = randv(nw, 2), *bias = randv((size_t)s->O, 3);
        mb_input(&b, "x", 4, xd);
        mb_init_f(&b, "w", 4, wd, w);
        if (with_bias)
            mb_init_f(&b, "b", 1, &s->O, bias);
        Onnx__NodeProto *n = mb_node(&b, "Conv", "conv_0", with_bias ? "x,w,b" : "x,w", "y");
        int64_t st[2] = {s->sh, s->sw}, dl[2] = {s->dh, s->dw},
                pd[4] = {s->pt, s->pl, s->pb, s->pr};
        int64_t ks[2] = {s->kh, s->kw};
        mb_attr_ints(&b, n, "strides", 2, st);
        mb_attr_ints(&b, n, "dilations", 2, dl);
        mb_attr_ints(&b, n, "kernel_shape", 2, ks);
        if (auto_pad)
            mb_attr_s(&b, n, "auto_pad", auto_pad);
        else
            mb_attr_ints(&b, n, "pads", 4, pd);
        mb_attr_i(&b, n, "group", s->group);
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_ok(&b);
        assert_int_equal(zp_graph_output_size(g), s->O * OH * OW);
        const struct zp_layer_info *li = zp_graph_layer(g, 0);
        assert_int_equal(li->pads[0], s->pt);
        assert_int_equal(li->pads[1], s->pl);
        assert_int_equal(li->pads[2], s->pb);
        assert_int_equal(li->pads[3], s->pr);
        assert_int_equal(li->depthwise, s->group > 1 && s->group == s->C && s->group == s->O);
        size_t ny = (size_t)(s->N * s->O * OH * OW);
        float *y = malloc(ny * sizeof *y), *want = malloc(ny * sizeof *want);
        ref_conv(s, x, w, with_bias ? bias : NULL, pad_value, want, OH, OW);
        float pv[1] = {pad_value};
        struct zp_run_hooks h = {.pad_value = pv};
        run(g, x, (int)s->N, y, &h);
        assert_close(y, want, ny, 1e-4);
        free(x); free(w); free(bias); free(y); free(want);
        zp_graph_free(g);
    }
    zp_model_portable_only = 0;
}

/* ---- convolution ------------------------------------------------------------------ */

static void test_conv_padded_strided(void **state)
{
    /* asymmetric pads, stride 2, 3x3, bias; the shape of a TF "SAME" stride-2 conv */
    struct cspec s = {.N = 2, .C = 3, .H = 9, .W = 8, .O = 5, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
                      .dh = 1, .dw = 1, .group = 1, .pt = 0, .pl = 0, .pb = 1, .pr = 1};
    check_conv(&s, NULL, 1, 0.f);
    struct cspec s2 = {.N = 1, .C = 2, .H = 7, .W = 7, .O = 3, .kh = 3, .kw = 2, .sh = 1, .sw = 3,
                       .dh = 1, .dw = 1, .group = 1, .pt = 2, .pl = 1, .pb = 0, .pr = 2};
    check_conv(&s2, NULL, 0, 0.f);
    /* wide enough for the vector stride-2 im2col copy */
    struct cspec s3 = {.N = 1, .C = 2, .H = 5, .W = 45, .O = 3, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
                       .dh = 1, .dw = 1, .group = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
    check_conv(&s3, NULL, 1, 0.5f);
    /* K x OW large enough that im2col runs in several bands of output rows */
    struct cspec s4 = {.N = 1, .C = 64, .H = 7, .W = 40, .O = 5, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                       .dh = 1, .dw = 1, .group = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
    check_conv(&s4, NULL, 1, 0.f);
}

static void test_conv_depthwise(void **state)
{
    /* stride 1 and 2, widths around the 16-lane vector, with and without pads */
    int64_t widths[] = {5, 16, 17, 35};
    for (int i = 0; i < 4; i++)
        for (int64_t stv = 1; stv <= 2; stv++) {
            struct cspec s = {.N = 2, .C = 4, .H = 6, .W = widths[i], .O = 4, .kh = 3, .kw = 3,
                              .sh = stv, .sw = stv, .dh = 1, .dw = 1, .group = 4,
                              .pt = 1, .pl = 1, .pb = 1, .pr = 1};
            check_conv(&s, NULL, 1, 0.f);
            s.pt = s.pl = 0;
            check_conv(&s, NULL, 0, 0.f);
        }
}

static void test_conv_grouped_dilated(void **state)
{
    struct cspec s = {.N = 1, .C = 4, .H = 9, .W = 10, .O = 6, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                      .dh = 2, .dw = 3, .group = 2, .pt = 2, .pl = 3, .pb = 1, .pr = 0};
    check_conv(&s, NULL, 1, 0.f);
    /* depthwise with channel multiplier 2 (group = C, O = 2C) */
    struct cspec m = {.N = 1, .C = 3, .H = 5, .W = 5, .O = 6, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                      .dh = 1, .dw = 1, .group = 3, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
    check_conv(&m, NULL, 1, 0.f);
}

static void test_conv_pointwise(void **state)
{
    /* 1x1: the no-im2col path, odd sizes for the register-block tails */
    struct cspec s = {.N = 3, .C = 5, .H = 7, .W = 9, .O = 11, .kh = 1, .kw = 1, .sh = 1, .sw = 1,
                      .dh = 1, .dw = 1, .group = 1};
    check_conv(&s, NULL, 1, 0.f);
}

static void test_conv_auto_pad(void **state)
{
    /* SAME_UPPER, in 7, k 3, s 2: out 4, total pad (4-1)*2+3-7 = 2 -> 1 / 1;
     * in 8: out 4, total 1 -> UPPER puts it at the end, LOWER at the start */
    struct cspec up = {.N = 1, .C = 2, .H = 7, .W = 8, .O = 3, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
                       .dh = 1, .dw = 1, .group = 1, .pt = 1, .pl = 0, .pb = 1, .pr = 1};
    check_conv(&up, "SAME_UPPER", 1, 0.f);
    struct cspec lo = up;
    lo.pl = 1;
    lo.pr = 0;
    check_conv(&lo, "SAME_LOWER", 1, 0.f);
    struct cspec va = up;
    va.pt = va.pl = va.pb = va.pr = 0;
    check_conv(&va, "VALID", 1, 0.f);
}

static void test_conv_pad_value(void **state)
{
    /* the hook's pad value is what implicit padding reads, in every conv path */
    struct cspec s = {.N = 1, .C = 3, .H = 5, .W = 6, .O = 2, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                      .dh = 1, .dw = 1, .group = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
    check_conv(&s, NULL, 1, 0.37f);
    struct cspec d = {.N = 1, .C = 3, .H = 5, .W = 20, .O = 3, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
                      .dh = 1, .dw = 1, .group = 3, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
    check_conv(&d, NULL, 1, -0.25f);
}

/* ---- Gemm / MatMul ------------------------------------------------------------------- */

static void check_gemm(int transB, int matmul, float alpha, float beta)
{
    const int64_t N = 3, K = 7, O = 5;
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[2] = {1, K}, wd[2] = {transB ? O : K, transB ? K : O};
    float *x = randv((size_t)(N * K), 4), *w = randv((size_t)(K * O), 5), *c = randv((size_t)O, 6);
    mb_input(&b, "x", 2, xd);
    mb_init_f(&b, "B", 2, wd, w);
    if (matmul) {
        mb_node(&b, "MatMul", "mm", "x,B", "y");
    } else {
        mb_init_f(&b, "C", 1, &O, c);
        Onnx__NodeProto *n = mb_node(&b, "Gemm", "fc", "x,B,C", "y");
        mb_attr_i(&b, n, "transB", transB);
        mb_attr_f(&b, n, "alpha", alpha);
        mb_attr_f(&b, n, "beta", beta);
    }
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    const struct zp_layer_info *li = zp_graph_layer(g, 0);
    assert_int_equal(li->wshape[0], O); /* always [O, I] */
    assert_int_equal(li->wshape[1], K);
    assert_int_equal(li->n_out, O);
    float y[15], want[15];
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < O; o++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += (double)x[n * K + k] * (transB ? w[o * K + k] : w[k * O + o]);
            want[n * O + o] = (float)(matmul ? acc : alpha * acc + beta * c[o]);
        }
    run(g, x, (int)N, y, NULL);
    assert_close(y, want, (size_t)(N * O), 1e-5);
    free(x); free(w); free(c);
    zp_graph_free(g);
}

static void test_gemm(void **state)
{
    check_gemm(0, 0, 1.f, 1.f);
    check_gemm(1, 0, 1.f, 1.f);
    check_gemm(1, 0, 0.5f, 2.f);
    check_gemm(0, 1, 1.f, 1.f);
}

/* ---- elementwise, pooling, shape ops ------------------------------------------------ */

static void test_add_mul_broadcast(void **state)
{
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 2, 3, 4}, cd[3] = {2, 1, 1}, rd[1] = {4};
    float cv[2] = {10.f, -1.f}, rv[4] = {1.f, 2.f, 3.f, 4.f};
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "c", 3, cd, cv);
    mb_init_f(&b, "r", 1, rd, rv);
    mb_node(&b, "Add", "add_c", "x,c", "a");  /* per-channel constant */
    mb_node(&b, "Mul", "mul_r", "r,a", "m");  /* constant first, broadcast along W */
    mb_node(&b, "Add", "add_xx", "m,x", "y"); /* two activations */
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    float *x = randv(48, 7), y[48], want[48];
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 4; j++) {
                    int k = ((n * 2 + c) * 3 + i) * 4 + j;
                    want[k] = rv[j] * (x[k] + cv[c]) + x[k];
                }
    run(g, x, 2, y, NULL);
    assert_close(y, want, 48, 1e-6);
    free(x);
    zp_graph_free(g);
}

static void test_relu_clip(void **state)
{
    /* opset 6: Clip with attributes; opset 13: Clip with (min, max) inputs */
    for (int form = 0; form < 2; form++) {
        struct mb b;
        mb_begin(&b, form ? 13 : 6);
        int64_t xd[2] = {1, 8};
        mb_input(&b, "x", 2, xd);
        Onnx__NodeProto *n;
        if (form) {
            float lo = -0.25f, hi = 0.5f;
            mb_init_f(&b, "lo", 0, NULL, &lo);
            mb_init_f(&b, "hi", 0, NULL, &hi);
            n = mb_node(&b, "Clip", "clip", "x,lo,hi", "c");
        } else {
            n = mb_node(&b, "Clip", "clip", "x", "c");
            mb_attr_f(&b, n, "min", -0.25f);
            mb_attr_f(&b, n, "max", 0.5f);
        }
        mb_node(&b, "Relu", "relu", "x", "r");
        mb_node(&b, "Add", "sum", "c,r", "y");
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_ok(&b);
        float *x = randv(16, 8), y[16], want[16];
        for (int i = 0; i < 16; i++)
            want[i] = fminf(fmaxf(x[i], -0.25f), 0.5f) + fmaxf(x[i], 0.f);
        run(g, x, 2, y, NULL);
        assert_close(y, want, 16, 1e-6);
        free(x);
        zp_graph_free(g);
    }
}

static void test_pools(void **state)
{
    const int64_t C = 2, H = 5;
    for (int variant = 0; variant < 4; variant++) {
        int maxpool = variant == 0, cip = variant == 2, ceil_mode = variant == 3;
        /* ceil mode: W 7, kernel 2, stride 2, no right pad: room 5 -> 4 columns, the
         * last window (start 6) still starts inside the input */
        int64_t W = ceil_mode ? 7 : 6, pt = 1, pl = 0, pb = 1, pr = ceil_mode ? 0 : 1;
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[4] = {1, C, H, W}, ks[2] = {3, 2}, st[2] = {2, 2}, pd[4] = {pt, pl, pb, pr};
        mb_input(&b, "x", 4, xd);
        Onnx__NodeProto *n = mb_node(&b, maxpool ? "MaxPool" : "AveragePool", "pool", "x", "y");
        mb_attr_ints(&b, n, "kernel_shape", 2, ks);
        mb_attr_ints(&b, n, "strides", 2, st);
        mb_attr_ints(&b, n, "pads", 4, pd);
        if (!maxpool)
            mb_attr_i(&b, n, "count_include_pad", cip);
        if (ceil_mode)
            mb_attr_i(&b, n, "ceil_mode", 1);
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_ok(&b);
        /* rows floor((5+2-3)/2)+1 = 3; cols floor((6+1-2)/2)+1 = 3, ceil mode 4 */
        int64_t OH = 3, OW = ceil_mode ? 4 : 3;
        assert_int_equal(zp_graph_output_size(g), C * OH * OW);
        float *x = randv((size_t)(C * H * W), 9), y[64], want[64];
        for (int64_t c = 0; c < C; c++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    double s = 0, m = -INFINITY;
                    int cnt = 0, cntpad = 0;
                    for (int64_t ky = 0; ky < 3; ky++)
                        for (int64_t kx = 0; kx < 2; kx++) {
                            int64_t iy = oy * 2 + ky - pt, ix = ox * 2 + kx - pl;
                            if (iy >= -pt && iy < H + pb && ix >= -pl && ix < W + pr)
                                cntpad++; /* inside the padded frame */
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                continue;
                            float v = x[(c * H + iy) * W + ix];
                            s += v;
                            m = v > m ? v : m;
                            cnt++;
                        }
                    want[(c * OH + oy) * OW + ox] = (float)(maxpool ? m : s / (cip ? cntpad : cnt));
                }
        run(g, x, 1, y, NULL);
        assert_close(y, want, (size_t)(C * OH * OW), 1e-6);
        free(x);
        zp_graph_free(g);
    }
}

static void test_gap_flatten_softmax(void **state)
{
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 3, 2, 2};
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "GlobalAveragePool", "gap", "x", "g");
    mb_node(&b, "Flatten", "flat", "g", "f");
    mb_node(&b, "Identity", "id", "f", "i");
    mb_node(&b, "Dropout", "drop", "i", "d");
    mb_node(&b, "Softmax", "sm", "d", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    assert_int_equal(zp_graph_output_size(g), 3);
    float x[24], y[6], want[6];
    for (int i = 0; i < 24; i++)
        x[i] = (float)(i % 7) * 0.5f - 1.f;
    for (int n = 0; n < 2; n++) {
        double m[3], s = 0;
        for (int c = 0; c < 3; c++) {
            m[c] = 0;
            for (int k = 0; k < 4; k++)
                m[c] += x[(n * 3 + c) * 4 + k] / 4.0;
            s += exp(m[c]);
        }
        for (int c = 0; c < 3; c++)
            want[n * 3 + c] = (float)(exp(m[c]) / s);
    }
    run(g, x, 2, y, NULL);
    assert_close(y, want, 6, 1e-6);
    zp_graph_free(g);
}

static void test_reshape(void **state)
{
    /* [N,2,3,2] -> Reshape [0,-1,4] -> [N,3,4] -> Reshape [-1,12] -> MatMul with a
     * reversing permutation: the element order survives both reshapes */
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 2, 3, 2}, s1[3] = {0, -1, 4}, s2[2] = {-1, 12}, wd[2] = {12, 12};
    float eye[144] = {0};
    for (int i = 0; i < 12; i++)
        eye[i * 12 + (11 - i)] = 1.f; /* reverses the order */
    mb_input(&b, "x", 4, xd);
    mb_init_i64(&b, "s1", 3, s1);
    mb_init_i64(&b, "s2", 2, s2);
    mb_init_f(&b, "w", 2, wd, eye);
    mb_node(&b, "Reshape", "r1", "x,s1", "a");
    mb_node(&b, "Reshape", "r2", "a,s2", "b");
    mb_node(&b, "MatMul", "mm", "b,w", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    float *x = randv(24, 10), y[24], want[24];
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < 12; i++)
            want[n * 12 + i] = x[n * 12 + 11 - i];
    run(g, x, 2, y, NULL);
    assert_close(y, want, 24, 1e-6);
    free(x);
    zp_graph_free(g);
}

/* BN after a Conv folds into it; BN after an Add stays a per-channel affine. Both
 * must equal conv -> (x - mean) / sqrt(var + eps) * scale + B. */
static void test_batchnorm(void **state)
{
    const int64_t C = 3, H = 4, W = 5;
    float scale[3] = {1.5f, -0.5f, 2.f}, bb[3] = {0.1f, 0.2f, -0.3f}, mean[3] = {0.3f, -0.2f, 0.f},
          var[3] = {0.5f, 2.f, 0.04f};
    const float eps = 1e-3f;
    for (int standalone = 0; standalone < 2; standalone++) {
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[4] = {1, C, H, W}, wd[4] = {C, C, 1, 1};
        float *w = randv(9, 11);
        mb_input(&b, "x", 4, xd);
        mb_init_f(&b, "w", 4, wd, w);
        mb_init_f(&b, "s", 1, &C, scale);
        mb_init_f(&b, "bb", 1, &C, bb);
        mb_init_f(&b, "m", 1, &C, mean);
        mb_init_f(&b, "v", 1, &C, var);
        mb_node(&b, "Conv", "conv", "x,w", "c");
        if (standalone)
            mb_node(&b, "Add", "twice", "c,c", "c2");
        Onnx__NodeProto *n =
            mb_node(&b, "BatchNormalization", "bn", standalone ? "c2,s,bb,m,v" : "c,s,bb,m,v", "y");
        mb_attr_f(&b, n, "epsilon", eps);
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_ok(&b);
        const struct zp_layer_info *li = zp_graph_layer(g, 0);
        if (!standalone) { /* folded: weight scaled, bias created */
            assert_non_null(li->bias);
            double k0 = scale[0] / sqrt(var[0] + eps);
            assert_true(fabs(li->weight[0] - w[0] * k0) < 1e-5);
            assert_true(fabs(li->bias[0] - (bb[0] - mean[0] * k0)) < 1e-5);
        }
        float *x = randv((size_t)(2 * C * H * W), 12), y[120], want[120];
        for (int64_t n2 = 0; n2 < 2; n2++)
            for (int64_t o = 0; o < C; o++)
                for (int64_t p = 0; p < H * W; p++) {
                    double acc = 0;
                    for (int64_t c = 0; c < C; c++)
                        acc += (double)w[o * C + c] * x[(n2 * C + c) * H * W + p];
                    if (standalone)
                        acc *= 2;
                    want[(n2 * C + o) * H * W + p] =
                        (float)((acc - mean[o]) / sqrt(var[o] + eps) * scale[o] + bb[o]);
                }
        run(g, x, 2, y, NULL);
        assert_close(y, want, 120, 1e-5);
        free(x);
        free(w);
        zp_graph_free(g);
    }
}

/* ---- hooks ------------------------------------------------------------------------ */

struct hook_log {
    int inputs, outputs;
    int in_parallel;     /* a callback ran inside an OpenMP parallel region */
    float min_pre;       /* smallest pre-activation output seen */
    float x0;            /* first input value seen by layer 0 */
};

static void h_in(void *ctx, int layer, float *x, int batch)
{
    struct hook_log *l = ctx;
    l->inputs++;
    l->in_parallel |= omp_in_parallel();
    if (layer == 0) {
        l->x0 = x[0];
        for (int i = 0; i < batch * 8; i++) /* writable copy: zero it */
            x[i] = 0.f;
    }
}

static void h_out(void *ctx, int layer, const float *y, int batch)
{
    struct hook_log *l = ctx;
    l->outputs++;
    l->in_parallel |= omp_in_parallel();
    for (int i = 0; i < batch * 4; i++)
        l->min_pre = y[i] < l->min_pre ? y[i] : l->min_pre;
}

static void h_in_nop(void *ctx, int layer, float *x, int batch) { (void)x; }

static void test_hooks(void **state)
{
    /* Gemm(8->4, bias) -> Relu; relu_after = 1; hooks see / change what they should */
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[2] = {1, 8}, wd[2] = {4, 8}, O = 4;
    float *w = randv(32, 13), bias[4] = {-1.f, -2.f, 0.5f, 1.f};
    mb_input(&b, "x", 2, xd);
    mb_init_f(&b, "w", 2, wd, w);
    mb_init_f(&b, "b", 1, &O, bias);
    Onnx__NodeProto *n = mb_node(&b, "Gemm", "fc", "x,w,b", "z");
    mb_attr_i(&b, n, "transB", 1);
    mb_node(&b, "Relu", "act", "z", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    assert_int_equal(zp_graph_layer(g, 0)->relu_after, 1);
    float *x = randv(16, 14), y[8];
    struct hook_log log = {0, 0, 0, 0.f, 0.f};
    struct zp_run_hooks h = {.ctx = &log, .layer_input = h_in, .layer_output = h_out};
    run(g, x, 2, y, &h);
    assert_int_equal(log.inputs, 1);
    assert_int_equal(log.outputs, 1);
    /* callbacks may use OpenMP with the whole team (the harness's quantizers do) */
    assert_int_equal(log.in_parallel, 0);
    assert_true(log.x0 == x[0]);
    assert_true(log.min_pre <= -2.f + 1e-6f); /* zeroed input: pre-activation = bias, before Relu */
    for (int i = 0; i < 2; i++)
        for (int o = 0; o < 4; o++)
            assert_true(fabsf(y[i * 4 + o] - fmaxf(bias[o], 0.f)) < 1e-6f);
    /* the caller's input is untouched */
    float *x2 = randv(16, 14);
    assert_memory_equal(x, x2, 16 * sizeof(float));
    /* replacement weights and bias: all-ones weight, zero bias -> sum of inputs */
    float ones[32], zeros[4] = {0};
    for (int i = 0; i < 32; i++)
        ones[i] = 1.f;
    const float *ws[1] = {ones}, *bs[1] = {zeros};
    struct zp_run_hooks r = {.weights = ws, .biases = bs};
    run(g, x, 2, y, &r);
    for (int i = 0; i < 2; i++) {
        float s = 0;
        for (int k = 0; k < 8; k++)
            s += x[i * 8 + k];
        for (int o = 0; o < 4; o++)
            assert_true(fabsf(y[i * 4 + o] - fmaxf(s, 0.f)) < 1e-5f);
    }
    free(x);
    free(x2);
    free(w);
    zp_graph_free(g);
}

static void count_out(void *ctx, int layer, const float *y, int batch) { (*(int *)ctx)++; }

/* Branches around fused activations: a Relu read by a Conv and an Add, a Clip at
 * the graph output. The node-by-node schedule (with layer_output, where the
 * activations are applied late) must agree with the fused per-image one. */
static void test_hooked_schedule_matches_fast(void **state)
{
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 2, 5, 5}, wa[4] = {2, 2, 3, 3}, wb[4] = {2, 2, 1, 1}, wf[2] = {3, 50},
            pd[4] = {1, 1, 1, 1};
    float *a = randv(36, 20), *bw = randv(4, 21), *f = randv(150, 22), lo = -0.1f, hi = 0.1f;
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "wa", 4, wa, a);
    mb_init_f(&b, "wb", 4, wb, bw);
    mb_init_f(&b, "wf", 2, wf, f);
    mb_init_f(&b, "lo", 0, NULL, &lo);
    mb_init_f(&b, "hi", 0, NULL, &hi);
    mb_attr_ints(&b, mb_node(&b, "Conv", "conv_a", "x,wa", "ca"), "pads", 4, pd);
    mb_node(&b, "Relu", "relu_a", "ca", "ra");
    mb_node(&b, "Conv", "conv_b", "ra,wb", "cb");
    mb_node(&b, "Add", "res", "ra,cb", "s");
    mb_node(&b, "Flatten", "flat", "s", "fl");
    mb_attr_i(&b, mb_node(&b, "Gemm", "fc", "fl,wf", "z"), "transB", 1);
    mb_node(&b, "Clip", "clip", "z,lo,hi", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    assert_int_equal(zp_graph_layer(g, 0)->relu_after, 1);
    assert_int_equal(zp_graph_layer(g, 1)->relu_after, 0);
    float *x = randv(150, 23), fast[9], hooked[9], only_in[9];
    int calls = 0;
    run(g, x, 3, fast, NULL);
    struct zp_run_hooks h = {.ctx = &calls, .layer_output = count_out};
    run(g, x, 3, hooked, &h);
    assert_int_equal(calls, 3);
    struct zp_run_hooks hi2 = {.ctx = &calls, .layer_input = h_in_nop};
    run(g, x, 3, only_in, &hi2);
    assert_close(hooked, fast, 9, 1e-6);
    assert_close(only_in, fast, 9, 1e-6);
    int clipped = 0;
    for (int i = 0; i < 9; i++) {
        assert_true(fast[i] >= -0.1f && fast[i] <= 0.1f);
        clipped += fast[i] == -0.1f || fast[i] == 0.1f;
    }
    assert_true(clipped > 0);
    free(a); free(bw); free(f); free(x);
    zp_graph_free(g);
}

/* ---- errors ------------------------------------------------------------------------ */

static void expect_error(struct mb *b, const char *needle)
{
    struct zp_graph *g = NULL;
    struct zp_err err = {0};
    assert_int_not_equal(mb_load(b, &g, &err), ZP_OK);
    assert_null(g);
    if (!strstr(err.msg, needle)) {
        print_error("message '%s' lacks '%s'\n", err.msg, needle);
        fail();
    }
}

static void test_errors(void **state)
{
    struct mb b;
    int64_t xd[4] = {1, 3, 4, 4}, wd[4] = {2, 3, 3, 3}, bad[4] = {2, 3, 3, 3};
    float w[54] = {0};

    mb_begin(&b, 13); /* unknown operator */
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Celu", "mystery_7", "x", "y");
    mb_output(&b, "y");
    expect_error(&b, "node 'mystery_7' (Celu): operator not supported");

    mb_begin(&b, 13); /* unknown attribute */
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "w", 4, wd, w);
    mb_attr_i(&b, mb_node(&b, "Conv", "conv_3", "x,w", "y"), "foo", 1);
    mb_output(&b, "y");
    expect_error(&b, "node 'conv_3' (Conv): attribute 'foo' not supported");

    mb_begin(&b, 13); /* undefined input */
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Relu", "r", "nowhere", "y");
    mb_output(&b, "y");
    expect_error(&b, "'nowhere' is not defined");

    mb_begin(&b, 13); /* a cycle: a reads b, b reads a */
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Add", "n1", "x,b", "a");
    mb_node(&b, "Relu", "n2", "a", "b");
    mb_output(&b, "b");
    expect_error(&b, "node 'n1' (Add): input 'b' is not defined");

    mb_begin(&b, 13); /* weight / channel mismatch */
    bad[1] = 2;
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "w", 4, bad, w);
    mb_node(&b, "Conv", "c", "x,w", "y");
    mb_output(&b, "y");
    expect_error(&b, "does not match 3 input channels");

    mb_begin(&b, 13); /* raw_data size disagrees with dims */
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "w", 4, wd, w); /* raw */
    b.inits[0]->dims[0] = 3;
    mb_node(&b, "Conv", "c", "x,w", "y");
    mb_output(&b, "y");
    expect_error(&b, "tensor 'w': raw_data has 216 bytes");

    mb_begin(&b, 13); /* negative dim */
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "w", 4, wd, w);
    b.inits[0]->dims[1] = -3;
    mb_node(&b, "Conv", "c", "x,w", "y");
    mb_output(&b, "y");
    expect_error(&b, "tensor 'w': dimensions");

    mb_begin(&b, 13); /* unsupported dtype */
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "w", 4, wd, w);
    b.inits[0]->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    mb_node(&b, "Conv", "c", "x,w", "y");
    mb_output(&b, "y");
    expect_error(&b, "data type 11 not supported");

    mb_begin(&b, 13); /* kernel larger than the input */
    int64_t big[4] = {2, 3, 7, 7};
    float wb[294] = {0};
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "w", 4, big, wb);
    mb_node(&b, "Conv", "c", "x,w", "y");
    mb_output(&b, "y");
    expect_error(&b, "does not fit");

    mb_begin(&b, 13); /* output never produced */
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Relu", "r", "x", "y");
    mb_output(&b, "z");
    expect_error(&b, "graph output 'z' is not produced");

    mb_begin(&b, 13); /* Clip attributes in a new opset */
    mb_input(&b, "x", 4, xd);
    mb_attr_f(&b, mb_node(&b, "Clip", "clip9", "x", "y"), "min", 0.f);
    mb_output(&b, "y");
    expect_error(&b, "node 'clip9' (Clip)");
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_conv_padded_strided),
        cmocka_unit_test(test_conv_depthwise),
        cmocka_unit_test(test_conv_grouped_dilated),
        cmocka_unit_test(test_conv_pointwise),
        cmocka_unit_test(test_conv_auto_pad),
        cmocka_unit_test(test_conv_pad_value),
        cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_add_mul_broadcast),
        cmocka_unit_test(test_relu_clip),
        cmocka_unit_test(test_pools),
        cmocka_unit_test(test_gap_flatten_softmax),
        cmocka_unit_test(test_reshape),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_hooks),
        cmocka_unit_test(test_hooked_schedule_matches_fast),
        cmocka_unit_test(test_errors),
    };
    return ZP_RUN_TESTS(t);
}
