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

static inline double zp_round_half_even(double r)
{
    double f = floor(r);
    double frac = r - f;
    double tol = ZP_TIE_ULPS * 0x1.0p-23 * fmax(fabs(r), 1.0);
    if (fabs(frac - 0.5) <= tol) /* a tie: pick the even neighbour */
        return f - 2.0 * floor(0.5 * f) == 0.0 ? f : f + 1.0; /* f even? (cheaper than fmod) */
    return frac < 0.5 ? f : f + 1.0;
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
