/* Config loading: sweeps expand as documented, and every kind of bad input is an
 * error that names the file and the JSON path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "experiment/plan.h"
#include "tests/util.h"

/* The data root of these tests: a fresh folder holding the '@data/' files they name
 * ('@data/' paths must exist). */
static const char *data_root(void)
{
    static char root[512];
    if (!root[0]) {
        snprintf(root, sizeof root, "%s", zp_test_tmpdir("config_root"));
        char p[600];
        snprintf(p, sizeof p, "%s/i.gz", root);
        zp_test_write_file(p, "x");
    }
    return root;
}

static enum zp_status parse(const char *text, struct zp_config *cfg, struct zp_err *err)
{
    zp_err_clear(err);
    struct zp_config_env env = {.data_root = data_root()};
    return zp_config_parse(text, "configs/x.json", &env, cfg, err);
}

/* Asserts that `text` fails with ZP_ECONFIG and a message containing `want`. */
static void expect_error(const char *text, const char *want)
{
    struct zp_config cfg;
    struct zp_err err;
    enum zp_status st = parse(text, &cfg, &err);
    if (st != ZP_ECONFIG || !strstr(err.msg, want))
        fail_msg("config %s\n  status %d, message: %s\n  wanted: %s", text, st, err.msg, want);
}

#define SYN ",\"tensors\":{\"synthetic\":[{\"distribution\":\"gaussian\",\"n\":64}]}"

static void test_sweep_expands(void **state)
{
    (void)state;
    struct zp_config cfg;
    struct zp_err err;
    const char *text =
        "{\"schemes\":[{\"scheme\":\"asymmetric\",\"bits\":[4,8],"
        "\"granularity\":[\"per-tensor\",\"per-channel\"],\"nudge_zero\":[true,false]},"
        "{\"scheme\":\"binary\"}]" SYN "}";
    assert_int_equal(parse(text, &cfg, &err), ZP_OK);
    assert_int_equal(cfg.n_variants, 2 * 2 * 2 + 1);
    /* The last swept key varies fastest. */
    assert_int_equal(cfg.variants[0].w.bits, 4);
    assert_int_equal(cfg.variants[0].w.granularity, ZP_PER_TENSOR);
    int nz = zp_scheme_option_index(cfg.variants[0].w.scheme, "nudge_zero");
    assert_true(nz >= 0);
    assert_true(cfg.variants[0].w.opt[nz].num == 1.0);
    assert_true(cfg.variants[1].w.opt[nz].num == 0.0);
    assert_int_equal(cfg.variants[7].w.bits, 8);
    assert_int_equal(cfg.variants[7].w.granularity, ZP_PER_CHANNEL);
    assert_string_equal(cfg.variants[8].w.scheme->name, "binary");
    /* Activations default to asymmetric 8-bit per tensor whatever the weights
     * (issue 17 item 18: they used to inherit the weight scheme and its bits). */
    assert_int_equal(cfg.variants[3].a.granularity, ZP_PER_TENSOR);
    for (size_t i = 0; i < cfg.n_variants; i++) {
        assert_string_equal(cfg.variants[i].a.scheme->name, "asymmetric");
        assert_int_equal(cfg.variants[i].a.bits, 8);
        assert_int_equal(cfg.variants[i].a.granularity, ZP_PER_TENSOR);
    }
    /* ... and record their options for accuracy.csv's act_options */
    assert_non_null(strstr(cfg.variants[8].act_options, "nudge_zero=true"));
    assert_int_equal(cfg.n_synth, 1);
    assert_string_equal(cfg.name, "x");
    zp_config_free(&cfg);
}

static void test_errors_name_file_and_path(void **state)
{
    (void)state;
    expect_error("{\"schemes\":[{\"scheme\":\"binary\"},{\"scheme\":\"symmetric\"},"
                 "{\"scheme\":\"lut4\"},{\"scheme\":\"asymmetric\",\"bits\":12}]" SYN "}",
                 "configs/x.json: schemes[3].bits: expected 2..8, got 12");
    expect_error("{\"schemes\":[{\"scheme\":\"asymmetric\",\"bits\":[8,\"x\"]}]" SYN "}",
                 "configs/x.json: schemes[0].bits[1]: expected an integer");
    expect_error("{\"schemes\":[{\"scheme\":\"nonsense\"}]" SYN "}",
                 "schemes[0].scheme: unknown scheme \"nonsense\"");
    expect_error("{\"schemes\":[{\"scheme\":\"asymmetric\",\"nudge\":true}]" SYN "}",
                 "schemes[0].nudge: unknown key for scheme 'asymmetric'");
    expect_error("{\"schemes\":[{\"scheme\":\"asymmetric\",\"nudge_zero\":1}]" SYN "}",
                 "schemes[0].nudge_zero: expected true or false, got 1");
    expect_error("{\"schemes\":[{\"scheme\":\"asymmetric\"}],\"bogus\":1" SYN "}",
                 "configs/x.json: bogus: unknown key");
    expect_error("{\"schemes\":[{\"scheme\":\"asymmetric\",\"granularity\":\"per-row\"}]" SYN "}",
                 "schemes[0].granularity: expected one of per-tensor, per-channel, per-group");
    expect_error("{\"schemes\":[]" SYN "}", "schemes: expected an array");
    expect_error("{\"schemes\":[{\"scheme\":\"binary\"}]}", "nothing to run");
    expect_error("{\"schemes\":[{\"scheme\":\"binary\"}],\"tensors\":{\"synthetic\":"
                 "[{\"distribution\":\"cauchy\"}]}}",
                 "tensors.synthetic[0].distribution: expected one of uniform, gaussian");
    expect_error("{\"schemes\":[{\"scheme\":\"binary\"}],\"tensors\":{\"synthetic\":"
                 "[{\"distribution\":\"gaussian\",\"n\":10,\"channels\":3}]}}",
                 "n (10) must be a multiple of channels (3)");
    expect_error("{\"schemes\":[{\"scheme\":\"binary\"},{\"scheme\":\"binary\"}]" SYN "}",
                 "repeats schemes[0]");
    expect_error("{\"schemes\":[{\"scheme\":\"binary\"}]" SYN ",\"seed\":-1}",
                 "seed: expected 0..");
    expect_error("{\"schemes\":[{\"scheme\":\"binary\"}],\"name\":\"a/b\"" SYN "}",
                 "name: \"a/b\" must use only");
    expect_error("{\"schemes\": [\n{\"scheme\": \"binary\"},\n]}", "invalid JSON at line 3");
    expect_error("[1,2]", "expected a JSON object at the top level");
    expect_error("{\"schemes\":[{\"scheme\":\"lut4\",\"weight_calibration\":{\"method\":\"mse\"}}]"
                 SYN "}",
                 "schemes[0].weight_calibration: scheme 'lut4' fits its levels from the data");
    expect_error("{\"schemes\":[{\"scheme\":\"linear4\",\"granularity\":\"per-group\","
                 "\"weight_calibration\":{\"method\":\"percentile\"}}]" SYN "}",
                 "weight_calibration works per tensor or per channel");
    expect_error("{\"schemes\":[{\"scheme\":\"symmetric\",\"bias\":\"int8\"}]" SYN "}",
                 "schemes[0].bias: expected one of float, int32");
}

static void test_model_section(void **state)
{
    (void)state;
    struct zp_config cfg;
    struct zp_err err;
    const char *ok =
        "{\"schemes\":[{\"scheme\":\"asymmetric\"}],"
        "\"datasets\":{\"t\":{\"format\":\"idx\",\"images\":\"@data/i.gz\",\"labels\":\"l.gz\","
        "\"mean\":[10],\"std\":[20],\"limit\":5}},"
        "\"models\":[{\"path\":\"models/m.onnx\",\"eval\":\"t\",\"modes\":[\"weights\",\"both\"],"
        "\"calibration\":[{\"method\":\"kl\",\"size\":7},{\"method\":\"ema\"}],"
        "\"overrides\":[{\"layers\":[\"first\",-1],\"scheme\":\"symmetric\",\"bits\":8}]}]}";
    assert_int_equal(parse(ok, &cfg, &err), ZP_OK);
    assert_int_equal(cfg.n_models, 1);
    const struct zp_model_cfg *m = &cfg.models[0];
    assert_string_equal(m->name, "m");
    char want[600];
    snprintf(want, sizeof want, "%s/i.gz", data_root());
    assert_string_equal(m->eval.images, want); /* @data/ resolved against the root */
    assert_string_equal(m->eval.labels, "l.gz");
    assert_true(m->eval.spec.mean[0] == 10.0f && m->eval.spec.std[0] == 20.0f);
    assert_int_equal(m->eval.spec.limit, 5);
    assert_int_equal(m->modes, (1u << ZP_MODE_WEIGHTS) | (1u << ZP_MODE_BOTH));
    assert_int_equal(m->n_calib, 2);
    assert_string_equal(m->calib[0].method, "kl");
    assert_int_equal(m->calib[0].size, 7);
    assert_true(m->calib[1].ema_constant == 0.01);
    assert_int_equal(m->n_overrides, 1);
    assert_string_equal(m->overrides[0].layers[1], "#-1");
    assert_string_equal(m->overrides[0].w.scheme->name, "symmetric");
    assert_true(m->calib_data.present); /* defaults to the eval data */
    zp_config_free(&cfg);

    expect_error("{\"schemes\":[{\"scheme\":\"asymmetric\"}],\"models\":[{\"path\":\"m.onnx\","
                 "\"eval\":\"nope\"}]}",
                 "models[0].eval: no dataset named \"nope\"");
    expect_error("{\"schemes\":[{\"scheme\":\"asymmetric\"}],\"models\":[{\"path\":\"m.onnx\","
                 "\"eval\":{\"format\":\"idx\",\"images\":\"a\",\"labels\":\"b\"},"
                 "\"calibration\":{\"method\":\"median\"}}]}",
                 "models[0].calibration.method: expected one of minmax, ema, percentile, mse, kl");
    expect_error("{\"schemes\":[{\"scheme\":\"asymmetric\"}],\"models\":[{\"path\":\"m.onnx\","
                 "\"eval\":{\"format\":\"idx\",\"images\":\"a\",\"labels\":\"b\"},"
                 "\"modes\":[\"qat\"]}]}",
                 "mode \"qat\" needs \"train_data\"");
    expect_error("{\"schemes\":[{\"scheme\":\"asymmetric\"}],\"models\":[{\"path\":\"m.onnx\","
                 "\"eval\":{\"format\":\"images\",\"images\":\"a\",\"labels\":\"b\","
                 "\"resize\":100,\"size\":224}}]}",
                 "resize must be >= size");
}

static void test_data_root(void **state)
{
    (void)state;
    char out[256];
    struct zp_err err = {0};
    assert_int_equal(zp_resolve_data_path("@data/x", "/nonexistent-root", out, sizeof out, "w",
                                          &err),
                     ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "--data ('/nonexistent-root') is not a directory"));
    zp_err_clear(&err);
    setenv("ZP_DATA", "/tmp", 1);
    assert_int_equal(zp_resolve_data_path("@data/x", NULL, out, sizeof out, "w", &err), ZP_OK);
    assert_string_equal(out, "/tmp/x");
    setenv("ZP_DATA", "/nonexistent-env", 1);
    assert_int_equal(zp_resolve_data_path("@data/x", NULL, out, sizeof out, "w", &err),
                     ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "$ZP_DATA"));
    unsetenv("ZP_DATA");
    assert_int_equal(zp_resolve_data_path("plain/path", NULL, out, sizeof out, "w", &err), ZP_OK);
}

static void test_missing_file(void **state)
{
    (void)state;
    struct zp_config cfg;
    struct zp_err err = {0};
    assert_int_equal(zp_config_load("/nonexistent/c.json", NULL, &cfg, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "/nonexistent/c.json: cannot open"));
}

/* Every shipped config parses (with the shared data as data root when present). */
static void test_shipped_configs(void **state)
{
    (void)state;
    char *list = NULL;
    assert_int_equal(zp_test_sh(&list, "ls configs/*.json"), 0);
    const char *root = zp_test_shared_data();
    char imagenet[512], tinystories[512];
    snprintf(imagenet, sizeof imagenet, "%s/imagenet", root ? root : "/tmp");
    snprintf(tinystories, sizeof tinystories, "%s/tinystories", root ? root : "/tmp");
    int checked = 0;
    for (char *save = NULL, *f = strtok_r(list, "\n", &save); f; f = strtok_r(NULL, "\n", &save)) {
        if (strstr(f, "bench") || strstr(f, "train"))
            continue; /* other readers: harness bench / harness train */
        struct zp_config cfg;
        struct zp_err err = {0};
        /* each @data config names its data root's folder in its file name */
        char cifar10[512];
        snprintf(cifar10, sizeof cifar10, "%s/cifar10", root ? root : "/tmp");
        struct zp_config_env env = {.data_root = strstr(f, "cifar10")  ? cifar10
                                                 : strstr(f, "llama") ? tinystories
                                                                      : imagenet};
        enum zp_status st = zp_config_load(f, &env, &cfg, &err);
        if (st == ZP_ECONFIG && !root && strstr(err.msg, "@data/"))
            continue;
        if (st != ZP_OK)
            fail_msg("%s: %s", f, err.msg);
        zp_config_free(&cfg);
        checked++;
    }
    free(list);
    assert_true(checked >= 1);
}

/* issue 17.4: a key given twice in any object is an error naming its JSON path
 * (cJSON keeps both; the readers took the first or the last silently). */
static void test_duplicate_keys(void **state)
{
    (void)state;
    expect_error("{\"schemes\":[{\"scheme\":\"asymmetric\",\"bits\":8,\"bits\":4}]" SYN "}",
                 "configs/x.json: schemes[0].bits: key given twice");
    expect_error("{\"schemes\":[{\"scheme\":\"asymmetric\",\"activations\":{\"scheme\":"
                 "\"asymmetric\",\"bits\":8,\"bits\":7}}]" SYN "}",
                 "schemes[0].activations.bits: key given twice");
    expect_error("{\"schemes\":[{\"scheme\":\"binary\"}],\"datasets\":{"
                 "\"t\":{\"format\":\"idx\",\"images\":\"a\",\"labels\":\"b\"},"
                 "\"t\":{\"format\":\"idx\",\"images\":\"c\",\"labels\":\"d\"}}" SYN "}",
                 "configs/x.json: datasets.t: key given twice");
    expect_error("{\"seed\":1,\"schemes\":[{\"scheme\":\"binary\"}]" SYN ",\"seed\":2}",
                 "configs/x.json: seed: key given twice");
    expect_error("{\"schemes\":[{\"scheme\":\"binary\"}],\"tensors\":{\"synthetic\":"
                 "[{\"distribution\":\"gaussian\"},{\"distribution\":\"gaussian\",\"n\":64,"
                 "\"n\":32}]}}",
                 "tensors.synthetic[1].n: key given twice");
}

/* issue 17.23: the unknown-key message of a scheme entry lists every entry key. */
static void test_unknown_key_lists_all(void **state)
{
    (void)state;
    struct zp_config cfg;
    struct zp_err err;
    assert_int_equal(parse("{\"schemes\":[{\"scheme\":\"asymmetric\",\"nudge\":true}]" SYN "}",
                           &cfg, &err),
                     ZP_ECONFIG);
    const char *want[] = {"bits", "granularity", "axis", "group_size", "label", "bias_correction",
                          "bias", "weight_calibration", "activations", "qat", "modes",
                          "nudge_zero"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(err.msg, want[i]))
            fail_msg("'%s' missing from: %s", want[i], err.msg);
}

/* issue 17.19: "modes" per scheme entry replaces the model's for that entry. */
static void test_modes_per_entry(void **state)
{
    (void)state;
    struct zp_config cfg;
    struct zp_err err;
    const char *text =
        "{\"schemes\":[{\"scheme\":\"asymmetric\",\"modes\":[\"both\",\"weights\"]},"
        "{\"scheme\":\"binary\"}],"
        "\"models\":[{\"path\":\"m.onnx\",\"eval\":{\"format\":\"idx\",\"images\":\"a\","
        "\"labels\":\"b\"},\"modes\":[\"weights\"]}]}";
    assert_int_equal(parse(text, &cfg, &err), ZP_OK);
    assert_int_equal(cfg.variants[0].modes, (1u << ZP_MODE_WEIGHTS) | (1u << ZP_MODE_BOTH));
    assert_int_equal(cfg.variants[1].modes, 0u);
    struct zp_plan plan;
    assert_int_equal(zp_plan_build(&cfg, NULL, &plan, &err), ZP_OK);
    int n[2][ZP_N_MODES] = {{0}};
    for (size_t i = 0; i < plan.n; i++)
        if (plan.cells[i].kind == ZP_CELL_MODEL)
            n[plan.cells[i].variant][plan.cells[i].mode]++;
    assert_int_equal(n[0][ZP_MODE_WEIGHTS], 1);
    assert_int_equal(n[0][ZP_MODE_BOTH], 1);
    assert_int_equal(n[1][ZP_MODE_WEIGHTS], 1);
    assert_int_equal(n[1][ZP_MODE_BOTH], 0);
    zp_plan_free(&plan);
    zp_config_free(&cfg);
    /* a mode "qat" asked for by an entry needs the model's training inputs */
    expect_error("{\"schemes\":[{\"scheme\":\"asymmetric\",\"modes\":[\"qat\"]}],"
                 "\"models\":[{\"path\":\"m.onnx\",\"eval\":{\"format\":\"idx\",\"images\":\"a\","
                 "\"labels\":\"b\"}}]}",
                 "schemes[0].modes: mode \"qat\" needs \"train_data\" in models[0]");
    expect_error("{\"schemes\":[{\"scheme\":\"asymmetric\",\"modes\":[\"all\"]}]" SYN "}",
                 "schemes[0].modes[0]: expected one of weights, activations, both, qat, integer");
}

/* issue 17.17: scale applies before mean and std; the default keeps them as given. */
static void test_dataset_scale(void **state)
{
    (void)state;
    struct zp_config cfg;
    struct zp_err err;
    const char *text =
        "{\"schemes\":[{\"scheme\":\"binary\"}],\"datasets\":{"
        "\"a\":{\"format\":\"idx\",\"images\":\"a\",\"labels\":\"b\",\"mean\":[72.94],"
        "\"std\":[90.0]},"
        "\"t\":{\"format\":\"images\",\"images\":\"a\",\"labels\":\"b\",\"scale\":0.00392156862745098,"
        "\"mean\":[0.485,0.456,0.406],\"std\":[0.229,0.224,0.225]}},"
        "\"models\":[{\"path\":\"m.onnx\",\"eval\":\"a\",\"calibration_data\":\"t\"}]}";
    assert_int_equal(parse(text, &cfg, &err), ZP_OK);
    const struct zp_dataset_cfg *a = &cfg.models[0].eval, *t = &cfg.models[0].calib_data;
    assert_true(a->scale == 1.0);
    assert_true(a->spec.mean[0] == 72.94f && a->spec.std[0] == 90.0f); /* bit-identical */
    assert_true(t->scale == 0.00392156862745098);
    /* the spec carries the scale (data/ applies it exactly): (p * scale - mean) / std at
     * p = 200, mean and std as given */
    assert_true(t->spec.scale == 0.00392156862745098 && a->spec.scale == 1.0);
    for (int k = 0; k < 3; k++) {
        const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
        assert_true(t->spec.mean[k] == mean[k] && t->spec.std[k] == sd[k]);
        float want = (200.0f / 255.0f - mean[k]) / sd[k]; /* torchvision's float steps */
        assert_true(zp_dataset_normalize(&t->spec, k, 200.0f) == want);
    }
    zp_config_free(&cfg);
    expect_error("{\"schemes\":[{\"scheme\":\"binary\"}],\"models\":[{\"path\":\"m.onnx\","
                 "\"eval\":{\"format\":\"npy\",\"images\":\"a\",\"labels\":\"b\",\"scale\":2}}]}",
                 "models[0].eval.scale: applies to 8-bit pixels");
    expect_error("{\"schemes\":[{\"scheme\":\"binary\"}],\"models\":[{\"path\":\"m.onnx\","
                 "\"eval\":{\"format\":\"idx\",\"images\":\"a\",\"labels\":\"b\",\"scale\":0}}]}",
                 "models[0].eval.scale: expected 1e-12..1e+12, got 0");
}

/* issue 17.7: a plugin that is not a shared object is a config error (exit 2). */
static void test_plugin_not_shared_object(void **state)
{
    (void)state;
    struct zp_config cfg;
    struct zp_err err = {0};
    struct zp_config_env env = {.data_root = data_root()};
    const char *text = "{\"plugins\":[\"configs/mobilenet.json\"],\"schemes\":[{\"scheme\":"
                       "\"binary\"}]" SYN "}";
    assert_int_equal(zp_config_parse(text, "configs/x.json", &env, &cfg, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "configs/x.json: plugins[0]: plugin configs/mobilenet.json: "
                                    "not a shared object"));
    const char *dir = zp_test_tmpdir("cfg_plugin");
    char p[600];
    snprintf(p, sizeof p, "%s/c.json", dir);
    zp_test_write_file(p, text);
    char *out = NULL;
    int rc = zp_test_sh(&out, "%s run %s --out %s/out --quiet", zp_test_harness(), p, dir);
    if (rc != 2)
        fail_msg("exit %d, wanted 2: %s", rc, out ? out : "");
    free(out);
}

/* issue 17.14: a config that is not a regular file (a FIFO without a writer hung the
 * reader) is refused by name, at once. */
static void test_fifo_config(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("cfg_fifo");
    char p[600];
    snprintf(p, sizeof p, "%s/c.json", dir);
    assert_int_equal(mkfifo(p, 0600), 0);
    alarm(20); /* before the fix this blocked in open(): fail instead of hanging */
    struct zp_config cfg;
    struct zp_err err = {0};
    assert_int_equal(zp_config_load(p, NULL, &cfg, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "not a regular file (a FIFO)"));
    zp_err_clear(&err);
    assert_int_equal(zp_config_load(dir, NULL, &cfg, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "not a regular file (a directory)"));
    alarm(0);
}

/* issue 17.15: no default data root; a missing '@data/' file names the root used. */
static void test_data_root_messages(void **state)
{
    (void)state;
    char out[256];
    struct zp_err err = {0};
    unsetenv("ZP_DATA");
    assert_int_equal(zp_resolve_data_path("@data/x", NULL, out, sizeof out, "w", &err),
                     ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "w: '@data/x' needs a data root: pass --data DIR or set "
                                    "ZP_DATA"));
    struct zp_config cfg;
    zp_err_clear(&err);
    assert_int_equal(parse("{\"schemes\":[{\"scheme\":\"binary\"}],\"models\":[{\"path\":"
                           "\"@data/missing.onnx\",\"eval\":{\"format\":\"idx\",\"images\":\"a\","
                           "\"labels\":\"b\"}}]}",
                           &cfg, &err),
                     ZP_EIO);
    char want[700];
    snprintf(want, sizeof want, "the data root '%s' comes from --data", data_root());
    if (!strstr(err.msg, "configs/x.json: models[0].path: cannot open") || !strstr(err.msg, want))
        fail_msg("%s", err.msg);
    setenv("ZP_DATA", data_root(), 1);
    zp_err_clear(&err);
    assert_int_equal(zp_resolve_data_path("@data/y", NULL, out, sizeof out, "w", &err), ZP_OK);
    assert_int_equal(zp_check_data_path("@data/y", out, NULL, "w", &err), ZP_EIO);
    assert_non_null(strstr(err.msg, "comes from $ZP_DATA"));
    unsetenv("ZP_DATA");
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_sweep_expands),
        cmocka_unit_test(test_errors_name_file_and_path),
        cmocka_unit_test(test_model_section),
        cmocka_unit_test(test_data_root),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_shipped_configs),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_unknown_key_lists_all),
        cmocka_unit_test(test_modes_per_entry),
        cmocka_unit_test(test_dataset_scale),
        cmocka_unit_test(test_plugin_not_shared_object),
        cmocka_unit_test(test_fifo_config),
        cmocka_unit_test(test_data_root_messages),
    };
    return ZP_RUN_TESTS(t);
}
