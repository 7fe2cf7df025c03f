/* The column descriptors, expanded from store/columns.inc: see columns.h. */
#include "store/columns.h"

#include <string.h>

#define ZP_TABLE(T, E, file) static const struct zp_column cols_##T[] = {
#define ZP_COL(T, ID, name, kind, fmt, label, show) \
    {name, ZP_COL_KIND_##kind, fmt, label, ZP_COL_SHOW_##show},
#define ZP_TABLE_END(T) };
#include "store/columns.inc"
#undef ZP_TABLE
#undef ZP_COL
#undef ZP_TABLE_END

#define ZP_TABLE(T, E, file) \
    {ZP_TABLE_##E, file, (int)(sizeof cols_##T / sizeof cols_##T[0]), cols_##T},
#define ZP_COL(T, ID, name, kind, fmt, label, show)
#define ZP_TABLE_END(T)
static const struct zp_table_def defs[] = {
#include "store/columns.inc"
};
#undef ZP_TABLE
#undef ZP_COL
#undef ZP_TABLE_END

_Static_assert(sizeof defs / sizeof defs[0] == ZP_N_ALL_TABLES, "one descriptor per table");

/* Every table fits the per-row slots and its enum agrees with its descriptor. */
#define ZP_TABLE(T, E, file)                                                                   \
    _Static_assert(ZP_##T##__END - ZP_##T##__FIRST - 1 <= ZP_COL_MAX, #T ": too many columns"); \
    _Static_assert(ZP_##T##__END - ZP_##T##__FIRST - 1 == sizeof cols_##T / sizeof cols_##T[0], #T);
#define ZP_COL(T, ID, name, kind, fmt, label, show)
#define ZP_TABLE_END(T)
#include "store/columns.inc"
#undef ZP_TABLE
#undef ZP_COL
#undef ZP_TABLE_END

const struct zp_table_def *zp_table_def(enum zp_result_table t)
{
    return (unsigned)t < ZP_N_ALL_TABLES ? &defs[t] : NULL;
}

const struct zp_table_def *zp_table_def_by_file(const char *file)
{
    for (int t = 0; t < ZP_N_ALL_TABLES; t++)
        if (strcmp(defs[t].file, file) == 0)
            return &defs[t];
    return NULL;
}

int zp_table_def_col(const struct zp_table_def *d, const char *name)
{
    for (int i = 0; i < d->ncols; i++)
        if (strcmp(d->cols[i].name, name) == 0)
            return i;
    return -1;
}

const char *zp_table_file(enum zp_result_table t)
{
    return defs[t].file;
}
