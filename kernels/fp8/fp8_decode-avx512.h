/* The in-register E4M3 decode shared by the FP8 kernels (AVX-512BW + F16C; only
 * included by files built with those flags). For a byte x = S.EEEE.MMM, the half
 * with bits (x + (x & 0x80)) << 7 = S.0EEEE.MMM0000000 is exactly x's value /
 * 256: E4M3's exponent (bias 7) lands in the half's (bias 15) 8 lower, and its
 * subnormals (m x 2^-9) land on the half's subnormals (m x 2^-17), so one
 * vcvtph2ps gives value / 256 for every code (the kernels fold the 256 into the
 * output scale, exactly: a power of two). NaN codes are rejected at packing. */
#ifndef ZP_KERNELS_FP8_DECODE_AVX512_H
#define ZP_KERNELS_FP8_DECODE_AVX512_H

#include <immintrin.h>
#include <stdint.h>

/* 32 E4M3 bytes (one k, 32 columns) -> 32 halves of value / 256, in order. */
static inline __m512i zp_fp8_to_f16x32(const uint8_t *p)
{
    __m512i x = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)p));
    __m512i s = _mm512_and_si512(x, _mm512_set1_epi16(0x80));
    return _mm512_slli_epi16(_mm512_add_epi16(x, s), 7);
}

#endif
