/* Tensor-level figures from tensors.csv: SQNR by scheme variant and distribution,
 * and the error at real 0.0 with and without nudging the range. */
#include <math.h>
#include <string.h>

#include "plots/plot_int.h"

/* Rows of synthetic tensors when there are any (the controlled comparison); else
 * every row, grouped by the distribution column, which for a model's weights holds
 * the layer type (Conv, depthwise, Gemm: experiment/tensor_exp.c). */
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
    /* the title says what a group is and what a bar averages */
    size_t ntensors = 0;
    struct zp_strset names = {0};
    int cten = zp_table_col(t, "tensor"), csrc = zp_table_col(t, "source");
    for (size_t i = 0; i < t->nrows; i++)
        if (use_row(t, i, synthetic_only)) {
            char key[512];
            snprintf(key, sizeof key, "%s|%s", zp_table_str(t, i, csrc), zp_table_str(t, i, cten));
            zp_strset_add(&names, key);
        }
    ntensors = names.n;
    zp_strset_free(&names);
    char title[256];
    snprintf(title, sizeof title, synthetic_only
             ? "SQNR by scheme variant and distribution (%zu synthetic tensors; mean per distribution)"
             : "SQNR by scheme variant and layer type (%zu weight tensors; mean per layer type)",
             ntensors);
    const struct zp_bar_fig f = {
        .name = "tensors_sqnr",
        .what = "SQNR of quantize-dequantize by scheme variant, grouped by distribution (synthetic "
                "tensors) or by layer type (a model's weights)",
        .sources = "../tensors.csv (columns source, tensor, distribution, label, sqnr_db)",
        .title = title, .ylabel = "SQNR (dB)",
        .xlabel = synthetic_only ? "distribution the synthetic tensors were drawn from"
                                 : "layer type (Conv, depthwise Conv, Gemm)",
        .heading = synthetic_only ? "SQNR by scheme and distribution" : "SQNR by scheme and layer type",
        .caption = synthetic_only
                       ? "Signal-to-quantization-noise ratio (dB, higher is better) of each scheme "
                         "variant on synthetic tensors, mean over the tensors of each distribution."
                       : "Signal-to-quantization-noise ratio (dB, higher is better) of each scheme "
                         "variant on the model's weight tensors, mean over the layers of each type.",
    };
    enum zp_status st = zp_plot_bar_figure(r, &f, &b, err);
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
    zp_bars_series(&b, "nudge_zero=false");
    zp_bars_series(&b, "nudge_zero=true");
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
    const struct zp_bar_fig f = {
        .name = "tensors_zero_error",
        .what = "error at real 0.0 by scheme variant, nudged range vs naive min/max",
        .sources = "../tensors.csv (columns label, nudge_zero, zero_error_lsb)",
        .title = "Error at zero: nudged vs naive range (mean over tensors)",
        .ylabel = in_lsb ? "|decoded 0.0| (LSB = steps of the scale)" : "|decoded 0.0| (tensor units)",
        .heading = "Error at zero, nudged vs not",
        .caption = in_lsb ? "The value real 0.0 decodes to, in steps of the scale (mean over "
                            "tensors), with the range nudged to make zero exact vs naive min/max."
                          : "The value real 0.0 decodes to (mean over tensors), with the range "
                            "nudged to make zero exact vs naive min/max.",
    };
    enum zp_status st = zp_plot_bar_figure(r, &f, &b, err);
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
