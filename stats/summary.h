/* The statistics of summary.csv, computed from per-example prediction records held
 * in memory. A cell is run R times (replicates: seeds of calibration subset,
 * k-means initialisation, QAT shuffling) on the same evaluation examples; the float
 * model once. For each metric the row gives the mean and sample standard deviation
 * over replicates (seed variability) and a 95 % percentile bootstrap interval over
 * examples (test-set variability) of the replicate-averaged per-example value, plus
 * exact McNemar p-values on the same examples. Nothing here writes files: store/
 * maps the rows to columns through zp_summary_fields[] / zp_pair_fields[].
 * Definitions: docs/statistics.md. */
#ifndef ZP_STATS_SUMMARY_H
#define ZP_STATS_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "stats/bootstrap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Significance threshold of the McNemar p-value used for `significant`. */
#define ZP_SIGNIFICANCE_ALPHA 0.05

/* One run (one replicate of a cell, or the float model) over the n evaluation
 * examples, in evaluation order. All arrays borrowed, [n] each.
 * Classifier: label and predicted set, the LM fields NULL.
 * Language model: tokens and nll set (kld too, except for the float model);
 * label/predicted may be NULL (then top1, agreement and McNemar are NaN). */
struct zp_preds {
    size_t n;
    const int32_t *label;     /* ground-truth class */
    const int32_t *predicted; /* argmax of the logits */
    const double *tokens;     /* tokens scored in the example (> 0) */
    const double *nll;        /* mean over the example's tokens of -log p(token), nats */
    const double *kld;        /* mean over its tokens of KL(float || this run), nats */
};

/* All replicates of one cell. rep[r] borrowed; replicates >= 1. The float model
 * is a cell with one replicate. name is used in error messages only. */
struct zp_cell_preds {
    const char *name;
    size_t replicates;
    const struct zp_preds *rep;
};

/* One metric of a row. */
struct zp_stat {
    double mean;   /* mean over replicates of the per-replicate value */
    double std;    /* sample std (n - 1) over replicates; NaN with one replicate */
    double lo, hi; /* percentile bootstrap interval over examples (level of the opts) */
};

/* A cell against the float model. Fractions in [0, 1] except drop, which is in
 * percentage points like accuracy.csv's: 100 (float_top1 - top1). Absent metrics
 * (nll/kld of a classifier; top1... of an LM without labels) are NaN. */
struct zp_summary_row {
    size_t n, replicates;
    struct zp_stat top1, drop, agreement;
    struct zp_stat nll, kld, nll_delta; /* LM: per token, nats; nll_delta = nll - float nll */
    double mcnemar_p;     /* largest per-replicate exact McNemar p vs float (conservative) */
    double mcnemar_p_min; /* smallest per-replicate p */
    double discordant_b;  /* mean over replicates of #(float right, cell wrong) */
    double discordant_c;  /* mean over replicates of #(float wrong, cell right) */
    int significant;      /* classifier: drop interval excludes 0 and mcnemar_p <= alpha;
                           * LM without labels: nll_delta interval excludes 0 */
};

/* A declared pair, cell A vs cell B (nudged vs naive, per-tensor vs per-channel,
 * PTQ vs QAT). Replicate r of A is paired with replicate r of B; a side with one
 * replicate is paired with every replicate of the other. */
struct zp_pair_row {
    size_t n, replicates;          /* replicates = pairs formed */
    struct zp_stat delta_top1;     /* points: 100 (top1_A - top1_B) */
    struct zp_stat delta_nll;      /* LM: nll_A - nll_B, nats per token */
    double mcnemar_p, mcnemar_p_min;
    double discordant_b;           /* mean #(A right, B wrong) */
    double discordant_c;           /* mean #(A wrong, B right) */
    int significant;               /* delta_top1 (else delta_nll) interval excludes 0,
                                    * and mcnemar_p <= alpha when labels exist */
};

/* One replicate against a reference run (a cell vs float, or A vs B): what a
 * per-replicate row of accuracy.csv can carry. */
struct zp_compare {
    uint64_t b, c;     /* #(ref right, run wrong), #(ref wrong, run right) */
    double mcnemar_p;  /* exact two-sided */
    double agreement;  /* fraction of examples with the same predicted class */
};

/* Checks one record set: n > 0; label/predicted both or neither; tokens finite
 * and > 0 when set; nll/kld finite (kld >= 0) and only with tokens; at least
 * labels or nll. Errors name `what` and the example. */
enum zp_status zp_preds_check(const struct zp_preds *p, const char *what, struct zp_err *err);

/* run vs ref on the same examples (labels must match example by example). */
enum zp_status zp_preds_compare(const struct zp_preds *run, const struct zp_preds *ref,
                                struct zp_compare *out, struct zp_err *err);

/* The summary row of `cell` against `flt` (the float model, one replicate used:
 * rep[0]). Both must cover the same examples in the same order with the same
 * labels (and tokens); errors name the cell, replicate and example.
 * The bootstrap resamples examples with the same indices for every metric of the
 * row, one pass (opts: seed, resamples, level; NULL = defaults). */
enum zp_status zp_summary_cell(const struct zp_cell_preds *cell, const struct zp_cell_preds *flt,
                               const struct zp_boot_opts *opts, struct zp_summary_row *out,
                               struct zp_err *err);

/* The pair row of a vs b. Errors as zp_summary_cell, and when the replicate counts
 * differ and neither is 1. */
enum zp_status zp_summary_pair(const struct zp_cell_preds *a, const struct zp_cell_preds *b,
                               const struct zp_boot_opts *opts, struct zp_pair_row *out,
                               struct zp_err *err);

/* Column descriptions, so store/ can write a row without knowing its fields:
 * name (the summary.csv column), and where the value sits in the row struct. */
enum zp_field_kind { ZP_FIELD_DOUBLE, ZP_FIELD_SIZE, ZP_FIELD_BOOL };
struct zp_field {
    const char *name;
    size_t offset;           /* offsetof(row struct, member) */
    enum zp_field_kind kind; /* double (NaN = empty), size_t, int 0/1 */
};
extern const struct zp_field zp_summary_fields[];
extern const size_t zp_summary_n_fields;
extern const struct zp_field zp_pair_fields[];
extern const size_t zp_pair_n_fields;
/* The value of field f of a row (size_t and bool converted to double). */
double zp_field_value(const struct zp_field *f, const void *row);

/* Columns of the per-example prediction file (docs/statistics.md), in order:
 * classifier cells use the first five, LM cells replicate, example, tokens, nll, kld. */
extern const char *const zp_pred_columns_classifier[];
extern const size_t zp_pred_n_columns_classifier;
extern const char *const zp_pred_columns_lm[];
extern const size_t zp_pred_n_columns_lm;

#ifdef __cplusplus
}
#endif
#endif
