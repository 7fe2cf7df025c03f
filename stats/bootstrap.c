/* Percentile bootstrap: see bootstrap.h for the contract, docs/statistics.md for
 * the resampling stream (a test script reimplements it bit for bit). */
#include "stats/bootstrap.h"

#include <math.h>
#include <stdlib.h>

#include "common/mem.h"

void zp_boot_opts_default(struct zp_boot_opts *o)
{
    o->seed = ZP_BOOT_SEED_DEFAULT;
    o->resamples = ZP_BOOT_RESAMPLES_DEFAULT;
    o->level = ZP_BOOT_LEVEL_DEFAULT;
}

/* Resample j's generator is seeded with the j-th output of a master generator
 * seeded with `seed`: resamples can run in any order on any thread, and seeds s
 * and s + 1 give unrelated resamples (seeding resample j with seed + j would make
 * them share all but one). */
static uint64_t resample_seed(uint64_t seed, uint32_t j)
{
    struct zp_rng m;
    zp_rng_seed(&m, seed);
    uint64_t v = 0;
    for (uint32_t i = 0; i <= j; i++)
        v = zp_rng_u64(&m);
    return v;
}

void zp_boot_indices(uint64_t seed, uint32_t j, size_t n, uint32_t *idx)
{
    struct zp_rng r;
    zp_rng_seed(&r, resample_seed(seed, j));
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)zp_rng_below(&r, n);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double zp_quantile_sorted(const double *sorted, size_t n, double q)
{
    if (n == 0)
        return NAN;
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

void zp_mean_std(const double *x, size_t n, double *mean, double *std)
{
    if (n == 0) {
        *mean = *std = NAN;
        return;
    }
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    double m = s / (double)n, ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - m) * (x[i] - m);
    *mean = m;
    *std = n < 2 ? NAN : sqrt(ss / (double)(n - 1));
}

static enum zp_status check_cols(const struct zp_boot_col *cols, size_t k, size_t n,
                                 struct zp_err *err)
{
    for (size_t c = 0; c < k; c++) {
        double ws = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isfinite(cols[c].s[i]))
                return zp_err_set(err, ZP_EINVAL, "bootstrap: column %zu, example %zu: value %g "
                                  "is not finite", c, i, cols[c].s[i]);
            double w = cols[c].w ? cols[c].w[i] : 1.0;
            if (!isfinite(w) || w < 0)
                return zp_err_set(err, ZP_EINVAL, "bootstrap: column %zu, example %zu: weight %g "
                                  "must be finite and >= 0", c, i, w);
            ws += w;
        }
        if (!(ws > 0))
            return zp_err_set(err, ZP_EINVAL, "bootstrap: column %zu: weights sum to 0", c);
    }
    return ZP_OK;
}

enum zp_status zp_bootstrap(const struct zp_boot_col *cols, size_t k, size_t n,
                            const struct zp_boot_opts *o, struct zp_interval *out,
                            struct zp_err *err)
{
    if (n == 0 || k == 0)
        return zp_err_set(err, ZP_EINVAL, "bootstrap: %zu examples x %zu columns: need at least "
                          "one of each", n, k);
    if (n > UINT32_MAX)
        return zp_err_set(err, ZP_EINVAL, "bootstrap: %zu examples: at most %u supported", n,
                          UINT32_MAX);
    if (o->resamples < 2)
        return zp_err_set(err, ZP_EINVAL, "bootstrap: resamples %u: need at least 2",
                          o->resamples);
    if (!(o->level > 0.0 && o->level < 1.0))
        return zp_err_set(err, ZP_EINVAL, "bootstrap: level %g: expected a value in (0, 1)",
                          o->level);
    enum zp_status st = check_cols(cols, k, n, err);
    if (st)
        return st;
    size_t nb = o->resamples;
    /* num[c * B + j] and den[c * B + j]: column-major so each column sorts in place. */
    double *num = zp_calloc(2 * k * nb, sizeof *num);
    uint64_t *seeds = zp_calloc(nb, sizeof *seeds);
    if (!num || !seeds) {
        zp_free(num);
        zp_free(seeds);
        return zp_err_set(err, ZP_ENOMEM, "bootstrap: %zu x %zu table", k, nb);
    }
    double *den = num + k * nb;
    struct zp_rng master;
    zp_rng_seed(&master, o->seed);
    for (size_t j = 0; j < nb; j++)
        seeds[j] = zp_rng_u64(&master);
    int empty = 0;
    /* One generator per resample, so the result does not depend on thread count. */
#pragma omp parallel for schedule(static) if ((double)n * (double)nb > 4e6) reduction(| : empty)
    for (size_t j = 0; j < nb; j++) {
        struct zp_rng r;
        zp_rng_seed(&r, seeds[j]);
        for (size_t i = 0; i < n; i++) {
            size_t ix = (size_t)zp_rng_below(&r, n);
            for (size_t c = 0; c < k; c++) {
                num[c * nb + j] += cols[c].s[ix];
                den[c * nb + j] += cols[c].w ? cols[c].w[ix] : 1.0;
            }
        }
        for (size_t c = 0; c < k; c++) {
            if (den[c * nb + j] > 0)
                num[c * nb + j] /= den[c * nb + j];
            else
                empty = 1;
        }
    }
    zp_free(seeds);
    if (empty) {
        zp_free(num);
        return zp_err_set(err, ZP_EINVAL, "bootstrap: a resample drew only zero-weight examples; "
                          "drop them before resampling");
    }
    double qlo = 0.5 * (1.0 - o->level), qhi = 0.5 * (1.0 + o->level);
    for (size_t c = 0; c < k; c++) {
        double s = 0, w = 0;
        for (size_t i = 0; i < n; i++) {
            s += cols[c].s[i];
            w += cols[c].w ? cols[c].w[i] : 1.0;
        }
        double *v = num + c * nb;
        qsort(v, nb, sizeof *v, cmp_double);
        out[c].point = s / w;
        out[c].lo = zp_quantile_sorted(v, nb, qlo);
        out[c].hi = zp_quantile_sorted(v, nb, qhi);
    }
    zp_free(num);
    return ZP_OK;
}
