/* Output of harness bench: kernels.csv and peaks.csv (libcsv quoting, written to
 * a temporary name and renamed so a reader never sees half a file) and the two
 * gnuplot figures, whose scripts read ../kernels.csv themselves so a figure can be
 * restyled without rerunning the benchmark. */
#include "store/bench_out.h"
#include "store/sysinfo.h"

#include <cjson/cJSON.h>
#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

static int is_anchor(const struct zp_bench_row *r)
{
    return strcmp(r->kernel, "openblas") == 0 || strcmp(r->kernel, "onednn") == 0;
}

/* One gnuplot series: a (kernel class, scheme, isa) triple present in the rows. */
struct series {
    char kernel[96], scheme[24], isa[40];
    int anchor, dw;
};

static int find_series(const struct series *s, int n, const struct zp_bench_row *r)
{
    for (int i = 0; i < n; i++) {
        if (s[i].anchor != is_anchor(r) || s[i].dw != r->is_dw || strcmp(s[i].scheme, r->scheme) ||
            strcmp(s[i].isa, r->isa))
            continue;
        if (s[i].anchor && strcmp(s[i].kernel, r->kernel))
            continue;
        return i;
    }
    return -1;
}

static void write_common(FILE *f, const struct zp_bench_row *rows, int n, int threads, int *nshapes)
{
    fprintf(f, "set datafile separator ','\ncsv = '../kernels.csv'\nT = %d  # thread count shown\n", threads);
    /* x position of each shape, in the order the rows list them */
    int xs = 0;
    fputs("shape(m,n,k) = ", f);
    char tics[8192] = "";
    size_t tl = 0;
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= rows[j].m == rows[i].m && rows[j].n == rows[i].n && rows[j].k == rows[i].k;
        if (seen)
            continue;
        fprintf(f, "(m==%d && n==%d && k==%d) ? %d : ", rows[i].m, rows[i].n, rows[i].k, xs);
        if (tl < sizeof tics - 100)
            tl += (size_t)snprintf(tics + tl, sizeof tics - tl, "%s'%s%dx%dx%d' %d", xs ? ", " : "",
                                   rows[i].is_dw ? "dw " : "", rows[i].m, rows[i].n, rows[i].k, xs);
        xs++;
    }
    fputs("1/0\n", f);
    fprintf(f, "set xtics (%s) rotate by -30 left\nset xrange [-0.5:%d.5]\n", tics, xs - 1);
    fputs("set grid ytics\nset key outside right top box\nset xlabel 'shape (M x N x K; dw: outputs x channels x 9)'\n", f);
    *nshapes = xs;
}

static void write_plot_cmd(FILE *f, const struct series *s, int ns, int col)
{
    fputs("plot \\\n", f);
    for (int i = 0; i < ns; i++) {
        char cond[400];
        if (s[i].anchor)
            snprintf(cond, sizeof cond, "strcol(1) eq '%s' && strcol(2) eq '%s'", s[i].kernel, s[i].scheme);
        else /* our kernels; depthwise rows are told apart by the kernel name */
            snprintf(cond, sizeof cond,
                     "strcol(1) ne 'openblas' && strcol(1) ne 'onednn' && (strstrt(strcol(1), 'dw3x3') %s 0) && "
                     "strcol(2) eq '%s' && strcol(3) eq '%s'",
                     s[i].dw ? ">" : "==", s[i].scheme, s[i].isa);
        fprintf(f, "  csv using (shape($4,$5,$6)):((%s && $7 == T) ? $%d : 1/0) with %s title '%s%s%s%s'%s\n", cond,
                col, s[i].anchor ? "points pt 7 ps 1.5" : "linespoints", s[i].dw ? "dw3x3 " : "",
                s[i].anchor ? s[i].kernel : s[i].scheme, " / ", s[i].anchor ? s[i].scheme : s[i].isa,
                i + 1 < ns ? ", \\" : "");
    }
}

static enum zp_status render(const char *dir, const char *name, struct zp_err *err)
{
    char cmd[8600];
    snprintf(cmd, sizeof cmd, "cd '%s/plots' && gnuplot %s.gp >/dev/null 2>%s.log && rm -f %s.log", dir, name, name,
             name);
    int rc = system(cmd);
    if (rc != 0)
        return zp_err_set(err, ZP_EIO, "%s/plots/%s.gp: gnuplot failed (exit %d, see %s.log)", dir, name, rc, name);
    return ZP_OK;
}

enum zp_status zp_bench_plots(const char *dir, const struct zp_bench_row *rows, int n, const struct zp_peak *p,
                              int np, struct zp_err *err)
{
    if (n == 0)
        return ZP_OK;
    char pd[4200];
    snprintf(pd, sizeof pd, "%s/plots", dir);
    if (mkdir(pd, 0777) != 0 && errno != EEXIST)
        return zp_err_set(err, ZP_EIO, "%s: cannot create: %s", pd, strerror(errno));
    struct series *s = calloc((size_t)n, sizeof *s);
    if (!s)
        return zp_err_set(err, ZP_ENOMEM, "plots: out of memory");
    int ns = 0, threads = rows[0].threads;
    for (int i = 0; i < n; i++) {
        if (rows[i].threads < threads)
            threads = rows[i].threads;
        if (find_series(s, ns, &rows[i]) >= 0)
            continue;
        snprintf(s[ns].kernel, sizeof s->kernel, "%s", rows[i].kernel);
        snprintf(s[ns].scheme, sizeof s->scheme, "%s", rows[i].scheme);
        snprintf(s[ns].isa, sizeof s->isa, "%s", rows[i].isa);
        s[ns].anchor = is_anchor(&rows[i]);
        s[ns].dw = rows[i].is_dw;
        ns++;
    }
    static const char *const names[2] = {"kernel_throughput", "kernel_speedup"};
    enum zp_status st = ZP_OK;
    for (int fig = 0; fig < 2 && !st; fig++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/%s.gp", pd, names[fig]);
        FILE *f = fopen(path, "w");
        if (!f) {
            st = zp_err_set(err, ZP_EIO, "%s: cannot create: %s", path, strerror(errno));
            break;
        }
        fprintf(f, "# %s: generated by harness bench from ../kernels.csv%s; run: gnuplot %s.gp\n", names[fig],
                fig == 0 ? " (peaks: ../peaks.csv)" : "", names[fig]);
        int nshapes;
        write_common(f, rows, n, threads, &nshapes);
        fprintf(f, "set terminal pngcairo size 1400,800 noenhanced font ',10'\nset output '%s.png'\n", names[fig]);
        if (fig == 0) {
            fputs("set logscale y\nset ylabel 'GOP/s (2MNK / median time per call; CPU time at 1 thread)'\n"
                  "set title sprintf('Kernel throughput by scheme and shape (%d thread%s), with anchors and instruction peaks', T, T > 1 ? 's' : '')\n",
                  f);
            /* the peaks as horizontal lines (per core, times the thread count) */
            for (int i = 0; i < np; i++)
                fprintf(f,
                        "set arrow %d from graph 0, first %.6g*T to graph 1, first %.6g*T nohead dt 2 lc rgb '#777777'\n"
                        "set label %d 'peak %s' at graph 0.01, first %.6g*T*1.06 font ',8' tc rgb '#555555'\n",
                        i + 1, p[i].gops, p[i].gops, i + 1, p[i].name, p[i].gops);
            write_plot_cmd(f, s, ns, 8);
        } else {
            fputs("set ylabel 'speedup over our float kernel (same shape, same run)'\n"
                  "set logscale y 2\nset title sprintf('Speedup over float by scheme (%d thread%s)', T, T > 1 ? 's' : '')\n"
                  "set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb '#999999'\n",
                  f);
            write_plot_cmd(f, s, ns, 10);
        }
        fprintf(f, "set terminal svg size 1400,800 noenhanced font 'sans,10'\nset output '%s.svg'\nreplot\nunset output\n",
                names[fig]);
        if (fclose(f) != 0)
            st = zp_err_set(err, ZP_EIO, "%s: cannot write", path);
        if (!st)
            st = render(dir, names[fig], err);
    }
    free(s);
    return st;
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
