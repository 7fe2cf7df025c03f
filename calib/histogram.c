/* The streaming histogram of calibration data: see histogram.h for the layout and
 * why the range only ever doubles. */
#include "calib/histogram.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

/* Below this many values per batch one thread fills the histogram: the per-thread
 * copies cost 2·bins counters each to clear and merge, and on a loaded machine a
 * parallel region's barrier costs far more than filling a small batch. */
#define ZP_HIST_PARALLEL_MIN ((size_t)1 << 20)

enum zp_status zp_calib_hist_init(struct zp_calib_hist *h, int bins, struct zp_err *err)
{
    memset(h, 0, sizeof *h);
    h->bins = bins;
    h->pos = zp_calloc((size_t)bins, sizeof *h->pos);
    h->neg = zp_calloc((size_t)bins, sizeof *h->neg);
    if (!h->pos || !h->neg) {
        zp_calib_hist_release(h);
        return zp_err_set(err, ZP_ENOMEM, "calibration histogram: cannot allocate %d bins", bins);
    }
    h->min = INFINITY;
    h->max = -INFINITY;
    return ZP_OK;
}

void zp_calib_hist_release(struct zp_calib_hist *h)
{
    zp_free(h->pos);
    zp_free(h->neg);
    h->pos = h->neg = NULL;
}

/* Bin k of width w lies inside bin k >> m of width w·2^m: merge in place (the
 * destination index never exceeds the source index). */
static void merge_bins(uint64_t *a, int bins, int m)
{
    for (int k = 1; k < bins; k++) {
        int dest = m >= 31 ? 0 : k >> m;
        if (dest == k)
            continue;
        a[dest] += a[k];
        a[k] = 0;
    }
}

static void grow(struct zp_calib_hist *h, double amax)
{
    if (h->half == 0.0) {
        h->half = amax;
        return;
    }
    int m = 0;
    while (h->half < amax) {
        h->half *= 2.0;
        m++;
    }
    if (m > 0) {
        merge_bins(h->pos, h->bins, m);
        merge_bins(h->neg, h->bins, m);
    }
}

static void fill(const float *x, size_t n, double scale, int bins, uint64_t *pos, uint64_t *neg,
                 uint64_t *zeros)
{
    uint64_t z = 0;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        if (v == 0.0) {
            z++;
            continue;
        }
        double a = fabs(v) * scale;
        int k = a >= bins ? bins - 1 : (int)a;
        if (v > 0)
            pos[k]++;
        else
            neg[k]++;
    }
    *zeros += z;
}

void zp_calib_hist_add(struct zp_calib_hist *h, const float *x, size_t n, double bmin, double bmax)
{
    if (n == 0)
        return;
    h->total += n;
    if (bmin < h->min)
        h->min = bmin;
    if (bmax > h->max)
        h->max = bmax;
    double amax = fmax(fabs(bmin), fabs(bmax));
    if (amax == 0.0) {
        h->zeros += n;
        return;
    }
    grow(h, amax);
    double scale = h->bins / h->half;
    int nt = omp_get_max_threads();
    uint64_t *local = NULL;
    if (n >= ZP_HIST_PARALLEL_MIN && nt > 1)
        local = zp_calloc((size_t)nt * 2 * (size_t)h->bins, sizeof *local);
    if (!local) { /* small batch, one thread, or no memory for the copies */
        fill(x, n, scale, h->bins, h->pos, h->neg, &h->zeros);
        return;
    }
    uint64_t zeros = 0;
#pragma omp parallel num_threads(nt) reduction(+ : zeros)
    {
        int t = omp_get_thread_num(), got = omp_get_num_threads();
        size_t chunk = (n + (size_t)got - 1) / (size_t)got;
        size_t b = chunk * (size_t)t, e = b + chunk < n ? b + chunk : n;
        uint64_t *lp = local + (size_t)t * 2 * (size_t)h->bins, *ln = lp + h->bins;
        if (b < n)
            fill(x + b, e - b, scale, h->bins, lp, ln, &zeros);
    }
    for (int t = 0; t < nt; t++) {
        const uint64_t *lp = local + (size_t)t * 2 * (size_t)h->bins, *ln = lp + h->bins;
        for (int k = 0; k < h->bins; k++) {
            h->pos[k] += lp[k];
            h->neg[k] += ln[k];
        }
    }
    h->zeros += zeros;
    zp_free(local);
}

double zp_calib_hist_quantile(const struct zp_calib_hist *h, double q)
{
    double target = q * (double)h->total, cum = 0.0, w = h->half / h->bins, v = h->max;
    int found = 0;
    /* Ascending order: negative bins from the most negative, zeros, positive bins. */
    for (int k = h->bins - 1; k >= 0 && !found; k--) {
        double c = (double)h->neg[k];
        if (c > 0 && cum + c >= target) {
            v = -(k + 1) * w + (target - cum) / c * w;
            found = 1;
        }
        cum += c;
    }
    if (!found && h->zeros > 0 && cum + (double)h->zeros >= target) {
        v = 0.0;
        found = 1;
    }
    if (!found)
        cum += (double)h->zeros;
    for (int k = 0; k < h->bins && !found; k++) {
        double c = (double)h->pos[k];
        if (c > 0 && cum + c >= target) {
            v = k * w + (target - cum) / c * w;
            found = 1;
        }
        cum += c;
    }
    return fmin(fmax(v, h->min), h->max);
}

/* G(t) = ∫_{-1/2}^{t} (u - Q(u))² du in level units, Q(u) = clamp(round(u), 0, L-1):
 * each whole cell adds 1/12, a partial cell a cube, the clipped tails a cube.
 * (Multiplications by 1/3 and 1/12: this runs a few hundred thousand times per
 * search, and a division costs several multiplications.) */
static double cum_sq(double t, int levels)
{
    const double third = 1.0 / 3.0, twelfth = 1.0 / 12.0;
    if (t <= -0.5)
        return (t * t * t + 0.125) * third;
    if (t > levels - 0.5) {
        double d = t - (levels - 1);
        return levels * twelfth + (d * d * d - 0.125) * third;
    }
    double k = floor(t + 0.5);
    if (k > levels - 1)
        k = levels - 1;
    double d = t - k;
    return k * twelfth + (d * d * d + 0.125) * third;
}

enum zp_status zp_calib_cells_init(struct zp_calib_cells *c, const struct zp_calib_hist *h)
{
    memset(c, 0, sizeof *c);
    c->zeros = (double)h->zeros;
    size_t n = 0;
    for (int k = 0; h->half > 0.0 && k < h->bins; k++)
        n += (h->pos[k] != 0) + (h->neg[k] != 0);
    if (n == 0)
        return ZP_OK;
    c->lo = malloc(n * sizeof *c->lo);
    c->hi = malloc(n * sizeof *c->hi);
    c->weight = malloc(n * sizeof *c->weight);
    if (!c->lo || !c->hi || !c->weight) {
        zp_calib_cells_release(c);
        return ZP_ENOMEM;
    }
    double w = h->half / h->bins;
    for (int k = h->bins - 1; k >= 0; k--)
        if (h->neg[k]) {
            c->lo[c->n] = -(k + 1) * w;
            c->hi[c->n] = -k * w;
            c->weight[c->n++] = (double)h->neg[k] / w;
        }
    for (int k = 0; k < h->bins; k++)
        if (h->pos[k]) {
            c->lo[c->n] = k * w;
            c->hi[c->n] = (k + 1) * w;
            c->weight[c->n++] = (double)h->pos[k] / w;
        }
    return ZP_OK;
}

void zp_calib_cells_release(struct zp_calib_cells *c)
{
    free(c->lo);
    free(c->hi);
    free(c->weight);
    c->lo = c->hi = c->weight = NULL;
    c->n = 0;
}

double zp_calib_cells_sq_error(const struct zp_calib_cells *c, double base, double step, int levels)
{
    double sum = 0.0, inv = 1.0 / step;
    for (size_t i = 0; i < c->n; i++) {
        double a = (c->lo[i] - base) * inv, b = (c->hi[i] - base) * inv;
        /* Mean of the squared error over the bin (level units), times its count;
         * 1/(b - a) = step/(hi - lo), kept per cell as count/(hi - lo). */
        sum += c->weight[i] * step * (cum_sq(b, levels) - cum_sq(a, levels));
    }
    if (c->zeros > 0.0) {
        double t = -base * inv, k = fmin(fmax(floor(t + 0.5), 0.0), levels - 1.0);
        sum += c->zeros * (t - k) * (t - k);
    }
    return sum * step * step;
}
