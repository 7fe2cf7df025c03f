/* The variant tables and run-time selection. Dispatch, tests and the benchmark all
 * read these tables; per format the best variant comes first. ISA files are always
 * compiled (flags by file suffix, mk/isa.mk), so the tables are the same on every
 * x86-64 machine and a variant the CPU lacks is simply skipped. */
#include "kernels/kernels.h"
#include "kernels/scalar.h"

#include <stddef.h>

#if defined(__x86_64__)
#define X86(...) __VA_ARGS__
#else
#define X86(...)
#endif

static const struct zp_gemm_ukernel gemm_table[] = {
    X86({"zp_f32_gemm_ukernel_12x32__avx512", ZP_KF_F32, ZP_ISA_AVX512BW, ZP_AF_F32, 12, 32, 1, "fma", zp_f32_gemm_ukernel_12x32__avx512},
        {"zp_f32_gemm_ukernel_6x16__avx2", ZP_KF_F32, ZP_ISA_AVX2, ZP_AF_F32, 6, 16, 1, "fma", zp_f32_gemm_ukernel_6x16__avx2},)
    {"zp_f32_gemm_scalar", ZP_KF_F32, ZP_ISA_REF, ZP_AF_F32, 1, 32, 1, "scalar", zp_f32_gemm_scalar},

    X86({"zp_u8_gemm_ukernel_8x32c4__avx512vnni", ZP_KF_U8, ZP_ISA_AVX512VNNI, ZP_AF_U8, 8, 32, 4, "vnni", zp_u8_gemm_ukernel_8x32c4__avx512vnni},)
    {"zp_u8_gemm_scalar", ZP_KF_U8, ZP_ISA_REF, ZP_AF_U8, 1, 32, 4, "scalar", zp_int_gemm_scalar},

    X86({"zp_s8_gemm_ukernel_8x32c4__avx512vnni", ZP_KF_S8, ZP_ISA_AVX512VNNI, ZP_AF_S8SHIFT, 8, 32, 4, "vnni", zp_s8_gemm_ukernel_8x32c4__avx512vnni},
        {"zp_s8_gemm_ukernel_4x32c4_3op__avx512bw", ZP_KF_S8, ZP_ISA_AVX512BW, ZP_AF_S8SIGN, 4, 32, 4, "3op", zp_s8_gemm_ukernel_4x32c4_3op__avx512bw},
        {"zp_s8_gemm_ukernel_2x32c4_3op__avx2", ZP_KF_S8, ZP_ISA_AVX2, ZP_AF_S8SIGN, 2, 32, 4, "3op", zp_s8_gemm_ukernel_2x32c4_3op__avx2},)
    {"zp_s8_gemm_scalar", ZP_KF_S8, ZP_ISA_REF, ZP_AF_S8SHIFT, 1, 32, 4, "scalar", zp_int_gemm_scalar},

    X86({"zp_s8n_gemm_ukernel_8x32c4__avx512vnni", ZP_KF_S8N, ZP_ISA_AVX512VNNI, ZP_AF_S8SHIFT, 8, 32, 4, "vnni", zp_s8_gemm_ukernel_8x32c4__avx512vnni},
        {"zp_s8n_gemm_ukernel_4x32c8_i16__avx512bw", ZP_KF_S8N, ZP_ISA_AVX512BW, ZP_AF_S8SIGN, 4, 32, 8, "i16", zp_s8n_gemm_ukernel_4x32c8_i16__avx512bw},
        {"zp_s8n_gemm_ukernel_2x32c8_i16__avx2", ZP_KF_S8N, ZP_ISA_AVX2, ZP_AF_S8SIGN, 2, 32, 8, "i16", zp_s8n_gemm_ukernel_2x32c8_i16__avx2},)
    {"zp_s8n_gemm_scalar", ZP_KF_S8N, ZP_ISA_REF, ZP_AF_S8SHIFT, 1, 32, 4, "scalar", zp_int_gemm_scalar},

    X86({"zp_q4_gemm_ukernel_8x32c8__avx512vnni", ZP_KF_Q4, ZP_ISA_AVX512VNNI, ZP_AF_S8SHIFT, 8, 32, 8, "vnni", zp_q4_gemm_ukernel_8x32c8__avx512vnni},)
    {"zp_q4_gemm_scalar", ZP_KF_Q4, ZP_ISA_REF, ZP_AF_S8SHIFT, 1, 32, 8, "scalar", zp_int_gemm_scalar},

    X86({"zp_lut4_gemm_ukernel_8x32c8__avx512vnni", ZP_KF_LUT4, ZP_ISA_AVX512VNNI, ZP_AF_S8SHIFT, 8, 32, 8, "vnni", zp_lut4_gemm_ukernel_8x32c8__avx512vnni},)
    {"zp_lut4_gemm_scalar", ZP_KF_LUT4, ZP_ISA_REF, ZP_AF_S8SHIFT, 1, 32, 8, "scalar", zp_int_gemm_scalar},

    X86({"zp_bin_gemm_ukernel_6x32__avx512vpopcnt", ZP_KF_BIN, ZP_ISA_AVX512VPOPCNT, ZP_AF_BITS, 6, 32, 64, "popcnt", zp_bin_gemm_ukernel_6x32__avx512vpopcnt},)
    {"zp_bin_gemm_scalar", ZP_KF_BIN, ZP_ISA_REF, ZP_AF_BITS, 1, 32, 64, "scalar", zp_bin_gemm_scalar},
};

const struct zp_gemm_ukernel *zp_gemm_ukernels(size_t *count)
{
    *count = sizeof gemm_table / sizeof gemm_table[0];
    return gemm_table;
}

const struct zp_gemm_ukernel *zp_gemm_select(enum zp_kfmt fmt, int isa)
{
    size_t n;
    const struct zp_gemm_ukernel *t = zp_gemm_ukernels(&n);
    for (size_t i = 0; i < n; i++) {
        if (t[i].fmt != fmt || !zp_cpu_has(t[i].isa))
            continue;
        if (isa < 0 || (int)t[i].isa == isa)
            return &t[i];
    }
    return NULL;
}

static const struct zp_dw_ukernel dw_table[] = {
    X86({"zp_f32_dw3x3__avx512", ZP_KF_F32, ZP_ISA_AVX512BW, zp_f32_dw3x3__avx512},)
    {"zp_f32_dw3x3_scalar", ZP_KF_F32, ZP_ISA_REF, zp_dw3x3_scalar},
    X86({"zp_s8_dw3x3__avx512", ZP_KF_S8, ZP_ISA_AVX512BW, zp_s8_dw3x3__avx512},)
    {"zp_s8_dw3x3_scalar", ZP_KF_S8, ZP_ISA_REF, zp_dw3x3_scalar},
};

const struct zp_dw_ukernel *zp_dw_ukernels(size_t *count)
{
    *count = sizeof dw_table / sizeof dw_table[0];
    return dw_table;
}

const struct zp_dw_ukernel *zp_dw_select(enum zp_kfmt fmt, int isa)
{
    size_t n;
    const struct zp_dw_ukernel *t = zp_dw_ukernels(&n);
    for (size_t i = 0; i < n; i++) {
        if (t[i].fmt != fmt || !zp_cpu_has(t[i].isa))
            continue;
        if (isa < 0 || (int)t[i].isa == isa)
            return &t[i];
    }
    return NULL;
}
