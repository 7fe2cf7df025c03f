/* The "rounding" settings of a scheme entry (config/sweep.c): parsed, swept,
 * defaulted, bad values refused naming the JSON path; and, with the shared
 * ImageNet data, a whole run of the MobileNet v1 0.25 at 4 bits per channel on
 * a slice of it, where GPTQ and AdaRound must bring the quantized logits closer
 * to the float model's than rounding to nearest does (skips without the data). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "store/table.h"
#include "tests/util.h"

static enum zp_status parse(const char *text, struct zp_config *cfg, struct zp_err *err)
{
    zp_err_clear(err);
    struct zp_config_env env = {.data_root = "."};
    return zp_config_parse(text, "configs/x.json", &env, cfg, err);
}

#define SYN ",\"tensors\":{\"synthetic\":[{\"distribution\":\"gaussian\",\"n\":64}]}"

static void test_rounding_parsed_and_swept(void **state)
{
    (void)state;
    struct zp_config cfg;
    struct zp_err err;
    const char *text =
        "{\"schemes\":[{\"scheme\":\"linear4\",\"granularity\":\"per-channel\","
        "\"rounding\":[\"nearest\",\"gptq\",\"adaround\"],"
        "\"rounding_options\":{\"examples\":64,\"act_order\":false,\"dampening\":0.1,"
        "\"iterations\":50}},"
        "{\"scheme\":\"asymmetric\",\"bits\":4}]" SYN "}";
    if (parse(text, &cfg, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(cfg.n_variants, 4);
    assert_int_equal(cfg.variants[0].rounding, ZP_ROUND_NEAREST);
    assert_int_equal(cfg.variants[1].rounding, ZP_ROUND_GPTQ);
    assert_int_equal(cfg.variants[2].rounding, ZP_ROUND_ADAROUND);
    assert_non_null(strstr(cfg.variants[1].label, "gptq"));
    assert_non_null(strstr(cfg.variants[2].label, "adaround"));
    const struct zp_rounding_opts *o = &cfg.variants[1].rounding_opts;
    assert_int_equal(o->examples, 64);
    assert_int_equal(o->act_order, 0);
    assert_true(o->dampening == 0.1);
    assert_int_equal(o->iterations, 50);
    assert_int_equal(o->block_size, 128); /* not given: the default */
    /* the entry without the keys: nearest, every default */
    assert_int_equal(cfg.variants[3].rounding, ZP_ROUND_NEAREST);
    assert_int_equal(cfg.variants[3].rounding_opts.examples, 256);
    assert_true(cfg.variants[3].rounding_opts.lambda == 0.01);
    zp_config_free(&cfg);
}

static void expect_error(const char *entry, const char *want)
{
    char text[1024];
    snprintf(text, sizeof text, "{\"schemes\":[%s]" SYN "}", entry);
    struct zp_config cfg;
    struct zp_err err;
    enum zp_status st = parse(text, &cfg, &err);
    if (st != ZP_ECONFIG || !strstr(err.msg, want))
        fail_msg("config %s\n  status %d, message: %s\n  wanted: %s", text, st, err.msg, want);
}

static void test_bad_rounding(void **state)
{
    (void)state;
    expect_error("{\"scheme\":\"asymmetric\",\"rounding\":\"brecq\"}", "schemes[0].rounding");
    expect_error("{\"scheme\":\"asymmetric\",\"rounding\":[\"gptq\",\"obq\"]}",
                 "schemes[0].rounding[1]");
    expect_error("{\"scheme\":\"asymmetric\",\"rounding_options\":{\"damping\":0.1}}",
                 "schemes[0].rounding_options");
    expect_error("{\"scheme\":\"asymmetric\",\"rounding_options\":{\"examples\":0}}",
                 "schemes[0].rounding_options.examples");
    expect_error("{\"scheme\":\"asymmetric\",\"rounding_options\":{\"warm_start\":2}}",
                 "schemes[0].rounding_options.warm_start");
    expect_error("{\"scheme\":\"asymmetric\",\"rounding_options\":[1]}",
                 "schemes[0].rounding_options");
}

/* The column of a row whose `rounding` is `r` (mode weights). */
static double column_of(const struct zp_table *t, const char *r, const char *col)
{
    int cr = zp_table_col(t, "rounding"), cm = zp_table_col(t, "mode"), cc = zp_table_col(t, col);
    assert_true(cr >= 0 && cm >= 0 && cc >= 0);
    for (size_t i = 0; i < t->nrows; i++)
        if (strcmp(zp_table_str(t, i, cr), r) == 0 && strcmp(zp_table_str(t, i, cm), "weights") == 0)
            return zp_table_num(t, i, cc);
    fail_msg("no weights row with rounding %s", r);
    return NAN;
}

static void test_mobilenet_slice(void **state)
{
    (void)state;
    const char *data = zp_test_shared_data();
    char model[1024];
    snprintf(model, sizeof model, "%s/imagenet/models/mobilenet_v1_0.25_224.onnx", data ? data : "");
    FILE *f = data ? fopen(model, "rb") : NULL;
    if (!f) {
        print_message("skipped: no ImageNet MobileNet under the shared data (%s)\n",
                      data ? data : "not found");
        skip();
    }
    fclose(f);
    const char *dir = zp_test_tmpdir("ptq_round");
    char cfgpath[1200], out[1200];
    snprintf(cfgpath, sizeof cfgpath, "%s/ptq.json", dir);
    snprintf(out, sizeof out, "%s/run", dir);
    char text[4096];
    snprintf(text, sizeof text,
             "{\"name\":\"ptq_slice\",\"seed\":1,\"schemes\":[{\"scheme\":\"asymmetric\",\"bits\":4,"
             "\"granularity\":\"per-channel\",\"rounding\":[\"nearest\",\"gptq\",\"adaround\"],"
             "\"rounding_options\":{\"examples\":32,\"iterations\":100,\"rows\":1024}}],"
             "\"models\":[{\"name\":\"mnv1\",\"path\":\"%s\",\"eval\":{\"format\":\"images\","
             "\"images\":\"%s/imagenet/imagenet_sample_train_1k\",\"labels\":\"%s/imagenet/labels/"
             "sample_train_1k.csv\",\"channels\":3,\"resize_mode\":\"crop\",\"resize\":256,"
             "\"size\":224,\"mean\":[127.5],\"std\":[127.5],\"limit\":64},"
             "\"modes\":[\"weights\"],\"calibration\":{\"method\":\"minmax\",\"size\":32},"
             "\"batch\":32,\"layer_stats_samples\":32}]}",
             model, data, data);
    zp_test_write_file(cfgpath, text);
    char *log = NULL;
    int rc = zp_test_sh(&log, "%s run %s --out %s --force --no-plots --quiet 2>&1",
                        zp_test_harness(), cfgpath, out);
    if (rc != 0)
        fail_msg("harness run failed (%d): %s", rc, log ? log : "");
    free(log);
    char csv[1300];
    snprintf(csv, sizeof csv, "%s/accuracy.csv", out);
    struct zp_table t;
    struct zp_err err = {0};
    if (zp_table_read(csv, &t, &err))
        fail_msg("%s", err.msg);
    double near = column_of(&t, "nearest", "logit_sqnr_db");
    double gptq = column_of(&t, "gptq", "logit_sqnr_db");
    double ada = column_of(&t, "adaround", "logit_sqnr_db");
    print_message("logit SQNR on 64 images, 4-bit asymmetric per-channel weights: nearest %.2f dB, "
                  "GPTQ %.2f dB, AdaRound %.2f dB\n",
                  near, gptq, ada);
    assert_true(gptq > near + 1.0);
    assert_true(ada > near + 1.0);
    zp_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounding_parsed_and_swept),
        cmocka_unit_test(test_bad_rounding),
        cmocka_unit_test(test_mobilenet_slice),
    };
    return ZP_RUN_TESTS(tests);
}
