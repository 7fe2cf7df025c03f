/* Integer GEMMs on AVX-512 VNNI: one 8x32 register tile (16 zmm int32 accumulators)
 * fed by vpdpbusd (u8 activations x s8 weights, 4 k per int32 lane). The weight
 * decode is the only difference between formats:
 *   s8 / u8  two 64-byte loads per k-group of 4 (u8 weights were stored as b - 128)
 *   q4       one pair of loads per 8 k, nibbles split with and/shift (w + 8 stored)
 *   lut4     as q4, then vpshufb into the 16-entry int8 codebook (one 128-bit lane
 *            holds the whole table, so the in-lane shuffle is a full lookup)
 * Zero-point / shift corrections come from packing (kernels/pack.c). */
#include <assert.h>
#include <immintrin.h>
#include <string.h>

#include "kernels/internal.h"
#include "kernels/variants.h"

#define MR 8

enum dec { DEC_S8, DEC_Q4, DEC_LUT4 };

static inline __m512i bcast4(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

/* The full 8x32 s8/u8 tile in inline asm, k loop and output stage. GCC's register
 * allocation of the intrinsic version copies every accumulator twice per k-group
 * (32 vmovdqa per 16 vpdpbusd); here rows r = 0..7 keep columns 0-15 in zmm r and
 * columns 16-31 in zmm r+8 throughout. Same arithmetic as the intrinsic path. */
#ifndef ZP_EMULATE_ISA
static void tile8_s8_asm(int kp, const uint8_t *a, const uint8_t *b, int32_t *c, size_t ldc, __mmask16 m0,
                         __mmask16 m1, const int32_t *colc, const int32_t *rowsum, int32_t row_mult)
{
    int32_t rt[MR];
    for (int r = 0; r < MR; r++)
        rt[r] = (int32_t)((uint32_t)row_mult * (uint32_t)rowsum[r]);
    const uint8_t *a0 = a, *a3 = a + 3 * (size_t)kp, *a6 = a + 6 * (size_t)kp;
    size_t lda = (size_t)kp, ldc4 = ldc * sizeof(int32_t);
    long n = kp / 8; /* >= 1: kp is a positive multiple of 8; two k-groups per trip */
    __asm__ volatile(
        "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
        "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
        "vpxord %%zmm2, %%zmm2, %%zmm2\n\t"
        "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"
        "vpxord %%zmm4, %%zmm4, %%zmm4\n\t"
        "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
        "vpxord %%zmm6, %%zmm6, %%zmm6\n\t"
        "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"
        "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
        "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
        "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
        "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
        "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
        "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
        "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
        "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
        "1:\n\t"
        "vmovdqa64 (%[b]), %%zmm30\n\t"
        "vmovdqa64 64(%[b]), %%zmm31\n\t"
        "vpbroadcastd (%[a0]), %%zmm29\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm0\n\t"
        "vpdpbusd %%zmm31, %%zmm29, %%zmm8\n\t"
        "vpbroadcastd (%[a0],%[lda]), %%zmm29\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm1\n\t"
        "vpdpbusd %%zmm31, %%zmm29, %%zmm9\n\t"
        "vpbroadcastd (%[a0],%[lda],2), %%zmm29\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm2\n\t"
        "vpdpbusd %%zmm31, %%zmm29, %%zmm10\n\t"
        "vpbroadcastd (%[a3]), %%zmm29\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm3\n\t"
        "vpdpbusd %%zmm31, %%zmm29, %%zmm11\n\t"
        "vpbroadcastd (%[a3],%[lda]), %%zmm29\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm4\n\t"
        "vpdpbusd %%zmm31, %%zmm29, %%zmm12\n\t"
        "vpbroadcastd (%[a3],%[lda],2), %%zmm29\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm5\n\t"
        "vpdpbusd %%zmm31, %%zmm29, %%zmm13\n\t"
        "vpbroadcastd (%[a6]), %%zmm29\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm6\n\t"
        "vpdpbusd %%zmm31, %%zmm29, %%zmm14\n\t"
        "vpbroadcastd (%[a6],%[lda]), %%zmm29\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm7\n\t"
        "vpdpbusd %%zmm31, %%zmm29, %%zmm15\n\t"
        "vmovdqa64 128(%[b]), %%zmm30\n\t"
        "vmovdqa64 192(%[b]), %%zmm31\n\t"
        "vpbroadcastd 4(%[a0]), %%zmm29\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm0\n\t"
        "vpdpbusd %%zmm31, %%zmm29, %%zmm8\n\t"
        "vpbroadcastd 4(%[a0],%[lda]), %%zmm29\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm1\n\t"
        "vpdpbusd %%zmm31, %%zmm29, %%zmm9\n\t"
        "vpbroadcastd 4(%[a0],%[lda],2), %%zmm29\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm2\n\t"
        "vpdpbusd %%zmm31, %%zmm29, %%zmm10\n\t"
        "vpbroadcastd 4(%[a3]), %%zmm29\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm3\n\t"
        "vpdpbusd %%zmm31, %%zmm29, %%zmm11\n\t"
        "vpbroadcastd 4(%[a3],%[lda]), %%zmm29\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm4\n\t"
        "vpdpbusd %%zmm31, %%zmm29, %%zmm12\n\t"
        "vpbroadcastd 4(%[a3],%[lda],2), %%zmm29\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm5\n\t"
        "vpdpbusd %%zmm31, %%zmm29, %%zmm13\n\t"
        "vpbroadcastd 4(%[a6]), %%zmm29\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm6\n\t"
        "vpdpbusd %%zmm31, %%zmm29, %%zmm14\n\t"
        "vpbroadcastd 4(%[a6],%[lda]), %%zmm29\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm7\n\t"
        "vpdpbusd %%zmm31, %%zmm29, %%zmm15\n\t"
        "add $8, %[a0]\n\t"
        "add $8, %[a3]\n\t"
        "add $8, %[a6]\n\t"
        "add $256, %[b]\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        "vmovdqu32 (%[colc]), %%zmm30%{%[m0]%}%{z%}\n\t"
        "vmovdqu32 64(%[colc]), %%zmm31%{%[m1]%}%{z%}\n\t"
        "vpbroadcastd 0(%[rt]), %%zmm29\n\t"
        "vpaddd %%zmm29, %%zmm30, %%zmm28\n\t"
        "vpaddd %%zmm28, %%zmm0, %%zmm0\n\t"
        "vmovdqu32 %%zmm0, (%[c])%{%[m0]%}\n\t"
        "vpaddd %%zmm29, %%zmm31, %%zmm28\n\t"
        "vpaddd %%zmm28, %%zmm8, %%zmm8\n\t"
        "vmovdqu32 %%zmm8, 64(%[c])%{%[m1]%}\n\t"
        "add %[ldc4], %[c]\n\t"
        "vpbroadcastd 4(%[rt]), %%zmm29\n\t"
        "vpaddd %%zmm29, %%zmm30, %%zmm28\n\t"
        "vpaddd %%zmm28, %%zmm1, %%zmm1\n\t"
        "vmovdqu32 %%zmm1, (%[c])%{%[m0]%}\n\t"
        "vpaddd %%zmm29, %%zmm31, %%zmm28\n\t"
        "vpaddd %%zmm28, %%zmm9, %%zmm9\n\t"
        "vmovdqu32 %%zmm9, 64(%[c])%{%[m1]%}\n\t"
        "add %[ldc4], %[c]\n\t"
        "vpbroadcastd 8(%[rt]), %%zmm29\n\t"
        "vpaddd %%zmm29, %%zmm30, %%zmm28\n\t"
        "vpaddd %%zmm28, %%zmm2, %%zmm2\n\t"
        "vmovdqu32 %%zmm2, (%[c])%{%[m0]%}\n\t"
        "vpaddd %%zmm29, %%zmm31, %%zmm28\n\t"
        "vpaddd %%zmm28, %%zmm10, %%zmm10\n\t"
        "vmovdqu32 %%zmm10, 64(%[c])%{%[m1]%}\n\t"
        "add %[ldc4], %[c]\n\t"
        "vpbroadcastd 12(%[rt]), %%zmm29\n\t"
        "vpaddd %%zmm29, %%zmm30, %%zmm28\n\t"
        "vpaddd %%zmm28, %%zmm3, %%zmm3\n\t"
        "vmovdqu32 %%zmm3, (%[c])%{%[m0]%}\n\t"
        "vpaddd %%zmm29, %%zmm31, %%zmm28\n\t"
        "vpaddd %%zmm28, %%zmm11, %%zmm11\n\t"
        "vmovdqu32 %%zmm11, 64(%[c])%{%[m1]%}\n\t"
        "add %[ldc4], %[c]\n\t"
        "vpbroadcastd 16(%[rt]), %%zmm29\n\t"
        "vpaddd %%zmm29, %%zmm30, %%zmm28\n\t"
        "vpaddd %%zmm28, %%zmm4, %%zmm4\n\t"
        "vmovdqu32 %%zmm4, (%[c])%{%[m0]%}\n\t"
        "vpaddd %%zmm29, %%zmm31, %%zmm28\n\t"
        "vpaddd %%zmm28, %%zmm12, %%zmm12\n\t"
        "vmovdqu32 %%zmm12, 64(%[c])%{%[m1]%}\n\t"
        "add %[ldc4], %[c]\n\t"
        "vpbroadcastd 20(%[rt]), %%zmm29\n\t"
        "vpaddd %%zmm29, %%zmm30, %%zmm28\n\t"
        "vpaddd %%zmm28, %%zmm5, %%zmm5\n\t"
        "vmovdqu32 %%zmm5, (%[c])%{%[m0]%}\n\t"
        "vpaddd %%zmm29, %%zmm31, %%zmm28\n\t"
        "vpaddd %%zmm28, %%zmm13, %%zmm13\n\t"
        "vmovdqu32 %%zmm13, 64(%[c])%{%[m1]%}\n\t"
        "add %[ldc4], %[c]\n\t"
        "vpbroadcastd 24(%[rt]), %%zmm29\n\t"
        "vpaddd %%zmm29, %%zmm30, %%zmm28\n\t"
        "vpaddd %%zmm28, %%zmm6, %%zmm6\n\t"
        "vmovdqu32 %%zmm6, (%[c])%{%[m0]%}\n\t"
        "vpaddd %%zmm29, %%zmm31, %%zmm28\n\t"
        "vpaddd %%zmm28, %%zmm14, %%zmm14\n\t"
        "vmovdqu32 %%zmm14, 64(%[c])%{%[m1]%}\n\t"
        "add %[ldc4], %[c]\n\t"
        "vpbroadcastd 28(%[rt]), %%zmm29\n\t"
        "vpaddd %%zmm29, %%zmm30, %%zmm28\n\t"
        "vpaddd %%zmm28, %%zmm7, %%zmm7\n\t"
        "vmovdqu32 %%zmm7, (%[c])%{%[m0]%}\n\t"
        "vpaddd %%zmm29, %%zmm31, %%zmm28\n\t"
        "vpaddd %%zmm28, %%zmm15, %%zmm15\n\t"
        "vmovdqu32 %%zmm15, 64(%[c])%{%[m1]%}\n\t"
        : [a0] "+r"(a0), [a3] "+r"(a3), [a6] "+r"(a6), [b] "+r"(b), [n] "+r"(n), [c] "+r"(c)
        : [lda] "r"(lda), [ldc4] "r"(ldc4), [colc] "r"(colc), [rt] "r"(rt), [m0] "Yk"(m0), [m1] "Yk"(m1)
        : "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9", "zmm10", "zmm11", "zmm12", "zmm13", "zmm14", "zmm15", "zmm28", "zmm29", "zmm30", "zmm31", "cc", "memory");
}
#endif

static inline __attribute__((always_inline)) void tile(enum dec dec, int mr, int kp, const uint8_t *restrict a,
                                                        const uint8_t *restrict b, __m512i cb, int32_t *restrict c, size_t ldc,
                                                        __mmask16 m0, __mmask16 m1, const int32_t *restrict colc,
                                                        const int32_t *restrict rowsum, int32_t row_mult)
{
    __m512i c0[MR], c1[MR];
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++)
        c0[r] = c1[r] = _mm512_setzero_si512();
    const __m512i lo4 = _mm512_set1_epi8(0x0f);
#ifndef ZP_EMULATE_ISA /* asm cannot run emulated: that build tests the intrinsic path below */
    if (dec == DEC_S8 && mr == MR) {
        tile8_s8_asm(kp, a, b, c, ldc, m0, m1, colc, rowsum, row_mult);
        return;
    }
#endif
    if (dec == DEC_S8) {
        /* one k-group per iteration: a single phase keeps GCC from renaming the
         * accumulators between two halves of the loop body (register copies) */
        for (int k = 0; k < kp; k += 4) {
            const uint8_t *bg = b + (size_t)k * ZP_NR;
            __m512i w0 = _mm512_load_si512(bg), w1 = _mm512_load_si512(bg + 64);
#pragma GCC unroll 8
            for (int r = 0; r < mr; r++) {
                __m512i av = bcast4(a + (size_t)r * kp + k);
                c0[r] = _mm512_dpbusd_epi32(c0[r], av, w0);
                c1[r] = _mm512_dpbusd_epi32(c1[r], av, w1);
            }
        }
    } else {
    for (int k = 0; k < kp; k += 8) {
            __m512i w00, w01, w10, w11; /* k-group 0 and 1 of these 8 k, columns 0-15 / 16-31 */
            if (dec == DEC_S8) {
                const uint8_t *bg = b + (size_t)k * ZP_NR;
                w00 = _mm512_load_si512(bg);
                w01 = _mm512_load_si512(bg + 64);
                w10 = _mm512_load_si512(bg + 128);
                w11 = _mm512_load_si512(bg + 192);
            } else {
                const uint8_t *bg = b + (size_t)k / 2 * ZP_NR;
                __m512i v0 = _mm512_load_si512(bg), v1 = _mm512_load_si512(bg + 64);
                w00 = _mm512_and_si512(v0, lo4);
                w01 = _mm512_and_si512(v1, lo4);
                w10 = _mm512_and_si512(_mm512_srli_epi16(v0, 4), lo4);
                w11 = _mm512_and_si512(_mm512_srli_epi16(v1, 4), lo4);
                if (dec == DEC_LUT4) {
                    w00 = _mm512_shuffle_epi8(cb, w00);
                    w01 = _mm512_shuffle_epi8(cb, w01);
                    w10 = _mm512_shuffle_epi8(cb, w10);
                    w11 = _mm512_shuffle_epi8(cb, w11);
                }
            }
    #pragma GCC unroll 8
            for (int r = 0; r < mr; r++) {
                __m512i av = bcast4(a + (size_t)r * kp + k);
                c0[r] = _mm512_dpbusd_epi32(c0[r], av, w00);
                c1[r] = _mm512_dpbusd_epi32(c1[r], av, w01);
            }
    #pragma GCC unroll 8
            for (int r = 0; r < mr; r++) {
                __m512i av = bcast4(a + (size_t)r * kp + k + 4);
                c0[r] = _mm512_dpbusd_epi32(c0[r], av, w10);
                c1[r] = _mm512_dpbusd_epi32(c1[r], av, w11);
            }
        }
    }
    __m512i cc0 = _mm512_maskz_loadu_epi32(m0, colc), cc1 = _mm512_maskz_loadu_epi32(m1, colc + 16);
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++) {
        __m512i rc = _mm512_set1_epi32((int32_t)((uint32_t)row_mult * (uint32_t)rowsum[r]));
        _mm512_mask_storeu_epi32(c + (size_t)r * ldc, m0, _mm512_add_epi32(c0[r], _mm512_add_epi32(cc0, rc)));
        _mm512_mask_storeu_epi32(c + (size_t)r * ldc + 16, m1, _mm512_add_epi32(c1[r], _mm512_add_epi32(cc1, rc)));
    }
}

/* Rows [i0, i0 + MC) against every column panel. Always inlined with a constant
 * decode, so each exported kernel below is its own specialised loop nest (an
 * OpenMP region inside a shared template would be outlined once, with the decode
 * as a run-time variable). */
static inline __attribute__((always_inline)) void block(enum dec dec, const struct zp_gemm_call *call, int i0, int i1)
{
    const struct zp_packed_a *A = call->a;
    const struct zp_packed_b *B = call->b;
    const int N = B->n, kp = B->kp, npan = zp_npanels(B);
    const size_t pb = zp_panel_bytes(B->fmt, kp), ldc = call->ldc;
    int32_t *C = call->c;
    __m512i cb = _mm512_setzero_si512();
    if (dec == DEC_LUT4)
        cb = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)B->codebook));
    for (int p = 0; p < npan; p++) {
        int nv = N - p * ZP_NR;
        __mmask16 m0 = nv >= 16 ? 0xffff : (__mmask16)((1u << nv) - 1);
        __mmask16 m1 = nv >= 32 ? 0xffff : nv <= 16 ? 0 : (__mmask16)((1u << (nv - 16)) - 1);
        const uint8_t *bp = (const uint8_t *)B->data + (size_t)p * pb;
        const int32_t *colc = B->col_corr + (size_t)p * ZP_NR;
        for (int i = i0; i < i1; i += MR) {
            int mr = i1 - i < MR ? i1 - i : MR;
            const uint8_t *a = (const uint8_t *)A->data + (size_t)i * kp;
            int32_t *c = C + (size_t)i * ldc + (size_t)p * ZP_NR;
            if (mr == MR) {
                tile(dec, MR, kp, a, bp, cb, c, ldc, m0, m1, colc, A->rowsum + i, B->row_mult);
                continue;
            }
            switch (mr) {
#define CASE(n) case n: tile(dec, n, kp, a, bp, cb, c, ldc, m0, m1, colc, A->rowsum + i, B->row_mult); break;
            CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7)
#undef CASE
            default: break;
            }
        }
    }
}

/* The exported row-block functions (kernels/driver.c runs the loop over blocks):
 * one pass over all of K, kc = 0 in kernels/variants.inc. */
#define DEFINE_GEMM(fn, dec)                                                                        \
    void fn(const struct zp_gemm_call *call, int i0, int i1, int k0, int k1)                        \
    {                                                                                              \
        assert(0 <= i0 && i0 < i1 && i1 <= call->a->m && k0 == 0 && k1 == call->b->k);             \
        assert(call->a->kp == call->b->kp);                                                        \
        block(dec, call, i0, i1);                                                                   \
    }

DEFINE_GEMM(zp_s8_gemm_ukernel_8x32c4__avx512vnni, DEC_S8)
DEFINE_GEMM(zp_u8_gemm_ukernel_8x32c4__avx512vnni, DEC_S8)
DEFINE_GEMM(zp_q4_gemm_ukernel_8x32c8__avx512vnni, DEC_Q4)
DEFINE_GEMM(zp_lut4_gemm_ukernel_8x32c8__avx512vnni, DEC_LUT4)
