/* Block-scaled GEMMs with int8 activations on AVX-512 VNNI: MXINT8 (int8 weights,
 * E8M0 scale per 32 k), MXFP4 (E2M1 nibbles, E8M0 per 32) and NVFP4 (E2M1
 * nibbles, E4M3 x FP32 per 16). A holds a + 128 (u8) and a float scale per block.
 *   decode   MXINT8: two 64-byte loads per k-group of 4; MXFP4 / NVFP4: one pair
 *            of loads per 8 k, nibbles split with and/shift, then vpshufb into
 *            the 16-entry table 2 x E2M1 (exact in int8; the packed scales are
 *            halved to match), one 128-bit lane holding the whole table;
 *   per block  vpdpbusd into int32 (exact), + the block's -128 x column sum,
 *            vcvtdq2ps (exact: |d| < 2^24), then one FMA with the product of
 *            the two scales into the float accumulator (the reference's order).
 * Register tile 6x32: 12 int32 + 12 float accumulators (measured a few percent
 * faster than 4x32 for the nibble formats, level for MXINT8). */
#include <assert.h>
#include <immintrin.h>
#include <string.h>

#include "kernels/internal.h"
#include "kernels/minifloat.h"
#include "kernels/variants.h"

#define MR 6

static inline __m512i bcast4(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

static inline __attribute__((always_inline)) void tile(int nib, int bs, int mr, int nblk, const uint8_t *restrict a,
                                                        size_t lda, const float *restrict asc,
                                                        const uint8_t *restrict b, const float *restrict bsc,
                                                        const int32_t *restrict corr, size_t np, __m512i lut,
                                                        float *restrict c, size_t ldc, __mmask16 m0, __mmask16 m1)
{
    __m512 f0[MR], f1[MR];
    const __m512i lo4 = _mm512_set1_epi8(0x0f);
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++)
        f0[r] = f1[r] = _mm512_setzero_ps();
    for (int kb = 0; kb < nblk; kb++) {
        __m512i i0[MR], i1[MR];
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++)
            i0[r] = i1[r] = _mm512_setzero_si512();
        const int kbeg = kb * bs;
        if (nib) {
#pragma GCC unroll 6
            for (int k = kbeg; k < kbeg + bs; k += 8) {
                const uint8_t *bg = b + (size_t)k / 2 * ZP_NR;
                __m512i v0 = _mm512_load_si512(bg), v1 = _mm512_load_si512(bg + 64);
                __m512i w00 = _mm512_shuffle_epi8(lut, _mm512_and_si512(v0, lo4));
                __m512i w01 = _mm512_shuffle_epi8(lut, _mm512_and_si512(v1, lo4));
                __m512i w10 = _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(v0, 4), lo4));
                __m512i w11 = _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(v1, 4), lo4));
#pragma GCC unroll 6
                for (int r = 0; r < mr; r++) {
                    __m512i av = bcast4(a + (size_t)r * lda + k);
                    i0[r] = _mm512_dpbusd_epi32(i0[r], av, w00);
                    i1[r] = _mm512_dpbusd_epi32(i1[r], av, w01);
                }
#pragma GCC unroll 6
                for (int r = 0; r < mr; r++) {
                    __m512i av = bcast4(a + (size_t)r * lda + k + 4);
                    i0[r] = _mm512_dpbusd_epi32(i0[r], av, w10);
                    i1[r] = _mm512_dpbusd_epi32(i1[r], av, w11);
                }
            }
        } else {
#pragma GCC unroll 8
            for (int k = kbeg; k < kbeg + bs; k += 4) {
                const uint8_t *bg = b + (size_t)k * ZP_NR;
                __m512i w0 = _mm512_load_si512(bg), w1 = _mm512_load_si512(bg + 64);
#pragma GCC unroll 6
                for (int r = 0; r < mr; r++) {
                    __m512i av = bcast4(a + (size_t)r * lda + k);
                    i0[r] = _mm512_dpbusd_epi32(i0[r], av, w0);
                    i1[r] = _mm512_dpbusd_epi32(i1[r], av, w1);
                }
            }
        }
        /* the block's output stage: scales and corrections of all 32 columns
         * (np entries per block, so the unmasked loads stay in bounds) */
        const __m512i c0 = _mm512_loadu_si512(corr + (size_t)kb * np), c1 = _mm512_loadu_si512(corr + (size_t)kb * np + 16);
        const __m512 s0 = _mm512_loadu_ps(bsc + (size_t)kb * np), s1 = _mm512_loadu_ps(bsc + (size_t)kb * np + 16);
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++) {
            __m512 sa = _mm512_set1_ps(asc[(size_t)r * nblk + kb]);
            f0[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(i0[r], c0)), _mm512_mul_ps(sa, s0), f0[r]);
            f1[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(i1[r], c1)), _mm512_mul_ps(sa, s1), f1[r]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) {
        _mm512_mask_storeu_ps(c + (size_t)r * ldc, m0, f0[r]);
        _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16, m1, f1[r]);
    }
}

static inline __attribute__((always_inline)) void block(int nib, int bs, const struct zp_gemm_call *call, int i0,
                                                         int i1)
{
    const struct zp_packed_a *A = call->a;
    const struct zp_packed_b *B = call->b;
    const int N = B->n, kp = B->kp, npan = zp_npanels(B), nblk = B->k / bs;
    const size_t pb = zp_panel_bytes(B->fmt, kp), ldc = call->ldc, np = (size_t)B->np;
    float *C = call->c;
    const __m512i lut = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)zp_kd_e2m1_x2));
    for (int p = 0; p < npan; p++) {
        int nv = N - p * ZP_NR;
        __mmask16 m0 = nv >= 16 ? 0xffff : (__mmask16)((1u << nv) - 1);
        __mmask16 m1 = nv >= 32 ? 0xffff : nv <= 16 ? 0 : (__mmask16)((1u << (nv - 16)) - 1);
        const uint8_t *bp = (const uint8_t *)B->data + (size_t)p * pb;
        const float *bsc = B->scale + (size_t)p * ZP_NR;
        const int32_t *corr = B->blk_corr + (size_t)p * ZP_NR;
        for (int i = i0; i < i1; i += MR) {
            const uint8_t *a = (const uint8_t *)A->data + (size_t)i * kp;
            const float *asc = A->scale + (size_t)i * nblk;
            float *c = C + (size_t)i * ldc + (size_t)p * ZP_NR;
            switch (i1 - i < MR ? i1 - i : MR) {
#define CASE(n) case n: tile(nib, bs, n, nblk, a, kp, asc, bp, bsc, corr, np, lut, c, ldc, m0, m1); break;
            CASE(1) CASE(2) CASE(3) CASE(4) CASE(5)
#undef CASE
            default: tile(nib, bs, MR, nblk, a, kp, asc, bp, bsc, corr, np, lut, c, ldc, m0, m1); break;
            }
        }
    }
}

#define DEFINE_GEMM(fn, nib, bs)                                                                   \
    void fn(const struct zp_gemm_call *call, int i0, int i1, int k0, int k1)                        \
    {                                                                                              \
        assert(0 <= i0 && i0 < i1 && i1 <= call->a->m && k0 == 0 && k1 == call->b->k);             \
        assert(call->a->kp == call->b->kp && call->b->k % (bs) == 0);                              \
        block(nib, bs, call, i0, i1);                                                              \
    }

DEFINE_GEMM(zp_mxint8_gemm_ukernel_6x32c4__avx512vnni, 0, 32)
DEFINE_GEMM(zp_mxfp4_gemm_ukernel_6x32c8__avx512vnni, 1, 32)
DEFINE_GEMM(zp_nvfp4_gemm_ukernel_6x32c8__avx512vnni, 1, 16)
