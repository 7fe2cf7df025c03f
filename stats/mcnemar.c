/* Exact McNemar test. The binomial term is evaluated in log space with the
 * saddle-point form of Loader (2000), "Fast and accurate computation of binomial
 * probabilities": log P(X = k) = stirlerr(n) - stirlerr(k) - stirlerr(n-k)
 * - bd0(k, n/2) - bd0(n-k, n/2) + log sqrt(n / (2 pi k (n-k))), which keeps full
 * relative precision where lgamma differences lose ~7 digits at n = 10^6.
 * The lower tail then sums downward from k with P(i-1)/P(i) = i / (n - i + 1). */
#include "stats/mcnemar.h"

#include <math.h>

/* log sqrt(2 pi) */
#define ZP_LN_SQRT_2PI 0.918938533204672741780329736406

/* stirlerr(n) = log(n!) - log(sqrt(2 pi n) (n/e)^n), n >= 1. */
static double stirlerr(double n)
{
    /* Coefficients of the Stirling series 1/(12n) - 1/(360n^3) + 1/(1260n^5) - ... */
    const double s0 = 1.0 / 12, s1 = 1.0 / 360, s2 = 1.0 / 1260, s3 = 1.0 / 1680,
                 s4 = 1.0 / 1188;
    if (n <= 15.0) /* small arguments: lgamma is exact to ~1e-15 absolute here */
        return lgamma(n + 1.0) - (n + 0.5) * log(n) + n - ZP_LN_SQRT_2PI;
    /* n > 15: the next series term, 691/(360360 n^11), is below 1e-16. */
    double nn = n * n;
    return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n;
}

/* bd0(x, m) = x log(x/m) + m - x, the deviance term; a series in v = (x-m)/(x+m)
 * near x = m, where the direct form cancels catastrophically. */
static double bd0(double x, double m)
{
    if (fabs(x - m) < 0.1 * (x + m)) {
        double v = (x - m) / (x + m), s = (x - m) * v, ej = 2.0 * x * v;
        v *= v;
        for (int j = 1; j < 1000; j++) {
            ej *= v;
            double s1 = s + ej / (2 * j + 1);
            if (s1 == s)
                return s1;
            s = s1;
        }
        return s;
    }
    return x * log(x / m) + m - x;
}

static double log_pmf(uint64_t k, uint64_t n)
{
    if (k == 0 || k == n)
        return -(double)n * M_LN2;
    double dn = (double)n, dk = (double)k, dr = (double)(n - k), m = 0.5 * dn;
    return stirlerr(dn) - stirlerr(dk) - stirlerr(dr) - bd0(dk, m) - bd0(dr, m) +
           0.5 * log(dn / (2.0 * M_PI * dk * dr));
}

double zp_binom_half_pmf(uint64_t k, uint64_t n)
{
    return k > n ? 0.0 : exp(log_pmf(k, n));
}

/* P(X <= k) for k <= n/2: terms increase towards k, so sum downward from the
 * largest one and stop when the geometric bound on the rest is negligible. */
static double lower_tail(uint64_t k, uint64_t n)
{
    double t = exp(log_pmf(k, n));
    double sum = t, comp = 0.0; /* Neumaier-compensated sum */
    for (uint64_t i = k; i > 0 && t > 0.0; i--) {
        double r = (double)i / (double)(n - i + 1);
        t *= r;
        double y = sum + t;
        comp += fabs(sum) >= fabs(t) ? (sum - y) + t : (t - y) + sum;
        sum = y;
        /* Later ratios are smaller (i falls), so the rest is below t r / (1 - r). */
        if (r < 1.0 && t * r / (1.0 - r) < 1e-17 * sum)
            break;
    }
    return sum + comp;
}

double zp_binom_half_cdf(uint64_t k, uint64_t n)
{
    if (k >= n)
        return 1.0;
    if (2 * k <= n)
        return lower_tail(k, n);
    /* Symmetry: P(X <= k) = 1 - P(X <= n - k - 1). */
    return 1.0 - lower_tail(n - k - 1, n);
}

double zp_mcnemar_exact(uint64_t b, uint64_t c)
{
    if (b == c) /* includes b + c == 0: P(X <= n/2) >= 1/2 */
        return 1.0;
    uint64_t k = b < c ? b : c, n = b + c;
    return fmin(1.0, 2.0 * lower_tail(k, n));
}

double zp_mcnemar_midp(uint64_t b, uint64_t c)
{
    if (b == c)
        return 1.0;
    uint64_t k = b < c ? b : c, n = b + c;
    /* 2 P(X < k) + P(X = k) = 2 P(X <= k) - P(X = k) */
    return fmin(1.0, 2.0 * lower_tail(k, n) - exp(log_pmf(k, n)));
}

enum zp_status zp_mcnemar_counts(const uint8_t *a_correct, const uint8_t *b_correct, size_t n,
                                 uint64_t *b, uint64_t *c, struct zp_err *err)
{
    uint64_t nb = 0, nc = 0;
    for (size_t i = 0; i < n; i++) {
        if (a_correct[i] > 1 || b_correct[i] > 1)
            return zp_err_set(err, ZP_EINVAL, "mcnemar: example %zu: correct flags must be 0 or 1, "
                              "got %u (first) and %u (second)", i, a_correct[i], b_correct[i]);
        nb += a_correct[i] && !b_correct[i];
        nc += !a_correct[i] && b_correct[i];
    }
    *b = nb;
    *c = nc;
    return ZP_OK;
}
