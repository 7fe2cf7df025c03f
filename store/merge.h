/* harness merge: joins the run folders of the shards of one sweep (harness run
 * --shard I/N) into one run folder. Shards must come from the same config and
 * code version (.cells/FINGERPRINT) and the same input files (.cells/INPUTS); each
 * shard's finished cells are verified against their markers before they are
 * copied, and the merged CSVs are assembled in plan order, so they equal a
 * single-process run's. */
#ifndef ZP_STORE_MERGE_H
#define ZP_STORE_MERGE_H

#include <stddef.h>

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zp_merge_result {
    size_t cells_total;   /* cells of the plan */
    size_t cells_missing; /* cells none of the shards finished */
};

/* Merges shards[0..n) into out (created, or an earlier merge of the same sweep).
 * ZP_ECONFIG: the shards are of different configs, code versions or inputs, or
 * out is another run's folder or in use; ZP_EFORMAT: a shard's cell is damaged
 * (named); ZP_EIO: a file could not be read or written. Missing cells are not an
 * error here: res says how many, and the folder holds the rest. */
enum zp_status zp_merge(const char *out, const char *const *shards, int n, struct zp_merge_result *res,
                        struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
