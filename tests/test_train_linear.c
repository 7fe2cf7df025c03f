/* Linear bottleneck blocks (model.blocks entry [channels, stride, "linear"]):
 * the pointwise conv + BN of such a block has no ReLU6, so the next depthwise
 * conv reads a signed input. Checks the config parsing, that the export has no
 * Clip after that Conv and computes the training graph's logits, the
 * gradients of a network with such a block against finite differences, and the
 * shipped model trained with it. */
#include "tests/util.h"
#include "tests/train_checks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "data/dataset.h"
#include "model/graph.h"
#include "train/onnx_export.h"
#include "onnx.pb-c.h"
#include "train/gtrain.h"
#include "train/tnet.h"
#include "config/train_config.h"
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

/* The range of one layer's input over a run (zp_run_hooks.layer_input). */
struct range {
    int layer;
    float lo, hi;
};

static void track_range(void *ctx, int layer, float *x, int batch)
{
    struct range *r = ctx;
    for (int k = 0; k < 2; k++) {
        if (r[k].layer != layer)
            continue;
        /* per-image input size of the two depthwise layers: 8 x 12 x 12, 8 x 6 x 6 */
        size_t n = (size_t)batch * 8 * (layer == 3 ? 12 * 12 : 6 * 6);
        for (size_t i = 0; i < n; i++) {
            r[k].lo = fminf(r[k].lo, x[i]);
            r[k].hi = fmaxf(r[k].hi, x[i]);
        }
    }
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
    /* the point of the block: block 2's depthwise input (layer 1 + 2 * 2) is
     * signed, the input of block 1's depthwise (after a ReLU6 block) is not */
    struct range rg[2] = {{5, 0.0f, 0.0f}, {3, 0.0f, 0.0f}};
    struct zp_run_hooks hk = {.ctx = rg, .layer_input = track_range};
    assert_int_equal(zp_graph_run(gr, x, batch, z, &hk, &err), ZP_OK);
    /* the logits through the inference runtime equal the training graph's */
    struct zp_gtrain *gt = zp_test_graph_of(net, batch);
    const float *t = NULL;
    assert_int_equal(zp_tgraph_forward(gt->t, x, batch, 0, &t, &err), ZP_OK);
    double max_diff = 0.0, max_mag = 0.0;
    for (size_t i = 0; i < (size_t)batch * 5; i++) {
        max_diff = fmax(max_diff, fabs((double)z[i] - t[i]));
        max_mag = fmax(max_mag, fabs((double)t[i]));
    }
    zp_gtrain_free(gt);
    if (max_diff > 1e-4 * fmax(max_mag, 1.0))
        print_error("logits differ by %g (magnitude %g)\n", max_diff, max_mag);
    assert_true(max_mag > 1e-3);
    assert_true(max_diff <= 1e-4 * fmax(max_mag, 1.0));
    assert_true(rg[0].lo < -0.1f && rg[0].hi > 0.1f);
    assert_true(rg[1].lo == 0.0f && rg[1].hi > 0.1f);
    free(x);
    free(z);
    zp_graph_free(gr);
    zp_tnet_free(net);
}


/* Loss gradients of every parameter of a tiny net with a linear block against
 * central finite differences (training mode: batch statistics). */
static void test_gradients(void **state)
{
    (void)state;
    struct zp_mobilenet_arch a = {.in_c = 1, .in_h = 6, .in_w = 6, .n_classes = 3, .stem = 3,
                                  .stem_stride = 1, .n_blocks = 2, .block_out = {4, 4},
                                  .block_stride = {2, 1}, .block_linear = {1, 0}};
    zp_test_gradcheck_mobilenet(&a, 2e-3f);
}

/* The shipped linear-bottleneck model: its ONNX file through the inference
 * runtime and its checkpoint opened as a training graph agree on the first
 * 500 test images, well above chance; the linear blocks have no Clip. Skipped
 * without the files or the data. */
static void test_shipped(void **state)
{
    (void)state;
    const char *onnx = "models/fashion_mobilenet_linear.onnx";
    const char *ckpt = "models/fashion_mobilenet_linear.ckpt";
    zp_test_check_shipped(onnx, ckpt);
    struct zp_tnet *net = NULL;
    int epochs = 0;
    struct zp_err err;
    zp_err_clear(&err);
    assert_int_equal(zp_checkpoint_open(ckpt, &net, &epochs, &err), ZP_OK);
    int n_linear = 0;
    for (int i = 0; i < net->n_layers; i++)
        n_linear += net->L[i].kind == ZP_TL_BN && net->L[i].act == 0;
    assert_true(n_linear >= 1);
    zp_tnet_free(net);
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
