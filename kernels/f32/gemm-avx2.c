/* f32 GEMM, AVX2 + FMA: 3x32 register tile (12 ymm accumulators, B operands read
 * from memory by the FMAs), same K/M blocking as the AVX-512 variant. Ragged N goes
 * through a stack tile. */
#include <immintrin.h>
#include <string.h>

#include "kernels/internal.h"
#include "kernels/scalar.h"

#define MR 3
#define KC 256
#define MC 48

static inline __attribute__((always_inline)) void tile(int mr, int kc, const float *a, size_t lda,
                                                        const float *b, float *c, size_t ldc, int nv,
                                                        int accumulate)
{
    __m256 acc[MR][4];
#pragma GCC unroll 4
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < 4; v++)
            acc[r][v] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++) {
        const float *bk = b + (size_t)k * ZP_NR;
#pragma GCC unroll 4
        for (int r = 0; r < mr; r++) {
            __m256 av = _mm256_broadcast_ss(a + (size_t)r * lda + k);
#pragma GCC unroll 4
            for (int v = 0; v < 4; v++)
                acc[r][v] = _mm256_fmadd_ps(av, _mm256_load_ps(bk + 8 * v), acc[r][v]);
        }
    }
    for (int r = 0; r < mr; r++) {
        float *cr = c + (size_t)r * ldc;
        if (nv >= ZP_NR) {
            for (int v = 0; v < 4; v++) {
                __m256 x = acc[r][v];
                if (accumulate)
                    x = _mm256_add_ps(x, _mm256_loadu_ps(cr + 8 * v));
                _mm256_storeu_ps(cr + 8 * v, x);
            }
        } else {
            float t[ZP_NR];
            for (int v = 0; v < 4; v++)
                _mm256_storeu_ps(t + 8 * v, acc[r][v]);
            for (int j = 0; j < nv; j++)
                cr[j] = accumulate ? cr[j] + t[j] : t[j];
        }
    }
}

void zp_f32_gemm_ukernel_3x32__avx2(const struct zp_gemm_call *call)
{
    const struct zp_packed_a *A = call->a;
    const struct zp_packed_b *B = call->b;
    const int M = A->m, N = B->n, K = B->k, npan = zp_npanels(B);
    float *C = call->c;
    const size_t ldc = call->ldc, lda = A->lda;
    const int nt = call->threads > 1 ? call->threads : 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
    for (int k0 = 0; k0 < K; k0 += KC) {
        int kc = K - k0 < KC ? K - k0 : KC;
#pragma omp for schedule(static)
        for (int i0 = 0; i0 < M; i0 += MC) {
            int i1 = i0 + MC < M ? i0 + MC : M;
            for (int p = 0; p < npan; p++) {
                int nv = N - p * ZP_NR;
                const float *bp = (const float *)B->data + (size_t)p * K * ZP_NR + (size_t)k0 * ZP_NR;
                float *cp = C + (size_t)p * ZP_NR;
                int i = i0;
                for (; i + MR <= i1; i += MR)
                    tile(MR, kc, A->f32 + (size_t)i * lda + k0, lda, bp, cp + (size_t)i * ldc, ldc, nv, k0 > 0);
                if (i1 - i == 2)
                    tile(2, kc, A->f32 + (size_t)i * lda + k0, lda, bp, cp + (size_t)i * ldc, ldc, nv, k0 > 0);
                else if (i1 - i == 1)
                    tile(1, kc, A->f32 + (size_t)i * lda + k0, lda, bp, cp + (size_t)i * ldc, ldc, nv, k0 > 0);
            }
        }
    }
}
