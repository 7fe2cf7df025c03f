/* Figures and report (plots/plot.h, plots/report.h) on the hand-written
 * sample run folder tests/data/run_sample: every expected figure exists in PNG,
 * SVG, PDF with its script; derived numbers match values worked out by hand
 * from the sample CSVs; the report lists every figure; `harness plot` exit
 * codes; a user's style.gp survives a rerun; the report loads in a browser. */
#include "tests/util.h"
#include "tests/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plots/plot_int.h"
#include "tests/plot_fixtures.h"

static void test_render_sample(void **state)
{
    (void)state;
    if (!zp_tp_have_gnuplot())
        skip();
    const char *dir = zp_tp_sample_copy("plots");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    enum zp_status st = zp_plots_render(dir, &warn, &err);
    if (st != ZP_OK)
        fail_msg("zp_plots_render: %s", err.msg);
    if (warn.n)
        fail_msg("unexpected warning: %s", warn.msg[0]);
    assert_true(warn.nfigs == zp_tp_n_figs && warn.nrendered == zp_tp_n_figs);
    char path[4400];
    snprintf(path, sizeof path, "%s/report.html", dir);
    char *html = zp_test_read_file(path, NULL);
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *md = zp_test_read_file(path, NULL);
    assert_non_null(html);
    assert_non_null(md);
    for (size_t i = 0; i < zp_tp_n_figs; i++) {
        const char *f = zp_tp_all_figs[i];
        static const char *const exts[] = {"png", "svg", "pdf", "gp"};
        for (size_t e = 0; e < 4; e++)
            if (zp_tp_file_size(dir, f, exts[e]) <= 0)
                fail_msg("plots/%s.%s missing or empty", f, exts[e]);
        char needle[256];
        snprintf(needle, sizeof needle, "<img src=\"plots/%s.png\"", f);
        if (!strstr(html, needle))
            fail_msg("report.html does not embed %s", needle);
        snprintf(needle, sizeof needle, "(plots/%s.png)", f);
        if (!strstr(md, needle))
            fail_msg("report.md does not show %s", needle);
        /* a real PNG, not a stub */
        snprintf(path, sizeof path, "%s/plots/%s.png", dir, f);
        size_t len = 0;
        char *png = zp_test_read_file(path, &len);
        assert_true(len > 1000 && memcmp(png, "\x89PNG", 4) == 0);
        free(png);
    }
    /* scripts read the shared style and only relative paths */
    char *gp = zp_tp_plots_file(dir, "tensors_sqnr.gp");
    assert_non_null(strstr(gp, "load 'style.gp'"));
    assert_null(strstr(gp, dir));
    free(gp);
    /* tables and configuration are in the report */
    assert_non_null(strstr(html, "AMD EPYC 9R14 (sample)"));
    assert_non_null(strstr(html, "gcc 12.2.0"));
    assert_non_null(strstr(html, "<td>bin_gemm</td>"));
    assert_non_null(strstr(md, "| lut4 4b per-channel kmeans |"));
    /* headline findings, worked out by hand from the sample CSVs: the sample has
     * no select split (no select_top1), so no best variant is chosen on the
     * evaluation set (issue 16); the 8-bit and 4-bit PTQ (mode both) ranges */
    assert_non_null(strstr(md, "At 8 bits (PTQ, mode both): no select split is configured, so no best variant"));
    assert_non_null(strstr(md, "top-1 ranges from 69.00% (asymmetric 8b per-tensor nudge=false) to 70.88% "
                               "(symmetric 8b per-channel)"));
    assert_non_null(strstr(md, "from 62.00% (linear4 4b per-channel) to 66.80% (lut4 4b per-channel kmeans)"));
    /* lowest SQNR row of layers.csv: linear4 on conv2_dw, 8.5 dB */
    assert_non_null(strstr(md, "layer **conv2_dw** (Conv) under linear4 4b per-channel"));
    assert_non_null(strstr(md, "8.50 dB"));
    free(html);
    free(md);
}

static void test_derived_values(void **state)
{
    (void)state;
    if (!zp_tp_have_gnuplot())
        skip();
    const char *dir = zp_tp_sample_copy("plots-dat");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);

    /* symmetric on gaussian: two synthetic tensors, 40.0 and 41.0 dB -> mean 40.5;
     * groups are the distributions in order uniform, gaussian, laplace, relu_gaussian,
     * and the model-weight rows (distribution conv1) stay out of the figure */
    char *dat = zp_tp_plots_file(dir, "tensors_sqnr.dat");
    assert_true(zp_test_close(zp_tp_bars_value(dat, "symmetric 8b per-tensor", 1), 40.5, 1e-9));
    assert_true(zp_test_close(zp_tp_bars_value(dat, "symmetric 8b per-tensor", 0), 43.9, 1e-9));
    assert_true(isnan(zp_tp_bars_value(dat, "symmetric 8b per-tensor", 4)));
    free(dat);
    char *gp = zp_tp_plots_file(dir, "tensors_sqnr.gp");
    assert_non_null(strstr(gp, "'gaussian' 1"));
    assert_null(strstr(gp, "'conv1'"));
    free(gp);

    /* zero error of asymmetric per-tensor, naive range: synthetic rows 0.37 LSB (x4)
     * and the conv1 weights 0.31 LSB -> (4 * 0.37 + 0.31) / 5 = 0.358 */
    dat = zp_tp_plots_file(dir, "tensors_zero_error.dat");
    assert_true(zp_test_close(zp_tp_bars_value(dat, "nudge_zero=false", 0), 0.358, 1e-9));
    assert_true(zp_tp_bars_value(dat, "nudge_zero=true", 0) == 0.0);
    free(dat);

    /* symmetric 784x256x256 at 1 thread: best of avx512vnni 451 and avx2 209 GOP/s;
     * the 2-thread row (880) belongs to another thread count */
    dat = zp_tp_plots_file(dir, "kernel_throughput.dat");
    assert_true(zp_test_close(zp_tp_bars_value(dat, "symmetric", 0), 451.0, 1e-9));
    assert_true(zp_test_close(zp_tp_bars_value(dat, "openblas (float)", 0), 126.5, 1e-9));
    free(dat);

    /* top-1 bars without a select split: the first configured variant of each
     * slot (no selection on the evaluation set, issue 16): symmetric 8b
     * per-channel minmax (mode both) = 70.75 %, asymmetric per-channel nudge=false
     * = 70.10 %; the weights-only asymmetric row (70.95 %) is another mode */
    dat = zp_tp_plots_file(dir, "accuracy_top1.dat");
    assert_true(zp_test_close(zp_tp_bars_value(dat, "per-channel", 1), 70.75, 1e-9));
    assert_true(zp_test_close(zp_tp_bars_value(dat, "per-channel", 0), 70.10, 1e-9));
    free(dat);

    /* nudge: asymmetric per-tensor drops 2.0 (naive) and 0.5 (nudged) points */
    dat = zp_tp_plots_file(dir, "accuracy_nudge.dat");
    assert_true(zp_test_close(zp_tp_bars_value(dat, "nudge_zero=false", 0), 2.0, 1e-9));
    assert_true(zp_test_close(zp_tp_bars_value(dat, "nudge_zero=true", 0), 0.5, 1e-9));
    free(dat);

    /* the histogram figure picks conv2_pw: the first layer levels.csv describes */
    dat = zp_tp_plots_file(dir, "weights_hist.dat");
    assert_non_null(strstr(dat, "layer conv2_pw"));
    free(dat);
}

static void test_csv_reader(void **state)
{
    (void)state;
    const char *text = "a,b,c\r\n1,\"x, y\",true\r\n\r\n2.5,,no\n3\n";
    struct zp_table t;
    struct zp_err err = {0};
    assert_int_equal(zp_table_parse("t.csv", text, strlen(text), &t, &err), ZP_OK);
    assert_int_equal(t.ncols, 3);
    assert_int_equal(t.nrows, 3); /* the blank line is skipped */
    assert_string_equal(zp_table_str(&t, 0, 1), "x, y");
    assert_int_equal(zp_table_bool(&t, 0, 2), 1);
    assert_int_equal(zp_table_bool(&t, 1, 2), 0);
    assert_true(zp_test_close(zp_table_num(&t, 1, 0), 2.5, 1e-12));
    assert_true(isnan(zp_table_num(&t, 1, 1)));
    assert_string_equal(zp_table_str(&t, 2, 2), ""); /* short row padded */
    assert_int_equal(zp_table_col(&t, "c"), 2);
    assert_int_equal(zp_table_col(&t, "zz"), -1);
    assert_string_equal(zp_table_str(&t, 0, -1), "");
    zp_table_free(&t);

    assert_int_equal(zp_table_parse("empty.csv", "", 0, &t, &err), ZP_EFORMAT);
    assert_non_null(strstr(err.msg, "empty.csv"));
}

static void test_no_csv(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("plots-empty");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "no results CSV"));
    zp_err_clear(&err);
    assert_int_equal(zp_plots_render("/nonexistent/zp-run", &warn, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "/nonexistent/zp-run"));
}

static void test_odd_inputs(void **state)
{
    (void)state;
    if (!zp_tp_have_gnuplot())
        skip();
    /* a label with a quote and a comma, non-finite numbers, a malformed run.json:
     * everything still renders, bad values are left out */
    const char *dir = zp_test_tmpdir("plots-odd");
    char path[4400];
    snprintf(path, sizeof path, "%s/accuracy.csv", dir);
    zp_test_write_file(path, "scheme,label,bits,granularity,mode,float_top1,top1\n"
                             "symmetric,\"it's 8b, odd\",8,per-channel,both,0.7,0.6\n"
                             "symmetric,s2,8,per-tensor,both,inf,nan\n");
    snprintf(path, sizeof path, "%s/layers.csv", dir);
    zp_test_write_file(path, "label,layer,sqnr_db,mean_shift\nit's v,l1,inf,0.1\nit's v,l2,-inf,0.2\n");
    snprintf(path, sizeof path, "%s/run.json", dir);
    zp_test_write_file(path, "{not json");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    enum zp_status st = zp_plots_render(dir, &warn, &err);
    if (st != ZP_OK)
        fail_msg("zp_plots_render: %s", err.msg);
    assert_true(zp_tp_file_size(dir, "accuracy_top1", "png") > 0);
    assert_true(zp_tp_file_size(dir, "layers_mean_shift", "png") > 0);
    assert_true(zp_tp_file_size(dir, "layers_sqnr", "gp") < 0); /* no finite SQNR */
    char *dat = zp_tp_plots_file(dir, "accuracy_top1.dat");
    assert_true(zp_test_close(zp_tp_bars_value(dat, "per-channel", 0), 60.0, 1e-9));
    free(dat);
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *md = zp_test_read_file(path, NULL);
    assert_non_null(strstr(md, "run.json could not be parsed"));
    free(md);

    /* a malformed CSV is an error naming the file */
    const char *bad = zp_test_tmpdir("plots-bad");
    snprintf(path, sizeof path, "%s/kernels.csv", bad);
    zp_test_write_file(path, "kernel,gops\n\"unterminated,1\n");
    zp_err_clear(&err);
    assert_int_equal(zp_plots_render(bad, &warn, &err), ZP_EFORMAT);
    assert_non_null(strstr(err.msg, "kernels.csv"));
}

static void test_partial_run(void **state)
{
    (void)state;
    if (!zp_tp_have_gnuplot())
        skip();
    /* only kernels.csv: the kernel figures, nothing that needs accuracy.csv */
    const char *dir = zp_test_tmpdir("plots-kern");
    assert_int_equal(zp_test_sh(NULL, "cp %s/kernels.csv '%s'/", SAMPLE, dir), 0);
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    assert_true(zp_tp_file_size(dir, "kernel_throughput", "png") > 0);
    assert_true(zp_tp_file_size(dir, "kernel_speedup", "png") > 0);
    assert_true(zp_tp_file_size(dir, "accuracy_vs_throughput", "gp") < 0);
    assert_true(zp_tp_file_size(dir, "accuracy_top1", "gp") < 0);
    char path[4400];
    snprintf(path, sizeof path, "%s/report.html", dir);
    char *html = zp_test_read_file(path, NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "plots/kernel_speedup.png"));
    assert_null(strstr(html, "plots/accuracy_top1.png"));
    assert_non_null(strstr(html, "No run.json"));
    free(html);
}

static void test_user_style_kept(void **state)
{
    (void)state;
    if (!zp_tp_have_gnuplot())
        skip();
    const char *dir = zp_tp_sample_copy("plots-style");
    char path[4400];
    snprintf(path, sizeof path, "%s/plots", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    /* the default style, restricted to PNG output: a user's edit */
    struct zp_strbuf style = {0};
    zp_strbuf_printf(&style, "%s\nzp_formats = 'png'\n", zp_plot_style_text());
    snprintf(path, sizeof path, "%s/plots/style.gp", dir);
    zp_test_write_file(path, style.s);
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    char *kept = zp_test_read_file(path, NULL);
    assert_string_equal(kept, style.s);
    free(kept);
    zp_strbuf_free(&style);
    assert_true(zp_tp_file_size(dir, "layers_sqnr", "png") > 0);
    assert_true(zp_tp_file_size(dir, "layers_sqnr", "svg") < 0);

    /* a script reruns on its own inside plots/ */
    snprintf(path, sizeof path, "%s/plots/layers_sqnr.png", dir);
    assert_int_equal(remove(path), 0);
    char *out = NULL;
    int rc = zp_test_sh(&out, "cd '%s/plots' && gnuplot layers_sqnr.gp", dir);
    if (rc != 0)
        fail_msg("gnuplot layers_sqnr.gp: %s", out);
    free(out);
    assert_true(zp_tp_file_size(dir, "layers_sqnr", "png") > 0);

    /* $ZP_PLOT_STYLE replaces the run's style: here SVG only */
    snprintf(path, sizeof path, "%s/house.gp", dir);
    zp_strbuf_printf(&style, "%s\nzp_formats = 'svg'\n", zp_plot_style_text());
    zp_test_write_file(path, style.s);
    zp_strbuf_free(&style);
    setenv("ZP_PLOT_STYLE", path, 1);
    enum zp_status st = zp_plots_render(dir, &warn, &err);
    unsetenv("ZP_PLOT_STYLE");
    assert_int_equal(st, ZP_OK);
    assert_true(zp_tp_file_size(dir, "layers_sqnr", "svg") > 0);
}

static void test_gnuplot_missing(void **state)
{
    (void)state;
    const char *dir = zp_tp_sample_copy("plots-nognuplot");
    setenv("ZP_GNUPLOT", "/nonexistent/gnuplot", 1);
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    enum zp_status st = zp_plots_render(dir, &warn, &err);
    unsetenv("ZP_GNUPLOT");
    /* a warning, not an error: the scripts and the report are still written */
    assert_int_equal(st, ZP_OK);
    assert_true(warn.no_gnuplot);
    assert_int_equal(warn.n, 1);
    assert_non_null(strstr(warn.msg[0], "gnuplot"));
    assert_int_equal(warn.nrendered, 0);
    assert_true(warn.nfigs == zp_tp_n_figs);
    assert_true(zp_tp_file_size(dir, "accuracy_top1", "gp") > 0);
    char path[4400];
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *md = zp_test_read_file(path, NULL);
    assert_non_null(md);
    assert_non_null(strstr(md, "warning: gnuplot not found"));
    free(md);
}

static void test_cli(void **state)
{
    (void)state;
    struct stat sb;
    if (stat(zp_test_harness(), &sb) != 0 || !zp_tp_have_gnuplot())
        skip();
    const char *h = zp_test_harness();
    assert_int_equal(zp_test_sh(NULL, "%s plot", h), 2);
    assert_int_equal(zp_test_sh(NULL, "%s plot --bogus x", h), 2);
    assert_int_equal(zp_test_sh(NULL, "%s plot a b", h), 2);
    const char *empty = zp_test_tmpdir("plots-cli-empty");
    char *out = NULL;
    assert_int_equal(zp_test_sh(&out, "%s plot '%s'", h, empty), 1);
    assert_non_null(strstr(out, "no results CSV"));
    free(out);
    const char *dir = zp_tp_sample_copy("plots-cli");
    assert_int_equal(zp_test_sh(NULL, "%s plot '%s'", h, dir), 0);
    assert_true(zp_tp_file_size(dir, "weights_hist", "png") > 0);
}

static void test_report_in_browser(void **state)
{
    (void)state;
    if (!zp_tp_have_gnuplot())
        skip();
    const char *dir = zp_tp_sample_copy("plots-browser");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    char *out = NULL;
    int rc = zp_test_sh(&out, "sh tests/test_report_browser.sh '%s'", dir);
    if (rc == 77) {
        printf("%s", out);
        free(out);
        skip();
    }
    if (rc != 0)
        fail_msg("browser check: %s", out);
    assert_non_null(strstr(out, "ZP-PASS images=14"));
    free(out);
}

/* The figures that show a value summary.csv has, each with its error bar's script layer. */
static const char *const iv_figs[] = {"accuracy_top1",        "accuracy_vs_bits",    "accuracy_nudge",
                                      "accuracy_calibration", "accuracy_calib_size", "accuracy_qat"};
#define N_IV_FIGS (sizeof iv_figs / sizeof iv_figs[0])

static void test_replicate_error_bars(void **state)
{
    (void)state;
    if (!zp_tp_have_gnuplot())
        skip();
    const char *dir = zp_tp_replicate_run("plots-rep");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    enum zp_status st = zp_plots_render(dir, &warn, &err);
    if (st != ZP_OK)
        fail_msg("zp_plots_render: %s", err.msg);
    if (warn.n) /* gnuplot refusing an error-bar layer would be a warning */
        fail_msg("unexpected warning: %s", warn.msg[0]);
    char path[4400];
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *md = zp_test_read_file(path, NULL);
    snprintf(path, sizeof path, "%s/report.html", dir);
    char *html = zp_test_read_file(path, NULL);
    assert_non_null(md);
    assert_non_null(html);
    for (size_t f = 0; f < N_IV_FIGS; f++) {
        char file[128];
        snprintf(file, sizeof file, "%s.gp", iv_figs[f]);
        char *gp = zp_tp_plots_file(dir, file);
        if (!strstr(gp, "# error bars: the interval [column 4, column 5]") || !strstr(gp, "with vectors nohead"))
            fail_msg("plots/%s has no error bars", file);
        free(gp);
        if (zp_tp_file_size(dir, iv_figs[f], "png") <= 0)
            fail_msg("plots/%s.png not drawn", iv_figs[f]);
        /* the caption says what the bars are */
        char head[160];
        snprintf(head, sizeof head, "(plots/%s.png)\n\n", iv_figs[f]);
        const char *cap = strstr(md, head);
        assert_non_null(cap);
        const char *end = strstr(cap + strlen(head), "\n");
        if (!strstr(cap, "Error bars: 95 % bootstrap interval over the evaluation examples") ||
            strstr(cap, "Error bars: 95 %") > end)
            fail_msg("the caption of %s does not say what its error bars are", iv_figs[f]);
    }
    double lo, hi, x, y;
    /* top-1 bars: 100 x summary.csv's top1_lo/hi of the chosen cell (a8 nudged: 0.85,
     * 0.91; s8 pc minmax: 0.86, 0.92); drop bars: drop_lo/hi in points */
    char *dat = zp_tp_plots_file(dir, "accuracy_top1.dat");
    assert_true(zp_tp_bars_interval(dat, "per-tensor", 0, &lo, &hi));
    assert_true(zp_test_close(lo, 85.0, 1e-9) && zp_test_close(hi, 91.0, 1e-9));
    assert_non_null(strstr(dat, ",85,91,91\n")); /* its value label above the error bar */
    assert_true(zp_tp_bars_interval(dat, "per-channel", 1, &lo, &hi));
    assert_true(zp_test_close(lo, 86.0, 1e-9) && zp_test_close(hi, 92.0, 1e-9));
    free(dat);
    dat = zp_tp_plots_file(dir, "accuracy_top1_drop.dat");
    assert_true(zp_tp_bars_interval(dat, "per-tensor", 0, &lo, &hi));
    assert_true(zp_test_close(lo, 0.5, 1e-9) && zp_test_close(hi, 3.5, 1e-9));
    free(dat);
    /* accuracy against bits: a point per family with its cell's top-1 interval */
    dat = zp_tp_plots_file(dir, "accuracy_vs_bits.dat");
    assert_true(zp_tp_line_point(dat, "asymmetric", 0, &x, &y, &lo, &hi));
    assert_true(x == 8 && zp_test_close(y, 88.0, 1e-9) && zp_test_close(lo, 85.0, 1e-9) &&
                zp_test_close(hi, 91.0, 1e-9));
    free(dat);
    /* nudge: naive drop 6 [4.5, 7.5], nudged drop 2 [0.5, 3.5] */
    dat = zp_tp_plots_file(dir, "accuracy_nudge.dat");
    assert_true(zp_tp_bars_interval(dat, "nudge_zero=false", 0, &lo, &hi));
    assert_true(zp_test_close(lo, 4.5, 1e-9) && zp_test_close(hi, 7.5, 1e-9));
    assert_true(zp_tp_bars_interval(dat, "nudge_zero=true", 0, &lo, &hi));
    assert_true(zp_test_close(lo, 0.5, 1e-9) && zp_test_close(hi, 3.5, 1e-9));
    free(dat);
    /* calibration: the minmax bar is one cell and has its interval; the percentile
     * bar averages three cells (sizes 50, 100, 400), so it has none, and the caption
     * says why */
    dat = zp_tp_plots_file(dir, "accuracy_calibration.dat");
    assert_true(zp_tp_bars_interval(dat, "minmax", 0, &lo, &hi));
    assert_true(zp_test_close(lo, -0.5, 1e-9) && zp_test_close(hi, 2.5, 1e-9));
    assert_true(zp_tp_bars_interval(dat, "percentile", 0, &lo, &hi));
    assert_true(isnan(lo) && isnan(hi));
    assert_true(zp_test_close(zp_tp_bars_value(dat, "percentile", 0), 3.0, 1e-9));
    free(dat);
    assert_non_null(strstr(md, "none where a mark averages several cells"));
    /* calibration-set size: the mean over replicates at each size, with intervals */
    dat = zp_tp_plots_file(dir, "accuracy_calib_size.dat");
    static const double sizes[] = {50, 100, 400}, drops[] = {5, 1, 3};
    for (size_t k = 0; k < 3; k++) {
        assert_true(zp_tp_line_point(dat, "s8 pc, percentile", k, &x, &y, &lo, &hi));
        assert_true(x == sizes[k] && zp_test_close(y, drops[k], 1e-9));
        assert_true(zp_test_close(lo, drops[k] - 1.5, 1e-9) && zp_test_close(hi, drops[k] + 1.5, 1e-9));
    }
    free(dat);
    /* PTQ vs QAT: both bars with their cells' top-1 intervals */
    dat = zp_tp_plots_file(dir, "accuracy_qat.dat");
    assert_true(zp_tp_bars_interval(dat, "PTQ", 0, &lo, &hi));
    assert_true(zp_test_close(lo, 66.0, 1e-9) && zp_test_close(hi, 72.0, 1e-9));
    assert_true(zp_tp_bars_interval(dat, "QAT", 0, &lo, &hi));
    assert_true(zp_test_close(lo, 76.0, 1e-9) && zp_test_close(hi, 82.0, 1e-9));
    free(dat);

    /* the report reaches its significance section from the top */
    const char *contents = strstr(md, "Contents: ");
    assert_non_null(contents);
    assert_true(contents < strstr(md, "## Headline findings"));
    assert_non_null(strstr(contents, "[Significance](#significance)"));
    assert_non_null(strstr(md, "\n## Significance\n"));
    const char *nav = strstr(html, "<nav>");
    assert_non_null(nav);
    assert_true(strstr(nav, "<a href=\"#significance\">Significance</a>") < strstr(nav, "</nav>"));
    assert_non_null(strstr(html, "<h2 id=\"significance\">"));
    /* findings mark their differences: the 8-bit best (chosen on select: s8 pc
     * minmax) is not significantly below float, the 4-bit one is; QAT vs PTQ from
     * summary_pairs.csv, one line for the two replicates */
    if (!strstr(md, "**s8 pc**, top-1 89.00% (drop 1.00 points, mean over replicates): the drop from float "
                    "(95 % interval [-0.50, 2.50], McNemar p = 0.3) is not significant (the interval includes 0 "
                    "and p > 0.05)."))
        fail_msg("8-bit finding:\n%s", md);
    assert_non_null(strstr(md, "**l4 pc**, top-1 69.00% (drop 21.00 points, mean over replicates): the drop from "
                               "float (95 % interval [19.50, 22.50], McNemar p = 1e-05) is **significant**."));
    const char *q = strstr(md, "- QAT vs PTQ (mode both), l4 pc: top-1 79.00% vs 69.00% (+10.00 points, means over "
                               "replicates): the difference (95 % interval [7.50, 12.50], McNemar p = 2e-06) is "
                               "**significant**.");
    assert_non_null(q);
    assert_null(strstr(q + 1, "- QAT vs PTQ"));
    assert_non_null(strstr(html, "<strong>significant</strong>"));
    free(md);
    free(html);

    /* the same run without summary.csv: no error bars, no caption about them, no
     * significance section to link to */
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    assert_int_equal(remove(path), 0);
    snprintf(path, sizeof path, "%s/summary_pairs.csv", dir);
    assert_int_equal(remove(path), 0);
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    assert_int_equal(warn.n, 0);
    for (size_t f = 0; f < N_IV_FIGS; f++) {
        char file[128];
        snprintf(file, sizeof file, "%s.gp", iv_figs[f]);
        char *gp = zp_tp_plots_file(dir, file);
        if (strstr(gp, "error bars") || strstr(gp, "vectors"))
            fail_msg("plots/%s has error bars without summary.csv", file);
        free(gp);
    }
    snprintf(path, sizeof path, "%s/report.md", dir);
    md = zp_test_read_file(path, NULL);
    assert_null(strstr(md, "Error bars"));
    assert_null(strstr(md, "#significance"));
    assert_null(strstr(md, "McNemar"));
    free(md);
}

/* The sample run (no replicates, no summary.csv) has no error bars anywhere. */
static void test_sample_no_error_bars(void **state)
{
    (void)state;
    const char *dir = zp_tp_sample_copy("plots-noiv");
    setenv("ZP_GNUPLOT", "/nonexistent/gnuplot", 1); /* the scripts are enough */
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    enum zp_status st = zp_plots_render(dir, &warn, &err);
    unsetenv("ZP_GNUPLOT");
    assert_int_equal(st, ZP_OK);
    for (size_t f = 0; f < N_IV_FIGS; f++) {
        char file[128];
        snprintf(file, sizeof file, "%s.gp", iv_figs[f]);
        char *gp = zp_tp_plots_file(dir, file);
        if (strstr(gp, "error bars") || strstr(gp, "vectors"))
            fail_msg("plots/%s has error bars without summary.csv", file);
        free(gp);
    }
    char path[4400];
    snprintf(path, sizeof path, "%s/report.html", dir);
    char *html = zp_test_read_file(path, NULL);
    assert_null(strstr(html, "#significance"));
    assert_null(strstr(html, "Error bars"));
    free(html);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_sample),
        cmocka_unit_test(test_derived_values),
        cmocka_unit_test(test_csv_reader),
        cmocka_unit_test(test_no_csv),
        cmocka_unit_test(test_odd_inputs),
        cmocka_unit_test(test_partial_run),
        cmocka_unit_test(test_user_style_kept),
        cmocka_unit_test(test_gnuplot_missing),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_report_in_browser),
        cmocka_unit_test(test_replicate_error_bars),
        cmocka_unit_test(test_sample_no_error_bars),
    };
    return ZP_RUN_TESTS(tests);
}
