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

static struct axis bar_axis(const struct zp_bars *b)
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
        a.c = pow(10, floor(log10(amin)));
        a.c = fmax(a.c, amax / 1e4);
        a.lo = symlog(lo, a.c);
        a.hi = symlog(hi, a.c);
    }
    /* every bar zero (an 8-bit run whose drops are all 0.0): [0:0] is no range */
    if (a.hi == a.lo)
        a.hi = a.lo + 1;
    double pad = (a.hi - a.lo) * (b->value_fmt ? 0.14 : 0.06);
    if (a.hi > 0)
        a.hi += pad;
    if (a.lo < 0)
        a.lo -= pad;
    if (b->y_cap > 0 && !a.c && a.hi > b->y_cap && hi <= b->y_cap)
        a.hi = b->y_cap; /* an accuracy axis stops at 100 % */
    return a;
}

static void symlog_tics(struct zp_strbuf *gp, const struct axis *a)
{
    zp_strbuf_printf(gp, "zp_c = %.6g\nzp_y(v) = (v >= 0 ? 1 : -1) * log10(1 + abs(v) / zp_c)\n"
                       "set ytics ('0' 0", a->c);
    for (int sign = 1; sign >= -1; sign -= 2) {
        double lim = sign > 0 ? a->hi : -a->lo;
        /* 1-3-10 ticks while they fit, decades only when a side spans two or more */
        size_t nmant = lim > symlog(100 * a->c, a->c) ? 1 : 2;
        for (double dec = a->c; dec < 1e12; dec *= 10) {
            static const double mant[] = {1, 3};
            for (size_t m = 0; m < nmant; m++) {
                double v = dec * mant[m];
                if (symlog(v, a->c) > lim)
                    goto next_sign;
                zp_strbuf_printf(gp, ", '%g' %.6g", sign * v, sign * symlog(v, a->c));
            }
        }
    next_sign:;
    }
    zp_strbuf_printf(gp, ")\n");
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
    if (!b->log_y) {
        /* bars grow from zero: the axis always shows the baseline */
        struct axis a = bar_axis(b);
        if (a.c > 0) {
            symlog_tics(gp, &a);
            ycol = "(zp_y($2))";
        }
        zp_strbuf_printf(gp, "set yrange [%.6g:%.6g]\n", a.lo, a.hi);
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
    size_t maxlen = 0;
    for (size_t g = 0; g < G; g++)
        if (strlen(b->groups.v[g]) > maxlen)
            maxlen = strlen(b->groups.v[g]);
    zp_strbuf_printf(gp, "set xtics (");
    for (size_t g = 0; g < G; g++) {
        zp_plot_quote(gp, b->groups.v[g]);
        zp_strbuf_printf(gp, " %zu%s", g, g + 1 < G ? ", " : "");
    }
    int rotate = maxlen * G > 90;
    zp_strbuf_printf(gp, ")%s\n", rotate ? " rotate by 30 right" : " norotate center");
    /* a rotated first label reaches left of the axis: leave it room */
    if (rotate)
        zp_strbuf_printf(gp, "set lmargin %zu\n", maxlen > 40 ? 32 : (maxlen * 8) / 10 + 2);
    if (zp_bars_count_intervals(b, NULL))
        zp_strbuf_printf(gp, "# error bars: the interval [column 4, column 5] of each bar, a vertical segment\n");
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
        zp_strbuf_printf(gp, "%s'%s' index %zu using 1:%s:(zp_bw):3 with boxes lc variable fs %s ",
                       s ? ", \\\n     " : "", file, s, ycol, zp_plot_fill(ordinal));
        if (b->colour_by_group)
            zp_strbuf_printf(gp, "notitle, \\\n     NaN with boxes lc rgb '#808080' fs %s title ",
                           zp_plot_fill(ordinal));
        else
            zp_strbuf_printf(gp, "title ");
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
    for (size_t s = 0; b->value_fmt && s < S; s++)
        for (int neg = 0; neg < 2; neg++) {
            zp_strbuf_printf(gp, ", \\\n     '%s' index %zu using 1:($2 %s 0 ? %s : NaN):(sprintf(",
                           file, s, neg ? "<" : ">=", ycol[0] == '2' ? "$6" : "(zp_y($6))");
            zp_plot_quote(gp, b->value_fmt);
            zp_strbuf_printf(gp, ", $2)) with labels offset 0,%s font ',8' notitle",
                           neg ? "-0.7" : "0.7");
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
    if (f->xlabel) {
        zp_strbuf_printf(&gp, "set xlabel ");
        zp_plot_quote(&gp, f->xlabel);
        zp_strbuf_printf(&gp, "\n");
    }
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
    enum zp_status st = zp_bars_emit(r, &with_label, f->name, &gp, f->extra_plot, err);
    return zp_plot_fig_finish(r, &gp, f->name, f->heading, f->caption, st, err);
}
