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

/* The value of group g in the block of the series titled `series` of a bars .dat. */
double zp_tp_bars_value(const char *dat, const char *series, size_t g)
{
    char head[512];
    snprintf(head, sizeof head, ": %s\n", series);
    const char *p = strstr(dat, head);
    if (!p)
        return NAN;
    p = strchr(p, '\n') + 1;
    for (size_t i = 0; i < g; i++)
        p = strchr(p, '\n') + 1;
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
