/* Paired percentile bootstrap over examples, and mean / standard deviation over
 * replicates. Every statistic is a ratio of sums over the resampled examples,
 * sum(s_i) / sum(w_i): with w = 1 that is a plain mean (top-1 from 0/1 correct
 * flags, a per-example drop), with w = tokens a token-weighted mean (language-model
 * nll or kld). Several columns are resampled with the SAME indices, so the
 * interval of a difference accounts for the pairing. Deterministic given the seed
 * whatever the thread count; the exact resampling stream is in docs/statistics.md. */
#ifndef ZP_STATS_BOOTSTRAP_H
#define ZP_STATS_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZP_BOOT_RESAMPLES_DEFAULT 2000u
#define ZP_BOOT_LEVEL_DEFAULT 0.95
#define ZP_BOOT_SEED_DEFAULT 20260u

struct zp_boot_opts {
    uint64_t seed;      /* resample j draws from a generator seeded with output j of
                         * zp_rng_seed(seed) (docs/statistics.md) */
    uint32_t resamples; /* B >= 2 */
    double level;       /* two-sided coverage in (0, 1), e.g. 0.95 */
};
/* {ZP_BOOT_SEED_DEFAULT, 2000, 0.95}. */
void zp_boot_opts_default(struct zp_boot_opts *o);

/* One column: s[i] per example and optional weights w[i] (NULL = all 1). Borrowed. */
struct zp_boot_col {
    const double *s;
    const double *w;
};

/* A statistic's estimate on the full sample and its percentile interval. */
struct zp_interval {
    double point;  /* sum(s) / sum(w) over all n examples */
    double lo, hi; /* quantiles (1-level)/2 and (1+level)/2 of the B resampled values */
};

/* Resamples n examples with replacement B times (indices shared by all k columns)
 * and fills out[k]. Quantiles interpolate linearly between order statistics
 * (Hyndman-Fan type 7: h = (B-1) q). Errors (ZP_EINVAL, naming the column and
 * example): n == 0, k == 0, B < 2, level outside (0, 1), a non-finite s or w, a
 * negative w, or a column whose weights sum to 0. A resample whose weights sum to 0
 * (possible only with zero weights) is an error too, rather than a silent NaN.
 * ZP_ENOMEM when the B x k table cannot be allocated. */
enum zp_status zp_bootstrap(const struct zp_boot_col *cols, size_t k, size_t n,
                            const struct zp_boot_opts *o, struct zp_interval *out,
                            struct zp_err *err);

/* The resampling indices of resample j (n of them, each in [0, n)): exactly the
 * ones zp_bootstrap uses. Exposed so a test or a script can reproduce it. */
void zp_boot_indices(uint64_t seed, uint32_t j, size_t n, uint32_t *idx);

/* Mean and sample standard deviation (n - 1 denominator, two-pass) of x[n];
 * *std is NaN when n < 2 and both are NaN when n == 0. */
void zp_mean_std(const double *x, size_t n, double *mean, double *std);

/* Linear-interpolation quantile (type 7) of sorted[n], q in [0, 1]. */
double zp_quantile_sorted(const double *sorted, size_t n, double q);

#ifdef __cplusplus
}
#endif
#endif
