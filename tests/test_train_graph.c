/* Training on the graph runtime (train/gtrain.h): the export with BN folded,
 * read back by the inference loader, computes the training graph's evaluation
 * logits; "model": "path.onnx" trains, deterministically, resumes to the same
 * bytes, and QAT starts from the exported ONNX. (Checkpoints of the former
 * layer runtime opening as graphs: zp_test_check_shipped on models/ *.ckpt.) */
#include "tests/util.h"
#include "tests/train_checks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "config/train_config.h"
#include "model/graph.h"
#include "onnx.pb-c.h"
#include "schemes/granularity.h"
#include "schemes/scheme.h"
#include "train/gtrain.h"
#include "train/qat.h"
#include "train/trainer.h"

static void small_mobilenet(struct zp_train_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->name, sizeof cfg->name, "g");
    cfg->model = ZP_MODEL_MOBILENET;
    cfg->seed = 5;
    cfg->mobilenet = (struct zp_mobilenet_arch){.in_c = 1, .in_h = 8, .in_w = 8, .n_classes = 4,
                                                .stem = 4, .stem_stride = 1, .n_blocks = 2,
                                                .block_out = {8, 8}, .block_stride = {2, 1},
                                                .block_linear = {0, 1}};
}

static void fill_random(float *x, size_t n, uint64_t seed)
{
    struct zp_rng r;
    zp_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)zp_rng_gaussian(&r);
}

/* Every BN's parameters and statistics far from the identity, so a wrong fold
 * or a statistic not written changes the logits. */
static void randomize_bn(struct zp_gtrain *gt, uint64_t seed)
{
    struct zp_rng r;
    zp_rng_seed(&r, seed);
    for (int i = 0; i < zp_tgraph_num_bn(gt->t); i++) {
        struct zp_bn_view v;
        zp_tgraph_bn(gt->t, i, &v);
        for (int64_t c = 0; c < v.channels; c++) {
            v.gamma[c] = (float)(0.5 + zp_rng_uniform(&r));
            v.beta[c] = (float)(0.5 * zp_rng_gaussian(&r));
            v.mean[c] = (float)(0.3 * zp_rng_gaussian(&r));
            v.var[c] = (float)(0.2 + zp_rng_uniform(&r));
        }
    }
}

static double max_abs_diff(const float *a, const float *b, size_t n, double *mag)
{
    double d = 0.0, m = 0.0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs((double)b[i]));
    }
    *mag = m;
    return d;
}

/* Export with BN folded, read by the inference loader (zp_onnx_load): the same
 * logits as the training graph in evaluation mode; no BatchNormalization left,
 * every Conv with a bias. */
static void check_export(struct zp_gtrain *gt, const char *name)
{
    const char *dir = zp_test_tmpdir("train-graph-export");
    char path[600];
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    struct zp_err err;
    zp_err_clear(&err);
    enum zp_status st = zp_gtrain_export(gt, path, "test", &err);
    if (st != ZP_OK)
        print_error("export: %s\n", err.msg);
    assert_int_equal(st, ZP_OK);
    size_t len = 0;
    char *buf = zp_test_read_file(path, &len);
    assert_non_null(buf);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, (const uint8_t *)buf);
    assert_non_null(m);
    for (size_t i = 0; i < m->graph->n_node; i++) {
        const Onnx__NodeProto *nd = m->graph->node[i];
        assert_true(strcmp(nd->op_type, "BatchNormalization") != 0);
        if (strcmp(nd->op_type, "Conv") == 0)
            assert_int_equal(nd->n_input, 3);
    }
    onnx__model_proto__free_unpacked(m, NULL);
    free(buf);
    struct zp_graph *g = NULL;
    st = zp_onnx_load(path, &g, &err);
    if (st != ZP_OK)
        print_error("load: %s\n", err.msg);
    assert_int_equal(st, ZP_OK);
    assert_int_equal(zp_graph_num_layers(g), zp_graph_num_layers(gt->g));
    const int batch = 5;
    float *x = malloc(batch * gt->in_size * sizeof(float));
    float *z = malloc((size_t)batch * gt->n_classes * sizeof(float));
    fill_random(x, batch * gt->in_size, 4);
    assert_int_equal(zp_graph_run(g, x, batch, z, NULL, &err), ZP_OK);
    const float *t = NULL;
    assert_int_equal(zp_tgraph_forward(gt->t, x, batch, 0, &t, &err), ZP_OK);
    double mag, d = max_abs_diff(z, t, (size_t)batch * gt->n_classes, &mag);
    if (d > 1e-4 * fmax(mag, 1.0))
        print_error("%s: logits differ by %g (magnitude %g)\n", name, d, mag);
    assert_true(mag > 1e-3);
    assert_true(d <= 1e-4 * fmax(mag, 1.0));
    free(x);
    free(z);
    zp_graph_free(g);
}

static void test_export_folded(void **state)
{
    (void)state;
    static struct zp_train_config cfg;
    small_mobilenet(&cfg);
    struct zp_err err;
    zp_err_clear(&err);
    struct zp_gtrain *gt = NULL;
    assert_int_equal(zp_gtrain_open_config(&cfg, 8, &gt, &err), ZP_OK);
    assert_true(zp_tgraph_num_bn(gt->t) == 1 + 2 * 2);
    randomize_bn(gt, 3);
    check_export(gt, "mobilenet");
    zp_gtrain_free(gt);

    cfg.model = ZP_MODEL_MLP;
    cfg.mlp = (struct zp_mlp_arch){.in_c = 1, .in_h = 4, .in_w = 5, .n_classes = 3,
                                   .n_hidden = 1, .hidden = {8}};
    assert_int_equal(zp_gtrain_open_config(&cfg, 8, &gt, &err), ZP_OK);
    for (int i = 0; i < gt->n_params; i++) { /* non-zero biases */
        const struct zp_gparam *p = zp_tgraph_param(gt->t, i);
        if (p->kind == ZP_GPARAM_BIAS)
            for (size_t j = 0; j < p->n; j++)
                p->w[j] = 0.05f * (float)j - 0.1f;
    }
    check_export(gt, "mlp");
    zp_gtrain_free(gt);
}

static double run_config(const char *cfgpath, int resume, int stop_after)
{
    return zp_test_train_run(cfgpath, resume, stop_after);
}

/* "model": "init.onnx" (a MobileNet training graph written to a file): learns
 * the synthetic task, twice to the same bytes, and an interrupted run resumed
 * from its checkpoint writes the same model as an uninterrupted one. */
static void test_train_onnx_path(void **state)
{
    (void)state;
    const char *dir = zp_test_train_data("train-graph-path");
    static struct zp_train_config mc;
    small_mobilenet(&mc);
    uint8_t *buf = NULL;
    size_t len = 0;
    struct zp_err err;
    zp_err_clear(&err);
    assert_int_equal(zp_train_model_onnx(&mc, &buf, &len, &err), ZP_OK);
    char init[600], model[700], cfgpath[600], a[600], b[600];
    snprintf(init, sizeof init, "%s/init.onnx", dir);
    FILE *f = fopen(init, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
    free(buf);
    snprintf(model, sizeof model, "\"%s\"", init);
    snprintf(cfgpath, sizeof cfgpath, "%s/path.json", dir);
    zp_test_train_config(cfgpath, dir, model, 6, NULL);
    double acc = run_config(cfgpath, 0, 0);
    if (acc <= 0.9)
        print_error("accuracy %g\n", acc);
    assert_true(acc > 0.9); /* chance is 0.25 */
    snprintf(a, sizeof a, "%s/model.onnx", dir);
    snprintf(b, sizeof b, "%s/first.onnx", dir);
    assert_int_equal(rename(a, b), 0);
    snprintf(a, sizeof a, "%s/model.ckpt", dir);
    remove(a);
    run_config(cfgpath, 0, 2); /* interrupted after 2 epochs */
    snprintf(a, sizeof a, "%s/model.onnx", dir);
    assert_null(zp_test_read_file(a, NULL));
    double acc2 = run_config(cfgpath, 1, 0);
    assert_true(acc2 == acc);
    assert_true(zp_test_files_equal(a, b));

    /* QAT from the exported ONNX model (BN folded: no checkpoint needed) */
    static struct zp_train_config cfg;
    assert_int_equal(zp_train_config_load(cfgpath, &cfg, &err), ZP_OK);
    struct zp_dataset tr = {0}, te = {0};
    assert_int_equal(zp_dataset_load(&cfg.train_spec, &tr, &err), ZP_OK);
    assert_int_equal(zp_dataset_load(&cfg.test_spec, &te, &err), ZP_OK);
    struct zp_scheme_config w;
    zp_scheme_config_defaults(&w, zp_scheme_find("linear4"));
    w.granularity = ZP_PER_CHANNEL;
    char out[600];
    snprintf(out, sizeof out, "%s/qat.onnx", dir);
    struct zp_qat_options opt = {.checkpoint = b, .output = out, .epochs = 1, .batch = 32,
                                 .lr = 0.01, .momentum = 0.9, .seed = 5, .bn_freeze_steps = 5,
                                 .weights = &w, .train = &tr, .eval = &te, .quiet = 1};
    static struct zp_qat_result res;
    enum zp_status st = zp_qat_finetune(&opt, &res, &err);
    if (st != ZP_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(st, ZP_OK);
    assert_true(fabs(res.float_top1 - acc) < 1e-9); /* the model as exported */
    assert_true(res.qat_top1 > 0.8);
    zp_dataset_free(&tr);
    zp_dataset_free(&te);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_export_folded),
        cmocka_unit_test(test_train_onnx_path),
    };
    return ZP_RUN_TESTS(t);
}
