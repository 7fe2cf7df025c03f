/* f32 GEMM, AVX-512: 12x32 register tile (24 zmm accumulators, B from the packed
 * panel, A broadcast straight from its rows), K blocked by 256 so a B slice stays
 * in L2, M blocked by 48 rows (both in kernels/variants.inc; the loop over the
 * blocks is kernels/driver.c). Ragged N uses masked loads/stores. */
#include <assert.h>
#include <immintrin.h>

#include "kernels/internal.h"
#include "kernels/variants.h"

#define MR 12

static inline __attribute__((always_inline)) void tile(int mr, int kc, const float *restrict a, size_t lda,
                                                        const float *restrict b, float *restrict c, size_t ldc,
                                                        __mmask16 m0, __mmask16 m1, int accumulate)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
    for (int r = 0; r < mr; r++)
        c0[r] = c1[r] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b + (size_t)k * ZP_NR), b1 = _mm512_load_ps(b + (size_t)k * ZP_NR + 16);
#pragma GCC unroll 16
        for (int r = 0; r < mr; r++) {
            __m512 av = _mm512_set1_ps(a[(size_t)r * lda + k]);
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < mr; r++) {
        float *cr = c + (size_t)r * ldc;
        if (accumulate) {
            c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, cr));
            c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, cr + 16));
        }
        _mm512_mask_storeu_ps(cr, m0, c0[r]);
        _mm512_mask_storeu_ps(cr + 16, m1, c1[r]);
    }
}

static void tile_any(int mr, int kc, const float *a, size_t lda, const float *b, float *c, size_t ldc,
                     __mmask16 m0, __mmask16 m1, int acc)
{
    switch (mr) {
#define CASE(n) case n: tile(n, kc, a, lda, b, c, ldc, m0, m1, acc); break;
    CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8) CASE(9) CASE(10) CASE(11)
#undef CASE
    default: tile(MR, kc, a, lda, b, c, ldc, m0, m1, acc); break;
    }
}

void zp_f32_gemm_ukernel_12x32__avx512(const struct zp_gemm_call *call, int i0, int i1, int k0, int k1)
{
    const struct zp_packed_a *A = call->a;
    const struct zp_packed_b *B = call->b;
    const int N = B->n, K = B->k, npan = zp_npanels(B);
    assert(0 <= i0 && i0 < i1 && i1 <= A->m && 0 <= k0 && k0 < k1 && k1 <= K);
    float *C = call->c;
    const size_t ldc = call->ldc, lda = A->lda;
    const int kc = k1 - k0;
    for (int p = 0; p < npan; p++) {
        int nv = N - p * ZP_NR;
        __mmask16 m0 = nv >= 16 ? 0xffff : (__mmask16)((1u << nv) - 1);
        __mmask16 m1 = nv >= 32 ? 0xffff : nv <= 16 ? 0 : (__mmask16)((1u << (nv - 16)) - 1);
        const float *bp = (const float *)B->data + (size_t)p * K * ZP_NR + (size_t)k0 * ZP_NR;
        for (int i = i0; i < i1; i += MR) {
            int mr = i1 - i < MR ? i1 - i : MR;
            tile_any(mr, kc, A->f32 + (size_t)i * lda + k0, lda, bp, C + (size_t)i * ldc + (size_t)p * ZP_NR, ldc,
                     m0, m1, k0 > 0);
        }
    }
}
