/* GPTQ (Frantar et al. 2022, "GPTQ: Accurate Post-Training Quantization for
 * Generative Pre-trained Transformers"): the weights of a layer are quantized one
 * column (input) at a time, and each column's rounding error is compensated on
 * the columns not yet quantized through the inverse Hessian of the layer's
 * squared output error, H = 2 X X^T over the calibration inputs X (the OBS
 * update of Frantar & Alistarh's OBQ, in GPTQ's fixed column order, with lazy
 * block updates and the Cholesky factor of H^-1).
 *
 * The grid is the scheme's own, fitted before GPTQ runs (qp: per tensor, per
 * channel, or per group with every group's parameters fitted up front from the
 * float weights, GPTQ's "static groups"): GPTQ only asks the scheme to round one
 * value to its nearest level (quantize + dequantize of the slice), so it runs
 * for every scheme whose quantize is a nearest-level function. */
#ifndef ZP_PTQ_GPTQ_H
#define ZP_PTQ_GPTQ_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "ptq/layer_inputs.h"
#include "ptq/rounding.h"
#include "schemes/granularity.h"

#ifdef __cplusplus
extern "C" {
#endif

/* sum over calibration positions of x x^T per weight group (groups x k x k
 * doubles), and how many positions were added. H = 2 xx / n. */
struct zp_gptq_hessian {
    int64_t groups, k;
    double *xx;
    uint64_t n;
};

enum zp_status zp_gptq_hessian_init(struct zp_gptq_hessian *h, int64_t groups, int64_t k,
                                    struct zp_err *err);
/* Adds the positions of one image's cols (k x positions, zp_layer_cols) to group
 * g; the position count advances with group 0. */
void zp_gptq_hessian_add(struct zp_gptq_hessian *h, int64_t g, const float *cols,
                         int64_t positions);
void zp_gptq_hessian_free(struct zp_gptq_hessian *h);

/* What one layer's GPTQ did: the output error sum_rows (w - w')^T H (w - w')
 * of its result and of rounding to nearest on the same grid (H = 2 xx / n), and
 * the dampening actually used (raised x10 while H + lambda I is not positive
 * definite). */
struct zp_gptq_report {
    double err_gptq, err_nearest;
    double dampening;
};

/* GPTQ on a layer's weights w (lm->groups x rows_out rows of k, the layer's own
 * memory order), written to out (may equal w): every value a level of its slice
 * of qp. cfg / qp: the layer's weight quantizer and its fitted slices. */
enum zp_status zp_gptq_layer(const struct zp_scheme_config *cfg,
                             const struct zp_tensor_qparams *qp, const struct zp_layer_mat *lm,
                             const float *w, const struct zp_gptq_hessian *h,
                             const struct zp_rounding_opts *o, float *out,
                             struct zp_gptq_report *rep, struct zp_err *err);

/* sum over the rows of one group of (w - wq) xx (w - wq)^T / n x 2: the output
 * error of weights wq against w on the inputs accumulated in h (group g). */
double zp_gptq_group_error(const struct zp_gptq_hessian *h, int64_t g, const float *w,
                           const float *wq, int64_t rows);

#ifdef __cplusplus
}
#endif
#endif
