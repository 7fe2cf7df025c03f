/* xor + vpopcntq + vpaddq (zmm) peak probe: the inner loop of the binary GEMM. */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/peak/peak.h"

#define N ZP_PEAK_CHAINS

/* Lane sum in unsigned arithmetic: the chains wrap on purpose. */
static double hsum(__m512i v)
{
    uint64_t t[8], s = 0;
    _mm512_storeu_si512(t, v);
    for (int i = 0; i < 8; i++)
        s += t[i];
    return (double)s;
}

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
    return hsum(s);
}
