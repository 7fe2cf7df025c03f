/* A quantizable layer seen as matrix products, the view GPTQ and AdaRound work
 * in: per weight group g, Y_g[rows_out, positions] = W_g[rows_out, k] X_g[k, positions],
 * where X_g is the im2col matrix of the group's input channels (a Gemm: the input
 * vector; a MatMul: its rows). A depthwise convolution has one group per channel
 * (rows_out 1, k = kh kw), so each channel is its own small problem. */
#ifndef ZP_PTQ_LAYER_INPUTS_H
#define ZP_PTQ_LAYER_INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "model/graph.h"
#include "schemes/granularity.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zp_layer_mat {
    int64_t groups;    /* weight groups: Conv groups (depthwise: channels), else 1 */
    int64_t rows_out;  /* output channels per group */
    int64_t k;         /* inputs per output: I/groups x kh x kw; Gemm / MatMul: K */
    int64_t positions; /* output positions per image: oh x ow; Gemm 1; MatMul rows */
};

/* The matrix view of layer li; ZP_EUNSUPPORTED (naming the layer) for a shape it
 * does not cover. */
enum zp_status zp_layer_mat_of(const struct zp_layer_info *li, struct zp_layer_mat *lm,
                               struct zp_err *err);

/* cols (k x positions floats, row-major) = X_g of one image's layer input x
 * (li->in_shape values): the entries a convolution reads outside the image are
 * `pad` (what the runtime's padding reads: 0, or the value 0.0 decodes to under
 * the input's quantization). scratch: in_shape[1] x in_shape[2] floats, used only
 * when pad != 0. */
void zp_layer_cols(const struct zp_layer_info *li, const struct zp_layer_mat *lm, const float *x,
                   int64_t g, float pad, float *scratch, float *cols);

/* Index of the weight slice (of qp fitted with cfg on li's weights) that holds
 * weight column j (0..k-1, in the layer's own memory order) of output channel o.
 * cfg must be per-tensor, per-channel on axis 0 or per-group on axis 0. */
size_t zp_layer_slice(const struct zp_scheme_config *cfg, const struct zp_tensor_qparams *qp,
                      const struct zp_layer_mat *lm, int64_t o, int64_t j);

/* ZP_EUNSUPPORTED unless cfg slices li's weights as zp_layer_slice reads them. */
enum zp_status zp_layer_slicing_check(const struct zp_scheme_config *cfg, const char *what,
                                      struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
