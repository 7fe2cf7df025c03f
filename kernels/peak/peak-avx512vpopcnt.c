/* xor + vpopcntq + vpaddq (zmm) peak probe: the inner loop of the binary GEMM. */
#include <immintrin.h>

#include "kernels/peak/peak.h"

#define N ZP_PEAK_CHAINS

double zp_peak_xor_popcnt_zmm(long iters)
{
    __m512i acc[N], w = _mm512_set1_epi64(0x0123456789abcdefll);
    for (int i = 0; i < N; i++)
        acc[i] = _mm512_set1_epi64(i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < N; i++)
            acc[i] = _mm512_add_epi64(acc[i], _mm512_popcnt_epi64(_mm512_xor_si512(acc[i], w)));
    __m512i s = acc[0];
    for (int i = 1; i < N; i++)
        s = _mm512_add_epi64(s, acc[i]);
    return (double)_mm512_reduce_add_epi64(s);
}
