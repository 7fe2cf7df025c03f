/* Quantization-aware training (fake quantization) for any registered scheme.
 *
 * Forward: the weights of every Conv / Gemm layer are folded with the following
 * BN (w * gamma / sqrt(running var + eps), Jacob et al. 2018), quantized and
 * dequantized with the scheme's own fit / quantize / dequantize (re-fitted every
 * step) and divided by the fold scale again, so the BN that follows still trains;
 * once BN statistics are frozen (after bn_freeze_steps) the network computes
 * exactly the deployed graph conv(x, fq(w_folded)) + folded bias. Each layer's
 * input is fake-quantized per tensor with a range tracked by an exponential
 * moving average of the batch min / max during training and frozen for
 * evaluation.
 * Backward: straight-through inside the quantization range, zero outside
 * (TensorFlow FakeQuant): scheme->clip_range gives the range, NULL means
 * [lowest level, highest level].
 *
 * The result is a float ONNX model (BN folded, float weights) that the runner
 * fake-quantizes again with the same scheme, and the activation ranges it should
 * use, in model/graph.h layer order. */
#ifndef ZP_TRAIN_QAT_H
#define ZP_TRAIN_QAT_H

#include <stdint.h>

#include "common/err.h"
#include "data/dataset.h"
#include "schemes/scheme.h"
#include "train/gtrain.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZP_QAT_MAX_LAYERS 256

/* The fine-tuning loss. Distillation (Hinton et al. 2015) needs no labels: the
 * teacher is the float model of `checkpoint` itself, before fine-tuning, run in
 * evaluation mode on the same (augmented) batch as the fake-quantized student. */
enum zp_qat_loss {
    ZP_QAT_LOSS_XENT = 0,   /* softmax cross-entropy to the labels */
    ZP_QAT_LOSS_DISTILL,    /* (1 - alpha) * T^2 KL(teacher / T || student / T) + alpha * xent */
};

struct zp_qat_options {
    const char *checkpoint;   /* float checkpoint with BN (harness train writes it; either
                                 format, train/gtrain.h) or an ONNX model */
    const char *output;       /* where to write the QAT model (.onnx) */
    int epochs;               /* fine-tuning epochs (>= 1) */
    int batch;
    double lr;                /* cosine from lr to 0 over the run */
    double momentum, weight_decay;  /* adam: momentum is beta1 */
    enum zp_optimizer optimizer;    /* 0 (the zero value): SGD with momentum */
    uint64_t seed;
    long bn_freeze_steps;     /* BN uses running statistics after this many steps */
    double act_ema;           /* moving-average weight of a new batch's min / max (0.01 typical) */
    const struct zp_scheme_config *weights; /* required */
    const struct zp_scheme_config *acts;    /* NULL: weights only */
    const struct zp_dataset *train, *eval;  /* normalized as the checkpoint was trained */
    enum zp_qat_loss loss;    /* 0 (the zero value): cross-entropy */
    double temperature;       /* distillation temperature T (> 0; 0 means 1) */
    double alpha;             /* distillation: weight of the labelled cross-entropy, 0..1
                                 (0: pure KL, the training labels are not read) */
    int hflip;                /* augmentation: random horizontal flip of training batches */
    /* Starting biases, one array per layer of the training graph (graph order;
     * NULL entries keep the checkpoint's): the empirically bias-corrected biases of
     * the PTQ start, so that fine-tuning begins where bias-corrected PTQ is rather
     * than at the uncorrected collapse. Only for a graph without BN (a BN's batch
     * statistics would remove the shift anyway); n_init_bias must equal its
     * number of layers. */
    const float *const *init_bias;
    int n_init_bias;
    int quiet;                /* no progress lines on stderr */
};

struct zp_qat_result {
    char onnx_path[1024];
    int n_layers;                        /* quantized layers (Conv / Gemm) */
    float act_lo[ZP_QAT_MAX_LAYERS];     /* input range of layer i (graph order); 0, 0 when */
    float act_hi[ZP_QAT_MAX_LAYERS];     /* activations were not quantized */
    double float_top1;                   /* the checkpoint before fine-tuning, on eval */
    double qat_top1;                     /* after, with the fake quantization, on eval */
    double last_loss;                    /* mean training loss of the last epoch (NaN: none) */
    double first_loss;                   /* of the first epoch */
};

enum zp_status zp_qat_finetune(const struct zp_qat_options *opt, struct zp_qat_result *res,
                               struct zp_err *err);
/* Whether QAT from checkpoint may start from bias-corrected biases (init_bias):
 * ZP_EUNSUPPORTED naming the checkpoint when its graph has BatchNormalization. */
enum zp_status zp_qat_check_bias_start(const char *checkpoint, struct zp_err *err);

/* Lower-level pieces (tests, and a runner that wants its own loop). */
struct zp_qat_state;
/* Sets the quantization points (train/gtrain.h, model/graph_train.h) of every
 * layer of gt, and the BN freeze after bn_freeze_steps training steps. */
enum zp_status zp_qat_attach(struct zp_gtrain *gt, const struct zp_scheme_config *weights,
                             const struct zp_scheme_config *acts, double act_ema,
                             long bn_freeze_steps, struct zp_qat_state **out, struct zp_err *err);
/* Clears them, unfreezes BN and frees q (the graph keeps its float weights). */
void zp_qat_detach(struct zp_gtrain *gt, struct zp_qat_state *q);

/* One distillation epoch of gt (the student, quantization points attached) with
 * teacher (the float model, evaluation mode) over ds, as zp_gtrain_epoch but
 * with the loss of ZP_QAT_LOSS_DISTILL at temperature T and label weight alpha.
 * out->top1 is the student's argmax agreement with the teacher during training
 * (labels are not read when alpha is 0). */
enum zp_status zp_qat_distill_epoch(struct zp_gtrain *gt, struct zp_gtrain *teacher,
                                    const struct zp_dataset *ds, const struct zp_sgd *sgd,
                                    int batch, int hflip, double T, double alpha, uint64_t seed,
                                    int epoch, long *step, long total_steps,
                                    struct zp_epoch_stats *out, struct zp_err *err);

/* Fake quantization of one tensor with its straight-through mask: out = fq(x),
 * mask[i] = 1 where x[i] lies inside the slice's range (scheme->clip_range or
 * the extreme levels), else 0. shape / ndim as zp_tensor_fit. */
enum zp_status zp_qat_fake_quant(const struct zp_scheme_config *cfg, const float *x,
                                 const int64_t *shape, int ndim, float *out, uint8_t *mask,
                                 struct zp_err *err);

/* The same for a tensor quantized per tensor with the range [lo, hi] (how layer
 * inputs are quantized: fit_range, or fit on the data clipped to the range for
 * codebook schemes). out may equal x. */
enum zp_status zp_qat_fake_quant_range(const struct zp_scheme_config *cfg, float lo, float hi,
                                       const float *x, size_t n, float *out, uint8_t *mask,
                                       struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
