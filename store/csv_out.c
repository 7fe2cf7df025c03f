/* The CSV writer: see csv_out.h. */
#include "store/csv_out.h"

#include <csv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomic.h"
#include "common/file.h"
#include "common/path.h"

void zp_csv_init(struct zp_csv *c)
{
    memset(c, 0, sizeof *c);
}

void zp_csv_free(struct zp_csv *c)
{
    zp_strbuf_free(&c->text);
    zp_strbuf_free(&c->row);
    memset(c, 0, sizeof *c);
}

void zp_csv_quote_to(struct zp_strbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (strpbrk(s, ",\"\r\n") == NULL) {
        zp_strbuf_append(b, s, n);
        return;
    }
    char *tmp = malloc(2 * n + 3); /* worst case: every byte a quote, plus the two */
    if (!tmp) {
        b->oom = 1;
        return;
    }
    zp_strbuf_append(b, tmp, csv_write(tmp, 2 * n + 3, s, n));
    free(tmp);
}

static void put(struct zp_csv *c, const char *s, size_t n)
{
    zp_strbuf_append(&c->text, s, n);
    c->oom |= c->text.oom;
}

/* A text field as written: plain when nothing needs quoting (the usual case),
 * else libcsv's quoting (doubled embedded quotes). Calls emit(s, n). */
static void quoted(struct zp_csv *c, const char *s, void (*emit)(struct zp_csv *, const char *, size_t))
{
    size_t n = strlen(s);
    if (strpbrk(s, ",\"\r\n") == NULL) {
        emit(c, s, n);
        return;
    }
    char *tmp = malloc(2 * n + 3); /* worst case: every byte a quote, plus the two */
    if (!tmp) {
        c->oom = 1;
        return;
    }
    size_t w = csv_write(tmp, 2 * n + 3, s, n);
    emit(c, tmp, w);
    free(tmp);
}

/* A number by kind: NUM writes NaN as empty and +-Inf as +-1e308 (a column of
 * metrics stays numeric for gnuplot); FNUM writes any non-finite value as empty. */
static int format_num(char *b, size_t n, double v, const char *fmt, int finite_only)
{
    if (isnan(v) || (finite_only && !isfinite(v)))
        return 0;
    if (isinf(v))
        v = v > 0 ? 1e308 : -1e308;
    return snprintf(b, n, fmt, v);
}

static void misuse(struct zp_csv *c, const char *fmt, const char *a, const char *b)
{
    if (!c->misuse[0])
        snprintf(c->misuse, sizeof c->misuse, fmt, a, b);
}

/* ---- by column ---- */

/* The column descriptor for col, binding c to its table on first use; NULL (and
 * a misuse recorded) when col is not a column or belongs to another table. */
static const struct zp_column *bind(struct zp_csv *c, int col, int *index)
{
    const struct zp_table_def *d = col >= 0 ? zp_table_def((enum zp_result_table)ZP_COL_TABLE(col)) : NULL;
    if (!d || ZP_COL_INDEX(col) >= d->ncols) {
        char num[24];
        snprintf(num, sizeof num, "%d", col);
        misuse(c, "column %s is not a column of any table%s", num, "");
        return NULL;
    }
    if (!c->def) {
        c->def = d;
    } else if (c->def != d) {
        misuse(c, "%s: column '%s' belongs to another table", c->def->file, d->cols[ZP_COL_INDEX(col)].name);
        return NULL;
    }
    *index = ZP_COL_INDEX(col);
    return &d->cols[*index];
}

static void row_put(struct zp_csv *c, const char *s, size_t n)
{
    zp_strbuf_append(&c->row, s, n);
    if (c->row.oom)
        c->oom = 1;
}

/* Stores field text for column i (the last value set wins). */
static void slot(struct zp_csv *c, int i, const char *s, size_t n, int is_text)
{
    if (c->is_set[i])
        misuse(c, "%s: column '%s' set twice in one row", c->def->file, c->def->cols[i].name);
    c->off[i] = (uint32_t)c->row.len;
    if (is_text && n)
        quoted(c, s, row_put);
    else
        row_put(c, s, n);
    c->flen[i] = (uint32_t)(c->row.len - c->off[i]);
    c->is_set[i] = 1;
}

static int kind_ok(struct zp_csv *c, const struct zp_column *k, enum zp_col_kind want, enum zp_col_kind alt)
{
    if (k->kind == want || k->kind == alt)
        return 1;
    misuse(c, "%s: column '%s': value of the wrong kind", c->def->file, k->name);
    return 0;
}

void zp_csv_set_str(struct zp_csv *c, int col, const char *s)
{
    int i;
    const struct zp_column *k = bind(c, col, &i);
    if (k && kind_ok(c, k, ZP_COL_KIND_STR, ZP_COL_KIND_STR))
        slot(c, i, s ? s : "", s ? strlen(s) : 0, 1);
}

void zp_csv_set_int(struct zp_csv *c, int col, long long v)
{
    int i;
    const struct zp_column *k = bind(c, col, &i);
    if (!k || !kind_ok(c, k, ZP_COL_KIND_INT, ZP_COL_KIND_INT))
        return;
    char b[32];
    int n = snprintf(b, sizeof b, "%lld", v);
    slot(c, i, b, (size_t)n, 0);
}

void zp_csv_set_num(struct zp_csv *c, int col, double v)
{
    int i;
    const struct zp_column *k = bind(c, col, &i);
    if (!k || !kind_ok(c, k, ZP_COL_KIND_NUM, ZP_COL_KIND_FNUM))
        return;
    char b[64];
    int n = format_num(b, sizeof b, v, k->fmt, k->kind == ZP_COL_KIND_FNUM);
    slot(c, i, b, (size_t)n, 0);
}

void zp_csv_set_bool(struct zp_csv *c, int col, int v)
{
    int i;
    const struct zp_column *k = bind(c, col, &i);
    if (!k || !kind_ok(c, k, ZP_COL_KIND_BOOL, ZP_COL_KIND_BOOL))
        return;
    if (v < 0)
        slot(c, i, "", 0, 0);
    else
        slot(c, i, v ? "true" : "false", v ? 4 : 5, 0);
}

void zp_csv_set_empty(struct zp_csv *c, int col)
{
    int i;
    if (bind(c, col, &i))
        slot(c, i, "", 0, 0);
}

void zp_csv_end_row(struct zp_csv *c)
{
    const struct zp_table_def *d = c->def;
    if (!d) {
        misuse(c, "zp_csv_end_row before any column was set%s%s", "", "");
        return;
    }
    for (int i = 0; i < d->ncols; i++) {
        if (i)
            put(c, ",", 1);
        if (!c->is_set[i]) {
            misuse(c, "%s: column '%s' not set", d->file, d->cols[i].name);
            continue;
        }
        if (!c->oom)
            put(c, c->row.s + c->off[i], c->flen[i]);
    }
    put(c, "\n", 1);
    c->rows++;
    c->row.len = 0;
    memset(c->is_set, 0, sizeof c->is_set);
}

void zp_csv_header_of(struct zp_csv *c, enum zp_result_table t)
{
    const struct zp_table_def *d = zp_table_def(t);
    for (int i = 0; i < d->ncols; i++) {
        if (i)
            put(c, ",", 1);
        quoted(c, d->cols[i].name, put);
    }
    put(c, "\n", 1);
}

enum zp_status zp_csv_check(const struct zp_csv *c, struct zp_err *err)
{
    if (c->oom)
        return zp_err_set(err, ZP_ENOMEM, "out of memory while writing rows");
    if (c->misuse[0])
        return zp_err_set(err, ZP_EINVAL, "internal error writing rows: %s", c->misuse);
    return ZP_OK;
}

enum zp_status zp_csv_write_file(const struct zp_csv *c, const char *path, struct zp_err *err)
{
    if (zp_csv_check(c, err)) {
        zp_err_prefix(err, "%s", path);
        return err->status;
    }
    return zp_file_write_atomic(path, c->text.s ? c->text.s : "", c->text.len, err);
}
