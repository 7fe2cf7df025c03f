/* MSE calibration: the clipping range whose uniform b-bit quantizer has the least
 * expected squared error over the histogram (rounding error inside the range,
 * clipping error outside), among `bins` thresholds evenly spaced up to the data's
 * extreme on each side. Details: docs/calibration.md. */
#include <math.h>
#include <stdlib.h>

#include "calib/histogram.h"
#include "common/mem.h"

/* The quantizer the options describe, over [lo, hi] (symmetric: lo = -hi). */
static double range_error(const struct zp_calib_cells *h, const struct zp_calib_options *o,
                          double lo, double hi)
{
    double half_levels = ldexp(1.0, o->bits - 1);
    if (o->symmetric && o->narrow_range) {
        double step = hi / (half_levels - 1.0);
        return zp_calib_cells_sq_error(h, -(half_levels - 1.0) * step, step,
                                      (int)(2.0 * half_levels) - 1);
    }
    if (o->symmetric) {
        /* docs/definitions.md: s = T/(2^(b-1) - 0.5), levels -2^(b-1)..2^(b-1)-1. */
        double step = hi / (half_levels - 0.5);
        return zp_calib_cells_sq_error(h, -half_levels * step, step, (int)(2.0 * half_levels));
    }
    int levels = (int)(2.0 * half_levels);
    return zp_calib_cells_sq_error(h, lo, (hi - lo) / (levels - 1), levels);
}

enum side { SIDE_SYM, SIDE_HI, SIDE_LO };

/* Best k in 1..n of the candidate thresholds k/n·extent on one side, the other
 * end fixed at `other`. First minimum wins, so the result is deterministic. */
static double search_side(const struct zp_calib_cells *h, const struct zp_calib_options *o,
                          enum side side, double extent, double other)
{
    int n = o->bins;
    double *err = malloc((size_t)n * sizeof *err);
    if (!err) /* keep the unclipped range rather than fail a finished calibration */
        return extent;
    /* Threads only pay off on big searches: a parallel region costs more than a
     * small one on a loaded machine (per-channel weights call this per channel). */
#pragma omp parallel for schedule(static) if ((double)n * (double)(h->n + 1) >= (1 << 22))
    for (int k = 1; k <= n; k++) {
        double t = extent * k / n;
        switch (side) {
        case SIDE_SYM: err[k - 1] = range_error(h, o, -t, t); break;
        case SIDE_HI: err[k - 1] = range_error(h, o, other, t); break;
        case SIDE_LO: err[k - 1] = range_error(h, o, -t, other); break;
        }
    }
    int best = 0;
    for (int k = 1; k < n; k++)
        if (err[k] < err[best])
            best = k;
    free(err);
    return extent * (best + 1) / n;
}

void zp_calib_mse_search(const struct zp_calib_hist *hist, const struct zp_calib_options *o,
                         double *lo, double *hi)
{
    double neg = hist->min < 0 ? -hist->min : 0.0, pos = hist->max > 0 ? hist->max : 0.0;
    struct zp_calib_cells cells;
    if (zp_calib_cells_init(&cells, hist) != ZP_OK) { /* no memory: keep the full range */
        *lo = o->symmetric ? -fmax(neg, pos) : -neg;
        *hi = o->symmetric ? fmax(neg, pos) : pos;
        return;
    }
    const struct zp_calib_cells *h = &cells;
    if (o->symmetric) {
        double t = search_side(h, o, SIDE_SYM, fmax(neg, pos), 0.0);
        *lo = -t;
        *hi = t;
    } else if (neg == 0.0) {
        *lo = 0.0;
        *hi = search_side(h, o, SIDE_HI, pos, 0.0);
    } else if (pos == 0.0) {
        *lo = -search_side(h, o, SIDE_LO, neg, 0.0);
        *hi = 0.0;
    } else {
        /* Two-sided asymmetric: coordinate descent from the full range: the best
         * upper end for the current lower end, then the best lower end for that,
         * until the upper end stops moving (the lower end is then already the best
         * for it). The current end is always a candidate, so the error never rises;
         * the cap bounds the time on pathological histograms. */
        double a = -neg, b = pos;
        for (int round = 0; round < 32; round++) {
            double nb = search_side(h, o, SIDE_HI, pos, a);
            if (round > 0 && nb == b)
                break;
            b = nb;
            a = -search_side(h, o, SIDE_LO, neg, b);
        }
        *lo = a;
        *hi = b;
    }
    zp_calib_cells_release(&cells);
}
