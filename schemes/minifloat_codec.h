/* Bit-exact codecs of the small floating-point element formats and of the E8M0
 * shared scale.
 *
 * Sources (section names as in the documents):
 *   OCP 8-bit Floating Point Specification (OFP8) rev 1.0, "Encodings" table:
 *     E4M3: bias 7, no infinities, NaN = S.1111.111 only, max 448 = S.1111.110,
 *           min normal 2^-6, min subnormal 2^-9;
 *     E5M2: bias 15, IEEE-754 style: S.11111.00 = inf, S.11111.{01,10,11} = NaN,
 *           max 57344 = S.11110.11, min normal 2^-14, min subnormal 2^-16.
 *   OCP Microscaling Formats (MX) v1.0, "Element Data Types" (FP8, FP6, FP4)
 *   and "Scale Data Type" (E8M0):
 *     E2M3: bias 1, no inf/NaN, max 7.5;  E3M2: bias 3, no inf/NaN, max 28;
 *     E2M1: bias 1, no inf/NaN, max 6;
 *     E8M0: unsigned exponent, bias 127, 2^-127..2^127, 0xFF = NaN, no zero.
 *   ONNX "Float stored in 8 bits" (FLOAT8E4M3FN, FLOAT8E5M2, the saturate flag
 *   of Cast) and "Float stored in 4 bits" (FLOAT4E2M1).
 *
 * Codes are the format's bit pattern in the low bits of a uint32 (sign bit at
 * bit width-1). Encoding rounds to nearest, ties to even, on the format's grid
 * extended past its largest finite value; a result beyond the largest finite
 * value overflows:
 *   saturate:      +-max (ONNX Cast saturate=1, OCP OFP8 "saturating" mode);
 *   non-saturate:  E4M3 -> NaN (it has no infinity), E5M2 -> +-inf (IEEE-754);
 *                  E2M3/E3M2/E2M1 have no inf or NaN encoding, so there is
 *                  nothing to overflow to: they always clamp to +-max, the only
 *                  value-preserving choice and the conversion OCP MX v1.0
 *                  ("Conversion from vector of scalars to MX format") asks for
 *                  (quantize_to_element_format clamps normal numbers). The
 *                  minifloat scheme rejects saturating=false for them instead of
 *                  silently ignoring it. */
#ifndef ZP_SCHEMES_MINIFLOAT_CODEC_H
#define ZP_SCHEMES_MINIFLOAT_CODEC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum zp_mf_format {
    ZP_MF_E4M3 = 0,
    ZP_MF_E5M2 = 1,
    ZP_MF_E2M3 = 2,
    ZP_MF_E3M2 = 3,
    ZP_MF_E2M1 = 4,
    ZP_MF_COUNT
};

enum zp_mf_nan {
    ZP_MF_NAN_NONE = 0,   /* FP6, FP4: every pattern is a finite number */
    ZP_MF_NAN_SINGLE = 1, /* E4M3 ("FN"): S.1111.111 only, no infinity */
    ZP_MF_NAN_IEEE = 2,   /* E5M2: exponent all ones, mantissa != 0; mantissa 0 = inf */
};

struct zp_mf_info {
    const char *name; /* "e4m3" ... */
    int width;        /* bits per code, sign included */
    int ebits, mbits, bias;
    enum zp_mf_nan nan;
    int has_inf;
    uint32_t max_mag; /* magnitude pattern (sign cleared) of the largest finite value */
    float max;        /* largest finite value */
    int emax;         /* unbiased exponent of the largest normal (OCP MX emax_elem) */
    int emin;         /* unbiased exponent of the smallest normal, 1 - bias */
};

/* Description of a format; NULL for an out-of-range value. */
const struct zp_mf_info *zp_mf_info(enum zp_mf_format f);
/* Code point -> value: NaN for NaN patterns, +-inf for E5M2 infinities,
 * -0.0f for the negative zero. code must be < 2^width. */
float zp_mf_decode(enum zp_mf_format f, uint32_t code);
/* Value -> code point, round to nearest even; see the header comment for
 * overflow. NaN input gives the canonical NaN (E4M3 0x7F, E5M2 0x7E with the
 * input's sign); FP6/FP4 have none and give +0. +-inf input overflows as above. */
uint32_t zp_mf_encode(enum zp_mf_format f, float x, int saturate);
/* The same for a double, so a scaled value x / s is rounded once, straight to
 * the format, not first to float (a double rounding could land a value just off
 * a tie exactly on it). */
uint32_t zp_mf_encode_double(enum zp_mf_format f, double x, int saturate);
/* The code of -0 / +0 and the sign bit. */
static inline uint32_t zp_mf_sign_bit(const struct zp_mf_info *i)
{
    return 1u << (i->width - 1);
}

/* E8M0 (OCP MX v1.0 "Scale Data Type"): value 2^(code - 127); 0xFF is NaN. */
#define ZP_E8M0_BIAS 127
#define ZP_E8M0_NAN 0xFFu
float zp_e8m0_decode(uint8_t code);
/* Code of 2^e with e clamped to the representable [-127, 127]. */
uint8_t zp_e8m0_from_exp(int e);

#ifdef __cplusplus
}
#endif
#endif
