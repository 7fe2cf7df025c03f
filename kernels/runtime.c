/* The float runtime's kernels (kernels/kernels.h, "the float runtime's kernels"):
 * their table and selection from kernels/variants.inc, the per-variant call
 * counters, and the weight panels of the conv kind. */
#include "kernels/variants.h"

#include <omp.h>
#include <string.h>

#include "common/mem.h"

static const struct zp_rt_ukernel rt_table[] = {
#define ZP_GEMM(name, fn, fmt, isa, afmt, mr, nr, kr, mc, kc, path)
#define ZP_DW(name, fn, fmt, isa)
#define ZP_RT_FN_ZP_RK_CONV(fn) .conv = fn
#define ZP_RT_FN_ZP_RK_DWPLANE(fn) .dwplane = fn
#define ZP_RT_FN_ZP_RK_COPY_S2(fn) .copy_s2 = fn
#define ZP_RT_FN_ZP_RK_FAKEQUANT(fn) .fakequant = fn
#define ZP_RT(name, fn, kind, isa) {#name, kind, isa, {ZP_RT_FN_##kind(fn)}},
#include "kernels/variants.inc"
#undef ZP_GEMM
#undef ZP_DW
#undef ZP_RT
};

enum { NRT = sizeof rt_table / sizeof rt_table[0], NSLOT = 64 };

/* One row of counters per OpenMP thread number (mod NSLOT), each row on its own
 * cache lines: the runtime counts ~1,500 calls per image on two threads, and a
 * shared counter line would bounce between the cores on every call. The adds are
 * atomic because thread numbers repeat across teams and plain pthreads. */
static struct {
    _Alignas(64) uint64_t n[NRT];
} counts[NSLOT];

const struct zp_rt_ukernel *zp_rt_ukernels(size_t *count)
{
    *count = NRT;
    return rt_table;
}

const struct zp_rt_ukernel *zp_rt_select(enum zp_rkind kind, int isa)
{
    for (size_t i = 0; i < NRT; i++) {
        const struct zp_rt_ukernel *u = &rt_table[i];
        if (u->kind == kind && zp_cpu_has(u->isa) && (isa < 0 || (int)u->isa == isa))
            return u;
    }
    return NULL;
}

static void count(const struct zp_rt_ukernel *uk)
{
    __atomic_fetch_add(&counts[omp_get_thread_num() % NSLOT].n[uk - rt_table], 1, __ATOMIC_RELAXED);
}

void zp_rt_conv(const struct zp_rt_ukernel *uk, const struct zp_f32_conv_call *c)
{
    count(uk);
    uk->fn.conv(c);
}

void zp_rt_dwplane(const struct zp_rt_ukernel *uk, const struct zp_f32_dwplane_call *c)
{
    count(uk);
    uk->fn.dwplane(c);
}

void zp_rt_copy_s2(const struct zp_rt_ukernel *uk, float *dst, const float *src, int64_t n)
{
    count(uk);
    uk->fn.copy_s2(dst, src, n);
}

void zp_rt_copy_s2_rows(const struct zp_rt_ukernel *uk, float *dst, size_t ldd, const float *src, size_t lds,
                        int64_t n, int64_t rows)
{
    count(uk);
    for (int64_t r = 0; r < rows; r++)
        uk->fn.copy_s2(dst + (size_t)r * ldd, src + (size_t)r * lds, n);
}

uint64_t zp_rt_calls(const struct zp_rt_ukernel *uk)
{
    uint64_t s = 0;
    for (int t = 0; t < NSLOT; t++)
        s += __atomic_load_n(&counts[t].n[uk - rt_table], __ATOMIC_RELAXED);
    return s;
}

void zp_rt_calls_reset(void)
{
    for (int t = 0; t < NSLOT; t++)
        for (size_t i = 0; i < NRT; i++)
            __atomic_store_n(&counts[t].n[i], 0, __ATOMIC_RELAXED);
}

enum zp_status zp_f32_wpack_make(const float *w, int m, int k, struct zp_f32_wpack *out, struct zp_err *err)
{
    memset(out, 0, sizeof *out);
    if (!w || m < 1 || k < 1)
        return zp_err_set(err, ZP_EINVAL, "conv weight panels: %s %dx%d: expected weights and m, k >= 1",
                          w ? "shape" : "no weights for", m, k);
    const int mp = (m + ZP_CONV_MR - 1) / ZP_CONV_MR * ZP_CONV_MR;
    float *d = zp_calloc((size_t)mp * (size_t)k, sizeof(float));
    if (!d)
        return zp_err_set(err, ZP_ENOMEM, "conv weight panels (%dx%d): out of memory", m, k);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < k; j++)
            d[((size_t)(i / ZP_CONV_MR) * k + j) * ZP_CONV_MR + i % ZP_CONV_MR] = w[(size_t)i * k + j];
    *out = (struct zp_f32_wpack){m, k, mp, d};
    return ZP_OK;
}

void zp_f32_wpack_free(struct zp_f32_wpack *p)
{
    if (!p)
        return;
    zp_free(p->data);
    memset(p, 0, sizeof *p);
}
