/* The "no VNNI" int8 paths on AVX-512BW, both built on vpmaddubsw with the sign
 * trick: |a| (u8) times w negated where a < 0 (s8). Each int16 lane then holds an
 * exact pair sum a0 w0 + a1 w1 as long as no weight is -128 (|pair| <= 2*128*127 =
 * 32512; a -128 weight against a negative activation wraps to -128 on negation, and
 * -128 x -128 pairs reach 32768, which saturates).
 *   3op: vpmaddubsw + vpmaddwd(ones) + vpaddd per k-group of 4 (exact if no -128).
 *   i16: two k-groups' pairs summed in int16 with vpaddsw before one vpmaddwd +
 *        vpaddd: exact only while each 4-product int16 sum fits, guaranteed for
 *        narrow weights with |a| <= 64 (4*64*127 = 32512); larger data may saturate.
 * Register tile 4x32 (8 zmm accumulators). No corrections: the sign trick computes
 * sum a w directly. */
#include <assert.h>
#include <immintrin.h>
#include <string.h>

#include "kernels/internal.h"
#include "kernels/variants.h"

#define MR 4

static inline __m512i bcast4(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

/* int16 pair sums of one k-group for the 2 column halves. */
#define PAIRS(av, sm, w0, w1, t0, t1)                                                           \
    do {                                                                                        \
        t0 = _mm512_maddubs_epi16(av, _mm512_mask_sub_epi8(w0, sm, _mm512_setzero_si512(), w0)); \
        t1 = _mm512_maddubs_epi16(av, _mm512_mask_sub_epi8(w1, sm, _mm512_setzero_si512(), w1)); \
    } while (0)

static inline __attribute__((always_inline)) void tile(int i16, int mr, int kp, const uint8_t *restrict a,
                                                        const int8_t *restrict s, const uint8_t *restrict b, int32_t *restrict c,
                                                        size_t ldc, __mmask16 m0, __mmask16 m1)
{
    __m512i c0[MR], c1[MR];
    const __m512i ones = _mm512_set1_epi16(1);
#pragma GCC unroll 4
    for (int r = 0; r < mr; r++)
        c0[r] = c1[r] = _mm512_setzero_si512();
    for (int k = 0; k < kp; k += 8) {
        const uint8_t *bg = b + (size_t)k * ZP_NR;
        __m512i w00 = _mm512_load_si512(bg), w01 = _mm512_load_si512(bg + 64);
        __m512i w10 = _mm512_load_si512(bg + 128), w11 = _mm512_load_si512(bg + 192);
#pragma GCC unroll 4
        for (int r = 0; r < mr; r++) {
            __m512i a0 = bcast4(a + (size_t)r * kp + k), a1 = bcast4(a + (size_t)r * kp + k + 4);
            __mmask64 s0 = _mm512_movepi8_mask(bcast4(s + (size_t)r * kp + k));
            __mmask64 s1 = _mm512_movepi8_mask(bcast4(s + (size_t)r * kp + k + 4));
            __m512i t00, t01, t10, t11;
            PAIRS(a0, s0, w00, w01, t00, t01);
            PAIRS(a1, s1, w10, w11, t10, t11);
            if (i16) {
                c0[r] = _mm512_add_epi32(c0[r], _mm512_madd_epi16(_mm512_adds_epi16(t00, t10), ones));
                c1[r] = _mm512_add_epi32(c1[r], _mm512_madd_epi16(_mm512_adds_epi16(t01, t11), ones));
            } else {
                c0[r] = _mm512_add_epi32(c0[r], _mm512_madd_epi16(t00, ones));
                c1[r] = _mm512_add_epi32(c1[r], _mm512_madd_epi16(t01, ones));
                c0[r] = _mm512_add_epi32(c0[r], _mm512_madd_epi16(t10, ones));
                c1[r] = _mm512_add_epi32(c1[r], _mm512_madd_epi16(t11, ones));
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < mr; r++) {
        _mm512_mask_storeu_epi32(c + (size_t)r * ldc, m0, c0[r]);
        _mm512_mask_storeu_epi32(c + (size_t)r * ldc + 16, m1, c1[r]);
    }
}

static inline __attribute__((always_inline)) void block(int i16, const struct zp_gemm_call *call, int i0, int i1)
{
    const struct zp_packed_a *A = call->a;
    const struct zp_packed_b *B = call->b;
    const int N = B->n, kp = B->kp, npan = zp_npanels(B);
    const size_t pb = zp_panel_bytes(B->fmt, kp), ldc = call->ldc;
    int32_t *C = call->c;
    {
        for (int p = 0; p < npan; p++) {
            int nv = N - p * ZP_NR;
            __mmask16 m0 = nv >= 16 ? 0xffff : (__mmask16)((1u << nv) - 1);
            __mmask16 m1 = nv >= 32 ? 0xffff : nv <= 16 ? 0 : (__mmask16)((1u << (nv - 16)) - 1);
            const uint8_t *bp = (const uint8_t *)B->data + (size_t)p * pb;
            for (int i = i0; i < i1; i += MR) {
                int mr = i1 - i < MR ? i1 - i : MR;
                const uint8_t *a = (const uint8_t *)A->data + (size_t)i * kp;
                const int8_t *s = A->sign + (size_t)i * kp;
                int32_t *c = C + (size_t)i * ldc + (size_t)p * ZP_NR;
                switch (mr) {
                case 1: tile(i16, 1, kp, a, s, bp, c, ldc, m0, m1); break;
                case 2: tile(i16, 2, kp, a, s, bp, c, ldc, m0, m1); break;
                case 3: tile(i16, 3, kp, a, s, bp, c, ldc, m0, m1); break;
                default: tile(i16, MR, kp, a, s, bp, c, ldc, m0, m1); break;
                }
            }
        }
    }
}

/* The exported row-block functions (kernels/driver.c runs the loop over blocks):
 * one pass over all of K, kc = 0 in kernels/variants.inc. */
#define DEFINE_GEMM(fn, i16)                                                                        \
    void fn(const struct zp_gemm_call *call, int i0, int i1, int k0, int k1)                        \
    {                                                                                              \
        assert(0 <= i0 && i0 < i1 && i1 <= call->a->m && k0 == 0 && k1 == call->b->k);             \
        assert(call->a->kp == call->b->kp);                                                        \
        block(i16, call, i0, i1);                                                                   \
    }

DEFINE_GEMM(zp_s8_gemm_ukernel_4x32c4_3op__avx512bw, 0)
DEFINE_GEMM(zp_s8n_gemm_ukernel_4x32c8_i16__avx512bw, 1)
