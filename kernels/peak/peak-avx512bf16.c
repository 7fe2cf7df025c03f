/* vdpbf16ps (zmm) peak probe: 16 lanes x 2 bf16 products, multiply and add
 * counted as 2 ops each -> 64 ops per instruction. */
#include <immintrin.h>

#include "kernels/peak/peak.h"

#define N ZP_PEAK_CHAINS

double zp_peak_dpbf16_zmm(long iters)
{
    __m512 acc[N];
    /* 1.0 and tiny products: the chains stay finite for any iteration count */
    __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), w = (__m512bh)_mm512_set1_epi16(0x0080);
    for (int i = 0; i < N; i++)
        acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < N; i++)
            acc[i] = _mm512_dpbf16_ps(acc[i], a, w);
    __m512 s = acc[0];
    for (int i = 1; i < N; i++)
        s = _mm512_add_ps(s, acc[i]);
    return (double)_mm512_reduce_add_ps(s);
}
