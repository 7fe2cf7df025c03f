/* Runs a plan: each cell's rows are committed to the run folder as soon as the
 * cell finishes (results.h), run.json records the config, the plan, the machine
 * and the time per phase, and the figures are rendered from the CSVs at the end. */
#ifndef ZP_HARNESS_RUNNER_H
#define ZP_HARNESS_RUNNER_H

#include "config/config.h"
#include "store/csv_out.h"
#include "experiment/plan.h"
#include "common/progress.h"
#include "store/results.h"

/* Plans larger than this are refused without --yes (docs/sweeps.md). */
#define ZP_PLAN_MAX_CELLS 10000

struct zp_run_opts {
    const char *out;      /* run folder; NULL: results/<config name> */
    const char *only;     /* comma list of labels / scheme names, or NULL */
    int resume, force, quiet, no_plots;
    int shard_i, shard_n; /* run cells with index % shard_n == shard_i */
    int threads;          /* 0: all cores */
    long limit;           /* evaluate at most this many examples (0: config's) */
    int yes;              /* run a plan larger than ZP_PLAN_MAX_CELLS */
};

/* Returns ZP_OK, or the status of the first failure (a failed cell stops the run
 * after its message; finished cells stay committed). */
enum zp_status zp_run(const struct zp_config *cfg, const struct zp_run_opts *opts,
                      struct zp_err *err);

/* --- shared by the experiment modules ------------------------------------- */

struct zp_model_ctx; /* model_exp.c: a loaded model with its datasets and float pass */

struct zp_cell_out {
    struct zp_csv rows[ZP_N_TABLES];
};

/* The variant's common CSV columns: scheme, label, bits, granularity and the
 * booleans nudge_zero / narrow_range (empty where the scheme has no such notion). */
int zp_variant_nudge(const struct zp_scheme_config *c);  /* 1, 0, or -1 (not applicable) */
int zp_variant_narrow(const struct zp_scheme_config *c); /* 1, 0, or -1 */
void zp_csv_bool_or_empty(struct zp_csv *c, int v);

enum zp_status zp_tensor_cell(const struct zp_config *cfg, const struct zp_cell *cell,
                              struct zp_cell_out *out, struct zp_err *err);

/* Loads model `index` (its graph, datasets, float pass) or returns the one loaded. */
enum zp_status zp_model_ctx_get(const struct zp_config *cfg, size_t index,
                                const struct zp_run_opts *opts, struct zp_progress *prog,
                                struct zp_model_ctx **out, struct zp_err *err);
void zp_model_ctx_release(void);
enum zp_status zp_model_cell(const struct zp_config *cfg, const struct zp_cell *cell,
                             struct zp_model_ctx *m, struct zp_progress *prog,
                             struct zp_cell_out *out, const char *run_dir, struct zp_err *err);
enum zp_status zp_hist_cell(const struct zp_config *cfg, const struct zp_cell *cell,
                            struct zp_model_ctx *m, struct zp_cell_out *out, struct zp_err *err);
/* Facts about the loaded model for run.json (name, n_eval, float_top1, times). */
void zp_model_ctx_describe(const struct zp_model_ctx *m, void *cjson_obj);

#endif
