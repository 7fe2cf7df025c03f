/* Figures and report, the rough edges of issue 17: a figure never fails a render
 * (degenerate ranges, a refused script, no gnuplot), atomic report and figure
 * files, axes that fit the data, legends and line styles, the per-channel levels
 * of the weight histogram, the kernel figures of `bench`, and the summary.csv row
 * lookup behind every error bar. */
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
    if (!zp_tp_have_gnuplot())
        skip();
    /* an 8-bit run on a --limit slice: every drop is 0.0; the drop panel once got
     * `set yrange [0:0]`, gnuplot refused and the finished run exited 1 */
    const char *dir = zp_test_tmpdir("plots-zero");
    zp_tp_write_in(dir, "accuracy.csv",
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
    assert_true(zp_tp_file_size(dir, "accuracy_top1", "png") > 0);
    char *gp = zp_tp_plots_file(dir, "accuracy_top1.gp");
    double lo, hi;
    assert_true(zp_tp_nth_yrange(gp, 1, &lo, &hi));
    assert_true(hi > lo);
    free(gp);
}

/* A run of two models: one top-1 figure per model, each with its own model's bars
 * and float line (the float line once was the mean of both models' floats, drawn
 * over the first model's bars). */
static void test_top1_per_model(void **state)
{
    (void)state;
    if (!zp_tp_have_gnuplot())
        skip();
    const char *dir = zp_test_tmpdir("plots-models");
    zp_tp_write_in(dir, "accuracy.csv",
             "model,scheme,label,bits,granularity,mode,float_top1,top1\n"
             "r20,asymmetric,a8,8,per-tensor,both,0.81,0.80\n"
             "r20,linear4,l4,4,per-tensor,both,0.81,0.70\n"
             "r56,asymmetric,a8,8,per-tensor,both,0.83,0.825\n"
             "r56,linear4,l4,4,per-tensor,both,0.83,0.78\n");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    if (zp_plots_render(dir, &warn, &err) != ZP_OK)
        fail_msg("zp_plots_render: %s", err.msg);
    assert_true(zp_tp_file_size(dir, "accuracy_top1", "png") > 0);
    assert_true(zp_tp_file_size(dir, "accuracy_top1_r56", "png") > 0);
    char *g20 = zp_tp_plots_file(dir, "accuracy_top1.gp");
    char *g56 = zp_tp_plots_file(dir, "accuracy_top1_r56.gp");
    assert_non_null(strstr(g20, "float (81.00%)"));
    assert_non_null(strstr(g56, "float (83.00%)"));
    assert_non_null(strstr(g56, "r56"));
    free(g20);
    free(g56);
    char *d20 = zp_tp_plots_file(dir, "accuracy_top1.dat");
    char *d56 = zp_tp_plots_file(dir, "accuracy_top1_r56.dat");
    assert_true(fabs(zp_tp_bars_value(d20, "per-tensor", 0) - 80.0) < 1e-6);
    assert_true(fabs(zp_tp_bars_value(d56, "per-tensor", 0) - 82.5) < 1e-6);
    free(d20);
    free(d56);
}

/* A language-model run: one NLL-gap and one KLD bar per variant and mode, every
 * variant (no selection), the float row left out; a classifier run draws neither. */
static void test_lm_figures(void **state)
{
    (void)state;
    if (!zp_tp_have_gnuplot())
        skip();
    const char *dir = zp_test_tmpdir("plots-lm");
    zp_tp_write_in(dir, "accuracy.csv",
             "model,scheme,label,bits,granularity,mode,float_top1,top1,nll,float_nll,kld_mean\n"
             "s,float,float,,,float,0.61,0.61,1.5,1.5,\n"
             "s,asymmetric,a4,4,per-group,weights,0.61,0.58,1.6,1.5,0.12\n"
             "s,asymmetric,a4 gptq,4,per-group,weights,0.61,0.59,1.55,1.5,0.07\n"
             "s,asymmetric,a4,4,per-group,both,0.61,0.57,1.625,1.5,0.2\n");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    if (zp_plots_render(dir, &warn, &err) != ZP_OK)
        fail_msg("zp_plots_render: %s", err.msg);
    assert_true(zp_tp_file_size(dir, "lm_nll_gap", "png") > 0);
    assert_true(zp_tp_file_size(dir, "lm_kld", "png") > 0);
    char *gap = zp_tp_plots_file(dir, "lm_nll_gap.dat");
    char *kld = zp_tp_plots_file(dir, "lm_kld.dat");
    assert_true(fabs(zp_tp_bars_value(gap, "weights", 0) - 0.1) < 1e-9);
    assert_true(fabs(zp_tp_bars_value(gap, "weights", 1) - 0.05) < 1e-9);
    assert_true(fabs(zp_tp_bars_value(gap, "both", 0) - 0.125) < 1e-9);
    assert_true(fabs(zp_tp_bars_value(kld, "weights", 1) - 0.07) < 1e-9);
    free(gap);
    free(kld);
    const char *cls = zp_test_tmpdir("plots-no-lm");
    zp_tp_write_in(cls, "accuracy.csv",
             "model,scheme,label,bits,granularity,mode,float_top1,top1\n"
             "r20,asymmetric,a8,8,per-tensor,both,0.81,0.80\n");
    if (zp_plots_render(cls, &warn, &err) != ZP_OK)
        fail_msg("zp_plots_render: %s", err.msg);
    assert_true(zp_tp_file_size(cls, "lm_nll_gap", "png") <= 0);
}

static void test_failed_figure_is_warning(void **state)
{
    (void)state;
    if (!zp_tp_have_gnuplot())
        skip();
    const char *dir = zp_tp_sample_copy("plots-fail");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    assert_true(zp_tp_file_size(dir, "accuracy_top1", "png") > 0);
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
    assert_true(zp_tp_file_size(dir, "accuracy_top1", "png") < 0);
    assert_true(zp_tp_file_size(dir, "accuracy_top1", "part.png") < 0);
    assert_true(zp_tp_file_size(dir, "accuracy_top1", "log") > 0);
    assert_true(zp_tp_file_size(dir, "layers_sqnr", "pdf") > 0);
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

static void test_atomic_outputs(void **state)
{
    (void)state;
    if (!zp_tp_have_gnuplot())
        skip();
    const char *dir = zp_tp_sample_copy("plots-atomic");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    long md1 = zp_tp_inode_of(dir, "report.md"), png1 = zp_tp_inode_of(dir, "plots/layers_sqnr.png");
    long gp1 = zp_tp_inode_of(dir, "plots/layers_sqnr.gp");
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    /* replaced by rename (a new file), not rewritten in place */
    assert_true(md1 > 0 && zp_tp_inode_of(dir, "report.md") != md1);
    assert_true(png1 > 0 && zp_tp_inode_of(dir, "plots/layers_sqnr.png") != png1);
    assert_true(gp1 > 0 && zp_tp_inode_of(dir, "plots/layers_sqnr.gp") != gp1);
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
    if (!zp_tp_have_gnuplot())
        skip();
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    double lo, hi;
    /* 8-bit drops of 0.1-0.3 points: the drop axis ends near 0.3, not at 100;
     * the accuracy axis stops at 100 % even with labels above a 99 % bar */
    const char *dir = zp_test_tmpdir("plots-axis8");
    zp_tp_write_in(dir, "accuracy.csv",
             "scheme,label,bits,granularity,mode,float_top1,top1\n"
             "symmetric,s8 pt,8,per-tensor,both,0.992,0.991\n"
             "symmetric,s8 pc,8,per-channel,both,0.992,0.989\n"
             "asymmetric,a8 pt,8,per-tensor,both,0.992,0.990\n"
             "asymmetric,a4 pt,4,per-tensor,both,0.992,0.989\n");
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    assert_int_equal(warn.n, 0);
    char *gp = zp_tp_plots_file(dir, "accuracy_top1.gp");
    assert_true(zp_tp_nth_yrange(gp, 0, &lo, &hi));
    assert_true(lo == 0 && hi <= 100 && hi >= 99.1);
    assert_true(zp_tp_nth_yrange(gp, 1, &lo, &hi));
    assert_true(lo == 0 && hi > 0.3 && hi < 0.4);
    free(gp);
    gp = zp_tp_plots_file(dir, "accuracy_vs_bits.gp");
    assert_non_null(strstr(gp, "set yrange [0:100]"));
    free(gp);
    /* drops from 0.3 to 83 points: symlog axis, every bar labelled */
    dir = zp_test_tmpdir("plots-axis1");
    zp_tp_write_in(dir, "accuracy.csv",
             "scheme,label,bits,granularity,mode,float_top1,top1\n"
             "symmetric,s8,8,per-channel,both,0.94,0.937\n"
             "linear4,l4,4,per-channel,both,0.94,0.78\n"
             "binary,b1,1,per-channel,both,0.94,0.107\n");
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    assert_int_equal(warn.n, 0);
    gp = zp_tp_plots_file(dir, "accuracy_top1.gp");
    assert_non_null(strstr(gp, "(zp_y($2))"));
    assert_non_null(strstr(gp, "log beyond 0.1"));
    assert_non_null(strstr(gp, "'0.1' "));
    assert_true(zp_tp_nth_yrange(gp, 1, &lo, &hi));
    assert_true(lo == 0 && hi > log10(1 + 83.3 / 0.1) && hi < 4);
    free(gp);
    assert_true(zp_tp_file_size(dir, "accuracy_top1", "png") > 0);
}

/* The (lt, dt, pt) of every line of a script's plot command. */
static void test_legends_and_line_styles(void **state)
{
    (void)state;
    if (!zp_tp_have_gnuplot())
        skip();
    /* 12 variants, 10 of one scheme: every line differs, the key is above */
    const char *dir = zp_test_tmpdir("plots-lines");
    struct zp_strbuf csv = {0};
    zp_strbuf_printf(&csv, "model,scheme,label,mode,layer_index,layer,sqnr_db,mean_shift\n");
    for (int v = 0; v < 12; v++)
        for (int l = 0; l < 3; l++)
            zp_strbuf_printf(&csv, "m,%s,variant number %d with a long label,both,%d,conv%d,%d,0.01\n",
                           v < 10 ? "symmetric" : "asymmetric", v, l, l, 20 + v + l);
    zp_tp_write_in(dir, "layers.csv", csv.s);
    zp_strbuf_free(&csv);
    /* a model's weights only: groups are layer types, and the title says so */
    zp_tp_write_in(dir, "tensors.csv",
             "source,tensor,distribution,scheme,label,sqnr_db\n"
             "m,conv0,Conv,symmetric,s8,40\nm,conv1,depthwise,symmetric,s8,38\n");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    assert_int_equal(warn.n, 0);
    char *gp = zp_tp_plots_file(dir, "layers_sqnr.gp");
    char styles[16][64];
    size_t n = zp_tp_line_styles(gp, styles, 16);
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(styles[i], styles[j]) == 0)
                fail_msg("lines %zu and %zu share a style: %s", i, j, styles[i]);
    assert_non_null(strstr(gp, "set key outside top center horizontal"));
    free(gp);
    gp = zp_tp_plots_file(dir, "tensors_sqnr.gp");
    assert_non_null(strstr(gp, "by scheme variant and layer type (2 weight tensors"));
    assert_non_null(strstr(gp, "set xlabel 'layer type"));
    assert_null(strstr(gp, "set key outside top")); /* one short title: key at the right */
    free(gp);
    /* the sample's synthetic tensors are grouped by distribution */
    dir = zp_tp_sample_copy("plots-dist");
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    gp = zp_tp_plots_file(dir, "tensors_sqnr.gp");
    assert_non_null(strstr(gp, "by scheme variant and distribution ("));
    free(gp);
}

static void test_hist_channel_rows(void **state)
{
    (void)state;
    if (!zp_tp_have_gnuplot())
        skip();
    /* a per-channel variant's levels are one channel's: its row says which */
    const char *dir = zp_tp_sample_copy("plots-hist");
    zp_tp_write_in(dir, "levels.csv",
             "scheme,label,layer,level,channel\n"
             "symmetric,symmetric 8b per-tensor,conv2_pw,-0.3,\n"
             "symmetric,symmetric 8b per-tensor,conv2_pw,0.3,\n"
             "symmetric,symmetric 8b per-channel,conv2_pw,-0.1,7\n"
             "symmetric,symmetric 8b per-channel,conv2_pw,0.1,7\n");
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    char *gp = zp_tp_plots_file(dir, "weights_hist.gp");
    assert_non_null(strstr(gp, "'symmetric 8b per-channel (channel 7)' 1"));
    assert_non_null(strstr(gp, "'symmetric 8b per-tensor' 0"));
    free(gp);
}

static void test_bench_kernel_figures(void **state)
{
    (void)state;
    if (!zp_tp_have_gnuplot())
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
            if (zp_tp_file_size(a, figs[f], exts[e]) <= 0)
                fail_msg("plots/%s.%s missing", figs[f], exts[e]);
    char path[4400];
    snprintf(path, sizeof path, "%s/report.md", a);
    struct stat sb;
    assert_true(stat(path, &sb) != 0);
    char *style = zp_tp_plots_file(a, "style.gp");
    assert_string_equal(style, zp_plot_style_text());
    free(style);
    const char *b = zp_test_tmpdir("plots-bench-plot");
    assert_int_equal(zp_test_sh(NULL, "cp %s/kernels.csv %s/peaks.csv '%s'/", SAMPLE, SAMPLE, b), 0);
    assert_int_equal(zp_plots_render(b, &warn, &err), ZP_OK);
    for (size_t f = 0; f < 2; f++) {
        char file[128];
        snprintf(file, sizeof file, "%s.gp", figs[f]);
        char *ga = zp_tp_plots_file(a, file), *gb = zp_tp_plots_file(b, file);
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

/* A summary.csv row is a cell's only when exactly one row matches: two cells that
 * differ in a column summary.csv lacks (calib_size) get no interval, not the
 * other's. */
static void test_summary_row_lookup(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("plots-sumrow");
    zp_tp_write_in(dir, "accuracy.csv",
                   "model,scheme,label,bits,granularity,mode,calibration,calib_size,top1\n"
                   "m,symmetric,s8,8,per-channel,both,minmax,50,0.8\n"
                   "m,symmetric,s8,8,per-channel,both,minmax,400,0.82\n"
                   "m,symmetric,s8,8,per-channel,weights,none,,0.85\n"
                   "m,symmetric,s4,4,per-channel,weights,none,,0.5\n");
    zp_tp_write_in(dir, "summary.csv",
                   "cell,model,dataset,scheme,label,bits,granularity,mode,calibration,top1_lo,top1_hi\n"
                   "c0,m,d,symmetric,s8,8,per-channel,both,minmax,0.7,0.9\n"
                   "c1,m,d,symmetric,s8,8,per-channel,both,minmax,0.71,0.91\n"
                   "c2,m,d,symmetric,s8,8,per-channel,weights,none,0.8,0.9\n");
    struct zp_plot_run r;
    memset(&r, 0, sizeof r);
    struct zp_err err = {0};
    assert_int_equal(zp_plot_run_load(&r, dir, &err), ZP_OK);
    double lo, hi;
    assert_int_equal(zp_plot_summary_row(&r, &r.accuracy, 0), -1); /* ambiguous */
    assert_int_equal(zp_plot_interval(&r, &r.accuracy, 1, "top1", 100, &lo, &hi), 0);
    assert_true(isnan(lo) && isnan(hi));
    /* dataset is absent from accuracy.csv: it does not take part in the match */
    assert_int_equal(zp_plot_summary_row(&r, &r.accuracy, 2), 2);
    assert_int_equal(zp_plot_interval(&r, &r.accuracy, 2, "top1", 100, &lo, &hi), 1);
    assert_true(zp_test_close(lo, 80, 1e-12) && zp_test_close(hi, 90, 1e-12));
    assert_int_equal(zp_plot_summary_row(&r, &r.accuracy, 3), -1); /* no row */
    assert_int_equal(zp_plot_interval(&r, &r.accuracy, 2, "drop", 1, &lo, &hi), 0); /* no such column */
    zp_plot_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_style_single_source),
        cmocka_unit_test(test_all_zero_bars),
        cmocka_unit_test(test_top1_per_model),
        cmocka_unit_test(test_lm_figures),
        cmocka_unit_test(test_failed_figure_is_warning),
        cmocka_unit_test(test_atomic_outputs),
        cmocka_unit_test(test_axes_fit),
        cmocka_unit_test(test_legends_and_line_styles),
        cmocka_unit_test(test_hist_channel_rows),
        cmocka_unit_test(test_bench_kernel_figures),
        cmocka_unit_test(test_run_survives_figures),
        cmocka_unit_test(test_summary_row_lookup),
    };
    return ZP_RUN_TESTS(tests);
}
