/* Column names of summary.csv's statistics and of the per-example prediction
 * file, in one place, so store/ writes them and plots/ reads them by the same
 * names (docs/statistics.md lists them). */
#include "stats/summary.h"

#include <stddef.h>

#define STAT4(T, m)                                                                 \
    {#m "_mean", offsetof(T, m.mean), ZP_FIELD_DOUBLE},                            \
        {#m "_std", offsetof(T, m.std), ZP_FIELD_DOUBLE},                          \
        {#m "_lo", offsetof(T, m.lo), ZP_FIELD_DOUBLE},                            \
        {#m "_hi", offsetof(T, m.hi), ZP_FIELD_DOUBLE}

#define ROW struct zp_summary_row
const struct zp_field zp_summary_fields[] = {
    {"n_eval", offsetof(ROW, n), ZP_FIELD_SIZE},
    {"replicates", offsetof(ROW, replicates), ZP_FIELD_SIZE},
    STAT4(ROW, top1),
    STAT4(ROW, drop),
    STAT4(ROW, agreement),
    STAT4(ROW, nll),
    STAT4(ROW, kld),
    STAT4(ROW, nll_delta),
    {"mcnemar_p", offsetof(ROW, mcnemar_p), ZP_FIELD_DOUBLE},
    {"mcnemar_p_min", offsetof(ROW, mcnemar_p_min), ZP_FIELD_DOUBLE},
    {"discordant_b", offsetof(ROW, discordant_b), ZP_FIELD_DOUBLE},
    {"discordant_c", offsetof(ROW, discordant_c), ZP_FIELD_DOUBLE},
    {"significant", offsetof(ROW, significant), ZP_FIELD_BOOL},
};
const size_t zp_summary_n_fields = sizeof zp_summary_fields / sizeof zp_summary_fields[0];
#undef ROW

#define ROW struct zp_pair_row
const struct zp_field zp_pair_fields[] = {
    {"n_eval", offsetof(ROW, n), ZP_FIELD_SIZE},
    {"replicates", offsetof(ROW, replicates), ZP_FIELD_SIZE},
    STAT4(ROW, delta_top1),
    STAT4(ROW, delta_nll),
    {"mcnemar_p", offsetof(ROW, mcnemar_p), ZP_FIELD_DOUBLE},
    {"mcnemar_p_min", offsetof(ROW, mcnemar_p_min), ZP_FIELD_DOUBLE},
    {"discordant_b", offsetof(ROW, discordant_b), ZP_FIELD_DOUBLE},
    {"discordant_c", offsetof(ROW, discordant_c), ZP_FIELD_DOUBLE},
    {"significant", offsetof(ROW, significant), ZP_FIELD_BOOL},
};
const size_t zp_pair_n_fields = sizeof zp_pair_fields / sizeof zp_pair_fields[0];
#undef ROW

double zp_field_value(const struct zp_field *f, const void *row)
{
    const char *p = (const char *)row + f->offset;
    switch (f->kind) {
    case ZP_FIELD_SIZE:
        return (double)*(const size_t *)(const void *)p;
    case ZP_FIELD_BOOL:
        return (double)*(const int *)(const void *)p;
    case ZP_FIELD_DOUBLE:
    default:
        return *(const double *)(const void *)p;
    }
}

const char *const zp_pred_columns_classifier[] = {"replicate", "example", "label", "predicted",
                                                  "correct"};
const size_t zp_pred_n_columns_classifier =
    sizeof zp_pred_columns_classifier / sizeof zp_pred_columns_classifier[0];
const char *const zp_pred_columns_lm[] = {"replicate", "example", "tokens", "nll", "kld"};
const size_t zp_pred_n_columns_lm = sizeof zp_pred_columns_lm / sizeof zp_pred_columns_lm[0];
