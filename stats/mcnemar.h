/* Paired significance on the same examples: the exact McNemar test.
 * Two classifiers scored on the same n examples disagree in b examples where only
 * the first is right and c where only the second is; under "equally accurate" each
 * discordant example is a fair coin, so b ~ Bin(b + c, 1/2). docs/statistics.md
 * gives the definitions and the numerical method. */
#ifndef ZP_STATS_MCNEMAR_H
#define ZP_STATS_MCNEMAR_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Two-sided exact McNemar p-value: min(1, 2 * P(X <= min(b, c))), X ~ Bin(b + c, 1/2);
 * 1 when b + c == 0. Accurate to ~1e-12 relative for b + c up to 10^7 and beyond
 * (saddle-point binomial term, then a downward recurrence); a p-value below
 * DBL_MIN underflows to 0. Never fails. */
double zp_mcnemar_exact(uint64_t b, uint64_t c);

/* The mid-p variant: min(1, 2 * P(X < k) + P(X = k)), k = min(b, c); 1 when
 * b + c == 0. Less conservative than the exact test; not used in summary.csv. */
double zp_mcnemar_midp(uint64_t b, uint64_t c);

/* P(X = k) and P(X <= k) for X ~ Bin(n, 1/2), k <= n (the building blocks). */
double zp_binom_half_pmf(uint64_t k, uint64_t n);
double zp_binom_half_cdf(uint64_t k, uint64_t n);

/* Discordant counts of two 0/1 "correct" vectors over the same n examples:
 * *b = #(a right, b wrong), *c = #(a wrong, b right). Values other than 0/1
 * are an error naming the vector and example index. */
enum zp_status zp_mcnemar_counts(const uint8_t *a_correct, const uint8_t *b_correct, size_t n,
                                 uint64_t *b, uint64_t *c, struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
