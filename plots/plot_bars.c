/* Grouped bars: the (group, series) table a bar chart is built from, the data
 * file and plot command it writes, with an axis that always fits its values, and
 * the one helper that turns a table into a whole figure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plots/plot_int.h"

static int bars_grow(struct zp_bars *b, size_t ng, size_t ns)
{
    if (ng <= b->gcap && ns <= b->scap)
        return 0;
    size_t gc = b->gcap ? b->gcap : 8, sc = b->scap ? b->scap : 8;
    while (gc < ng)
        gc *= 2;
    while (sc < ns)
        sc *= 2;
    double *sum = calloc(gc * sc, sizeof *sum), *best = calloc(gc * sc, sizeof *best);
    size_t *cnt = calloc(gc * sc, sizeof *cnt);
    if (!sum || !best || !cnt) {
        free(sum);
        free(best);
        free(cnt);
        return -1;
    }
    for (size_t g = 0; g < b->gcap; g++)
        for (size_t s = 0; s < b->scap; s++) {
            sum[g * sc + s] = b->sum[g * b->scap + s];
            best[g * sc + s] = b->best[g * b->scap + s];
            cnt[g * sc + s] = b->cnt[g * b->scap + s];
        }
    free(b->sum);
    free(b->best);
    free(b->cnt);
    b->sum = sum;
    b->best = best;
    b->cnt = cnt;
    b->gcap = gc;
    b->scap = sc;
    return 0;
}

void zp_bars_add(struct zp_bars *b, const char *group, const char *group_scheme,
                 const char *series, const char *series_scheme, double v)
{
    if (isnan(v))
        return;
    int g = zp_strset_add(&b->groups, group);
    int s = zp_strset_add(&b->series, series);
    if (g < 0 || s < 0)
        return;
    char key[128];
    if ((size_t)g == b->group_scheme.n) {
        snprintf(key, sizeof key, "%d|%s", g, group_scheme ? group_scheme : "");
        zp_strset_add(&b->group_scheme, key);
    }
    if ((size_t)s == b->series_scheme.n) {
        snprintf(key, sizeof key, "%d|%s", s, series_scheme ? series_scheme : "");
        zp_strset_add(&b->series_scheme, key);
    }
    if (bars_grow(b, b->groups.n, b->series.n) != 0)
        return;
    size_t i = (size_t)g * b->scap + (size_t)s;
    if (b->cnt[i] == 0 || v > b->best[i])
        b->best[i] = v;
    b->sum[i] += v;
    b->cnt[i]++;
}

double zp_bars_get(const struct zp_bars *b, size_t g, size_t s)
{
    if (g >= b->groups.n || s >= b->series.n)
        return NAN;
    size_t i = g * b->scap + s;
    if (!b->cnt[i])
        return NAN;
    return b->use_max ? b->best[i] : b->sum[i] / (double)b->cnt[i];
}

void zp_bars_free(struct zp_bars *b)
{
    zp_strset_free(&b->groups);
    zp_strset_free(&b->series);
    zp_strset_free(&b->group_scheme);
    zp_strset_free(&b->series_scheme);
    free(b->sum);
    free(b->best);
    free(b->cnt);
    free(b->iv);
    memset(b, 0, sizeof *b);
}

static struct zp_bar_interval *interval_find(const struct zp_bars *b, const char *group, const char *series)
{
    for (size_t i = 0; i < b->n_iv; i++)
        if (!strcmp(b->iv[i].group, group) && !strcmp(b->iv[i].series, series))
            return &b->iv[i];
    return NULL;
}

void zp_bars_interval(struct zp_bars *b, const char *group, const char *series, double lo, double hi)
{
    struct zp_bar_interval *e = interval_find(b, group, series);
    if (e) {
        /* the replicates of one cell bring the same interval; anything else means
         * the bar averages several cells, and no one interval is the bar's */
        if (!(e->lo == lo && e->hi == hi))
            e->lo = e->hi = NAN;
        return;
    }
    if (b->n_iv == b->iv_cap) {
        size_t nc = b->iv_cap ? b->iv_cap * 2 : 16;
        struct zp_bar_interval *n = realloc(b->iv, nc * sizeof *n);
        if (!n)
            return;
        b->iv = n;
        b->iv_cap = nc;
    }
    e = &b->iv[b->n_iv++];
    snprintf(e->group, sizeof e->group, "%s", group);
    snprintf(e->series, sizeof e->series, "%s", series);
    e->lo = isnan(hi) ? NAN : lo;
    e->hi = isnan(lo) ? NAN : hi;
}

int zp_bars_get_interval(const struct zp_bars *b, size_t g, size_t s, double *lo, double *hi)
{
    *lo = *hi = NAN;
    if (g >= b->groups.n || s >= b->series.n)
        return 0;
    const struct zp_bar_interval *e = interval_find(b, b->groups.v[g], b->series.v[s]);
    if (!e || isnan(e->lo) || isnan(e->hi))
        return 0;
    *lo = e->lo;
    *hi = e->hi;
    return 1;
}

size_t zp_bars_count_intervals(const struct zp_bars *b, size_t *without)
{
    size_t with = 0, none = 0;
    double lo, hi;
    for (size_t g = 0; b->n_iv && g < b->groups.n; g++)
        for (size_t s = 0; s < b->series.n; s++) {
            if (isnan(zp_bars_get(b, g, s)))
                continue;
            if (zp_bars_get_interval(b, g, s, &lo, &hi))
                with++;
            else
                none++;
        }
    if (without)
        *without = with ? none : 0;
    return with;
}

/* group_scheme / series_scheme can hold duplicates (several groups share a
 * scheme), so they are kept by index, not as sets: see the add above, which
 * appends exactly when a new group or series appears. Duplicated strings would
 * be merged by zp_strset_add, so they are stored with an index prefix. */
static const char *scheme_of(const struct zp_strset *set, size_t i)
{
    if (i >= set->n)
        return "";
    const char *s = set->v[i];
    const char *bar = strchr(s, '|');
    return bar ? bar + 1 : s;
}


void zp_bars_series(struct zp_bars *b, const char *series)
{
    if (zp_strset_find(&b->series, series) >= 0)
        return;
    char key[128];
    snprintf(key, sizeof key, "%zu|", b->series.n);
    if (zp_strset_add(&b->series, series) >= 0)
        zp_strset_add(&b->series_scheme, key);
}

const char *zp_bars_group_scheme(const struct zp_bars *b, size_t g)
{
    return scheme_of(&b->group_scheme, g);
}

/* The y axis of a bar chart. Linear, from the zero baseline to the data, with room
 * for value labels; or symlog: y' = sign(y) log10(1 + |y|/c), linear below c,
 * logarithmic beyond, which keeps a 0.3-point bar readable next to an 80-point one. */
struct axis {
    double lo, hi; /* in plotted (possibly transformed) units */
    double c;      /* > 0: symlog with this linear threshold */
};

static double symlog(double v, double c)
{
    return (v >= 0 ? 1.0 : -1.0) * log10(1.0 + fabs(v) / c);
}

static struct axis bar_axis(const struct zp_bars *b, double label_pad)
{
    double lo = 0, hi = 0, amin = INFINITY;
    for (size_t g = 0; g < b->groups.n; g++)
        for (size_t s = 0; s < b->series.n; s++) {
            double v = zp_bars_get(b, g, s), il, ih;
            if (isnan(v) || isinf(v))
                continue;
            lo = fmin(lo, v);
            hi = fmax(hi, v);
            if (v != 0)
                amin = fmin(amin, fabs(v));
            /* an error bar must fit as well as its bar */
            if (zp_bars_get_interval(b, g, s, &il, &ih)) {
                lo = fmin(lo, il);
                hi = fmax(hi, ih);
            }
        }
    struct axis a = {lo, hi, 0};
    double amax = fmax(-lo, hi);
    if (b->symlog_ok && amax > 0 && amax / amin > 30) {
        /* a decade, so that the ticks (decades from c up) are round numbers */
        a.c = pow(10, floor(log10(amin)));
        a.c = fmax(a.c, pow(10, ceil(log10(amax / 1e4) - 1e-9)));
        a.lo = symlog(lo, a.c);
        a.hi = symlog(hi, a.c);
    }
    /* every bar zero (an 8-bit run whose drops are all 0.0): [0:0] is no range */
    if (a.hi == a.lo)
        a.hi = a.lo + 1;
    double pad = (a.hi - a.lo) * label_pad;
    if (a.hi > 0)
        a.hi += pad;
    if (a.lo < 0)
        a.lo -= pad;
    /* an accuracy axis stops at 100 %; rotated value labels need the room above
     * it, and get it, but then the ticks still stop at the cap (see emit) */
    if (b->y_cap > 0 && !a.c && a.hi > b->y_cap && hi <= b->y_cap && label_pad < 0.16)
        a.hi = b->y_cap;
    return a;
}

static double symlog_inv(double y, double c)
{
    return (y >= 0 ? 1.0 : -1.0) * c * (pow(10, fabs(y)) - 1);
}

/* min_gap: the smallest distance between two tick labels, in transformed units */
static void symlog_tics(struct zp_strbuf *gp, const struct axis *a, double min_gap)
{
    zp_strbuf_printf(gp, "zp_c = %.6g\nzp_y(v) = (v >= 0 ? 1 : -1) * log10(1 + abs(v) / zp_c)\n"
                         "set ytics (",
                     a->c);
    double t[96];
    size_t n = zp_plot_symlog_ticks(a->c, symlog_inv(a->lo, a->c), symlog_inv(a->hi, a->c), t, 96);
    /* from 0 outwards, a tick too close to the last kept one is left out (0.01
     * next to 0 on a short panel): labels that overlap read as neither */
    int keep[96] = {0};
    size_t zero = 0; /* the first tick >= 0 */
    while (zero < n && t[zero] < 0)
        zero++;
    double last = 0;
    for (size_t i = zero; i < n; i++)
        if (t[i] == 0 || symlog(t[i], a->c) - last >= min_gap) {
            keep[i] = 1;
            last = symlog(t[i], a->c);
        }
    last = 0;
    for (size_t i = zero; i-- > 0;)
        if (last - symlog(t[i], a->c) >= min_gap) {
            keep[i] = 1;
            last = symlog(t[i], a->c);
        }
    size_t out = 0;
    for (size_t i = 0; i < n; i++)
        if (keep[i])
            zp_strbuf_printf(gp, "%s'%g' %.6g", out++ ? ", " : "", t[i], symlog(t[i], a->c));
    zp_strbuf_printf(gp, ")\n");
}

/* How the bars and their labels fit the plot, estimated from the PNG size of
 * style.gp (1100 x 620, font 11: a character ~7 px; value labels font 8: ~5 px) and
 * a plot area of ~62 % of the width (the rest: y axis and key). */
#define PLOT_PX 680.0
#define CHAR_PX 7.0
#define VCHAR_PX 5.0
enum vlabels { VL_NONE, VL_FLAT, VL_ROTATED };

static size_t value_label_chars(const struct zp_bars *b)
{
    size_t most = 0;
    for (size_t g = 0; g < b->groups.n; g++)
        for (size_t s = 0; s < b->series.n; s++) {
            double v = zp_bars_get(b, g, s);
            if (isnan(v))
                continue;
            /* value_fmt is a gnuplot format of one number; "%.Nf" is the common
             * kind, any other is taken as up to 8 characters */
            char buf[64];
            int prec = 2;
            if (sscanf(b->value_fmt, "%%.%df", &prec) == 1 && prec >= 0 && prec < 10)
                snprintf(buf, sizeof buf, "%.*f", prec, v);
            else
                snprintf(buf, sizeof buf, "%.8s", "00000000");
            if (strlen(buf) > most)
                most = strlen(buf);
        }
    return most;
}

static enum vlabels value_labels_fit(const struct zp_bars *b)
{
    if (!b->value_fmt)
        return VL_NONE;
    double bar_px = PLOT_PX / (double)b->groups.n * 0.8 / (double)b->series.n;
    double text_px = (double)value_label_chars(b) * VCHAR_PX;
    if (text_px <= bar_px * 1.1)
        return VL_FLAT;
    if (bar_px >= 9) /* a rotated label needs the font's height */
        return VL_ROTATED;
    return VL_NONE;
}

/* The x tic labels: shortened to what differs between groups, wrapped to the
 * group's slot, or one line rotated when a word is wider than the slot. Writes the
 * xtics and margins into gp; common gets the words left out. */
static void x_labels(struct zp_strbuf *gp, const struct zp_bars *b, char *common, size_t ncommon)
{
    size_t G = b->groups.n;
    enum { W = 160 };
    char *shortl = malloc(G * W);
    if (!shortl)
        return;
    zp_plot_label_shorten((const char *const *)b->groups.v, G, shortl, W, common, ncommon);
    double slot = PLOT_PX / (double)G / CHAR_PX; /* characters per group */
    size_t wrap = slot > 6 ? (size_t)slot - 1 : 6, widest = 0, lines = 1;
    for (size_t g = 0; g < G; g++) {
        char w[W * 2];
        size_t nl = zp_plot_label_wrap(shortl + g * W, wrap, w, sizeof w);
        lines = nl > lines ? nl : lines;
        for (char *line = w; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
            size_t len = strchr(line, '\n') ? (size_t)(strchr(line, '\n') - line) : strlen(line);
            widest = len > widest ? len : widest;
        }
    }
    int rotate = (double)widest > slot || lines > 3;
    zp_strbuf_printf(gp, "set xtics (");
    double left = 0; /* characters a rotated label reaches left of the axis */
    for (size_t g = 0; g < G; g++) {
        const char *l = shortl + g * W;
        char w[W * 2];
        if (rotate) {
            zp_plot_quote(gp, l);
            double reach = (double)strlen(l) * 0.87 - ((double)g + 0.6) * slot;
            left = reach > left ? reach : left;
        } else {
            /* double quotes only where a line break needs them */
            if (zp_plot_label_wrap(l, wrap, w, sizeof w) > 1)
                zp_plot_dquote(gp, w);
            else
                zp_plot_quote(gp, w);
        }
        zp_strbuf_printf(gp, " %zu%s", g, g + 1 < G ? ", " : "");
    }
    zp_strbuf_printf(gp, ")%s\n", rotate ? " rotate by 30 right" : " norotate center");
    /* room for the y tick labels and title (~10 characters) plus what a rotated
     * first label needs */
    if (rotate && left > 0)
        zp_strbuf_printf(gp, "set lmargin %d\n", (int)ceil(left) + 11);
    free(shortl);
}

enum zp_status zp_bars_emit(struct zp_plot_run *r, const struct zp_bars *b, const char *name,
                            struct zp_strbuf *gp, const char *extra_plot, struct zp_err *err)
{
    size_t G = b->groups.n, S = b->series.n;
    if (G == 0 || S == 0)
        return ZP_OK;
    double width = 0.8 / (double)S;
    struct zp_strbuf dat = {0};
    zp_strbuf_printf(&dat, "# %s: grouped bars; one block per series: x, value, linetype, interval low, high, "
                           "value label position\n",
                   name);
    for (size_t s = 0; s < S; s++) {
        zp_strbuf_printf(&dat, "# series %zu: %s\n", s, b->series.v[s]);
        for (size_t g = 0; g < G; g++) {
            const char *sch = b->colour_by_group ? scheme_of(&b->group_scheme, g)
                                                 : scheme_of(&b->series_scheme, s);
            char v[64], lo[64], hi[64], at[64];
            double val = zp_bars_get(b, g, s), il, ih, ly = val;
            zp_plot_num(v, sizeof v, val);
            /* a value label sits beyond the bar's end and beyond its error bar */
            if (zp_bars_get_interval(b, g, s, &il, &ih))
                ly = val >= 0 ? fmax(val, ih) : fmin(val, il);
            zp_plot_num(lo, sizeof lo, il);
            zp_plot_num(hi, sizeof hi, ih);
            zp_plot_num(at, sizeof at, ly);
            zp_strbuf_printf(&dat, "%.4f,%s,%d,%s,%s,%s\n", (double)g + ((double)s - (double)(S - 1) / 2) * width,
                           v, zp_plot_scheme_lt(&r->style, sch), lo, hi, at);
        }
        zp_strbuf_printf(&dat, "\n\n");
    }
    char file[128];
    snprintf(file, sizeof file, "%s.dat", name);
    enum zp_status st = dat.oom ? zp_err_set(err, ZP_ENOMEM, "%s: out of memory", file)
                                : zp_plot_write(r, file, dat.s, err);
    zp_strbuf_free(&dat);
    if (st != ZP_OK)
        return st;

    const char *ycol = "2";
    enum vlabels vl = value_labels_fit(b);
    if (!b->log_y) {
        /* bars grow from zero: the axis always shows the baseline; room above the
         * bars for their value labels, more for rotated ones */
        struct axis a = bar_axis(b, vl == VL_ROTATED ? 0.16 : vl == VL_FLAT ? 0.14 : 0.06);
        /* a panel of a multiplot is about half as high: labels need twice the gap */
        int panel = gp->s && strstr(gp->s, "set multiplot") && !strstr(gp->s, "unset multiplot");
        if (a.c > 0) {
            symlog_tics(gp, &a, (a.hi - a.lo) * (panel ? 0.06 : 0.03));
            ycol = "(zp_y($2))";
        }
        zp_strbuf_printf(gp, "set yrange [%.6g:%.6g]\n", a.lo, a.hi);
        if (b->y_cap > 0 && !a.c && a.hi > b->y_cap) /* room for labels only: no tick past the cap */
            zp_strbuf_printf(gp, "set ytics 0, %g, %g\n", b->y_cap / 5, b->y_cap);
        if (b->ylabel) {
            /* "drop (points)" -> "drop (points; log beyond 0.1)" */
            char yl[300];
            size_t n = strlen(b->ylabel);
            if (a.c > 0 && n && b->ylabel[n - 1] == ')')
                snprintf(yl, sizeof yl, "%.*s; log beyond %g)", (int)(n - 1), b->ylabel, a.c);
            else if (a.c > 0)
                snprintf(yl, sizeof yl, "%s (log beyond %g)", b->ylabel, a.c);
            else
                snprintf(yl, sizeof yl, "%s", b->ylabel);
            zp_strbuf_printf(gp, "set ylabel ");
            zp_plot_quote(gp, yl);
            zp_strbuf_printf(gp, "\n");
        }
    } else if (b->ylabel) {
        zp_strbuf_printf(gp, "set ylabel ");
        zp_plot_quote(gp, b->ylabel);
        zp_strbuf_printf(gp, "\n");
    }
    zp_strbuf_printf(gp, "zp_bw = %.4f\n", width * 0.92);
    zp_strbuf_printf(gp, "set xrange [-0.6:%.1f]\n", (double)G - 0.4);
    char common[300];
    x_labels(gp, b, common, sizeof common);
    if (b->xlabel || *common) {
        /* what every bar shares is said once, under the axis */
        char xl[600];
        snprintf(xl, sizeof xl, "%s%s%s%s", b->xlabel ? b->xlabel : "",
                 b->xlabel && *common ? "; " : "", *common ? "all bars: " : "", common);
        zp_strbuf_printf(gp, "set xlabel ");
        zp_plot_quote(gp, xl);
        zp_strbuf_printf(gp, "\n");
    }
    if (zp_bars_count_intervals(b, NULL))
        zp_strbuf_printf(gp, "# error bars: the interval [column 4, column 5] of each bar, a vertical segment\n");
    /* one colour for every group: the key can show it */
    int group_lt = 0;
    for (size_t g = 0; b->colour_by_group && g < G; g++) {
        int lt = zp_plot_scheme_lt(&r->style, scheme_of(&b->group_scheme, g));
        group_lt = g == 0 ? lt : (lt == group_lt ? lt : -1);
    }
    if (vl == VL_NONE && b->value_fmt)
        zp_strbuf_printf(gp, "# value labels left out: they would not fit the bars; the values are in %s\n", file);
    zp_strbuf_printf(gp, "plot ");
    /* Within one colour, the n-th series gets the n-th fill, so variants of one
     * scheme stay apart in greyscale too. */
    for (size_t s = 0; s < S; s++) {
        size_t ordinal = s;
        if (!b->colour_by_group) {
            ordinal = 0;
            for (size_t p = 0; p < s; p++)
                if (zp_plot_scheme_lt(&r->style, scheme_of(&b->series_scheme, p)) ==
                    zp_plot_scheme_lt(&r->style, scheme_of(&b->series_scheme, s)))
                    ordinal++;
        }
        /* the key shows a series as its bars look: in their colour when all
         * groups share one, grey (the fill alone) when the colour is the group's */
        int lt = b->colour_by_group ? group_lt : zp_plot_scheme_lt(&r->style, scheme_of(&b->series_scheme, s));
        if (!b->colour_by_group)
            zp_strbuf_printf(gp, "%s'%s' index %zu using 1:%s:(zp_bw) with boxes lc %d fs %s title ",
                             s ? ", \\\n     " : "", file, s, ycol, lt, zp_plot_fill(ordinal));
        else {
            zp_strbuf_printf(gp, "%s'%s' index %zu using 1:%s:(zp_bw):3 with boxes lc variable fs %s ",
                             s ? ", \\\n     " : "", file, s, ycol, zp_plot_fill(ordinal));
            if (lt > 0)
                zp_strbuf_printf(gp, "notitle, \\\n     NaN with boxes lc %d fs %s title ", lt, zp_plot_fill(ordinal));
            else
                zp_strbuf_printf(gp, "notitle, \\\n     NaN with boxes lc rgb '#808080' fs %s title ",
                                 zp_plot_fill(ordinal));
        }
        zp_plot_quote(gp, b->series.v[s]);
    }
    /* error bars: the interval of each bar that has one */
    for (size_t s = 0; s < S; s++) {
        size_t any = 0;
        double il, ih;
        for (size_t g = 0; g < G && !any; g++)
            any = zp_bars_get_interval(b, g, s, &il, &ih);
        if (!any) /* a layer of NaN only would make gnuplot warn */
            continue;
        /* vectors, not yerrorbars: those punch a background-coloured dot into the
         * bar's end (gnuplot 5.4) */
        if (ycol[0] == '2')
            zp_strbuf_printf(gp, ", \\\n     '%s' index %zu using 1:4:(0):($5 - $4) with vectors nohead "
                                 "lc rgb '#202020' lw 1.2 notitle",
                             file, s);
        else
            zp_strbuf_printf(gp, ", \\\n     '%s' index %zu using 1:(zp_y($4)):(0):(zp_y($5) - zp_y($4)) with "
                                 "vectors nohead lc rgb '#202020' lw 1.2 notitle",
                             file, s);
    }
    /* value labels above a positive bar, below a negative one */
    for (size_t s = 0; vl != VL_NONE && s < S; s++)
        for (int neg = 0; neg < 2; neg++) {
            zp_strbuf_printf(gp, ", \\\n     '%s' index %zu using 1:($2 %s 0 ? %s : NaN):(sprintf(",
                           file, s, neg ? "<" : ">=", ycol[0] == '2' ? "$6" : "(zp_y($6))");
            zp_plot_quote(gp, b->value_fmt);
            if (vl == VL_ROTATED) /* reading upwards from just beyond the bar's end */
                zp_strbuf_printf(gp, ", $2)) with labels rotate by 90 %s offset 0,%s font ',8' notitle",
                                 neg ? "right" : "left", neg ? "-0.4" : "0.4");
            else
                zp_strbuf_printf(gp, ", $2)) with labels offset 0,%s font ',8' notitle", neg ? "-0.7" : "0.7");
        }
    if (extra_plot && *extra_plot)
        zp_strbuf_printf(gp, ", \\\n     %s", extra_plot);
    zp_strbuf_printf(gp, "\n");
    return ZP_OK;
}

enum zp_status zp_plot_bar_figure(struct zp_plot_run *r, const struct zp_bar_fig *f,
                                  const struct zp_bars *b, struct zp_err *err)
{
    if (!b->groups.n || !b->series.n)
        return ZP_OK;
    struct zp_strbuf gp = {0};
    zp_plot_script_begin(&gp, f->name, f->what, f->sources);
    zp_strbuf_printf(&gp, "set title ");
    zp_plot_quote(&gp, f->title);
    zp_strbuf_printf(&gp, "\n");
    size_t maxlen = 0;
    for (size_t s = 0; s < b->series.n; s++)
        maxlen = strlen(b->series.v[s]) > maxlen ? strlen(b->series.v[s]) : maxlen;
    size_t nkey = b->series.n;
    zp_plot_key_extra(f->extra_plot, &nkey, &maxlen);
    zp_plot_key(&gp, nkey, maxlen);
    if (f->settings)
        zp_strbuf_printf(&gp, "%s", f->settings);
    struct zp_bars with_label = *b;
    if (f->ylabel)
        with_label.ylabel = f->ylabel;
    if (f->xlabel)
        with_label.xlabel = f->xlabel;
    enum zp_status st = zp_bars_emit(r, &with_label, f->name, &gp, f->extra_plot, err);
    return zp_plot_fig_finish(r, &gp, f->name, f->heading, f->caption, st, err);
}
