/* ONNX import of files written by other tools (tests/data/, made by
 * scripts/make_test_onnx.py with PyTorch's exporter and onnx.helper), checked
 * against PyTorch's own outputs; BatchNormalization folding; corrupt and truncated
 * files; error messages that name the node; and `harness inspect`. */
#include "tests/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/graph.h"
#include "onnx.pb-c.h"

#define DATA "tests/data/"

static struct zp_graph *load_ok(const char *path)
{
    struct zp_graph *g = NULL;
    struct zp_err err = {0};
    if (zp_onnx_load(path, &g, &err) != ZP_OK) {
        print_error("%s\n", err.msg);
        fail();
    }
    return g;
}

/* torch_small_io.bin: inputs [2,3,16,16] then PyTorch's logits [2,10] */
static void torch_io(float **x, float **want)
{
    size_t n;
    char *buf = zp_test_read_file(DATA "torch_small_io.bin", &n);
    assert_non_null(buf);
    assert_int_equal(n, (2 * 3 * 16 * 16 + 2 * 10) * sizeof(float));
    *x = malloc(2 * 3 * 16 * 16 * sizeof(float));
    *want = malloc(2 * 10 * sizeof(float));
    memcpy(*x, buf, 2 * 3 * 16 * 16 * sizeof(float));
    memcpy(*want, buf + 2 * 3 * 16 * 16 * sizeof(float), 2 * 10 * sizeof(float));
    free(buf);
}

static void nop_out(void *ctx, int layer, const float *y, int batch) { (*(int *)ctx)++; }

static void nop_out_image(void *ctx, int layer, int image, int thread, const float *y)
{
#pragma omp atomic
    (*(int *)ctx)++;
}

static void check_against_torch(const char *path)
{
    struct zp_graph *g = load_ok(path);
    float *x, *want, y[20];
    torch_io(&x, &want);
    int64_t s[4];
    assert_int_equal(zp_graph_input_shape(g, s), 3);
    assert_int_equal(s[0], 3);
    assert_int_equal(zp_graph_output_size(g), 10);
    assert_int_equal(zp_graph_num_layers(g), 4);
    struct zp_err err = {0};
    int calls = 0;
    struct zp_run_hooks h = {.ctx = &calls, .layer_output = nop_out};
    struct zp_run_hooks hi = {.ctx = &calls, .layer_output_image = nop_out_image};
    /* fast, node by node (batch hooks), fast with per-image hooks */
    for (int hooked = 0; hooked < 3; hooked++) {
        assert_int_equal(zp_graph_run(g, x, 2, y, hooked == 1 ? &h : hooked == 2 ? &hi : NULL, &err),
                         ZP_OK);
        for (int i = 0; i < 20; i++)
            if (fabsf(y[i] - want[i]) > 1e-4f) {
                print_error("%s logit %d: got %g, PyTorch %g\n", path, i, y[i], want[i]);
                fail();
            }
    }
    assert_int_equal(calls, 4 + 4 * 2);
    /* one image at a time gives the same logits as the batch */
    assert_int_equal(zp_graph_run(g, x + 3 * 16 * 16, 1, y, NULL, &err), ZP_OK);
    for (int i = 0; i < 10; i++)
        assert_true(fabsf(y[i] - want[10 + i]) <= 1e-4f);
    free(x);
    free(want);
    zp_graph_free(g);
}

static void test_pytorch_export(void **state)
{
    check_against_torch(DATA "torch_small.onnx");
    struct zp_graph *g = load_ok(DATA "torch_small.onnx");
    const struct zp_layer_info *dw = zp_graph_layer(g, 1), *fc = zp_graph_layer(g, 3);
    assert_true(dw->depthwise);
    assert_int_equal(dw->group, 8);
    assert_int_equal(zp_graph_layer(g, 0)->relu_after, 1);
    assert_int_equal(zp_graph_layer(g, 0)->strides[0], 2);
    assert_string_equal(fc->op, "Gemm");
    assert_int_equal(fc->wshape[0], 10); /* Linear: [out, in] */
    assert_int_equal(fc->wshape[1], 16);
    zp_graph_free(g);
}

/* Unfolded BatchNormalization nodes: our folding must give PyTorch's logits and the
 * same weights the exporter's own folding wrote. */
static void test_bn_folding(void **state)
{
    check_against_torch(DATA "torch_small_bn.onnx");
    struct zp_graph *a = load_ok(DATA "torch_small.onnx"), *b = load_ok(DATA "torch_small_bn.onnx");
    for (int l = 0; l < 2; l++) {
        const struct zp_layer_info *la = zp_graph_layer(a, l), *lb = zp_graph_layer(b, l);
        int64_t n = la->wshape[0] * la->wshape[1] * la->wshape[2] * la->wshape[3];
        for (int64_t i = 0; i < n; i++)
            assert_true(fabsf(la->weight[i] - lb->weight[i]) <= 1e-5f * (1 + fabsf(la->weight[i])));
        assert_non_null(lb->bias);
        for (int64_t o = 0; o < la->n_out; o++)
            assert_true(fabsf(la->bias[o] - lb->bias[o]) <= 1e-5f);
    }
    zp_graph_free(a);
    zp_graph_free(b);
}

/* opset 6 Clip with attributes, after a padded conv whose weights are linspace(-1, 1) */
static void test_clip_attribute_form(void **state)
{
    struct zp_graph *g = load_ok(DATA "clip_opset6.onnx");
    assert_int_equal(zp_graph_layer(g, 0)->relu_after, 6);
    assert_int_equal(zp_graph_output_size(g), 100);
    float x[75], y[100], w[108];
    for (int i = 0; i < 75; i++)
        x[i] = (float)((i * 37) % 11) - 3.f;
    for (int i = 0; i < 108; i++)
        w[i] = -1.f + 2.f * (float)i / 107.f;
    struct zp_err err = {0};
    assert_int_equal(zp_graph_run(g, x, 1, y, NULL, &err), ZP_OK);
    int clipped_hi = 0, clipped_lo = 0;
    for (int o = 0; o < 4; o++)
        for (int oy = 0; oy < 5; oy++)
            for (int ox = 0; ox < 5; ox++) {
                double acc = 0;
                for (int c = 0; c < 3; c++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy + ky - 1, ix = ox + kx - 1;
                            if (iy >= 0 && iy < 5 && ix >= 0 && ix < 5)
                                acc +=
                                    x[(c * 5 + iy) * 5 + ix] * w[((o * 3 + c) * 3 + ky) * 3 + kx];
                        }
                clipped_hi += acc > 6;
                clipped_lo += acc < 0;
                double want = acc < 0 ? 0 : acc > 6 ? 6 : acc;
                assert_true(fabs(y[(o * 5 + oy) * 5 + ox] - want) < 1e-4);
            }
    assert_true(clipped_hi > 0 && clipped_lo > 0); /* the test exercises both bounds */
    zp_graph_free(g);
}

static void test_unknown_op_names_node(void **state)
{
    struct zp_graph *g = NULL;
    struct zp_err err = {0};
    assert_int_equal(zp_onnx_load(DATA "unknown_op.onnx", &g, &err), ZP_EUNSUPPORTED);
    assert_null(g);
    assert_non_null(strstr(err.msg, "unknown_op.onnx"));
    assert_non_null(strstr(err.msg, "node 'mystery_celu' (Celu): operator not supported"));
}

static void test_missing_and_empty_files(void **state)
{
    struct zp_graph *g = NULL;
    struct zp_err err = {0};
    assert_int_equal(zp_onnx_load(DATA "no_such_model.onnx", &g, &err), ZP_EIO);
    assert_non_null(strstr(err.msg, "no_such_model.onnx"));
    char path[4200];
    snprintf(path, sizeof path, "%s/empty.onnx", zp_test_tmpdir("onnx"));
    zp_test_write_file(path, "");
    zp_err_clear(&err);
    assert_int_equal(zp_onnx_load(path, &g, &err), ZP_EFORMAT);
    zp_err_clear(&err);
    assert_int_equal(zp_onnx_load_buffer("garbage!", 8, "junk", &g, &err), ZP_EFORMAT);
    assert_null(g);
}

/* Writes `val` into element `at` of the float initializer `pick` (and `val2`
 * into element 0 of initializer `pick2`, unless it is -1) of a real file and
 * loads the result; name receives the first tensor's name. */
static void load_with_poisons(const char *file, size_t pick, size_t at, float val, size_t pick2,
                              float val2, char *name, size_t name_size, struct zp_err *err,
                              enum zp_status *st)
{
    size_t len;
    char *buf = zp_test_read_file(file, &len);
    assert_non_null(buf);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, (const uint8_t *)buf);
    assert_non_null(m);
    free(buf);
    size_t seen = 0;
    Onnx__TensorProto *tp = NULL;
    for (size_t i = 0; i < m->graph->n_initializer; i++) {
        Onnx__TensorProto *t = m->graph->initializer[i];
        if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && t->raw_data.len >= 4 * (at + 1) &&
            seen++ == pick) {
            tp = t;
            break;
        }
    }
    assert_non_null(tp);
    snprintf(name, name_size, "%s", tp->name);
    memcpy(tp->raw_data.data + 4 * at, &val, 4);
    seen = 0;
    for (size_t i = 0; pick2 != (size_t)-1 && i < m->graph->n_initializer; i++) {
        Onnx__TensorProto *t = m->graph->initializer[i];
        if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && t->raw_data.len >= 4 &&
            seen++ == pick2)
            memcpy(t->raw_data.data, &val2, 4);
    }
    size_t n = onnx__model_proto__get_packed_size(m);
    uint8_t *out = malloc(n);
    onnx__model_proto__pack(m, out);
    onnx__model_proto__free_unpacked(m, NULL);
    struct zp_graph *g = NULL;
    zp_err_clear(err);
    *st = zp_onnx_load_buffer(out, n, "poison.onnx", &g, err);
    if (*st != ZP_OK)
        assert_null(g);
    zp_graph_free(g);
    free(out);
}

static void load_with_poison(const char *file, size_t pick, size_t at, float val, char *name,
                             size_t name_size, struct zp_err *err, enum zp_status *st)
{
    load_with_poisons(file, pick, at, val, (size_t)-1, 0, name, name_size, err, st);
}

/* Issue 17 item 6: NaN / Inf weights are refused at load, naming the tensor
 * and the element, for the first and a later initializer. */
static void test_non_finite_weights(void **state)
{
    struct zp_err err = {0};
    enum zp_status st;
    char name[256], want[400];
    const float bad[3] = {NAN, INFINITY, -INFINITY};
    const char *word[3] = {"NaN", "+Inf", "-Inf"};
    for (int k = 0; k < 3; k++) {
        load_with_poison("models/fashion_mobilenet.onnx", (size_t)k * 3, (size_t)k + 1, bad[k], name,
                         sizeof name, &err, &st);
        assert_int_equal(st, ZP_EINVAL);
        snprintf(want, sizeof want, "poison.onnx: tensor '%s': element %d is %s", name, k + 1, word[k]);
        if (!strstr(err.msg, want))
            fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
    }
    /* A BatchNormalization whose folding overflows float is refused too: a
     * 3e38 BN scale (or a conv weight it multiplies) cannot stay finite. */
    /* (initializers 0 and 2 are conv1.weight and bn1.weight; 3e38 * 3e38 and
     * 3e38 / sqrt(1e-5) overflow, each finite on its own) */
    load_with_poisons(DATA "torch_small_bn.onnx", 2, 0, 3e38f, 5, 0.0f, name, sizeof name, &err, &st);
    assert_string_equal(name, "bn1.weight");
    assert_int_equal(st, ZP_EINVAL);
    if (!strstr(err.msg, "overflows float at channel 0"))
        fail_msg("message: %s", err.msg);
    load_with_poisons(DATA "torch_small_bn.onnx", 0, 0, 3e38f, 2, 3e38f, name, sizeof name, &err, &st);
    assert_string_equal(name, "conv1.weight");
    assert_int_equal(st, ZP_EINVAL);
    if (!strstr(err.msg, "overflows float"))
        fail_msg("message: %s", err.msg);
}

/* Issue 17 item 3: /dev/zero was read until memory ran out and a directory gave
 * "read error"; both are refused by name, and the open error says why. */
static void test_non_regular_and_size_cap(void **state)
{
    struct zp_graph *g = NULL;
    struct zp_err err = {0};
    assert_int_equal(zp_onnx_load("/dev/zero", &g, &err), ZP_EIO);
    assert_null(g);
    assert_non_null(strstr(err.msg, "/dev/zero: not a regular file (a character device)"));
    zp_err_clear(&err);
    const char *dir = zp_test_tmpdir("onnx_dir");
    assert_int_equal(zp_onnx_load(dir, &g, &err), ZP_EIO);
    assert_non_null(strstr(err.msg, dir));
    assert_non_null(strstr(err.msg, "not a regular file (a directory)"));
    zp_err_clear(&err);
    assert_int_equal(zp_onnx_load(DATA "no_such_model.onnx", &g, &err), ZP_EIO);
    assert_non_null(strstr(err.msg, "no_such_model.onnx: cannot open: No such file or directory"));
    /* The model file limit is configurable: a 1 MiB cap refuses a 1 MiB + 1 file
     * before parsing it, and the default accepts the shipped model. */
    char path[4200];
    snprintf(path, sizeof path, "%s/big.onnx", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fseek(f, (1L << 20), SEEK_SET), 0);
    fputc(0, f);
    fclose(f);
    setenv("ZP_MAX_MODEL_MB", "1", 1);
    zp_err_clear(&err);
    assert_int_equal(zp_onnx_load(path, &g, &err), ZP_EFORMAT);
    assert_non_null(strstr(err.msg, "big.onnx: 1048577 bytes: larger than the 1 MiB model file limit"));
    unsetenv("ZP_MAX_MODEL_MB");
    g = load_ok("models/fashion_mobilenet.onnx");
    zp_graph_free(g);
}

/* Every prefix and many single-byte corruptions of a real file: an error with a
 * message or a graph that runs; never a crash (ASan watches). */
static void test_truncated_and_corrupt(void **state)
{
    size_t len;
    unsigned char *buf = (unsigned char *)zp_test_read_file(DATA "torch_small.onnx", &len);
    assert_non_null(buf);
    size_t failed = 0, tried = 0;
    float x[2 * 3 * 16 * 16] = {0}, y[2 * 4096];
    for (size_t cut = 0; cut < len; cut += cut < 256 || cut > len - 256 ? 1 : 5) {
        tried++;
        struct zp_graph *g = NULL;
        struct zp_err err = {0};
        if (zp_onnx_load_buffer(buf, cut, "cut.onnx", &g, &err) != ZP_OK) {
            assert_null(g);
            assert_true(err.msg[0] != 0);
            failed++;
        } else {
            zp_graph_free(g);
        }
    }
    /* only cuts inside trailing metadata (opset, producer) can still load */
    assert_true(failed + 64 >= tried);
    for (size_t pos = 0; pos < len; pos += 3) {
        unsigned char save = buf[pos];
        buf[pos] ^= (unsigned char)(0x5A + pos);
        struct zp_graph *g = NULL;
        struct zp_err err = {0};
        if (zp_onnx_load_buffer(buf, len, "flip.onnx", &g, &err) == ZP_OK) {
            int64_t s[4], in = 1;
            int nd = zp_graph_input_shape(g, s);
            for (int i = 0; i < nd; i++)
                in *= s[i];
            /* small enough to run: the run must not crash either */
            if (in <= 2 * 3 * 16 * 16 / 2 && zp_graph_output_size(g) <= 4096)
                assert_int_equal(zp_graph_run(g, x, 2, y, NULL, &err), ZP_OK);
            zp_graph_free(g);
        } else {
            assert_true(err.msg[0] != 0);
        }
        buf[pos] = save;
    }
    free(buf);
}

static void test_inspect_cli(void **state)
{
    struct stat st;
    if (stat(zp_test_harness(), &st) != 0)
        skip();
    char *out = NULL;
    assert_int_equal(zp_test_sh(&out, "%s inspect " DATA "torch_small.onnx", zp_test_harness()), 0);
    assert_non_null(strstr(out, "/dw/Conv"));
    assert_non_null(strstr(out, "dwConv"));
    assert_non_null(strstr(out, "618 parameters"));
    free(out);
    assert_int_equal(zp_test_sh(&out, "%s inspect " DATA "unknown_op.onnx", zp_test_harness()), 1);
    assert_non_null(strstr(out, "mystery_celu"));
    free(out);
    assert_int_equal(zp_test_sh(&out, "%s inspect", zp_test_harness()), 2);
    free(out);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_pytorch_export),
        cmocka_unit_test(test_bn_folding),
        cmocka_unit_test(test_clip_attribute_form),
        cmocka_unit_test(test_unknown_op_names_node),
        cmocka_unit_test(test_missing_and_empty_files),
        cmocka_unit_test(test_non_regular_and_size_cap),
        cmocka_unit_test(test_non_finite_weights),
        cmocka_unit_test(test_truncated_and_corrupt),
        cmocka_unit_test(test_inspect_cli),
    };
    return ZP_RUN_TESTS(t);
}
