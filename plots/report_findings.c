/* Headline findings of a run, computed from its CSVs: the numbers a reader
 * wants first, each a bullet that names the row it comes from. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plots/report.h"

struct bits_slot {
    int cb, cm;
    const char *mode;
};
static int bits_slot(const struct zp_table *t, size_t i, char *out, size_t n, const void *ctx)
{
    const struct bits_slot *b = ctx;
    if (isnan(zp_table_num(t, i, b->cb)) || (b->cm >= 0 && strcmp(zp_table_str(t, i, b->cm), b->mode)))
        return 0;
    snprintf(out, n, "%s", zp_table_str(t, i, b->cb));
    return 1;
}

/* ": the <what> (95 % interval [lo, hi], McNemar p = p) is **significant**" or
 * "... is not significant (reason)", from row j of summary.csv or summary_pairs.csv
 * (<metric>_lo, <metric>_hi, mcnemar_p, significant). */
static void row_verdict(struct zp_strbuf *out, const struct zp_table *s, size_t j, const char *metric,
                        const char *what)
{
    char col[64];
    snprintf(col, sizeof col, "%s_lo", metric);
    double lo = zp_table_num(s, j, zp_table_col(s, col));
    snprintf(col, sizeof col, "%s_hi", metric);
    double hi = zp_table_num(s, j, zp_table_col(s, col));
    double p = zp_table_num(s, j, zp_table_col(s, "mcnemar_p"));
    zp_strbuf_printf(out, ": the %s (95 %% interval [%.2f, %.2f], McNemar p = %.3g) is ", what, lo, hi, p);
    zp_report_verdict(out, lo, hi, p, zp_table_bool(s, j, zp_table_col(s, "significant")) == 1);
}

/* The best variant per bit width, chosen on the select split (never on the
 * evaluation set); its top-1 and drop are means over its replicates. Without a
 * select split no best variant is named: the range of the bit width's rows is. */
static void best_per_bits(const struct zp_plot_run *r, struct zp_strbuf *out)
{
    const struct zp_table *t = &r->accuracy;
    const char *mode = zp_plot_primary_mode(r);
    int cb = zp_table_col(t, "bits"), ct = zp_table_col(t, "top1"), cm = zp_table_col(t, "mode");
    if (!mode || ct < 0)
        return;
    unsigned char *keep = malloc(t->nrows ? t->nrows : 1);
    if (!keep)
        return;
    struct bits_slot bs = {cb, cm, mode};
    int sel = zp_plot_choose(t, bits_slot, &bs, keep);
    double ft = zp_plot_float_top1(r);
    if (!isnan(ft))
        zp_strbuf_printf(out, "- Float model: top-1 %.2f%%.\n", 100.0 * ft);
    /* bit widths in ascending order */
    double done = -INFINITY;
    for (;;) {
        double bits = INFINITY;
        for (size_t i = 0; i < t->nrows; i++) {
            double b = zp_table_num(t, i, cb);
            if (!isnan(b) && b > done && b < bits)
                bits = b;
        }
        if (isinf(bits))
            break;
        done = bits;
        size_t best = 0, k = 0, lo_i = 0, hi_i = 0;
        double sum = 0, dsum = 0, lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < t->nrows; i++) {
            if (zp_table_num(t, i, cb) != bits || (cm >= 0 && strcmp(zp_table_str(t, i, cm), mode)))
                continue;
            double v = zp_table_num(t, i, ct);
            if (isnan(v))
                continue;
            if (v < lo)
                lo = v, lo_i = i;
            if (v > hi)
                hi = v, hi_i = i;
            if (keep[i]) {
                best = i;
                sum += v;
                dsum += zp_plot_drop_points(t, i);
                k++;
            }
        }
        if (!k)
            continue;
        char label[256], l2[256];
        if (sel) {
            zp_plot_row_label(t, best, label, sizeof label);
            zp_strbuf_printf(out,
                           "- Best at %g bits (PTQ, mode %s), chosen on the select split: **%s**, top-1 %.2f%% "
                           "(drop %.2f points%s)",
                           bits, mode, label, 100.0 * sum / (double)k, dsum / (double)k,
                           k > 1 ? ", mean over replicates" : "");
            long j = zp_plot_summary_row(r, t, best);
            if (j >= 0)
                row_verdict(out, &r->summary, (size_t)j, "drop", "drop from float");
            zp_strbuf_printf(out, ".\n");
        } else {
            zp_plot_row_label(t, lo_i, label, sizeof label);
            zp_plot_row_label(t, hi_i, l2, sizeof l2);
            zp_strbuf_printf(out,
                           "- At %g bits (PTQ, mode %s): no select split is configured, so no best variant "
                           "is chosen (choosing on the evaluation set would flatter it); top-1 ranges from "
                           "%.2f%% (%s) to %.2f%% (%s).\n",
                           bits, mode, 100.0 * lo, label, 100.0 * hi, l2);
        }
    }
    free(keep);
}

/* The summary_pairs.csv row comparing QAT row i (side a) with its PTQ partner, or -1. */
static long qat_pair(const struct zp_plot_run *r, const struct zp_table *t, size_t i)
{
    const struct zp_table *p = &r->pairs;
    if (!r->has_pairs)
        return -1;
    int cm = zp_table_col(t, "model");
    for (size_t j = 0; j < p->nrows; j++)
        if (!strcmp(zp_table_str(p, j, zp_table_col(p, "kind")), "qat") &&
            !strcmp(zp_table_str(p, j, zp_table_col(p, "a_label")), zp_table_str(t, i, zp_table_col(t, "label"))) &&
            (cm < 0 || !strcmp(zp_table_str(p, j, zp_table_col(p, "model")), zp_table_str(t, i, cm))))
            return (long)j;
    return -1;
}

/* QAT against PTQ of the same variant, one line per QAT variant: both means over
 * their replicates; the PTQ side is mode both (weights and activations quantized,
 * as in the QAT model and as summary_pairs.csv pairs them), else the mean of the
 * other PTQ rows, never the best of them (that would select on the evaluation set).
 * The difference is marked significant or not from summary_pairs.csv. */
static void qat_gain(const struct zp_plot_run *r, struct zp_strbuf *out)
{
    const struct zp_table *t = &r->accuracy;
    int cm = zp_table_col(t, "mode"), ct = zp_table_col(t, "top1"), cmod = zp_table_col(t, "model");
    if (cm < 0 || ct < 0)
        return;
    struct zp_strset done = {0};
    for (size_t i = 0; i < t->nrows; i++) {
        if (strcmp(zp_table_str(t, i, cm), "qat") != 0)
            continue;
        char label[256], other[256], key[600];
        zp_plot_row_label(t, i, label, sizeof label);
        snprintf(key, sizeof key, "%s|%s", zp_table_str(t, i, cmod), label);
        if (zp_strset_find(&done, key) >= 0)
            continue;
        zp_strset_add(&done, key);
        /* [0]: QAT rows, [1]: PTQ mode both, [2]: other PTQ modes */
        double sum[3] = {0, 0, 0};
        size_t n[3] = {0, 0, 0};
        for (size_t j = 0; j < t->nrows; j++) {
            double v = zp_table_num(t, j, ct);
            zp_plot_row_label(t, j, other, sizeof other);
            if (isnan(v) || strcmp(other, label) || strcmp(zp_table_str(t, j, cmod), zp_table_str(t, i, cmod)))
                continue;
            const char *m = zp_table_str(t, j, cm);
            size_t k = !strcmp(m, "qat") ? 0 : !strcmp(m, "both") ? 1 : 2;
            sum[k] += v;
            n[k]++;
        }
        size_t pk = n[1] ? 1 : 2;
        if (!n[0] || !n[pk])
            continue;
        double q = sum[0] / (double)n[0], ptq = sum[pk] / (double)n[pk];
        zp_strbuf_printf(out, "- QAT vs PTQ (%s), %s: top-1 %.2f%% vs %.2f%% (%+.2f points%s)",
                         pk == 1 ? "mode both" : "mean over the PTQ modes", label, 100.0 * q, 100.0 * ptq,
                         100.0 * (q - ptq), n[0] > 1 || n[pk] > 1 ? ", means over replicates" : "");
        long pj = qat_pair(r, t, i);
        if (pj >= 0)
            row_verdict(out, &r->pairs, (size_t)pj, "delta_top1", "difference");
        zp_strbuf_printf(out, ".\n");
    }
    zp_strset_free(&done);
}

static void worst_layer(const struct zp_plot_run *r, struct zp_strbuf *out)
{
    const struct zp_table *t = &r->layers;
    int cs = zp_table_col(t, "sqnr_db"), cl = zp_table_col(t, "layer"), co = zp_table_col(t, "op");
    int cm = zp_table_col(t, "mode"), cms = zp_table_col(t, "mean_shift");
    size_t w = 0, ws = 0;
    double wv = INFINITY, sv = -INFINITY;
    for (size_t i = 0; i < t->nrows; i++) {
        double v = zp_table_num(t, i, cs), s = zp_table_num(t, i, cms);
        if (!isnan(v) && v < wv) {
            wv = v;
            w = i;
        }
        if (!isnan(s) && s > sv) {
            sv = s;
            ws = i;
        }
    }
    char label[256];
    if (!isinf(wv)) {
        zp_plot_row_label(t, w, label, sizeof label);
        zp_strbuf_printf(out, "- Largest per-layer loss: layer **%s** (%s) under %s%s%s: output SQNR %.2f dB.\n",
                       zp_table_str(t, w, cl), zp_table_str(t, w, co), label, cm >= 0 ? ", mode " : "",
                       zp_table_str(t, w, cm), wv);
    }
    /* the layer that hurts across the board: lowest SQNR averaged over variants */
    struct zp_bars per_layer = {0};
    for (size_t i = 0; i < t->nrows; i++)
        zp_bars_add(&per_layer, zp_table_str(t, i, cl), NULL, "sqnr", NULL, zp_table_num(t, i, cs));
    size_t worst = 0;
    double worst_v = INFINITY;
    for (size_t g = 0; g < per_layer.groups.n; g++) {
        double v = zp_bars_get(&per_layer, g, 0);
        if (!isnan(v) && v < worst_v) {
            worst_v = v;
            worst = g;
        }
    }
    if (!isinf(worst_v) && per_layer.groups.n > 1)
        zp_strbuf_printf(out, "- Most sensitive layer over all variants: **%s**, mean output SQNR %.2f dB.\n",
                       per_layer.groups.v[worst], worst_v);
    zp_bars_free(&per_layer);
    if (!isinf(sv)) {
        zp_plot_row_label(t, ws, label, sizeof label);
        zp_strbuf_printf(out, "- Largest mean shift: layer **%s** under %s: %.4g std.\n",
                       zp_table_str(t, ws, cl), label, sv);
    }
}

static void zero_error(const struct zp_plot_run *r, struct zp_strbuf *out)
{
    const struct zp_table *t = &r->tensors;
    int cz = zp_table_col(t, "zero_error_lsb"), cn = zp_table_col(t, "nudge_zero");
    int cs = zp_table_col(t, "scheme");
    if (cz < 0 || cn < 0)
        return;
    /* asymmetric rows only: nudging is what makes its zero exact */
    double sum[2] = {0, 0};
    size_t n[2] = {0, 0};
    for (size_t i = 0; i < t->nrows; i++) {
        int nz = zp_table_bool(t, i, cn);
        double v = zp_table_num(t, i, cz);
        if (nz < 0 || isnan(v) || (cs >= 0 && strcmp(zp_table_str(t, i, cs), "asymmetric") != 0))
            continue;
        sum[nz] += v;
        n[nz]++;
    }
    if (n[0] && n[1])
        zp_strbuf_printf(out, "- Error at zero (asymmetric, mean over %zu+%zu tensors): %.3g LSB with naive "
                            "min/max vs %.3g LSB nudged.\n",
                       n[0], n[1], sum[0] / (double)n[0], sum[1] / (double)n[1]);
}

static void best_tensor_sqnr(const struct zp_plot_run *r, struct zp_strbuf *out)
{
    const struct zp_table *t = &r->tensors;
    int cs = zp_table_col(t, "sqnr_db"), cb = zp_table_col(t, "bits");
    if (cs < 0)
        return;
    /* synthetic tensors when there are any (as in the figure): every variant saw
     * the same tensors, so the means compare */
    int csrc = zp_table_col(t, "source"), synthetic = 0;
    for (size_t i = 0; i < t->nrows; i++)
        synthetic |= !strcmp(zp_table_str(t, i, csrc), "synthetic");
    struct zp_bars b = {0}; /* mean SQNR per (label, bits) */
    for (size_t i = 0; i < t->nrows; i++) {
        if (synthetic && strcmp(zp_table_str(t, i, csrc), "synthetic") != 0)
            continue;
        char label[256];
        zp_plot_row_label(t, i, label, sizeof label);
        zp_bars_add(&b, zp_table_str(t, i, cb), NULL, label, NULL, zp_table_num(t, i, cs));
    }
    for (size_t g = 0; g < b.groups.n; g++) {
        size_t best = 0;
        double bv = -INFINITY;
        for (size_t s = 0; s < b.series.n; s++) {
            double v = zp_bars_get(&b, g, s);
            if (!isnan(v) && v > bv) {
                bv = v;
                best = s;
            }
        }
        if (!isinf(bv))
            zp_strbuf_printf(out, "- Highest mean tensor SQNR at %s bits%s: %s, %.2f dB.\n", b.groups.v[g],
                           synthetic ? " (synthetic tensors)" : "", b.series.v[best], bv);
    }
    zp_bars_free(&b);
}

static void fastest_kernel(const struct zp_plot_run *r, struct zp_strbuf *out)
{
    const struct zp_table *t = &r->kernels;
    int cs = zp_table_col(t, "scheme"), cp = zp_table_col(t, "speedup_vs_f32");
    int cm = zp_table_col(t, "m"), cn = zp_table_col(t, "n"), ck = zp_table_col(t, "k");
    int cth = zp_table_col(t, "threads"), ck2 = zp_table_col(t, "kernel");
    size_t best = 0;
    double bv = -INFINITY;
    for (size_t i = 0; i < t->nrows; i++) {
        double v = zp_table_num(t, i, cp);
        if (!isnan(v) && v > bv) {
            bv = v;
            best = i;
        }
    }
    if (!isinf(bv))
        zp_strbuf_printf(out, "- Largest speedup over float: %s (kernel %s) at %sx%sx%s, %s thread(s): %.2fx.\n",
                       zp_table_str(t, best, cs), zp_table_str(t, best, ck2), zp_table_str(t, best, cm),
                       zp_table_str(t, best, cn), zp_table_str(t, best, ck), zp_table_str(t, best, cth),
                       bv);
}

void zp_report_findings(const struct zp_plot_run *r, struct zp_strbuf *out)
{
    if (r->has_accuracy) {
        best_per_bits(r, out);
        qat_gain(r, out);
    }
    if (r->has_layers)
        worst_layer(r, out);
    if (r->has_tensors) {
        best_tensor_sqnr(r, out);
        zero_error(r, out);
    }
    if (r->has_kernels)
        fastest_kernel(r, out);
}
