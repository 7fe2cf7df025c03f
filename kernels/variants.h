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
#include "kernels/variants.inc"
#undef ZP_GEMM
#undef ZP_DW

#ifdef __cplusplus
}
#endif
#endif
