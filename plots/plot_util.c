/* Building blocks of the figure writers: growable strings, string sets, grouped
 * bars and line series that write their derived data file and plot command, and
 * the small lookups every figure shares (variant label, primary PTQ mode). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "plots/plot.h"

void zp_sbuf_printf(struct zp_sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 1024;
        while (nc < b->len + (size_t)n + 1)
            nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void zp_sbuf_free(struct zp_sbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

int zp_strset_find(const struct zp_strset *set, const char *s)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->v[i], s) == 0)
            return (int)i;
    return -1;
}

int zp_strset_add(struct zp_strset *set, const char *s)
{
    int i = zp_strset_find(set, s);
    if (i >= 0)
        return i;
    if (set->n == set->cap) {
        size_t nc = set->cap ? set->cap * 2 : 16;
        char **nv = realloc(set->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        set->v = nv;
        set->cap = nc;
    }
    char *d = strdup(s);
    if (!d)
        return -1;
    set->v[set->n] = d;
    return (int)set->n++;
}

void zp_strset_free(struct zp_strset *set)
{
    for (size_t i = 0; i < set->n; i++)
        free(set->v[i]);
    free(set->v);
    memset(set, 0, sizeof *set);
}

enum zp_status zp_plot_write(const struct zp_plot_run *r, const char *file, const char *text,
                             struct zp_err *err)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", r->plots, file);
    FILE *f = fopen(path, "wb");
    if (!f)
        return zp_err_set(err, ZP_EIO, "%s: cannot write: %s", path, strerror(errno));
    size_t n = strlen(text);
    int bad = fwrite(text, 1, n, f) != n;
    bad |= fclose(f) != 0;
    if (bad)
        return zp_err_set(err, ZP_EIO, "%s: write failed", path);
    return ZP_OK;
}

void zp_plot_add_fig(struct zp_plot_run *r, const char *name, const char *title,
                     const char *caption)
{
    if (r->nfigs >= ZP_PLOT_MAX_FIGS)
        return;
    struct zp_plot_fig *f = &r->figs[r->nfigs++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(f->title, sizeof f->title, "%s", title);
    snprintf(f->caption, sizeof f->caption, "%s", caption);
}

/* ---- grouped bars ---- */

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
    memset(b, 0, sizeof *b);
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

static void fmt_num(char *out, size_t n, double v)
{
    if (isnan(v) || isinf(v))
        snprintf(out, n, "NaN");
    else
        snprintf(out, n, "%.6g", v);
}

enum zp_status zp_bars_emit(const struct zp_plot_run *r, const struct zp_bars *b, const char *name,
                            struct zp_sbuf *gp, const char *extra_plot, struct zp_err *err)
{
    size_t G = b->groups.n, S = b->series.n;
    if (G == 0 || S == 0)
        return ZP_OK;
    double width = 0.8 / (double)S;
    struct zp_sbuf dat = {0};
    zp_sbuf_printf(&dat, "# %s: grouped bars; one block per series: x, value, linetype\n", name);
    for (size_t s = 0; s < S; s++) {
        zp_sbuf_printf(&dat, "# series %zu: %s\n", s, b->series.v[s]);
        for (size_t g = 0; g < G; g++) {
            const char *sch = b->colour_by_group ? scheme_of(&b->group_scheme, g)
                                                 : scheme_of(&b->series_scheme, s);
            char v[64];
            fmt_num(v, sizeof v, zp_bars_get(b, g, s));
            zp_sbuf_printf(&dat, "%.4f,%s,%d\n", (double)g + ((double)s - (double)(S - 1) / 2) * width,
                           v, zp_plot_scheme_lt(sch));
        }
        zp_sbuf_printf(&dat, "\n\n");
    }
    char file[128];
    snprintf(file, sizeof file, "%s.dat", name);
    enum zp_status st = dat.oom ? zp_err_set(err, ZP_ENOMEM, "%s: out of memory", file)
                                : zp_plot_write(r, file, dat.s, err);
    zp_sbuf_free(&dat);
    if (st != ZP_OK)
        return st;

    size_t maxlen = 0;
    for (size_t g = 0; g < G; g++)
        if (strlen(b->groups.v[g]) > maxlen)
            maxlen = strlen(b->groups.v[g]);
    double lo = 0, hi = 0;
    for (size_t g = 0; g < G; g++)
        for (size_t s = 0; s < S; s++) {
            double v = zp_bars_get(b, g, s);
            if (!isnan(v) && !isinf(v)) {
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
        }
    /* bars grow from zero: the axis must show the baseline */
    if (!b->log_y)
        zp_sbuf_printf(gp, "set yrange [%s:%s]\n", lo < 0 ? "*" : "0", hi > 0 ? "*" : "0");
    if (b->value_fmt)
        zp_sbuf_printf(gp, "set offsets 0, 0, graph 0.1, %s\n", lo < 0 ? "graph 0.1" : "0");
    zp_sbuf_printf(gp, "zp_bw = %.4f\n", width * 0.92);
    zp_sbuf_printf(gp, "set xrange [-0.6:%.1f]\n", (double)G - 0.4);
    zp_sbuf_printf(gp, "set xtics (");
    for (size_t g = 0; g < G; g++) {
        zp_plot_quote(gp, b->groups.v[g]);
        zp_sbuf_printf(gp, " %zu%s", g, g + 1 < G ? ", " : "");
    }
    int rotate = maxlen * G > 90;
    zp_sbuf_printf(gp, ")%s\n", rotate ? " rotate by 30 right" : " norotate center");
    /* a rotated first label reaches left of the axis: leave it room */
    if (rotate)
        zp_sbuf_printf(gp, "set lmargin %zu\n", maxlen > 40 ? 32 : (maxlen * 8) / 10 + 2);
    zp_sbuf_printf(gp, "plot ");
    /* Within one colour, the n-th series gets the n-th fill, so variants of one
     * scheme stay apart in greyscale too. */
    for (size_t s = 0; s < S; s++) {
        size_t ordinal = s;
        if (!b->colour_by_group) {
            ordinal = 0;
            for (size_t p = 0; p < s; p++)
                if (zp_plot_scheme_lt(scheme_of(&b->series_scheme, p)) ==
                    zp_plot_scheme_lt(scheme_of(&b->series_scheme, s)))
                    ordinal++;
        }
        zp_sbuf_printf(gp, "%s'%s' index %zu using 1:2:(zp_bw):3 with boxes lc variable fs %s ",
                       s ? ", \\\n     " : "", file, s, zp_plot_fill(ordinal));
        if (b->colour_by_group) {
            zp_sbuf_printf(gp, "notitle, \\\n     NaN with boxes lc rgb '#808080' fs %s title ",
                           zp_plot_fill(ordinal));
        } else {
            zp_sbuf_printf(gp, "title ");
        }
        zp_plot_quote(gp, b->series.v[s]);
        if (b->value_fmt) {
            zp_sbuf_printf(gp, ", \\\n     '%s' index %zu using 1:2:(sprintf(", file, s);
            zp_plot_quote(gp, b->value_fmt);
            zp_sbuf_printf(gp, ", $2)) with labels offset 0,0.7 font ',8' notitle");
        }
    }
    if (extra_plot && *extra_plot)
        zp_sbuf_printf(gp, ", \\\n     %s", extra_plot);
    zp_sbuf_printf(gp, "\n");
    return ZP_OK;
}

/* ---- line series ---- */

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

void zp_line_add(struct zp_line *line, double x, double y, const char *xlabel)
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
        char **nl = realloc(line->xlabel, nc * sizeof *nl);
        if (!nl)
            return;
        line->xlabel = nl;
        line->cap = nc;
    }
    line->x[line->n] = x;
    line->y[line->n] = y;
    line->xlabel[line->n] = xlabel ? strdup(xlabel) : NULL;
    line->n++;
}

void zp_lines_free(struct zp_lines *l)
{
    for (size_t i = 0; i < l->n; i++) {
        for (size_t j = 0; j < l->v[i].n; j++)
            free(l->v[i].xlabel[j]);
        free(l->v[i].x);
        free(l->v[i].y);
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
            double tx = line->x[j], ty = line->y[j];
            char *tl = line->xlabel[j];
            line->x[j] = line->x[j - 1];
            line->y[j] = line->y[j - 1];
            line->xlabel[j] = line->xlabel[j - 1];
            line->x[j - 1] = tx;
            line->y[j - 1] = ty;
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

enum zp_status zp_lines_emit(const struct zp_plot_run *r, const struct zp_lines *l,
                             const char *name, struct zp_sbuf *gp, int use_xlabels,
                             const char *extra_plot, struct zp_err *err)
{
    if (l->n == 0)
        return ZP_OK;
    struct zp_sbuf dat = {0};
    zp_sbuf_printf(&dat, "# %s: one block per series: x, y, x label\n", name);
    for (size_t i = 0; i < l->n; i++) {
        line_sort(&l->v[i]);
        zp_sbuf_printf(&dat, "# series %zu: %s\n", i, l->v[i].title);
        for (size_t j = 0; j < l->v[i].n; j++) {
            char y[64], lab[256];
            fmt_num(y, sizeof y, l->v[i].y[j]);
            csv_safe(lab, sizeof lab, l->v[i].xlabel[j]);
            zp_sbuf_printf(&dat, "%.6g,%s,%s\n", l->v[i].x[j], y, lab);
        }
        zp_sbuf_printf(&dat, "\n\n");
    }
    char file[128];
    snprintf(file, sizeof file, "%s.dat", name);
    enum zp_status st = dat.oom ? zp_err_set(err, ZP_ENOMEM, "%s: out of memory", file)
                                : zp_plot_write(r, file, dat.s, err);
    zp_sbuf_free(&dat);
    if (st != ZP_OK)
        return st;
    /* Colour is the scheme's, dash tells variants of one scheme apart; when every
     * line is of one scheme (a nudge / bias-correction study), colours cycle instead. */
    int one_scheme = 1;
    for (size_t i = 1; i < l->n; i++)
        one_scheme &= zp_plot_scheme_lt(l->v[i].scheme) == zp_plot_scheme_lt(l->v[0].scheme);
    zp_sbuf_printf(gp, "plot ");
    for (size_t i = 0; i < l->n; i++) {
        int lt = one_scheme && l->n > 1 ? (int)(i % 8) + 1 : zp_plot_scheme_lt(l->v[i].scheme);
        size_t ordinal = 0;
        for (size_t p = 0; p < i && !(one_scheme && l->n > 1); p++)
            if (zp_plot_scheme_lt(l->v[p].scheme) == lt)
                ordinal++;
        zp_sbuf_printf(gp, "%s'%s' index %zu using 1:2%s with linespoints lt %d dt %zu title ",
                       i ? ", \\\n     " : "", file, i, use_xlabels ? ":xtic(3)" : "", lt,
                       ordinal % 5 + 1);
        zp_plot_quote(gp, l->v[i].title);
    }
    if (extra_plot && *extra_plot)
        zp_sbuf_printf(gp, ", \\\n     %s", extra_plot);
    zp_sbuf_printf(gp, "\n");
    return ZP_OK;
}

/* ---- lookups shared by the figures ---- */

const char *zp_plot_primary_mode(const struct zp_plot_run *r)
{
    if (!r->has_accuracy)
        return NULL;
    static const char *const order[] = {"both", "weights", "activations"};
    int mc = zp_table_col(&r->accuracy, "mode");
    for (size_t o = 0; o < 3; o++)
        for (size_t i = 0; i < r->accuracy.nrows; i++)
            if (mc < 0 || strcmp(zp_table_str(&r->accuracy, i, mc), order[o]) == 0)
                return mc < 0 ? "" : order[o];
    return NULL;
}

void zp_plot_row_label(const struct zp_table *t, size_t row, char *out, size_t n)
{
    const char *lab = zp_table_str(t, row, zp_table_col(t, "label"));
    if (*lab) {
        snprintf(out, n, "%s", lab);
        return;
    }
    const char *scheme = zp_table_str(t, row, zp_table_col(t, "scheme"));
    const char *bits = zp_table_str(t, row, zp_table_col(t, "bits"));
    const char *gran = zp_table_str(t, row, zp_table_col(t, "granularity"));
    int nz = zp_table_bool(t, row, zp_table_col(t, "nudge_zero"));
    snprintf(out, n, "%s%s%s%s%s%s", scheme, *bits ? " " : "", bits, *bits ? "b" : "",
             *gran ? " " : "", gran);
    if (nz >= 0) {
        size_t len = strlen(out);
        snprintf(out + len, n - len, " nudge=%s", nz ? "true" : "false");
    }
}

void zp_plot_strip_word(const char *label, const char *key, char *out, size_t n)
{
    /* drops every space-separated word that starts with "key" followed by '=' or '_' */
    size_t o = 0, klen = strlen(key);
    const char *p = label;
    if (n == 0)
        return;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        size_t wl = (size_t)(p - w);
        if (wl == 0)
            break;
        int drop = wl > klen && strncmp(w, key, klen) == 0 && (w[klen] == '=' || w[klen] == '_');
        if (!drop) {
            if (o && o + 1 < n)
                out[o++] = ' ';
            for (size_t i = 0; i < wl && o + 1 < n; i++)
                out[o++] = w[i];
        }
    }
    out[o] = '\0';
}

double zp_plot_drop_points(const struct zp_table *t, size_t row)
{
    double f = zp_table_num(t, row, zp_table_col(t, "float_top1"));
    double q = zp_table_num(t, row, zp_table_col(t, "top1"));
    if (!isnan(f) && !isnan(q))
        return 100.0 * (f - q);
    return zp_table_num(t, row, zp_table_col(t, "drop"));
}

double zp_plot_float_top1(const struct zp_plot_run *r)
{
    if (!r->has_accuracy)
        return NAN;
    int c = zp_table_col(&r->accuracy, "float_top1");
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < r->accuracy.nrows; i++) {
        double v = zp_table_num(&r->accuracy, i, c);
        if (!isnan(v)) {
            sum += v;
            n++;
        }
    }
    return n ? sum / (double)n : NAN;
}
