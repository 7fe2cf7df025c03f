/* Training on the graph runtime: a loaded graph (model/graph.h) run forward over a
 * whole batch with every activation saved, and backward from d(loss)/d(logits)
 * to the gradients of its parameters; the losses; BatchNormalization kept as a
 * trainable node and folded for deployment; the quantization points of QAT.
 *
 * Typical step (an optimizer such as train/sgd.c updates zp_gparam.w from .g):
 *
 *     zp_onnx_load_train(path, &g, err);          BN kept as nodes
 *     zp_tgraph_new(g, max_batch, &t, err);
 *     for each batch:
 *         zp_tgraph_zero_grad(t);
 *         zp_tgraph_forward(t, x, batch, 1, &logits, err);
 *         loss = zp_loss_xent(logits, labels, batch, classes, dlogits, &correct);
 *         zp_tgraph_backward(t, dlogits, err);
 *         update every zp_tgraph_param(t, i)
 *     zp_tgraph_free(t);
 *     zp_graph_fold_bn(g, err);                   deployable: zp_graph_run as usual
 *
 * Parameters are the graph's own storage: the weights and biases of every layer
 * (Conv, Gemm, MatMul; zp_graph_layer(g, l)->weight points at the same floats)
 * and the gamma / beta of every kept BatchNormalization. Training changes the
 * graph in place, so zp_graph_run after zp_tgraph_sync runs the trained model
 * (BN with its running statistics).
 *
 * Layout: NCHW batches (image-major, as zp_graph_run), batch dimension first.
 * Determinism: the same inputs give bit-identical outputs, running statistics
 * and gradients whatever the number of OpenMP threads (every sum over images is
 * taken in a fixed order that does not depend on the thread count).
 * Threads: all of the OpenMP pool; OpenBLAS is set to one thread per call.
 *
 * Stability: additions only. A change is announced here and in the commit. */
#ifndef ZP_MODEL_GRAPH_TRAIN_H
#define ZP_MODEL_GRAPH_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "model/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- loading and deployment ---------------------------------------------------- */

/* As zp_onnx_load / zp_onnx_load_buffer, but every BatchNormalization stays a node
 * (gamma, beta, running mean and variance, epsilon; momentum from the ONNX
 * attribute, default 0.9 in ONNX's convention = 0.1 for the new batch).
 * zp_graph_run on such a graph applies BN with its running statistics (as of the
 * last zp_tgraph_sync or load). */
enum zp_status zp_onnx_load_train(const char *path, struct zp_graph **out, struct zp_err *err);
enum zp_status zp_onnx_load_train_buffer(const void *buf, size_t len, const char *what,
                                         struct zp_graph **out, struct zp_err *err);

/* Folds every kept BN into the Conv before it when that Conv's output has no
 * other reader (the same arithmetic as the load-time fold of zp_onnx_load, by
 * the same function), and turns the other BNs into fixed per-channel affines.
 * Afterwards the graph is what zp_onnx_load would have given (layer weights and
 * biases updated; a Conv without bias gains one). Call after zp_tgraph_free:
 * a training state must not outlive the BN nodes it refers to. */
enum zp_status zp_graph_fold_bn(struct zp_graph *g, struct zp_err *err);

/* Number of kept BatchNormalization nodes (0 after zp_graph_fold_bn). */
int zp_graph_num_bn(const struct zp_graph *g);

/* ---- the training state ---------------------------------------------------------- */

struct zp_tgraph;

enum zp_gparam_kind {
    ZP_GPARAM_WEIGHT,   /* layer weight, layout of zp_layer_info.weight */
    ZP_GPARAM_BIAS,     /* layer bias (only layers that have one) */
    ZP_GPARAM_GAMMA,    /* BN scale */
    ZP_GPARAM_BETA,     /* BN shift */
    ZP_GPARAM_TABLE,    /* a constant table read by Gather (the embedding), row-major;
                           one parameter per table however many Gathers read it */
};

/* One trainable tensor: values (the graph's storage) and accumulated gradient. */
struct zp_gparam {
    const char *name;   /* layer or BN node name; TABLE: the table's tensor name */
    enum zp_gparam_kind kind;
    float *w;           /* n values, updated in place by the optimizer */
    float *g;           /* n gradients, accumulated (+=) by zp_tgraph_backward */
    size_t n;
    int decay;          /* 1 for layer weights and tables (weight decay applies), 0 for
                           biases and BN */
    int layer;          /* layer index (WEIGHT, BIAS), else -1 */
    int bn;             /* BN index (GAMMA, BETA; zp_tgraph_bn order), else -1 */
};

/* A state for batches of up to max_batch images. Keeps a pointer to g (which
 * must outlive it). Allocates the saved activations and gradients. */
enum zp_status zp_tgraph_new(struct zp_graph *g, int max_batch, struct zp_tgraph **out,
                             struct zp_err *err);
void zp_tgraph_free(struct zp_tgraph *t);

int zp_tgraph_num_params(const struct zp_tgraph *t);
const struct zp_gparam *zp_tgraph_param(const struct zp_tgraph *t, int i);
/* Sets every gradient to 0. */
void zp_tgraph_zero_grad(struct zp_tgraph *t);

/* BN momentum: running = (1 - m) * running + m * batch statistic, with the
 * unbiased batch variance (as train/layer_bn.c and PyTorch). Default: each BN's
 * own, 1 - its ONNX momentum attribute (0.1 when absent); this overrides all of
 * them (a negative value restores the defaults). */
void zp_tgraph_set_bn_momentum(struct zp_tgraph *t, double momentum);
/* Freezes BN (1): training forwards then use the running statistics and leave
 * them unchanged (gamma / beta still get gradients). 0 unfreezes. */
void zp_tgraph_freeze_bn(struct zp_tgraph *t, int frozen);

/* Forward of `batch` (1..max_batch) NCHW inputs. train = 1: BN normalizes with
 * batch statistics and updates the running ones, the quantization callbacks are
 * told train = 1; train = 0: running statistics, nothing updated. Every
 * activation is kept for zp_tgraph_backward. *logits (batch x classes, owned by
 * t, valid until the next forward) may be NULL. */
enum zp_status zp_tgraph_forward(struct zp_tgraph *t, const float *input, int batch, int train,
                                 const float **logits, struct zp_err *err);
/* Backward of the last forward from dlogits (batch x classes = d(loss)/d(logits)):
 * accumulates (+=) the gradient of every parameter. Call after a forward (train
 * or eval mode: the derivative of the mode that ran). */
enum zp_status zp_tgraph_backward(struct zp_tgraph *t, const float *dlogits, struct zp_err *err);
/* d(loss)/d(input) of the last backward (batch x input size, owned by t); for
 * tests and for attacks / distillation into the input. */
const float *zp_tgraph_input_grad(const struct zp_tgraph *t);

/* Writes the BN running statistics into the per-channel affine zp_graph_run
 * applies, so that inference runs the model as trained. (An eval forward,
 * train = 0, does the same for every BN as it runs.) */
void zp_tgraph_sync(struct zp_tgraph *t);

/* Kept BatchNormalization nodes, in graph order. */
int zp_tgraph_num_bn(const struct zp_tgraph *t);
struct zp_bn_view {
    const char *name;
    int64_t channels;
    float *gamma, *beta;        /* parameters (also in the parameter list) */
    float *mean, *var;          /* running statistics (checkpoints save them) */
    float eps;
    int after_layer;            /* layer whose output it normalizes (its only reader), else -1 */
};
int zp_tgraph_bn(const struct zp_tgraph *t, int i, struct zp_bn_view *out);
/* The BN that reads layer l's output alone (for the Jacob et al. fold of QAT:
 * w * gamma / sqrt(var + eps)), -1 if none. */
int zp_tgraph_bn_after_layer(const struct zp_tgraph *t, int layer);

/* ---- quantization points (QAT) ----------------------------------------------------- */

/* Weight transform of one layer: writes the weights the layer computes with into
 * out (n floats, e.g. fake-quantized w) and mask[i] = 1 where the gradient
 * passes straight through to w[i] (inside the representable range), 0 where it
 * is stopped. Called once per forward. Returns ZP_OK or an error (set err). */
typedef enum zp_status (*zp_weight_fn)(void *ctx, int layer, const float *w, size_t n,
                                       float *out, uint8_t *mask, struct zp_err *err);
/* Input fake-quant of one layer: edits x (batch * per-image input size floats,
 * NCHW; a private copy of the layer's input) in place and sets mask[i] = 1 where
 * x[i] was inside the range [lo, hi] (gradient 1), 0 outside (gradient 0).
 * train says whether this is a training forward (the callback may update its
 * moving-average range then). Called once per forward. */
typedef enum zp_status (*zp_input_fn)(void *ctx, int layer, float *x, size_t n, int train,
                                      uint8_t *mask, struct zp_err *err);

/* Sets (fn != NULL) or clears the weight transform / input fake-quant of layer l.
 * Return ZP_EINVAL for a bad layer index, ZP_ENOMEM if the buffers cannot be had. */
enum zp_status zp_tgraph_set_weight_fn(struct zp_tgraph *t, int layer, zp_weight_fn fn, void *ctx,
                                       struct zp_err *err);
enum zp_status zp_tgraph_set_input_fn(struct zp_tgraph *t, int layer, zp_input_fn fn, void *ctx,
                                      struct zp_err *err);
/* The weights layer l computed with in the last forward (the transform's output,
 * or the float weights when it has none). */
const float *zp_tgraph_weight_used(const struct zp_tgraph *t, int layer);

/* ---- losses ----------------------------------------------------------------------- */

/* Mean softmax cross-entropy of batch x classes logits against labels; writes
 * d(loss)/d(logits) into dlogits (may be NULL) and counts top-1 hits into
 * *correct (may be NULL). Sums in double. A label outside 0..classes-1 returns
 * NAN (nothing written). */
double zp_loss_xent(const float *logits, const int32_t *labels, int batch, int classes,
                    float *dlogits, int *correct);
/* Distillation: mean over the batch of T^2 * KL(softmax(teacher / T) ||
 * softmax(logits / T)) (Hinton et al. 2015: the T^2 keeps gradient magnitudes
 * comparable across temperatures); writes d(loss)/d(logits) into dlogits (may be
 * NULL), which is T * (softmax(logits/T) - softmax(teacher/T)) / batch. */
double zp_loss_kl(const float *logits, const float *teacher, int batch, int classes, double T,
                  float *dlogits);

#ifdef __cplusplus
}
#endif
#endif
