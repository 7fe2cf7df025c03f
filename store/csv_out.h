/* CSV rows for the result tables. Values are quoted (by libcsv) only when they
 * hold a comma, quote or newline, so gnuplot and spreadsheets read the files as
 * they are. A text buffer collects the rows of one cell; results.c writes it. */
#ifndef ZP_HARNESS_CSV_OUT_H
#define ZP_HARNESS_CSV_OUT_H

#include <stddef.h>
#include <stdint.h>

struct zp_csv {
    char *buf;      /* NUL-terminated text; owned */
    size_t len, cap;
    int field;      /* fields written on the current line */
    int oom;        /* an allocation failed: the text is incomplete */
};

void zp_csv_init(struct zp_csv *c);
void zp_csv_free(struct zp_csv *c);
void zp_csv_str(struct zp_csv *c, const char *s);
void zp_csv_int(struct zp_csv *c, long long v);
/* %.9g; NaN becomes an empty field (undefined metric); +-Inf is written as +-1e308. */
void zp_csv_num(struct zp_csv *c, double v);
void zp_csv_bool(struct zp_csv *c, int v);
void zp_csv_empty(struct zp_csv *c);
void zp_csv_endrow(struct zp_csv *c);
/* A header row from a NULL-terminated list of column names. */
void zp_csv_header(struct zp_csv *c, const char *const *cols);

#endif
