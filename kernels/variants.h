/* Declarations of every kernel variant, generated from kernels/variants.inc (the
 * same list kernels/dispatch.c builds its tables from). Internal to kernels/. */
#ifndef ZP_KERNELS_VARIANTS_H
#define ZP_KERNELS_VARIANTS_H

#include "kernels/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__x86_64__)
#define ZP_X86_ONLY(...) __VA_ARGS__
#else
#define ZP_X86_ONLY(...)
#endif

#define ZP_GEMM(name, fn, fmt, isa, afmt, mr, nr, kr, mc, kc, path) zp_gemm_block_fn fn;
#define ZP_DW(name, fn, fmt, isa) void fn(const struct zp_dw_problem *p);
#define ZP_RT_DECL_ZP_RK_CONV(fn) zp_f32_conv_fn fn;
#define ZP_RT_DECL_ZP_RK_DWPLANE(fn) zp_f32_dwplane_fn fn;
#define ZP_RT_DECL_ZP_RK_COPY_S2(fn) zp_f32_copy_s2_fn fn;
#define ZP_RT_DECL_ZP_RK_FAKEQUANT(fn) zp_f32_fakequant_fn fn;
#define ZP_RT(name, fn, kind, isa) ZP_RT_DECL_##kind(fn)
#include "kernels/variants.inc"
#undef ZP_GEMM
#undef ZP_DW
#undef ZP_RT

/* One element of fakequant, exactly (the reference and the vector variants' redo of
 * a vector holding a quotient near a half step). */
float zp_f32_fakequant_one(const struct zp_f32_fakequant_call *c, float x);
/* Whether the vector variants may compute c in float (no offset, codes within
 * 2^16 of the zero point) and the tie window they then use: the float quotient's
 * error bound (quotients up to R = max |code - zero point| + 1, relative error
 * under 2^-22.9) doubled. */
int zp_fakequant_float_window(const struct zp_f32_fakequant_call *c, float *win);

#ifdef __cplusplus
}
#endif
#endif
