/* Config loading: sweeps expand as documented, and every kind of bad input is an
 * error that names the file and the JSON path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
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
    /* Activations default to the same scheme, per tensor. */
    assert_int_equal(cfg.variants[3].a.granularity, ZP_PER_TENSOR);
    assert_ptr_equal(cfg.variants[3].a.scheme, cfg.variants[3].w.scheme);
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
    char imagenet[512];
    snprintf(imagenet, sizeof imagenet, "%s/imagenet", root ? root : "/tmp");
    int checked = 0;
    for (char *save = NULL, *f = strtok_r(list, "\n", &save); f; f = strtok_r(NULL, "\n", &save)) {
        if (strstr(f, "bench") || strstr(f, "train"))
            continue; /* other readers: harness bench / harness train */
        struct zp_config cfg;
        struct zp_err err = {0};
        struct zp_config_env env = {.data_root = imagenet};
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

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_sweep_expands),
        cmocka_unit_test(test_errors_name_file_and_path),
        cmocka_unit_test(test_model_section),
        cmocka_unit_test(test_data_root),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_shipped_configs),
    };
    return ZP_RUN_TESTS(t);
}
