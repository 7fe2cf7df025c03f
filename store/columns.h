/* The CSV column tables (store/columns.inc is the list): one enum per file and a
 * descriptor per column, read by the writers (store/csv_out.c), the results
 * folder (store/results.c) and the report (plots/), so a column's name, format
 * and label are written once.
 *
 *   struct zp_csv *r = &out->rows[ZP_TABLE_ACCURACY];
 *   zp_csv_set_str(r, ZP_ACC_MODEL, name);
 *   zp_csv_set_num(r, ZP_ACC_TOP1, top1);   (any order; the column's own format)
 *   zp_csv_end_row(r);                      (written in file order)
 *
 * A column enum value carries its table (value >> 8), so a value of one table
 * set into another table's rows is caught, as is a column left unset; see
 * zp_csv_check in csv_out.h. */
#ifndef ZP_STORE_COLUMNS_H
#define ZP_STORE_COLUMNS_H

#ifdef __cplusplus
extern "C" {
#endif

enum zp_result_table {
#define ZP_TABLE(T, E, file) ZP_TABLE_##E,
#define ZP_COL(T, ID, name, kind, fmt, label, show)
#define ZP_TABLE_END(T)
#include "store/columns.inc"
#undef ZP_TABLE
#undef ZP_COL
#undef ZP_TABLE_END
    ZP_N_ALL_TABLES
};
/* The tables a run's cells write (fragments per cell); kernels/peaks are bench's. */
#define ZP_N_TABLES ZP_TABLE_KERNELS

#define ZP_TABLE(T, E, file) enum zp_col_##T { ZP_##T##__FIRST = (ZP_TABLE_##E << 8) - 1,
#define ZP_COL(T, ID, name, kind, fmt, label, show) ZP_##T##_##ID,
#define ZP_TABLE_END(T) ZP_##T##__END };
#include "store/columns.inc"
#undef ZP_TABLE
#undef ZP_COL
#undef ZP_TABLE_END

/* Table and index of a column enum value. */
#define ZP_COL_TABLE(col) ((col) >> 8)
#define ZP_COL_INDEX(col) ((col) & 0xff)
/* Columns of a table at most (a compile-time bound for per-row slots). */
#define ZP_COL_MAX 64

enum zp_col_kind { ZP_COL_KIND_STR, ZP_COL_KIND_INT, ZP_COL_KIND_BOOL, ZP_COL_KIND_NUM, ZP_COL_KIND_FNUM };
enum zp_col_show { ZP_COL_SHOW_HIDE, ZP_COL_SHOW_RAW, ZP_COL_SHOW_PCT, ZP_COL_SHOW_PTS, ZP_COL_SHOW_NUM };

struct zp_column {
    const char *name;       /* header name: "top1" */
    enum zp_col_kind kind;
    const char *fmt;        /* printf format of NUM/FNUM values: "%.9g" */
    const char *label;      /* for people (report, figure axes): "top-1 %" */
    enum zp_col_show show;  /* how the report shows it */
};

struct zp_table_def {
    enum zp_result_table id;
    const char *file;       /* "accuracy.csv" */
    int ncols;
    const struct zp_column *cols;
};

const struct zp_table_def *zp_table_def(enum zp_result_table t);
/* Same by file name ("accuracy.csv"), NULL when not one of ours. */
const struct zp_table_def *zp_table_def_by_file(const char *file);
/* Index of a column by header name in a table, -1 when absent. */
int zp_table_def_col(const struct zp_table_def *d, const char *name);
const char *zp_table_file(enum zp_result_table t);           /* "tensors.csv" */

#ifdef __cplusplus
}
#endif
#endif
