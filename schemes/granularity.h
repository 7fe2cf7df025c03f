/* Tensor-level quantization: cuts a tensor into slices by granularity and runs a
 * scheme over each (per-tensor: one slice; per-channel: one slice per index of
 * `axis`; per-group: each channel's elements, in row-major order, in chunks of
 * `group_size`). */
#ifndef ZP_SCHEMES_GRANULARITY_H
#define ZP_SCHEMES_GRANULARITY_H

#include <stddef.h>
#include <stdint.h>

#include "schemes/scheme.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZP_MAX_DIMS 8

/* Parameters of every slice of one tensor; owned by caller, release with
 * zp_tensor_qparams_free. */
struct zp_tensor_qparams {
    size_t n_slices;
    struct zp_qparams *slice; /* n_slices entries */
};

/* Number of slices `cfg` cuts a tensor of this shape into; 0 with err set when the
 * axis is out of range or the granularity is unsupported by the scheme. */
size_t zp_slice_count(const struct zp_scheme_config *cfg, const int64_t *shape, int ndim,
                      struct zp_err *err);

/* Fits every slice of x. Rejects NaN / Inf with a message naming `what` and the
 * element index. */
enum zp_status zp_tensor_fit(const struct zp_scheme_config *cfg, const float *x,
                             const int64_t *shape, int ndim, const char *what,
                             struct zp_tensor_qparams *out, struct zp_err *err);

/* out = dequantize(quantize(x)) with fitted params (out may equal x). codes, if
 * non-NULL, receives the integer codes. cfg and shape must be the ones qp was
 * fitted with (a mismatch is a programmer error: ZP_ASSERT aborts). */
void zp_tensor_apply(const struct zp_scheme_config *cfg, const struct zp_tensor_qparams *qp,
                     const float *x, const int64_t *shape, int ndim, float *out, int32_t *codes);

/* fit + apply in one call. */
/* x' = dequantize(quantize(x)) over n values that share one slice's parameters,
 * in chunks through a stack buffer (codes, when non-NULL, receive the codes). x and
 * out may be the same array. The one elementwise fake-quant loop: tensors, the
 * runtime's activation hooks and QAT all call it. */
void zp_fake_quant_run(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                       const float *x, float *out, size_t n, int32_t *codes);
enum zp_status zp_fake_quant(const struct zp_scheme_config *cfg, const float *x,
                             const int64_t *shape, int ndim, const char *what, float *out,
                             struct zp_tensor_qparams *qp_out /* NULL: discarded */,
                             struct zp_err *err);

void zp_tensor_qparams_free(struct zp_tensor_qparams *qp);

/* Storage cost in bits per element of a tensor of this shape under cfg: the
 * element codes plus every scale, zero point and codebook, amortised (the
 * scheme's bits_per_weight; cfg->bits + 32 per slice for a plugin without one).
 * -1 with err set when the shape or granularity is invalid. */
double zp_bits_per_weight(const struct zp_scheme_config *cfg, const int64_t *shape, int ndim,
                          struct zp_err *err);

/* Number of the slices (blocks, for mx / nvfp4 / nf4) of x whose largest
 * element clips: some value lies outside the slice's clip range [lo, hi], i.e.
 * beyond the largest (or below the smallest) level, so it decodes to the
 * saturated end point (with 4 float ulps of slack for the rounding of a level
 * fitted to the slice maximum). The share is *n_clipped / qp->n_slices; counts
 * add up over the tensors of a model. qp, cfg and shape as for apply (a
 * mismatch is an error). */
enum zp_status zp_tensor_clip_count(const struct zp_scheme_config *cfg,
                                    const struct zp_tensor_qparams *qp, const float *x,
                                    const int64_t *shape, int ndim, size_t *n_clipped,
                                    struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
