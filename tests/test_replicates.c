/* Issue 16 in the harness: the replicates / statistics / select config keys; a
 * replicated run whose replicates use different seeds and whose rows carry the
 * replicate index; summary.csv recomputed from the prediction files alone; the
 * report marking non-significant differences; "best" variants chosen on the
 * select split, never on the evaluation set. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "plots/plot.h"
#include "plots/plot_int.h"
#include "plots/report.h"
#include "store/predictions.h"
#include "store/table.h"
#include "tests/plot_fixtures.h"
#include "tests/util.h"

#define FM "/usr/share/datasets/fashion-mnist/"

static enum zp_status parse(const char *text, struct zp_config *cfg, struct zp_err *err)
{
    return zp_config_parse(text, "t.json", NULL, cfg, err);
}

#define TENSORS "\"tensors\": {\"synthetic\": [{\"distribution\": \"gaussian\", \"n\": 64}]}"

static void test_config_keys(void **state)
{
    (void)state;
    struct zp_config cfg;
    struct zp_err err = {0};
    assert_int_equal(parse("{\"schemes\": [{\"scheme\": \"asymmetric\"}], " TENSORS "}", &cfg, &err), ZP_OK);
    assert_int_equal(cfg.replicates, 1);
    assert_int_equal(cfg.stats.resamples, 2000);
    assert_true(cfg.stats.level == 0.95);
    assert_true(cfg.stats.seed == 20260);
    assert_int_equal(cfg.stats.pairs_auto, 1);
    zp_config_free(&cfg);

    assert_int_equal(parse("{\"replicates\": 4, \"statistics\": {\"resamples\": 500, \"level\": 0.9, "
                           "\"seed\": 7, \"pairs\": \"none\"}, \"schemes\": [{\"scheme\": \"asymmetric\"}], " TENSORS
                           "}",
                           &cfg, &err),
                     ZP_OK);
    assert_int_equal(cfg.replicates, 4);
    assert_int_equal(cfg.stats.resamples, 500);
    assert_true(cfg.stats.level == 0.9);
    assert_true(cfg.stats.seed == 7);
    assert_int_equal(cfg.stats.pairs_auto, 0);
    zp_config_free(&cfg);

    /* bad values name the key */
    const char *bad[][2] = {
        {"{\"replicates\": 0, \"schemes\": [{\"scheme\": \"asymmetric\"}], " TENSORS "}", "replicates"},
        {"{\"statistics\": {\"level\": 2}, \"schemes\": [{\"scheme\": \"asymmetric\"}], " TENSORS "}",
         "statistics.level"},
        {"{\"statistics\": {\"resampels\": 10}, \"schemes\": [{\"scheme\": \"asymmetric\"}], " TENSORS "}",
         "resampels"},
        {"{\"statistics\": {\"pairs\": \"all\"}, \"schemes\": [{\"scheme\": \"asymmetric\"}], " TENSORS "}",
         "statistics.pairs"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(parse(bad[i][0], &cfg, &err), ZP_ECONFIG);
        if (!strstr(err.msg, bad[i][1]))
            fail_msg("%s: message '%s' does not name %s", bad[i][0], err.msg, bad[i][1]);
    }
}

static void test_select_needs_other_dataset(void **state)
{
    (void)state;
    if (access(FM "t10k-images-idx3-ubyte.gz", R_OK) != 0)
        skip();
    struct zp_config cfg;
    struct zp_err err = {0};
    const char *ds = "{\"format\": \"idx\", \"images\": \"" FM "t10k-images-idx3-ubyte.gz\", \"labels\": \"" FM
                     "t10k-labels-idx1-ubyte.gz\"}";
    char text[2048];
    /* no calibration_data: it would be the evaluation set */
    snprintf(text, sizeof text,
             "{\"schemes\": [{\"scheme\": \"asymmetric\"}], \"models\": [{\"path\": \"models/fashion_mobilenet.onnx\", "
             "\"eval\": %s, \"select\": {\"size\": 100}}]}",
             ds);
    assert_int_equal(parse(text, &cfg, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "models[0].select"));
    assert_non_null(strstr(err.msg, "eval"));
    /* calibration_data = the same files as eval: refused too */
    snprintf(text, sizeof text,
             "{\"schemes\": [{\"scheme\": \"asymmetric\"}], \"models\": [{\"path\": \"models/fashion_mobilenet.onnx\", "
             "\"eval\": %s, \"calibration_data\": %s, \"select\": {\"size\": 100}}]}",
             ds, ds);
    memset(&err, 0, sizeof err);
    assert_int_equal(parse(text, &cfg, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "select"));
    /* size is required */
    snprintf(text, sizeof text,
             "{\"schemes\": [{\"scheme\": \"asymmetric\"}], \"models\": [{\"path\": \"models/fashion_mobilenet.onnx\", "
             "\"eval\": %s, \"select\": {}}]}",
             ds);
    memset(&err, 0, sizeof err);
    assert_int_equal(parse(text, &cfg, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "select.size"));
}

/* Rows of a CSV column, as text. */
static const char *cell(const struct zp_table *t, size_t r, const char *col)
{
    return zp_table_str(t, r, zp_table_col(t, col));
}

static void test_replicated_run(void **state)
{
    (void)state;
    if (access(FM "train-images-idx3-ubyte.gz", R_OK) != 0)
        skip();
    const char *H = zp_test_harness();
    char d[1024], cfg[1200], text[4096], p[1400];
    snprintf(d, sizeof d, "%s", zp_test_tmpdir("replicates"));
    snprintf(cfg, sizeof cfg, "%s/r.json", d);
    snprintf(text, sizeof text,
             "{\"name\": \"r\", \"replicates\": 3, \"statistics\": {\"resamples\": 200},\n"
             " \"schemes\": [{\"scheme\": \"asymmetric\", \"bits\": 8, \"granularity\": [\"per-tensor\", "
             "\"per-channel\"]}],\n"
             " \"models\": [{\"path\": \"models/fashion_mobilenet.onnx\",\n"
             "   \"eval\": {\"format\": \"idx\", \"images\": \"" FM "t10k-images-idx3-ubyte.gz\", \"labels\": \"" FM
             "t10k-labels-idx1-ubyte.gz\", \"mean\": [72.94], \"std\": [90.0], \"limit\": 300},\n"
             "   \"calibration_data\": {\"format\": \"idx\", \"images\": \"" FM
             "train-images-idx3-ubyte.gz\", \"labels\": \"" FM
             "train-labels-idx1-ubyte.gz\", \"mean\": [72.94], \"std\": [90.0], \"limit\": 2000},\n"
             "   \"select\": {\"size\": 200},\n"
             "   \"modes\": [\"weights\", \"both\"], \"calibration\": {\"size\": 50}, \"batch\": 100,"
             " \"layer_stats_samples\": 100}]}\n");
    zp_test_write_file(cfg, text);
    char *out = NULL;
    int rc = zp_test_sh(&out, "%s run %s --out %s/o --quiet --no-plots", H, cfg, d);
    if (rc != 0)
        fail_msg("run: exit %d\n%s", rc, out);
    free(out);
    struct zp_table acc = {0}, lay = {0}, idx = {0}, sum = {0};
    struct zp_err err = {0};
    snprintf(p, sizeof p, "%s/o/accuracy.csv", d);
    assert_int_equal(zp_table_read(p, &acc, &err), ZP_OK);
    snprintf(p, sizeof p, "%s/o/layers.csv", d);
    assert_int_equal(zp_table_read(p, &lay, &err), ZP_OK);
    snprintf(p, sizeof p, "%s/o/predictions.csv", d);
    assert_int_equal(zp_table_read(p, &idx, &err), ZP_OK);
    snprintf(p, sizeof p, "%s/o/summary.csv", d);
    assert_int_equal(zp_table_read(p, &sum, &err), ZP_OK);
    /* accuracy.csv has replicate and select_top1 (later columns are appended after
     * them), layers.csv ends with replicate */
    assert_true(zp_table_col(&acc, "replicate") >= 0);
    assert_true(zp_table_col(&acc, "select_top1") == zp_table_col(&acc, "replicate") + 1);
    assert_string_equal(lay.header[lay.ncols - 1], "replicate");
    /* the float model's row, then: weights-only cells are deterministic: one run;
     * both cells: replicates 0, 1, 2 */
    assert_int_equal(acc.nrows, 1 + 2 * 1 + 2 * 3);
    assert_string_equal(cell(&acc, 0, "mode"), "float");
    int reps_seen[3] = {0};
    for (size_t i = 1; i < acc.nrows; i++) {
        int r = atoi(cell(&acc, i, "replicate"));
        assert_in_range(r, 0, 2);
        if (!strcmp(cell(&acc, i, "mode"), "weights"))
            assert_int_equal(r, 0);
        else
            reps_seen[r]++;
        assert_true(!isnan(zp_table_num(&acc, i, zp_table_col(&acc, "select_top1"))));
    }
    assert_int_equal(reps_seen[0], 2);
    assert_int_equal(reps_seen[1], 2);
    assert_int_equal(reps_seen[2], 2);
    /* the replicates' calibration subsets differ: the activation ranges (mode both,
     * per-tensor) of some layer differ between replicates 0, 1 and 2 (ReLU6 inputs
     * saturate at 6 whatever the subset, so all layers are compared) */
    double sum_rng[3] = {0, 0, 0};
    int nl[3] = {0, 0, 0};
    for (size_t i = 0; i < lay.nrows; i++)
        if (!strcmp(cell(&lay, i, "mode"), "both") && !strcmp(cell(&lay, i, "granularity"), "per-tensor")) {
            int r = atoi(cell(&lay, i, "replicate"));
            sum_rng[r] += 1e3 * zp_table_num(&lay, i, zp_table_col(&lay, "act_lo")) +
                          zp_table_num(&lay, i, zp_table_col(&lay, "act_hi"));
            nl[r]++;
        }
    assert_true(nl[0] > 0 && nl[0] == nl[1] && nl[1] == nl[2]);
    if (sum_rng[0] == sum_rng[1] && sum_rng[1] == sum_rng[2])
        fail_msg("the activation ranges are the same in every replicate: the calibration seed did not change");
    /* the index: deterministic flags, replicate counts */
    assert_int_equal(idx.nrows, 4);
    for (size_t i = 0; i < idx.nrows; i++) {
        int w = !strcmp(cell(&idx, i, "mode"), "weights");
        assert_string_equal(cell(&idx, i, "deterministic"), w ? "true" : "false");
        assert_int_equal(atoi(cell(&idx, i, "replicates")), w ? 1 : 3);
    }
    /* summary.csv: top1_mean is the mean of the cell's accuracy.csv rows */
    assert_int_equal(sum.nrows, 4);
    for (size_t s = 0; s < sum.nrows; s++) {
        double tot = 0;
        int k = 0;
        for (size_t i = 0; i < acc.nrows; i++)
            if (!strcmp(cell(&acc, i, "label"), cell(&sum, s, "label")) &&
                !strcmp(cell(&acc, i, "mode"), cell(&sum, s, "mode"))) {
                tot += zp_table_num(&acc, i, zp_table_col(&acc, "top1"));
                k++;
            }
        assert_true(k > 0);
        double m = zp_table_num(&sum, s, zp_table_col(&sum, "top1_mean"));
        if (fabs(m - tot / k) > 1e-9)
            fail_msg("%s: top1_mean %.9g, accuracy.csv mean %.9g", cell(&sum, s, "label"), m, tot / k);
        assert_int_equal(atoi(cell(&sum, s, "replicates")), k);
    }
    /* every column that tells cells apart is in the index and in summary.csv:
     * calib_size is the calibration size used (empty without calibration) */
    static const char *const ids[] = {"cell", "model", "dataset", "scheme", "label", "bits", "granularity",
                                      "mode", "calibration", "calib_size", "nudge_zero", "variant_key"};
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
        if (zp_table_col(&idx, ids[k]) < 0 || zp_table_col(&sum, ids[k]) < 0)
            fail_msg("column %s missing from predictions.csv or summary.csv", ids[k]);
    }
    for (size_t s = 0; s < sum.nrows; s++) {
        int w = !strcmp(cell(&sum, s, "mode"), "weights");
        assert_string_equal(cell(&sum, s, "calib_size"), w ? "" : "50");
        assert_string_equal(cell(&idx, s, "calib_size"), cell(&sum, s, "calib_size"));
        assert_string_equal(cell(&idx, s, "cell"), cell(&sum, s, "cell"));
    }
    /* and summary.csv's intervals reach the figures: each accuracy.csv row of a
     * cell finds exactly its summary.csv row */
    {
        struct zp_plot_run pr;
        memset(&pr, 0, sizeof pr);
        snprintf(p, sizeof p, "%s/o", d);
        assert_int_equal(zp_plot_run_load(&pr, p, &err), ZP_OK);
        for (size_t i = 1; i < pr.accuracy.nrows; i++) {
            long j = zp_plot_summary_row(&pr, &pr.accuracy, i);
            assert_true(j >= 0);
            assert_string_equal(cell(&pr.summary, (size_t)j, "label"), cell(&pr.accuracy, i, "label"));
            assert_string_equal(cell(&pr.summary, (size_t)j, "mode"), cell(&pr.accuracy, i, "mode"));
        }
        zp_plot_run_free(&pr);
    }
    /* "layer_stats": false: no layers.csv rows, and every other result the same */
    {
        char cfg2[1300], text2[4096];
        snprintf(cfg2, sizeof cfg2, "%s/nostats.json", d);
        const char *key = "\"layer_stats_samples\": 100";
        const char *at = strstr(text, key);
        assert_non_null(at);
        snprintf(text2, sizeof text2, "%.*s\"layer_stats\": false%s", (int)(at - text), text, at + strlen(key));
        zp_test_write_file(cfg2, text2);
        rc = zp_test_sh(&out, "%s run %s --out %s/nostats --quiet --no-plots", H, cfg2, d);
        if (rc != 0)
            fail_msg("run without layer stats: exit %d\n%s", rc, out);
        free(out);
        struct zp_table acc2 = {0}, lay2 = {0};
        snprintf(p, sizeof p, "%s/nostats/accuracy.csv", d);
        assert_int_equal(zp_table_read(p, &acc2, &err), ZP_OK);
        snprintf(p, sizeof p, "%s/nostats/layers.csv", d);
        if (access(p, R_OK) == 0) {
            assert_int_equal(zp_table_read(p, &lay2, &err), ZP_OK);
            assert_int_equal(lay2.nrows, 0);
        }
        assert_true(lay.nrows > 0);
        assert_int_equal(acc2.nrows, acc.nrows);
        static const char *const same[] = {"label", "mode", "replicate", "top1", "agreement", "kl", "select_top1"};
        for (size_t i = 0; i < acc.nrows; i++)
            for (size_t k = 0; k < sizeof same / sizeof same[0]; k++)
                if (strcmp(cell(&acc, i, same[k]), cell(&acc2, i, same[k])))
                    fail_msg("row %zu, %s: %s with per-layer statistics, %s without", i, same[k],
                             cell(&acc, i, same[k]), cell(&acc2, i, same[k]));
        zp_table_free(&acc2);
        zp_table_free(&lay2);
    }
    /* a per-tensor vs per-channel pair per mode */
    snprintf(p, sizeof p, "%s/o/summary_pairs.csv", d);
    struct zp_table pairs = {0};
    assert_int_equal(zp_table_read(p, &pairs, &err), ZP_OK);
    assert_int_equal(pairs.nrows, 2);
    assert_string_equal(cell(&pairs, 0, "kind"), "granularity");
    zp_table_free(&pairs);

    /* recomputed from the prediction files alone: the same bytes */
    char *before = zp_test_read_file(p, NULL);
    snprintf(p, sizeof p, "%s/o/summary.csv", d);
    char *sum_before = zp_test_read_file(p, NULL);
    assert_int_equal(zp_test_sh(NULL, "rm %s/o/summary.csv %s/o/summary_pairs.csv", d, d), 0);
    snprintf(p, sizeof p, "%s/o", d);
    assert_int_equal(zp_summary_write(p, &err), ZP_OK);
    snprintf(p, sizeof p, "%s/o/summary.csv", d);
    char *sum_after = zp_test_read_file(p, NULL);
    snprintf(p, sizeof p, "%s/o/summary_pairs.csv", d);
    char *after = zp_test_read_file(p, NULL);
    assert_non_null(sum_after);
    assert_non_null(after);
    assert_string_equal(sum_before, sum_after);
    assert_string_equal(before, after);
    /* two shards merged: the same summary.csv, recomputed from the copied files */
    for (int k = 0; k < 2; k++) {
        rc = zp_test_sh(&out, "%s run %s --out %s/s%d --shard %d/2 --quiet --no-plots", H, cfg, d, k, k);
        if (rc != 0)
            fail_msg("shard %d: exit %d\n%s", k, rc, out);
        free(out);
    }
    rc = zp_test_sh(&out, "%s merge --out %s/m --no-plots %s/s0 %s/s1", H, d, d, d);
    if (rc != 0)
        fail_msg("merge: exit %d\n%s", rc, out);
    free(out);
    snprintf(p, sizeof p, "%s/m/summary.csv", d);
    char *merged = zp_test_read_file(p, NULL);
    assert_non_null(merged);
    assert_string_equal(merged, sum_before);
    free(merged);
    /* a changed prediction changes the summary; a broken file is refused, naming it */
    assert_int_equal(zp_test_sh(NULL, "cd %s/o/predictions && f=$(ls 0*.csv | tail -1) && "
                                      "sed -i '3s/,[01]$/,7/' $f",
                                d),
                     0);
    snprintf(p, sizeof p, "%s/o", d);
    memset(&err, 0, sizeof err);
    assert_int_equal(zp_summary_write(p, &err), ZP_EFORMAT);
    assert_non_null(strstr(err.msg, "predictions/"));
    free(before);
    free(after);
    free(sum_before);
    free(sum_after);
    zp_table_free(&acc);
    zp_table_free(&lay);
    zp_table_free(&idx);
    zp_table_free(&sum);
}

static void put_file(const char *dir, const char *name, const char *text)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    zp_test_write_file(p, text);
}

static void test_report_marks_not_significant(void **state)
{
    (void)state;
    char d[1024];
    snprintf(d, sizeof d, "%s", zp_test_tmpdir("sig"));
    put_file(d, "accuracy.csv",
          "model,label,scheme,bits,granularity,mode,calibration,calib_size,float_top1,top1,drop,replicate,select_top1\n"
          "m,A,asymmetric,8,per-tensor,both,minmax,10,0.9,0.89,1,0,0.80\n"
          "m,B,asymmetric,8,per-tensor,both,minmax,10,0.9,0.895,0.5,0,0.70\n");
    put_file(d, "summary.csv",
          "cell,model,dataset,scheme,label,bits,granularity,mode,calibration,deterministic,n_eval,replicates,"
          "drop_mean,drop_std,drop_lo,drop_hi,mcnemar_p,significant\n"
          "c1,m,d,asymmetric,A,8,per-tensor,both,minmax,false,1000,5,1.0,0.1,0.4,1.6,0.001,1\n"
          "c2,m,d,asymmetric,B,8,per-tensor,both,minmax,false,1000,5,0.5,0.1,-0.1,1.1,0.04,0\n"
          "c3,m,d,asymmetric,C,8,per-tensor,weights,none,true,1000,1,0.3,,0.1,0.5,0.2,0\n");
    struct zp_plot_run r;
    memset(&r, 0, sizeof r);
    struct zp_err err = {0};
    assert_int_equal(zp_plot_run_load(&r, d, &err), ZP_OK);
    struct zp_strbuf s = {0};
    zp_report_significance(&r, &s);
    assert_non_null(s.s);
    assert_non_null(strstr(s.s, "1 of 3 differ significantly from float"));
    assert_non_null(strstr(s.s, "A (mode both, calibration minmax): drop 1.00 points, 95 % interval [0.40, 1.60]"));
    assert_non_null(strstr(s.s, "**significant**"));
    assert_non_null(strstr(s.s, "B (mode both, calibration minmax): drop 0.50 points, 95 % interval [-0.10, 1.10], "
                                "McNemar p = 0.04 (largest over 5 replicates; seed std of the drop 0.10): not "
                                "significant (the interval includes 0)"));
    assert_non_null(strstr(s.s, "not significant (p > 0.05)"));
    zp_strbuf_free(&s);

    /* the finding picks the best 8-bit variant on select_top1 (A), not on top1 (B) */
    struct zp_strbuf f = {0};
    zp_report_findings(&r, &f);
    assert_non_null(f.s);
    if (!strstr(f.s, "chosen on the select split: **A"))
        fail_msg("findings:\n%s", f.s);
    zp_strbuf_free(&f);
    zp_plot_run_free(&r);

    /* without a select split: no selection, and it says so */
    put_file(d, "accuracy.csv",
          "model,label,scheme,bits,granularity,mode,calibration,calib_size,float_top1,top1,drop,replicate,select_top1\n"
          "m,A,asymmetric,8,per-tensor,both,minmax,10,0.9,0.89,1,0,\n"
          "m,B,asymmetric,8,per-tensor,both,minmax,10,0.9,0.895,0.5,0,\n");
    memset(&r, 0, sizeof r);
    assert_int_equal(zp_plot_run_load(&r, d, &err), ZP_OK);
    memset(&f, 0, sizeof f);
    zp_report_findings(&r, &f);
    assert_non_null(f.s);
    assert_non_null(strstr(f.s, "no select split is configured, so no best variant is chosen"));
    assert_null(strstr(f.s, "Best at 8"));
    zp_strbuf_free(&f);
    zp_plot_run_free(&r);
}

/* zp_plot_choose: replicates of one cell share the choice; the mean select_top1
 * decides; without select the first cell in file order. */
static int by_bits(const struct zp_table *t, size_t i, char *out, size_t n, const void *ctx)
{
    (void)ctx;
    snprintf(out, n, "%s", zp_table_str(t, i, zp_table_col(t, "bits")));
    return 1;
}

static void test_choose(void **state)
{
    (void)state;
    const char *csv = "model,label,mode,calibration,calib_size,bits,top1,select_top1\n"
                      "m,A,both,minmax,10,8,0.99,0.50\n"
                      "m,B,both,minmax,10,8,0.10,0.60\n"
                      "m,A,both,minmax,10,8,0.99,0.80\n"  /* A's mean 0.65 > B's 0.60 */
                      "m,B,both,minmax,10,8,0.10,0.60\n"
                      "m,C,both,minmax,10,4,0.50,0.10\n";
    struct zp_table t = {0};
    struct zp_err err = {0};
    assert_int_equal(zp_table_parse("t", csv, strlen(csv), &t, &err), ZP_OK);
    unsigned char keep[5];
    assert_int_equal(zp_plot_choose(&t, by_bits, NULL, keep), 1);
    const unsigned char want[5] = {1, 0, 1, 0, 1};
    assert_memory_equal(keep, want, 5);
    zp_table_free(&t);
    const char *csv2 = "model,label,mode,calibration,calib_size,bits,top1,select_top1\n"
                       "m,A,both,minmax,10,8,0.10,\n"
                       "m,B,both,minmax,10,8,0.99,\n";
    assert_int_equal(zp_table_parse("t", csv2, strlen(csv2), &t, &err), ZP_OK);
    assert_int_equal(zp_plot_choose(&t, by_bits, NULL, keep), 0);
    assert_int_equal(keep[0], 1); /* the first, not the higher top-1 */
    assert_int_equal(keep[1], 0);
    zp_table_free(&t);
}

/* The accuracy-against-throughput figure: one variant per scheme, chosen on the
 * select split, drawn at the mean top-1 of its replicates, and its caption says
 * so. Variant B has the higher top-1 on the evaluation set, A on the select split. */
static void test_acc_vs_throughput_selects(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("acc-speed-select");
    assert_int_equal(zp_test_sh(NULL, "cp %s/kernels.csv '%s'/", SAMPLE, dir), 0);
    put_file(dir, "accuracy.csv",
             "model,label,scheme,bits,granularity,mode,calibration,calib_size,float_top1,top1,drop,replicate,"
             "select_top1\n"
             "m,float,float,32,,float,none,,0.9,0.9,0,0,\n"
             "m,A,asymmetric,8,per-tensor,both,minmax,10,0.9,0.70,20,0,0.80\n"
             "m,A,asymmetric,8,per-tensor,both,minmax,10,0.9,0.72,18,1,0.82\n"
             "m,B,asymmetric,8,per-channel,both,minmax,10,0.9,0.88,2,0,0.60\n"
             "m,B,asymmetric,8,per-channel,both,minmax,10,0.9,0.89,1,1,0.61\n"
             "m,C,asymmetric,8,per-channel,weights,none,,0.9,0.95,-5,0,0.99\n");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    enum zp_status st = zp_plots_render(dir, &warn, &err);
    if (st != ZP_OK)
        fail_msg("zp_plots_render: %s", err.msg);
    char *dat = zp_tp_plots_file(dir, "accuracy_vs_throughput.dat");
    if (!dat)
        fail_msg("no accuracy_vs_throughput.dat");
    double x, y, lo, hi;
    assert_true(zp_tp_line_point(dat, "asymmetric", 0, &x, &y, &lo, &hi));
    /* A's mean (70 + 72) / 2, not B's 88.5 nor the weights-only C */
    if (!zp_test_close(y, 71.0, 1e-9))
        fail_msg("asymmetric drawn at %.9g %% top-1, want 71 (variant A, chosen on the select split)", y);
    free(dat);
    char path[4400];
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *md = zp_test_read_file(path, NULL);
    assert_non_null(md);
    const char *cap = strstr(md, "One point per scheme");
    assert_non_null(cap);
    assert_non_null(strstr(cap, "chosen on the select split"));
    free(md);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_select_needs_other_dataset),
        cmocka_unit_test(test_choose),
        cmocka_unit_test(test_acc_vs_throughput_selects),
        cmocka_unit_test(test_report_marks_not_significant),
        cmocka_unit_test(test_replicated_run),
    };
    return ZP_RUN_TESTS(t);
}
