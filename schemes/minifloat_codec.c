/* Element-format codecs (see minifloat_codec.h for the sources). Encoding works
 * in double: a double x scaled by a power of two is exact, so rounding the
 * scaled value to an integer is exactly round-to-nearest-even on the format's
 * grid; no libm call on this path (activations go through it). */
#include "schemes/minifloat_codec.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* 2^k for |k| < 1023, built from the exponent field. */
static double pow2i(int k)
{
    uint64_t b = (uint64_t)(k + 1023) << 52;
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

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
    /* Binade of a from its double exponent field (a double subnormal, < 2^-1022,
     * counts as below emin, which it is for every format here). */
    uint64_t bits;
    memcpy(&bits, &a, sizeof bits);
    int e = (int)((bits >> 52) & 0x7ffu) - 1023; /* a in [2^e, 2^(e+1)) */
    if (e < in->emin)
        e = in->emin; /* subnormal range: the step of the lowest binade */
    if (e > in->emax + 1)
        return overflow_code(in, sign, saturate); /* >= 2^(emax+2): past any rounding */
    /* q = a / step with step = 2^(e - mbits): a power-of-two scaling, exact.
     * q < 2^(mbits+1) <= 16, so adding and subtracting 1.5 * 2^52 leaves the
     * integer that the default rounding mode picks: nearest, ties to even. */
    double q = a * pow2i(in->mbits - e);
    volatile double magic = 0x1.8p52; /* volatile: keep the add/sub pair */
    double r = (q + magic) - magic;
    uint32_t ri = (uint32_t)r;
    uint32_t one = 1u << in->mbits;
    if (ri >= 2 * one) { /* rounded up to the next binade */
        ri = one;
        e++;
    }
    uint32_t mag;
    if (ri < one) /* only when e == emin: subnormal (or zero), exponent field 0 */
        mag = ri;
    else if (e + in->bias > (1 << in->ebits) - 1)
        return overflow_code(in, sign, saturate);
    else
        mag = (uint32_t)(e + in->bias) << in->mbits | (ri - one);
    if (mag > in->max_mag) /* E4M3 S.1111.111, E5M2 S.11111.xx: past the largest */
        return overflow_code(in, sign, saturate);
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
