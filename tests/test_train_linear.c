/* Linear bottleneck blocks (model.blocks entry [channels, stride, "linear"]):
 * the pointwise conv + BN of such a block has no ReLU6, so the next depthwise
 * conv reads a signed input. Checks the config parsing, that the export has no
 * Clip after that Conv and computes the training runtime's logits, the
 * gradients of a network with such a block against finite differences, and the
 * shipped model trained with it. */
#include "tests/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "data/dataset.h"
#include "model/graph.h"
#include "model/onnx_export.h"
#include "onnx.pb-c.h"
#include "train/tnet.h"
#include "train/trainer.h"

static const char *write_config(const char *name, const char *blocks)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s.json", zp_test_tmpdir("train_linear"), name);
    char text[1024];
    snprintf(text, sizeof text,
             "{\"model\": {\"type\": \"mobilenet\", \"input\": [1, 8, 8], \"classes\": 3,"
             " \"stem\": 4, \"blocks\": %s},"
             " \"data\": {\"train_images\": \"a\", \"train_labels\": \"b\", \"test_images\": \"c\","
             " \"test_labels\": \"d\"}, \"output\": \"x.onnx\"}",
             blocks);
    zp_test_write_file(path, text);
    return path;
}

static void test_config(void **state)
{
    (void)state;
    struct zp_train_config cfg;
    struct zp_err err;
    zp_err_clear(&err);
    const char *p = write_config("ok", "[[8, 1], [8, 2, \"linear\"], [16, 1]]");
    assert_int_equal(zp_train_config_load(p, &cfg, &err), ZP_OK);
    assert_int_equal(cfg.mobilenet.n_blocks, 3);
    assert_int_equal(cfg.mobilenet.block_linear[0], 0);
    assert_int_equal(cfg.mobilenet.block_linear[1], 1);
    assert_int_equal(cfg.mobilenet.block_linear[2], 0);
    assert_int_equal(cfg.mobilenet.block_out[1], 8);
    assert_int_equal(cfg.mobilenet.block_stride[1], 2);

    /* a third element other than "linear" is a config error naming the path */
    zp_err_clear(&err);
    p = write_config("bad", "[[8, 1], [8, 2, \"relu\"]]");
    assert_int_equal(zp_train_config_load(p, &cfg, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "model.blocks[1][2]"));
    zp_err_clear(&err);
    p = write_config("bad4", "[[8, 1, \"linear\", 1]]");
    assert_int_equal(zp_train_config_load(p, &cfg, &err), ZP_ECONFIG);

    /* the shipped v1 config keeps every block with its ReLU6 */
    zp_err_clear(&err);
    assert_int_equal(zp_train_config_load("configs/train_mobilenet.json", &cfg, &err), ZP_OK);
    for (int b = 0; b < cfg.mobilenet.n_blocks; b++)
        assert_int_equal(cfg.mobilenet.block_linear[b], 0);
    zp_err_clear(&err);
    assert_int_equal(zp_train_config_load("configs/train_mobilenet_linear.json", &cfg, &err),
                     ZP_OK);
    int n_lin = 0;
    for (int b = 0; b < cfg.mobilenet.n_blocks; b++)
        n_lin += cfg.mobilenet.block_linear[b];
    assert_true(n_lin >= 1);
}

/* Block b's pointwise BN is layer 2 + 4 b + 3 (stem conv + BN, then dw, BN, pw, BN). */
static void test_build(void **state)
{
    (void)state;
    struct zp_mobilenet_arch a = {.in_c = 1, .in_h = 8, .in_w = 8, .n_classes = 3, .stem = 4,
                                  .stem_stride = 1, .n_blocks = 3, .block_out = {4, 6, 6},
                                  .block_stride = {1, 2, 1}, .block_linear = {0, 1, 0}};
    struct zp_tnet *net = NULL;
    struct zp_err err;
    assert_int_equal(zp_tnet_mobilenet(&a, 1, &net, &err), ZP_OK);
    for (int b = 0; b < 3; b++) {
        assert_int_equal(net->L[2 + 4 * b + 1].kind, ZP_TL_BN);
        assert_int_equal(net->L[2 + 4 * b + 1].act, 6); /* the depthwise BN keeps ReLU6 */
        assert_int_equal(net->L[2 + 4 * b + 3].kind, ZP_TL_BN);
        assert_int_equal(net->L[2 + 4 * b + 3].act, b == 1 ? 0 : 6);
    }
    zp_tnet_free(net);
}

static void randomize_bn(struct zp_tnet *net, uint64_t seed)
{
    struct zp_rng r;
    zp_rng_seed(&r, seed);
    for (int i = 0; i < net->n_layers; i++) {
        struct zp_tlayer *l = &net->L[i];
        if (l->kind != ZP_TL_BN)
            continue;
        for (int c = 0; c < l->c_in; c++) {
            l->p[0].w[c] = (float)(0.5 + zp_rng_uniform(&r));
            l->p[1].w[c] = (float)(0.5 * zp_rng_gaussian(&r));
            l->run_mean[c] = (float)(0.3 * zp_rng_gaussian(&r));
            l->run_var[c] = (float)(0.2 + zp_rng_uniform(&r));
        }
    }
}

/* The node that reads tensor `name` (the first one), or NULL. */
static const Onnx__NodeProto *consumer(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t j = 0; j < g->node[i]->n_input; j++)
            if (strcmp(g->node[i]->input[j], name) == 0)
                return g->node[i];
    return NULL;
}

static void test_export(void **state)
{
    (void)state;
    /* blocks 1 and 2 linear: block 1's pointwise output goes straight into
     * block 2's depthwise conv, block 2's into the global average pool */
    struct zp_mobilenet_arch a = {.in_c = 1, .in_h = 12, .in_w = 12, .n_classes = 5, .stem = 6,
                                  .stem_stride = 1, .n_blocks = 3, .block_out = {8, 8, 12},
                                  .block_stride = {1, 2, 1}, .block_linear = {0, 1, 1}};
    struct zp_tnet *net = NULL;
    struct zp_err err;
    zp_err_clear(&err);
    assert_int_equal(zp_tnet_mobilenet(&a, 2, &net, &err), ZP_OK);
    randomize_bn(net, 8);
    char path[512];
    snprintf(path, sizeof path, "%s/linear.onnx", zp_test_tmpdir("train_linear"));
    assert_int_equal(zp_onnx_export(net, path, "linear", "test", &err), ZP_OK);

    size_t len = 0;
    char *buf = zp_test_read_file(path, &len);
    assert_non_null(buf);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, (const uint8_t *)buf);
    assert_non_null(m);
    const Onnx__GraphProto *g = m->graph;
    /* Conv nodes in order: stem, then dw / pw per block; what follows each */
    int conv = 0, n_clip = 0;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *nd = g->node[i];
        n_clip += strcmp(nd->op_type, "Clip") == 0;
        if (strcmp(nd->op_type, "Conv") != 0)
            continue;
        const Onnx__NodeProto *next = consumer(g, nd->output[0]);
        assert_non_null(next);
        int pw_block = conv >= 2 && conv % 2 == 0 ? (conv - 2) / 2 : -1;
        if (pw_block >= 0 && a.block_linear[pw_block]) {
            assert_string_not_equal(next->op_type, "Clip");
            assert_string_equal(next->op_type, pw_block == 2 ? "GlobalAveragePool" : "Conv");
        } else {
            assert_string_equal(next->op_type, "Clip");
        }
        conv++;
    }
    assert_int_equal(conv, 1 + 2 * 3);
    assert_int_equal(n_clip, 1 + 2 * 3 - 2);
    onnx__model_proto__free_unpacked(m, NULL);
    free(buf);

    /* the logits through the inference runtime equal the training runtime's */
    struct zp_graph *gr = NULL;
    enum zp_status st = zp_onnx_load(path, &gr, &err);
    if (st != ZP_OK)
        print_error("load: %s\n", err.msg);
    assert_int_equal(st, ZP_OK);
    assert_int_equal(zp_graph_num_layers(gr), 1 + 2 * 3 + 1);
    const int batch = 5;
    const size_t ex = 12 * 12;
    float *x = malloc(batch * ex * sizeof(float));
    float *z = malloc((size_t)batch * 5 * sizeof(float));
    struct zp_rng r;
    zp_rng_seed(&r, 4);
    for (size_t i = 0; i < batch * ex; i++)
        x[i] = (float)zp_rng_gaussian(&r);
    assert_int_equal(zp_graph_run(gr, x, batch, z, NULL, &err), ZP_OK);
    assert_int_equal(zp_tnet_reserve(net, batch, &err), ZP_OK);
    const float *t = zp_tnet_forward(net, x, batch, 0);
    double max_diff = 0.0, max_mag = 0.0;
    for (int n = 0; n < batch; n++)
        for (int k = 0; k < 5; k++) {
            double u = z[(size_t)n * 5 + k], v = t[(size_t)k * batch + n];
            max_diff = fmax(max_diff, fabs(u - v));
            max_mag = fmax(max_mag, fabs(v));
        }
    if (max_diff > 1e-4 * fmax(max_mag, 1.0))
        print_error("logits differ by %g (magnitude %g)\n", max_diff, max_mag);
    assert_true(max_mag > 1e-3);
    assert_true(max_diff <= 1e-4 * fmax(max_mag, 1.0));

    /* the point of the block: block 2's depthwise input (layer 2 + 4 * 2) is
     * signed, the input of block 1's depthwise (after a ReLU6 block) is not */
    const float *lin_in = net->act[2 + 4 * 2], *relu_in = net->act[2 + 4 * 1];
    size_t n_lin = (size_t)net->L[2 + 4 * 2].c_in * net->L[2 + 4 * 2].h_in *
                   net->L[2 + 4 * 2].w_in * batch;
    size_t n_relu = (size_t)net->L[2 + 4 * 1].c_in * net->L[2 + 4 * 1].h_in *
                    net->L[2 + 4 * 1].w_in * batch;
    float lo = 0.0f, hi = 0.0f, lo_r = 0.0f;
    for (size_t i = 0; i < n_lin; i++) {
        lo = fminf(lo, lin_in[i]);
        hi = fmaxf(hi, lin_in[i]);
    }
    for (size_t i = 0; i < n_relu; i++)
        lo_r = fminf(lo_r, relu_in[i]);
    assert_true(lo < -0.1f && hi > 0.1f);
    assert_true(lo_r == 0.0f);
    free(x);
    free(z);
    zp_graph_free(gr);
    zp_tnet_free(net);
}

static double rel_err(const double *a, const double *b, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return sqrt(num) / (sqrt(den) + 1e-12);
}

/* Loss gradients of every parameter of a tiny net with a linear block against
 * central finite differences (training mode: batch statistics). */
static void test_gradients(void **state)
{
    (void)state;
    const float eps = 2e-3f;
    struct zp_mobilenet_arch a = {.in_c = 1, .in_h = 6, .in_w = 6, .n_classes = 3, .stem = 3,
                                  .stem_stride = 1, .n_blocks = 2, .block_out = {4, 4},
                                  .block_stride = {2, 1}, .block_linear = {1, 0}};
    struct zp_tnet *net = NULL;
    struct zp_err err;
    zp_err_clear(&err);
    assert_int_equal(zp_tnet_mobilenet(&a, 3, &net, &err), ZP_OK);
    const int batch = 4;
    assert_int_equal(zp_tnet_reserve(net, batch, &err), ZP_OK);
    struct zp_rng prng;
    zp_rng_seed(&prng, 9);
    for (int li = 0; li < net->n_layers; li++)
        if (net->L[li].kind == ZP_TL_BN)
            for (int c = 0; c < net->L[li].c_in; c++) {
                net->L[li].p[0].w[c] = (float)(1.0 + 0.5 * zp_rng_uniform(&prng));
                net->L[li].p[1].w[c] = (float)(0.3 + 0.5 * zp_rng_gaussian(&prng));
            }
    float x[4 * 36];
    int32_t y[4] = {0, 2, 1, 2};
    struct zp_rng rng;
    zp_rng_seed(&rng, 5);
    for (int i = 0; i < 4 * 36; i++)
        x[i] = (float)zp_rng_gaussian(&rng);
    zp_tnet_forward(net, x, batch, 1);
    zp_tnet_loss(net, y, batch, NULL);
    zp_tnet_zero_grad(net);
    zp_tnet_backward(net, batch);
    int checked = 0;
    for (int li = 0; li < net->n_layers; li++)
        for (int j = 0; j < net->L[li].n_params; j++) {
            struct zp_tparam *p = &net->L[li].p[j];
            double *pa = malloc(p->n * sizeof(double)), *pn = malloc(p->n * sizeof(double));
            for (size_t i = 0; i < p->n; i++) {
                float v = p->w[i];
                p->w[i] = v + eps;
                zp_tnet_forward(net, x, batch, 1);
                double lp = zp_tnet_loss(net, y, batch, NULL);
                p->w[i] = v - eps;
                zp_tnet_forward(net, x, batch, 1);
                double lm = zp_tnet_loss(net, y, batch, NULL);
                p->w[i] = v;
                pn[i] = (lp - lm) / (2.0 * eps);
                pa[i] = p->g[i];
            }
            double e = rel_err(pa, pn, p->n);
            if (e > 5e-2)
                print_error("layer %d param %d: relative error %g\n", li, j, e);
            assert_true(e <= 5e-2);
            checked++;
            free(pa);
            free(pn);
        }
    assert_true(checked >= 10);
    zp_tnet_free(net);
}

/* The shipped linear-bottleneck model: its ONNX file through the inference
 * runtime and its checkpoint through the training runtime agree on the first
 * 500 test images, well above chance; the linear blocks have no Clip. Skipped
 * without the files or the data. */
static void test_shipped(void **state)
{
    (void)state;
    const char *onnx = "models/fashion_mobilenet_linear.onnx";
    const char *ckpt = "models/fashion_mobilenet_linear.ckpt";
    const char *img = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    const char *lab = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
    FILE *f1 = fopen(onnx, "rb"), *f2 = fopen(ckpt, "rb"), *f3 = fopen(img, "rb");
    int have = f1 && f2 && f3;
    if (f1)
        fclose(f1);
    if (f2)
        fclose(f2);
    if (f3)
        fclose(f3);
    if (!have)
        skip();
    struct zp_dataset_spec sp = {.format = ZP_DATA_IDX, .images = img, .labels = lab,
                                 .channels = 1, .resize_mode = ZP_RESIZE_NONE,
                                 .mean = {72.94f}, .std = {90.0f}, .limit = 500};
    struct zp_dataset ds;
    struct zp_err err;
    zp_err_clear(&err);
    assert_int_equal(zp_dataset_load(&sp, &ds, &err), ZP_OK);
    struct zp_graph *g = NULL;
    assert_int_equal(zp_onnx_load(onnx, &g, &err), ZP_OK);
    struct zp_tnet *net = NULL;
    int epochs = 0;
    enum zp_status st = zp_checkpoint_open(ckpt, &net, &epochs, &err);
    if (st != ZP_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(st, ZP_OK);
    int n_linear = 0;
    for (int i = 0; i < net->n_layers; i++)
        n_linear += net->L[i].kind == ZP_TL_BN && net->L[i].act == 0;
    assert_true(n_linear >= 1);
    const int64_t K = zp_graph_output_size(g);
    float *z = malloc(sizeof(float) * (size_t)K * (size_t)ds.n);
    assert_int_equal(zp_graph_run(g, ds.x, (int)ds.n, z, NULL, &err), ZP_OK);
    long ok_graph = 0;
    for (int64_t i = 0; i < ds.n; i++) {
        int am = 0;
        for (int k = 1; k < K; k++)
            if (z[i * K + k] > z[i * K + am])
                am = k;
        ok_graph += am == ds.labels[i];
    }
    double top_graph = (double)ok_graph / (double)ds.n;
    double top_train = zp_train_evaluate(net, &ds, 100);
    if (fabs(top_graph - top_train) > 1.5 / (double)ds.n)
        print_error("graph top1 %g, training runtime %g\n", top_graph, top_train);
    assert_true(fabs(top_graph - top_train) <= 1.5 / (double)ds.n);
    assert_true(top_graph > 0.8);
    free(z);
    zp_tnet_free(net);
    zp_graph_free(g);
    zp_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_config),    cmocka_unit_test(test_build),
        cmocka_unit_test(test_export),    cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_shipped),
    };
    return ZP_RUN_TESTS(t);
}
