/* ONNX export of a described network (train/onnx_export.h): written with BN
 * folded it must compute, through the inference loader (model/graph.h), the
 * logits of the training graph of the same network (BN kept, evaluation mode);
 * the file must hold the operators the loader supports (Conv, Clip with scalar
 * initializers, GlobalAveragePool, Flatten, Gemm, Relu) and no
 * BatchNormalization. The training-graph export (BN kept as nodes) must compute
 * the same logits through the loader's own fold. */
#include "tests/util.h"
#include "tests/train_checks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "model/graph.h"
#include "train/onnx_export.h"
#include "onnx.pb-c.h"
#include "data/dataset.h"
#include "train/gtrain.h"
#include "train/tnet.h"
#include "train/trainer.h"

/* BN statistics and affine parameters far from the identity, so a wrong fold
 * (a missing scale, mean or eps) changes the logits. */
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

/* Exports net (to a file with BN folded, or keep_bn: to memory with every BN a
 * node, the training graph), loads it with the inference loader (which folds
 * BN itself), compares logits on random inputs. */
static void roundtrip(struct zp_tnet *net, const char *name, int expect_layers, int keep_bn)
{
    const char *dir = zp_test_tmpdir("export");
    char path[512];
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    struct zp_err err;
    zp_err_clear(&err);
    size_t len = 0;
    char *buf = NULL;
    if (keep_bn) {
        uint8_t *mem = NULL;
        assert_int_equal(zp_onnx_export_buffer(net, 1, name, "test", &mem, &len, &err), ZP_OK);
        buf = (char *)mem;
    } else {
        assert_int_equal(zp_onnx_export(net, path, name, "test", &err), ZP_OK);
        buf = zp_test_read_file(path, &len);
    }

    /* the model itself: opset, ops, BN nodes only when kept, convs without bias then */
    assert_non_null(buf);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, (const uint8_t *)buf);
    assert_non_null(m);
    assert_true(m->n_opset_import == 1 && m->opset_import[0]->version == 13);
    int n_clip = 0, n_bn_nodes = 0;
    for (size_t i = 0; i < m->graph->n_node; i++) {
        const Onnx__NodeProto *nd = m->graph->node[i];
        n_bn_nodes += strcmp(nd->op_type, "BatchNormalization") == 0;
        if (strcmp(nd->op_type, "Conv") == 0)
            assert_int_equal(nd->n_input, keep_bn ? 2 : 3);
        if (strcmp(nd->op_type, "Clip") == 0) {
            n_clip++;
            assert_int_equal(nd->n_input, 3);
        }
    }
    int n_relu6 = 0, n_bn = 0;
    for (int i = 0; i < net->n_layers; i++) {
        n_relu6 += net->L[i].kind == ZP_TL_RELU6 ||
                   (net->L[i].kind == ZP_TL_BN && net->L[i].act == 6);
        n_bn += net->L[i].kind == ZP_TL_BN;
    }
    assert_int_equal(n_clip, n_relu6);
    assert_int_equal(n_bn_nodes, keep_bn ? n_bn : 0);
    onnx__model_proto__free_unpacked(m, NULL);

    struct zp_graph *g = NULL;
    enum zp_status st = zp_onnx_load_buffer(buf, len, path, &g, &err);
    free(buf);
    if (st != ZP_OK)
        print_error("load: %s\n", err.msg);
    assert_int_equal(st, ZP_OK);
    assert_int_equal(zp_graph_num_layers(g), expect_layers);
    assert_int_equal(zp_graph_output_size(g), net->n_classes);

    const int batch = 5;
    const size_t ex = (size_t)net->in_c * net->in_h * net->in_w;
    float *x = malloc(batch * ex * sizeof(float));
    float *z = malloc((size_t)batch * net->n_classes * sizeof(float));
    struct zp_rng r;
    zp_rng_seed(&r, 4);
    for (size_t i = 0; i < batch * ex; i++)
        x[i] = (float)zp_rng_gaussian(&r);
    assert_int_equal(zp_graph_run(g, x, batch, z, NULL, &err), ZP_OK);
    /* the reference: the training graph of the same network, evaluation mode */
    struct zp_gtrain *gt = zp_test_graph_of(net, batch);
    const float *t = NULL;
    assert_int_equal(zp_tgraph_forward(gt->t, x, batch, 0, &t, &err), ZP_OK);
    double max_diff = 0.0, max_mag = 0.0;
    for (size_t i = 0; i < (size_t)batch * net->n_classes; i++) {
        max_diff = fmax(max_diff, fabs((double)z[i] - t[i]));
        max_mag = fmax(max_mag, fabs((double)t[i]));
    }
    zp_gtrain_free(gt);
    if (max_diff > 1e-4 * fmax(max_mag, 1.0))
        print_error("%s: logits differ by %g (magnitude %g)\n", name, max_diff, max_mag);
    assert_true(max_mag > 1e-3); /* not a trivially zero network */
    assert_true(max_diff <= 1e-4 * fmax(max_mag, 1.0));
    free(x);
    free(z);
    zp_graph_free(g);
}

static void test_mobilenet_roundtrip(void **state)
{
    (void)state;
    struct zp_mobilenet_arch a = {.in_c = 1, .in_h = 12, .in_w = 12, .n_classes = 10, .stem = 8,
                                  .stem_stride = 1, .n_blocks = 3,
                                  .block_out = {16, 16, 24}, .block_stride = {1, 2, 2}};
    struct zp_tnet *net = NULL;
    struct zp_err err;
    assert_int_equal(zp_tnet_mobilenet(&a, 2, &net, &err), ZP_OK);
    randomize_bn(net, 8);
    /* stem + 2 per block + classifier */
    roundtrip(net, "mobilenet", 1 + 2 * 3 + 1, 0);
    roundtrip(net, "mobilenet_bn", 1 + 2 * 3 + 1, 1);
    zp_tnet_free(net);
}

static void test_mlp_roundtrip(void **state)
{
    (void)state;
    struct zp_mlp_arch a = {.in_c = 1, .in_h = 6, .in_w = 5, .n_classes = 4, .n_hidden = 2,
                            .hidden = {16, 8}};
    struct zp_tnet *net = NULL;
    struct zp_err err;
    assert_int_equal(zp_tnet_mlp(&a, 2, &net, &err), ZP_OK);
    for (int i = 0; i < net->n_layers; i++) /* non-zero biases */
        if (net->L[i].kind == ZP_TL_FC)
            for (size_t j = 0; j < net->L[i].p[1].n; j++)
                net->L[i].p[1].w[j] = 0.05f * (float)j - 0.1f;
    roundtrip(net, "mlp", 3, 0);
    roundtrip(net, "mlp_bn", 3, 1);
    zp_tnet_free(net);
}

/* Folding by hand for one channel: w' = w * gamma / sqrt(var + eps),
 * b' = beta - mean * gamma / sqrt(var + eps). */
static void test_fold_values(void **state)
{
    (void)state;
    struct zp_tlayer spec[2] = {{.kind = ZP_TL_CONV, .k = 1, .stride = 1, .pad = 0, .c_out = 1},
                                {.kind = ZP_TL_BN}};
    struct zp_tnet *net = NULL;
    struct zp_err err;
    assert_int_equal(zp_tnet_build(spec, 2, 2, 1, 1, 1, &net, &err), ZP_OK);
    net->L[0].p[0].w[0] = 2.0f;
    net->L[0].p[0].w[1] = -1.0f;
    net->L[1].p[0].w[0] = 3.0f;  /* gamma */
    net->L[1].p[1].w[0] = 0.5f;  /* beta */
    net->L[1].run_mean[0] = 1.0f;
    net->L[1].run_var[0] = 4.0f - 1e-5f; /* var + eps = 4: scale 3 / 2 */
    float w[2], b[1];
    zp_fold_bn(net, 0, w, b);
    assert_true(fabs(w[0] - 3.0) < 1e-5 && fabs(w[1] + 1.5) < 1e-5);
    assert_true(fabs(b[0] - (0.5 - 1.5)) < 1e-5);
    zp_tnet_free(net);
}


/* The built-in architecture as a training graph: the parameters of the
 * described network (He init from the seed), in order, BN at the identity. */
static void test_model_onnx(void **state)
{
    (void)state;
    static struct zp_train_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.name, sizeof cfg.name, "graph");
    cfg.model = ZP_MODEL_MOBILENET;
    cfg.seed = 7;
    cfg.mobilenet = (struct zp_mobilenet_arch){.in_c = 1, .in_h = 10, .in_w = 10, .n_classes = 5,
                                               .stem = 8, .stem_stride = 2, .n_blocks = 2,
                                               .block_out = {8, 12}, .block_stride = {1, 2},
                                               .block_linear = {1, 0}};
    struct zp_err err;
    zp_err_clear(&err);
    struct zp_gtrain *gt = NULL;
    assert_int_equal(zp_gtrain_open_config(&cfg, 2, &gt, &err), ZP_OK);
    struct zp_tnet *net = NULL;
    assert_int_equal(zp_train_build_net(&cfg, &net, &err), ZP_OK);
    assert_int_equal(zp_graph_num_layers(gt->g), 1 + 2 * 2 + 1);
    assert_int_equal(zp_tgraph_num_bn(gt->t), 1 + 2 * 2);
    /* every weight of the description appears once among the graph's parameters */
    int found = 0, n_weights = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const struct zp_tparam *w = &net->L[i].p[0];
        if (net->L[i].kind == ZP_TL_BN || !net->L[i].n_params)
            continue;
        n_weights++;
        for (int j = 0; j < gt->n_params; j++) {
            const struct zp_gparam *p = zp_tgraph_param(gt->t, j);
            found += p->kind == ZP_GPARAM_WEIGHT && p->n == w->n &&
                     memcmp(p->w, w->w, w->n * sizeof(float)) == 0;
        }
    }
    assert_int_equal(n_weights, 1 + 2 * 2 + 1);
    assert_int_equal(found, n_weights);
    for (int i = 0; i < zp_tgraph_num_bn(gt->t); i++) {
        struct zp_bn_view v;
        zp_tgraph_bn(gt->t, i, &v);
        assert_true(v.gamma[0] == 1.0f && v.beta[0] == 0.0f && v.mean[0] == 0.0f &&
                    v.var[0] == 1.0f && v.after_layer >= 0);
    }
    zp_tnet_free(net);
    zp_gtrain_free(gt);
}

static void test_shipped_mobilenet(void **state)
{
    (void)state;
    zp_test_check_shipped("models/fashion_mobilenet.onnx", "models/fashion_mobilenet.ckpt");
}

static void test_shipped_mlp(void **state)
{
    (void)state;
    zp_test_check_shipped("models/fashion_mlp.onnx", "models/fashion_mlp.ckpt");
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_fold_values),
        cmocka_unit_test(test_mobilenet_roundtrip),
        cmocka_unit_test(test_mlp_roundtrip),
        cmocka_unit_test(test_model_onnx),
        cmocka_unit_test(test_shipped_mobilenet),
        cmocka_unit_test(test_shipped_mlp),
    };
    return ZP_RUN_TESTS(t);
}
