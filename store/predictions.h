/* Per-example prediction files and summary.csv (docs/statistics.md).
 *
 * A model cell's replicates are written to DIR/predictions/<cell id>.csv, the float
 * model's to DIR/predictions/float-<model>.csv (columns zp_pred_columns_classifier:
 * replicate, example, label, predicted, correct), atomically, before the cell is
 * committed; DIR/predictions.csv (a cell table, one row per model cell) says where
 * each file is and what pairs it belongs to. summary.csv and summary_pairs.csv are
 * computed from those files alone, so the end of a run, `--resume` and `harness
 * merge` all write the same numbers, and anyone can recompute them. */
#ifndef ZP_STORE_PREDICTIONS_H
#define ZP_STORE_PREDICTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "stats/bootstrap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes R replicates of n examples: pred[r] is replicate r's predicted classes. */
enum zp_status zp_pred_write(const char *path, const int32_t *label, const int32_t *const *pred, size_t R,
                             size_t n, struct zp_err *err);

/* A prediction file read back: R replicates x n examples (pred is R * n). */
struct zp_pred_file {
    size_t R, n;
    int32_t *label;
    int32_t *pred;
};
/* Reads and checks a file (every replicate covers examples 0..n-1 in order with the
 * same labels; `correct` agrees with label == predicted). Errors name file and row. */
enum zp_status zp_pred_read(const char *path, struct zp_pred_file *f, struct zp_err *err);
void zp_pred_file_free(struct zp_pred_file *f);

/* The statistics settings recorded with every predictions.csv row. */
struct zp_summary_opts {
    struct zp_boot_opts boot;
    int pairs_auto; /* 1: pairs from the variant axes (nudged vs naive, per-tensor vs
                       per-channel, PTQ vs QAT) */
};

/* Writes DIR/summary.csv (one row per model cell against its float run) and, when
 * pairs are formed, DIR/summary_pairs.csv, from DIR/predictions.csv and the files
 * it names. No predictions.csv (a run without model cells): nothing is written. */
enum zp_status zp_summary_write(const char *dir, struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
