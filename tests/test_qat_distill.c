/* QAT with distillation (train/qat.h, train/qat_distill.c): the KL loss to the
 * float model trains a fake-quantized student without reading a label; the
 * "qat" keys of a scheme entry are validated; a run's QAT cell writes its model
 * to <run>/models/<label>.onnx, which loads. (The KL gradient itself is checked
 * by finite differences in tests/test_graph_train.c, test_losses.) */
#include "tests/util.h"
#include "tests/train_checks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config.h"
#include "config/train_config.h"
#include "data/dataset.h"
#include "experiment/runner.h"
#include "model/graph.h"
#include "schemes/scheme.h"
#include "train/qat.h"
#include "train/trainer.h"

static const char *MNET = "{\"type\": \"mobilenet\", \"input\": [1, 8, 8], \"classes\": 4, "
                          "\"stem\": 4, \"blocks\": [[8, 2], [8, 1]]}";

/* A float model trained on the synthetic task (train-*.idx, test-*.idx in dir),
 * once per test binary: dir/model.onnx and dir/model.ckpt. */
static const char *trained_dir(void)
{
    static const char *dir;
    if (!dir) {
        dir = zp_test_train_data("qat-distill");
        char cfgpath[600];
        snprintf(cfgpath, sizeof cfgpath, "%s/mnet.json", dir);
        zp_test_train_config(cfgpath, dir, MNET, 3, NULL);
        assert_true(zp_test_train_run(cfgpath, 0, 0) > 0.5);
    }
    return dir;
}

static void load_data(const char *dir, struct zp_dataset *tr, struct zp_dataset *te)
{
    static struct zp_train_config cfg;
    char cfgpath[600];
    snprintf(cfgpath, sizeof cfgpath, "%s/mnet.json", dir);
    struct zp_err err;
    zp_err_clear(&err);
    assert_int_equal(zp_train_config_load(cfgpath, &cfg, &err), ZP_OK);
    assert_int_equal(zp_dataset_load(&cfg.train_spec, tr, &err), ZP_OK);
    assert_int_equal(zp_dataset_load(&cfg.test_spec, te, &err), ZP_OK);
}

/* Binary weights (a large quantization error) distilled from the float model:
 * the KL falls over the epochs, the student keeps most of the float top-1, and
 * no training label is read (they are all out of range here: the labelled loss
 * would fail, and does, once alpha mixes it in). */
static void test_distill_trains_without_labels(void **state)
{
    (void)state;
    const char *dir = trained_dir();
    struct zp_dataset tr = {0}, te = {0};
    load_data(dir, &tr, &te);
    for (int64_t i = 0; i < tr.n; i++)
        tr.labels[i] = 1000;
    struct zp_scheme_config w, a;
    zp_scheme_config_defaults(&w, zp_scheme_find("binary"));
    w.granularity = ZP_PER_CHANNEL;
    zp_scheme_config_defaults(&a, zp_scheme_find("asymmetric"));
    char ckpt[600], out[600];
    snprintf(ckpt, sizeof ckpt, "%s/model.onnx", dir);
    snprintf(out, sizeof out, "%s/distilled.onnx", dir);
    struct zp_qat_options opt = {.checkpoint = ckpt, .output = out, .epochs = 4, .batch = 32,
                                 .lr = 0.02, .momentum = 0.9, .weight_decay = 0, .seed = 5,
                                 .bn_freeze_steps = 0, .act_ema = 0.1, .weights = &w,
                                 .acts = &a, .train = &tr, .eval = &te, .quiet = 1,
                                 .loss = ZP_QAT_LOSS_DISTILL, .temperature = 2.0, .hflip = 1};
    static struct zp_qat_result res;
    struct zp_err err;
    zp_err_clear(&err);
    enum zp_status st = zp_qat_finetune(&opt, &res, &err);
    if (st != ZP_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(st, ZP_OK);
    print_message("distill: loss %.4f -> %.4f, float top1 %.3f, QAT top1 %.3f\n", res.first_loss,
                  res.last_loss, res.float_top1, res.qat_top1);
    assert_true(isfinite(res.first_loss) && isfinite(res.last_loss));
    assert_true(res.first_loss > 0);
    assert_true(res.last_loss < 0.8 * res.first_loss);
    assert_true(res.qat_top1 > 0.5 * res.float_top1);
    struct zp_graph *g = NULL;
    assert_int_equal(zp_onnx_load(out, &g, &err), ZP_OK);
    assert_int_equal(zp_graph_num_layers(g), res.n_layers);
    zp_graph_free(g);

    /* alpha > 0 mixes in the cross-entropy, which reads the labels */
    opt.alpha = 0.5;
    opt.epochs = 1;
    zp_err_clear(&err);
    assert_int_equal(zp_qat_finetune(&opt, &res, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "label outside"));
    /* bad settings are refused before anything runs */
    opt.alpha = 1.5;
    zp_err_clear(&err);
    assert_int_equal(zp_qat_finetune(&opt, &res, &err), ZP_EINVAL);
    zp_dataset_free(&tr);
    zp_dataset_free(&te);
}

/* One distillation epoch against a teacher equal to the student without its
 * quantization points: a student with nothing attached has KL 0 and agrees
 * everywhere, so the loss is the quantizer's doing. */
static void test_distill_epoch_zero_without_quant(void **state)
{
    (void)state;
    const char *dir = trained_dir();
    struct zp_dataset tr = {0}, te = {0};
    load_data(dir, &tr, &te);
    char onnx[600];
    snprintf(onnx, sizeof onnx, "%s/model.onnx", dir);
    struct zp_gtrain *s = NULL, *t = NULL;
    int done = 0;
    struct zp_err err;
    zp_err_clear(&err);
    assert_int_equal(zp_gtrain_checkpoint_open(onnx, 32, &s, &done, &err), ZP_OK);
    assert_int_equal(zp_gtrain_checkpoint_open(onnx, 32, &t, &done, &err), ZP_OK);
    struct zp_sgd sgd = {.lr = 1e-9, .momentum = 0, .schedule = ZP_LR_COSINE};
    long step = 0;
    struct zp_epoch_stats es;
    assert_int_equal(zp_qat_distill_epoch(s, t, &tr, &sgd, 32, 0, 1.0, 0.0, 1, 0, &step, 10, &es,
                                          &err),
                     ZP_OK);
    assert_true(es.loss >= 0 && es.loss < 1e-9);
    assert_true(es.top1 == 1.0);
    assert_int_equal(step, tr.n / 32);
    /* with linear4 weights attached the same epoch has a loss */
    struct zp_scheme_config w;
    zp_scheme_config_defaults(&w, zp_scheme_find("linear4"));
    struct zp_qat_state *q = NULL;
    assert_int_equal(zp_qat_attach(s, &w, NULL, 0.01, 0, &q, &err), ZP_OK);
    assert_int_equal(zp_qat_distill_epoch(s, t, &tr, &sgd, 32, 0, 1.0, 0.0, 1, 0, &step, 10, &es,
                                          &err),
                     ZP_OK);
    assert_true(es.loss > 1e-6);
    /* a batch over the states' size is refused */
    assert_int_equal(zp_qat_distill_epoch(s, t, &tr, &sgd, 64, 0, 1.0, 0.0, 1, 0, &step, 10, &es,
                                          &err),
                     ZP_EINVAL);
    zp_qat_detach(s, q);
    zp_gtrain_free(s);
    zp_gtrain_free(t);
    zp_dataset_free(&tr);
    zp_dataset_free(&te);
}

#define SYN ",\"tensors\":{\"synthetic\":[{\"distribution\":\"gaussian\",\"n\":64}]}"

static enum zp_status parse(const char *qat, struct zp_config *cfg, struct zp_err *err)
{
    char text[1024];
    snprintf(text, sizeof text, "{\"schemes\":[{\"scheme\":\"linear4\",\"qat\":%s}]" SYN "}", qat);
    zp_err_clear(err);
    struct zp_config_env env = {.data_root = zp_test_tmpdir("qat-distill-cfg")};
    return zp_config_parse(text, "configs/x.json", &env, cfg, err);
}

static void expect_error(const char *qat, const char *want)
{
    struct zp_config cfg;
    struct zp_err err;
    enum zp_status st = parse(qat, &cfg, &err);
    if (st != ZP_ECONFIG || !strstr(err.msg, want))
        fail_msg("qat %s\n  status %d, message: %s\n  wanted: %s", qat, st, err.msg, want);
}

static void test_config_keys(void **state)
{
    (void)state;
    struct zp_config cfg;
    struct zp_err err;
    assert_int_equal(parse("{\"loss\":\"distill\",\"temperature\":3,\"alpha\":0.25,\"hflip\":true}",
                           &cfg, &err),
                     ZP_OK);
    assert_int_equal(cfg.variants[0].qat_distill, 1);
    assert_true(cfg.variants[0].qat_temperature == 3.0);
    assert_true(cfg.variants[0].qat_alpha == 0.25);
    assert_int_equal(cfg.variants[0].qat_hflip, 1);
    zp_config_free(&cfg);
    assert_int_equal(parse("{\"epochs\":1}", &cfg, &err), ZP_OK);
    assert_int_equal(cfg.variants[0].qat_distill, 0); /* the default: labelled cross-entropy */
    assert_true(cfg.variants[0].qat_temperature == 1.0);
    assert_true(cfg.variants[0].qat_alpha == 0.0);
    assert_int_equal(cfg.variants[0].qat_hflip, 0);
    zp_config_free(&cfg);

    expect_error("{\"loss\":\"kl\"}", "schemes[0].qat.loss: expected one of xent, distill");
    expect_error("{\"loss\":\"distill\",\"temperature\":0}", "schemes[0].qat.temperature");
    expect_error("{\"loss\":\"distill\",\"alpha\":1.5}", "schemes[0].qat.alpha");
    expect_error("{\"loss\":\"distill\",\"hflip\":1}", "schemes[0].qat.hflip");
    expect_error("{\"temperature\":2}", "schemes[0].qat.temperature: only with \"loss\": \"distill\"");
    expect_error("{\"loss\":\"xent\",\"alpha\":0.5}", "schemes[0].qat.alpha: only with");
    expect_error("{\"loss\":\"distill\",\"tau\":2}", "schemes[0].qat.tau");
    assert_int_equal(parse("{\"optimizer\":\"adam\"}", &cfg, &err), ZP_OK);
    assert_int_equal(cfg.variants[0].qat_adam, 1);
    zp_config_free(&cfg);
    expect_error("{\"optimizer\":\"rmsprop\"}",
                 "schemes[0].qat.optimizer: expected one of sgd, adam");
}

/* Adam against its definition in double precision (Kingma & Ba, algorithm 1, with
 * AdamW's decoupled decay): the first step moves every weight by lr whatever the
 * gradient's scale, and later steps follow the bias-corrected moments. */
static void test_adam_update(void **state)
{
    (void)state;
    const struct zp_sgd s = {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01,
                             .optimizer = ZP_OPT_ADAM};
    float w[3] = {1.0f, -2.0f, 0.5f}, m[3] = {0}, v[3] = {0};
    const float g1[3] = {0.5f, -1000.0f, 1e-4f}, g2[3] = {-0.25f, 10.0f, 3e-4f};
    double wd[3] = {1.0, -2.0, 0.5}, md[3] = {0}, vd[3] = {0};
    for (long t = 1; t <= 2; t++) {
        const float *g = t == 1 ? g1 : g2;
        zp_adam_update(w, g, m, v, 3, 1, &s, s.lr, t);
        for (int e = 0; e < 3; e++) {
            md[e] = 0.9 * md[e] + 0.1 * g[e];
            vd[e] = 0.999 * vd[e] + 0.001 * (double)g[e] * g[e];
            double mh = md[e] / (1 - pow(0.9, (double)t)), vh = vd[e] / (1 - pow(0.999, (double)t));
            wd[e] = wd[e] * (1 - s.lr * s.weight_decay) - s.lr * mh / (sqrt(vh) + 1e-8);
            assert_true(fabs(w[e] - wd[e]) < 1e-5);
        }
        if (t == 1) /* |step| = lr (+ the decay's lr * wd * w) for any gradient scale */
            for (int e = 0; e < 3; e++) {
                double w0 = e == 0 ? 1.0 : e == 1 ? -2.0 : 0.5;
                assert_true(fabs(fabs(w[e] - w0 * (1 - 0.001)) - 0.1) < 1e-4);
            }
    }
    /* without decay (biases) the weight only moves by the moments */
    float b[1] = {0.0f}, mb[1] = {0}, vb[1] = {0};
    const float gb[1] = {2.0f};
    zp_adam_update(b, gb, mb, vb, 1, 0, &s, s.lr, 1);
    assert_true(fabs(b[0] + 0.1f) < 1e-6);
}

/* Starting biases (bias-corrected PTQ): installed in the student before
 * fine-tuning, so with no epoch the written model carries them, layer 0's
 * replaced and the others the checkpoint's; a graph with BatchNormalization, whose
 * batch statistics would undo them, is refused by name, as is a count of layers
 * that does not match. */
static void test_start_biases(void **state)
{
    (void)state;
    const char *dir = trained_dir();
    struct zp_dataset tr = {0}, te = {0};
    load_data(dir, &tr, &te);
    struct zp_scheme_config w;
    zp_scheme_config_defaults(&w, zp_scheme_find("linear4"));
    w.granularity = ZP_PER_CHANNEL;
    char onnx[600], ckpt[600], out[600];
    snprintf(onnx, sizeof onnx, "%s/model.onnx", dir);
    snprintf(ckpt, sizeof ckpt, "%s/model.ckpt", dir);
    snprintf(out, sizeof out, "%s/started.onnx", dir);
    struct zp_graph *g0 = NULL;
    struct zp_err err;
    zp_err_clear(&err);
    assert_int_equal(zp_onnx_load(onnx, &g0, &err), ZP_OK);
    const int L = zp_graph_num_layers(g0);
    const struct zp_layer_info *l0 = zp_graph_layer(g0, 0);
    assert_non_null(l0->bias);
    float *b0 = malloc((size_t)l0->n_out * sizeof *b0);
    for (int64_t c = 0; c < l0->n_out; c++)
        b0[c] = 0.25f + 0.5f * (float)c;
    const float **init = calloc((size_t)L, sizeof *init);
    init[0] = b0;
    struct zp_qat_options opt = {.checkpoint = onnx, .output = out, .epochs = 0, .batch = 32,
                                 .lr = 0.01, .momentum = 0.9, .seed = 5, .act_ema = 0.1,
                                 .weights = &w, .train = &tr, .eval = &te, .quiet = 1,
                                 .init_bias = init, .n_init_bias = L};
    static struct zp_qat_result res;
    assert_int_equal(zp_qat_finetune(&opt, &res, &err), ZP_OK);
    struct zp_graph *g1 = NULL;
    assert_int_equal(zp_onnx_load(out, &g1, &err), ZP_OK);
    assert_int_equal(zp_graph_num_layers(g1), L);
    for (int64_t c = 0; c < l0->n_out; c++)
        assert_true(zp_graph_layer(g1, 0)->bias[c] == b0[c]);
    const struct zp_layer_info *a = zp_graph_layer(g0, L - 1), *b = zp_graph_layer(g1, L - 1);
    for (int64_t c = 0; a->bias && c < a->n_out; c++)
        assert_true(a->bias[c] == b->bias[c]);
    zp_graph_free(g1);

    opt.n_init_bias = L + 1;
    assert_int_equal(zp_qat_finetune(&opt, &res, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "starting biases for"));
    opt.n_init_bias = L;
    opt.checkpoint = ckpt;
    zp_err_clear(&err);
    assert_int_equal(zp_qat_finetune(&opt, &res, &err), ZP_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "without BatchNormalization"));
    free(init);
    free(b0);
    zp_graph_free(g0);
    zp_dataset_free(&tr);
    zp_dataset_free(&te);
}

/* Writes dir/<name>.json: one scheme entry (JSON) in mode qat on the synthetic
 * task, the float model dir/model.onnx fine-tuned from dir/<ckpt>. */
static void write_run_config(const char *dir, const char *name, const char *entry,
                             const char *ckpt, char *cfgpath, size_t cap)
{
    char text[3000];
    snprintf(cfgpath, cap, "%s/%s.json", dir, name);
    snprintf(text, sizeof text,
             "{\"name\":\"d\",\"seed\":1,\"schemes\":[%s],"
             "\"datasets\":{\"tr\":{\"format\":\"idx\",\"images\":\"%s/train-images.idx\","
             "\"labels\":\"%s/train-labels.idx\",\"mean\":[100],\"std\":[60]},"
             "\"te\":{\"format\":\"idx\",\"images\":\"%s/test-images.idx\","
             "\"labels\":\"%s/test-labels.idx\",\"mean\":[100],\"std\":[60]}},"
             "\"models\":[{\"name\":\"m\",\"path\":\"%s/model.onnx\",\"checkpoint\":"
             "\"%s/%s\",\"eval\":\"te\",\"train_data\":\"tr\",\"calibration_data\":\"tr\","
             "\"calibration\":{\"size\":64},"
             "\"modes\":[\"qat\"],\"batch\":32,\"layer_stats_samples\":8}]}",
             entry, dir, dir, dir, dir, dir, dir, ckpt);
    zp_test_write_file(cfgpath, text);
}

/* A run with mode qat on the synthetic task: the QAT cell writes
 * models/<label made file-name safe>.onnx, which loads with the float model's
 * layers; the old qat/ folder is gone. */
static void test_run_writes_models_label(void **state)
{
    (void)state;
    const char *dir = trained_dir();
    char cfgpath[700], run[700], path[900];
    snprintf(run, sizeof run, "%s/run", dir);
    write_run_config(dir, "run",
                     "{\"scheme\":\"linear4\",\"granularity\":\"per-channel\","
                     "\"label\":\"l4 pc/distill\",\"qat\":{\"loss\":\"distill\",\"temperature\":2,"
                     "\"epochs\":1,\"batch\":32,\"lr\":0.005}}",
                     "model.ckpt", cfgpath, sizeof cfgpath);
    struct zp_config cfg;
    struct zp_err err;
    zp_err_clear(&err);
    enum zp_status st = zp_config_load(cfgpath, NULL, &cfg, &err);
    if (st != ZP_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(st, ZP_OK);
    struct zp_run_opts o = {.out = run, .force = 1, .quiet = 1, .no_plots = 1};
    st = zp_run(&cfg, &o, &err);
    if (st != ZP_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(st, ZP_OK);
    snprintf(path, sizeof path, "%s/models/l4_pc_distill.onnx", run);
    struct zp_graph *g = NULL;
    st = zp_onnx_load(path, &g, &err);
    if (st != ZP_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(st, ZP_OK);
    assert_int_equal(zp_graph_num_layers(g), 1 + 2 * 2 + 1);
    zp_graph_free(g);
    snprintf(path, sizeof path, "%s/qat", run);
    assert_null(fopen(path, "r"));
    /* accuracy.csv says which loss the QAT row trained with (the last columns) */
    snprintf(path, sizeof path, "%s/accuracy.csv", run);
    char *csv = zp_test_read_file(path, NULL);
    assert_non_null(csv);
    assert_non_null(strstr(csv, ",qat_loss,qat_temperature,qat_alpha,equalize,bias_absorption,"));
    assert_non_null(strstr(csv, ",qat,"));
    assert_non_null(strstr(csv, ",distill,2,0,false,false,"));
    free(csv);
    zp_config_free(&cfg);
}

/* A run's QAT cell with bias_correction and adam: from the BN-folded ONNX it
 * trains from the bias-corrected start and accuracy.csv records both; from the
 * checkpoint with BN the run stops before its folder exists, with the reason. */
static void run_bc_adam(const char *dir, const char *ckpt, enum zp_status want, char **csv)
{
    char cfgpath[700], run[700], path[900];
    snprintf(run, sizeof run, "%s/run_bc%s", dir, want == ZP_OK ? "" : "_bn");
    write_run_config(dir, "run_bc",
                     "{\"scheme\":\"linear4\",\"granularity\":\"per-channel\",\"label\":\"bc\","
                     "\"bias_correction\":\"empirical\",\"qat\":{\"loss\":\"distill\","
                     "\"epochs\":1,\"batch\":32,\"lr\":0.001,\"optimizer\":\"adam\"}}",
                     ckpt, cfgpath, sizeof cfgpath);
    struct zp_config cfg;
    struct zp_err err;
    zp_err_clear(&err);
    assert_int_equal(zp_config_load(cfgpath, NULL, &cfg, &err), ZP_OK);
    struct zp_run_opts o = {.out = run, .force = 1, .quiet = 1, .no_plots = 1};
    enum zp_status st = zp_run(&cfg, &o, &err);
    if (st != want)
        fail_msg("checkpoint %s: status %d (%s), wanted %d", ckpt, st, err.msg, want);
    if (want != ZP_OK) {
        assert_non_null(strstr(err.msg, "without BatchNormalization"));
        assert_non_null(strstr(err.msg, "schemes[0] (variant 'bc')"));
        struct stat sb;
        assert_int_not_equal(stat(run, &sb), 0); /* nothing written */
    }
    snprintf(path, sizeof path, "%s/accuracy.csv", run);
    *csv = want == ZP_OK ? zp_test_read_file(path, NULL) : NULL;
    zp_config_free(&cfg);
}

static void test_run_bias_corrected_start(void **state)
{
    (void)state;
    const char *dir = trained_dir();
    char *csv = NULL;
    run_bc_adam(dir, "model.onnx", ZP_OK, &csv);
    assert_non_null(csv);
    assert_non_null(strstr(csv, ",qat_optimizer\n"));
    const char *row = strstr(csv, ",bc,");
    assert_non_null(row);
    assert_non_null(strstr(row, ",adam\n"));
    free(csv);
    run_bc_adam(dir, "model.ckpt", ZP_ECONFIG, &csv);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_distill_trains_without_labels),
        cmocka_unit_test(test_distill_epoch_zero_without_quant),
        cmocka_unit_test(test_run_writes_models_label),
        cmocka_unit_test(test_adam_update),
        cmocka_unit_test(test_start_biases),
        cmocka_unit_test(test_run_bias_corrected_start),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
