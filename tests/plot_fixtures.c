/* Fixtures of the figure and report tests: see tests/plot_fixtures.h. */
#include "tests/plot_fixtures.h"
#include "tests/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plots/plot_int.h"

const char *const zp_tp_all_figs[] = {
    "tensors_sqnr",   "tensors_zero_error",   "accuracy_top1",     "accuracy_vs_bits",
    "accuracy_nudge", "accuracy_calibration", "accuracy_calib_size", "accuracy_qat",
    "layers_sqnr",    "layers_mean_shift",    "kernel_throughput", "kernel_speedup",
    "accuracy_vs_throughput", "weights_hist",
};
const size_t zp_tp_n_figs = sizeof zp_tp_all_figs / sizeof zp_tp_all_figs[0];

int zp_tp_have_gnuplot(void)
{
    return zp_test_sh(NULL, "gnuplot --version") == 0;
}

/* A copy of the sample run in a fresh temporary folder. */
const char *zp_tp_sample_copy(const char *tag)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s", zp_test_tmpdir(tag));
    assert_int_equal(zp_test_sh(NULL, "cp %s/* '%s'/", SAMPLE, dir), 0);
    return dir;
}

long zp_tp_file_size(const char *dir, const char *name, const char *ext)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/plots/%s.%s", dir, name, ext);
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* Row g of the block of the series titled `series` of a .dat, or NULL. */
static const char *dat_row(const char *dat, const char *series, size_t g)
{
    char head[512];
    snprintf(head, sizeof head, ": %s\n", series);
    const char *p = strstr(dat, head);
    for (size_t i = 0; p && i <= g; i++) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return p;
}

/* The value of group g in the block of the series titled `series` of a bars .dat. */
double zp_tp_bars_value(const char *dat, const char *series, size_t g)
{
    const char *p = dat_row(dat, series, g);
    if (!p)
        return NAN;
    double x, v;
    if (sscanf(p, "%lf,%lf", &x, &v) != 2)
        return NAN;
    return v;
}

char *zp_tp_plots_file(const char *dir, const char *file)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/plots/%s", dir, file);
    char *s = zp_test_read_file(path, NULL);
    assert_non_null(s);
    return s;
}

void zp_tp_write_in(const char *dir, const char *file, const char *text)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    zp_test_write_file(path, text);
}

/* The n-th (0-based) "set yrange [lo:hi]" of a script; 0 when absent or not numeric. */
int zp_tp_nth_yrange(const char *gp, int n, double *lo, double *hi)
{
    const char *p = gp;
    for (int i = 0; p; i++) {
        p = strstr(p, "set yrange [");
        if (!p)
            return 0;
        if (i == n)
            return sscanf(p, "set yrange [%lf:%lf]", lo, hi) == 2;
        p++;
    }
    return 0;
}

long zp_tp_inode_of(const char *dir, const char *file)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_ino : -1;
}

size_t zp_tp_line_styles(const char *gp, char styles[][64], size_t max)
{
    size_t n = 0;
    for (const char *p = strstr(gp, "with linespoints "); p && n < max;
         p = strstr(p + 1, "with linespoints ")) {
        const char *end = strstr(p, " title ");
        snprintf(styles[n++], 64, "%.*s", end ? (int)(end - p) : 40, p);
    }
    return n;
}

/* A run with replicates (the layout of `harness run` with `replicates: 2`, cut down
 * by hand): accuracy.csv has two rows per cell (replicate 0, 1) and a select split;
 * summary.csv one row per cell with made-up, easily recognised intervals;
 * summary_pairs.csv the QAT pair. Float top-1 is 0.90. Cells (mode both, minmax,
 * calib_size 100 unless said):
 *   a8 nudged / a8 naive     asymmetric 8b per-tensor, nudge_zero true / false
 *   s8 pc (minmax)           symmetric 8b per-channel
 *   s8 pc (percentile), and "s8 pc calibration_size=50" / "=400" (percentile, 50 /
 *                            400 examples): the percentile bar of accuracy_calibration
 *                            averages three cells, so it has no interval; the three
 *                            are the points of accuracy_calib_size
 *   l4 pc, and l4 pc mode qat   linear4 4b per-channel: PTQ vs QAT
 * Interval of a cell: top1_lo/hi = mean -/+ 0.03; drop_lo/hi = drop -/+ 1.5 points. */
static const struct {
    const char *scheme, *label, *bits, *gran, *mode, *calib, *size, *nudge;
    double top1[2], select;
} rep_cells[] = {
    {"asymmetric", "a8 nudged", "8", "per-tensor", "both", "minmax", "100", "true", {0.89, 0.87}, 0.80},
    {"asymmetric", "a8 naive", "8", "per-tensor", "both", "minmax", "100", "false", {0.85, 0.83}, 0.70},
    {"symmetric", "s8 pc", "8", "per-channel", "both", "minmax", "100", "", {0.895, 0.885}, 0.85},
    {"symmetric", "s8 pc", "8", "per-channel", "both", "percentile", "100", "", {0.90, 0.88}, 0.75},
    {"symmetric", "s8 pc calibration_size=50", "8", "per-channel", "both", "percentile", "50", "", {0.86, 0.84}, 0.70},
    {"symmetric", "s8 pc calibration_size=400", "8", "per-channel", "both", "percentile", "400", "", {0.88, 0.86}, 0.71},
    {"linear4", "l4 pc", "4", "per-channel", "both", "minmax", "100", "", {0.70, 0.68}, 0.60},
    {"linear4", "l4 pc", "4", "per-channel", "qat", "minmax", "100", "", {0.80, 0.78}, 0.65},
};
#define N_REP_CELLS (sizeof rep_cells / sizeof rep_cells[0])

const char *zp_tp_replicate_run(const char *tag)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s", zp_test_tmpdir(tag));
    struct zp_strbuf acc = {0}, sum = {0};
    zp_strbuf_printf(&acc, "model,dataset,scheme,label,bits,granularity,mode,calibration,calib_size,"
                           "nudge_zero,n_eval,float_top1,top1,drop,replicate,select_top1\n");
    zp_strbuf_printf(&sum, "cell,model,dataset,scheme,label,bits,granularity,mode,calibration,deterministic,"
                           "n_eval,replicates,top1_mean,top1_std,top1_lo,top1_hi,drop_mean,drop_std,drop_lo,"
                           "drop_hi,mcnemar_p,significant\n");
    for (size_t c = 0; c < N_REP_CELLS; c++) {
        double m = (rep_cells[c].top1[0] + rep_cells[c].top1[1]) / 2, d = 100 * (0.90 - m);
        for (int rep = 0; rep < 2; rep++)
            zp_strbuf_printf(&acc, "m,d,%s,%s,%s,%s,%s,%s,%s,%s,1000,0.90,%.4f,%.4f,%d,%.2f\n", rep_cells[c].scheme,
                             rep_cells[c].label, rep_cells[c].bits, rep_cells[c].gran, rep_cells[c].mode,
                             rep_cells[c].calib, rep_cells[c].size, rep_cells[c].nudge, rep_cells[c].top1[rep],
                             100 * (0.90 - rep_cells[c].top1[rep]), rep, rep_cells[c].select);
        /* significant when the drop interval excludes 0: the 4-bit PTQ cell only */
        int sig = d - 1.5 > 0 && c == 6;
        zp_strbuf_printf(&sum, "c%zu,m,d,%s,%s,%s,%s,%s,%s,false,1000,2,%.4f,0.01,%.4f,%.4f,%.4f,1,%.4f,%.4f,%s,%d\n",
                         c, rep_cells[c].scheme, rep_cells[c].label, rep_cells[c].bits, rep_cells[c].gran,
                         rep_cells[c].mode, rep_cells[c].calib, m, m - 0.03, m + 0.03, d, d - 1.5, d + 1.5,
                         sig ? "1e-05" : "0.3", sig);
    }
    zp_tp_write_in(dir, "accuracy.csv", acc.s);
    zp_tp_write_in(dir, "summary.csv", sum.s);
    zp_tp_write_in(dir, "summary_pairs.csv",
                   "kind,model,mode,calibration,a_cell,a_label,a_mode,b_cell,b_label,b_mode,n_eval,replicates,"
                   "delta_top1_mean,delta_top1_std,delta_top1_lo,delta_top1_hi,mcnemar_p,significant\n"
                   "qat,m,qat,minmax,c7,l4 pc,qat,c6,l4 pc,both,1000,2,10,0.5,7.5,12.5,2e-06,1\n");
    zp_strbuf_free(&acc);
    zp_strbuf_free(&sum);
    return dir;
}

int zp_tp_bars_interval(const char *dat, const char *series, size_t g, double *lo, double *hi)
{
    const char *p = dat_row(dat, series, g);
    if (!p)
        return 0;
    char l[64] = "", h[64] = "";
    double x, v;
    int lt;
    if (sscanf(p, "%lf,%lf,%d,%63[^,],%63[^,\n]", &x, &v, &lt, l, h) != 5)
        return 0;
    *lo = strcmp(l, "NaN") ? atof(l) : NAN;
    *hi = strcmp(h, "NaN") ? atof(h) : NAN;
    return 1;
}

int zp_tp_line_point(const char *dat, const char *title, size_t k, double *x, double *y, double *lo, double *hi)
{
    const char *p = dat_row(dat, title, k);
    if (!p)
        return 0;
    /* x, y, x label (may be empty), low, high */
    const char *f[5];
    f[0] = p;
    for (int i = 1; i < 5; i++) {
        const char *c = strchr(f[i - 1], ',');
        const char *nl = strchr(f[i - 1], '\n');
        if (!c || (nl && nl < c))
            return 0;
        f[i] = c + 1;
    }
    *x = atof(f[0]);
    *y = atof(f[1]);
    *lo = strncmp(f[3], "NaN", 3) ? atof(f[3]) : NAN;
    *hi = strncmp(f[4], "NaN", 3) ? atof(f[4]) : NAN;
    return 1;
}
