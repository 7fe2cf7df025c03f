/* Layout helpers shared by packing and the kernels (not part of the public API).
 * Packed B, per panel of ZP_NR = 32 columns (panel p holds columns 32p..32p+31):
 *   F32            [k][32] floats
 *   U8, S8, S8N    [kp/4][32 cols][4 k] int8 (U8 stores b - 128)
 *   Q4, LUT4       [kp/8][32 cols][4 k] bytes; low nibble = k-group 2g, high = 2g+1
 *                  (Q4 nibble = w + 8, LUT4 nibble = codebook index)
 *   BIN            [kp words][32 cols] uint64, bit set = negative
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
    case ZP_KP_NIB8: return (size_t)kp / 2 * ZP_NR;
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

/* Column panels of a packed B. */
static inline int zp_npanels(const struct zp_packed_b *b) { return b->np / ZP_NR; }

#ifdef __cplusplus
}
#endif
#endif
