/* High-bias absorption (Nagel et al. 2019, section 4.1.1): a layer a followed by
 * a ReLU and a layer b. Where a channel's pre-activation x_i is (almost) always
 * at least c_i >= 0, ReLU(x_i) = ReLU(x_i - c_i) + c_i, so c_i can leave a's bias
 * and enter b's as b's weights applied to the constant c:
 *     b_a[i] -= c_i,   b_b[o] += sum_{i,k} w_b[o, i, k] c_i.
 * The activation range between them shrinks by c_i (what per-tensor activation
 * quantization gains), and the network's output is unchanged wherever x_i >= c_i
 * and b reads no zero padding (a padded border reads 0 where the original read
 * c_i: the one place the identity does not hold).
 *
 * After a ReLU6 (whose clamp is per channel, act_hi: ptq/equalize.h) the clamp
 * moves down with the channel: min(x, h_i) - c_i = min(x - c_i, h_i - c_i).
 *
 * The paper takes c_i = max(0, beta_i - 3 gamma_i) from the batch-norm shift and
 * scale; with batch norm folded, the mean and standard deviation of the
 * pre-activation on calibration data play their part. */
#ifndef ZP_PTQ_BIAS_ABSORB_H
#define ZP_PTQ_BIAS_ABSORB_H

#include <stdint.h>

#include "ptq/equalize.h"

/* c[i] = max(0, mean[i] - 3 std[i]) for C channels. */
void zp_hba_amounts(const double *mean, const double *std, int64_t C, float *c);

/* Moves c (a->out entries) from a's bias (and act_hi) into b's bias (both must
 * have one: a zero bias array is fine). */
void zp_hba_absorb(struct zp_cle_layer *a, struct zp_cle_layer *b, const float *c);

/* Per-channel running sums of a layer output, for the mean and std above: n
 * values, sum, sum of squares per channel (doubles, added in a fixed order by the
 * caller so that the result does not depend on threads). */
struct zp_hba_stats {
    int64_t channels;
    double *n, *sum, *sq;
};
int zp_hba_stats_init(struct zp_hba_stats *s, int64_t channels);
void zp_hba_stats_free(struct zp_hba_stats *s);
/* Adds one image's output (channels x spatial, channel-major). */
void zp_hba_stats_add(struct zp_hba_stats *s, const float *y, int64_t spatial);
/* Adds another accumulator's sums (the per-image partials, in image order). */
void zp_hba_stats_merge(struct zp_hba_stats *s, const struct zp_hba_stats *part);
void zp_hba_stats_clear(struct zp_hba_stats *s);
/* mean and population std per channel (0 for a channel with no values). */
void zp_hba_stats_result(const struct zp_hba_stats *s, double *mean, double *std);

#endif
