/* The bench and train configs go through the shared JSON-path validator (errors
 * name the file and JSON path in the run config's format, duplicate keys are
 * refused, '@data/' resolves for train configs too); the key table behind
 * `harness help config` covers the docs; unknown flags get the nearest known one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/bench_config.h"
#include "config/keys.h"
#include "config/train_config.h"
#include "tests/util.h"

static const char *write_tmp(const char *name, const char *text)
{
    static char path[8][600];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", zp_test_tmpdir("cfg_readers"), name);
    zp_test_write_file(p, text);
    return p;
}

static void bench_error(const char *text, const char *want)
{
    const char *p = write_tmp("b.json", text);
    struct zp_bench_config cfg;
    struct zp_err err = {0};
    enum zp_status st = zp_bench_config_load(p, &cfg, &err);
    char full[800];
    snprintf(full, sizeof full, "%s: %s", p, want);
    if (st != ZP_ECONFIG || !strstr(err.msg, full))
        fail_msg("bench config %s\n  status %d, message: %s\n  wanted: %s", text, st, err.msg,
                 full);
}

static void test_bench_config(void **state)
{
    (void)state;
    struct zp_bench_config cfg;
    struct zp_err err = {0};
    assert_int_equal(zp_bench_config_load("configs/bench_quick.json", &cfg, &err), ZP_OK);
    assert_string_equal(cfg.name, "bench_quick");
    assert_int_equal(cfg.n_shapes, 1);
    assert_int_equal(cfg.shapes[0].m, 48);
    assert_int_equal(cfg.n_dw, 1);
    assert_int_equal(cfg.n_schemes, 4);
    assert_int_equal(cfg.n_isas, 2);
    assert_int_equal(cfg.isas[0], -1);
    assert_int_equal(cfg.anchors, ZP_ANCHOR_OPENBLAS | ZP_ANCHOR_ONEDNN);
    assert_int_equal(cfg.repetitions, 1);
    assert_true(cfg.min_time == 0.002);
    zp_bench_config_free(&cfg);
    assert_int_equal(zp_bench_config_load("configs/bench_mobilenet.json", &cfg, &err), ZP_OK);
    assert_true(cfg.n_shapes >= 4);
    zp_bench_config_free(&cfg);

    /* the run config's message format, not "near byte N" */
    bench_error("{\"shapes\": [\n{\"m\": 1,}]}", "invalid JSON at line 2");
    bench_error("{\"shapes\":[{\"m\":0,\"n\":1,\"k\":1}]}", "shapes[0].m: expected 1..65536, got 0");
    bench_error("{\"shapes\":[{\"m\":1,\"n\":1}]}", "shapes[0].k: missing");
    bench_error("{\"shapes\":[{\"m\":1,\"n\":1,\"k\":1}],\"threads\":[2,0]}",
                "threads[1]: expected 1..1024, got 0");
    bench_error("{\"shapes\":[{\"m\":1,\"n\":1,\"k\":1}],\"schemes\":[\"float\",\"int3\"]}",
                "schemes[1]: expected one of float, asymmetric, symmetric, no-128");
    bench_error("{\"shapes\":[{\"m\":1,\"n\":1,\"k\":1}],\"isa\":[\"sse9\"]}",
                "isa[0]: expected one of best, ref");
    bench_error("{\"shapes\":[{\"m\":1,\"n\":1,\"k\":1}],\"bogus\":1}",
                "bogus: unknown key (allowed: name, description, shapes, depthwise, schemes");
    bench_error("{\"shapes\":[{\"m\":1,\"n\":1,\"k\":1,\"k\":2}]}", "shapes[0].k: key given twice");
    bench_error("{\"shapes\":[{\"preset\":\"mobilenet_v1_pointwise\",\"m\":3}]}",
                "shapes[0]: give one of preset, square, model, or m + n + k");
    bench_error("{\"depthwise\":[{\"h\":8,\"w\":8,\"c\":8,\"stride\":3}]}",
                "depthwise[0].stride: expected 1..2, got 3");
    bench_error("{\"shapes\":[{\"square\":[4,\"x\"]}]}", "shapes[0].square[1]: expected an integer");
    bench_error("{\"shapes\":[{\"m\":1,\"n\":1,\"k\":1}],\"min_time\":0}", "min_time: expected");
}

static const char *train_text(const char *data, const char *extra)
{
    static char t[4096];
    snprintf(t, sizeof t,
             "{\"model\":{\"type\":\"mlp\",\"hidden\":[8]},\"data\":{%s},\"output\":\"o.onnx\"%s}",
             data, extra);
    return t;
}

static void train_error(const char *text, const char *want)
{
    const char *p = write_tmp("t.json", text);
    static struct zp_train_config cfg;
    struct zp_err err = {0};
    enum zp_status st = zp_train_config_load_root(p, "/tmp", &cfg, &err);
    char full[800];
    snprintf(full, sizeof full, "%s: %s", p, want);
    if (st != ZP_ECONFIG || !strstr(err.msg, full))
        fail_msg("train config %s\n  status %d, message: %s\n  wanted: %s", text, st, err.msg,
                 full);
}

#define FILES "\"train_images\":\"a\",\"train_labels\":\"b\",\"test_images\":\"c\",\"test_labels\":\"d\""

static void test_train_config(void **state)
{
    (void)state;
    static struct zp_train_config cfg;
    struct zp_err err = {0};
    /* '@data/' resolves against the root, as in run configs */
    char root[512]; /* zp_test_tmpdir's buffer is reused by write_tmp */
    snprintf(root, sizeof root, "%s", zp_test_tmpdir("cfg_train_root"));
    char f[600];
    const char *names[] = {"ti", "tl", "ei", "el"};
    for (int i = 0; i < 4; i++) {
        snprintf(f, sizeof f, "%s/%s", root, names[i]);
        zp_test_write_file(f, "x");
    }
    const char *p = write_tmp(
        "ok.json",
        train_text("\"train_images\":\"@data/ti\",\"train_labels\":\"@data/tl\",\"test_images\":"
                   "\"@data/ei\",\"test_labels\":\"@data/el\",\"mean\":0.5,\"std\":0.25,"
                   "\"scale\":0.00392156862745098",
                   ",\"qat\":{\"checkpoint\":\"c.ckpt\",\"weights\":{\"scheme\":\"asymmetric\","
                   "\"bits\":4,\"nudge_zero\":false},\"activations\":{\"scheme\":\"symmetric\","
                   "\"narrow_range\":true}}"));
    if (zp_train_config_load_root(p, root, &cfg, &err) != ZP_OK)
        fail_msg("%s", err.msg);
    snprintf(f, sizeof f, "%s/ti", root);
    assert_string_equal(cfg.train_images, f);
    assert_string_equal(cfg.train_spec.images, f);
    assert_string_equal(cfg.output, "o.onnx");
    /* the scheme object of every config: options reach the quantizer */
    assert_string_equal(cfg.qat.w.scheme->name, "asymmetric");
    assert_int_equal(cfg.qat.w.bits, 4);
    assert_true(zp_scheme_opt(&cfg.qat.w, "nudge_zero") == 0.0);
    assert_true(cfg.qat.has_acts && zp_scheme_opt(&cfg.qat.a, "narrow_range") == 1.0);
    /* scale: (p * scale - mean) / std, the scale carried to the dataset specs */
    assert_true(cfg.scale == 0.00392156862745098 && cfg.train_spec.scale == cfg.scale);
    assert_true(cfg.mean == 0.5f && cfg.std == 0.25f);
    /* the shipped configs still load, unchanged */
    assert_int_equal(zp_train_config_load("configs/train_mlp.json", &cfg, &err), ZP_OK);
    assert_true(cfg.mean == 72.94f && cfg.std == 90.0f);
    assert_int_equal(cfg.mlp.n_hidden, 2);

    train_error(train_text(FILES ",\"std\":0", ""), "data.std: expected 1e-06..1e+06, got 0");
    train_error(train_text(FILES ",\"mean\":1,\"mean\":2", ""), "data.mean: key given twice");
    train_error(train_text(FILES ",\"bogus\":1", ""), "data.bogus: unknown key (allowed: ");
    train_error(train_text(FILES, ",\"qat\":{\"checkpoint\":\"c\",\"weights\":{\"scheme\":"
                                  "\"asymmetric\",\"nudge\":1}}"),
                "qat.weights.nudge: unknown key for scheme 'asymmetric' (allowed: bits, "
                "granularity, axis, group_size, nudge_zero");
    train_error(train_text(FILES, ",\"qat\":{\"checkpoint\":\"c\",\"weights\":{\"scheme\":"
                                  "\"nope\"}}"),
                "qat.weights.scheme: unknown scheme \"nope\"");
}

/* The missing '@data/' file of a train config names the root (and is an I/O error). */
static void test_train_data_root(void **state)
{
    (void)state;
    static struct zp_train_config cfg;
    struct zp_err err = {0};
    const char *p = write_tmp("r.json", train_text("\"train_images\":\"@data/none\",\"train_labels"
                                                   "\":\"b\",\"test_images\":\"c\",\"test_labels"
                                                   "\":\"d\"",
                                                   ""));
    assert_int_equal(zp_train_config_load_root(p, "/tmp", &cfg, &err), ZP_EIO);
    assert_non_null(strstr(err.msg, "data.train_images: cannot open '/tmp/none'"));
    assert_non_null(strstr(err.msg, "the data root '/tmp' comes from --data"));
    zp_err_clear(&err);
    unsetenv("ZP_DATA");
    assert_int_equal(zp_train_config_load(p, &cfg, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "needs a data root: pass --data DIR or set ZP_DATA"));
}

/* issue 17.23: every key of the table is documented, and `harness help config`
 * prints the table (the keys the issue found missing among them). */
static void test_keys_documented(void **state)
{
    (void)state;
    char *run = zp_test_read_file("docs/config.md", NULL);
    char *train = zp_test_read_file("docs/training.md", NULL);
    assert_non_null(run);
    assert_non_null(train);
    for (size_t i = 0; i < zp_config_n_keys; i++) {
        const struct zp_config_key *k = &zp_config_keys[i];
        if (strcmp(k->key, "*") == 0)
            continue;
        char quoted[80];
        snprintf(quoted, sizeof quoted, "`%s`", k->key);
        const char *doc = strncmp(k->section, "train", 5) == 0 ? train : run;
        if (!strstr(doc, quoted))
            fail_msg("%s key %s is not in %s", k->section, quoted,
                     doc == train ? "docs/training.md" : "docs/config.md");
    }
    for (size_t i = 0; i < zp_config_n_keys; i++) {
        int found = 0;
        for (size_t s = 0; s < zp_config_n_sections; s++)
            found |= strcmp(zp_config_sections[s].name, zp_config_keys[i].section) == 0;
        if (!found)
            fail_msg("key %s: section %s has no title", zp_config_keys[i].key,
                     zp_config_keys[i].section);
    }
    free(run);
    free(train);
    char *out = NULL;
    assert_int_equal(zp_test_sh(&out, "%s help config", zp_test_harness()), 0);
    const char *want[] = {"quantize_at", "prune", "crop_recipe", "scale", "modes", "bias",
                          "weight_calibration", "min_time", "limit_train"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(out, want[i]))
            fail_msg("'harness help config' does not list %s", want[i]);
    free(out);
}

/* issue 17.24: an unknown flag names the nearest known one, on every command. */
static void test_flag_hints(void **state)
{
    (void)state;
    const struct {
        const char *args, *hint;
    } cases[] = {
        {"run configs/mobilenet.json --thread 2", "did you mean --threads?"},
        {"train configs/train_mlp.json --thread 2", "did you mean --threads?"},
        {"bench configs/bench_quick.json --quite", "did you mean --quiet?"},
        {"list --plugn x.so", "did you mean --plugin?"},
        {"merge --out /nonexistent --no-plot a", "did you mean --no-plots?"},
        {"plot --hepl", "did you mean --help?"},
        {"inspect --hlep", "did you mean --help?"},
        {"run configs/mobilenet.json --limit=5", "write '--limit VALUE'"},
        {"rnu", "did you mean 'run'?"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *out = NULL;
        int rc = zp_test_sh(&out, "%s %s", zp_test_harness(), cases[i].args);
        if (rc != 2 || !strstr(out, cases[i].hint))
            fail_msg("harness %s: exit %d, output:\n%s\nwanted: %s", cases[i].args, rc, out,
                     cases[i].hint);
        free(out);
    }
    char *out = NULL;
    assert_int_equal(zp_test_sh(&out, "%s run configs/mobilenet.json --zzzzzz", zp_test_harness()),
                     2);
    assert_null(strstr(out, "did you mean")); /* nothing close: no guess */
    free(out);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_bench_config),     cmocka_unit_test(test_train_config),
        cmocka_unit_test(test_train_data_root),  cmocka_unit_test(test_keys_documented),
        cmocka_unit_test(test_flag_hints),
    };
    return ZP_RUN_TESTS(t);
}
