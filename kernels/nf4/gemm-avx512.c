/* NF4 GEMM on AVX-512F: f32 activations times NormalFloat4 weights with a float
 * absmax per block of 64 k. Decode: the 16 NF4 levels sit in one zmm and
 * vpermps looks them up exactly (it reads the low 4 bits of each 32-bit index,
 * so the zero-extended byte indexes the low nibble as is and a shift by 4 the
 * high one), then one multiply by the block's absmax gives the weight, rounded
 * once as the reference rounds it. One FMA chain per output over all of K, in
 * k order as the reference, so the result is bit-exact. Register tile 12x32 (24
 * zmm accumulators). A first version kept an inner accumulator per block and
 * applied the absmax once per block (fewer multiplies, but two accumulator
 * sets, so a 6-row tile): it ran at 0.56x our f32 kernel on 196x512x512, this
 * one at the figures of docs/kernels.md. */
#include <assert.h>
#include <immintrin.h>

#include "kernels/internal.h"
#include "kernels/minifloat.h"
#include "kernels/variants.h"

#define MR 12
#define BS 64

static inline __attribute__((always_inline)) void tile(int mr, int nblk, const float *restrict a, size_t lda,
                                                        const uint8_t *restrict b, const float *restrict bsc,
                                                        size_t np, __m512 lv, float *restrict c, size_t ldc,
                                                        __mmask16 m0, __mmask16 m1)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++)
        c0[r] = c1[r] = _mm512_setzero_ps();
    for (int kb = 0; kb < nblk; kb++) {
        const __m512 sc0 = _mm512_loadu_ps(bsc + (size_t)kb * np), sc1 = _mm512_loadu_ps(bsc + (size_t)kb * np + 16);
        for (int k = kb * BS; k < (kb + 1) * BS; k += 2) {
            const uint8_t *bk = b + (size_t)k / 2 * ZP_NR;
            __m512i x0 = _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)bk));
            __m512i x1 = _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)(bk + 16)));
            /* the weight itself, level x absmax rounded once, as the reference */
            __m512 we0 = _mm512_mul_ps(_mm512_permutexvar_ps(x0, lv), sc0);
            __m512 we1 = _mm512_mul_ps(_mm512_permutexvar_ps(x1, lv), sc1);
#pragma GCC unroll 12
            for (int r = 0; r < mr; r++) {
                __m512 av = _mm512_set1_ps(a[(size_t)r * lda + k]);
                c0[r] = _mm512_fmadd_ps(av, we0, c0[r]);
                c1[r] = _mm512_fmadd_ps(av, we1, c1[r]);
            }
            __m512 wo0 = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(x0, 4), lv), sc0);
            __m512 wo1 = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(x1, 4), lv), sc1);
#pragma GCC unroll 12
            for (int r = 0; r < mr; r++) {
                __m512 av = _mm512_set1_ps(a[(size_t)r * lda + k + 1]);
                c0[r] = _mm512_fmadd_ps(av, wo0, c0[r]);
                c1[r] = _mm512_fmadd_ps(av, wo1, c1[r]);
            }
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++) {
        _mm512_mask_storeu_ps(c + (size_t)r * ldc, m0, c0[r]);
        _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16, m1, c1[r]);
    }
}

void zp_nf4_gemm_ukernel_12x32__avx512(const struct zp_gemm_call *call, int i0, int i1, int k0, int k1)
{
    const struct zp_packed_a *A = call->a;
    const struct zp_packed_b *B = call->b;
    assert(0 <= i0 && i0 < i1 && i1 <= A->m && k0 == 0 && k1 == B->k && B->k % BS == 0);
    const int N = B->n, npan = zp_npanels(B), nblk = B->k / BS;
    const size_t pb = zp_panel_bytes(B->fmt, B->kp), ldc = call->ldc, lda = A->lda, np = (size_t)B->np;
    float *C = call->c;
    const __m512 lv = _mm512_loadu_ps(zp_kd_nf4);
    for (int p = 0; p < npan; p++) {
        int nv = N - p * ZP_NR;
        __mmask16 m0 = nv >= 16 ? 0xffff : (__mmask16)((1u << nv) - 1);
        __mmask16 m1 = nv >= 32 ? 0xffff : nv <= 16 ? 0 : (__mmask16)((1u << (nv - 16)) - 1);
        const uint8_t *bp = (const uint8_t *)B->data + (size_t)p * pb;
        const float *bsc = B->scale + (size_t)p * ZP_NR;
        for (int i = i0; i < i1; i += MR) {
            const float *a = A->f32 + (size_t)i * lda;
            float *c = C + (size_t)i * ldc + (size_t)p * ZP_NR;
            switch (i1 - i < MR ? i1 - i : MR) {
#define CASE(n) case n: tile(n, nblk, a, lda, bp, bsc, np, lv, c, ldc, m0, m1); break;
            CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8) CASE(9) CASE(10) CASE(11)
#undef CASE
            default: tile(MR, nblk, a, lda, bp, bsc, np, lv, c, ldc, m0, m1); break;
            }
        }
    }
}
