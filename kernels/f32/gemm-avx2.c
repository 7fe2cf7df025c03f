/* f32 GEMM, AVX2 + FMA: 6x16 register tile over each half of a 32-column panel,
 * same K/M blocking as the AVX-512 variant. Ragged N goes through a stack tile. */
#include <assert.h>
#include <immintrin.h>
#include <string.h>

#include "kernels/internal.h"
#include "kernels/variants.h"

#define MR 6

/* mr x 16 tile over half h of a 32-column panel: 12 ymm accumulators, 2 weight
 * vectors, 1 broadcast (all 16 ymm registers). */
static inline __attribute__((always_inline)) void tile(int mr, int kc, const float *restrict a, size_t lda,
                                                        const float *restrict b, float *restrict c, size_t ldc, int nv,
                                                        int accumulate)
{
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b + (size_t)k * ZP_NR), b1 = _mm256_load_ps(b + (size_t)k * ZP_NR + 8);
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++) {
            __m256 av = _mm256_broadcast_ss(a + (size_t)r * lda + k);
            acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
        }
    }
    #pragma GCC unroll 8
    for (int r = 0; r < mr; r++) {
        float *cr = c + (size_t)r * ldc;
        if (nv >= 16) {
            #pragma GCC unroll 8
            for (int v = 0; v < 2; v++) {
                __m256 x = acc[r][v];
                if (accumulate)
                    x = _mm256_add_ps(x, _mm256_loadu_ps(cr + 8 * v));
                _mm256_storeu_ps(cr + 8 * v, x);
            }
        } else {
            float t[16];
            _mm256_storeu_ps(t, acc[r][0]);
            _mm256_storeu_ps(t + 8, acc[r][1]);
            for (int j = 0; j < nv; j++)
                cr[j] = accumulate ? cr[j] + t[j] : t[j];
        }
    }
}

static void tile_any(int mr, int kc, const float *a, size_t lda, const float *b, float *c, size_t ldc, int nv,
                     int acc)
{
    switch (mr) {
#define CASE(n) case n: tile(n, kc, a, lda, b, c, ldc, nv, acc); break;
    CASE(1) CASE(2) CASE(3) CASE(4) CASE(5)
#undef CASE
    default: tile(MR, kc, a, lda, b, c, ldc, nv, acc); break;
    }
}

void zp_f32_gemm_ukernel_6x16__avx2(const struct zp_gemm_call *call, int i0, int i1, int k0, int k1)
{
    const struct zp_packed_a *A = call->a;
    const struct zp_packed_b *B = call->b;
    const int N = B->n, K = B->k, npan = zp_npanels(B);
    assert(0 <= i0 && i0 < i1 && i1 <= A->m && 0 <= k0 && k0 < k1 && k1 <= K);
    float *C = call->c;
    const size_t ldc = call->ldc, lda = A->lda;
    const int kc = k1 - k0;
    for (int p = 0; p < npan; p++)
        for (int h = 0; h < 2; h++) {
            int nv = N - p * ZP_NR - 16 * h;
            if (nv <= 0)
                break;
            const float *bp = (const float *)B->data + (size_t)p * K * ZP_NR + (size_t)k0 * ZP_NR + 16 * h;
            float *cp = C + (size_t)p * ZP_NR + 16 * h;
            for (int i = i0; i < i1; i += MR) {
                int mr = i1 - i < MR ? i1 - i : MR;
                tile_any(mr, kc, A->f32 + (size_t)i * lda + k0, lda, bp, cp + (size_t)i * ldc, ldc, nv, k0 > 0);
            }
        }
}
