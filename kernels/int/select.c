/* Which integer inference kernels run: the AVX2 set when the CPU has AVX2 (under
 * the ISA limit), else the references. Higher ISA levels use the AVX2 set too
 * (these kernels are a small share of an integer pass; the GEMMs are zp_gemm_*). */
#include "kernels/int/int_variants.h"

static const struct zp_int_kernels ref_set = {"ref", zp_ref_int_requant, zp_ref_int_dw, zp_ref_int_chansum,
                                              zp_ref_int_add};
#if defined(__x86_64__)
static const struct zp_int_kernels avx2_set = {"avx2", zp_int_requant__avx2, zp_int_dw__avx2,
                                               zp_int_chansum__avx2, zp_int_add__avx2};
#endif

const struct zp_int_kernels *zp_int_kernels_select(int isa)
{
    if (isa == ZP_ISA_REF)
        return &ref_set;
#if defined(__x86_64__)
    if (isa == ZP_ISA_AVX2)
        return zp_cpu_has(ZP_ISA_AVX2) ? &avx2_set : NULL;
    if (isa < 0 && zp_cpu_has(ZP_ISA_AVX2))
        return &avx2_set;
#endif
    return isa < 0 ? &ref_set : NULL;
}
