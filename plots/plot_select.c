/* Choosing "best" variants without looking at the evaluation set (issue 16): see
 * zp_plot_choose in plot_int.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plots/plot_int.h"

/* The slot name of a row no figure draws (a name no slot function makes). */
#define OUT "\x01"

/* A cell of accuracy.csv: its rows are its replicates. */
static void cell_key(const struct zp_table *t, size_t i, char *out, size_t n)
{
    snprintf(out, n, "%s|%s|%s|%s|%s", zp_table_str(t, i, zp_table_col(t, "model")),
             zp_table_str(t, i, zp_table_col(t, "label")), zp_table_str(t, i, zp_table_col(t, "mode")),
             zp_table_str(t, i, zp_table_col(t, "calibration")), zp_table_str(t, i, zp_table_col(t, "calib_size")));
}

int zp_plot_choose(const struct zp_table *t, zp_plot_slot_fn slot, const void *ctx, unsigned char *keep)
{
    size_t n = t->nrows;
    int cs = zp_table_col(t, "select_top1");
    int with_select = 0;
    for (size_t i = 0; cs >= 0 && i < n; i++)
        with_select |= !isnan(zp_table_num(t, i, cs));
    char (*slots)[256] = calloc(n ? n : 1, sizeof *slots);
    char (*cells)[640] = calloc(n ? n : 1, sizeof *cells);
    double *score = calloc(n ? n : 1, sizeof *score);
    if (!slots || !cells || !score) {
        free(slots);
        free(cells);
        free(score);
        memset(keep, 0, n);
        return with_select;
    }
    for (size_t i = 0; i < n; i++) {
        keep[i] = 0;
        if (!slot(t, i, slots[i], sizeof slots[i], ctx))
            snprintf(slots[i], sizeof slots[i], "%s", OUT); /* not in the figure */
        cell_key(t, i, cells[i], sizeof cells[i]);
    }
    /* a cell's score: mean select_top1 over its replicates */
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        size_t k = 0;
        for (size_t j = 0; j < n && with_select; j++)
            if (!strcmp(cells[i], cells[j]) && !isnan(zp_table_num(t, j, cs))) {
                s += zp_table_num(t, j, cs);
                k++;
            }
        score[i] = k ? s / (double)k : -INFINITY;
    }
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(slots[i], OUT))
            continue;
        /* the chosen row of i's slot: best score, first in file order on ties (and
         * always the first without a select split) */
        size_t best = i;
        for (size_t j = 0; j < n; j++) {
            if (strcmp(slots[i], slots[j]))
                continue;
            if (score[j] > score[best] || (score[j] == score[best] && j < best))
                best = j;
        }
        keep[i] = strcmp(cells[i], cells[best]) == 0;
    }
    free(slots);
    free(cells);
    free(score);
    return with_select;
}

const char *zp_plot_choice_words(int with_select)
{
    return with_select ? "the variant of each chosen on the select split (highest select top-1), "
                         "mean over replicates"
                       : "no select split configured, so no selection: the first configured variant of each, "
                         "mean over replicates";
}
