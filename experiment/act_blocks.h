/* Run-time block quantization of activations for block-scaled schemes (mx,
 * nvfp4, nf4 with "granularity": "per-group"): each block of group_size values
 * along the reduction axis gets its own parameters, fitted from the block as
 * it flows through the network, as MX / NVFP4 hardware quantizes activations. */
#ifndef ZP_EXPERIMENT_ACT_BLOCKS_H
#define ZP_EXPERIMENT_ACT_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "schemes/scheme.h"

/* 1 when cfg quantizes activations in run-time blocks (block scheme, per-group). */
int zp_act_blocks_on(const struct zp_scheme_config *cfg);

/* x holds n_images images of C x S values (channel-major, NCHW: S = H * W; a
 * Gemm / MatMul input is C = K, S = 1). Blocks are cfg->group_size consecutive
 * channels at one spatial position (the last block of a pixel may be shorter):
 * for a Gemm input contiguous runs of K, for a Conv input the C part of the
 * im2col reduction axis C*kh*kw, as MX hardware blocks an NHWC tensor. Each
 * block: fit on its values, then x = dequantize(quantize(x)) in place.
 * `tensor`, when non-NULL and its amax > 0, is the calibrated per-tensor fit
 * (fit_range): schemes with a tensor-wide second scale (nvfp4's FP32 scale)
 * take it from max(tensor->amax, block amax) through the scheme's fit_tensor,
 * i.e. a static tensor scale with dynamic block scales. A block whose fit
 * fails (non-finite values) is left as it is. Thread-safe; a Conv input
 * allocates one S x group_size tile per call (left unquantized if that fails). */
void zp_act_blocks_run(const struct zp_scheme_config *cfg, const struct zp_qparams *tensor,
                       float *x, size_t n_images, int64_t C, int64_t S);

#endif
