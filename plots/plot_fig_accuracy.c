/* Model-accuracy figures from accuracy.csv: top-1 and drop by scheme and
 * granularity, accuracy against bits, nudged vs not, calibration method and
 * calibration-set size, and PTQ next to QAT. Summary figures use one PTQ mode
 * (zp_plot_primary_mode) so that weight-only and full-integer rows never mix. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plots/plot_int.h"

struct acc_cols {
    int scheme, bits, gran, mode, calib, nudge, top1, drop, calib_size;
};

static struct acc_cols acc_cols(const struct zp_table *t)
{
    struct acc_cols c = {
        .scheme = zp_table_col(t, "scheme"),
        .bits = zp_table_col(t, "bits"),
        .gran = zp_table_col(t, "granularity"),
        .mode = zp_table_col(t, "mode"),
        .calib = zp_table_col(t, "calibration"),
        .nudge = zp_table_col(t, "nudge_zero"),
        .top1 = zp_table_col(t, "top1"),
        .drop = zp_table_col(t, "drop"),
        .calib_size = zp_table_col(t, "calib_size"),
    };
    return c;
}

static int is_mode(const struct zp_table *t, size_t i, const struct acc_cols *c, const char *mode)
{
    return c->mode < 0 || strcmp(zp_table_str(t, i, c->mode), mode) == 0;
}

/* drop in points */
static double row_drop(const struct zp_table *t, size_t i, const struct acc_cols *c)
{
    (void)c;
    return zp_plot_drop_points(t, i);
}

/* The float top-1 of one model (its rows all carry it), or of the run when model is
 * NULL: a figure of one model's bars must not draw the mean of several models' floats. */
static double model_float_top1(const struct zp_plot_run *r, const char *model)
{
    if (!model)
        return zp_plot_float_top1(r);
    const struct zp_table *t = &r->accuracy;
    int cm = zp_table_col(t, "model"), cf = zp_table_col(t, "float_top1");
    for (size_t i = 0; cm >= 0 && cf >= 0 && i < t->nrows; i++)
        if (strcmp(zp_table_str(t, i, cm), model) == 0 && !isnan(zp_table_num(t, i, cf)))
            return zp_table_num(t, i, cf);
    return NAN;
}

static void float_line_of(const struct zp_plot_run *r, const char *model, char *out, size_t n)
{
    double f = model_float_top1(r, model);
    if (isnan(f))
        out[0] = '\0';
    else
        snprintf(out, n, "(%.4g) with lines lc rgb zp_ref_colour dt 2 lw 2 title 'float (%.2f%%)'",
                 100.0 * f, 100.0 * f);
}


static void scheme_bits(const struct zp_table *t, size_t i, const struct acc_cols *c, char *out,
                        size_t n)
{
    const char *bits = zp_table_str(t, i, c->bits);
    snprintf(out, n, "%s%s%s%s", zp_table_str(t, i, c->scheme), *bits ? " " : "", bits,
             *bits ? "b" : "");
}

/* The error bar that row i brings to bar (group, series): its cell's 95 % interval of
 * `metric` from summary.csv (times scale), or NaN when it has none, so that a bar
 * averaging several cells, or one without a summary.csv row, is drawn without one
 * (zp_bars_interval). Nothing when the run has no summary.csv. */
static void bar_iv(const struct zp_plot_run *r, struct zp_bars *b, const char *group, const char *series,
                   const struct zp_table *t, size_t i, const char *metric, double scale)
{
    if (!r->has_summary)
        return;
    double lo, hi;
    zp_plot_interval(r, t, i, metric, scale, &lo, &hi);
    zp_bars_interval(b, group, series, lo, hi);
}

/* A figure's caption: text, then what its error bars are (when it has any). */
static void bars_caption(char *cap, size_t n, const char *text, const struct zp_bars *b)
{
    char ivc[300];
    size_t without = 0, with = zp_bars_count_intervals(b, &without);
    zp_plot_interval_caption(ivc, sizeof ivc, with, without);
    snprintf(cap, n, "%s%s", text, ivc);
}

/* Slots of the "best variant" figures: mode + scheme + bits (+ granularity). */
struct slot_ctx {
    const struct acc_cols *c;
    const char *mode;
    int by_gran;
    const char *model; /* only this model's rows (NULL: every row) */
};
static int slot_of(const struct zp_table *t, size_t i, char *out, size_t n, const void *ctx)
{
    const struct slot_ctx *sc = ctx;
    if (!is_mode(t, i, sc->c, sc->mode))
        return 0;
    if (sc->model && strcmp(zp_table_str(t, i, zp_table_col(t, "model")), sc->model) != 0)
        return 0;
    snprintf(out, n, "%s|%s|%s", zp_table_str(t, i, sc->c->scheme), zp_table_str(t, i, sc->c->bits),
             sc->by_gran ? zp_table_str(t, i, sc->c->gran) : "");
    return 1;
}

/* One figure per model (a multi-model run's first model keeps the plain name,
 * the others get _<model>, as the per-layer figures do): bars of different models
 * in one slot would otherwise show the first model against the mean float line. */
static enum zp_status fig_top1(struct zp_plot_run *r, const char *mode, const char *model,
                               const char *suffix, struct zp_err *err)
{
    const struct zp_table *t = &r->accuracy;
    struct acc_cols c = acc_cols(t);
    if (c.top1 < 0)
        return ZP_OK;
    /* one variant per bar, chosen on the select split (never on these rows' top-1);
     * a bar is the mean over that variant's replicates */
    struct zp_bars top = {.colour_by_group = 1, .value_fmt = "%.1f", .y_cap = 100,
                          .ylabel = "top-1 accuracy (%)"};
    struct zp_bars negdrop = {.colour_by_group = 1};
    unsigned char *keep = malloc(t->nrows ? t->nrows : 1);
    if (!keep)
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    struct slot_ctx sc = {&c, mode, 1, model};
    int sel = zp_plot_choose(t, slot_of, &sc, keep);
    struct zp_bars drop_iv = {0}; /* intervals of the drop panel, moved over below */
    for (size_t i = 0; i < t->nrows; i++) {
        if (!keep[i])
            continue;
        char group[160];
        scheme_bits(t, i, &c, group, sizeof group);
        const char *gran = zp_table_str(t, i, c.gran);
        const char *sch = zp_table_str(t, i, c.scheme);
        double v = zp_table_num(t, i, c.top1);
        if (isnan(v))
            continue;
        zp_bars_add(&top, group, sch, *gran ? gran : "all", "", 100.0 * v);
        zp_bars_add(&negdrop, group, sch, *gran ? gran : "all", "", -row_drop(t, i, &c));
        /* error bars: the cell's 95 % bootstrap interval over examples (summary.csv) */
        bar_iv(r, &top, group, *gran ? gran : "all", t, i, "top1", 100.0);
        bar_iv(r, &drop_iv, group, *gran ? gran : "all", t, i, "drop", 1.0);
    }
    free(keep);
    /* The drop panel shows the drop of the same variant as the top panel (same
     * insertion order, so same bars). */
    /* Its axis fits the drops: symlog when they span decades (8-bit drops of
     * 0.1-0.3 points next to a binary variant's 80), each bar labelled. */
    struct zp_bars drop = {.colour_by_group = 1, .symlog_ok = 1, .value_fmt = "%.2f",
                           .ylabel = "drop (points)"};
    for (size_t s = 0; s < negdrop.series.n; s++)
        zp_bars_series(&drop, negdrop.series.v[s]);
    for (size_t g = 0; g < negdrop.groups.n; g++)
        for (size_t s = 0; s < negdrop.series.n; s++)
            zp_bars_add(&drop, negdrop.groups.v[g], zp_bars_group_scheme(&negdrop, g),
                        negdrop.series.v[s], "", -zp_bars_get(&negdrop, g, s));
    for (size_t k = 0; k < drop_iv.n_iv; k++) /* NaN entries too: a bar without one stays so */
        zp_bars_interval(&drop, drop_iv.iv[k].group, drop_iv.iv[k].series, drop_iv.iv[k].lo, drop_iv.iv[k].hi);
    zp_bars_free(&drop_iv);
    enum zp_status st = ZP_OK;
    if (top.groups.n) {
        char fl[256], name[160], dname[180], of[120];
        float_line_of(r, model, fl, sizeof fl);
        snprintf(name, sizeof name, "accuracy_top1%s", suffix);
        snprintf(dname, sizeof dname, "accuracy_top1_drop%s", suffix);
        snprintf(of, sizeof of, "%s%.100s", model ? ", " : "", model ? model : "");
        struct zp_strbuf gp = {0};
        zp_plot_script_begin(&gp, name, "top-1 accuracy and drop by scheme and granularity",
                             "../accuracy.csv (columns scheme, bits, granularity, mode, top1, drop)");
        zp_strbuf_printf(&gp, "set multiplot layout 2,1 title 'Top-1 accuracy by scheme and "
                            "granularity (PTQ, mode %s; %s%s)'\n", mode,
                       sel ? "variant chosen on the select split" : "no selection: first variant", of);
        zp_strbuf_printf(&gp, "set rmargin at screen 0.82\n");
        st = zp_bars_emit(r, &top, name, &gp, fl, err);
        zp_strbuf_printf(&gp, "unset key\n");
        if (st == ZP_OK)
            st = zp_bars_emit(r, &drop, dname, &gp, NULL, err);
        zp_strbuf_printf(&gp, "unset multiplot\n");
        char text[800], cap[1100];
        snprintf(text, sizeof text,
                 "Top-1 accuracy (%%, top) and drop against the float model (points, bottom) of "
                 "each scheme and bit width per granularity (%s); the dashed line is the float model. "
                 "When the drops span decades the drop axis is linear near 0 and logarithmic "
                 "beyond (tick labels are the drops), so small drops stay visible. Significance of "
                 "each drop: the report's significance section.",
                 zp_plot_choice_words(sel));
        bars_caption(cap, sizeof cap, text, &top);
        char title[200];
        snprintf(title, sizeof title, "Top-1 accuracy and drop by scheme and granularity%s%.100s",
                 model ? ": " : "", model ? model : "");
        st = zp_plot_fig_finish(r, &gp, name, title, cap, st, err);
    }
    zp_bars_free(&top);
    zp_bars_free(&negdrop);
    zp_bars_free(&drop);
    return st;
}

static enum zp_status fig_bits(struct zp_plot_run *r, const char *mode, struct zp_err *err)
{
    const struct zp_table *t = &r->accuracy;
    struct acc_cols c = acc_cols(t);
    if (c.top1 < 0 || c.bits < 0)
        return ZP_OK;
    /* x: the storage cost (bits_per_weight, scales included) when the table has
     * it, else the element bits; one line per family (the scheme, and for lut4 the
     * scheme and its codebook); per (scheme, bits) the variant chosen on the select
     * split, never the best on the evaluation set. */
    int bpw = zp_table_col(t, "bits_per_weight"), opts = zp_table_col(t, "options");
    int use_bpw = 0;
    for (size_t i = 0; bpw >= 0 && i < t->nrows && !use_bpw; i++)
        use_bpw = is_mode(t, i, &c, mode) && !isnan(zp_table_num(t, i, bpw));
    struct zp_bars best = {0};
    struct zp_strset bitset = {0};
    unsigned char *keep = malloc(t->nrows ? t->nrows : 1);
    if (!keep)
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    struct slot_ctx sc = {&c, mode, 0, NULL};
    int sel = zp_plot_choose(t, slot_of, &sc, keep);
    for (size_t i = 0; i < t->nrows; i++) {
        if (!keep[i])
            continue;
        char xs[32], fam[96];
        double x = zp_table_num(t, i, use_bpw ? bpw : c.bits);
        if (isnan(x))
            continue;
        snprintf(xs, sizeof xs, "%.4f", x);
        const char *bits = use_bpw ? xs : zp_table_str(t, i, c.bits);
        const char *cb = opts >= 0 ? strstr(zp_table_str(t, i, opts), "codebook=") : NULL;
        snprintf(fam, sizeof fam, "%s%s%.*s", zp_table_str(t, i, c.scheme), cb ? " " : "",
                 cb ? (int)strcspn(cb + 9, ";") : 0, cb ? cb + 9 : "");
        zp_strset_add(&bitset, bits);
        zp_bars_add(&best, fam, zp_table_str(t, i, c.scheme), bits, NULL, 100.0 * zp_table_num(t, i, c.top1));
        if (!isnan(zp_table_num(t, i, c.top1)))
            bar_iv(r, &best, fam, bits, t, i, "top1", 100.0);
    }
    enum zp_status st = ZP_OK;
    if (bitset.n >= 2) {
        struct zp_lines lines = {0};
        for (size_t g = 0; g < best.groups.n; g++) {
            /* the family's scheme gives the colour ("lut4 kmeans" is lut4's) */
            struct zp_line *l = zp_lines_get(&lines, best.groups.v[g], zp_bars_group_scheme(&best, g));
            for (size_t s = 0; s < best.series.n; s++) {
                double v = zp_bars_get(&best, g, s), lo, hi;
                zp_bars_get_interval(&best, g, s, &lo, &hi);
                if (!isnan(v))
                    zp_line_add_iv(l, atof(best.series.v[s]), v, lo, hi, NULL);
            }
        }
        char fl[256];
        float_line_of(r, NULL, fl, sizeof fl);
        struct zp_strbuf gp = {0};
        zp_plot_script_begin(&gp, "accuracy_vs_bits", "top-1 accuracy against bits per weight",
                             use_bpw ? "../accuracy.csv (columns scheme, options, bits_per_weight, "
                                       "mode, top1)"
                                     : "../accuracy.csv (columns scheme, bits, mode, top1)");
        zp_strbuf_printf(&gp, "set title 'Top-1 accuracy against bits per weight (PTQ, mode %s; %s)'\n", mode,
                         sel ? "variant chosen on the select split" : "no selection: first variant");
        zp_strbuf_printf(&gp, "set xlabel '%s'\nset ylabel 'top-1 accuracy (%%)'\n"
                            "set logscale x 2\nset xtics (1, 2, 3, 4, 6, 8, 16)\n"
                            "set xrange [0.8:%s]\nset yrange [0:100]\n",
                       use_bpw ? "bits per weight (scales and codebooks included)"
                               : "bits per weight",
                       use_bpw ? "18" : "10");
        lines.shorten_titles = 1;
        st = zp_lines_emit(r, &lines, "accuracy_vs_bits", &gp, 0, fl, err);
        char text[900], cap[1200];
        snprintf(text, sizeof text,
                 "Top-1 accuracy of each scheme family at each %s (%s), one line per family "
                 "(lut4: per codebook); the dashed line is the float model.",
                 use_bpw ? "storage cost (bits_per_weight: element bits plus every scale, zero point "
                           "and codebook, weighted over the model's weights)"
                         : "bit width",
                 zp_plot_choice_words(sel));
        bars_caption(cap, sizeof cap, text, &best);
        st = zp_plot_fig_finish(r, &gp, "accuracy_vs_bits", "Accuracy against bits per weight", cap, st, err);
        zp_lines_free(&lines);
    }
    zp_strset_free(&bitset);
    zp_bars_free(&best);
    free(keep);
    return st;
}

/* The pairing key of a row: model + label without its nudge words, so that
 * "A4 nudged: ... nudge_zero=true" pairs with "A4 naive: ... nudge_zero=false". */
static void nudge_key(const struct zp_table *t, size_t i, char *key, size_t n)
{
    char label[256], tmp[256];
    zp_plot_row_label(t, i, label, sizeof label);
    const char *words[] = {" nudged", " naive"};
    for (size_t w = 0; w < 2; w++) {
        char *p;
        while ((p = strstr(label, words[w])) != NULL)
            memmove(p, p + strlen(words[w]), strlen(p + strlen(words[w])) + 1);
    }
    zp_plot_strip_word(label, "nudge", tmp, sizeof tmp);
    int cm = zp_table_col(t, "model");
    snprintf(key, n, "%s%s%s", cm >= 0 ? zp_table_str(t, i, cm) : "", cm >= 0 ? ": " : "", tmp);
}

/* Rows of one calibration setting only (the first row's), so that bars compare
 * like with like instead of mixing methods and set sizes. */
static int same_calibration(const struct zp_table *t, size_t i, const struct acc_cols *c,
                            size_t ref)
{
    if (c->calib >= 0 && strcmp(zp_table_str(t, i, c->calib), zp_table_str(t, ref, c->calib)))
        return 0;
    if (c->calib_size >= 0 &&
        strcmp(zp_table_str(t, i, c->calib_size), zp_table_str(t, ref, c->calib_size)))
        return 0;
    return 1;
}

static enum zp_status fig_nudge(struct zp_plot_run *r, const char *mode, struct zp_err *err)
{
    const struct zp_table *t = &r->accuracy;
    struct acc_cols c = acc_cols(t);
    if (c.nudge < 0 || c.top1 < 0)
        return ZP_OK;
    size_t ref = t->nrows;
    for (size_t i = 0; i < t->nrows && ref == t->nrows; i++)
        if (zp_table_bool(t, i, c.nudge) >= 0 && is_mode(t, i, &c, mode))
            ref = i;
    struct zp_strset keys[2] = {{0}, {0}};
    for (size_t i = 0; i < t->nrows; i++) {
        int nz = zp_table_bool(t, i, c.nudge);
        if (nz < 0 || !is_mode(t, i, &c, mode) || !same_calibration(t, i, &c, ref))
            continue;
        char key[300];
        nudge_key(t, i, key, sizeof key);
        zp_strset_add(&keys[nz], key);
    }
    struct zp_bars b = {.colour_by_group = 1, .value_fmt = "%.2f", .symlog_ok = 1};
    zp_bars_series(&b, "nudge_zero=false");
    zp_bars_series(&b, "nudge_zero=true");
    for (size_t i = 0; i < t->nrows; i++) {
        int nz = zp_table_bool(t, i, c.nudge);
        if (nz < 0 || !is_mode(t, i, &c, mode) || !same_calibration(t, i, &c, ref))
            continue;
        char key[300];
        nudge_key(t, i, key, sizeof key);
        if (zp_strset_find(&keys[0], key) < 0 || zp_strset_find(&keys[1], key) < 0)
            continue;
        const char *series = nz ? "nudge_zero=true" : "nudge_zero=false";
        double d = row_drop(t, i, &c);
        zp_bars_add(&b, key, zp_table_str(t, i, c.scheme), series, "", d);
        if (!isnan(d))
            bar_iv(r, &b, key, series, t, i, "drop", 1.0);
    }
    char cal[160] = "", title[300];
    if (ref < t->nrows && c.calib >= 0)
        snprintf(cal, sizeof cal, ", calibration %s%s%s", zp_table_str(t, ref, c.calib),
                 c.calib_size >= 0 && *zp_table_str(t, ref, c.calib_size) ? " " : "",
                 c.calib_size >= 0 ? zp_table_str(t, ref, c.calib_size) : "");
    snprintf(title, sizeof title, "Accuracy drop: exact zero (nudged) vs naive min/max (mode %s%s)",
             mode, cal);
    char cap[700];
    bars_caption(cap, sizeof cap,
                 "Top-1 drop (points, lower is better) of each variant with the range nudged so that "
                 "0.0 is exact, next to the same variant with naive min/max (mean over replicates).",
                 &b);
    const struct zp_bar_fig f = {
        .name = "accuracy_nudge", .what = "accuracy drop, nudged zero vs naive min/max",
        .sources = "../accuracy.csv (columns label, nudge_zero, mode, drop)",
        .title = title, .ylabel = "top-1 drop vs float (points)",
        .heading = "Accuracy drop, nudged vs not", .caption = cap,
    };
    enum zp_status st = zp_plot_bar_figure(r, &f, &b, err);
    zp_bars_free(&b);
    zp_strset_free(&keys[0]);
    zp_strset_free(&keys[1]);
    return st;
}

static int calibrated_mode(const struct zp_table *t, size_t i, const struct acc_cols *c)
{
    /* activation ranges come from calibration; weight-only rows don't depend on it */
    return is_mode(t, i, c, "activations") || is_mode(t, i, c, "both");
}

static enum zp_status fig_calibration(struct zp_plot_run *r, struct zp_err *err)
{
    const struct zp_table *t = &r->accuracy;
    struct acc_cols c = acc_cols(t);
    if (c.calib < 0 || c.top1 < 0)
        return ZP_OK;
    /* only variants measured with two methods or more: the comparison is the point */
    struct zp_bars count = {0};
    for (size_t i = 0; i < t->nrows; i++) {
        const char *cal = zp_table_str(t, i, c.calib);
        if (!calibrated_mode(t, i, &c) || !*cal)
            continue;
        char label[256], key[256];
        zp_plot_row_label(t, i, label, sizeof label);
        zp_plot_strip_word(label, "calibration", key, sizeof key);
        zp_bars_add(&count, key, NULL, cal, NULL, 1.0);
    }
    struct zp_bars b = {.colour_by_group = 1, .value_fmt = "%.2f", .symlog_ok = 1};
    for (size_t i = 0; i < t->nrows; i++) {
        const char *cal = zp_table_str(t, i, c.calib);
        if (!calibrated_mode(t, i, &c) || !*cal)
            continue;
        char label[256], key[256];
        zp_plot_row_label(t, i, label, sizeof label);
        zp_plot_strip_word(label, "calibration", key, sizeof key);
        size_t methods = 0;
        int g = zp_strset_find(&count.groups, key);
        for (size_t s = 0; s < count.series.n; s++)
            methods += !isnan(zp_bars_get(&count, (size_t)g, s));
        double d = row_drop(t, i, &c);
        if (methods >= 2 && !isnan(d)) {
            zp_bars_add(&b, key, zp_table_str(t, i, c.scheme), cal, "", d);
            bar_iv(r, &b, key, cal, t, i, "drop", 1.0);
        }
    }
    zp_bars_free(&count);
    enum zp_status st = ZP_OK;
    if (b.series.n >= 2) {
        char cap[800];
        bars_caption(cap, sizeof cap,
                     "Top-1 drop (points) of each variant whose activations are quantized, for each "
                     "method of choosing activation ranges (fill pattern), mean over the other settings "
                     "and the replicates.",
                     &b);
        const struct zp_bar_fig f = {
            .name = "accuracy_calibration", .what = "accuracy drop by calibration method",
            .sources = "../accuracy.csv (columns label, calibration, mode, drop)",
            .title = "Accuracy drop by calibration method (activation ranges)",
            .ylabel = "top-1 drop vs float (points)",
            .heading = "Accuracy drop by calibration method", .caption = cap,
        };
        st = zp_plot_bar_figure(r, &f, &b, err);
    }
    zp_bars_free(&b);
    if (st != ZP_OK || c.calib_size < 0)
        return st;

    /* a point per (variant and method, size): the mean over the replicates of its
     * rows, with its cell's interval (zp_bars does both) */
    struct zp_bars pts = {0};
    struct zp_strset sizes = {0};
    for (size_t i = 0; i < t->nrows; i++) {
        double n = zp_table_num(t, i, c.calib_size), d = row_drop(t, i, &c);
        if (!calibrated_mode(t, i, &c) || isnan(n) || isnan(d))
            continue;
        char label[256], key[256], title[300];
        zp_plot_row_label(t, i, label, sizeof label);
        zp_plot_strip_word(label, "calibration", key, sizeof key);
        snprintf(title, sizeof title, "%s, %s", key, zp_table_str(t, i, c.calib));
        const char *size = zp_table_str(t, i, c.calib_size);
        zp_bars_add(&pts, title, zp_table_str(t, i, c.scheme), size, NULL, d);
        bar_iv(r, &pts, title, size, t, i, "drop", 1.0);
        zp_strset_add(&sizes, size);
    }
    struct zp_lines lines = {0};
    size_t with = 0, without = 0;
    for (size_t g = 0; g < pts.groups.n; g++) {
        struct zp_line *l = zp_lines_get(&lines, pts.groups.v[g], zp_bars_group_scheme(&pts, g));
        for (size_t s = 0; s < pts.series.n; s++) {
            double v = zp_bars_get(&pts, g, s), lo, hi;
            if (isnan(v))
                continue;
            zp_bars_get_interval(&pts, g, s, &lo, &hi);
            zp_line_add_iv(l, atof(pts.series.v[s]), v, lo, hi, NULL);
        }
    }
    /* a line needs two sizes; drop the single points (every other variant at the default) */
    zp_lines_keep(&lines, 2);
    for (size_t k = 0; k < lines.n; k++)
        for (size_t j = 0; j < lines.v[k].n; j++) {
            with += !isnan(lines.v[k].lo[j]);
            without += isnan(lines.v[k].lo[j]);
        }
    if (sizes.n >= 2 && lines.n) {
        char cap[700], ivc[300];
        zp_plot_interval_caption(ivc, sizeof ivc, pts.n_iv ? with : 0, without);
        snprintf(cap, sizeof cap,
                 "Top-1 drop (points) against the number of calibration examples, one line per "
                 "variant and calibration method (mean over replicates).%s",
                 ivc);
        struct zp_strbuf gp = {0};
        zp_plot_script_begin(&gp, "accuracy_calib_size", "accuracy drop against calibration-set size",
                             "../accuracy.csv (columns label, calibration, calib_size, drop)");
        zp_strbuf_printf(&gp, "set title 'Accuracy drop against calibration-set size'\n"
                            "set xlabel 'calibration examples'\nset logscale x 2\n"
                            "set ylabel 'top-1 drop vs float (points)'\n");
        lines.shorten_titles = 1;
        st = zp_lines_emit(r, &lines, "accuracy_calib_size", &gp, 0, NULL, err);
        st = zp_plot_fig_finish(r, &gp, "accuracy_calib_size", "Accuracy drop against calibration-set size",
                                cap, st, err);
    }
    zp_strset_free(&sizes);
    zp_lines_free(&lines);
    zp_bars_free(&pts);
    return st;
}

static enum zp_status fig_qat(struct zp_plot_run *r, struct zp_err *err)
{
    const struct zp_table *t = &r->accuracy;
    struct acc_cols c = acc_cols(t);
    if (c.mode < 0 || c.top1 < 0)
        return ZP_OK;
    struct zp_strset qat = {0};
    for (size_t i = 0; i < t->nrows; i++)
        if (is_mode(t, i, &c, "qat")) {
            char label[256];
            zp_plot_row_label(t, i, label, sizeof label);
            zp_strset_add(&qat, label);
        }
    /* a bar: the mean over the variant's replicates */
    struct zp_bars b = {.colour_by_group = 1, .value_fmt = "%.1f", .y_cap = 100};
    zp_bars_series(&b, "PTQ");
    zp_bars_series(&b, "QAT");
    /* PTQ partner: same variant label; mode "both" preferred, like the QAT model
     * (weights and activations fake-quantized), else the mean of the other PTQ rows. */
    int has_both = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        char label[256];
        zp_plot_row_label(t, i, label, sizeof label);
        if (zp_strset_find(&qat, label) >= 0 && is_mode(t, i, &c, "both"))
            has_both = 1;
    }
    for (size_t i = 0; i < t->nrows; i++) {
        char label[256];
        zp_plot_row_label(t, i, label, sizeof label);
        if (zp_strset_find(&qat, label) < 0)
            continue;
        int q = is_mode(t, i, &c, "qat");
        if (!q && has_both && !is_mode(t, i, &c, "both"))
            continue;
        double v = zp_table_num(t, i, c.top1);
        zp_bars_add(&b, label, zp_table_str(t, i, c.scheme), q ? "QAT" : "PTQ", "", 100.0 * v);
        if (!isnan(v))
            bar_iv(r, &b, label, q ? "QAT" : "PTQ", t, i, "top1", 100.0);
    }
    char fl[256];
    float_line_of(r, NULL, fl, sizeof fl);
    char cap[700];
    bars_caption(cap, sizeof cap,
                 "Top-1 accuracy (%) of each variant trained with fake quantization (QAT, patterned) "
                 "next to the same variant quantized after training (PTQ, solid), mean over replicates.",
                 &b);
    const struct zp_bar_fig f = {
        .name = "accuracy_qat", .what = "PTQ vs QAT top-1 accuracy by scheme variant",
        .sources = "../accuracy.csv (columns label, mode, top1)",
        .title = "Post-training quantization vs quantization-aware training",
        .ylabel = "top-1 accuracy (%)", .extra_plot = *fl ? fl : NULL, .heading = "PTQ vs QAT",
        .caption = cap,
    };
    enum zp_status st = zp_plot_bar_figure(r, &f, &b, err);
    zp_bars_free(&b);
    zp_strset_free(&qat);
    return st;
}

enum zp_status zp_plot_figs_accuracy(struct zp_plot_run *r, struct zp_err *err)
{
    if (!r->has_accuracy || r->accuracy.nrows == 0)
        return ZP_OK;
    const char *mode = zp_plot_primary_mode(r);
    enum zp_status st = ZP_OK;
    if (mode) {
        struct zp_strset models = {0};
        zp_plot_models(&r->accuracy, &models);
        for (size_t k = 0; k < models.n && st == ZP_OK; k++) {
            char suffix[100] = "";
            if (k > 0)
                zp_plot_model_suffix(models.v[k], suffix, sizeof suffix);
            st = fig_top1(r, mode, models.n > 1 ? models.v[k] : NULL, suffix, err);
        }
        zp_strset_free(&models);
        if (st == ZP_OK)
            st = fig_bits(r, mode, err);
        if (st == ZP_OK)
            st = fig_nudge(r, mode, err);
    }
    if (st == ZP_OK)
        st = fig_calibration(r, err);
    if (st == ZP_OK)
        st = fig_qat(r, err);
    return st;
}
