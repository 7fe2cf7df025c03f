/* Element-format codecs (see minifloat_codec.h for the sources). Encoding works
 * in double: a double x and a power-of-two step give an exact quotient, so the
 * tie test of round-to-nearest-even is exact. */
#include "schemes/minifloat_codec.h"

#include <math.h>
#include <stddef.h>

/* Field layout per format. max_mag: E4M3 exponent 1111 mantissa 110 (111 is the
 * NaN), E5M2 exponent 11110 mantissa 11 (11111 is inf/NaN), FP6/FP4 every bit
 * set. emax is the exponent of max: E4M3 15-7 = 8, E5M2 30-15 = 15, E2M3 3-1 = 2,
 * E3M2 7-3 = 4, E2M1 3-1 = 2 (OCP MX v1.0 table "emax_elem"). */
static const struct zp_mf_info infos[ZP_MF_COUNT] = {
    [ZP_MF_E4M3] = {"e4m3", 8, 4, 3, 7, ZP_MF_NAN_SINGLE, 0, 0x7E, 448.0f, 8, -6},
    [ZP_MF_E5M2] = {"e5m2", 8, 5, 2, 15, ZP_MF_NAN_IEEE, 1, 0x7B, 57344.0f, 15, -14},
    [ZP_MF_E2M3] = {"e2m3", 6, 2, 3, 1, ZP_MF_NAN_NONE, 0, 0x1F, 7.5f, 2, 0},
    [ZP_MF_E3M2] = {"e3m2", 6, 3, 2, 3, ZP_MF_NAN_NONE, 0, 0x1F, 28.0f, 4, -2},
    [ZP_MF_E2M1] = {"e2m1", 4, 2, 1, 1, ZP_MF_NAN_NONE, 0, 0x07, 6.0f, 2, 0},
};

const struct zp_mf_info *zp_mf_info(enum zp_mf_format f)
{
    return (unsigned)f < ZP_MF_COUNT ? &infos[f] : NULL;
}

float zp_mf_decode(enum zp_mf_format f, uint32_t code)
{
    const struct zp_mf_info *in = &infos[f];
    uint32_t sign = code >> (in->width - 1) & 1u;
    uint32_t exp = code >> in->mbits & ((1u << in->ebits) - 1u);
    uint32_t man = code & ((1u << in->mbits) - 1u);
    uint32_t exp_all = (1u << in->ebits) - 1u;
    double v;
    if (in->nan == ZP_MF_NAN_SINGLE && exp == exp_all && man == (1u << in->mbits) - 1u)
        return NAN;
    if (in->nan == ZP_MF_NAN_IEEE && exp == exp_all) {
        if (man != 0)
            return NAN;
        return sign ? -INFINITY : INFINITY;
    }
    if (exp == 0) /* subnormal: 0.m * 2^emin */
        v = ldexp((double)man, in->emin - in->mbits);
    else /* normal: 1.m * 2^(exp - bias) */
        v = ldexp((double)((1u << in->mbits) | man), (int)exp - in->bias - in->mbits);
    return (float)(sign ? -v : v);
}

static uint32_t nan_code(const struct zp_mf_info *in, uint32_t sign)
{
    if (in->nan == ZP_MF_NAN_SINGLE)
        return sign | 0x7Fu;
    if (in->nan == ZP_MF_NAN_IEEE)
        return sign | 0x7Eu; /* quiet: mantissa MSB set */
    return 0;
}

static uint32_t overflow_code(const struct zp_mf_info *in, uint32_t sign, int saturate)
{
    if (saturate || in->nan == ZP_MF_NAN_NONE)
        return sign | in->max_mag;
    if (in->has_inf)
        return sign | (((1u << in->ebits) - 1u) << in->mbits); /* E5M2: S.11111.00 */
    return nan_code(in, sign); /* E4M3: no infinity, overflow is NaN */
}

uint32_t zp_mf_encode(enum zp_mf_format f, float x, int saturate)
{
    return zp_mf_encode_double(f, (double)x, saturate);
}

uint32_t zp_mf_encode_double(enum zp_mf_format f, double x, int saturate)
{
    const struct zp_mf_info *in = &infos[f];
    uint32_t sign = signbit(x) ? zp_mf_sign_bit(in) : 0u;
    if (isnan(x))
        return in->nan == ZP_MF_NAN_NONE ? 0u : nan_code(in, sign);
    if (isinf(x))
        return overflow_code(in, sign, saturate);
    double a = fabs(x);
    if (a == 0.0)
        return sign;
    /* Grid step at a: 2^(e - mbits) in binade e, the subnormal step below 2^emin. */
    int e;
    frexp(a, &e);
    e -= 1; /* a in [2^e, 2^(e+1)) */
    if (e < in->emin)
        e = in->emin;
    double step = ldexp(1.0, e - in->mbits);
    double q = a / step; /* exact: power-of-two divisor */
    double r = floor(q);
    double frac = q - r;
    if (frac > 0.5 || (frac == 0.5 && fmod(r, 2.0) != 0.0))
        r += 1.0; /* nearest, ties to the even multiple (even mantissa) */
    double v = r * step;
    if (v > (double)in->max)
        return overflow_code(in, sign, saturate);
    if (v == 0.0)
        return sign;
    /* r counts steps of binade e; r == 2^(mbits+1) moved to the next binade. */
    uint32_t mag;
    if (v < ldexp(1.0, in->emin)) {
        mag = (uint32_t)r; /* subnormal: exponent field 0, mantissa r */
    } else {
        int ev;
        frexp(v, &ev);
        ev -= 1;
        uint32_t man = (uint32_t)(ldexp(v, in->mbits - ev) - ldexp(1.0, in->mbits));
        mag = (uint32_t)(ev + in->bias) << in->mbits | man;
    }
    return sign | mag;
}

float zp_e8m0_decode(uint8_t code)
{
    if (code == ZP_E8M0_NAN)
        return NAN;
    return ldexpf(1.0f, (int)code - ZP_E8M0_BIAS);
}

uint8_t zp_e8m0_from_exp(int e)
{
    if (e < -ZP_E8M0_BIAS)
        e = -ZP_E8M0_BIAS;
    if (e > ZP_E8M0_BIAS)
        e = ZP_E8M0_BIAS;
    return (uint8_t)(e + ZP_E8M0_BIAS);
}
