/* Lookups every figure shares: the primary PTQ mode, a row's variant label, the
 * drop in points, the float model's top-1, and number formatting for .dat files. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plots/plot_int.h"

void zp_plot_num(char *out, size_t n, double v)
{
    if (isnan(v) || isinf(v))
        snprintf(out, n, "NaN");
    else
        snprintf(out, n, "%.6g", v);
}

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

/* The identity columns summary.csv shares with accuracy.csv (store/predictions.c
 * writes them before the statistics). A key only one table has is not used: with a
 * summary.csv written before it had calib_size, two cells that differ only in it are
 * ambiguous, and zp_plot_summary_row gives neither an interval rather than the other's. */
static const char *const summary_keys[] = {"model", "dataset", "scheme", "label", "bits",
                                           "granularity", "mode", "calibration", "calib_size"};
#define N_SUMMARY_KEYS (sizeof summary_keys / sizeof summary_keys[0])

long zp_plot_summary_row(const struct zp_plot_run *r, const struct zp_table *t, size_t i)
{
    if (!r->has_summary || i >= t->nrows)
        return -1;
    const struct zp_table *s = &r->summary;
    int sc[N_SUMMARY_KEYS], tc[N_SUMMARY_KEYS];
    size_t nk = 0;
    for (size_t k = 0; k < N_SUMMARY_KEYS; k++) {
        int a = zp_table_col(s, summary_keys[k]), b = zp_table_col(t, summary_keys[k]);
        if (a >= 0 && b >= 0) { /* a column one table lacks cannot tell cells apart */
            sc[nk] = a;
            tc[nk++] = b;
        }
    }
    if (!nk)
        return -1;
    long found = -1;
    for (size_t j = 0; j < s->nrows; j++) {
        size_t m = 0;
        while (m < nk && !strcmp(zp_table_str(s, j, sc[m]), zp_table_str(t, i, tc[m])))
            m++;
        if (m < nk)
            continue;
        if (found >= 0)
            return -1; /* two cells match: no way to tell which is row i's */
        found = (long)j;
    }
    return found;
}

int zp_plot_interval(const struct zp_plot_run *r, const struct zp_table *t, size_t i, const char *metric,
                     double scale, double *lo, double *hi)
{
    *lo = *hi = NAN;
    long j = zp_plot_summary_row(r, t, i);
    if (j < 0)
        return 0;
    char name[64];
    snprintf(name, sizeof name, "%s_lo", metric);
    double l = zp_table_num(&r->summary, (size_t)j, zp_table_col(&r->summary, name));
    snprintf(name, sizeof name, "%s_hi", metric);
    double h = zp_table_num(&r->summary, (size_t)j, zp_table_col(&r->summary, name));
    if (isnan(l) || isnan(h) || isinf(l) || isinf(h))
        return 0;
    *lo = scale * l;
    *hi = scale * h;
    return 1;
}

void zp_plot_interval_caption(char *out, size_t n, size_t with, size_t without)
{
    if (!with) {
        out[0] = '\0';
        return;
    }
    snprintf(out, n, " Error bars: 95 %% bootstrap interval over the evaluation examples of the "
                     "replicate-averaged value (summary.csv)%s",
             without ? "; none where a mark averages several cells or summary.csv has no single row "
                       "for it."
                     : ".");
}

void zp_plot_model_suffix(const char *model, char *out, size_t n)
{
    size_t j = 0;
    if (n < 2) {
        if (n)
            out[0] = '\0';
        return;
    }
    out[j++] = '_';
    for (const char *p = model; *p && j < n - 1; p++)
        out[j++] = ((*p | 32) >= 'a' && (*p | 32) <= 'z') || (*p >= '0' && *p <= '9') ? *p : '_';
    out[j] = '\0';
}

void zp_plot_models(const struct zp_table *t, struct zp_strset *out)
{
    int cmodel = zp_table_col(t, "model");
    for (size_t i = 0; i < t->nrows; i++)
        zp_strset_add(out, cmodel >= 0 ? zp_table_str(t, i, cmodel) : "");
}
