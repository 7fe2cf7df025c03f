/* Training on the graph runtime (model/graph_train.h): any ONNX model in the
 * runtime's op set, loaded with BatchNormalization kept as nodes, trained with
 * the SGD, schedules and epoch batches of train/trainer.h; checkpoints that
 * carry the training graph itself (so a checkpoint alone rebuilds the network,
 * as QAT needs); deployment ONNX with BN folded, written into the source model
 * (train/onnx_rewrite.h).
 *
 * Checkpoint (native little-endian binary, written atomically):
 *   "ZPGCKPT1", int32 epochs_done, int32 n_params, int32 n_bn, uint64 onnx bytes,
 *   the training graph's ONNX, per parameter: int32 kind, int64 count; per BN:
 *   int64 channels; then per parameter its values and momentum, per BN its
 *   running mean and variance. */
#ifndef ZP_TRAIN_GTRAIN_H
#define ZP_TRAIN_GTRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "data/dataset.h"
#include "model/graph_train.h"
#include "train/trainer.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zp_gtrain {
    struct zp_graph *g;
    struct zp_tgraph *t;
    uint8_t *onnx;          /* the training graph's ONNX (BN kept), owned */
    size_t onnx_len;
    char what[256];         /* the model's name in messages */
    int n_params;
    float **mom;            /* momentum buffer of each parameter (adam: first moment) */
    float **mom2;           /* adam: second moment of each parameter, allocated on its
                               first step (checkpoints do not carry it: only QAT, which
                               does not resume, uses adam) */
    long adam_steps;        /* adam steps taken since the last reset */
    int64_t in_shape[4];    /* per-example input shape */
    int in_ndim;
    size_t in_size;         /* floats per example */
    int n_classes;
    int max_batch;
    float *dlogits;         /* max_batch x n_classes */
    /* Called before every training step's forward (QAT freezes BN by step count
     * here); NULL: none. */
    void (*before_step)(void *ctx, struct zp_gtrain *gt);
    void *step_ctx;
};

/* Loads the training graph onnx[len] (ownership passes to the state, also on
 * failure: it is free()d) for batches of up to max_batch. */
enum zp_status zp_gtrain_open(uint8_t *onnx, size_t len, const char *what, int max_batch,
                              struct zp_gtrain **out, struct zp_err *err);
/* The model of a train config: the "model" ONNX file, or the built-in
 * architecture built as a graph (zp_train_model_onnx). */
enum zp_status zp_gtrain_open_config(const struct zp_train_config *cfg, int max_batch,
                                     struct zp_gtrain **out, struct zp_err *err);
void zp_gtrain_free(struct zp_gtrain *gt);

/* Fails naming both shapes unless ds's examples fit the model's input and its
 * labels its classes. */
enum zp_status zp_gtrain_check_data(const struct zp_gtrain *gt, const struct zp_dataset *ds,
                                    const char *what, struct zp_err *err);

/* One epoch of SGD over ds (the batches of train/batches.h: shuffled from seed
 * and epoch); step counts optimizer steps across epochs (for the schedule:
 * total_steps over the whole run). */
enum zp_status zp_gtrain_epoch(struct zp_gtrain *gt, const struct zp_dataset *ds,
                               const struct zp_sgd *sgd, int batch, int hflip, uint64_t seed,
                               int epoch, long *step, long total_steps,
                               struct zp_epoch_stats *st, struct zp_err *err);
/* Top-1 of the evaluation-mode graph (BN running statistics, the quantization
 * points as set) on ds, in batches of max_batch. */
enum zp_status zp_gtrain_evaluate(struct zp_gtrain *gt, const struct zp_dataset *ds, double *top1,
                                  struct zp_err *err);
/* One optimizer step over every parameter (sgd->optimizer: SGD or Adam). */
enum zp_status zp_gtrain_step(struct zp_gtrain *gt, const struct zp_sgd *sgd, double lr,
                                  struct zp_err *err);
/* Zeroes every momentum buffer (a fine-tuning run starts on a new loss). */
void zp_gtrain_reset_momentum(struct zp_gtrain *gt);

/* Writes the trained model with BN folded to path (atomically); gt is unchanged
 * (the fold runs on a copy). doc: the model's doc string. */
enum zp_status zp_gtrain_export(const struct zp_gtrain *gt, const char *path, const char *doc,
                                struct zp_err *err);

enum zp_status zp_gtrain_checkpoint_save(const struct zp_gtrain *gt, int epochs_done,
                                         const char *path, struct zp_err *err);
/* Loads a checkpoint of this model (the parameter list must match). */
enum zp_status zp_gtrain_checkpoint_load(struct zp_gtrain *gt, int *epochs_done, const char *path,
                                         struct zp_err *err);
/* Rebuilds the model a checkpoint holds and loads it. A checkpoint of the former
 * training runtime ("ZPTCKPT2", the shipped models/ *.ckpt) is read too: its
 * network is written as a training graph (momentum is not carried over). Any
 * other file is read as an ONNX model (BN kept, *epochs_done 0): QAT of a model
 * that has no checkpoint. */
enum zp_status zp_gtrain_checkpoint_open(const char *path, int max_batch, struct zp_gtrain **out,
                                         int *epochs_done, struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
