/* `harness export` (ONNX QDQ): the exported model, run in ONNX Runtime
 * (scripts/ort_run.js, npm onnxruntime-node from `make npm-deps`), must compute
 * what the harness's fake-quant `both` pass of the same cell computes, on real
 * images of the shipped Fashion-MNIST MobileNet and (with the shared data) the
 * ImageNet MobileNet v1 0.25: top-1 agreement and logit SQNR above thresholds.
 * The file itself must hold 8-bit weight initializers read through
 * DequantizeLinear (per-axis scales for per-channel weights) and a Q/DQ pair per
 * layer input; schemes with no QDQ form must be refused by name; the command's
 * bad inputs must give the documented exit codes and write nothing.
 *
 * Why the thresholds: ORT fuses DequantizeLinear -> Conv -> QuantizeLinear into
 * an integer QLinearConv, so each layer's output is rounded to the next layer's
 * input code from an int32 accumulator with a float requantization multiplier,
 * where the harness rounds a float sum; and QuantizeLinear rounds ties to even,
 * the harness's quantizers half away from zero. Both move a code by one LSB now
 * and then; over a network that leaves logits within a few percent of each other
 * (SQNR well above 20 dB) and flips the top-1 of an image only when its two best
 * logits are that close (a few percent of images at most). A wrong scale, zero
 * point, axis or a missing Q/DQ pair gives SQNR near 0 dB and chance agreement. */
#include "tests/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "experiment/export_cell.h"
#include "onnx.pb-c.h"

#define FASHION "/usr/share/datasets/fashion-mnist"

/* Lower bounds of one comparison: top-1 agreement and logit SQNR. */
struct bounds {
    double agree, sqnr_db;
};

static const char *npm_dir(void)
{
    const char *d = getenv("ZP_NPM_DIR");
    return d && *d ? d : "build/release/npm/node_modules";
}

/* ONNX Runtime reachable through node, or the reason it is not. */
static const char *ort_missing(void)
{
    static char why[300];
    if (zp_test_sh(NULL, "command -v node >/dev/null") != 0)
        return "node not found (apt-get install nodejs)";
    char p[600];
    snprintf(p, sizeof p, "%s/onnxruntime-node/package.json", npm_dir());
    if (access(p, R_OK) != 0) {
        snprintf(why, sizeof why, "onnxruntime-node not installed in %s (make npm-deps)", npm_dir());
        return why;
    }
    return NULL;
}

static void write_floats(const char *path, const float *x, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(x, sizeof *x, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* ORT's logits of the model on n examples of shape (C, H, W) (or (K)). */
static float *ort_logits(const char *model, const float *x, int n, const struct zp_layer_info *l0,
                         size_t ex, int64_t classes)
{
    const char *dir = zp_test_tmpdir("qdq_ort");
    char in[600], out[600], shape[128];
    snprintf(in, sizeof in, "%s/in.f32", dir);
    snprintf(out, sizeof out, "%s/out.f32", dir);
    write_floats(in, x, (size_t)n * ex);
    int k = snprintf(shape, sizeof shape, "%d", n);
    for (int d = 0; d < l0->in_ndim; d++)
        k += snprintf(shape + k, sizeof shape - (size_t)k, ",%lld", (long long)l0->in_shape[d]);
    char *log = NULL;
    int rc = zp_test_sh(&log, "NODE_PATH=%s node scripts/ort_run.js %s %s %s --shape %s --threads 1",
                        npm_dir(), model, in, out, shape);
    if (rc != 0)
        fprintf(stderr, "ort_run: %s\n", log);
    assert_int_equal(rc, 0);
    free(log);
    size_t len = 0;
    char *y = zp_test_read_file(out, &len);
    assert_non_null(y);
    assert_int_equal(len, (size_t)n * (size_t)classes * sizeof(float));
    return (float *)y;
}

static int argmax(const float *v, int64_t n)
{
    int b = 0;
    for (int64_t i = 1; i < n; i++)
        if (v[i] > v[b])
            b = (int)i;
    return b;
}

struct agreement {
    double agree, sqnr_db;
};

static struct agreement compare(const float *ref, const float *y, int n, int64_t classes)
{
    double sig = 0, noise = 0;
    int same = 0;
    for (int i = 0; i < n; i++) {
        const float *a = ref + (size_t)i * (size_t)classes, *b = y + (size_t)i * (size_t)classes;
        same += argmax(a, classes) == argmax(b, classes);
        for (int64_t c = 0; c < classes; c++) {
            sig += (double)a[c] * a[c];
            noise += ((double)a[c] - b[c]) * ((double)a[c] - b[c]);
        }
    }
    struct agreement r = {(double)same / n, noise > 0 ? 10 * log10(sig / noise) : INFINITY};
    return r;
}

/* The integer pass of a cell (mode "integer", built separately): when it exists,
 * plug it in here (same signature as zp_export_cell_fakequant) and ORT's logits
 * are compared with it too, at the same thresholds. NULL: not available yet. */
typedef enum zp_status (*cell_pass_fn)(struct zp_export_cell *c, const float *x, int n,
                                       float *logits, struct zp_err *err);
static cell_pass_fn integer_pass(void)
{
    return NULL;
}

/* The structure of the written file: per layer an 8-bit weight initializer with
 * DequantizeLinear, per-axis scales of the right length, a Q/DQ pair per input. */
static void check_structure(const uint8_t *buf, size_t len, const struct zp_graph *g, int per_channel)
{
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    assert_non_null(m);
    const Onnx__GraphProto *G = m->graph;
    int nq = 0, ndq = 0, n_bn = 0;
    for (size_t i = 0; i < G->n_node; i++) {
        nq += strcmp(G->node[i]->op_type, "QuantizeLinear") == 0;
        ndq += strcmp(G->node[i]->op_type, "DequantizeLinear") == 0;
        n_bn += strcmp(G->node[i]->op_type, "BatchNormalization") == 0;
    }
    const int L = zp_graph_num_layers(g);
    assert_int_equal(nq, L);     /* one per layer input */
    assert_int_equal(ndq, 2 * L); /* the inputs' and the weights' */
    assert_int_equal(n_bn, 0);
    for (int l = 0; l < L; l++) {
        const struct zp_layer_info *li = zp_graph_layer(g, l);
        const Onnx__NodeProto *nd = NULL;
        for (size_t i = 0; i < G->n_node; i++)
            if (strcmp(G->node[i]->name, li->name) == 0)
                nd = G->node[i];
        assert_non_null(nd);
        char qn[600], sn[600];
        snprintf(qn, sizeof qn, "%s.quantized", nd->input[1]);
        snprintf(sn, sizeof sn, "%s.scale", nd->input[1]);
        const Onnx__TensorProto *w = NULL, *s = NULL, *f = NULL;
        for (size_t i = 0; i < G->n_initializer; i++) {
            if (strcmp(G->initializer[i]->name, qn) == 0)
                w = G->initializer[i];
            if (strcmp(G->initializer[i]->name, sn) == 0)
                s = G->initializer[i];
            if (strcmp(G->initializer[i]->name, nd->input[1]) == 0)
                f = G->initializer[i];
        }
        assert_non_null(w);
        assert_non_null(s);
        assert_null(f); /* no float copy of the weight */
        assert_true(w->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ||
                    w->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8);
        if (per_channel) {
            assert_int_equal(s->n_dims, 1);
            assert_int_equal(s->dims[0], li->n_out);
        } else {
            assert_int_equal(s->n_dims, 0);
        }
        assert_true(strstr(nd->input[0], ".input.dq") != NULL);
    }
    onnx__model_proto__free_unpacked(m, NULL);
}

/* Inputs moved onto the input quantizer's grid, scale * (q - zero_point): the
 * normalized 8-bit images (u8 / 127.5 - 1 against a 2/255 scale) sit on half
 * steps, which ORT's float QuantizeLinear decides by rounding noise while the
 * harness decides them exactly from the pixel; on the grid both read the same
 * codes, which isolates what the export itself computes. */
static float *on_grid(const float *x, size_t n, const struct zp_qdq_quant *q)
{
    float *g = malloc(n * sizeof *g);
    assert_non_null(g);
    const double lo = q->is_signed ? -128 : 0, hi = q->is_signed ? 127 : 255;
    for (size_t i = 0; i < n; i++) {
        double k = rint(x[i] / q->scale) + q->zero_point;
        k = k < lo ? lo : k > hi ? hi : k;
        g[i] = (float)(q->scale * (k - q->zero_point));
    }
    return g;
}

/* ORT against the harness's fake-quant pass (and the integer pass, when there)
 * of cell c on n inputs x. */
static void compare_passes(struct zp_export_cell *c, const char *model, const char *what,
                           const float *x, int n, size_t ex, int64_t classes,
                           const struct bounds *b)
{
    const struct zp_graph *g = zp_export_cell_graph(c);
    const char *label = zp_export_cell_label(c);
    struct zp_err err = {0};
    float *ref = malloc((size_t)n * (size_t)classes * sizeof *ref);
    assert_non_null(ref);
    if (zp_export_cell_fakequant(c, x, n, ref, &err))
        fail_msg("%s", err.msg);
    float *y = ort_logits(model, x, n, zp_graph_layer(g, 0), ex, classes);
    struct agreement a = compare(ref, y, n, classes);
    printf("  %s, %s: ORT vs fake-quant both on %d images: top-1 agreement %.4f, logit SQNR "
           "%.1f dB\n", label, what, n, a.agree, a.sqnr_db);
    assert_true(a.agree >= b->agree);
    assert_true(a.sqnr_db >= b->sqnr_db);
    cell_pass_fn ip = integer_pass();
    if (ip) {
        if (ip(c, x, n, ref, &err))
            fail_msg("%s", err.msg);
        a = compare(ref, y, n, classes);
        printf("  %s, %s: ORT vs integer on %d images: agreement %.4f, SQNR %.1f dB\n", label,
               what, n, a.agree, a.sqnr_db);
        assert_true(a.agree >= b->agree);
        assert_true(a.sqnr_db >= b->sqnr_db);
    }
    free(y);
    free(ref);
}

/* Exports cell `label` of cfg, checks the file's structure, and compares ORT's
 * execution of it with the harness on the first n eval examples as loaded (raw)
 * and moved onto the input grid. */
static void check_cell(const struct zp_config *cfg, const char *label, int n, int per_channel,
                       const struct bounds *raw, const struct bounds *grid)
{
    struct zp_run_opts o = {.shard_n = 1, .quiet = 1};
    struct zp_export_cell *c = NULL;
    struct zp_err err = {0};
    if (zp_export_cell_open(cfg, label, NULL, &o, &c, &err))
        fail_msg("%s", err.msg);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (zp_export_cell_onnx(c, &buf, &len, &err))
        fail_msg("%s", err.msg);
    check_structure(buf, len, zp_export_cell_graph(c), per_channel);
    const char *dir = zp_test_tmpdir("qdq_model");
    char path[600];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(buf);

    long n_eval;
    size_t ex;
    int64_t classes;
    const float *x = zp_export_cell_eval(c, &n_eval, &ex, &classes);
    if (n > n_eval)
        n = (int)n_eval;
    compare_passes(c, path, "raw inputs", x, n, ex, classes, raw);
    float *xg = on_grid(x, (size_t)n * ex, &zp_export_cell_layers(c)[0].in);
    compare_passes(c, path, "inputs on the grid", xg, n, ex, classes, grid);
    free(xg);
    if (!integer_pass())
        printf("  %s: no integer pass to compare yet\n", label);
    zp_export_cell_free(c);
}

static const char *fashion_config(void)
{
    const char *dir = zp_test_tmpdir("qdq_cfg");
    static char path[600];
    snprintf(path, sizeof path, "%s/fashion.json", dir);
    char text[4096];
    snprintf(text, sizeof text,
             "{\"name\": \"qdq\", \"seed\": 1,\n"
             " \"schemes\": [\n"
             "  {\"label\": \"A8c\", \"scheme\": \"asymmetric\", \"bits\": 8, \"granularity\": \"per-channel\"},\n"
             "  {\"label\": \"A8t\", \"scheme\": \"asymmetric\", \"bits\": 8, \"granularity\": \"per-tensor\"},\n"
             "  {\"label\": \"S8c\", \"scheme\": \"symmetric\", \"bits\": 8, \"narrow_range\": true,\n"
             "   \"granularity\": \"per-channel\", \"activations\": {\"scheme\": \"asymmetric\", \"bits\": 8}},\n"
             "  {\"label\": \"A8raw\", \"scheme\": \"asymmetric\", \"bits\": 8, \"nudge_zero\": false},\n"
             "  {\"label\": \"L4\", \"scheme\": \"lut4\", \"activations\": {\"scheme\": \"asymmetric\", \"bits\": 8}},\n"
             "  {\"label\": \"B1\", \"scheme\": \"binary\", \"activations\": {\"scheme\": \"asymmetric\", \"bits\": 8}},\n"
             "  {\"label\": \"Q4\", \"scheme\": \"linear4\", \"activations\": {\"scheme\": \"asymmetric\", \"bits\": 8}}\n"
             " ],\n"
             " \"datasets\": {\n"
             "  \"test\": {\"format\": \"idx\", \"images\": \"%s/t10k-images-idx3-ubyte.gz\",\n"
             "           \"labels\": \"%s/t10k-labels-idx1-ubyte.gz\", \"mean\": [72.94], \"std\": [90.0], \"limit\": 200},\n"
             "  \"train\": {\"format\": \"idx\", \"images\": \"%s/train-images-idx3-ubyte.gz\",\n"
             "            \"labels\": \"%s/train-labels-idx1-ubyte.gz\", \"mean\": [72.94], \"std\": [90.0], \"limit\": 2000}},\n"
             " \"models\": [{\"name\": \"fashion_mobilenet\", \"path\": \"models/fashion_mobilenet.onnx\",\n"
             "   \"eval\": \"test\", \"calibration_data\": \"train\", \"modes\": [\"both\"],\n"
             "   \"calibration\": {\"method\": \"minmax\", \"size\": 500, \"seed\": 1, \"order\": \"shuffled\"},\n"
             "   \"batch\": 50}]}\n",
             FASHION, FASHION, FASHION, FASHION);
    zp_test_write_file(path, text);
    return path;
}

static int have_fashion(void)
{
    return access(FASHION "/t10k-images-idx3-ubyte.gz", R_OK) == 0 &&
           access(FASHION "/train-images-idx3-ubyte.gz", R_OK) == 0;
}

static void load_cfg(const char *path, const char *data, struct zp_config *cfg)
{
    struct zp_config_env env = {.data_root = data};
    struct zp_err err = {0};
    if (zp_config_load(path, &env, cfg, &err))
        fail_msg("%s", err.msg);
}

static void fashion_ort(void **state)
{
    (void)state;
    const char *why = ort_missing();
    if (!have_fashion() || why) {
        printf("skipped: %s\n", why ? why : FASHION " is absent");
        skip();
    }
    struct zp_config cfg;
    load_cfg(fashion_config(), NULL, &cfg);
    /* 10 well separated classes: measured 1.000 / 0.995 agreement, 42-44 dB */
    const struct bounds b = {0.97, 35.0};
    check_cell(&cfg, "A8c", 200, 1, &b, &b);
    check_cell(&cfg, "A8t", 200, 0, &b, &b);
    check_cell(&cfg, "S8c", 200, 1, &b, &b);
    zp_config_free(&cfg);
}

/* Refused by name, before the model is loaded. */
static void no_qdq_form(void **state)
{
    (void)state;
    if (!have_fashion()) {
        printf("skipped: " FASHION " is absent\n");
        skip();
    }
    struct zp_config cfg;
    load_cfg(fashion_config(), NULL, &cfg);
    static const struct {
        const char *label, *needle;
    } cases[] = {{"L4", "lut4"}, {"B1", "binary"}, {"Q4", "linear4"}, {"A8raw", "nudge_zero=false"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct zp_run_opts o = {.shard_n = 1, .quiet = 1};
        struct zp_export_cell *c = NULL;
        struct zp_err err = {0};
        assert_int_equal(zp_export_cell_open(&cfg, cases[i].label, NULL, &o, &c, &err),
                         ZP_EUNSUPPORTED);
        assert_null(c);
        if (!strstr(err.msg, cases[i].needle))
            fail_msg("%s: '%s' does not name '%s'", cases[i].label, err.msg, cases[i].needle);
    }
    struct zp_run_opts o = {.shard_n = 1, .quiet = 1};
    struct zp_export_cell *c = NULL;
    struct zp_err err = {0};
    assert_int_equal(zp_export_cell_open(&cfg, "nope", NULL, &o, &c, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "'A8c'")); /* the valid labels are listed */
    zp_err_clear(&err);
    assert_int_equal(zp_export_cell_open(&cfg, "A8c", "other", &o, &c, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "fashion_mobilenet"));
    zp_config_free(&cfg);
}

/* The command: exit codes as documented, nothing written on failure. */
static void cli_errors(void **state)
{
    (void)state;
    const char *h = zp_test_harness();
    const char *dir = zp_test_tmpdir("qdq_cli");
    char *log = NULL;
    char out[600];
    snprintf(out, sizeof out, "%s/m.onnx", dir);
    assert_int_equal(zp_test_sh(&log, "%s export", h), 2);
    assert_non_null(strstr(log, "missing CONFIG"));
    free(log);
    assert_int_equal(zp_test_sh(&log, "%s export configs/mobilenet.json --out %s", h, out), 2);
    assert_non_null(strstr(log, "--cell"));
    free(log);
    assert_int_equal(zp_test_sh(&log, "%s export configs/mobilenet.json --cell X", h), 2);
    assert_non_null(strstr(log, "--out"));
    free(log);
    assert_int_equal(zp_test_sh(&log, "%s export configs/mobilenet.json --cel X --out %s", h, out), 2);
    assert_non_null(strstr(log, "did you mean --cell"));
    free(log);
    assert_int_equal(zp_test_sh(&log, "%s export configs/mobilenet.json --cell X --out %s --threads 0", h, out), 2);
    free(log);
    assert_int_equal(zp_test_sh(&log, "%s export configs/mobilenet.json --cell X --out %s/no/such/m.onnx", h, dir), 1);
    assert_non_null(strstr(log, "does not exist"));
    free(log);
    assert_int_equal(zp_test_sh(&log, "%s export configs/mobilenet.json --cell X --out %s", h, dir), 1);
    assert_non_null(strstr(log, "directory"));
    free(log);
    if (geteuid() != 0) { /* root writes anywhere */
        char ro[700];
        snprintf(ro, sizeof ro, "%s/ro", dir);
        assert_int_equal(mkdir(ro, 0555), 0);
        assert_int_equal(zp_test_sh(&log, "%s export configs/mobilenet.json --cell X --out %s/m.onnx", h, ro), 1);
        assert_non_null(strstr(log, "not writable"));
        free(log);
    }
    assert_int_equal(zp_test_sh(&log, "%s export no-such-config.json --cell X --out %s", h, out), 2);
    free(log);
    if (have_fashion()) { /* an unknown cell lists the valid ones */
        assert_int_equal(zp_test_sh(&log, "%s export %s --cell nope --out %s", h, fashion_config(), out), 2);
        assert_non_null(strstr(log, "'A8c'"));
        free(log);
        assert_int_equal(zp_test_sh(&log, "%s export %s --cell L4 --out %s", h, fashion_config(), out), 2);
        assert_non_null(strstr(log, "lut4"));
        free(log);
    }
    struct stat sb;
    assert_int_not_equal(stat(out, &sb), 0); /* nothing written */
}

static void imagenet_ort(void **state)
{
    (void)state;
    const char *root = zp_test_shared_data();
    char data[600], model[700];
    snprintf(data, sizeof data, "%s/imagenet", root ? root : "");
    snprintf(model, sizeof model, "%s/models/mobilenet_v1_0.25_224.onnx", data);
    const char *why = ort_missing();
#if defined(__SANITIZE_ADDRESS__)
    /* decoding and calibrating on 100 JPEGs under ASan takes many minutes on a
     * shared 2-core machine: the release build runs this case */
    why = "ImageNet case runs in the release build only (ASan is too slow for it)";
#endif
    if (!root || access(model, R_OK) != 0 || why) {
        printf("skipped: %s\n", why ? why : "no ImageNet MobileNet in the shared data");
        skip();
    }
    const char *dir = zp_test_tmpdir("qdq_in");
    char path[600];
    snprintf(path, sizeof path, "%s/imagenet.json", dir);
    zp_test_write_file(
        path,
        "{\"name\": \"qdq_imagenet\", \"seed\": 1,\n"
        " \"schemes\": [\n"
        "  {\"label\": \"A8c\", \"scheme\": \"asymmetric\", \"bits\": 8, \"granularity\": \"per-channel\"},\n"
        "  {\"label\": \"S8c\", \"scheme\": \"symmetric\", \"bits\": 8, \"narrow_range\": true,\n"
        "   \"granularity\": \"per-channel\", \"activations\": {\"scheme\": \"asymmetric\", \"bits\": 8}}],\n"
        " \"datasets\": {\"in\": {\"format\": \"images\", \"images\": \"@data/imagenet_sample_train_1k\",\n"
        "   \"labels\": \"@data/labels/sample_train_1k.csv\", \"channels\": 3, \"resize_mode\": \"crop\",\n"
        "   \"resize\": 256, \"size\": 224, \"mean\": [127.5], \"std\": [127.5], \"limit\": 100}},\n"
        " \"models\": [{\"name\": \"mobilenet_v1_0.25_224\", \"path\": \"@data/models/mobilenet_v1_0.25_224.onnx\",\n"
        "   \"eval\": \"in\", \"modes\": [\"both\"],\n"
        "   \"calibration\": {\"method\": \"minmax\", \"size\": 100, \"seed\": 1, \"order\": \"shuffled\"},\n"
        "   \"batch\": 50}]}\n");
    struct zp_config cfg;
    load_cfg(path, data, &cfg);
    /* 1000 classes whose two best logits are often close, 28 layers that carry a
     * one-LSB change along: measured 0.96 / 0.97 agreement, 25.6 dB on raw inputs
     * (every pixel a half step, see on_grid) and 31 dB on the grid. */
    const struct bounds raw = {0.90, 20.0}, grid = {0.93, 28.0};
    check_cell(&cfg, "A8c", 100, 1, &raw, &grid);
    check_cell(&cfg, "S8c", 100, 1, &raw, &grid);
    zp_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(cli_errors),
        cmocka_unit_test(no_qdq_form),
        cmocka_unit_test(fashion_ort),
        cmocka_unit_test(imagenet_ort),
    };
    return ZP_RUN_TESTS(t);
}
