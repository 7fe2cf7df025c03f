/* harness bench: the kernel benchmark (config, anchors, output). Internal to the
 * bench command (harness/cmd_bench.c, harness/bench_*.c). */
#ifndef ZP_HARNESS_BENCH_H
#define ZP_HARNESS_BENCH_H

#include <stdio.h>

#include "common/err.h"
#include "kernels/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZP_BENCH_MAX_ISAS 8
#define ZP_BENCH_MAX_THREADS 8

struct zp_bench_shape {
    int m, n, k;
    char origin[96]; /* preset name, "square", "custom" or the model layer */
};

struct zp_bench_dw {
    int h, w, c, stride;
    char origin[96];
};

enum { ZP_ANCHOR_OPENBLAS = 1, ZP_ANCHOR_ONEDNN = 2 };

struct zp_bench_config {
    char name[128];
    struct zp_bench_shape *shapes;
    int n_shapes;
    struct zp_bench_dw *dw;
    int n_dw;
    int schemes[ZP_KF_COUNT]; /* enum zp_kfmt */
    int n_schemes;
    int isas[ZP_BENCH_MAX_ISAS]; /* -1 = the dispatcher's best, else enum zp_isa */
    int n_isas;
    unsigned anchors;            /* ZP_ANCHOR_* bits */
    int threads[ZP_BENCH_MAX_THREADS];
    int n_threads;
    int repetitions;
    double min_time;             /* seconds per repetition, Google Benchmark MinTime */
    unsigned seed;
};

/* The bench's scheme names ("float", "symmetric", ...) and the storage format each
 * one's kernels run on (harness/bench_config.c): the format, or -1 if unknown;
 * the name of a format (its kernels/formats.c name if no bench scheme has it). */
int zp_bench_scheme_parse(const char *name);
const char *zp_bench_scheme_name(enum zp_kfmt f);

/* Parses a bench config (errors name the file and JSON path; status ZP_ECONFIG
 * for bad content, ZP_EIO for an unreadable file). Release with zp_bench_config_free. */
enum zp_status zp_bench_config_load(const char *path, struct zp_bench_config *cfg, struct zp_err *err);
void zp_bench_config_free(struct zp_bench_config *cfg);

/* Anchors (harness/bench_anchors.c): an opaque runnable context per library GEMM. */
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

/* One kernels.csv row. */
struct zp_bench_row {
    char kernel[96], scheme[24], isa[40], anchor[24], peak_name[40];
    int m, n, k, threads;
    double gops, ns_per_call, speedup_vs_f32, vs_anchor, peak_fraction; /* NAN = empty */
    int is_dw;
};

/* Writes <dir>/kernels.csv atomically (tmp + rename). */
enum zp_status zp_bench_write_csv(const char *dir, const struct zp_bench_row *rows, int n, struct zp_err *err);
/* Writes <dir>/peaks.csv (class, isa, gops_per_core, ops_per_group). */
enum zp_status zp_bench_write_peaks(const char *dir, const struct zp_peak *p, int n, struct zp_err *err);
/* Writes <dir>/run.json: the config as given, the CPU's ISA levels, the forced ISA
 * (-1: none), machine and build facts (harness/sysinfo.h), start/end time. */
enum zp_status zp_bench_write_run_json(const char *dir, const char *config_path, const char *start, int forced_isa,
                                       double wall_s, struct zp_err *err);
/* Writes <dir>/plots/kernel_{throughput,speedup}.gp and renders PNG + SVG with
 * gnuplot (a missing gnuplot is reported in err as ZP_EIO, the scripts stay). */
enum zp_status zp_bench_plots(const char *dir, const struct zp_bench_row *rows, int n, const struct zp_peak *p,
                              int np, struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
