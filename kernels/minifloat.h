/* Element and scale decodes of the block-scaled and minifloat formats, defined in
 * the kernels themselves (kernels/minifloat.c) from the specifications:
 *   E2M1 (FP4)  OCP Microscaling v1.0, sec. 5.3.3: 1 sign, 2 exponent (bias 1),
 *               1 mantissa bit: 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives;
 *   E4M3        OCP 8-bit Floating Point v1.0 ("FN": bias 7, no infinities,
 *               S.1111.111 is NaN, max 448, subnormals m x 2^-9);
 *   E8M0        OCP MX v1.0 scale: 2^(e - 127), 0xff is NaN;
 *   NF4         QLoRA (Dettmers et al. 2023): the 16 NormalFloat4 levels of
 *               bitsandbytes, normalised to [-1, 1] with an exact 0.
 * tests/test_kernels_blocked.c checks each table against an independent
 * computation (bit formulas, the inverse normal CDF). Internal to kernels/ and
 * its tests. */
#ifndef ZP_KERNELS_MINIFLOAT_H
#define ZP_KERNELS_MINIFLOAT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

extern const float zp_kd_e2m1[16];     /* value of each E2M1 code */
extern const int8_t zp_kd_e2m1_x2[16]; /* 2 x value, exact in int8: the vpshufb table */
extern const float zp_kd_nf4[16];      /* NF4 level of each 4-bit code */

/* E4M3 code -> value (NaN for 0x7f, 0xff). */
float zp_kd_e4m3(uint8_t code);
static inline int zp_kd_e4m3_isnan(uint8_t code) { return (code & 0x7f) == 0x7f; }
/* The kernels' in-register E4M3 decode, in scalar form: the IEEE half-precision
 * bits of value / 256, (code & 0x80) << 8 | (code & 0x7f) << 7 (E4M3's
 * exponent and mantissa land in the half's, biased 8 lower, for subnormals too). */
static inline uint16_t zp_kd_e4m3_f16_div256(uint8_t code)
{
    return (uint16_t)(((code & 0x80u) << 8) | ((code & 0x7fu) << 7));
}
/* E8M0 code -> 2^(code - 127) (NaN for 0xff). */
float zp_kd_e8m0(uint8_t code);

#ifdef __cplusplus
}
#endif
#endif
