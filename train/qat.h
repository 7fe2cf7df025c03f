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

struct zp_qat_options {
    const char *checkpoint;   /* float checkpoint with BN (harness train writes it; either
                                 format, train/gtrain.h) or an ONNX model */
    const char *output;       /* where to write the QAT model (.onnx) */
    int epochs;               /* fine-tuning epochs (>= 1) */
    int batch;
    double lr;                /* cosine from lr to 0 over the run */
    double momentum, weight_decay;
    uint64_t seed;
    long bn_freeze_steps;     /* BN uses running statistics after this many steps */
    double act_ema;           /* moving-average weight of a new batch's min / max (0.01 typical) */
    const struct zp_scheme_config *weights; /* required */
    const struct zp_scheme_config *acts;    /* NULL: weights only */
    const struct zp_dataset *train, *eval;  /* normalized as the checkpoint was trained */
    int quiet;                /* no progress lines on stderr */
};

struct zp_qat_result {
    char onnx_path[1024];
    int n_layers;                        /* quantized layers (Conv / Gemm) */
    float act_lo[ZP_QAT_MAX_LAYERS];     /* input range of layer i (graph order); 0, 0 when */
    float act_hi[ZP_QAT_MAX_LAYERS];     /* activations were not quantized */
    double float_top1;                   /* the checkpoint before fine-tuning, on eval */
    double qat_top1;                     /* after, with the fake quantization, on eval */
};

enum zp_status zp_qat_finetune(const struct zp_qat_options *opt, struct zp_qat_result *res,
                               struct zp_err *err);

/* Lower-level pieces (tests, and a runner that wants its own loop). */
struct zp_qat_state;
/* Sets the quantization points (train/gtrain.h, model/graph_train.h) of every
 * layer of gt, and the BN freeze after bn_freeze_steps training steps. */
enum zp_status zp_qat_attach(struct zp_gtrain *gt, const struct zp_scheme_config *weights,
                             const struct zp_scheme_config *acts, double act_ema,
                             long bn_freeze_steps, struct zp_qat_state **out, struct zp_err *err);
/* Clears them, unfreezes BN and frees q (the graph keeps its float weights). */
void zp_qat_detach(struct zp_gtrain *gt, struct zp_qat_state *q);

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
