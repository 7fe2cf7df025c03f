/* Output of harness bench: kernels.csv and peaks.csv (the store's one CSV writer,
 * columns from store/columns.inc) and run.json (store/run_json.h). The figures
 * are plots/'s (zp_plots_render_kernels), drawn from kernels.csv. */
#include "store/bench_out.h"
#include "store/csv_out.h"
#include "common/atomic.h"
#include "common/file.h"
#include "store/run_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum zp_status write_table(const char *dir, struct zp_csv *c, enum zp_result_table t, struct zp_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, zp_table_file(t));
    enum zp_status st = zp_csv_write_file(c, path, err);
    zp_csv_free(c);
    return st;
}

enum zp_status zp_bench_write_csv(const char *dir, const struct zp_bench_row *rows, int n, struct zp_err *err)
{
    struct zp_csv c;
    zp_csv_init(&c);
    zp_csv_header_of(&c, ZP_TABLE_KERNELS);
    for (int i = 0; i < n; i++) {
        const struct zp_bench_row *r = &rows[i];
        zp_csv_set_str(&c, ZP_KERN_KERNEL, r->kernel);
        zp_csv_set_str(&c, ZP_KERN_SCHEME, r->scheme);
        zp_csv_set_str(&c, ZP_KERN_ISA, r->isa);
        zp_csv_set_int(&c, ZP_KERN_M, r->m);
        zp_csv_set_int(&c, ZP_KERN_N, r->n);
        zp_csv_set_int(&c, ZP_KERN_K, r->k);
        zp_csv_set_int(&c, ZP_KERN_THREADS, r->threads);
        zp_csv_set_num(&c, ZP_KERN_GOPS, r->gops);
        zp_csv_set_num(&c, ZP_KERN_NS_PER_CALL, r->ns_per_call);
        zp_csv_set_num(&c, ZP_KERN_SPEEDUP_VS_F32, r->speedup_vs_f32);
        zp_csv_set_num(&c, ZP_KERN_VS_ANCHOR, r->vs_anchor);
        zp_csv_set_str(&c, ZP_KERN_ANCHOR, r->anchor);
        zp_csv_set_num(&c, ZP_KERN_PEAK_FRACTION, r->peak_fraction);
        zp_csv_set_str(&c, ZP_KERN_ANCHOR_CORE, r->anchor_core);
        zp_csv_end_row(&c);
    }
    return write_table(dir, &c, ZP_TABLE_KERNELS, err);
}

enum zp_status zp_bench_write_peaks(const char *dir, const struct zp_peak *p, int n, struct zp_err *err)
{
    struct zp_csv c;
    zp_csv_init(&c);
    zp_csv_header_of(&c, ZP_TABLE_PEAKS);
    for (int i = 0; i < n; i++) {
        zp_csv_set_str(&c, ZP_PEAK_CLASS, p[i].name);
        zp_csv_set_str(&c, ZP_PEAK_ISA, zp_isa_name(p[i].isa));
        zp_csv_set_num(&c, ZP_PEAK_GOPS_PER_CORE, p[i].gops);
        zp_csv_set_num(&c, ZP_PEAK_OPS_PER_GROUP, p[i].ops_per_instr_group);
        zp_csv_end_row(&c);
    }
    return write_table(dir, &c, ZP_TABLE_PEAKS, err);
}

enum zp_status zp_bench_write_run_json(const char *dir, const char *config_path, const char *start, int forced_isa,
                                       double wall_s, const struct zp_bench_blas *blas, struct zp_err *err)
{
    struct zp_run_json rj;
    if (zp_run_json_init(&rj, dir, "bench", config_path, NULL, err))
        return err->status;
    rj.t0 = zp_run_json_now() - wall_s;
    zp_json_set_str(rj.root, "start_time", start);
    struct zp_json *isas = zp_json_arr(rj.root, "cpu_isa_levels");
    for (int i = 0; i < ZP_ISA_COUNT; i++)
        if (zp_cpu_has((enum zp_isa)i))
            zp_json_push_str(isas, zp_isa_name((enum zp_isa)i));
    zp_json_set_str(rj.root, "forced_isa", forced_isa >= 0 ? zp_isa_name((enum zp_isa)forced_isa) : "none");
    if (blas) {
        struct zp_json *o = zp_json_obj(rj.root, "openblas");
        zp_json_set_str(o, "core", blas->core);
        zp_json_set_str(o, "config", blas->config);
        zp_json_set_str(o, "coretype_env", blas->coretype[0] ? blas->coretype : "unset");
        zp_json_set_str(o, "warning", blas->warning);
    }
    zp_json_set_str(rj.root, "timing", "median over repetitions; CPU time at 1 thread, wall time otherwise");
    enum zp_status st = zp_run_json_write(&rj, err);
    zp_run_json_free(&rj);
    return st;
}
