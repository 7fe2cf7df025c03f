/* AdaRound (Nagel et al. 2020, "Up or Down? Adaptive Rounding for Post-Training
 * Quantization"): each weight of a layer either rounds down or up to the two
 * levels of its grid around it, and the choice is learned to minimise the
 * layer's output reconstruction error on calibration inputs instead of taken
 * per weight. The choice is relaxed to w~ = down + (up - down) h(V) with the
 * rectified sigmoid h(V) = clip(sigmoid(V) (zeta - gamma) + gamma, 0, 1),
 * zeta = 1.1, gamma = -0.1, V starting where w~ = w; the loss is
 *   mean over rows of |t - w~ x|^2  +  lambda sum (1 - |2 h(V) - 1|^beta),
 * the regulariser off for the warm-start share of the steps and then its beta
 * annealed from beta_start to beta_end (cosine, as AIMET does), which drives
 * every h(V) to 0 or 1; Adam on V; at the end each weight takes down or up by
 * h(V) >= 1/2.
 *
 * t is what the layer should output (the float layer on the float network's
 * input) and x what it is given (its input with the layers before quantized),
 * both without bias: the bias is not changed, so it cancels. The reconstruction
 * is of the layer's output before its activation (the paper's f_a is omitted).
 * The grid is the scheme's, fitted before (qp): "down" and "up" are the levels
 * of the codes either side of the nearest one, so the scheme's levels must
 * ascend with the code (affine schemes, lookup tables); other grids (minifloat
 * codes, sign-magnitude) are refused by name. */
#ifndef ZP_PTQ_ADAROUND_H
#define ZP_PTQ_ADAROUND_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "ptq/layer_inputs.h"
#include "ptq/rounding.h"
#include "schemes/granularity.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What AdaRound did on one group: the reconstruction error (mean over the n
 * rows of the squared error, summed over the group's outputs) of rounding to
 * nearest and of the result, and how many weights left their nearest level. */
struct zp_adaround_report {
    double err_nearest, err_adaround;
    int64_t n_weights, n_changed;
};

/* AdaRound on weight group g of a layer (ptq/layer_inputs.h): w its rows_out x k
 * weights (the layer's memory order), x n rows of k inputs, t n rows of rows_out
 * targets; the result, every value a level of its slice, into out (rows_out x k).
 * o->seed picks the batches. */
enum zp_status zp_adaround_group(const struct zp_scheme_config *cfg,
                                 const struct zp_tensor_qparams *qp,
                                 const struct zp_layer_mat *lm, int64_t g, const float *w,
                                 const float *x, const float *t, int64_t n,
                                 const struct zp_rounding_opts *o, float *out,
                                 struct zp_adaround_report *rep, struct zp_err *err);

/* The levels either side of x on slice p's grid: *down <= x <= *up, equal when
 * x is at or beyond an end of the grid. ZP_EUNSUPPORTED when the grid's levels
 * do not ascend with the code. */
enum zp_status zp_grid_neighbors(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                                 float x, float *down, float *up, struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
