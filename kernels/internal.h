/* Layout helpers shared by packing and the kernels (not part of the public API).
 * Packed B, per panel of ZP_NR = 32 columns (panel p holds columns 32p..32p+31):
 *   F32            [k][32] floats
 *   U8, S8, S8N    [kp/4][32 cols][4 k] int8 (U8 stores b - 128)
 *   Q4, LUT4       [kp/8][32 cols][4 k] bytes; low nibble = k-group 2g, high = 2g+1
 *                  (Q4 nibble = w + 8, LUT4 nibble = codebook index)
 *   BIN            [kp words][32 cols] uint64, bit set = negative
 *   MXINT8         as S8; MXFP4, NVFP4 as Q4 with the E2M1 code in each nibble
 *   NF4            [kp/2][32 cols] bytes; low nibble = k even, high = k odd
 *   FP8            [kp][32 cols] E4M3 bytes
 * Padding (k >= K or column >= N) is zero, so it adds nothing to any sum. */
#ifndef ZP_KERNELS_INTERNAL_H
#define ZP_KERNELS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of one packed B panel. */
static inline size_t zp_panel_bytes(enum zp_kfmt f, int kp)
{
    switch (zp_kfmt_traits(f)->pack) {
    case ZP_KP_F32: return (size_t)kp * ZP_NR * sizeof(float);
    case ZP_KP_NIB8:
    case ZP_KP_NIB2: return (size_t)kp / 2 * ZP_NR;
    case ZP_KP_BITS: return (size_t)kp * ZP_NR * sizeof(uint64_t);
    default: return (size_t)kp * ZP_NR;
    }
}

/* The int32 output stage shared by the integer kernels that read shifted/raw A. */
static inline int32_t zp_out_i32(int32_t acc, const struct zp_packed_a *a, const struct zp_packed_b *b,
                                 int i, int j)
{
    return (int32_t)((uint32_t)acc + (uint32_t)b->col_corr[j] + (uint32_t)b->row_mult * (uint32_t)a->rowsum[i]);
}

/* Packing of the block-scaled and FP8 formats (kernels/pack_blocked.c): B
 * after zp_pack_b has set fmt, k, n, np; A after zp_pack_a has set fmt, m, k
 * (for the int8-activation formats it only adds the scales). */
enum zp_status zp_pack_b_blocked(const struct zp_gemm_problem *p, struct zp_packed_b *out, struct zp_err *err);
enum zp_status zp_pack_a_blocked(const struct zp_gemm_problem *p, enum zp_afmt fmt, struct zp_packed_a *out,
                                 struct zp_err *err);

/* zp_ref_gemm of the block-scaled and FP8 formats (kernels/ref_blocked.c). */
void zp_ref_gemm_blocked(const struct zp_gemm_problem *p, float *c);

/* y = W x of a conv call with n = 1 on weight panels (AVX2 + FMA: 8 outputs per
 * ymm, so the AVX-512 variant uses it too; kernels/f32/conv-avx2.c). */
void zp_f32_gemv_panels__avx2(const struct zp_f32_conv_call *c);
/* The same on plain rows with a contiguous x (ldx 1): one dot product per row. */
void zp_f32_gemv_rows__avx2(const struct zp_f32_conv_call *c);

/* Column panels of a packed B. */
static inline int zp_npanels(const struct zp_packed_b *b) { return b->np / ZP_NR; }

#ifdef __cplusplus
}
#endif
#endif
