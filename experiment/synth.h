/* Synthetic tensors for tensor-level experiments (config "tensors.synthetic"). */
#ifndef ZP_HARNESS_SYNTH_H
#define ZP_HARNESS_SYNTH_H

#include "config/config.h"

/* Returns n floats (release with zp_free), NULL on allocation failure.
 * uniform: U(-scale, scale); gaussian: N(0, scale^2); laplace: Laplace(0, scale);
 * relu_gaussian: max(0, g) with g ~ N(mu, scale^2), mu set so that a share
 * zero_share of the values is exactly 0 in expectation (mu = -scale * Phi^-1(zero_share)). */
float *zp_synth_generate(const struct zp_synth_cfg *s);

#endif
