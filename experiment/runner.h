/* Runs a plan: each cell's rows are committed to the run folder as soon as the
 * cell finishes (results.h), run.json records the config, the plan, the machine
 * and the time per phase. Figures are the caller's (plots/ renders them from the
 * CSVs), so the experiment layer never depends on the figure layer. */
#ifndef ZP_HARNESS_RUNNER_H
#define ZP_HARNESS_RUNNER_H

#include "config/config.h"
#include "store/csv_out.h"
#include "experiment/plan.h"
#include "common/progress.h"
#include "store/results.h"
#include "schemes/granularity.h"

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
    /* Draws the figures of the finished run folder (plots/ in `harness run`; NULL:
     * none). Its failure is a warning: the cells are committed by then. */
    enum zp_status (*figures)(const char *run_dir, struct zp_err *err);
};

/* The run folder: --out, else results/<config name>; snprintf's result. */
int zp_run_folder(const struct zp_config *cfg, const struct zp_run_opts *opts, char *out, size_t n);

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
/* 0 for codebooks fitted to means (binary, lut4 kmeans), whose clip_share is empty. */
int zp_variant_can_clip(const struct zp_scheme_config *c);
/* accuracy.csv's qat_loss, qat_temperature, qat_alpha: the fine-tuning loss of a
 * QAT row (v != NULL), empty for every other row (v NULL). */
void zp_variant_qat_cols(struct zp_csv *r, const struct zp_variant *v);

/* Storage cost and clipping summed over a model's quantized weight tensors:
 * bits_per_weight weighted by element count, clip_share = clipped slices over all
 * slices (docs/definitions.md). Zero-initialise, add each tensor with the config it
 * was quantized with (a layer override's own). */
struct zp_wcost {
    double bits, n;        /* sum of bits_per_weight * elements, and of elements */
    size_t clipped, slices;
    int no_clip;           /* some tensor's scheme cannot clip: clip_share is empty */
    int invalid;           /* a shape the scheme refused (not expected after the fit) */
};
void zp_wcost_add(struct zp_wcost *wc, const struct zp_scheme_config *c,
                  const struct zp_tensor_qparams *qp, const float *x, const int64_t *shape,
                  int ndim, struct zp_err *err);
double zp_wcost_bits(const struct zp_wcost *wc);       /* NaN when nothing was added */
double zp_wcost_clip_share(const struct zp_wcost *wc); /* NaN = empty */

enum zp_status zp_tensor_cell(const struct zp_config *cfg, const struct zp_cell *cell,
                              struct zp_cell_out *out, struct zp_err *err);

/* Loads model `index`: its graph and datasets (and the QAT training set when
 * with_train), checked against each other, pruned when the config says so; no
 * float pass yet. Every input problem of a model surfaces here, which is why the
 * runner calls it for every model before it creates the run folder. */
enum zp_status zp_model_ctx_load(const struct zp_config *cfg, size_t index,
                                 const struct zp_run_opts *opts, int with_train,
                                 struct zp_progress *prog, struct zp_model_ctx **out,
                                 struct zp_err *err);
enum zp_status zp_model_ctx_load_train(struct zp_model_ctx *m, struct zp_progress *prog,
                                       struct zp_err *err);
/* Makes *slot (owned by the caller, NULL at first) model `index` with its float
 * pass done: keeps it when it already is, else frees it and loads that model. */
enum zp_status zp_model_ctx_get(const struct zp_config *cfg, size_t index,
                                const struct zp_run_opts *opts, struct zp_progress *prog,
                                struct zp_model_ctx **slot, struct zp_err *err);
void zp_model_ctx_free(struct zp_model_ctx *m);
/* The loaded model's graph (the runner's checks of cells against it). */
const struct zp_graph *zp_model_ctx_graph(const struct zp_model_ctx *m);
enum zp_status zp_model_cell(const struct zp_config *cfg, const struct zp_cell *cell,
                             struct zp_model_ctx *m, struct zp_progress *prog,
                             struct zp_cell_out *out, const char *run_dir, struct zp_err *err);
enum zp_status zp_hist_cell(const struct zp_config *cfg, const struct zp_cell *cell,
                            struct zp_model_ctx *m, struct zp_cell_out *out, struct zp_err *err);
/* Facts about the loaded model for run.json (name, n_eval, float_top1, times). */
struct zp_json;
void zp_model_ctx_describe(const struct zp_model_ctx *m, struct zp_json *obj);

#endif
