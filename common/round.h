/* Rounding of x / s to an integer, half to even, robust to the float error of
 * the division.
 *
 * Why: a value that lies exactly on a half step in real arithmetic (u8/127.5 - 1
 * with s = 2/255, or -max|w| with s = max|w|/127.5) rarely gives an exact .5
 * after float division; plain rint() then rounds each such value up or down at
 * random, which moves ImageNet top-1 by most of a point. We compute the quotient
 * in double and treat anything within ZP_TIE_ULPS float ulps of a half step as
 * the tie it represents. */
#ifndef ZP_COMMON_ROUND_H
#define ZP_COMMON_ROUND_H

#include <math.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Tolerance, in float ulps of the quotient, inside which a quotient counts as a
 * tie: two roundings (x and s are floats) plus the division stay within 4. */
#define ZP_TIE_ULPS 4.0

/* Round to nearest, ties to even, without a libm call (x86-64 before SSE4.1 has no
 * rounding instruction, and this sits on the hot path of every activation
 * quantization): adding and subtracting 1.5 * 2^52 leaves the integer that the
 * FPU's default rounding picks. |r| is clamped to 2^50 first, which also gives NaN
 * and Inf a defined result (callers clamp codes to [qmin, qmax] afterwards). */
#define ZP_ROUND_MAGIC 0x1.8p52
static inline double zp_rint_fast(double r)
{
    r = r > 0x1p50 ? 0x1p50 : r < -0x1p50 ? -0x1p50 : r != r ? 0.0 : r;
    volatile double m = ZP_ROUND_MAGIC; /* volatile: keep the add/sub pair as written */
    return (r + m) - m;
}

static inline double zp_round_half_even(double r)
{
    double t = zp_rint_fast(r);
    double d = r - t; /* in [-0.5, 0.5] */
    double a = r < 0 ? -r : r;
    double tol = ZP_TIE_ULPS * 0x1.0p-23 * (a > 1.0 ? a : 1.0);
    if ((d < 0 ? -d : d) >= 0.5 - tol) { /* a tie: of t and its other neighbour, the even one */
        double h = 0.5 * t;
        if (zp_rint_fast(h) != h)
            t += d > 0 ? 1.0 : -1.0;
    }
    return t;
}

/* round(x / s), half to even, with the tie tolerance above. */
static inline double zp_round_div(float x, float s)
{
    return zp_round_half_even((double)x / (double)s);
}

#ifdef __cplusplus
}
#endif
#endif
