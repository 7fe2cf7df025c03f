/* Integer-only inference of a loaded graph, as TFLite and gemmlowp run it: every
 * activation tensor held as 8-bit codes (NHWC) with one scale and zero point,
 * Conv / Gemm as integer GEMMs (kernels/: u8 with zero points, s8, s8 in
 * [-127, 127]) with int32 biases at input scale x weight scale, every layer output
 * requantized to the next tensor's codes by a fixed-point multiplier and shift (or
 * a float multiplier), Relu / Clip fused as output clamps, depthwise convolution,
 * global average pooling, MaxPool and Add in integer, the network input quantized
 * once and the logits dequantized from the last layer's int32 accumulators.
 *
 * The program is built from the graph plus, per layer, the input quantizer and the
 * weight codes of a fitted scheme; a tensor no layer reads (a Relu's input, an Add
 * operand) takes its quantizer from its consumer (through Relu / Clip / Flatten /
 * pooling, which keep it), or, for an Add operand, from the producing layer's
 * calibrated output range through the caller's fit callback. Anything else is an
 * error naming the node. docs/config.md ("Mode integer") describes the mode. */
#ifndef ZP_MODEL_INT_GRAPH_H
#define ZP_MODEL_INT_GRAPH_H

#include <stdint.h>

#include "common/err.h"
#include "kernels/kernels.h"
#include "model/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The quantizer of one activation tensor: x = scale (q - zp), q in [qmin, qmax],
 * stored as int8 when qmin < 0, else uint8. */
struct zp_iq {
    float scale;
    int32_t zp, qmin, qmax;
};

/* What the caller gives per layer. */
struct zp_int_layer_q {
    struct zp_iq in;          /* the layer input's quantizer */
    enum zp_kfmt wfmt;        /* ZP_KF_U8 (codes 0..255), ZP_KF_S8, ZP_KF_S8N */
    const int32_t *wcode;     /* weight codes, the layer's weight layout (zp_layer_info) */
    const float *wscale;      /* per output channel (per tensor: the same value n_out times) */
    const int32_t *wzp;       /* per output channel zero point (0 for s8 formats) */
    const float *bias;        /* float bias, NULL = the layer's own (NULL there: none) */
    float out_lo, out_hi;     /* calibrated range of the output before its activation,
                                 NAN when unknown (needed only for an Add operand) */
};

/* Fits the quantizer of a tensor from a range (the activation scheme). */
typedef enum zp_status zp_int_fit_fn(void *ctx, float lo, float hi, struct zp_iq *out, struct zp_err *err);

struct zp_int_options {
    int float_multiplier;     /* requantize with a float multiplier instead of fixed point */
    int isa;                  /* -1: the best kernels; ZP_ISA_REF: every kernel's plain reference */
    zp_int_fit_fn *fit;
    void *fit_ctx;
};

struct zp_int_program;

enum zp_status zp_int_program_build(const struct zp_graph *g, const struct zp_int_layer_q *lq,
                                    const struct zp_int_options *o, struct zp_int_program **out,
                                    struct zp_err *err);
void zp_int_program_free(struct zp_int_program *p);

/* batch inputs (NCHW floats, the graph's input shape) -> batch x output_size float
 * logits; images run on the OpenMP threads. */
enum zp_status zp_int_program_run(struct zp_int_program *p, const float *input, int batch, float *logits,
                                  struct zp_err *err);

/* The quantizer the program gave the graph input (tests build their references with it). */
const struct zp_iq *zp_int_program_input_q(const struct zp_int_program *p);

#ifdef __cplusplus
}
#endif
#endif
