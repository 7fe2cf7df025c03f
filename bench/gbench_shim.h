/* A small C interface over Google Benchmark (bench/gbench_shim.cc, the only C++
 * in the tree): register kernels as (name, function, context, ops per call), run
 * them with Google Benchmark's own flags, read the per-benchmark results back.
 * Times are per call; with repetitions > 1 the figures are the median over
 * repetitions (Google Benchmark's "median" aggregate). */
#ifndef ZP_BENCH_GBENCH_SHIM_H
#define ZP_BENCH_GBENCH_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*zp_gb_fn)(void *ctx);

struct zp_gb_result {
    char name[192];
    double real_ns;      /* wall time per call (median of repetitions) */
    double cpu_ns;       /* CPU time per call of the calling thread (median) */
    double ops_per_call;
    double iterations;   /* iterations of one repetition */
    int repetitions;
    int error;           /* the benchmark reported an error */
};

/* Registers one benchmark; ctx is borrowed until zp_gb_clear(). min_time_s <= 0
 * keeps the library default. Returns 0, or -1 on a NULL argument. */
int zp_gb_register(const char *name, zp_gb_fn fn, void *ctx, double ops_per_call, double min_time_s);

/* Runs every registered benchmark. args are Google Benchmark flags such as
 * "--benchmark_out=x.json", "--benchmark_out_format=json",
 * "--benchmark_repetitions=5". Results are written to out (up to max, in
 * registration order); returns the number written or -1 on a flag error.
 * quiet = 0 prints one progress line per benchmark on stderr. */
int zp_gb_run(int nargs, const char *const *args, int quiet, struct zp_gb_result *out, int max);

/* Forgets every registered benchmark. */
void zp_gb_clear(void);

#ifdef __cplusplus
}
#endif
#endif
