/* The variant tables and run-time selection, both built from the one list
 * kernels/variants.inc. Dispatch, tests and the benchmark all read these tables;
 * per format the best variant comes first. ISA files are always compiled (flags
 * by file suffix, mk/isa.mk), so the tables are the same on every x86-64 machine
 * and a variant the CPU lacks is simply skipped. */
#include "kernels/variants.h"

#include <stddef.h>

static const struct zp_gemm_ukernel gemm_table[] = {
#define ZP_GEMM(name, fn, fmt, isa, afmt, mr, nr, kr, mc, kc, path) \
    {#name, fmt, isa, afmt, mr, nr, kr, mc, kc, path, fn},
#define ZP_DW(name, fn, fmt, isa)
#define ZP_RT(name, fn, kind, isa)
#include "kernels/variants.inc"
#undef ZP_GEMM
#undef ZP_DW
#undef ZP_RT
};

static const struct zp_dw_ukernel dw_table[] = {
#define ZP_GEMM(name, fn, fmt, isa, afmt, mr, nr, kr, mc, kc, path)
#define ZP_DW(name, fn, fmt, isa) {#name, fmt, isa, fn},
#define ZP_RT(name, fn, kind, isa)
#include "kernels/variants.inc"
#undef ZP_GEMM
#undef ZP_DW
#undef ZP_RT
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
