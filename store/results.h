/* The run folder (docs/sweeps.md): finished cells are kept as fragments in
 * DIR/.cells/, each written atomically, with a ".done" marker written last that
 * records, per table, the fragment's row count, field count, size and CRC-32. The
 * public CSVs grow by appending each cell's rows as it finishes (in plan order),
 * and are rebuilt from the verified fragments, atomically, at the end of the run,
 * on resume and by merge. So a run killed at any point loses no finished cell,
 * `--resume` skips finished cells and recomputes damaged ones, and a resumed or
 * merged run writes byte-identical CSVs to an uninterrupted one.
 *
 * One process at a time: zp_run_dir_open takes an exclusive lock (flock on
 * DIR/.cells/LOCK, which names the holder) for the run's life. */
#ifndef ZP_STORE_RESULTS_H
#define ZP_STORE_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/columns.h"
#include "common/atomic.h"
#include "common/file.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zp_run_dir {
    char dir[1024];
    char cells[1100];
    int lock_fd;              /* the held lock, -1 when none */
    int resume;               /* 1: damaged cells are recomputed (with a warning) */
    /* the plan, after zp_run_dir_plan */
    size_t n;
    const char *const *ids;   /* borrowed: plan order */
    uint8_t *done;            /* per cell: finished and verified */
    uint8_t *in_csv;          /* per cell: its rows are in the public CSVs */
    long last_in_csv;         /* highest cell index appended, -1 none */
    size_t done_not_in_csv;   /* done cells whose rows are not in the CSVs yet */
    int csv_stale;            /* the public CSVs lag behind: rebuilt by zp_run_assemble */
    size_t recomputed;        /* damaged cells dropped by zp_run_dir_plan */
};

/* Prepares DIR: created if missing; an existing non-empty DIR needs resume
 * (which also requires the same config fingerprint) or force (which removes the
 * previous results first). Takes the folder's lock first: a folder another
 * process holds is refused (ZP_ECONFIG) with that process's pid and command. */
enum zp_status zp_run_dir_open(struct zp_run_dir *rd, const char *dir, int resume, int force,
                               const char *fingerprint, struct zp_err *err);
/* ZP_ECONFIG naming the holder when another process holds DIR's lock, else ZP_OK
 * (nothing is created). */
enum zp_status zp_run_dir_busy(const char *dir, struct zp_err *err);
/* Releases the lock and the plan state (safe to call twice). */
void zp_run_dir_close(struct zp_run_dir *rd);

/* Registers the plan (ids in plan order, kept by the caller until close): every
 * existing marker is verified against its fragments; a damaged cell (fragment
 * missing, truncated, of another size, CRC or row shape) is refused, or with
 * resume dropped and recomputed (a warning on stderr). With finished cells present
 * the public CSVs are rebuilt once here. Call once, before the first commit. */
enum zp_status zp_run_dir_plan(struct zp_run_dir *rd, const char *const *ids, size_t n,
                               struct zp_err *err);

/* 1 when cell `id` finished (in an earlier or this run) and its fragments verify. */
int zp_cell_done(const struct zp_run_dir *rd, const char *id);

/* Stores a finished cell's rows, one text per table (NULL or "" = no rows); the
 * rows lack the header. Atomic: either every fragment and the marker exist or the
 * cell counts as not done. With a plan registered, the rows are also appended to
 * the public CSVs when that keeps them in plan order. */
enum zp_status zp_cell_commit(struct zp_run_dir *rd, const char *id,
                              const char *const rows[ZP_N_TABLES], struct zp_err *err);

/* Rewrites DIR/<table>.csv atomically from the verified fragments of the cells
 * listed (plan order); a table none of whose cells has rows is not written. A
 * damaged fragment is an error naming the cell. */
enum zp_status zp_run_assemble(struct zp_run_dir *rd, const char *const *ids, size_t n,
                               struct zp_err *err);

/* Fingerprint of a text (64-bit FNV-1a as 16 hex digits). */
void zp_fingerprint(const char *text, size_t len, char out[17]);

/* ---- cell markers (store/cells.c; public for merge and the tests) ---- */

/* What a marker records of one table's fragment. */
struct zp_fragment_info {
    int present;
    size_t rows, bytes;
    int fields;
    uint32_t crc;
};
/* Verifies cell `id` in the fragments folder `cells`: the marker exists and every
 * fragment it names matches it. ZP_OK (info filled when non-NULL), ZP_EIO when
 * there is no marker, ZP_EFORMAT when the cell is damaged (err says how). */
enum zp_status zp_cell_verify(const char *cells, const char *id, struct zp_fragment_info info[ZP_N_TABLES],
                              struct zp_err *err);
/* Checks CSV rows (no header): complete lines, each with `fields` fields (quotes
 * respected). Returns the row count, or -1 when malformed. */
long zp_rows_check(const char *text, size_t len, int fields);

#ifdef __cplusplus
}
#endif
#endif
