/* Whole CSV files in memory, read with libcsv (store/table.c): what the figures,
 * the report and merge read back from a run folder. */
#ifndef ZP_STORE_TABLE_H
#define ZP_STORE_TABLE_H

#include <stddef.h>

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A whole CSV file in memory: the first row is the header. */
struct zp_table {
    size_t ncols, nrows;
    char **header;  /* ncols names */
    char **cells;   /* nrows * ncols, row-major; a short row is padded with "" */
};

/* Reads path into *t. ZP_EIO if it can't be opened, ZP_EFORMAT if it doesn't parse
 * or has no header. Release with zp_table_free (safe on a zeroed table). */
enum zp_status zp_table_read(const char *path, struct zp_table *t, struct zp_err *err);
/* Parses CSV text (for tests and for files already in memory). name is for messages. */
enum zp_status zp_table_parse(const char *name, const char *text, size_t len, struct zp_table *t,
                              struct zp_err *err);
void zp_table_free(struct zp_table *t);
/* Index of a column by name, -1 when absent. */
int zp_table_col(const struct zp_table *t, const char *name);
/* Cell text; "" for an absent column (col < 0). */
const char *zp_table_str(const struct zp_table *t, size_t row, int col);
/* Cell as a number; NaN when empty, absent, not a number or not finite. */
double zp_table_num(const struct zp_table *t, size_t row, int col);
/* true/1/yes -> 1, false/0/no -> 0, anything else -> -1. */
int zp_table_bool(const struct zp_table *t, size_t row, int col);

#ifdef __cplusplus
}
#endif
#endif
