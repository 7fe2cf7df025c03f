/* Writes a quantized cell as ONNX QDQ: the source model with its folded
 * BatchNormalization removed (train/onnx_rewrite.h, which also writes the layer
 * weights and biases) and, per layer (Conv, Gemm, MatMul):
 *   - the weight as an int8 / uint8 initializer read through DequantizeLinear
 *     (per-axis scales and zero points along the output channels for per-channel
 *     weights, scalars for per-tensor ones);
 *   - a QuantizeLinear / DequantizeLinear pair on the layer input (and, when the
 *     cell quantizes layer outputs too, on the output before its activation).
 * Opset 13 at least (per-axis DequantizeLinear). It lives in train/ beside the
 * other ONNX writers; the caller (experiment/) decides the codes and scales, this
 * file only places them in the graph. */
#ifndef ZP_TRAIN_ONNX_QDQ_H
#define ZP_TRAIN_ONNX_QDQ_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "model/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One 8-bit affine quantizer: x = scale * (q - zero_point), q int8 or uint8. */
struct zp_qdq_quant {
    float scale;
    int32_t zero_point;
    int is_signed; /* 1: int8 codes, 0: uint8 */
};

struct zp_qdq_layer {
    /* weight codes in the graph's layout (model/graph.h zp_layer_info.weight: axis
     * 0 = output channels), int8 when w_signed else uint8, one byte each */
    uint8_t *codes;
    size_t n_codes;
    int w_signed;
    size_t n_scales;         /* 1 (per-tensor) or the layer's output channels */
    float *w_scale;          /* n_scales */
    int32_t *w_zero_point;   /* n_scales */
    int quant_in;            /* 0: the input stays float */
    struct zp_qdq_quant in;  /* the layer input's quantizer */
    int quant_out;           /* 1: a Q/DQ pair on the output before its activation */
    struct zp_qdq_quant out;
    const float *bias;       /* n_out float biases the cell computes with, NULL: the graph's */
};

/* src / len: the ONNX file g was loaded from (BN folded at load); L: one entry
 * per layer of g. doc: the model's doc string (NULL keeps the source's). *out
 * (free()) receives the packed model. Errors name the layer or node at fault. */
enum zp_status zp_onnx_qdq(const uint8_t *src, size_t len, const struct zp_graph *g,
                           const struct zp_qdq_layer *L, const char *doc, uint8_t **out,
                           size_t *out_len, struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
