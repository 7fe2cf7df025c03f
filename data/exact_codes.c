/* Exact quantization of 8-bit inputs (issue 17 item 8). An input built from a
 * pixel by the dataset's preprocessing, x = (p / N - mean) / std, is an exact
 * rational number, and so is an affine quantizer's step s = (hi - lo) / levels
 * for float range ends. Their quotient x / s often lies exactly on a half step
 * (u8/127.5 - 1 against s = 2/255 gives p - 127.5 for every p); computed in
 * float it lands a rounding error to either side and the code is a coin toss.
 * Here the quotient is evaluated exactly: every float is an integer times a
 * power of two, so x / s = U / V with U, V integers (scaled by powers of two),
 * and round-half-to-even is decided by integer comparison. The result is a
 * table of the 256 codes, which is also the fastest way to quantize inputs.
 * 128-bit integers hold every practical case; anything larger is refused (the
 * caller keeps the float path). */
#include "data/dataset.h"

#include <math.h>
#include <string.h>

/* m * 2^e */
struct dyadic {
    __int128 m;
    int e;
};

#define DY_LIMIT ((__int128)1 << 120)

static int fits(__int128 v) { return v < DY_LIMIT && v > -DY_LIMIT; }

static struct dyadic dy_float(float f)
{
    int ex = 0;
    float fr = frexpf(f, &ex); /* f = fr * 2^ex, 0.5 <= |fr| < 1 */
    struct dyadic d = { (__int128)(int64_t)ldexpf(fr, 24), ex - 24 };
    return d;
}

static struct dyadic dy_int(int64_t v)
{
    struct dyadic d = { v, 0 };
    return d;
}

/* Shifts m left by k if the result stays representable; returns 0 if not. */
static int shl(__int128 *m, int k)
{
    if (k < 0 || k > 118)
        return *m == 0;
    __int128 lim = DY_LIMIT >> k;
    if (*m >= lim || *m <= -lim)
        return 0;
    *m *= (__int128)1 << k;
    return 1;
}

static int dy_add(struct dyadic a, struct dyadic b, int negate_b, struct dyadic *out)
{
    if (negate_b)
        b.m = -b.m;
    if (a.m == 0) {
        *out = b;
        return 1;
    }
    if (b.m == 0) {
        *out = a;
        return 1;
    }
    if (a.e < b.e) {
        if (!shl(&b.m, b.e - a.e))
            return 0;
        b.e = a.e;
    } else if (b.e < a.e) {
        if (!shl(&a.m, a.e - b.e))
            return 0;
        a.e = b.e;
    }
    out->m = a.m + b.m;
    out->e = a.e;
    return fits(out->m);
}

static int dy_mul(struct dyadic a, struct dyadic b, struct dyadic *out)
{
    __int128 r;
    if (__builtin_mul_overflow(a.m, b.m, &r) || !fits(r))
        return 0;
    out->m = r;
    out->e = a.e + b.e;
    return 1;
}

/* round(u / v), half to even, exactly; 0 if it does not fit. */
static int dy_round_div(struct dyadic u, struct dyadic v, int64_t *q)
{
    if (v.m == 0)
        return 0;
    __int128 a = u.m, b = v.m;
    int k = u.e - v.e;
    if (a != 0 && !(k >= 0 ? shl(&a, k) : shl(&b, -k)))
        return 0;
    if (b < 0) {
        a = -a;
        b = -b;
    }
    __int128 fl = a / b, r = a % b; /* C truncates toward zero: make it a floor */
    if (r < 0) {
        fl -= 1;
        r += b;
    }
    /* a / b = fl + r / b with 0 <= r < b: compare 2r with b */
    __int128 twice = 2 * r;
    if (twice > b || (twice == b && (fl & 1)))
        fl += 1;
    if (fl > INT32_MAX || fl < INT32_MIN)
        return 0;
    *q = (int64_t)fl;
    return 1;
}

/* The integer N when spec->scale is 1/N (the rule zp_dataset_normalize uses). */
static int64_t divisor(double scale)
{
    if (!(scale > 0.0) || scale >= 1.0)
        return 0;
    double inv = 1.0 / scale, n = floor(inv + 0.5);
    return fabs(inv - n) <= 1e-9 * n ? (int64_t)n : 0;
}

enum zp_status zp_dataset_exact_codes(const struct zp_dataset_spec *spec, int ch, float lo, float hi,
                                      int levels, int zero_point, int qmin, int qmax,
                                      int32_t codes[256], struct zp_err *err)
{
    if (ch < 0 || ch > 2 || levels <= 0 || !(hi > lo) || !isfinite(lo) || !isfinite(hi) || qmin > qmax)
        return zp_err_set(err, ZP_EINVAL, "exact input codes: bad quantizer (channel %d, range [%g, %g], "
                          "%d levels, codes %d..%d)", ch, (double)lo, (double)hi, levels, qmin, qmax);
    int normalized = spec->std[0] != 0.0f || spec->std[1] != 0.0f || spec->std[2] != 0.0f;
    struct dyadic mean = dy_float(normalized ? spec->mean[ch] : 0.0f);
    struct dyadic sd = normalized ? dy_float(spec->std[ch]) : dy_int(1);
    int64_t n = spec->scale != 0.0 && spec->scale != 1.0 ? divisor(spec->scale) : 1;
    int plain_mul = spec->scale != 0.0 && spec->scale != 1.0 && n == 0;
    struct dyadic sc = plain_mul ? dy_float((float)spec->scale) : dy_int(1);
    if (plain_mul)
        n = 1;
    /* x / s = (p * sc - n * mean) * levels / (n * std * (hi - lo)) */
    struct dyadic range, den, nmean;
    int ok = dy_add(dy_float(hi), dy_float(lo), 1, &range) && dy_mul(dy_int(n), sd, &den) &&
             dy_mul(den, range, &den) && dy_mul(dy_int(n), mean, &nmean);
    for (int p = 0; ok && p < 256; p++) {
        struct dyadic num;
        int64_t q = 0;
        ok = dy_mul(dy_int(p), sc, &num) && dy_add(num, nmean, 1, &num) &&
             dy_mul(num, dy_int(levels), &num) && dy_round_div(num, den, &q);
        if (ok) {
            q += zero_point;
            codes[p] = (int32_t)(q < qmin ? qmin : q > qmax ? qmax : q);
        }
    }
    if (!ok)
        return zp_err_set(err, ZP_EUNSUPPORTED, "exact input codes: the preprocessing constants and the "
                          "range [%g, %g] are beyond 128-bit exact arithmetic", (double)lo, (double)hi);
    return ZP_OK;
}
