/* The streaming histogram behind the percentile, mse and kl calibrators, and the
 * two searches over it. Internal to calib/ (calib.h is the public interface).
 *
 * Layout: exact zeros are counted apart (they matter: ReLU outputs, padding);
 * positive values and the magnitudes of negative values each go into `bins` equal
 * bins over (0, H], with one H for both signs. H starts at the first batch's
 * max|x| and only ever doubles, so growing the range merges 2^m adjacent bins into
 * one exactly: no value ever moves to a bin it does not belong to. The price is
 * resolution: a bin is H/bins wide with max|x| <= H < 2·max|x|. */
#ifndef ZP_CALIB_HISTOGRAM_H
#define ZP_CALIB_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "calib/calib.h"
#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zp_calib_hist {
    int bins;        /* per sign */
    double half;     /* H: bin i of either sign covers [i, i+1)·H/bins; 0 before any non-zero */
    uint64_t *pos;   /* counts of x > 0 */
    uint64_t *neg;   /* counts of x < 0, by |x| */
    uint64_t zeros;  /* x == 0 (either sign of zero) */
    uint64_t total;  /* every value observed */
    double min, max; /* exact extremes */
};

/* Allocates zeroed counts; ZP_ENOMEM on failure. */
enum zp_status zp_calib_hist_init(struct zp_calib_hist *h, int bins, struct zp_err *err);
void zp_calib_hist_release(struct zp_calib_hist *h);

/* Adds n finite values whose extremes bmin <= bmax are already known. */
void zp_calib_hist_add(struct zp_calib_hist *h, const float *x, size_t n, double bmin, double bmax);

/* The value below which a fraction q (0..1) of the observations lie, interpolated
 * linearly inside a bin and clamped to [min, max]. */
double zp_calib_hist_quantile(const struct zp_calib_hist *h, double q);

/* The non-empty bins as intervals [lo, hi] in signed x units (ascending), plus the
 * zeros as a point mass: the searches evaluate hundreds of candidate quantizers,
 * and most bins of a small or peaked tensor are empty. */
struct zp_calib_cells {
    size_t n;
    double *lo, *hi;  /* bin edges in x units */
    double *weight;   /* count / (hi - lo): the bin's density */
    double zeros;     /* count of exact zeros */
};

/* ZP_ENOMEM (cells left empty) when the arrays cannot be allocated. */
enum zp_status zp_calib_cells_init(struct zp_calib_cells *c, const struct zp_calib_hist *h);
void zp_calib_cells_release(struct zp_calib_cells *c);

/* Expected squared error summed over the cells (counts, not a mean) of the uniform
 * quantizer with levels base + j·step, j = 0..levels-1, round to nearest, clamped
 * at both ends. Each bin's values are taken as uniform inside the bin; zeros are
 * a point mass at 0. */
double zp_calib_cells_sq_error(const struct zp_calib_cells *c, double base, double step, int levels);

/* The mse and kl searches (calib_mse.c, calib_kl.c). h->total > 0 and some value
 * is non-zero. They return a range containing 0. */
void zp_calib_mse_search(const struct zp_calib_hist *h, const struct zp_calib_options *o,
                         double *lo, double *hi);
void zp_calib_kl_search(const struct zp_calib_hist *h, const struct zp_calib_options *o,
                        double *lo, double *hi);

#ifdef __cplusplus
}
#endif
#endif
