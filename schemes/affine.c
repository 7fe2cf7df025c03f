/* Affine quantization shared by asymmetric, symmetric, no-128 and linear4:
 *   q = clamp(round((x - offset) / s) + z, qmin, qmax),  x' = offset + s (q - z)
 * with round = half to even through common/round.h. Parameter formulas are
 * docs/definitions.md; the derivations are in docs/schemes.md. */
#include "schemes/scheme.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "common/round.h"

/* A scale must be a positive normal float: an all-zero slice gives 0 (use 1, any
 * scale represents 0 exactly) and a range of a few denormals would give 0 or a
 * denormal after the division (use FLT_MIN: every such value is within FLT_MIN/2
 * of a level). */
static float safe_scale(double s)
{
    if (s == 0.0)
        return 1.0f;
    if (s < (double)FLT_MIN)
        return FLT_MIN;
    return (float)s;
}

static void clear(struct zp_qparams *p)
{
    p->scale = 1.0f;
    p->offset = 0.0f;
    p->zero_point = 0;
    p->n_levels = 0;
}

void zp_affine_asym_nudged(float lo, float hi, int bits, struct zp_qparams *p)
{
    clear(p);
    p->qmin = 0;
    p->qmax = (int32_t)((1u << bits) - 1);
    double mn = lo < 0.0f ? lo : 0.0, mx = hi > 0.0f ? hi : 0.0;
    /* Range widened to contain 0, so a constant slice c != 0 has a non-empty
     * range [min(c,0), max(c,0)] and c sits on an end level. */
    float s = safe_scale((mx - mn) / (double)(p->qmax - p->qmin));
    /* z = qmin - mn / s with s the exact step (mx - mn) / levels, not the float
     * scale: -mn * levels and mx - mn are exact in double (floats times a small
     * integer; a difference of two floats of one sign range), so a zero point
     * that is a tie in exact arithmetic ([-1, 1] -> 127.5) is decided as one.
     * qmin is 0 (even): qmin + round(a) is round(qmin + a), ties included. */
    double num = -mn * (double)(p->qmax - p->qmin), den = mx - mn;
    double z = (double)p->qmin + (den > 0 ? zp_round_quot(num / den, num, den) : 0.0);
    z = z < p->qmin ? p->qmin : z > p->qmax ? p->qmax : z;
    p->scale = s;
    p->zero_point = (int32_t)z;
}

void zp_affine_asym_plain(float lo, float hi, int bits, struct zp_qparams *p)
{
    clear(p);
    p->qmin = 0;
    p->qmax = (int32_t)((1u << bits) - 1);
    /* A constant slice (lo == hi) decodes exactly through the offset whatever
     * the scale; use |c| / qmax so zero_error_lsb stays meaningful. */
    double range = (double)hi - (double)lo;
    if (range == 0.0)
        range = fabs((double)lo);
    p->scale = safe_scale(range / (double)p->qmax);
    p->offset = lo;
}

void zp_affine_symmetric(float max_abs, int bits, int narrow, struct zp_qparams *p)
{
    clear(p);
    int32_t half = (int32_t)(1u << (bits - 1));
    p->qmax = half - 1;
    p->qmin = narrow ? -(half - 1) : -half;
    /* Full range: -max|x| / s = -(half - 0.5), a tie that rounds to the even
     * -half, so the most negative value reaches the bottom level. Ties are exact
     * (common/round.h), so s is rounded toward zero: then |max / s| >= denom in
     * exact arithmetic, and -max gets the bottom code (a tie or just past it),
     * +max the top one (after the clamp), whichever way max / denom rounds. */
    double denom = narrow ? (double)(half - 1) : (double)half - 0.5;
    double exact = (double)max_abs / denom;
    float s = safe_scale(exact);
    if ((double)s > exact && s > FLT_MIN)
        s = nextafterf(s, 0.0f);
    p->scale = s;
}

void zp_affine_quantize(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                        const float *x, int32_t *q, size_t n)
{
    (void)cfg;
    const double lo = p->qmin, hi = p->qmax, z = p->zero_point;
    /* Multiplying by 1/s in double errs by ~1e-16 relative, far inside the window
     * in which common/round.h decides a tie exactly from x - h*s: same codes as
     * dividing, at a fraction of the cost on this hot path. */
    const double off = p->offset, s = p->scale, inv_s = 1.0 / s;
    for (size_t i = 0; i < n; i++) {
        /* q = round((x - offset) / s) + z; offset is 0 except for the naive mapping,
         * where x - offset (two floats) is exact in double for x within the range */
        double xd = (double)x[i] - off;
        double r = zp_round_quot(xd * inv_s, xd, s) + z;
        q[i] = (int32_t)(r < lo ? lo : r > hi ? hi : r);
    }
}

void zp_affine_dequantize(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                          const int32_t *q, float *y, size_t n)
{
    (void)cfg;
    const double off = p->offset, s = p->scale;
    const int32_t z = p->zero_point;
    for (size_t i = 0; i < n; i++)
        y[i] = (float)(off + s * (double)(q[i] - z));
}

void zp_affine_clip_range(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                          float *lo, float *hi)
{
    int32_t c[2] = {p->qmin, p->qmax};
    float v[2];
    zp_affine_dequantize(cfg, p, c, v, 2);
    *lo = v[0];
    *hi = v[1];
}
