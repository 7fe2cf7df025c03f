/* Prediction files and summary.csv: see predictions.h. */
#include "store/predictions.h"
#include "store/csv_out.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/summary.h"
#include "common/atomic.h"
#include "common/strbuf.h"
#include "store/table.h"

/* ---- text: common/strbuf.h ---------------------------------------------- */

/* ---- prediction files ---------------------------------------------------- */

enum zp_status zp_pred_write(const char *path, const int32_t *label, const int32_t *const *pred, size_t R,
                             size_t n, struct zp_err *err)
{
    struct zp_strbuf b = {0};
    for (size_t c = 0; c < zp_pred_n_columns_classifier; c++)
        zp_strbuf_printf(&b, "%s%s", c ? "," : "", zp_pred_columns_classifier[c]);
    zp_strbuf_printf(&b, "\n");
    for (size_t r = 0; r < R; r++)
        for (size_t i = 0; i < n; i++)
            zp_strbuf_printf(&b, "%zu,%zu,%d,%d,%d\n", r, i, (int)label[i], (int)pred[r][i], label[i] == pred[r][i]);
    if (b.oom) {
        free(b.s);
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
    }
    enum zp_status st = zp_file_write_atomic(path, b.s ? b.s : "", b.len, err);
    free(b.s);
    return st;
}

void zp_pred_file_free(struct zp_pred_file *f)
{
    free(f->label);
    free(f->pred);
    memset(f, 0, sizeof *f);
}

enum zp_status zp_pred_read(const char *path, struct zp_pred_file *f, struct zp_err *err)
{
    memset(f, 0, sizeof *f);
    struct zp_table t = {0};
    if (zp_table_read(path, &t, err))
        return err->status;
    int col[5];
    for (int c = 0; c < 5; c++)
        if ((col[c] = zp_table_col(&t, zp_pred_columns_classifier[c])) < 0) {
            zp_table_free(&t);
            return zp_err_set(err, ZP_EFORMAT, "%s: no column '%s'", path, zp_pred_columns_classifier[c]);
        }
    /* n = examples of replicate 0 */
    size_t n = 0;
    while (n < t.nrows && zp_table_num(&t, n, col[0]) == 0)
        n++;
    enum zp_status st = ZP_OK;
    if (n == 0 || t.nrows % n != 0) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: %zu rows are not whole replicates of %zu examples", path, t.nrows, n);
        goto out;
    }
    f->n = n;
    f->R = t.nrows / n;
    f->label = malloc(n * sizeof *f->label);
    f->pred = malloc(t.nrows * sizeof *f->pred);
    if (!f->label || !f->pred) {
        st = zp_err_set(err, ZP_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t row = 0; row < t.nrows; row++) {
        size_t r = row / n, i = row % n;
        double v[5];
        for (int c = 0; c < 5; c++)
            v[c] = zp_table_num(&t, row, col[c]);
        if (v[0] != (double)r || v[1] != (double)i || !isfinite(v[2]) || !isfinite(v[3]) ||
            (v[4] != 0 && v[4] != 1)) {
            st = zp_err_set(err, ZP_EFORMAT, "%s: row %zu: expected replicate %zu, example %zu, integer label, "
                            "predicted and correct 0/1", path, row + 2, r, i);
            goto out;
        }
        int32_t lab = (int32_t)v[2], pr = (int32_t)v[3];
        if (r == 0)
            f->label[i] = lab;
        else if (f->label[i] != lab) {
            st = zp_err_set(err, ZP_EFORMAT, "%s: row %zu: example %zu has label %d, replicate 0 said %d", path,
                            row + 2, i, (int)lab, (int)f->label[i]);
            goto out;
        }
        if ((lab == pr) != (v[4] == 1)) {
            st = zp_err_set(err, ZP_EFORMAT, "%s: row %zu: correct = %g, but label %d, predicted %d", path,
                            row + 2, v[4], (int)lab, (int)pr);
            goto out;
        }
        f->pred[row] = pr;
    }
out:
    zp_table_free(&t);
    if (st)
        zp_pred_file_free(f);
    return st;
}

/* ---- summary.csv --------------------------------------------------------- */

/* One predictions.csv row with its file loaded (lazily). */
struct cell {
    size_t row;
    struct zp_pred_file f;
    struct zp_preds *runs;
    int loaded;
};

struct ctx {
    const char *dir;
    struct zp_table t;
    struct cell *cells;
    /* float files, loaded once each */
    char (*float_names)[256];
    struct zp_pred_file *floats;
    struct zp_preds *float_runs;
    size_t n_floats;
    int c_cell, c_file, c_float, c_mode, c_model, c_gran, c_nudge, c_key, c_label, c_calib;
};

static enum zp_status load_file(const char *dir, const char *name, struct zp_pred_file *f, struct zp_err *err)
{
    char path[2300];
    if (strchr(name, '/') || !name[0] || name[0] == '.')
        return zp_err_set(err, ZP_EFORMAT, "%s/predictions.csv: file '%s' is not a plain name", dir, name);
    snprintf(path, sizeof path, "%s/predictions/%s", dir, name);
    return zp_pred_read(path, f, err);
}

static void as_runs(const struct zp_pred_file *f, struct zp_preds *runs)
{
    for (size_t r = 0; r < f->R; r++)
        runs[r] = (struct zp_preds){.n = f->n, .label = f->label, .predicted = f->pred + r * f->n};
}

static enum zp_status cell_get(struct ctx *c, size_t i, struct zp_err *err)
{
    struct cell *ce = &c->cells[i];
    if (ce->loaded)
        return ZP_OK;
    if (load_file(c->dir, zp_table_str(&c->t, i, c->c_file), &ce->f, err))
        return err->status;
    ce->runs = malloc(ce->f.R * sizeof *ce->runs);
    if (!ce->runs)
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    as_runs(&ce->f, ce->runs);
    ce->loaded = 1;
    return ZP_OK;
}

static enum zp_status float_get(struct ctx *c, const char *name, struct zp_preds **out, struct zp_err *err)
{
    for (size_t k = 0; k < c->n_floats; k++)
        if (strcmp(c->float_names[k], name) == 0) {
            *out = &c->float_runs[k];
            return ZP_OK;
        }
    size_t k = c->n_floats;
    snprintf(c->float_names[k], sizeof c->float_names[k], "%s", name);
    if (load_file(c->dir, name, &c->floats[k], err))
        return err->status;
    c->n_floats++;
    as_runs(&c->floats[k], &c->float_runs[k]); /* replicate 0: the float model runs once */
    *out = &c->float_runs[k];
    return ZP_OK;
}

static void put_fields(struct zp_strbuf *b, const struct zp_field *fields, size_t nf, const void *row)
{
    for (size_t i = 0; i < nf; i++) {
        double v = zp_field_value(&fields[i], row);
        if (isnan(v))
            zp_strbuf_printf(b, ",");
        else if (fields[i].kind != ZP_FIELD_DOUBLE)
            zp_strbuf_printf(b, ",%.0f", v);
        else
            zp_strbuf_printf(b, ",%.9g", v);
    }
    zp_strbuf_printf(b, "\n");
}

/* What identifies a cell: its id and every setting that tells it from another
 * (calib_size: two calibration settings may share a method; variant_key: the
 * settings the label abbreviates). */
static const char *const id_cols[] = {"cell",        "model",       "dataset",    "scheme",
                                      "label",       "bits",        "granularity", "mode",
                                      "calibration", "calib_size",  "nudge_zero", "variant_key",
                                      "deterministic"};
#define N_ID (sizeof id_cols / sizeof id_cols[0])

/* Are rows i and j a declared pair? Returns its kind ("granularity", "nudge_zero",
 * "qat") with i the first side (per-channel, nudged, QAT), or NULL. */
static const char *pair_kind(const struct ctx *c, size_t i, size_t j)
{
    const struct zp_table *t = &c->t;
#define S(r, col) zp_table_str(t, r, c->col)
    if (strcmp(S(i, c_model), S(j, c_model)) || strcmp(S(i, c_float), S(j, c_float)))
        return NULL;
    int same_mode = !strcmp(S(i, c_mode), S(j, c_mode)) && !strcmp(S(i, c_calib), S(j, c_calib));
    int same_key = !strcmp(S(i, c_key), S(j, c_key));
    if (same_mode && same_key && !strcmp(S(i, c_nudge), S(j, c_nudge)) &&
        !strcmp(S(i, c_gran), "per-channel") && !strcmp(S(j, c_gran), "per-tensor"))
        return "granularity";
    if (same_mode && same_key && !strcmp(S(i, c_gran), S(j, c_gran)) && !strcmp(S(i, c_nudge), "true") &&
        !strcmp(S(j, c_nudge), "false"))
        return "nudge_zero";
    /* PTQ vs QAT of one variant: QAT against the PTQ mode that quantizes the most */
    if (!strcmp(S(i, c_label), S(j, c_label)) && !strcmp(S(i, c_mode), "qat") && !strcmp(S(j, c_mode), "both"))
        return "qat";
#undef S
    return NULL;
}

static enum zp_status write_summary(struct ctx *c, const struct zp_summary_opts *so, struct zp_err *err)
{
    struct zp_table *t = &c->t;
    struct zp_strbuf b = {0}, pb = {0};
    for (size_t k = 0; k < N_ID; k++)
        zp_strbuf_printf(&b, "%s%s", k ? "," : "", id_cols[k]);
    for (size_t k = 0; k < zp_summary_n_fields; k++)
        zp_strbuf_printf(&b, ",%s", zp_summary_fields[k].name);
    zp_strbuf_printf(&b, "\n");
    zp_strbuf_printf(&pb, "kind,model,mode,calibration,a_cell,a_label,a_mode,b_cell,b_label,b_mode");
    for (size_t k = 0; k < zp_pair_n_fields; k++)
        zp_strbuf_printf(&pb, ",%s", zp_pair_fields[k].name);
    zp_strbuf_printf(&pb, "\n");
    size_t n_pairs = 0;
    enum zp_status st = ZP_OK;
    for (size_t i = 0; i < t->nrows && !st; i++) {
        struct zp_preds *flt = NULL;
        if (cell_get(c, i, err) || float_get(c, zp_table_str(t, i, c->c_float), &flt, err)) {
            st = err->status;
            break;
        }
        struct zp_cell_preds cp = {zp_table_str(t, i, c->c_cell), c->cells[i].f.R, c->cells[i].runs};
        struct zp_cell_preds fp = {"float", 1, flt};
        struct zp_summary_row row;
        if ((st = zp_summary_cell(&cp, &fp, &so->boot, &row, err)))
            break;
        for (size_t k = 0; k < N_ID; k++) {
            if (k)
                zp_strbuf_printf(&b, ",");
            zp_csv_quote_to(&b, zp_table_str(t, i, zp_table_col(t, id_cols[k])));
        }
        put_fields(&b, zp_summary_fields, zp_summary_n_fields, &row);
    }
    for (size_t i = 0; i < t->nrows && !st && so->pairs_auto; i++)
        for (size_t j = 0; j < t->nrows && !st; j++) {
            const char *kind = i == j ? NULL : pair_kind(c, i, j);
            if (!kind)
                continue;
            if (cell_get(c, i, err) || cell_get(c, j, err)) {
                st = err->status;
                break;
            }
            struct zp_cell_preds a = {zp_table_str(t, i, c->c_cell), c->cells[i].f.R, c->cells[i].runs};
            struct zp_cell_preds bb = {zp_table_str(t, j, c->c_cell), c->cells[j].f.R, c->cells[j].runs};
            struct zp_pair_row pr;
            if ((st = zp_summary_pair(&a, &bb, &so->boot, &pr, err)))
                break;
            const char *f[] = {kind,
                               zp_table_str(t, i, c->c_model),
                               zp_table_str(t, i, c->c_mode),
                               zp_table_str(t, i, c->c_calib),
                               zp_table_str(t, i, c->c_cell),
                               zp_table_str(t, i, c->c_label),
                               zp_table_str(t, i, c->c_mode),
                               zp_table_str(t, j, c->c_cell),
                               zp_table_str(t, j, c->c_label),
                               zp_table_str(t, j, c->c_mode)};
            for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
                if (k)
                    zp_strbuf_printf(&pb, ",");
                zp_csv_quote_to(&pb, f[k]);
            }
            put_fields(&pb, zp_pair_fields, zp_pair_n_fields, &pr);
            n_pairs++;
        }
    if (!st && (b.oom || pb.oom))
        st = zp_err_set(err, ZP_ENOMEM, "summary.csv: out of memory");
    char path[1200];
    if (!st) {
        snprintf(path, sizeof path, "%s/summary.csv", c->dir);
        st = zp_file_write_atomic(path, b.s ? b.s : "", b.len, err);
    }
    snprintf(path, sizeof path, "%s/summary_pairs.csv", c->dir);
    if (!st && n_pairs)
        st = zp_file_write_atomic(path, pb.s ? pb.s : "", pb.len, err);
    else if (!st)
        remove(path); /* a stale one from an earlier config */
    free(b.s);
    free(pb.s);
    return st;
}

enum zp_status zp_summary_write(const char *dir, struct zp_err *err)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/predictions.csv", dir);
    FILE *probe = fopen(path, "r");
    if (!probe)
        return ZP_OK; /* no model cells */
    fclose(probe);
    struct ctx c = {.dir = dir};
    if (zp_table_read(path, &c.t, err))
        return err->status;
    enum zp_status st = ZP_OK;
    struct zp_summary_opts so = {0};
    c.c_cell = zp_table_col(&c.t, "cell");
    c.c_file = zp_table_col(&c.t, "file");
    c.c_float = zp_table_col(&c.t, "float_file");
    c.c_mode = zp_table_col(&c.t, "mode");
    c.c_model = zp_table_col(&c.t, "model");
    c.c_gran = zp_table_col(&c.t, "granularity");
    c.c_nudge = zp_table_col(&c.t, "nudge_zero");
    c.c_key = zp_table_col(&c.t, "variant_key");
    c.c_label = zp_table_col(&c.t, "label");
    c.c_calib = zp_table_col(&c.t, "calibration");
    int c_res = zp_table_col(&c.t, "resamples"), c_lev = zp_table_col(&c.t, "level"),
        c_seed = zp_table_col(&c.t, "stats_seed"), c_pairs = zp_table_col(&c.t, "pairs");
    if (c.c_cell < 0 || c.c_file < 0 || c.c_float < 0 || c_res < 0 || c_lev < 0 || c_seed < 0 || c_pairs < 0) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: not a predictions index (columns cell, file, float_file, "
                        "resamples, level, stats_seed, pairs)", path);
        goto out;
    }
    if (c.t.nrows == 0)
        goto out;
    /* the settings: one run, one config, so every row carries the same */
    so.boot.resamples = (uint32_t)zp_table_num(&c.t, 0, c_res);
    so.boot.level = zp_table_num(&c.t, 0, c_lev);
    so.boot.seed = strtoull(zp_table_str(&c.t, 0, c_seed), NULL, 10);
    so.pairs_auto = strcmp(zp_table_str(&c.t, 0, c_pairs), "auto") == 0;
    for (size_t i = 1; i < c.t.nrows; i++)
        if (zp_table_num(&c.t, i, c_res) != so.boot.resamples || zp_table_num(&c.t, i, c_lev) != so.boot.level ||
            strcmp(zp_table_str(&c.t, i, c_seed), zp_table_str(&c.t, 0, c_seed)) ||
            strcmp(zp_table_str(&c.t, i, c_pairs), zp_table_str(&c.t, 0, c_pairs))) {
            st = zp_err_set(err, ZP_EFORMAT, "%s: row %zu: statistics settings differ from row 2's", path, i + 2);
            goto out;
        }
    c.cells = calloc(c.t.nrows, sizeof *c.cells);
    c.float_names = calloc(c.t.nrows, sizeof *c.float_names);
    c.floats = calloc(c.t.nrows, sizeof *c.floats);
    c.float_runs = calloc(c.t.nrows, sizeof *c.float_runs);
    if (!c.cells || !c.float_names || !c.floats || !c.float_runs) {
        st = zp_err_set(err, ZP_ENOMEM, "out of memory");
        goto out;
    }
    st = write_summary(&c, &so, err);
    if (st)
        zp_err_prefix(err, "summary.csv of %s", dir);
out:
    for (size_t i = 0; c.cells && i < c.t.nrows; i++) {
        zp_pred_file_free(&c.cells[i].f);
        free(c.cells[i].runs);
    }
    for (size_t k = 0; c.floats && k < c.n_floats; k++)
        zp_pred_file_free(&c.floats[k]);
    free(c.cells);
    free(c.float_names);
    free(c.floats);
    free(c.float_runs);
    zp_table_free(&c.t);
    return st;
}
