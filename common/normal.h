/* The standard normal distribution's quantile function (inverse CDF), used to
 * place ReLU-gated synthetic tensors and normal-quantile codebooks. */
#ifndef ZP_COMMON_NORMAL_H
#define ZP_COMMON_NORMAL_H

#ifdef __cplusplus
extern "C" {
#endif

/* Phi^-1(p) for 0 < p < 1 (relative error < 1.2e-9 after one Newton step);
 * -inf / +inf at p = 0 / 1. */
double zp_normal_quantile(double p);

#ifdef __cplusplus
}
#endif
#endif
