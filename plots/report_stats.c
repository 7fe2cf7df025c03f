/* The report's significance section, from summary.csv and summary_pairs.csv
 * (docs/statistics.md): which differences are real. A difference is marked
 * significant only when its bootstrap interval excludes 0 and its exact McNemar
 * p-value is at most 0.05 (summary.csv's `significant`); every other one is
 * marked "not significant", with the reason. */
#include <math.h>
#include <string.h>

#include "plots/report.h"

void zp_report_verdict(struct zp_strbuf *out, double lo, double hi, double p, int significant)
{
    if (significant) {
        zp_strbuf_printf(out, "**significant**");
        return;
    }
    /* why not: the interval includes 0 and/or p > 0.05 (a NaN bound or p says nothing) */
    int in = !isnan(lo) && !isnan(hi) && lo <= 0 && hi >= 0;
    int hp = !isnan(p) && p > 0.05;
    zp_strbuf_printf(out, "not significant (%s)",
                     in && hp ? "the interval includes 0 and p > 0.05"
                     : in     ? "the interval includes 0"
                     : hp     ? "p > 0.05"
                              : "summary.csv marks it so");
}

static void cell_line(const struct zp_table *t, size_t i, struct zp_strbuf *out)
{
    double dm = zp_table_num(t, i, zp_table_col(t, "drop_mean"));
    double lo = zp_table_num(t, i, zp_table_col(t, "drop_lo")), hi = zp_table_num(t, i, zp_table_col(t, "drop_hi"));
    double sd = zp_table_num(t, i, zp_table_col(t, "drop_std"));
    double p = zp_table_num(t, i, zp_table_col(t, "mcnemar_p"));
    double reps = zp_table_num(t, i, zp_table_col(t, "replicates"));
    int sig = zp_table_bool(t, i, zp_table_col(t, "significant")) == 1;
    int det = zp_table_bool(t, i, zp_table_col(t, "deterministic")) == 1;
    zp_strbuf_printf(out, "- %s (mode %s, calibration %s): drop %.2f points, 95 %% interval [%.2f, %.2f], McNemar p = %.3g",
                   zp_table_str(t, i, zp_table_col(t, "label")), zp_table_str(t, i, zp_table_col(t, "mode")),
                   zp_table_str(t, i, zp_table_col(t, "calibration")), dm, lo, hi, p);
    if (reps > 1)
        zp_strbuf_printf(out, " (largest over %.0f replicates; seed std of the drop %.2f)", reps, sd);
    else if (det)
        zp_strbuf_printf(out, " (deterministic: nothing random to replicate)");
    zp_strbuf_printf(out, ": ");
    zp_report_verdict(out, lo, hi, p, sig);
    zp_strbuf_printf(out, ".\n");
}

void zp_report_significance(const struct zp_plot_run *r, struct zp_strbuf *out)
{
    const struct zp_table *t = &r->summary;
    int cb = zp_table_col(t, "bits"), cs = zp_table_col(t, "significant");
    if (!r->has_summary || cb < 0 || cs < 0 || t->nrows == 0)
        return;
    /* the 8-bit rows first: the question a reader of an 8-bit table asks */
    size_t n8 = 0, s8 = 0;
    for (size_t i = 0; i < t->nrows; i++)
        if (zp_table_num(t, i, cb) == 8) {
            n8++;
            s8 += zp_table_bool(t, i, cs) == 1;
        }
    if (n8) {
        zp_strbuf_printf(out, "- **8-bit rows: %zu of %zu differ significantly from float** "
                            "(drop interval excludes 0 and McNemar p <= 0.05)%s",
                       s8, n8, s8 ? ": " : "; none does.\n");
        size_t k = 0;
        for (size_t i = 0; i < t->nrows && s8; i++)
            if (zp_table_num(t, i, cb) == 8 && zp_table_bool(t, i, cs) == 1)
                zp_strbuf_printf(out, "%s%s (%s)", k++ ? "; " : "", zp_table_str(t, i, zp_table_col(t, "label")),
                               zp_table_str(t, i, zp_table_col(t, "mode")));
        if (s8)
            zp_strbuf_printf(out, ". The other 8-bit differences are not significant.\n");
        for (size_t i = 0; i < t->nrows; i++)
            if (zp_table_num(t, i, cb) == 8)
                cell_line(t, i, out);
    }
    size_t other = t->nrows - n8, so = 0;
    for (size_t i = 0; i < t->nrows; i++)
        so += zp_table_num(t, i, cb) != 8 && zp_table_bool(t, i, cs) == 1;
    if (other)
        zp_strbuf_printf(out, "- Other bit widths: %zu of %zu rows differ significantly from float; "
                            "the rest are not significant (summary.csv).\n",
                       so, other);
    const struct zp_table *pt = &r->pairs;
    for (size_t i = 0; r->has_pairs && i < pt->nrows; i++) {
        double dm = zp_table_num(pt, i, zp_table_col(pt, "delta_top1_mean"));
        double lo = zp_table_num(pt, i, zp_table_col(pt, "delta_top1_lo"));
        double hi = zp_table_num(pt, i, zp_table_col(pt, "delta_top1_hi"));
        double p = zp_table_num(pt, i, zp_table_col(pt, "mcnemar_p"));
        int sig = zp_table_bool(pt, i, zp_table_col(pt, "significant")) == 1;
        zp_strbuf_printf(out, "- Pair (%s, mode %s): %s minus %s: %+.2f points top-1, 95 %% interval [%.2f, %.2f], "
                            "McNemar p = %.3g: ",
                       zp_table_str(pt, i, zp_table_col(pt, "kind")), zp_table_str(pt, i, zp_table_col(pt, "mode")),
                       zp_table_str(pt, i, zp_table_col(pt, "a_label")),
                       zp_table_str(pt, i, zp_table_col(pt, "b_label")), dm, lo, hi, p);
        zp_report_verdict(out, lo, hi, p, sig);
        zp_strbuf_printf(out, ".\n");
    }
}
