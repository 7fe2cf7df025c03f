/* The instruction-peak probe (harness bench --peak): per-core GOP/s of each
 * instruction mix the kernels are built from, where the CPU has it. Ops per loop
 * body count multiply and add as 2 ops per lane, as the kernels' gops do:
 *   fma zmm 16 lanes -> 32; vpdpbusd zmm 64 u8*s8 MACs -> 128;
 *   vpmaddubsw(+vpmaddwd+vpaddd | +vpaddsw) zmm 64 MACs -> 128 per group;
 *   xor+vpopcntq+vpaddq zmm 512 one-bit MACs -> 1024; vdpbf16ps zmm 32 bf16
 *   MACs -> 64; ymm: half.
 * Each probe runs ~2 ms slices 40 times and keeps the fastest: peaks are upper
 * bounds, and on a shared machine a short slice often runs without being
 * preempted, where one long run almost never does. */
#include "kernels/kernels.h"
#include "kernels/peak/peak.h"

#include <string.h>
#include <time.h>

struct probe {
    const char *name;
    enum zp_isa isa;
    double ops; /* per loop body: ZP_PEAK_CHAINS instruction groups */
    double (*fn)(long iters);
};

static const struct probe probes[] = {
#if defined(__x86_64__)
    {"fma_zmm", ZP_ISA_AVX512BW, 32, zp_peak_fma_zmm},
    {"fma_ymm", ZP_ISA_AVX2, 16, zp_peak_fma_ymm},
    {"vpdpbusd_zmm", ZP_ISA_AVX512VNNI, 128, zp_peak_vpdpbusd_zmm},
    {"maddubs_maddwd_add_zmm", ZP_ISA_AVX512BW, 128, zp_peak_maddubs3_zmm},
    {"maddubs_maddwd_add_ymm", ZP_ISA_AVX2, 64, zp_peak_maddubs3_ymm},
    {"maddubs_addsw_zmm", ZP_ISA_AVX512BW, 128, zp_peak_maddubs_adds_zmm},
    {"maddubs_addsw_ymm", ZP_ISA_AVX2, 64, zp_peak_maddubs_adds_ymm},
    {"xor_popcnt_zmm", ZP_ISA_AVX512VPOPCNT, 1024, zp_peak_xor_popcnt_zmm},
    {"dpbf16_zmm", ZP_ISA_AVX512BF16, 64, zp_peak_dpbf16_zmm},
#endif
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

volatile double zp_peak_sink; /* consumes probe results */

int zp_peak_measure(struct zp_peak *out, int max)
{
    int n = 0;
    for (size_t i = 0; i < sizeof probes / sizeof probes[0] && n < max; i++) {
        const struct probe *p = &probes[i];
        if (!zp_cpu_has(p->isa))
            continue;
        long iters = 1000;
        double t = 0;
        while (t < 0.002) { /* calibrate to ~2 ms */
            iters *= 4;
            double t0 = now_s();
            zp_peak_sink = p->fn(iters);
            t = now_s() - t0;
        }
        iters = (long)((double)iters * 0.002 / t) + 1;
        double best = 1e30;
        for (int r = 0; r < 40; r++) {
            double t0 = now_s();
            zp_peak_sink = p->fn(iters);
            double dt = now_s() - t0;
            if (dt < best)
                best = dt;
        }
        out[n].name = p->name;
        out[n].isa = p->isa;
        out[n].ops_per_instr_group = p->ops;
        out[n].gops = (double)iters * ZP_PEAK_CHAINS * p->ops / best / 1e9;
        n++;
    }
    return n;
}

const char *zp_peak_for(const struct zp_gemm_ukernel *k)
{
    if (k->isa == ZP_ISA_REF)
        return NULL;
    if (k->fmt == ZP_KF_F32 || strcmp(k->path, "fma") == 0)
        return k->isa == ZP_ISA_AVX2 ? "fma_ymm" : "fma_zmm";
    if (strcmp(k->path, "bf16") == 0)
        return "dpbf16_zmm";
    if (k->fmt == ZP_KF_BIN)
        return "xor_popcnt_zmm";
    if (strcmp(k->path, "vnni") == 0)
        return "vpdpbusd_zmm";
    if (strcmp(k->path, "3op") == 0)
        return k->isa == ZP_ISA_AVX2 ? "maddubs_maddwd_add_ymm" : "maddubs_maddwd_add_zmm";
    if (strcmp(k->path, "i16") == 0)
        return k->isa == ZP_ISA_AVX2 ? "maddubs_addsw_ymm" : "maddubs_addsw_zmm";
    return NULL;
}
