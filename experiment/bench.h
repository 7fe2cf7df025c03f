/* harness bench: the kernel benchmark (config, anchors, output). Internal to the
 * bench command (harness/cmd_bench.c, harness/bench_*.c). */
#ifndef ZP_HARNESS_BENCH_H
#define ZP_HARNESS_BENCH_H

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

#ifdef __cplusplus
}
#endif
#endif
