/* The "no VNNI" int8 paths on AVX2 (see gemm-avx512.c for the arithmetic and the
 * exactness conditions): vpsignb applies the activation's sign to the weights,
 * vpmaddubsw forms exact int16 pair sums when no weight is -128; 3op widens each
 * group with vpmaddwd + vpaddd, i16 first adds two groups with vpaddsw.
 * Register tile 2x32 (8 ymm accumulators). */
#include <assert.h>
#include <immintrin.h>
#include <string.h>

#include "kernels/internal.h"
#include "kernels/variants.h"

#define MR 2

static inline __m256i bcast4(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

static inline __attribute__((always_inline)) void tile(int i16, int mr, int kp, const uint8_t *restrict a,
                                                        const int8_t *restrict s, const uint8_t *restrict b, int32_t *restrict c,
                                                        size_t ldc, int nv)
{
    __m256i acc[MR][4];
    const __m256i ones = _mm256_set1_epi16(1);
    #pragma GCC unroll 8
    for (int r = 0; r < mr; r++)
        #pragma GCC unroll 8
        for (int v = 0; v < 4; v++)
            acc[r][v] = _mm256_setzero_si256();
    for (int k = 0; k < kp; k += 8) {
        const uint8_t *bg = b + (size_t)k * ZP_NR;
#pragma GCC unroll 2
        for (int r = 0; r < mr; r++) {
            __m256i a0 = bcast4(a + (size_t)r * kp + k), a1 = bcast4(a + (size_t)r * kp + k + 4);
            __m256i s0 = bcast4(s + (size_t)r * kp + k), s1 = bcast4(s + (size_t)r * kp + k + 4);
#pragma GCC unroll 4
            for (int v = 0; v < 4; v++) {
                __m256i w0 = _mm256_load_si256((const __m256i *)(bg + 32 * v));
                __m256i w1 = _mm256_load_si256((const __m256i *)(bg + 128 + 32 * v));
                __m256i t0 = _mm256_maddubs_epi16(a0, _mm256_sign_epi8(w0, s0));
                __m256i t1 = _mm256_maddubs_epi16(a1, _mm256_sign_epi8(w1, s1));
                if (i16) {
                    acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(_mm256_adds_epi16(t0, t1), ones));
                } else {
                    acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(t0, ones));
                    acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(t1, ones));
                }
            }
        }
    }
    #pragma GCC unroll 8
    for (int r = 0; r < mr; r++) {
        int32_t t[ZP_NR];
        #pragma GCC unroll 8
        for (int v = 0; v < 4; v++)
            _mm256_storeu_si256((__m256i *)(t + 8 * v), acc[r][v]);
        memcpy(c + (size_t)r * ldc, t, (size_t)(nv < ZP_NR ? nv : ZP_NR) * sizeof(int32_t));
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
            const uint8_t *bp = (const uint8_t *)B->data + (size_t)p * pb;
            for (int i = i0; i < i1; i += MR) {
                const uint8_t *a = (const uint8_t *)A->data + (size_t)i * kp;
                const int8_t *s = A->sign + (size_t)i * kp;
                int32_t *c = C + (size_t)i * ldc + (size_t)p * ZP_NR;
                if (i1 - i >= 2)
                    tile(i16, 2, kp, a, s, bp, c, ldc, N - p * ZP_NR);
                else
                    tile(i16, 1, kp, a, s, bp, c, ldc, N - p * ZP_NR);
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

DEFINE_GEMM(zp_s8_gemm_ukernel_2x32c4_3op__avx2, 0)
DEFINE_GEMM(zp_s8n_gemm_ukernel_2x32c8_i16__avx2, 1)
