/* Output of harness bench: kernels.csv and peaks.csv (the store's one CSV writer,
 * columns from store/columns.inc), run.json (store/run_json.h) and the two
 * gnuplot figures, whose scripts read ../kernels.csv themselves so a figure can be
 * restyled without rerunning the benchmark. */
#include "store/bench_out.h"
#include "store/csv_out.h"
#include "store/store_fs.h"
#include "store/run_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
        /* built in memory, then written atomically like every file of the store */
        char *text = NULL;
        size_t tlen = 0;
        FILE *f = open_memstream(&text, &tlen);
        if (!f) {
            st = zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
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
        if (fclose(f) != 0 || !text)
            st = zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
        else
            st = zp_write_atomic(path, text, tlen, err);
        free(text);
        if (!st)
            st = render(dir, names[fig], err);
    }
    free(s);
    return st;
}

enum zp_status zp_bench_write_run_json(const char *dir, const char *config_path, const char *start, int forced_isa,
                                       double wall_s, struct zp_err *err)
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
    zp_json_set_str(rj.root, "timing", "median over repetitions; CPU time at 1 thread, wall time otherwise");
    enum zp_status st = zp_run_json_write(&rj, err);
    zp_run_json_free(&rj);
    return st;
}
