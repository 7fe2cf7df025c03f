/* Line series: one (x, y) series per variant, the data file and the plot
 * command, with a colour per scheme and, within a colour, a dash pattern (then a
 * marker) per variant, so no two lines of a figure look alike. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plots/plot_int.h"

struct zp_line *zp_lines_get(struct zp_lines *l, const char *title, const char *scheme)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].title, title) == 0)
            return &l->v[i];
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 8;
        struct zp_line *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return NULL;
        l->v = nv;
        l->cap = nc;
    }
    struct zp_line *line = &l->v[l->n++];
    memset(line, 0, sizeof *line);
    snprintf(line->title, sizeof line->title, "%s", title);
    snprintf(line->scheme, sizeof line->scheme, "%s", scheme ? scheme : "");
    return line;
}

void zp_line_add_iv(struct zp_line *line, double x, double y, double lo, double hi, const char *xlabel)
{
    if (!line || isnan(x))
        return;
    if (line->n == line->cap) {
        size_t nc = line->cap ? line->cap * 2 : 16;
        double *nx = realloc(line->x, nc * sizeof *nx);
        if (!nx)
            return;
        line->x = nx;
        double *ny = realloc(line->y, nc * sizeof *ny);
        if (!ny)
            return;
        line->y = ny;
        double *nlo = realloc(line->lo, nc * sizeof *nlo);
        if (!nlo)
            return;
        line->lo = nlo;
        double *nhi = realloc(line->hi, nc * sizeof *nhi);
        if (!nhi)
            return;
        line->hi = nhi;
        char **nl = realloc(line->xlabel, nc * sizeof *nl);
        if (!nl)
            return;
        line->xlabel = nl;
        line->cap = nc;
    }
    line->x[line->n] = x;
    line->y[line->n] = y;
    line->lo[line->n] = isnan(hi) ? NAN : lo;
    line->hi[line->n] = isnan(lo) ? NAN : hi;
    line->xlabel[line->n] = xlabel ? strdup(xlabel) : NULL;
    line->n++;
}

void zp_line_add(struct zp_line *line, double x, double y, const char *xlabel)
{
    zp_line_add_iv(line, x, y, NAN, NAN, xlabel);
}

/* Does the series have at least one error bar? */
static int line_has_iv(const struct zp_line *line)
{
    for (size_t j = 0; j < line->n; j++)
        if (!isnan(line->lo[j]))
            return 1;
    return 0;
}

void zp_lines_free(struct zp_lines *l)
{
    for (size_t i = 0; i < l->n; i++) {
        for (size_t j = 0; j < l->v[i].n; j++)
            free(l->v[i].xlabel[j]);
        free(l->v[i].x);
        free(l->v[i].y);
        free(l->v[i].lo);
        free(l->v[i].hi);
        free(l->v[i].xlabel);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static void line_sort(struct zp_line *line)
{
    /* insertion sort: series are short (layers, bit widths) */
    for (size_t i = 1; i < line->n; i++)
        for (size_t j = i; j > 0 && line->x[j - 1] > line->x[j]; j--) {
            double tx = line->x[j], ty = line->y[j], tlo = line->lo[j], thi = line->hi[j];
            char *tl = line->xlabel[j];
            line->x[j] = line->x[j - 1];
            line->y[j] = line->y[j - 1];
            line->lo[j] = line->lo[j - 1];
            line->hi[j] = line->hi[j - 1];
            line->xlabel[j] = line->xlabel[j - 1];
            line->x[j - 1] = tx;
            line->y[j - 1] = ty;
            line->lo[j - 1] = tlo;
            line->hi[j - 1] = thi;
            line->xlabel[j - 1] = tl;
        }
}

static void csv_safe(char *out, size_t n, const char *s)
{
    /* derived files are read by gnuplot with ',' as separator: keep labels one field */
    snprintf(out, n, "%s", s ? s : "");
    for (char *p = out; *p; p++)
        if (*p == ',' || *p == '"' || *p == '\n')
            *p = ';';
}

static void line_free(struct zp_line *line)
{
    for (size_t j = 0; j < line->n; j++)
        free(line->xlabel[j]);
    free(line->x);
    free(line->y);
    free(line->lo);
    free(line->hi);
    free(line->xlabel);
}

void zp_lines_keep(struct zp_lines *l, size_t min_points)
{
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].n >= min_points)
            l->v[kept++] = l->v[i];
        else
            line_free(&l->v[i]);
    }
    l->n = kept;
}

/* The linetype of series i and its ordinal among the series of that colour (which
 * picks its dash, then its marker). Colour is the scheme's, dash tells variants of
 * one scheme apart; when every line is of one scheme (a nudge / bias-correction
 * study), colours cycle through the 14 linetypes of style.gp instead, then dashes. */
static int line_style(struct zp_plot_run *r, const struct zp_lines *l, size_t i, int one_scheme,
                      size_t *ordinal)
{
    size_t ord = 0;
    int lt;
    if (one_scheme) {
        lt = (int)(i % 14) + 1;
        ord = i / 14;
    } else {
        lt = zp_plot_scheme_lt(&r->style, l->v[i].scheme);
        for (size_t p = 0; p < i; p++)
            ord += zp_plot_scheme_lt(&r->style, l->v[p].scheme) == lt;
    }
    if (ordinal)
        *ordinal = ord;
    return lt;
}

enum zp_status zp_lines_emit(struct zp_plot_run *r, const struct zp_lines *l,
                             const char *name, struct zp_strbuf *gp, int use_xlabels,
                             const char *extra_plot, struct zp_err *err)
{
    if (l->n == 0)
        return ZP_OK;
    struct zp_strbuf dat = {0};
    zp_strbuf_printf(&dat, "# %s: one block per series: x, y, x label, interval low, high\n", name);
    for (size_t i = 0; i < l->n; i++) {
        line_sort(&l->v[i]);
        zp_strbuf_printf(&dat, "# series %zu: %s\n", i, l->v[i].title);
        for (size_t j = 0; j < l->v[i].n; j++) {
            char y[64], lab[256], lo[64], hi[64];
            zp_plot_num(y, sizeof y, l->v[i].y[j]);
            zp_plot_num(lo, sizeof lo, l->v[i].lo[j]);
            zp_plot_num(hi, sizeof hi, l->v[i].hi[j]);
            csv_safe(lab, sizeof lab, l->v[i].xlabel[j]);
            zp_strbuf_printf(&dat, "%.6g,%s,%s,%s,%s\n", l->v[i].x[j], y, lab, lo, hi);
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
    /* the key's titles: the series titles, or what tells them apart */
    enum { KW = sizeof l->v[0].title };
    char *keyt = malloc(l->n * KW), common[300] = "";
    const char **titles = malloc(l->n * sizeof *titles);
    if (!keyt || !titles) {
        free(keyt);
        free(titles);
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", name);
    }
    for (size_t i = 0; i < l->n; i++)
        titles[i] = l->v[i].title;
    if (l->shorten_titles)
        zp_plot_label_shorten(titles, l->n, keyt, KW, common, sizeof common);
    else
        for (size_t i = 0; i < l->n; i++)
            snprintf(keyt + i * KW, KW, "%s", titles[i]);
    free(titles);
    size_t maxlen = 0;
    for (size_t i = 0; i < l->n; i++)
        maxlen = strlen(keyt + i * KW) > maxlen ? strlen(keyt + i * KW) : maxlen;
    size_t nkey = l->n;
    zp_plot_key_extra(extra_plot, &nkey, &maxlen);
    zp_plot_key(gp, nkey, maxlen);
    if (*common) {
        char kt[320];
        snprintf(kt, sizeof kt, "all: %s", common);
        zp_strbuf_printf(gp, "set key title ");
        zp_plot_quote(gp, kt);
        zp_strbuf_printf(gp, " left\n");
    }
    int one_scheme = l->n > 1;
    for (size_t i = 1; i < l->n; i++)
        one_scheme &= zp_plot_scheme_lt(&r->style, l->v[i].scheme) ==
                      zp_plot_scheme_lt(&r->style, l->v[0].scheme);
    size_t any_iv = 0;
    for (size_t i = 0; i < l->n; i++)
        any_iv += line_has_iv(&l->v[i]);
    if (any_iv)
        zp_strbuf_printf(gp, "# error bars: the interval [column 4, column 5] of each point, a vertical segment\n");
    zp_strbuf_printf(gp, "plot ");
    /* error bars first, so that each line's markers are drawn over them; in the
     * line's colour, solid (vectors: yerrorbars would add a marker of their own) */
    size_t items = 0;
    for (size_t i = 0; i < l->n; i++)
        if (line_has_iv(&l->v[i]))
            zp_strbuf_printf(gp, "%s'%s' index %zu using 1:4:(0):($5 - $4) with vectors nohead lt %d dt 1 lw 1.2 notitle",
                             items++ ? ", \\\n     " : "", file, i, line_style(r, l, i, one_scheme, NULL));
    for (size_t i = 0; i < l->n; i++) {
        size_t ordinal;
        int lt = line_style(r, l, i, one_scheme, &ordinal);
        zp_strbuf_printf(gp, "%s'%s' index %zu using 1:2%s with linespoints lt %d dt %s",
                       items++ ? ", \\\n     " : "", file, i, use_xlabels ? ":xtic(3)" : "", lt,
                       zp_plot_dash(ordinal));
        if (ordinal >= 8)
            zp_strbuf_printf(gp, " pt %d", zp_plot_marker(ordinal / 8 - 1));
        zp_strbuf_printf(gp, " title ");
        zp_plot_quote(gp, keyt + i * KW);
    }
    free(keyt);
    if (extra_plot && *extra_plot)
        zp_strbuf_printf(gp, ", \\\n     %s", extra_plot);
    zp_strbuf_printf(gp, "\n");
    return ZP_OK;
}
