/* Output of `harness bench`: kernels.csv, peaks.csv, run.json (figures: plots/plot.h). */
#ifndef ZP_STORE_BENCH_OUT_H
#define ZP_STORE_BENCH_OUT_H

#include <stdio.h>

#include "common/err.h"
#include "kernels/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One kernels.csv row. */
struct zp_bench_row {
    char kernel[96], scheme[24], isa[40], anchor[24], peak_name[40];
    char anchor_core[40]; /* the core/ISA the anchor library ran (OpenBLAS corename, oneDNN ISA) */
    int m, n, k, threads;
    double gops, ns_per_call, speedup_vs_f32, vs_anchor, peak_fraction; /* NAN = empty */
    int is_dw;
};

/* Writes <dir>/kernels.csv atomically (tmp + rename). */
enum zp_status zp_bench_write_csv(const char *dir, const struct zp_bench_row *rows, int n, struct zp_err *err);
/* Writes <dir>/peaks.csv (class, isa, gops_per_core, ops_per_group). */
enum zp_status zp_bench_write_peaks(const char *dir, const struct zp_peak *p, int n, struct zp_err *err);
/* What OpenBLAS ran the anchor on: a generic core on an AVX2/AVX-512 CPU makes
 * vs_anchor flatter us, so the facts go into run.json (experiment/bench_anchors.c). */
struct zp_bench_blas {
    char core[40];       /* openblas_get_corename() */
    char config[200];    /* openblas_get_config() */
    char coretype[48];   /* $OPENBLAS_CORETYPE at load time; "" = unset */
    char warning[320];   /* "" = none */
};

/* Writes <dir>/run.json: the config as given, the CPU's ISA levels, the forced ISA
 * (-1: none), machine and build facts (store/sysinfo.h), start/end time, and the
 * OpenBLAS core (blas may be NULL: no OpenBLAS anchor ran). */
enum zp_status zp_bench_write_run_json(const char *dir, const char *config_path, const char *start, int forced_isa,
                                       double wall_s, const struct zp_bench_blas *blas, struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
