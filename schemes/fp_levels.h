/* A scaled element format as a codebook slice: the glue between the bit-exact
 * codecs (minifloat_codec.h) and the scheme ABI, shared by minifloat, mx and
 * nvfp4.
 *
 * Codes are indices into the ascending table of the format's distinct finite
 * values times the slice scale: magnitude pattern m in 0..max_mag, sign s gives
 * index max_mag + (s ? -m : m) (sign-magnitude patterns are monotonic in value),
 * so -0 and +0 share the middle index, and n_levels = 2 max_mag + 1 (E4M3 253,
 * E5M2 247, FP6 63, FP4 15). That makes every harness path that knows codebooks
 * (metrics, QAT ranges, bias handling) work unchanged, while quantization is the
 * format's own round-to-nearest-even of x / scale, not nearest-level search
 * (which would break ties towards the lower index instead of the even code).
 * A non-saturating overflow has no level: it gets one of the negative codes
 * below and decodes to NaN or +-inf. */
#ifndef ZP_SCHEMES_FP_LEVELS_H
#define ZP_SCHEMES_FP_LEVELS_H

#include <stddef.h>
#include <stdint.h>

#include "schemes/minifloat_codec.h"
#include "schemes/scheme.h"

#define ZP_FP_Q_NAN (-1)
#define ZP_FP_Q_POS_INF (-2)
#define ZP_FP_Q_NEG_INF (-3)

/* Level index of a code point (finite ones); NaN / inf patterns give the
 * negative codes above. */
int32_t zp_fp_index_of_code(enum zp_mf_format f, uint32_t code);
/* Fills p as the codebook scale * values of f (scale >= 0; 0 makes every level
 * 0, for a slice with nothing to represent). */
void zp_fp_set_levels(enum zp_mf_format f, float scale, struct zp_qparams *p);
/* q = index of encode(x / p->scale); a zero scale gives the zero level. */
void zp_fp_quantize(enum zp_mf_format f, int saturate, const struct zp_qparams *p,
                    const float *x, int32_t *q, size_t n);
/* y = levels[q], or NaN / +-inf for the overflow codes. */
void zp_fp_dequantize(const struct zp_qparams *p, const int32_t *q, float *y, size_t n);

#endif
