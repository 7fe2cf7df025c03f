/* Mini-batches of one training epoch, shared by both training runtimes: the
 * shuffle and horizontal flips of epoch e come from their own stream (seed, e),
 * so a resumed run sees the same batches as an uninterrupted one. The last
 * partial batch is dropped (batch statistics of a few examples are noise). */
#ifndef ZP_TRAIN_BATCHES_H
#define ZP_TRAIN_BATCHES_H

#include <stdint.h>

#include "common/err.h"
#include "common/rng.h"
#include "data/dataset.h"

struct zp_batches {
    const struct zp_dataset *ds;
    int batch, hflip;
    long steps;         /* full batches in the epoch */
    uint32_t *idx;      /* the epoch's permutation */
    float *x;           /* batch x example, NCHW */
    int32_t *y;
    struct zp_rng rng;
};

/* Fails (naming the counts) when ds holds fewer than one batch. */
enum zp_status zp_batches_init(struct zp_batches *b, const struct zp_dataset *ds, int batch,
                               int hflip, uint64_t seed, int epoch, struct zp_err *err);
/* Fills b->x / b->y with batch k (0..steps-1, in order: flips draw from the stream). */
void zp_batches_fill(struct zp_batches *b, long k);
void zp_batches_free(struct zp_batches *b);

#endif
