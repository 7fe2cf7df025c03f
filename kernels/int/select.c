/* Which integer inference kernels run: the AVX-512 set when the CPU has AVX-512
 * F/BW (under the ISA limit), else the AVX2 set when it has AVX2, else the
 * references. The AVX-512 set takes channel sums and Add from the AVX2 one (a
 * small share of an integer pass); with VNNI (and above) the AVX-512 set with
 * the depthwise convolution's multiply-adds fused (int-avx512vnni.c). */
#include "kernels/int/int_variants.h"

static const struct zp_int_kernels ref_set = {"ref", zp_ref_int_requant, zp_ref_int_dw, zp_ref_int_chansum,
                                              zp_ref_int_add, zp_ref_int_quantize};
#if defined(__x86_64__)
static const struct zp_int_kernels avx2_set = {"avx2", zp_int_requant__avx2, zp_int_dw__avx2,
                                               zp_int_chansum__avx2, zp_int_add__avx2, zp_int_quantize__avx2};
static const struct zp_int_kernels avx512_set = {"avx512", zp_int_requant__avx512, zp_int_dw__avx512,
                                                 zp_int_chansum__avx2, zp_int_add__avx2, zp_int_quantize__avx512};
static const struct zp_int_kernels avx512vnni_set = {"avx512vnni", zp_int_requant__avx512, zp_int_dw__avx512vnni,
                                                     zp_int_chansum__avx2, zp_int_add__avx2, zp_int_quantize__avx512};
#endif

const struct zp_int_kernels *zp_int_kernels_select(int isa)
{
    if (isa == ZP_ISA_REF)
        return &ref_set;
#if defined(__x86_64__)
    if (isa == ZP_ISA_AVX2)
        return zp_cpu_has(ZP_ISA_AVX2) ? &avx2_set : NULL;
    if (isa == ZP_ISA_AVX512BW)
        return zp_cpu_has(ZP_ISA_AVX512BW) ? &avx512_set : NULL;
    if (isa == ZP_ISA_AVX512VNNI)
        return zp_cpu_has(ZP_ISA_AVX512VNNI) ? &avx512vnni_set : NULL;
    if (isa < 0 && zp_cpu_has(ZP_ISA_AVX512VNNI))
        return &avx512vnni_set;
    if (isa < 0 && zp_cpu_has(ZP_ISA_AVX512BW))
        return &avx512_set;
    if (isa < 0 && zp_cpu_has(ZP_ISA_AVX2))
        return &avx2_set;
#endif
    return isa < 0 ? &ref_set : NULL;
}
