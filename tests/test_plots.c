/* Figures and report (plots/plot.h, plots/report.h) on the hand-written
 * sample run folder tests/data/run_sample: every expected figure exists in PNG,
 * SVG, PDF with its script; derived numbers match values worked out by hand
 * from the sample CSVs; the report lists every figure; `harness plot` exit
 * codes; a user's style.gp survives a rerun; the report loads in a browser.
 * Then the rough edges of issue 17: a figure never fails a render (degenerate
 * ranges, a refused script, no gnuplot), atomic report and figure files, axes
 * that fit the data, legends and line styles, the kernel figures of `bench`. */
#include "tests/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plots/plot_int.h"

#define SAMPLE "tests/data/run_sample"

static const char *const all_figs[] = {
    "tensors_sqnr",   "tensors_zero_error",   "accuracy_top1",     "accuracy_vs_bits",
    "accuracy_nudge", "accuracy_calibration", "accuracy_calib_size", "accuracy_qat",
    "layers_sqnr",    "layers_mean_shift",    "kernel_throughput", "kernel_speedup",
    "accuracy_vs_throughput", "weights_hist",
};
#define N_FIGS (sizeof all_figs / sizeof all_figs[0])

static int have_gnuplot(void)
{
    return zp_test_sh(NULL, "gnuplot --version") == 0;
}

/* A copy of the sample run in a fresh temporary folder. */
static const char *sample_copy(const char *tag)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s", zp_test_tmpdir(tag));
    assert_int_equal(zp_test_sh(NULL, "cp %s/* '%s'/", SAMPLE, dir), 0);
    return dir;
}

static long file_size(const char *dir, const char *name, const char *ext)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/plots/%s.%s", dir, name, ext);
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* The value of group g in the block of the series titled `series` of a bars .dat. */
static double bars_value(const char *dat, const char *series, size_t g)
{
    char head[512];
    snprintf(head, sizeof head, ": %s\n", series);
    const char *p = strstr(dat, head);
    if (!p)
        return NAN;
    p = strchr(p, '\n') + 1;
    for (size_t i = 0; i < g; i++)
        p = strchr(p, '\n') + 1;
    double x, v;
    if (sscanf(p, "%lf,%lf", &x, &v) != 2)
        return NAN;
    return v;
}

static char *plots_file(const char *dir, const char *file)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/plots/%s", dir, file);
    char *s = zp_test_read_file(path, NULL);
    assert_non_null(s);
    return s;
}

static void test_render_sample(void **state)
{
    (void)state;
    if (!have_gnuplot())
        skip();
    const char *dir = sample_copy("plots");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    enum zp_status st = zp_plots_render(dir, &warn, &err);
    if (st != ZP_OK)
        fail_msg("zp_plots_render: %s", err.msg);
    if (warn.n)
        fail_msg("unexpected warning: %s", warn.msg[0]);
    assert_true(warn.nfigs == N_FIGS && warn.nrendered == N_FIGS);
    char path[4400];
    snprintf(path, sizeof path, "%s/report.html", dir);
    char *html = zp_test_read_file(path, NULL);
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *md = zp_test_read_file(path, NULL);
    assert_non_null(html);
    assert_non_null(md);
    for (size_t i = 0; i < N_FIGS; i++) {
        const char *f = all_figs[i];
        static const char *const exts[] = {"png", "svg", "pdf", "gp"};
        for (size_t e = 0; e < 4; e++)
            if (file_size(dir, f, exts[e]) <= 0)
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
    char *gp = plots_file(dir, "tensors_sqnr.gp");
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
    if (!have_gnuplot())
        skip();
    const char *dir = sample_copy("plots-dat");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);

    /* symmetric on gaussian: two synthetic tensors, 40.0 and 41.0 dB -> mean 40.5;
     * groups are the distributions in order uniform, gaussian, laplace, relu_gaussian,
     * and the model-weight rows (distribution conv1) stay out of the figure */
    char *dat = plots_file(dir, "tensors_sqnr.dat");
    assert_true(zp_test_close(bars_value(dat, "symmetric 8b per-tensor", 1), 40.5, 1e-9));
    assert_true(zp_test_close(bars_value(dat, "symmetric 8b per-tensor", 0), 43.9, 1e-9));
    assert_true(isnan(bars_value(dat, "symmetric 8b per-tensor", 4)));
    free(dat);
    char *gp = plots_file(dir, "tensors_sqnr.gp");
    assert_non_null(strstr(gp, "'gaussian' 1"));
    assert_null(strstr(gp, "'conv1'"));
    free(gp);

    /* zero error of asymmetric per-tensor, naive range: synthetic rows 0.37 LSB (x4)
     * and the conv1 weights 0.31 LSB -> (4 * 0.37 + 0.31) / 5 = 0.358 */
    dat = plots_file(dir, "tensors_zero_error.dat");
    assert_true(zp_test_close(bars_value(dat, "nudge_zero=false", 0), 0.358, 1e-9));
    assert_true(bars_value(dat, "nudge_zero=true", 0) == 0.0);
    free(dat);

    /* symmetric 784x256x256 at 1 thread: best of avx512vnni 451 and avx2 209 GOP/s;
     * the 2-thread row (880) belongs to another thread count */
    dat = plots_file(dir, "kernel_throughput.dat");
    assert_true(zp_test_close(bars_value(dat, "symmetric", 0), 451.0, 1e-9));
    assert_true(zp_test_close(bars_value(dat, "openblas (float)", 0), 126.5, 1e-9));
    free(dat);

    /* top-1 bars without a select split: the first configured variant of each
     * slot (no selection on the evaluation set, issue 16): symmetric 8b
     * per-channel minmax (mode both) = 70.75 %, asymmetric per-channel nudge=false
     * = 70.10 %; the weights-only asymmetric row (70.95 %) is another mode */
    dat = plots_file(dir, "accuracy_top1.dat");
    assert_true(zp_test_close(bars_value(dat, "per-channel", 1), 70.75, 1e-9));
    assert_true(zp_test_close(bars_value(dat, "per-channel", 0), 70.10, 1e-9));
    free(dat);

    /* nudge: asymmetric per-tensor drops 2.0 (naive) and 0.5 (nudged) points */
    dat = plots_file(dir, "accuracy_nudge.dat");
    assert_true(zp_test_close(bars_value(dat, "nudge_zero=false", 0), 2.0, 1e-9));
    assert_true(zp_test_close(bars_value(dat, "nudge_zero=true", 0), 0.5, 1e-9));
    free(dat);

    /* the histogram figure picks conv2_pw: the first layer levels.csv describes */
    dat = plots_file(dir, "weights_hist.dat");
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
    if (!have_gnuplot())
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
    assert_true(file_size(dir, "accuracy_top1", "png") > 0);
    assert_true(file_size(dir, "layers_mean_shift", "png") > 0);
    assert_true(file_size(dir, "layers_sqnr", "gp") < 0); /* no finite SQNR */
    char *dat = plots_file(dir, "accuracy_top1.dat");
    assert_true(zp_test_close(bars_value(dat, "per-channel", 0), 60.0, 1e-9));
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
    if (!have_gnuplot())
        skip();
    /* only kernels.csv: the kernel figures, nothing that needs accuracy.csv */
    const char *dir = zp_test_tmpdir("plots-kern");
    assert_int_equal(zp_test_sh(NULL, "cp %s/kernels.csv '%s'/", SAMPLE, dir), 0);
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    assert_true(file_size(dir, "kernel_throughput", "png") > 0);
    assert_true(file_size(dir, "kernel_speedup", "png") > 0);
    assert_true(file_size(dir, "accuracy_vs_throughput", "gp") < 0);
    assert_true(file_size(dir, "accuracy_top1", "gp") < 0);
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
    if (!have_gnuplot())
        skip();
    const char *dir = sample_copy("plots-style");
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
    assert_true(file_size(dir, "layers_sqnr", "png") > 0);
    assert_true(file_size(dir, "layers_sqnr", "svg") < 0);

    /* a script reruns on its own inside plots/ */
    snprintf(path, sizeof path, "%s/plots/layers_sqnr.png", dir);
    assert_int_equal(remove(path), 0);
    char *out = NULL;
    int rc = zp_test_sh(&out, "cd '%s/plots' && gnuplot layers_sqnr.gp", dir);
    if (rc != 0)
        fail_msg("gnuplot layers_sqnr.gp: %s", out);
    free(out);
    assert_true(file_size(dir, "layers_sqnr", "png") > 0);

    /* $ZP_PLOT_STYLE replaces the run's style: here SVG only */
    snprintf(path, sizeof path, "%s/house.gp", dir);
    zp_strbuf_printf(&style, "%s\nzp_formats = 'svg'\n", zp_plot_style_text());
    zp_test_write_file(path, style.s);
    zp_strbuf_free(&style);
    setenv("ZP_PLOT_STYLE", path, 1);
    enum zp_status st = zp_plots_render(dir, &warn, &err);
    unsetenv("ZP_PLOT_STYLE");
    assert_int_equal(st, ZP_OK);
    assert_true(file_size(dir, "layers_sqnr", "svg") > 0);
}

static void test_gnuplot_missing(void **state)
{
    (void)state;
    const char *dir = sample_copy("plots-nognuplot");
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
    assert_true(warn.nfigs == N_FIGS);
    assert_true(file_size(dir, "accuracy_top1", "gp") > 0);
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
    if (stat(zp_test_harness(), &sb) != 0 || !have_gnuplot())
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
    const char *dir = sample_copy("plots-cli");
    assert_int_equal(zp_test_sh(NULL, "%s plot '%s'", h, dir), 0);
    assert_true(file_size(dir, "weights_hist", "png") > 0);
}

static void test_report_in_browser(void **state)
{
    (void)state;
    if (!have_gnuplot())
        skip();
    const char *dir = sample_copy("plots-browser");
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

/* ---- issue 10 and 17: single style, warnings, atomic files, axes, styles ---- */

static void write_in(const char *dir, const char *file, const char *text)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    zp_test_write_file(path, text);
}

/* The n-th (0-based) "set yrange [lo:hi]" of a script; 0 when absent or not numeric. */
static int nth_yrange(const char *gp, int n, double *lo, double *hi)
{
    const char *p = gp;
    for (int i = 0; p; i++) {
        p = strstr(p, "set yrange [");
        if (!p)
            return 0;
        if (i == n)
            return sscanf(p, "set yrange [%lf:%lf]", lo, hi) == 2;
        p++;
    }
    return 0;
}

static void test_style_single_source(void **state)
{
    (void)state;
    /* the compiled-in style is plots/style.gp byte for byte (the Makefile rule
     * quotes it): there is no second copy to drift */
    size_t len = 0;
    char *file = zp_test_read_file("plots/style.gp", &len);
    assert_non_null(file);
    assert_int_equal(strlen(zp_plot_style_text()), len);
    assert_memory_equal(zp_plot_style_text(), file, len);
    /* each built-in scheme's linetype is the style line that names it */
    static const char *const names[] = {"float", "asymmetric", "symmetric", "no-128", "linear4",
                                        "lut4", "binary", "openblas", "onednn"};
    struct zp_plot_style st = {0}, other = {0};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int lt = zp_plot_scheme_lt(&st, names[i]);
        char head[64];
        snprintf(head, sizeof head, "\nset linetype %-2d ", lt);
        const char *line = strstr(file, head);
        if (!line)
            fail_msg("style.gp has no linetype %d for %s", lt, names[i]);
        char one[256];
        snprintf(one, sizeof one, "%.*s", (int)strcspn(line + 1, "\n"), line + 1);
        char tag[64];
        snprintf(tag, sizeof tag, "# %s", names[i]);
        if (!strstr(one, tag))
            fail_msg("linetype %d of style.gp is not %s: %s", lt, names[i], one);
    }
    /* plugin schemes: linetypes by first use, per render (state owned by the caller) */
    assert_int_equal(zp_plot_scheme_lt(&st, "plugin_a"), 10);
    assert_int_equal(zp_plot_scheme_lt(&st, "plugin_b"), 11);
    assert_int_equal(zp_plot_scheme_lt(&st, "plugin_a"), 10);
    assert_int_equal(zp_plot_scheme_lt(&other, "plugin_b"), 10);
    free(file);
}

static void test_all_zero_bars(void **state)
{
    (void)state;
    if (!have_gnuplot())
        skip();
    /* an 8-bit run on a --limit slice: every drop is 0.0; the drop panel once got
     * `set yrange [0:0]`, gnuplot refused and the finished run exited 1 */
    const char *dir = zp_test_tmpdir("plots-zero");
    write_in(dir, "accuracy.csv",
             "scheme,label,bits,granularity,mode,float_top1,top1\n"
             "symmetric,s8 pt,8,per-tensor,both,0.9,0.9\n"
             "symmetric,s8 pc,8,per-channel,both,0.9,0.9\n"
             "asymmetric,a8 pt,8,per-tensor,both,0.9,0.9\n");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    enum zp_status st = zp_plots_render(dir, &warn, &err);
    if (st != ZP_OK)
        fail_msg("zp_plots_render: %s", err.msg);
    if (warn.n)
        fail_msg("warning: %s", warn.msg[0]);
    assert_true(file_size(dir, "accuracy_top1", "png") > 0);
    char *gp = plots_file(dir, "accuracy_top1.gp");
    double lo, hi;
    assert_true(nth_yrange(gp, 1, &lo, &hi));
    assert_true(hi > lo);
    free(gp);
}

static void test_failed_figure_is_warning(void **state)
{
    (void)state;
    if (!have_gnuplot())
        skip();
    const char *dir = sample_copy("plots-fail");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    assert_true(file_size(dir, "accuracy_top1", "png") > 0);
    /* a gnuplot that refuses one script, as it refuses a degenerate range */
    char fake[4400];
    snprintf(fake, sizeof fake, "%s/fake-gnuplot", dir);
    zp_test_write_file(fake, "#!/bin/sh\n"
                             "for a; do case \"$a\" in accuracy_top1.gp)\n"
                             "  echo '\"accuracy_top1.gp\" line 3: forced failure for the test' >&2; "
                             "exit 1;; esac; done\n"
                             "exec gnuplot \"$@\"\n");
    assert_int_equal(zp_test_sh(NULL, "chmod +x '%s'", fake), 0);
    setenv("ZP_GNUPLOT", fake, 1);
    enum zp_status st = zp_plots_render(dir, &warn, &err);
    char *out = NULL;
    int rc = zp_test_sh(&out, "%s plot '%s' 2>&1", zp_test_harness(), dir);
    unsetenv("ZP_GNUPLOT");
    if (st != ZP_OK)
        fail_msg("a failed figure is an error: %s", err.msg);
    assert_int_equal(warn.n, 1);
    assert_true(warn.nrendered + 1 == warn.nfigs);
    assert_non_null(strstr(warn.msg[0], "accuracy_top1"));
    assert_non_null(strstr(warn.msg[0], "forced failure for the test"));
    assert_non_null(strstr(warn.msg[0], "plots/accuracy_top1.log"));
    /* no stale or partial picture next to the script; the others are all there */
    assert_true(file_size(dir, "accuracy_top1", "png") < 0);
    assert_true(file_size(dir, "accuracy_top1", "part.png") < 0);
    assert_true(file_size(dir, "accuracy_top1", "log") > 0);
    assert_true(file_size(dir, "layers_sqnr", "pdf") > 0);
    char path[4400];
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *md = zp_test_read_file(path, NULL);
    assert_non_null(strstr(md, "warning: figure accuracy_top1 not drawn"));
    assert_null(strstr(md, "(plots/accuracy_top1.png)"));
    free(md);
    /* `harness plot`: exit 0, the warning on stderr */
    struct stat sb;
    if (stat(zp_test_harness(), &sb) == 0) {
        assert_int_equal(rc, 0);
        assert_non_null(strstr(out, "warning: figure accuracy_top1"));
    }
    free(out);
}

static long inode_of(const char *dir, const char *file)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_ino : -1;
}

static void test_atomic_outputs(void **state)
{
    (void)state;
    if (!have_gnuplot())
        skip();
    const char *dir = sample_copy("plots-atomic");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    long md1 = inode_of(dir, "report.md"), png1 = inode_of(dir, "plots/layers_sqnr.png");
    long gp1 = inode_of(dir, "plots/layers_sqnr.gp");
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    /* replaced by rename (a new file), not rewritten in place */
    assert_true(md1 > 0 && inode_of(dir, "report.md") != md1);
    assert_true(png1 > 0 && inode_of(dir, "plots/layers_sqnr.png") != png1);
    assert_true(gp1 > 0 && inode_of(dir, "plots/layers_sqnr.gp") != gp1);
    char *out = NULL;
    assert_int_equal(zp_test_sh(&out, "find '%s' -name '*.part.*' -o -name '*.tmp*'", dir), 0);
    if (*out)
        fail_msg("temporary files left: %s", out);
    free(out);
    /* a file that can't be replaced: the error names it and errno's text */
    char path[4400];
    snprintf(path, sizeof path, "%s/report.md", dir);
    assert_int_equal(remove(path), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    zp_err_clear(&err);
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_EIO);
    assert_non_null(strstr(err.msg, "report.md"));
    assert_non_null(strstr(err.msg, strerror(EISDIR)));
    /* a figure that can't be replaced is a warning naming errno */
    assert_int_equal(rmdir(path), 0);
    snprintf(path, sizeof path, "%s/plots/layers_sqnr.svg", dir);
    assert_int_equal(remove(path), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    zp_err_clear(&err);
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    assert_int_equal(warn.n, 1);
    assert_non_null(strstr(warn.msg[0], "layers_sqnr.svg"));
    assert_non_null(strstr(warn.msg[0], strerror(EISDIR)));
}

static void test_axes_fit(void **state)
{
    (void)state;
    if (!have_gnuplot())
        skip();
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    double lo, hi;
    /* 8-bit drops of 0.1-0.3 points: the drop axis ends near 0.3, not at 100;
     * the accuracy axis stops at 100 % even with labels above a 99 % bar */
    const char *dir = zp_test_tmpdir("plots-axis8");
    write_in(dir, "accuracy.csv",
             "scheme,label,bits,granularity,mode,float_top1,top1\n"
             "symmetric,s8 pt,8,per-tensor,both,0.992,0.991\n"
             "symmetric,s8 pc,8,per-channel,both,0.992,0.989\n"
             "asymmetric,a8 pt,8,per-tensor,both,0.992,0.990\n"
             "asymmetric,a4 pt,4,per-tensor,both,0.992,0.989\n");
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    assert_int_equal(warn.n, 0);
    char *gp = plots_file(dir, "accuracy_top1.gp");
    assert_true(nth_yrange(gp, 0, &lo, &hi));
    assert_true(lo == 0 && hi <= 100 && hi >= 99.1);
    assert_true(nth_yrange(gp, 1, &lo, &hi));
    assert_true(lo == 0 && hi > 0.3 && hi < 0.4);
    free(gp);
    gp = plots_file(dir, "accuracy_vs_bits.gp");
    assert_non_null(strstr(gp, "set yrange [0:100]"));
    free(gp);
    /* drops from 0.3 to 83 points: symlog axis, every bar labelled */
    dir = zp_test_tmpdir("plots-axis1");
    write_in(dir, "accuracy.csv",
             "scheme,label,bits,granularity,mode,float_top1,top1\n"
             "symmetric,s8,8,per-channel,both,0.94,0.937\n"
             "linear4,l4,4,per-channel,both,0.94,0.78\n"
             "binary,b1,1,per-channel,both,0.94,0.107\n");
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    assert_int_equal(warn.n, 0);
    gp = plots_file(dir, "accuracy_top1.gp");
    assert_non_null(strstr(gp, "(zp_y($2))"));
    assert_non_null(strstr(gp, "log beyond 0.1"));
    assert_non_null(strstr(gp, "'0.1' "));
    assert_true(nth_yrange(gp, 1, &lo, &hi));
    assert_true(lo == 0 && hi > log10(1 + 83.3 / 0.1) && hi < 4);
    free(gp);
    assert_true(file_size(dir, "accuracy_top1", "png") > 0);
}

/* The (lt, dt, pt) of every line of a script's plot command. */
static size_t line_styles(const char *gp, char styles[][64], size_t max)
{
    size_t n = 0;
    for (const char *p = strstr(gp, "with linespoints "); p && n < max;
         p = strstr(p + 1, "with linespoints ")) {
        const char *end = strstr(p, " title ");
        snprintf(styles[n++], 64, "%.*s", end ? (int)(end - p) : 40, p);
    }
    return n;
}

static void test_legends_and_line_styles(void **state)
{
    (void)state;
    if (!have_gnuplot())
        skip();
    /* 12 variants, 10 of one scheme: every line differs, the key is above */
    const char *dir = zp_test_tmpdir("plots-lines");
    struct zp_strbuf csv = {0};
    zp_strbuf_printf(&csv, "model,scheme,label,mode,layer_index,layer,sqnr_db,mean_shift\n");
    for (int v = 0; v < 12; v++)
        for (int l = 0; l < 3; l++)
            zp_strbuf_printf(&csv, "m,%s,variant number %d with a long label,both,%d,conv%d,%d,0.01\n",
                           v < 10 ? "symmetric" : "asymmetric", v, l, l, 20 + v + l);
    write_in(dir, "layers.csv", csv.s);
    zp_strbuf_free(&csv);
    /* a model's weights only: groups are layer types, and the title says so */
    write_in(dir, "tensors.csv",
             "source,tensor,distribution,scheme,label,sqnr_db\n"
             "m,conv0,Conv,symmetric,s8,40\nm,conv1,depthwise,symmetric,s8,38\n");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    assert_int_equal(warn.n, 0);
    char *gp = plots_file(dir, "layers_sqnr.gp");
    char styles[16][64];
    size_t n = line_styles(gp, styles, 16);
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(styles[i], styles[j]) == 0)
                fail_msg("lines %zu and %zu share a style: %s", i, j, styles[i]);
    assert_non_null(strstr(gp, "set key outside top center horizontal"));
    free(gp);
    gp = plots_file(dir, "tensors_sqnr.gp");
    assert_non_null(strstr(gp, "by scheme variant and layer type (2 weight tensors"));
    assert_non_null(strstr(gp, "set xlabel 'layer type"));
    assert_null(strstr(gp, "set key outside top")); /* one short title: key at the right */
    free(gp);
    /* the sample's synthetic tensors are grouped by distribution */
    dir = sample_copy("plots-dist");
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    gp = plots_file(dir, "tensors_sqnr.gp");
    assert_non_null(strstr(gp, "by scheme variant and distribution ("));
    free(gp);
}

static void test_hist_channel_rows(void **state)
{
    (void)state;
    if (!have_gnuplot())
        skip();
    /* a per-channel variant's levels are one channel's: its row says which */
    const char *dir = sample_copy("plots-hist");
    write_in(dir, "levels.csv",
             "scheme,label,layer,level,channel\n"
             "symmetric,symmetric 8b per-tensor,conv2_pw,-0.3,\n"
             "symmetric,symmetric 8b per-tensor,conv2_pw,0.3,\n"
             "symmetric,symmetric 8b per-channel,conv2_pw,-0.1,7\n"
             "symmetric,symmetric 8b per-channel,conv2_pw,0.1,7\n");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    char *gp = plots_file(dir, "weights_hist.gp");
    assert_non_null(strstr(gp, "'symmetric 8b per-channel (channel 7)' 1"));
    assert_non_null(strstr(gp, "'symmetric 8b per-tensor' 0"));
    free(gp);
}

static void test_bench_kernel_figures(void **state)
{
    (void)state;
    if (!have_gnuplot())
        skip();
    /* `harness bench` draws with the same generator as `harness plot` */
    const char *a = zp_test_tmpdir("plots-bench");
    assert_int_equal(zp_test_sh(NULL, "cp %s/kernels.csv %s/peaks.csv '%s'/", SAMPLE, SAMPLE, a), 0);
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    assert_int_equal(zp_plots_render_kernels(a, &warn, &err), ZP_OK);
    assert_int_equal(warn.n, 0);
    assert_int_equal(warn.nfigs, 2);
    static const char *const figs[] = {"kernel_throughput", "kernel_speedup"};
    static const char *const exts[] = {"png", "svg", "pdf", "gp"};
    for (size_t f = 0; f < 2; f++)
        for (size_t e = 0; e < 4; e++)
            if (file_size(a, figs[f], exts[e]) <= 0)
                fail_msg("plots/%s.%s missing", figs[f], exts[e]);
    char path[4400];
    snprintf(path, sizeof path, "%s/report.md", a);
    struct stat sb;
    assert_true(stat(path, &sb) != 0);
    char *style = plots_file(a, "style.gp");
    assert_string_equal(style, zp_plot_style_text());
    free(style);
    const char *b = zp_test_tmpdir("plots-bench-plot");
    assert_int_equal(zp_test_sh(NULL, "cp %s/kernels.csv %s/peaks.csv '%s'/", SAMPLE, SAMPLE, b), 0);
    assert_int_equal(zp_plots_render(b, &warn, &err), ZP_OK);
    for (size_t f = 0; f < 2; f++) {
        char file[128];
        snprintf(file, sizeof file, "%s.gp", figs[f]);
        char *ga = plots_file(a, file), *gb = plots_file(b, file);
        assert_string_equal(ga, gb);
        free(ga);
        free(gb);
    }
}

static void test_run_survives_figures(void **state)
{
    (void)state;
    struct stat sb;
    if (stat(zp_test_harness(), &sb) != 0)
        skip();
    /* a finished `harness run` whose every figure is refused still exits 0; the
     * warnings are in its log and its report */
    const char *d = zp_test_tmpdir("plots-run");
    char fake[4400], cfg[4400];
    snprintf(fake, sizeof fake, "%s/fake-gnuplot", d);
    zp_test_write_file(fake, "#!/bin/sh\n[ \"$1\" = --version ] && exit 0\n"
                             "echo '\"x.gp\" line 1: forced failure' >&2; exit 1\n");
    assert_int_equal(zp_test_sh(NULL, "chmod +x '%s'", fake), 0);
    snprintf(cfg, sizeof cfg, "%s/tiny.json", d);
    zp_test_write_file(cfg, "{\"name\": \"tiny\", \"seed\": 1, \"schemes\": [{\"scheme\": \"symmetric\", "
                            "\"bits\": 8, \"granularity\": \"per-tensor\"}], \"tensors\": {\"synthetic\": "
                            "[{\"distribution\": \"gaussian\", \"n\": 4096, \"channels\": 8, \"seed\": 2}]}}\n");
    char *out = NULL;
    int rc = zp_test_sh(&out, "ZP_GNUPLOT='%s' %s run '%s' --out '%s/run' --quiet 2>&1", fake,
                        zp_test_harness(), cfg, d);
    if (rc != 0)
        fail_msg("harness run exited %d: %s", rc, out);
    assert_non_null(strstr(out, "harness: figures: warning: figure tensors_sqnr not drawn"));
    free(out);
    char path[4400];
    snprintf(path, sizeof path, "%s/run/report.md", d);
    char *md = zp_test_read_file(path, NULL);
    assert_non_null(md);
    assert_non_null(strstr(md, "forced failure"));
    free(md);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_csv_reader),      cmocka_unit_test(test_no_csv),
        cmocka_unit_test(test_render_sample),   cmocka_unit_test(test_derived_values),
        cmocka_unit_test(test_odd_inputs),
        cmocka_unit_test(test_partial_run),     cmocka_unit_test(test_user_style_kept),
        cmocka_unit_test(test_gnuplot_missing), cmocka_unit_test(test_cli),
        cmocka_unit_test(test_report_in_browser),
        cmocka_unit_test(test_style_single_source), cmocka_unit_test(test_all_zero_bars),
        cmocka_unit_test(test_failed_figure_is_warning), cmocka_unit_test(test_atomic_outputs),
        cmocka_unit_test(test_axes_fit),        cmocka_unit_test(test_legends_and_line_styles),
        cmocka_unit_test(test_hist_channel_rows), cmocka_unit_test(test_bench_kernel_figures),
        cmocka_unit_test(test_run_survives_figures),
    };
    return ZP_RUN_TESTS(t);
}
