/* FP8 (E4M3 x E4M3) GEMM on AVX-512 BF16, decode-to-bf16 path: A was decoded to
 * bf16 once at packing (exact: E4M3 has 3 mantissa bits), k in pairs. Each pair
 * of weight k-rows is decoded in registers to float (kernels/fp8/fp8_decode-avx512.h)
 * and the two rows interleaved into bf16 pairs (the upper half of an exactly
 * representable float is its bf16: shift + word blend), then vdpbf16ps adds
 * a_k b_k + a_k+1 b_k+1 into a 12x32 f32 tile. The products are exact, but
 * vdpbf16ps rounds its pair sums its own way (and flushes denormals), so this
 * path is within the float dot-product error bound, not bit-exact. */
#include <assert.h>
#include <immintrin.h>
#include <string.h>

#include "kernels/fp8/fp8_decode-avx512.h"
#include "kernels/internal.h"
#include "kernels/variants.h"

#define MR 12

/* bf16 pairs (row k, row k+1) of 16 columns from their floats. */
static inline __m512bh pairs(__m512 lo, __m512 hi)
{
    __m512i l = _mm512_srli_epi32(_mm512_castps_si512(lo), 16);
    return (__m512bh)_mm512_mask_blend_epi16(0xaaaaaaaau, l, _mm512_castps_si512(hi));
}

static inline __attribute__((always_inline)) void tile(int mr, int kp, const uint16_t *restrict a, size_t lda,
                                                        const uint8_t *restrict b, const float *restrict sa,
                                                        const float *restrict sb, float *restrict c, size_t ldc,
                                                        __mmask16 m0, __mmask16 m1)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++)
        c0[r] = c1[r] = _mm512_setzero_ps();
    for (int k = 0; k < kp; k += 2) {
        __m512i h0 = zp_fp8_to_f16x32(b + (size_t)k * ZP_NR), h1 = zp_fp8_to_f16x32(b + (size_t)(k + 1) * ZP_NR);
        __m512bh w0 = pairs(_mm512_cvtph_ps(_mm512_castsi512_si256(h0)), _mm512_cvtph_ps(_mm512_castsi512_si256(h1)));
        __m512bh w1 = pairs(_mm512_cvtph_ps(_mm512_extracti64x4_epi64(h0, 1)),
                            _mm512_cvtph_ps(_mm512_extracti64x4_epi64(h1, 1)));
#pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            uint32_t v;
            memcpy(&v, a + (size_t)r * lda + k, 4);
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)v);
            c0[r] = _mm512_dpbf16_ps(c0[r], av, w0);
            c1[r] = _mm512_dpbf16_ps(c1[r], av, w1);
        }
    }
    const __m512 sb0 = _mm512_loadu_ps(sb), sb1 = _mm512_loadu_ps(sb + 16), k256 = _mm512_set1_ps(256.0f);
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++) {
        __m512 s = _mm512_set1_ps(sa[r]);
        _mm512_mask_storeu_ps(c + (size_t)r * ldc, m0, _mm512_mul_ps(c0[r], _mm512_mul_ps(_mm512_mul_ps(s, sb0), k256)));
        _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16, m1,
                              _mm512_mul_ps(c1[r], _mm512_mul_ps(_mm512_mul_ps(s, sb1), k256)));
    }
}

void zp_fp8_gemm_ukernel_12x32c2__avx512bf16(const struct zp_gemm_call *call, int i0, int i1, int k0, int k1)
{
    const struct zp_packed_a *A = call->a;
    const struct zp_packed_b *B = call->b;
    assert(0 <= i0 && i0 < i1 && i1 <= A->m && k0 == 0 && k1 == B->k && A->fmt == ZP_AF_BF16);
    assert(A->kp == B->kp && B->kp % 2 == 0);
    const int N = B->n, kp = B->kp, npan = zp_npanels(B);
    const size_t pb = zp_panel_bytes(B->fmt, kp), ldc = call->ldc, lda = (size_t)A->kp;
    float *C = call->c;
    for (int p = 0; p < npan; p++) {
        int nv = N - p * ZP_NR;
        __mmask16 m0 = nv >= 16 ? 0xffff : (__mmask16)((1u << nv) - 1);
        __mmask16 m1 = nv >= 32 ? 0xffff : nv <= 16 ? 0 : (__mmask16)((1u << (nv - 16)) - 1);
        const uint8_t *bp = (const uint8_t *)B->data + (size_t)p * pb;
        const float *sb = B->scale + (size_t)p * ZP_NR;
        for (int i = i0; i < i1; i += MR) {
            const uint16_t *a = (const uint16_t *)A->data + (size_t)i * lda;
            float *c = C + (size_t)i * ldc + (size_t)p * ZP_NR;
            switch (i1 - i < MR ? i1 - i : MR) {
#define CASE(n) case n: tile(n, kp, a, lda, bp, A->scale + i, sb, c, ldc, m0, m1); break;
            CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8) CASE(9) CASE(10) CASE(11)
#undef CASE
            default: tile(MR, kp, a, lda, bp, A->scale + i, sb, c, ldc, m0, m1); break;
            }
        }
    }
}
