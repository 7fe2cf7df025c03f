/* Rounding of x / s to an integer, half to even, with ties decided exactly.
 *
 * Why: a quotient computed in floating point can land on (or just beside) a
 * half step when the real quotient is not a tie, and the other way round. A value
 * is a tie here only when x / s is a half-integer in exact arithmetic on the
 * given inputs (PyTorch's rule too, within its float arithmetic): near a half
 * step h we test the sign of the exact residual x - h*s. Inputs that are exact
 * ratios only before they were rounded to float (u8/127.5 - 1 against a 2/255
 * scale) are not ties on their float values; quantize them from their integer
 * source instead (data/: zp_dataset_exact_codes). */
#ifndef ZP_COMMON_ROUND_H
#define ZP_COMMON_ROUND_H

#include <math.h>

#ifdef __cplusplus
extern "C" {
#endif

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

/* Half to even of r as given (no tolerance): for a value that is exact already. */
static inline double zp_round_half_even(double r)
{
    return zp_rint_fast(r);
}

/* Half to even of x / s, where q is x / s computed to within a relative error
 * far below ZP_TIE_WINDOW (a double division or a multiply by a double 1/s).
 * Outside the window around a half step q's rounding is the exact one; inside it
 * the half step h = t +- 0.5 is the tie candidate, and the residual
 * fma(-h, s, x) = x - h*s, rounded once, is 0 exactly when x == h*s and has its
 * sign otherwise: 0 is a tie (even neighbour), else x/s lies on the residual's
 * side of h (times the sign of s). |h| >= 2^50 is beyond any code: plain rint. */
#define ZP_TIE_WINDOW 0x1p-30
static inline double zp_round_quot(double q, double x, double s)
{
    double t = zp_rint_fast(q);
    double d = q - t; /* in [-0.5, 0.5] */
    double a = q < 0 ? -q : q;
    if ((d < 0 ? -d : d) < 0.5 - ZP_TIE_WINDOW * (a > 1.0 ? a : 1.0) || !(a < 0x1p50))
        return t;
    double h = t + (d > 0 ? 0.5 : -0.5);
    double r = fma(-h, s, x);
    if (r == 0.0) /* an exact tie: of t and t +- 1 the even one */
        return zp_rint_fast(0.5 * t) == 0.5 * t ? t : t + (d > 0 ? 1.0 : -1.0);
    int above = (r > 0) == (s > 0); /* x / s > h */
    return above ? h + 0.5 : h - 0.5;
}

/* round(x / s), half to even, ties decided exactly on the float inputs. */
static inline double zp_round_div(float x, float s)
{
    return zp_round_quot((double)x / (double)s, (double)x, (double)s);
}

#ifdef __cplusplus
}
#endif
#endif
