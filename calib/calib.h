/* Calibration: choosing the float range [lo, hi] that a quantizer maps onto its
 * integer levels, from example data seen in batches (activations) or in one call
 * (weights).
 *
 * Methods (definitions, options and the histogram details: docs/calibration.md):
 *   minmax      exact min and max over every batch
 *   ema         moving average of per-batch min/max: lo = (1-c)·lo + c·batch_lo
 *   percentile  values at percentiles (100-p) and p (lo stays 0 on data >= 0)
 *   mse         clipping range minimizing the expected quantization MSE over a
 *               histogram, for the b-bit quantizer the options describe
 *   kl          TensorRT entropy calibration: threshold minimizing KL(P||Q)
 *
 * Every method returns a finite range with lo < hi, also on all-zero or constant
 * input (see zp_calib_range). */
#ifndef ZP_CALIB_CALIB_H
#define ZP_CALIB_CALIB_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

enum zp_calib_method {
    ZP_CALIB_MINMAX = 0,
    ZP_CALIB_EMA,
    ZP_CALIB_PERCENTILE,
    ZP_CALIB_MSE,
    ZP_CALIB_KL,
};

/* Defaults (zp_calib_options_default) in brackets. */
struct zp_calib_options {
    enum zp_calib_method method;
    double ema_constant; /* ema: weight c of the new batch, in (0, 1] [0.01] */
    double percentile;   /* percentile: p in (50, 100] [99.99] */
    int bins;            /* percentile/mse/kl: histogram bins per sign, 16..1<<20 [2048] */
    /* The quantizer mse and kl optimise for (ignored by the other methods): */
    int bits;            /* 2..16 [8] */
    int symmetric;       /* 0: asymmetric/unsigned, range contains 0; 1: symmetric
                            around 0 (z = 0) [0] */
    int narrow_range;    /* symmetric only: levels -(2^(b-1)-1)..2^(b-1)-1 instead of
                            -2^(b-1)..2^(b-1)-1 (docs/definitions.md) [0] */
};

/* The defaults above for `method`. */
struct zp_calib_options zp_calib_options_default(enum zp_calib_method method);

/* Checks every field; ZP_ECONFIG with a message naming the field otherwise. */
enum zp_status zp_calib_options_check(const struct zp_calib_options *o, struct zp_err *err);

/* "minmax", "ema", "percentile", "mse", "kl" (the config / CSV `calibration` value). */
const char *zp_calib_method_name(enum zp_calib_method m);
/* Returns 0 and sets *m on a known name, -1 otherwise. */
int zp_calib_method_parse(const char *name, enum zp_calib_method *m);

struct zp_calib;

/* A calibrator for one tensor. NULL with err filled on a bad option (ZP_ECONFIG)
 * or no memory. Owned by the caller; release with zp_calib_free. */
struct zp_calib *zp_calib_new(const struct zp_calib_options *o, struct zp_err *err);
void zp_calib_free(struct zp_calib *c); /* NULL is a no-op */

/* The extremes of n values into *lo, *hi; returns the index of the first
 * non-finite value, n when there is none (then lo, hi are exact). */
size_t zp_calib_extremes(const float *x, size_t n, float *lo, float *hi);

/* Adds one batch of n values (n == 0 is a no-op). Any NaN or Inf rejects the
 * whole batch with ZP_EINVAL (state unchanged); the message gives the index and
 * value, and the caller prefixes the tensor name (zp_err_prefix). */
enum zp_status zp_calib_observe(struct zp_calib *c, const float *x, size_t n, struct zp_err *err);

/* The calibrated range. ZP_EINVAL if nothing was observed. A degenerate result
 * (lo == hi: all-zero or constant data, or a percentile inside a spike) is first
 * widened to contain 0, then, if still empty (all zeros), to [0, FLT_EPSILON]. */
enum zp_status zp_calib_range(const struct zp_calib *c, float *lo, float *hi, struct zp_err *err);

/* Number of values observed so far. */
uint64_t zp_calib_count(const struct zp_calib *c);

/* Weights: calibrates a whole tensor in one call, per tensor (channels == 1) or per
 * output channel (channels rows of per_channel contiguous values, the ONNX OIHW /
 * [out, in] layouts). lo and hi have `channels` entries. Errors name the channel. */
enum zp_status zp_calib_tensor(const struct zp_calib_options *o, const float *x, int64_t channels,
                               int64_t per_channel, float *lo, float *hi, struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
