/* The plan: a run's cells in a fixed order. A cell is independent of every other
 * (docs/definitions.md), which is what makes resume, sharding and merging possible. Its
 * id is its position plus a fingerprint of what it computes, so a cell fragment
 * can never be mistaken for another cell's. */
#ifndef ZP_HARNESS_PLAN_H
#define ZP_HARNESS_PLAN_H

#include <stddef.h>

#include "config/config.h"

enum zp_cell_kind {
    ZP_CELL_SYNTH,   /* a synthetic tensor x a variant -> tensors.csv */
    ZP_CELL_WEIGHTS, /* a model's weight tensors x a variant -> tensors.csv */
    ZP_CELL_HIST,    /* a model's weight histogram + every variant's levels */
    ZP_CELL_MODEL,   /* a model x a variant x a mode (x a calibration) -> accuracy, layers */
};

struct zp_cell {
    enum zp_cell_kind kind;
    size_t variant;  /* index into cfg->variants */
    size_t source;   /* synth, weight-model or model index */
    enum zp_mode mode;
    int calib;       /* index into the model's calib[], -1 for none */
    char id[48];
    char desc[400];  /* human description, also what the id fingerprints */
};

struct zp_plan {
    size_t n;
    struct zp_cell *cells;
};

/* Builds the plan; `only` (a comma list of labels or scheme names, or NULL) drops
 * the other variants. An `only` that matches nothing is a config error. */
enum zp_status zp_plan_build(const struct zp_config *cfg, const char *only, struct zp_plan *plan,
                             struct zp_err *err);
void zp_plan_free(struct zp_plan *plan);

#endif
