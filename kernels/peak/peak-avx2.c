/* AVX2 (ymm) peak probes: the same instruction mixes as peak-avx512.c. */
#include <immintrin.h>

#include "kernels/peak/peak.h"

#define N ZP_PEAK_CHAINS

static double hsum_ps(__m256 v)
{
    float t[8];
    _mm256_storeu_ps(t, v);
    double s = 0;
    for (int i = 0; i < 8; i++)
        s += t[i];
    return s;
}

static double hsum_epi32(__m256i v)
{
    unsigned t[8];
    _mm256_storeu_si256((__m256i *)t, v);
    double s = 0;
    for (int i = 0; i < 8; i++)
        s += t[i];
    return s;
}

double zp_peak_fma_ymm(long iters)
{
    __m256 acc[N], b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-3f);
    for (int i = 0; i < N; i++)
        acc[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < N; i++)
            acc[i] = _mm256_fmadd_ps(acc[i], b, c);
    __m256 s = acc[0];
    for (int i = 1; i < N; i++)
        s = _mm256_add_ps(s, acc[i]);
    return hsum_ps(s);
}

double zp_peak_maddubs3_ymm(long iters)
{
    __m256i acc[N], w = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
    for (int i = 0; i < N; i++)
        acc[i] = _mm256_set1_epi32(i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < N; i++)
            acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(acc[i], w), ones));
    __m256i s = acc[0];
    for (int i = 1; i < N; i++)
        s = _mm256_add_epi32(s, acc[i]);
    return hsum_epi32(s);
}

double zp_peak_maddubs_adds_ymm(long iters)
{
    __m256i acc[N], w = _mm256_set1_epi8(3);
    for (int i = 0; i < N; i++)
        acc[i] = _mm256_set1_epi16((short)i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < N; i++)
            acc[i] = _mm256_adds_epi16(acc[i], _mm256_maddubs_epi16(acc[i], w));
    __m256i s = acc[0];
    for (int i = 1; i < N; i++)
        s = _mm256_add_epi32(s, acc[i]);
    return hsum_epi32(s);
}
