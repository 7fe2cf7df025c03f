/* The kernel benchmark: the library anchors and the run (experiment/bench_run.c,
 * experiment/bench_anchors.c); `harness bench` is its command. */
#ifndef ZP_EXPERIMENT_BENCH_H
#define ZP_EXPERIMENT_BENCH_H

#include <stdio.h>

#include "common/err.h"
#include "kernels/kernels.h"
#include "config/bench_config.h"
#include "store/bench_out.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Anchors (experiment/bench_anchors.c): an opaque runnable context per library GEMM. */
struct zp_anchor;
enum zp_anchor_kind { ZP_ANCHOR_SGEMM_OPENBLAS, ZP_ANCHOR_DNNL_F32, ZP_ANCHOR_DNNL_U8S8 };
/* Creates the anchor on random data of shape m x n x k (weights reordered once);
 * NULL with err set on failure. */
struct zp_anchor *zp_anchor_new(enum zp_anchor_kind kind, int m, int n, int k, int threads, unsigned seed,
                                struct zp_err *err);
void zp_anchor_run(void *anchor);
void zp_anchor_free(struct zp_anchor *a);
/* Library ISA label, e.g. "avx512_core_vnni" (oneDNN) or "Zen" (OpenBLAS core). */
const char *zp_anchor_isa(enum zp_anchor_kind kind);
/* 1 when an OpenBLAS core name is a generic one (no AVX2 kernels: Prescott, Core2,
 * Katmai, Nehalem, Sandybridge...) while the CPU has AVX2 (cpu_avx2 != 0): the
 * anchor then runs far below the machine and vs_anchor flatters our kernels. */
int zp_anchor_core_generic(const char *core, int cpu_avx2);
/* The core OpenBLAS chose at load time, its build config, $OPENBLAS_CORETYPE and
 * the warning (empty when none) for this CPU. */
void zp_anchor_blas_info(struct zp_bench_blas *b);

/* One bench run of a loaded config (experiment/bench_run.c). */
struct zp_bench_opts {
    const char *config_path; /* for run.json */
    const char *out;         /* run folder; NULL: results/<config name> */
    int isa;                 /* -1, or an ISA that replaces the config's list */
    int quiet;
    /* draws the kernel figures of the finished folder (NULL: none); a failure is a warning */
    enum zp_status (*figures)(const char *dir, struct zp_err *err);
};
enum zp_status zp_bench_run(const struct zp_bench_config *cfg, const struct zp_bench_opts *o,
                            struct zp_err *err);
/* `harness bench --peak`: the per-core instruction peaks, printed and (out) written
 * to out/peaks.csv. */
enum zp_status zp_bench_peaks(const char *out, int quiet, struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
