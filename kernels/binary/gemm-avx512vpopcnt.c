/* Binary GEMM on AVX-512 VPOPCNTDQ: per 64 k, vpxorq of the broadcast activation
 * word with 8 columns' weight words, vpopcntq, vpaddq into int64 accumulators
 * (6x32 tile: 24 zmm). Output = alpha_a[i] * alpha_b[j] * (K - 2 popcount), the
 * alphas applied once per output (XNOR-net). Padding bits are 0 in A and B, so
 * they never count. */
#include <assert.h>
#include <immintrin.h>

#include "kernels/internal.h"
#include "kernels/variants.h"

#define MR 6

static inline __attribute__((always_inline)) void tile(int mr, int kw, int K, const uint64_t *restrict a,
                                                        const uint64_t *restrict b, float *restrict c, size_t ldc, int nv,
                                                        const float *restrict alpha_a, const float *restrict alpha_b)
{
    __m512i acc[MR][4];
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++)
        #pragma GCC unroll 8
        for (int v = 0; v < 4; v++)
            acc[r][v] = _mm512_setzero_si512();
    for (int w = 0; w < kw; w++) {
        const uint64_t *bw = b + (size_t)w * ZP_NR;
        __m512i w0 = _mm512_load_si512(bw), w1 = _mm512_load_si512(bw + 8);
        __m512i w2 = _mm512_load_si512(bw + 16), w3 = _mm512_load_si512(bw + 24);
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++) {
            __m512i av = _mm512_set1_epi64((long long)a[(size_t)r * kw + w]);
            acc[r][0] = _mm512_add_epi64(acc[r][0], _mm512_popcnt_epi64(_mm512_xor_si512(av, w0)));
            acc[r][1] = _mm512_add_epi64(acc[r][1], _mm512_popcnt_epi64(_mm512_xor_si512(av, w1)));
            acc[r][2] = _mm512_add_epi64(acc[r][2], _mm512_popcnt_epi64(_mm512_xor_si512(av, w2)));
            acc[r][3] = _mm512_add_epi64(acc[r][3], _mm512_popcnt_epi64(_mm512_xor_si512(av, w3)));
        }
    }
    const __m256 kf = _mm256_set1_ps((float)K), m2 = _mm256_set1_ps(-2.0f);
    #pragma GCC unroll 8
    for (int r = 0; r < mr; r++) {
        __m256 aa = _mm256_set1_ps(alpha_a[r]);
        #pragma GCC unroll 8
        for (int v = 0; v < 4; v++) {
            int left = nv - 8 * v;
            if (left <= 0)
                break;
            __mmask8 m = left >= 8 ? 0xff : (__mmask8)((1u << left) - 1);
            __m256 dot = _mm256_fmadd_ps(m2, _mm512_cvtepi64_ps(acc[r][v]), kf);
            __m256 ab = _mm256_maskz_loadu_ps(m, alpha_b + 8 * v);
            /* same association as the reference: (alpha_a * alpha_b) * dot */
            _mm256_mask_storeu_ps(c + (size_t)r * ldc + 8 * v, m, _mm256_mul_ps(_mm256_mul_ps(aa, ab), dot));
        }
    }
}

void zp_bin_gemm_ukernel_6x32__avx512vpopcnt(const struct zp_gemm_call *call, int i0, int i1, int k0, int k1)
{
    const struct zp_packed_a *A = call->a;
    const struct zp_packed_b *B = call->b;
    const int N = B->n, kw = B->kp, npan = zp_npanels(B);
    assert(0 <= i0 && i0 < i1 && i1 <= A->m && k0 == 0 && k1 == B->k); /* one pass over K (kc 0) */
    const size_t ldc = call->ldc;
    float *C = call->c;
    for (int p = 0; p < npan; p++) {
        const uint64_t *bp = (const uint64_t *)B->data + (size_t)p * kw * ZP_NR;
        for (int i = i0; i < i1; i += MR) {
            int mr = i1 - i < MR ? i1 - i : MR;
            const uint64_t *a = (const uint64_t *)A->data + (size_t)i * kw;
            float *c = C + (size_t)i * ldc + (size_t)p * ZP_NR;
            const float *aa = A->alpha + i, *ab = B->alpha + (size_t)p * ZP_NR;
            switch (mr) {
            case 1: tile(1, kw, B->k, a, bp, c, ldc, N - p * ZP_NR, aa, ab); break;
            case 2: tile(2, kw, B->k, a, bp, c, ldc, N - p * ZP_NR, aa, ab); break;
            case 3: tile(3, kw, B->k, a, bp, c, ldc, N - p * ZP_NR, aa, ab); break;
            case 4: tile(4, kw, B->k, a, bp, c, ldc, N - p * ZP_NR, aa, ab); break;
            case 5: tile(5, kw, B->k, a, bp, c, ldc, N - p * ZP_NR, aa, ab); break;
            default: tile(MR, kw, B->k, a, bp, c, ldc, N - p * ZP_NR, aa, ab); break;
            }
        }
    }
}
