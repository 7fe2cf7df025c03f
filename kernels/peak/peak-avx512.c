/* AVX-512 peak probes: fp32 FMA, vpmaddubsw+vpmaddwd+vpaddd, vpmaddubsw+vpaddsw.
 * Each chain feeds its own result back as the next input, so the work is real
 * and loop-carried; 12 chains cover the latencies. */
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

double zp_peak_fma_zmm(long iters)
{
    __m512 acc[N], b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-3f);
    for (int i = 0; i < N; i++)
        acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < N; i++)
            acc[i] = _mm512_fmadd_ps(acc[i], b, c);
    __m512 s = acc[0];
    for (int i = 1; i < N; i++)
        s = _mm512_add_ps(s, acc[i]);
    return (double)_mm512_reduce_add_ps(s);
}

double zp_peak_maddubs3_zmm(long iters)
{
    __m512i acc[N], w = _mm512_set1_epi8(3), ones = _mm512_set1_epi16(1);
    for (int i = 0; i < N; i++)
        acc[i] = _mm512_set1_epi32(i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < N; i++)
            acc[i] = _mm512_add_epi32(acc[i], _mm512_madd_epi16(_mm512_maddubs_epi16(acc[i], w), ones));
    __m512i s = acc[0];
    for (int i = 1; i < N; i++)
        s = _mm512_add_epi32(s, acc[i]);
    return hsum(s);
}

double zp_peak_maddubs_adds_zmm(long iters)
{
    __m512i acc[N], w = _mm512_set1_epi8(3);
    for (int i = 0; i < N; i++)
        acc[i] = _mm512_set1_epi16((short)i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < N; i++)
            acc[i] = _mm512_adds_epi16(acc[i], _mm512_maddubs_epi16(acc[i], w));
    __m512i s = acc[0];
    for (int i = 1; i < N; i++)
        s = _mm512_add_epi32(s, acc[i]);
    return hsum(s);
}
