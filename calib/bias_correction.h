/* Empirical bias correction (Nagel et al. 2019, "Data-Free Quantization"; and
 * Finkelstein et al. 2019): quantizing a layer's weights shifts the mean of each
 * output channel by E[y' - y]. Accumulating that shift over calibration batches of
 * the float output y and the quantized-weights output y' and subtracting it from
 * the layer bias removes it: b_corrected[c] = b[c] - mean_err[c]. */
#ifndef ZP_CALIB_BIAS_CORRECTION_H
#define ZP_CALIB_BIAS_CORRECTION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct zp_bias_corr;

/* An accumulator for `channels` output channels (>= 1); NULL on no memory.
 * Owned by the caller; release with zp_bias_corr_free. */
struct zp_bias_corr *zp_bias_corr_new(int64_t channels);
void zp_bias_corr_free(struct zp_bias_corr *b); /* NULL is a no-op */

/* Adds one batch of outputs in NCHW order: batch × channels × spatial values each
 * (spatial = H·W, 1 for a fully connected layer). Sums are kept in double, so the
 * result does not depend on how the set is split into batches beyond rounding.
 * `channels` must equal the accumulator's (a programmer error otherwise). */
void zp_bias_corr_add(struct zp_bias_corr *b, const float *y_float, const float *y_quant, int batch,
                      int64_t channels, int64_t spatial);

/* mean_err[c] = mean over every added element of channel c of (y' - y); 0 for a
 * channel with nothing added. Subtract it from the layer bias. */
void zp_bias_corr_result(const struct zp_bias_corr *b, float *mean_err);

/* Elements added per channel so far. */
uint64_t zp_bias_corr_count(const struct zp_bias_corr *b);

#ifdef __cplusplus
}
#endif
#endif
