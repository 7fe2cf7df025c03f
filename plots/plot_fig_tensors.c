/* Tensor-level figures from tensors.csv: SQNR by scheme variant and distribution,
 * and the error at real 0.0 with and without nudging the range. */
#include <math.h>
#include <string.h>

#include "plots/plot.h"

/* Rows of synthetic tensors when there are any (the controlled comparison); else
 * every row, grouped by the distribution column (a layer name for model weights). */
static int use_row(const struct zp_table *t, size_t i, int synthetic_only)
{
    if (!synthetic_only)
        return 1;
    return strcmp(zp_table_str(t, i, zp_table_col(t, "source")), "synthetic") == 0;
}

#define MAX_GROUPS 16 /* more distributions than this would not read as bars */

static enum zp_status fig_sqnr(struct zp_plot_run *r, int synthetic_only, struct zp_err *err)
{
    const struct zp_table *t = &r->tensors;
    int cdist = zp_table_col(t, "distribution"), csq = zp_table_col(t, "sqnr_db");
    int csch = zp_table_col(t, "scheme");
    if (csq < 0)
        return ZP_OK;
    struct zp_bars b = {0};
    for (size_t i = 0; i < t->nrows; i++) {
        if (!use_row(t, i, synthetic_only))
            continue;
        const char *dist = zp_table_str(t, i, cdist);
        if (zp_strset_find(&b.groups, *dist ? dist : "all") < 0 && b.groups.n >= MAX_GROUPS)
            continue;
        char label[256];
        zp_plot_row_label(t, i, label, sizeof label);
        const char *sch = zp_table_str(t, i, csch);
        zp_bars_add(&b, *dist ? dist : "all", sch, label, sch, zp_table_num(t, i, csq));
    }
    enum zp_status st = ZP_OK;
    if (b.groups.n) {
        struct zp_sbuf gp = {0};
        zp_plot_script_begin(&gp, "tensors_sqnr",
                             "SQNR of quantize-dequantize by scheme variant and distribution",
                             "../tensors.csv (columns distribution, label, sqnr_db)");
        zp_sbuf_printf(&gp, "set title 'SQNR by scheme and %s'\n",
                       synthetic_only ? "distribution (synthetic tensors)" : "tensor");
        zp_sbuf_printf(&gp, "set ylabel 'SQNR (dB)'\nset xlabel '%s'\nset yrange [0:*]\n",
                       synthetic_only ? "distribution" : "tensor");
        st = zp_bars_emit(r, &b, "tensors_sqnr", &gp, NULL, err);
        zp_plot_script_end(&gp);
        if (st == ZP_OK)
            st = gp.oom ? zp_err_set(err, ZP_ENOMEM, "tensors_sqnr.gp: out of memory")
                        : zp_plot_write(r, "tensors_sqnr.gp", gp.s, err);
        if (st == ZP_OK)
            zp_plot_add_fig(r, "tensors_sqnr", "SQNR by scheme and distribution",
                            "Signal-to-quantization-noise ratio (dB, higher is better) of each scheme "
                            "variant, mean over the tensors of each distribution.");
        zp_sbuf_free(&gp);
    }
    zp_bars_free(&b);
    return st;
}

static enum zp_status fig_zero_error(struct zp_plot_run *r, struct zp_err *err)
{
    const struct zp_table *t = &r->tensors;
    int cz = zp_table_col(t, "zero_error_lsb"), cn = zp_table_col(t, "nudge_zero");
    int csch = zp_table_col(t, "scheme");
    int in_lsb = 1;
    if (cz < 0) {
        cz = zp_table_col(t, "zero_error");
        in_lsb = 0;
    }
    if (cz < 0 || cn < 0)
        return ZP_OK;
    struct zp_bars b = {.colour_by_group = 1, .value_fmt = "%.2f"};
    int seen[2] = {0, 0};
    /* Series first, so "nudge_zero=false" is always the first (left) bar. */
    for (size_t i = 0; i < t->nrows; i++) {
        int nz = zp_table_bool(t, i, cn);
        if (nz >= 0)
            seen[nz] = 1;
    }
    if (!seen[0] || !seen[1])
        return ZP_OK; /* nothing to compare */
    zp_strset_add(&b.series, "nudge_zero=false");
    zp_strset_add(&b.series_scheme, "0|");
    zp_strset_add(&b.series, "nudge_zero=true");
    zp_strset_add(&b.series_scheme, "1|");
    for (size_t i = 0; i < t->nrows; i++) {
        int nz = zp_table_bool(t, i, cn);
        if (nz < 0)
            continue;
        char label[256], key[256];
        zp_plot_row_label(t, i, label, sizeof label);
        zp_plot_strip_word(label, "nudge", key, sizeof key);
        const char *sch = zp_table_str(t, i, csch);
        zp_bars_add(&b, key, sch, nz ? "nudge_zero=true" : "nudge_zero=false", "",
                    zp_table_num(t, i, cz));
    }
    enum zp_status st = ZP_OK;
    struct zp_sbuf gp = {0};
    zp_plot_script_begin(&gp, "tensors_zero_error",
                         "error at real 0.0 by scheme variant, nudged range vs naive min/max",
                         "../tensors.csv (columns label, nudge_zero, zero_error_lsb)");
    zp_sbuf_printf(&gp, "set title 'Error at zero: nudged vs naive range'\n");
    zp_sbuf_printf(&gp, "set ylabel '%s'\nset yrange [0:*]\n",
                   in_lsb ? "|decoded 0.0| (LSB = steps of the scale)" : "|decoded 0.0| (tensor units)");
    st = zp_bars_emit(r, &b, "tensors_zero_error", &gp, NULL, err);
    zp_plot_script_end(&gp);
    if (st == ZP_OK)
        st = gp.oom ? zp_err_set(err, ZP_ENOMEM, "tensors_zero_error.gp: out of memory")
                    : zp_plot_write(r, "tensors_zero_error.gp", gp.s, err);
    if (st == ZP_OK)
        zp_plot_add_fig(r, "tensors_zero_error", "Error at zero, nudged vs not",
                        in_lsb ? "The value real 0.0 decodes to, in steps of the scale (mean over "
                                 "tensors), with the range nudged to make zero exact vs naive min/max."
                               : "The value real 0.0 decodes to (mean over tensors), with the range "
                                 "nudged to make zero exact vs naive min/max.");
    zp_sbuf_free(&gp);
    zp_bars_free(&b);
    return st;
}

enum zp_status zp_plot_figs_tensors(struct zp_plot_run *r, struct zp_err *err)
{
    if (!r->has_tensors || r->tensors.nrows == 0)
        return ZP_OK;
    int synthetic = 0;
    for (size_t i = 0; i < r->tensors.nrows; i++)
        if (use_row(&r->tensors, i, 1))
            synthetic = 1;
    enum zp_status st = fig_sqnr(r, synthetic, err);
    if (st == ZP_OK)
        st = fig_zero_error(r, err);
    return st;
}
