/* Bench configs (configs/bench_*.json): what `harness bench` measures. */
#ifndef ZP_CONFIG_BENCH_CONFIG_H
#define ZP_CONFIG_BENCH_CONFIG_H

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
 * one's kernels run on (config/bench_config.c): the format, or -1 if unknown;
 * the name of a format (its kernels/formats.c name if no bench scheme has it). */
int zp_bench_scheme_parse(const char *name);
const char *zp_bench_scheme_name(enum zp_kfmt f);

/* Parses a bench config (errors name the file and JSON path; status ZP_ECONFIG
 * for bad content, ZP_EIO for an unreadable file). Release with zp_bench_config_free. */
enum zp_status zp_bench_config_load(const char *path, struct zp_bench_config *cfg, struct zp_err *err);
/* Same from text (the fuzz target); `path` names the file in messages and the
 * default name. */
enum zp_status zp_bench_config_parse(const char *text, const char *path,
                                     struct zp_bench_config *cfg, struct zp_err *err);
void zp_bench_config_free(struct zp_bench_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
