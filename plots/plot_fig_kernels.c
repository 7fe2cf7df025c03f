/* Kernel figures from kernels.csv (+ peaks.csv): throughput by scheme and shape
 * with the float kernel, the library anchors and the instruction peaks; speedup
 * over our float kernel; and, joined with accuracy.csv on scheme, accuracy
 * against throughput. One thread count per figure: the most frequent one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plots/plot_int.h"

/* Established libraries measured as anchors have their library as kernel name. */
static int is_anchor(const char *kernel)
{
    static const char *const libs[] = {"openblas", "onednn", "dnnl", "mkl", "blis", "xnnpack",
                                       "fbgemm", "ruy", "gemmlowp", "eigen"};
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++)
        if (strncmp(kernel, libs[i], strlen(libs[i])) == 0)
            return 1;
    return 0;
}

struct kcols {
    int kernel, scheme, m, n, k, threads, gops, speedup;
};

static struct kcols kcols(const struct zp_table *t)
{
    struct kcols c = {
        .kernel = zp_table_col(t, "kernel"), .scheme = zp_table_col(t, "scheme"),
        .m = zp_table_col(t, "m"), .n = zp_table_col(t, "n"), .k = zp_table_col(t, "k"),
        .threads = zp_table_col(t, "threads"), .gops = zp_table_col(t, "gops"),
        .speedup = zp_table_col(t, "speedup_vs_f32"),
    };
    return c;
}

static double pick_threads(const struct zp_table *t, const struct kcols *c)
{
    double best = NAN;
    size_t best_n = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        double th = zp_table_num(t, i, c->threads);
        size_t n = 0;
        for (size_t j = 0; j < t->nrows; j++)
            if (zp_table_num(t, j, c->threads) == th)
                n++;
        if (n > best_n || (n == best_n && th < best)) {
            best = th;
            best_n = n;
        }
    }
    return best;
}

static int row_in(const struct zp_table *t, size_t i, const struct kcols *c, double threads)
{
    double th = zp_table_num(t, i, c->threads);
    return isnan(threads) || th == threads;
}

static void shape(const struct zp_table *t, size_t i, const struct kcols *c, char *out, size_t n)
{
    /* depthwise kernels (dw3x3) reuse m, n, k for their own sizes: keep them apart */
    const char *kernel = zp_table_str(t, i, c->kernel);
    snprintf(out, n, "%s%sx%sx%s", strstr(kernel, "dw") ? "dw " : "", zp_table_str(t, i, c->m),
             zp_table_str(t, i, c->n), zp_table_str(t, i, c->k));
}

static void threads_text(double th, char *out, size_t n)
{
    if (isnan(th))
        snprintf(out, n, "threads as measured");
    else
        snprintf(out, n, "%g thread%s", th, th == 1 ? "" : "s");
}

static enum zp_status fig_throughput(struct zp_plot_run *r, double th, struct zp_err *err)
{
    const struct zp_table *t = &r->kernels;
    struct kcols c = kcols(t);
    struct zp_bars b = {.use_max = 1, .log_y = 1};
    /* Our float kernel first, then the schemes, then the anchors: a stable legend. */
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i < t->nrows; i++) {
            if (!row_in(t, i, &c, th))
                continue;
            const char *kernel = zp_table_str(t, i, c.kernel);
            const char *scheme = zp_table_str(t, i, c.scheme);
            int anchor = is_anchor(kernel);
            int is_float = !anchor && strcmp(scheme, "float") == 0;
            if ((pass == 0) != is_float || (pass == 2) != anchor)
                continue;
            char sh[96], series[160];
            shape(t, i, &c, sh, sizeof sh);
            if (anchor)
                snprintf(series, sizeof series, "%s (%s)", kernel, scheme);
            else
                snprintf(series, sizeof series, "%s", scheme);
            double g = zp_table_num(t, i, c.gops);
            if (g > 0) /* log axis */
                zp_bars_add(&b, sh, NULL, series, anchor ? kernel : scheme, g);
        }
    enum zp_status st = ZP_OK;
    if (b.groups.n) {
        char tt[64];
        threads_text(th, tt, sizeof tt);
        struct zp_strbuf extra = {0};
        /* The instruction peaks of this core, scaled to the thread count. */
        if (r->has_peaks) {
            int ccl = zp_table_col(&r->peaks, "class"), cisa = zp_table_col(&r->peaks, "isa");
            int cg = zp_table_col(&r->peaks, "gops_per_core");
            /* one line per instruction family (the text before '_' of the class:
             * fma, vpdpbusd, maddubs, xor...), at its fastest variant */
            struct zp_bars fam = {.use_max = 1};
            for (size_t i = 0; i < r->peaks.nrows; i++) {
                char f[64];
                snprintf(f, sizeof f, "%s", zp_table_str(&r->peaks, i, ccl));
                f[strcspn(f, "_")] = '\0';
                zp_bars_add(&fam, f, NULL, "peak", NULL, zp_table_num(&r->peaks, i, cg));
            }
            size_t nl = 0;
            for (size_t i = 0; i < r->peaks.nrows && nl < 6; i++) {
                char f[64];
                snprintf(f, sizeof f, "%s", zp_table_str(&r->peaks, i, ccl));
                f[strcspn(f, "_")] = '\0';
                double pc = zp_table_num(&r->peaks, i, cg);
                int g = zp_strset_find(&fam.groups, f);
                if (g < 0 || pc != zp_bars_get(&fam, (size_t)g, 0))
                    continue;
                fam.cnt[(size_t)g * fam.scap] = 0; /* one line per family even on ties */
                double p = pc * (isnan(th) ? 1.0 : th);
                if (isnan(p) || p <= 0)
                    continue;
                char title[200];
                snprintf(title, sizeof title, "peak %s (%s)", zp_table_str(&r->peaks, i, ccl),
                         zp_table_str(&r->peaks, i, cisa));
                /* dashes 2..7 of zp_plot_dash: no two peaks alike, none solid like a bar edge */
                zp_strbuf_printf(&extra, "%s(%.6g) with lines lc rgb zp_ref_colour dt %s lw 1.5 title ",
                               nl ? ", \\\n     " : "", p, zp_plot_dash(nl + 1));
                zp_plot_quote(&extra, title);
                nl++;
            }
            zp_bars_free(&fam);
        }
        char title[160];
        snprintf(title, sizeof title, "Kernel throughput by scheme and GEMM shape MxNxK (%s)", tt);
        const struct zp_bar_fig f = {
            .name = "kernel_throughput",
            .what = "kernel throughput by scheme and shape, with float, anchors and peaks",
            .sources = "../kernels.csv (columns kernel, scheme, m, n, k, threads, gops), "
                       "../peaks.csv (class, isa, gops_per_core)",
            .title = title, .xlabel = "GEMM shape MxNxK (dw: depthwise outputs x channels x 9)",
            .ylabel = "throughput (GOP/s, log scale)",
            .settings = "set logscale y\nset yrange [*:*]\nset offsets 0, 0, 0, 0\n",
            .extra_plot = extra.s, .heading = "Kernel throughput",
            .caption = "Throughput (GOP/s, 2*M*N*K per call) of each scheme's fastest kernel per "
                       "GEMM shape, next to our float kernel and the library anchors; dashed lines "
                       "are the measured instruction peaks.",
        };
        st = zp_plot_bar_figure(r, &f, &b, err);
        zp_strbuf_free(&extra);
    }
    zp_bars_free(&b);
    return st;
}

static enum zp_status fig_speedup(struct zp_plot_run *r, double th, struct zp_err *err)
{
    const struct zp_table *t = &r->kernels;
    struct kcols c = kcols(t);
    if (c.speedup < 0)
        return ZP_OK;
    struct zp_bars b = {.use_max = 1, .value_fmt = "%.1f"};
    for (size_t i = 0; i < t->nrows; i++) {
        const char *kernel = zp_table_str(t, i, c.kernel);
        const char *scheme = zp_table_str(t, i, c.scheme);
        if (!row_in(t, i, &c, th) || is_anchor(kernel) || strcmp(scheme, "float") == 0)
            continue;
        char sh[96];
        shape(t, i, &c, sh, sizeof sh);
        zp_bars_add(&b, sh, NULL, scheme, scheme, zp_table_num(t, i, c.speedup));
    }
    enum zp_status st = ZP_OK;
    if (b.groups.n) {
        char tt[64];
        threads_text(th, tt, sizeof tt);
        char title[160];
        snprintf(title, sizeof title, "Speedup over our float kernel (%s)", tt);
        const struct zp_bar_fig f = {
            .name = "kernel_speedup", .what = "speedup over the float kernel by scheme and shape",
            .sources = "../kernels.csv (columns kernel, scheme, m, n, k, threads, speedup_vs_f32)",
            .title = title, .xlabel = "GEMM shape MxNxK (dw: depthwise outputs x channels x 9)",
            .ylabel = "speedup over f32 (x)",
            .extra_plot = "(1) with lines lc rgb zp_ref_colour dt 2 lw 1.5 title 'float (1x)'",
            .heading = "Speedup over float",
            .caption = "Speedup of each scheme's fastest kernel over the harness's own float kernel "
                       "on the same shape in the same run (1x = as fast as float).",
        };
        st = zp_plot_bar_figure(r, &f, &b, err);
    }
    zp_bars_free(&b);
    return st;
}

/* The accuracy slot of a row: its scheme, in the figure's PTQ mode only. */
struct scheme_slot {
    int scheme, mode;
    const char *want_mode;
};
static int scheme_slot_of(const struct zp_table *t, size_t i, char *out, size_t n, const void *ctx)
{
    const struct scheme_slot *s = ctx;
    if (s->mode >= 0 && strcmp(zp_table_str(t, i, s->mode), s->want_mode) != 0)
        return 0;
    snprintf(out, n, "%s", zp_table_str(t, i, s->scheme));
    return 1;
}

static enum zp_status fig_acc_vs_speed(struct zp_plot_run *r, double th, struct zp_err *err)
{
    if (!r->has_accuracy)
        return ZP_OK;
    const struct zp_table *t = &r->kernels, *a = &r->accuracy;
    struct kcols c = kcols(t);
    const char *mode = zp_plot_primary_mode(r);
    if (!mode)
        return ZP_OK;
    /* best gops per (scheme, shape), then the geometric mean over shapes */
    struct zp_bars g = {.use_max = 1};
    for (size_t i = 0; i < t->nrows; i++) {
        if (!row_in(t, i, &c, th) || is_anchor(zp_table_str(t, i, c.kernel)))
            continue;
        /* GEMM shapes only: depthwise kernels exist for two schemes, and their
         * low GOP/s would drag those schemes' means down against the others. */
        if (strstr(zp_table_str(t, i, c.kernel), "_dw"))
            continue;
        char sh[96];
        shape(t, i, &c, sh, sizeof sh);
        double v = zp_table_num(t, i, c.gops);
        if (v > 0)
            zp_bars_add(&g, zp_table_str(t, i, c.scheme), NULL, sh, NULL, v);
    }
    int as = zp_table_col(a, "scheme"), at = zp_table_col(a, "top1"), am = zp_table_col(a, "mode");
    /* One variant per scheme, chosen on the select split (zp_plot_choose), never
     * the highest top-1 on the evaluation set; its point is the mean over its
     * replicates. */
    unsigned char *keep = malloc(a->nrows ? a->nrows : 1);
    if (!keep) {
        zp_bars_free(&g);
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    }
    const struct scheme_slot ss = {as, am, mode};
    int with_select = zp_plot_choose(a, scheme_slot_of, &ss, keep);
    struct zp_lines lines = {0};
    size_t npts = 0;
    for (size_t s = 0; s < g.groups.n; s++) {
        const char *scheme = g.groups.v[s];
        double logsum = 0, acc = NAN;
        size_t n = 0;
        for (size_t k = 0; k < g.series.n; k++) {
            double v = zp_bars_get(&g, s, k);
            if (!isnan(v)) {
                logsum += log(v);
                n++;
            }
        }
        if (strcmp(scheme, "float") == 0) {
            acc = zp_plot_float_top1(r);
        } else {
            double sum = 0;
            size_t k = 0;
            for (size_t i = 0; i < a->nrows; i++) {
                if (!keep[i] || strcmp(zp_table_str(a, i, as), scheme) != 0)
                    continue;
                double v = zp_table_num(a, i, at);
                if (!isnan(v)) {
                    sum += v;
                    k++;
                }
            }
            if (k)
                acc = sum / (double)k;
        }
        if (!n || isnan(acc))
            continue;
        zp_line_add(zp_lines_get(&lines, scheme, scheme), exp(logsum / (double)n), 100.0 * acc, scheme);
        npts++;
    }
    enum zp_status st = ZP_OK;
    if (npts) {
        char tt[64];
        threads_text(th, tt, sizeof tt);
        struct zp_strbuf gp = {0};
        zp_plot_script_begin(&gp, "accuracy_vs_throughput", "top-1 accuracy against kernel throughput",
                             "../accuracy.csv (scheme, mode, top1) joined on scheme with "
                             "../kernels.csv (scheme, gops)");
        zp_strbuf_printf(&gp, "set title 'Accuracy against kernel throughput (PTQ mode %s; %s)'\n", mode, tt);
        zp_strbuf_printf(&gp, "set xlabel 'GEMM throughput, geometric mean over shapes (GOP/s, log scale)'\n"
                            "set ylabel 'top-1 accuracy (%%)'\nset logscale x\nset yrange [0:100]\n"
                            "set offsets graph 0.08, graph 0.08, graph 0.05, 0\n");
        /* each point labelled with its scheme; neighbours' labels at different
         * heights so that close points stay readable */
        struct zp_strbuf lab = {0};
        for (size_t i = 0; i < lines.n; i++)
            zp_strbuf_printf(&lab, "%s'accuracy_vs_throughput.dat' index %zu using 1:2:3 with labels "
                                 "offset char 1,%.1f left notitle",
                           i ? ", \\\n     " : "", i, 0.9 - 1.0 * (double)(i % 3));
        st = zp_lines_emit(r, &lines, "accuracy_vs_throughput", &gp, 0, lab.s, err);
        zp_strbuf_free(&lab);
        char cap[600];
        snprintf(cap, sizeof cap,
                 "One point per scheme: top-1 accuracy (%%) on the evaluation set of one variant "
                 "per scheme (%s) against the geometric-mean throughput of its fastest kernels "
                 "over the benchmarked shapes.",
                 zp_plot_choice_words(with_select));
        st = zp_plot_fig_finish(r, &gp, "accuracy_vs_throughput", "Accuracy against throughput", cap, st,
                                err);
    }
    zp_lines_free(&lines);
    zp_bars_free(&g);
    free(keep);
    return st;
}

enum zp_status zp_plot_figs_kernels(struct zp_plot_run *r, struct zp_err *err)
{
    if (!r->has_kernels || r->kernels.nrows == 0)
        return ZP_OK;
    struct kcols c = kcols(&r->kernels);
    if (c.gops < 0 || c.scheme < 0)
        return ZP_OK;
    double th = c.threads >= 0 ? pick_threads(&r->kernels, &c) : NAN;
    enum zp_status st = fig_throughput(r, th, err);
    if (st == ZP_OK)
        st = fig_speedup(r, th, err);
    if (st == ZP_OK)
        st = fig_acc_vs_speed(r, th, err);
    return st;
}
