/* vpdpbusd (zmm) peak probe. */
#include <immintrin.h>

#include "kernels/peak/peak.h"

#define N ZP_PEAK_CHAINS

double zp_peak_vpdpbusd_zmm(long iters)
{
    __m512i acc[N], a = _mm512_set1_epi8(5), w = _mm512_set1_epi8(3);
    for (int i = 0; i < N; i++)
        acc[i] = _mm512_set1_epi32(i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < N; i++)
            acc[i] = _mm512_dpbusd_epi32(acc[i], a, w);
    __m512i s = acc[0];
    for (int i = 1; i < N; i++)
        s = _mm512_add_epi32(s, acc[i]);
    return (double)_mm512_reduce_add_epi32(s);
}
