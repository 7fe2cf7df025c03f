/* CSV text for every table zeropoint writes (the one CSV writer). Values are
 * quoted (by libcsv) only when they hold a comma, quote or newline, so gnuplot and
 * spreadsheets read the files as they are. A buffer collects rows; results.c
 * (cells) or zp_csv_write_file (whole files) puts it on disk atomically.
 *
 * Two ways to fill a row:
 *  - by column (the interface to use): zp_csv_set_*(c, ZP_ACC_TOP1, v) in any
 *    order, then zp_csv_end_row. The first set binds the buffer to the column's
 *    table (store/columns.h); each value is formatted by the column's declared
 *    kind and format; a column never set, a column of another table or a value of
 *    the wrong kind is recorded and reported by zp_csv_check.
 *  - by position (zp_csv_str/int/num/bool/empty + zp_csv_endrow): the older
 *    interface, kept until every writer is converted; numbers are %.9g. */
#ifndef ZP_STORE_CSV_OUT_H
#define ZP_STORE_CSV_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/strbuf.h"
#include "store/columns.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zp_csv {
    struct zp_strbuf text; /* the rows so far (text.s, NUL-terminated; NULL while empty) */
    int oom;        /* an allocation failed: the text is incomplete */
    size_t rows;    /* complete rows in buf (header excluded) */
    /* by-column rows */
    const struct zp_table_def *def; /* bound by the first zp_csv_set_* */
    struct zp_strbuf row; /* the current row's formatted fields, back to back */
    uint32_t off[ZP_COL_MAX], flen[ZP_COL_MAX];
    uint8_t is_set[ZP_COL_MAX];
    char misuse[160]; /* first misuse, "" if none */
};

void zp_csv_init(struct zp_csv *c);
void zp_csv_free(struct zp_csv *c);

/* ---- by column ---- */
void zp_csv_set_str(struct zp_csv *c, int col, const char *s);   /* NULL = empty */
void zp_csv_set_int(struct zp_csv *c, int col, long long v);
void zp_csv_set_num(struct zp_csv *c, int col, double v);        /* NUM and FNUM columns */
void zp_csv_set_bool(struct zp_csv *c, int col, int v);          /* -1: empty (does not apply) */
void zp_csv_set_empty(struct zp_csv *c, int col);                /* any kind: no value */
/* Appends the row in file order and clears it; an unset column is a misuse. */
void zp_csv_end_row(struct zp_csv *c);
/* The header row of table t. */
void zp_csv_header_of(struct zp_csv *c, enum zp_result_table t);
/* Appends s as one CSV field (libcsv's quoting when it needs any) to b: for files
 * whose rows are not a column table (store/predictions.c). */
void zp_csv_quote_to(struct zp_strbuf *b, const char *s);

/* ZP_OK, ZP_ENOMEM (an allocation failed) or ZP_EINVAL naming the first misuse
 * ("accuracy.csv: column 'top5' not set"): call before the text is stored. */
enum zp_status zp_csv_check(const struct zp_csv *c, struct zp_err *err);
/* Writes c's text to path atomically (common/atomic.h); c should start with
 * its header (zp_csv_header_of). */
enum zp_status zp_csv_write_file(const struct zp_csv *c, const char *path, struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
