/* The integer depthwise convolution with AVX-512 VNNI: the AVX-512BW kernel
 * (kernels/int/dw_avx512.inc) with each tap's vpmaddwd + vpaddd fused into one
 * vpdpwssd. The interior loop per tap and 16 channels was three vector uops
 * (widening load's shuffle, multiply-add, add) on the two 512-bit ports, now two.
 * The rest of the VNNI set (select.c) is the AVX-512BW one. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/int/int_variants.h"

static inline __mmask16 tail16(int left) { return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1); }

#define ZP_DW_FN zp_int_dw__avx512vnni
#define ZP_DW_DOT(s, x, w) _mm512_dpwssd_epi32(s, x, w)
#include "kernels/int/dw_avx512.inc"
#endif
