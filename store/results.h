/* The run folder (DESIGN.md §6): finished cells are kept as fragments in
 * DIR/.cells/, each written to a temporary file and renamed, with a ".done"
 * marker written last; the public CSVs are reassembled from the fragments in
 * plan order after every cell and replaced atomically (rename). So a run killed
 * at any point loses no finished cell, `--resume` skips finished cells, and a
 * resumed or merged run writes byte-identical CSVs to an uninterrupted one. */
#ifndef ZP_HARNESS_RESULTS_H
#define ZP_HARNESS_RESULTS_H

#include <stddef.h>

#include "common/err.h"

#include "store/columns.h"
#include "store/store_fs.h"

struct zp_run_dir {
    char dir[1024];
    char cells[1100];
};

/* Prepares DIR: created if missing; an existing non-empty DIR needs resume
 * (which also requires the same config fingerprint) or force (which removes the
 * previous results first). */
enum zp_status zp_run_dir_open(struct zp_run_dir *rd, const char *dir, int resume, int force,
                               const char *fingerprint, struct zp_err *err);

/* 1 when cell `id` finished in an earlier (or this) run. */
int zp_cell_done(const struct zp_run_dir *rd, const char *id);

/* Stores a finished cell's rows, one text per table (NULL or "" = no rows); the
 * rows lack the header. Atomic: either every fragment and the marker exist or the
 * cell counts as not done. */
enum zp_status zp_cell_commit(const struct zp_run_dir *rd, const char *id,
                              const char *const rows[ZP_N_TABLES], struct zp_err *err);

/* Rewrites DIR/<table>.csv from the fragments of the cells listed (plan order);
 * a table none of whose cells has rows is not written. */
enum zp_status zp_run_assemble(const struct zp_run_dir *rd, const char *const *ids, size_t n,
                               struct zp_err *err);

/* Fingerprint of a text (64-bit FNV-1a as 16 hex digits). */
void zp_fingerprint(const char *text, size_t len, char out[17]);

#endif
