/* FP8 (E4M3 x E4M3) GEMM on AVX-512, decode-to-f32 path: A was decoded to float
 * once at packing; each k-row of 32 weight bytes is decoded in registers
 * (kernels/fp8/fp8_decode-avx512.h: and, add, shift, two vcvtph2ps) and fed to a 12x32
 * FMA tile (24 zmm accumulators) over all of K. Every output sees the FMAs in
 * k order, as the reference does; the /256 of the decode is undone exactly in
 * the output scale, so the result is bit-exact. docs/kernels.md compares it with
 * the bf16 dot-product path (gemm-avx512bf16.c). */
#include <assert.h>
#include <immintrin.h>

#include "kernels/fp8/fp8_decode-avx512.h"
#include "kernels/internal.h"
#include "kernels/variants.h"

#define MR 12

static inline __attribute__((always_inline)) void tile(int mr, int K, const float *restrict a, size_t lda,
                                                        const uint8_t *restrict b, const float *restrict sa,
                                                        const float *restrict sb, float *restrict c, size_t ldc,
                                                        __mmask16 m0, __mmask16 m1)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++)
        c0[r] = c1[r] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m512i h = zp_fp8_to_f16x32(b + (size_t)k * ZP_NR);
        __m512 b0 = _mm512_cvtph_ps(_mm512_castsi512_si256(h));
        __m512 b1 = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(h, 1));
#pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            __m512 av = _mm512_set1_ps(a[(size_t)r * lda + k]);
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
        }
    }
    const __m512 sb0 = _mm512_loadu_ps(sb), sb1 = _mm512_loadu_ps(sb + 16), k256 = _mm512_set1_ps(256.0f);
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++) {
        /* c = acc * (sa * sb): round(sa * sb) first, as the reference; x 256 is exact */
        __m512 s = _mm512_set1_ps(sa[r]);
        _mm512_mask_storeu_ps(c + (size_t)r * ldc, m0, _mm512_mul_ps(c0[r], _mm512_mul_ps(_mm512_mul_ps(s, sb0), k256)));
        _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16, m1,
                              _mm512_mul_ps(c1[r], _mm512_mul_ps(_mm512_mul_ps(s, sb1), k256)));
    }
}

void zp_fp8_gemm_ukernel_12x32__avx512(const struct zp_gemm_call *call, int i0, int i1, int k0, int k1)
{
    const struct zp_packed_a *A = call->a;
    const struct zp_packed_b *B = call->b;
    assert(0 <= i0 && i0 < i1 && i1 <= A->m && k0 == 0 && k1 == B->k && A->fmt == ZP_AF_F32DEC);
    const int N = B->n, K = B->k, npan = zp_npanels(B);
    const size_t pb = zp_panel_bytes(B->fmt, B->kp), ldc = call->ldc, lda = (size_t)A->kp;
    float *C = call->c;
    for (int p = 0; p < npan; p++) {
        int nv = N - p * ZP_NR;
        __mmask16 m0 = nv >= 16 ? 0xffff : (__mmask16)((1u << nv) - 1);
        __mmask16 m1 = nv >= 32 ? 0xffff : nv <= 16 ? 0 : (__mmask16)((1u << (nv - 16)) - 1);
        const uint8_t *bp = (const uint8_t *)B->data + (size_t)p * pb;
        const float *sb = B->scale + (size_t)p * ZP_NR;
        for (int i = i0; i < i1; i += MR) {
            const float *a = (const float *)A->data + (size_t)i * lda;
            float *c = C + (size_t)i * ldc + (size_t)p * ZP_NR;
            switch (i1 - i < MR ? i1 - i : MR) {
#define CASE(n) case n: tile(n, K, a, lda, bp, A->scale + i, sb, c, ldc, m0, m1); break;
            CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8) CASE(9) CASE(10) CASE(11)
#undef CASE
            default: tile(MR, K, a, lda, bp, A->scale + i, sb, c, ldc, m0, m1); break;
            }
        }
    }
}
