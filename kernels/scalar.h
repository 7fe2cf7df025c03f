/* Declarations of every kernel variant (one function per file/ISA), read by
 * kernels/dispatch.c and the tests. Internal to kernels/. */
#ifndef ZP_KERNELS_SCALAR_H
#define ZP_KERNELS_SCALAR_H

#include "kernels/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

void zp_f32_gemm_scalar(const struct zp_gemm_call *call);
void zp_int_gemm_scalar(const struct zp_gemm_call *call);
void zp_bin_gemm_scalar(const struct zp_gemm_call *call);
void zp_dw3x3_scalar(const struct zp_dw_problem *p);

void zp_f32_gemm_ukernel_12x32__avx512(const struct zp_gemm_call *call);
void zp_f32_gemm_ukernel_6x16__avx2(const struct zp_gemm_call *call);
void zp_s8_gemm_ukernel_8x32c4__avx512vnni(const struct zp_gemm_call *call);
void zp_u8_gemm_ukernel_8x32c4__avx512vnni(const struct zp_gemm_call *call);
void zp_q4_gemm_ukernel_8x32c8__avx512vnni(const struct zp_gemm_call *call);
void zp_lut4_gemm_ukernel_8x32c8__avx512vnni(const struct zp_gemm_call *call);
void zp_s8_gemm_ukernel_4x32c4_3op__avx512bw(const struct zp_gemm_call *call);
void zp_s8n_gemm_ukernel_4x32c8_i16__avx512bw(const struct zp_gemm_call *call);
void zp_s8_gemm_ukernel_2x32c4_3op__avx2(const struct zp_gemm_call *call);
void zp_s8n_gemm_ukernel_2x32c8_i16__avx2(const struct zp_gemm_call *call);
void zp_bin_gemm_ukernel_6x32__avx512vpopcnt(const struct zp_gemm_call *call);
void zp_f32_dw3x3__avx512(const struct zp_dw_problem *p);
void zp_s8_dw3x3__avx512(const struct zp_dw_problem *p);

#ifdef __cplusplus
}
#endif
#endif
