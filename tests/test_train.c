/* Training loop, checkpoints / resume, configs, `harness train` and QAT, on a
 * small synthetic IDX dataset written to a temporary folder (four classes: a
 * texture per class plus noise), so every test runs in a second or two. */
#include "tests/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "model/graph.h"
#include "schemes/granularity.h"
#include "schemes/scheme.h"
#include "train/qat.h"
#include "config/train_config.h"
#include "train/trainer.h"
#include "tests/train_checks.h"

static const char *MLP = "{\"type\": \"mlp\", \"input\": [1, 8, 8], \"classes\": 4, "
                         "\"hidden\": [16]}";
static const char *MNET = "{\"type\": \"mobilenet\", \"input\": [1, 8, 8], \"classes\": 4, "
                          "\"stem\": 4, \"blocks\": [[8, 2], [8, 1]]}";

static double run_config_stop(const char *cfgpath, int resume, int stop_after)
{
    return zp_test_train_run(cfgpath, resume, stop_after);
}

static double run_config(const char *cfgpath, int resume)
{
    return zp_test_train_run(cfgpath, resume, 0);
}

/* The float model learns the synthetic task, and two runs with the same seed
 * write byte-identical models (fixed reduction order). */
static void test_learns_and_deterministic(void **state)
{
    (void)state;
    const char *dir = zp_test_train_data("train-det");
    char cfg[600], a[600], b[600];
    snprintf(cfg, sizeof cfg, "%s/mnet.json", dir);
    zp_test_train_config(cfg, dir, MNET, 8, NULL);
    double acc = run_config(cfg, 0);
    if (acc <= 0.9)
        print_error("accuracy %g\n", acc);
    assert_true(acc > 0.9); /* chance is 0.25 */
    snprintf(a, sizeof a, "%s/model.onnx", dir);
    snprintf(b, sizeof b, "%s/first.onnx", dir);
    assert_int_equal(rename(a, b), 0);
    double acc2 = run_config(cfg, 0);
    assert_true(acc2 == acc);
    assert_true(zp_test_files_equal(a, b));
}

/* Two epochs in one go == one epoch, then --resume for the second. */
static void test_resume_matches(void **state)
{
    (void)state;
    const char *dir = zp_test_train_data("train-resume");
    char c1[600], c2[600], a[600], b[600];
    snprintf(c2, sizeof c2, "%s/two.json", dir);
    zp_test_train_config(c2, dir, MLP, 2, NULL);
    run_config(c2, 0);
    snprintf(a, sizeof a, "%s/model.onnx", dir);
    snprintf(b, sizeof b, "%s/straight.onnx", dir);
    assert_int_equal(rename(a, b), 0);
    snprintf(a, sizeof a, "%s/model.ckpt", dir);
    remove(a);
    /* an interrupted run: stopped after epoch 1 (its checkpoint is what a killed
     * process leaves behind), then resumed */
    run_config_stop(c2, 0, 1);
    snprintf(c1, sizeof c1, "%s/model.onnx", dir);
    assert_null(zp_test_read_file(c1, NULL)); /* no model from an unfinished run */
    run_config(c2, 1);
    snprintf(a, sizeof a, "%s/model.onnx", dir);
    assert_true(zp_test_files_equal(a, b));
}

static void expect_config_error(const char *dir, const char *model, const char *extra,
                                const char *needle)
{
    char cfgpath[600];
    snprintf(cfgpath, sizeof cfgpath, "%s/bad.json", dir);
    zp_test_train_config(cfgpath, dir, model, 1, extra);
    static struct zp_train_config cfg;
    struct zp_err err;
    zp_err_clear(&err);
    enum zp_status st = zp_train_config_load(cfgpath, &cfg, &err);
    if (st == ZP_OK || !strstr(err.msg, needle) || !strstr(err.msg, "bad.json"))
        print_error("expected an error naming bad.json and '%s', got '%s'\n", needle, err.msg);
    assert_int_equal(st, ZP_ECONFIG);
    assert_non_null(strstr(err.msg, needle));
    assert_non_null(strstr(err.msg, "bad.json"));
}

static void test_config_errors(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("train-cfg");
    expect_config_error(dir, MLP, ", \"epochz\": 3", "epochz");
    expect_config_error(dir, MLP, ", \"batch\": 1", "batch");
    expect_config_error(dir, "{\"type\": \"resnet\"}", NULL, "model.type");
    expect_config_error(dir,
                        "{\"type\": \"mobilenet\", \"blocks\": [[8, 3]]}", NULL,
                        "model.blocks[0][1]");
    expect_config_error(dir, "{\"type\": \"mlp\", \"hidden\": [16], \"stem\": 0}", NULL,
                        "model.stem");
}

/* The command line: exit 2 on a config error, 0 and progress lines otherwise. */
static void test_harness_train(void **state)
{
    (void)state;
    const char *dir = zp_test_train_data("train-cli");
    char cfg[600];
    snprintf(cfg, sizeof cfg, "%s/mlp.json", dir);
    zp_test_train_config(cfg, dir, MLP, 1, ", \"bogus\": 1");
    char *out = NULL;
    int rc = zp_test_sh(&out, "%s train %s", zp_test_harness(), cfg);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "bogus"));
    free(out);
    zp_test_train_config(cfg, dir, MLP, 2, NULL);
    rc = zp_test_sh(&out, "%s train %s --out %s/cli.onnx", zp_test_harness(), cfg, dir);
    if (rc != 0)
        print_error("%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "epoch 2/2"));
    assert_non_null(strstr(out, "examples/s"));
    free(out);
    rc = zp_test_sh(&out, "%s train %s --out %s/cli.onnx --resume", zp_test_harness(), cfg, dir);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "resuming"));
    free(out);
}

/* The fake-quant op against finite differences. Its exact derivative is 0
 * almost everywhere (a staircase); over a step of several quantization levels
 * the staircase has slope ~1 inside the range and exactly 0 beyond it, which is
 * what the straight-through mask claims (1 inside, 0 outside). */
static void test_fake_quant_ste(void **state)
{
    (void)state;
    const struct zp_scheme *s = zp_scheme_find("linear4");
    /* x[0], x[1] = -4, 3 fix the fitted range; the others move inside it */
    assert_non_null(s);
    struct zp_scheme_config cfg;
    zp_scheme_config_defaults(&cfg, s);
    cfg.granularity = ZP_PER_TENSOR;
    enum { N = 8 };
    float x[N] = {-4.0f, 3.0f, 0.1f, -0.37f, 0.52f, 1.3f, -2.2f, 2.5f};
    float y[N], yp[N], ym[N];
    uint8_t mask[N], mk[N];
    int64_t shape[1] = {N};
    struct zp_err err;
    zp_err_clear(&err);
    assert_int_equal(zp_qat_fake_quant(&cfg, x, shape, 1, y, mask, &err), ZP_OK);
    /* the fit sees every value: take the levels from the result */
    float lo = 1e9f, hi = -1e9f;
    for (int i = 0; i < N; i++) {
        lo = fminf(lo, y[i]);
        hi = fmaxf(hi, y[i]);
    }
    const float step = (hi - lo) / 15.0f, h = 3.0f * step;
    for (int i = 0; i < N; i++) {
        /* move one element by +-h, keep the others (and so the fit's range) */
        float xp[N], xm[N];
        memcpy(xp, x, sizeof x);
        memcpy(xm, x, sizeof x);
        xp[i] += h;
        xm[i] -= h;
        if (i < 2) /* keep the extremes that set the range */
            continue;
        assert_int_equal(zp_qat_fake_quant(&cfg, xp, shape, 1, yp, mk, &err), ZP_OK);
        assert_int_equal(zp_qat_fake_quant(&cfg, xm, shape, 1, ym, mk, &err), ZP_OK);
        double fd = (yp[i] - ym[i]) / (2.0 * h);
        if (mask[i])
            assert_true(fabs(fd - 1.0) <= 1.0 / 3.0 + 1e-3); /* +-1 level over 6 levels */
    }
    for (int i = 0; i < N; i++) /* the fit covers every value: all inside */
        assert_int_equal(mask[i], 1);

    /* A fixed range [-1, 1] (the activation path): inside, slope ~1 and mask 1;
     * beyond the clip range, the FD is exactly 0 and the mask 0. */
    float v[6] = {-0.8f, -0.2f, 0.33f, 0.7f, 1.9f, -2.6f}, o[6], op[6], om[6];
    uint8_t m[6], mm[6];
    assert_int_equal(zp_qat_fake_quant_range(&cfg, -1.0f, 1.0f, v, 6, o, m, &err), ZP_OK);
    const float h2 = 3.0f * (2.0f / 15.0f);
    for (int i = 0; i < 6; i++) {
        float vp = v[i] + h2, vm = v[i] - h2;
        assert_int_equal(zp_qat_fake_quant_range(&cfg, -1.0f, 1.0f, &vp, 1, &op[i], mm, &err),
                         ZP_OK);
        assert_int_equal(zp_qat_fake_quant_range(&cfg, -1.0f, 1.0f, &vm, 1, &om[i], mm, &err),
                         ZP_OK);
        double fd = (op[i] - om[i]) / (2.0 * h2);
        if (i < 4) {
            assert_int_equal(m[i], 1);
            assert_true(fabs(fd - 1.0) <= 1.0 / 3.0 + 1e-3);
        } else {
            assert_int_equal(m[i], 0);
            assert_true(fd == 0.0);
        }
    }
}

/* End to end QAT on the synthetic task: float checkpoint -> linear4 per-channel
 * weights + 8-bit asymmetric activations; the exported model loads, the ranges
 * are ordered, the QAT model still solves the task. */
static void test_qat_finetune(void **state)
{
    (void)state;
    const char *dir = zp_test_train_data("train-qat");
    char cfgpath[600], ckpt[600], out[600];
    snprintf(cfgpath, sizeof cfgpath, "%s/mnet.json", dir);
    zp_test_train_config(cfgpath, dir, MNET, 8, NULL);
    run_config(cfgpath, 0);
    static struct zp_train_config cfg;
    struct zp_err err;
    zp_err_clear(&err);
    assert_int_equal(zp_train_config_load(cfgpath, &cfg, &err), ZP_OK);
    struct zp_dataset tr = {0}, te = {0};
    assert_int_equal(zp_dataset_load(&cfg.train_spec, &tr, &err), ZP_OK);
    assert_int_equal(zp_dataset_load(&cfg.test_spec, &te, &err), ZP_OK);
    struct zp_scheme_config w, a;
    zp_scheme_config_defaults(&w, zp_scheme_find("linear4"));
    w.granularity = ZP_PER_CHANNEL;
    zp_scheme_config_defaults(&a, zp_scheme_find("asymmetric"));
    snprintf(ckpt, sizeof ckpt, "%s/model.ckpt", dir);
    snprintf(out, sizeof out, "%s/qat.onnx", dir);
    struct zp_qat_options opt = {.checkpoint = ckpt, .output = out, .epochs = 1, .batch = 32,
                                 .lr = 0.01, .momentum = 0.9, .weight_decay = 1e-4, .seed = 5,
                                 .bn_freeze_steps = 5, .act_ema = 0.1, .weights = &w,
                                 .acts = &a, .train = &tr, .eval = &te, .quiet = 1};
    struct zp_qat_result res;
    enum zp_status st = zp_qat_finetune(&opt, &res, &err);
    if (st != ZP_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(st, ZP_OK);
    assert_true(res.float_top1 > 0.9);
    assert_true(res.qat_top1 > 0.8);
    struct zp_graph *g = NULL;
    assert_int_equal(zp_onnx_load(out, &g, &err), ZP_OK);
    assert_int_equal(zp_graph_num_layers(g), res.n_layers);
    assert_int_equal(res.n_layers, 1 + 2 * 2 + 1);
    for (int i = 0; i < res.n_layers; i++)
        assert_true(res.act_lo[i] < res.act_hi[i]);
    /* layers after a ReLU6 see inputs in [0, 6] */
    for (int i = 1; i < res.n_layers; i++)
        assert_true(res.act_lo[i] >= 0.0f && res.act_hi[i] <= 6.0f + 1e-4f);
    zp_graph_free(g);
    zp_dataset_free(&tr);
    zp_dataset_free(&te);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_learns_and_deterministic),
        cmocka_unit_test(test_resume_matches),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_harness_train),
        cmocka_unit_test(test_fake_quant_ste),
        cmocka_unit_test(test_qat_finetune),
    };
    return ZP_RUN_TESTS(t);
}
