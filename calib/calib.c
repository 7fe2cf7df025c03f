/* Calibrator objects: option checking, batch observation (NaN/Inf rejection, exact
 * extremes, EMA, histogram) and the final range with its degenerate-case rule. */
#include "calib/calib.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calib/histogram.h"
#include "common/mem.h"

struct zp_calib {
    struct zp_calib_options opt;
    uint64_t count;       /* values observed */
    uint64_t batches;     /* non-empty batches observed */
    double min, max;      /* exact extremes (minmax) */
    double ema_lo, ema_hi; /* moving averages (ema) */
    int has_hist;
    struct zp_calib_hist hist; /* percentile, mse, kl */
};

static const char *const method_names[] = {
    [ZP_CALIB_MINMAX] = "minmax",
    [ZP_CALIB_EMA] = "ema",
    [ZP_CALIB_PERCENTILE] = "percentile",
    [ZP_CALIB_MSE] = "mse",
    [ZP_CALIB_KL] = "kl",
};
#define N_METHODS ((int)(sizeof method_names / sizeof method_names[0]))

const char *zp_calib_method_name(enum zp_calib_method m)
{
    return (int)m >= 0 && (int)m < N_METHODS ? method_names[m] : "unknown";
}

int zp_calib_method_parse(const char *name, enum zp_calib_method *m)
{
    for (int i = 0; name && i < N_METHODS; i++)
        if (strcmp(name, method_names[i]) == 0) {
            *m = (enum zp_calib_method)i;
            return 0;
        }
    return -1;
}

struct zp_calib_options zp_calib_options_default(enum zp_calib_method method)
{
    struct zp_calib_options o = {
        .method = method,
        .ema_constant = 0.01,
        .percentile = 99.99,
        .bins = 2048, /* TensorRT's histogram size */
        .bits = 8,
        .symmetric = 0,
        .narrow_range = 0,
    };
    return o;
}

enum zp_status zp_calib_options_check(const struct zp_calib_options *o, struct zp_err *err)
{
    if ((int)o->method < 0 || (int)o->method >= N_METHODS)
        return zp_err_set(err, ZP_ECONFIG, "calibration: method: expected one of minmax, ema, "
                          "percentile, mse, kl, got %d", (int)o->method);
    const char *m = method_names[o->method];
    if (!(o->ema_constant > 0.0 && o->ema_constant <= 1.0))
        return zp_err_set(err, ZP_ECONFIG, "calibration %s: ema_constant: expected a value in "
                          "(0, 1], got %g", m, o->ema_constant);
    if (!(o->percentile > 50.0 && o->percentile <= 100.0))
        return zp_err_set(err, ZP_ECONFIG, "calibration %s: percentile: expected a value in "
                          "(50, 100], got %g", m, o->percentile);
    if (o->bits < 2 || o->bits > 16)
        return zp_err_set(err, ZP_ECONFIG, "calibration %s: bits: expected 2..16, got %d", m,
                          o->bits);
    if (o->bins < 16 || o->bins > (1 << 20))
        return zp_err_set(err, ZP_ECONFIG, "calibration %s: bins: expected 16..%d, got %d", m,
                          1 << 20, o->bins);
    /* KL merges candidate cuts of at least 2^bits bins (one-sided) into levels. */
    if (o->method == ZP_CALIB_KL && o->bins < (1 << o->bits))
        return zp_err_set(err, ZP_ECONFIG, "calibration kl: bins: expected at least 2^bits = %d "
                          "for %d bits, got %d", 1 << o->bits, o->bits, o->bins);
    if (o->narrow_range && !o->symmetric)
        return zp_err_set(err, ZP_ECONFIG, "calibration %s: narrow_range: only meaningful with "
                          "symmetric: true", m);
    return ZP_OK;
}

struct zp_calib *zp_calib_new(const struct zp_calib_options *o, struct zp_err *err)
{
    if (zp_calib_options_check(o, err) != ZP_OK)
        return NULL;
    struct zp_calib *c = calloc(1, sizeof *c);
    if (!c) {
        zp_err_set(err, ZP_ENOMEM, "calibration: out of memory");
        return NULL;
    }
    c->opt = *o;
    c->min = INFINITY;
    c->max = -INFINITY;
    c->has_hist = o->method == ZP_CALIB_PERCENTILE || o->method == ZP_CALIB_MSE ||
                  o->method == ZP_CALIB_KL;
    if (c->has_hist && zp_calib_hist_init(&c->hist, o->bins, err) != ZP_OK) {
        free(c);
        return NULL;
    }
    return c;
}

void zp_calib_free(struct zp_calib *c)
{
    if (!c)
        return;
    if (c->has_hist)
        zp_calib_hist_release(&c->hist);
    free(c);
}

uint64_t zp_calib_count(const struct zp_calib *c)
{
    return c->count;
}

/* Extremes of a batch, or the index of its first non-finite value (n if none).
 * One pass of plain comparisons, which vectorize (fminf / fmaxf calls and an
 * early exit did not: they were a tenth of a calibration); only a batch whose
 * extremes are infinite or that holds a NaN is scanned again for the first bad
 * element. */
size_t zp_calib_extremes(const float *x, size_t n, float *bmin, float *bmax)
{
    float lo = INFINITY, hi = -INFINITY;
    int nan = 0;
#pragma omp parallel for simd reduction(min : lo) reduction(max : hi) reduction(| : nan) schedule(static) \
    if (n >= ((size_t)1 << 20))
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        lo = v < lo ? v : lo; /* a NaN compares false: left out here, caught by nan */
        hi = v > hi ? v : hi;
        nan |= v != v;
    }
    *bmin = lo;
    *bmax = hi;
    if (!nan && isfinite(lo) && isfinite(hi))
        return n;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return n;
}

enum zp_status zp_calib_observe(struct zp_calib *c, const float *x, size_t n, struct zp_err *err)
{
    if (n == 0)
        return ZP_OK;
    float bmin, bmax;
    size_t bad = zp_calib_extremes(x, n, &bmin, &bmax);
    if (bad < n)
        return zp_err_set(err, ZP_EINVAL, "calibration batch of %zu values: element %zu is %g; "
                          "expected finite values", n, bad, (double)x[bad]);
    if (c->batches == 0) {
        c->ema_lo = bmin;
        c->ema_hi = bmax;
    } else {
        double k = c->opt.ema_constant;
        c->ema_lo = (1.0 - k) * c->ema_lo + k * bmin;
        c->ema_hi = (1.0 - k) * c->ema_hi + k * bmax;
    }
    c->min = fmin(c->min, bmin);
    c->max = fmax(c->max, bmax);
    c->count += n;
    c->batches++;
    if (c->has_hist)
        zp_calib_hist_add(&c->hist, x, n, bmin, bmax);
    return ZP_OK;
}

static void percentile_range(const struct zp_calib *c, double *lo, double *hi)
{
    double p = c->opt.percentile / 100.0;
    *lo = c->min >= 0.0 ? 0.0 : zp_calib_hist_quantile(&c->hist, 1.0 - p);
    *hi = c->max <= 0.0 ? 0.0 : zp_calib_hist_quantile(&c->hist, p);
}

enum zp_status zp_calib_range(const struct zp_calib *c, float *lo, float *hi, struct zp_err *err)
{
    if (c->count == 0)
        return zp_err_set(err, ZP_EINVAL, "calibration %s: no values observed",
                          method_names[c->opt.method]);
    double l = c->min, h = c->max;
    /* One distinct value: the range [min(v,0), max(v,0)] represents it exactly,
     * which no histogram search can beat (a histogram spreads the spike over its
     * bin and would clip it by half a bin). */
    int constant = c->min == c->max;
    switch (constant ? ZP_CALIB_MINMAX : c->opt.method) {
    case ZP_CALIB_MINMAX: break;
    case ZP_CALIB_EMA:
        l = c->ema_lo;
        h = c->ema_hi;
        break;
    case ZP_CALIB_PERCENTILE: percentile_range(c, &l, &h); break;
    case ZP_CALIB_MSE: zp_calib_mse_search(&c->hist, &c->opt, &l, &h); break;
    case ZP_CALIB_KL: zp_calib_kl_search(&c->hist, &c->opt, &l, &h); break;
    }
    float fl = (float)l, fh = (float)h;
    if (!(fl < fh)) { /* constant data (or a percentile inside a spike): contain 0 */
        fl = fminf(fl, 0.0f);
        fh = fmaxf(fh, 0.0f);
    }
    if (!(fl < fh)) /* all zeros: the narrowest width every scheme can divide by */
        fh = fl + FLT_EPSILON;
    *lo = fl;
    *hi = fh;
    return ZP_OK;
}

enum zp_status zp_calib_tensor(const struct zp_calib_options *o, const float *x, int64_t channels,
                               int64_t per_channel, float *lo, float *hi, struct zp_err *err)
{
    if (channels < 1 || per_channel < 1)
        return zp_err_set(err, ZP_EINVAL, "calibration: tensor of %lld channels x %lld values: "
                          "expected at least one value per channel",
                          (long long)channels, (long long)per_channel);
    struct zp_calib *c = NULL;
    enum zp_status st = ZP_OK;
    for (int64_t ch = 0; ch < channels && st == ZP_OK; ch++) {
        zp_calib_free(c);
        c = zp_calib_new(o, err);
        if (!c)
            return err ? err->status : ZP_ENOMEM;
        st = zp_calib_observe(c, x + ch * per_channel, (size_t)per_channel, err);
        if (st == ZP_OK)
            st = zp_calib_range(c, lo + ch, hi + ch, err);
        if (st != ZP_OK && channels > 1)
            zp_err_prefix(err, "channel %lld", (long long)ch);
    }
    zp_calib_free(c);
    return st;
}
