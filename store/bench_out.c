/* Output of harness bench: kernels.csv and peaks.csv (libcsv quoting, written to
 * a temporary name and renamed so a reader never sees half a file) and run.json.
 * The figures are plots/'s (zp_plots_render_kernels), drawn from kernels.csv. */
#include "store/bench_out.h"
#include "store/sysinfo.h"

#include <cjson/cJSON.h>
#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Plain when nothing needs quoting (the usual case), else libcsv's quoting. */
static void put_str(FILE *f, const char *s, int last)
{
    if (strpbrk(s, ",\"\r\n"))
        csv_fwrite(f, s, strlen(s));
    else
        fputs(s, f);
    fputc(last ? '\n' : ',', f);
}

static void put_num(FILE *f, double v, int last)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    fputc(last ? '\n' : ',', f);
}

static enum zp_status finish(FILE *f, const char *tmp, const char *path, struct zp_err *err)
{
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return zp_err_set(err, ZP_EIO, "%s: cannot write: %s", path, strerror(errno));
    }
    return ZP_OK;
}

enum zp_status zp_bench_write_csv(const char *dir, const struct zp_bench_row *rows, int n, struct zp_err *err)
{
    char path[4200], tmp[4220];
    snprintf(path, sizeof path, "%s/kernels.csv", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return zp_err_set(err, ZP_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    fputs("kernel,scheme,isa,m,n,k,threads,gops,ns_per_call,speedup_vs_f32,vs_anchor,anchor,peak_fraction\n", f);
    for (int i = 0; i < n; i++) {
        const struct zp_bench_row *r = &rows[i];
        put_str(f, r->kernel, 0);
        put_str(f, r->scheme, 0);
        put_str(f, r->isa, 0);
        fprintf(f, "%d,%d,%d,%d,", r->m, r->n, r->k, r->threads);
        put_num(f, r->gops, 0);
        put_num(f, r->ns_per_call, 0);
        put_num(f, r->speedup_vs_f32, 0);
        put_num(f, r->vs_anchor, 0);
        put_str(f, r->anchor, 0);
        put_num(f, r->peak_fraction, 1);
    }
    return finish(f, tmp, path, err);
}

enum zp_status zp_bench_write_peaks(const char *dir, const struct zp_peak *p, int n, struct zp_err *err)
{
    char path[4200], tmp[4220];
    snprintf(path, sizeof path, "%s/peaks.csv", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return zp_err_set(err, ZP_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    fputs("class,isa,gops_per_core,ops_per_group\n", f);
    for (int i = 0; i < n; i++) {
        put_str(f, p[i].name, 0);
        put_str(f, zp_isa_name(p[i].isa), 0);
        put_num(f, p[i].gops, 0);
        put_num(f, p[i].ops_per_instr_group, 1);
    }
    return finish(f, tmp, path, err);
}

enum zp_status zp_bench_write_run_json(const char *dir, const char *config_path, const char *start, int forced_isa,
                                       double wall_s, struct zp_err *err)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return zp_err_set(err, ZP_ENOMEM, "run.json: out of memory");
    cJSON_AddStringToObject(root, "command", "bench");
    cJSON_AddStringToObject(root, "config_path", config_path);
    /* the config as given */
    FILE *cf = fopen(config_path, "rb");
    if (cf) {
        char buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf - 1, cf);
        fclose(cf);
        buf[n] = '\0';
        cJSON *cfg = cJSON_Parse(buf);
        if (cfg)
            cJSON_AddItemToObject(root, "config", cfg);
    }
    cJSON *isas = cJSON_AddArrayToObject(root, "cpu_isa_levels");
    for (int i = 0; i < ZP_ISA_COUNT; i++)
        if (zp_cpu_has((enum zp_isa)i))
            cJSON_AddItemToArray(isas, cJSON_CreateString(zp_isa_name((enum zp_isa)i)));
    cJSON_AddStringToObject(root, "forced_isa", forced_isa >= 0 ? zp_isa_name((enum zp_isa)forced_isa) : "none");
    cJSON_AddStringToObject(root, "timing", "median over repetitions; CPU time at 1 thread, wall time otherwise");
    zp_sysinfo_add(root);
    char end[32];
    zp_iso_time(end);
    cJSON_AddStringToObject(root, "start", start);
    cJSON_AddStringToObject(root, "end", end);
    cJSON_AddNumberToObject(root, "wall_seconds", wall_s);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return zp_err_set(err, ZP_ENOMEM, "run.json: out of memory");
    char path[4200], tmp[4220];
    snprintf(path, sizeof path, "%s/run.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        free(text);
        return zp_err_set(err, ZP_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    fputs(text, f);
    fputc('\n', f);
    free(text);
    return finish(f, tmp, path, err);
}
