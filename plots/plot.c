/* zp_plots_render: load a run folder's CSVs, write every figure's script and
 * derived data into plots/, run gnuplot on them (in parallel, one process per
 * core), then write the report. gnuplot is $ZP_GNUPLOT or "gnuplot" on PATH. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plots/plot.h"
#include "plots/report.h"

static enum zp_status load_one(const char *dir, const char *file, struct zp_table *t, int *has,
                               struct zp_err *err)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    struct stat sb;
    *has = 0;
    if (stat(path, &sb) != 0)
        return ZP_OK; /* absent: its figures are skipped */
    enum zp_status st = zp_table_read(path, t, err);
    if (st == ZP_OK)
        *has = 1;
    return st;
}

enum zp_status zp_plot_run_load(struct zp_plot_run *r, const char *run_dir, struct zp_err *err)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s", run_dir);
    snprintf(r->plots, sizeof r->plots, "%s/plots", run_dir);
    struct stat sb;
    if (stat(run_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return zp_err_set(err, ZP_EINVAL, "%s: not a run folder: expected a directory, got %s",
                          run_dir, errno == ENOENT ? "nothing" : "a file");
    struct {
        const char *file;
        struct zp_table *t;
        int *has;
    } files[] = {
        {"accuracy.csv", &r->accuracy, &r->has_accuracy}, {"layers.csv", &r->layers, &r->has_layers},
        {"tensors.csv", &r->tensors, &r->has_tensors},    {"kernels.csv", &r->kernels, &r->has_kernels},
        {"peaks.csv", &r->peaks, &r->has_peaks},          {"weights_hist.csv", &r->whist, &r->has_whist},
        {"levels.csv", &r->levels, &r->has_levels},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        enum zp_status st = load_one(run_dir, files[i].file, files[i].t, files[i].has, err);
        if (st != ZP_OK) {
            zp_plot_run_free(r);
            return st;
        }
    }
    if (!r->has_accuracy && !r->has_layers && !r->has_tensors && !r->has_kernels && !r->has_whist)
        return zp_err_set(err, ZP_EINVAL,
                          "%s: no results CSV: expected at least one of accuracy.csv, layers.csv, "
                          "tensors.csv, kernels.csv, weights_hist.csv, got none",
                          run_dir);
    return ZP_OK;
}

void zp_plot_run_free(struct zp_plot_run *r)
{
    zp_table_free(&r->accuracy);
    zp_table_free(&r->layers);
    zp_table_free(&r->tensors);
    zp_table_free(&r->kernels);
    zp_table_free(&r->peaks);
    zp_table_free(&r->whist);
    zp_table_free(&r->levels);
}

static const char *gnuplot_bin(void)
{
    const char *g = getenv("ZP_GNUPLOT");
    return g && *g ? g : "gnuplot";
}

/* Starts `gnuplot NAME.gp` inside plots/ with its output in NAME.log; -1 on failure. */
static pid_t spawn_gnuplot(const char *plots, const char *name)
{
    char script[128], log[128];
    const char *bin = gnuplot_bin();
    snprintf(script, sizeof script, "%s.gp", name);
    snprintf(log, sizeof log, "%s.log", name);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* child: only async-signal-safe calls until exec */
    if (chdir(plots) != 0)
        _exit(126);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    execlp(bin, bin, script, (char *)NULL);
    _exit(127);
}

static int file_nonempty(const char *dir, const char *name, const char *ext)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    struct stat sb;
    return stat(path, &sb) == 0 && sb.st_size > 0;
}

static enum zp_status check_gnuplot(struct zp_err *err)
{
    pid_t pid = fork();
    if (pid < 0)
        return zp_err_set(err, ZP_EIO, "cannot start gnuplot: fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp(gnuplot_bin(), gnuplot_bin(), "--version", (char *)NULL);
        _exit(127);
    }
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "%s: gnuplot not found or not working: expected `%s --version` to succeed "
                          "(install the Debian package gnuplot-nox, or set ZP_GNUPLOT)",
                          gnuplot_bin(), gnuplot_bin());
    return ZP_OK;
}

static void reap(struct zp_plot_run *r, size_t i, pid_t pid)
{
    /* waits for this child only: the caller's other children are not ours to reap */
    int ws = 0;
    pid_t got;
    while ((got = waitpid(pid, &ws, 0)) < 0 && errno == EINTR)
        ;
    struct zp_plot_fig *f = &r->figs[i];
    f->rendered = got == pid && WIFEXITED(ws) && WEXITSTATUS(ws) == 0 &&
                  file_nonempty(r->plots, f->name, "png");
    if (f->rendered) {
        char log[4400];
        snprintf(log, sizeof log, "%s/%s.log", r->plots, f->name);
        unlink(log); /* kept only when it explains a failure */
    }
}

static enum zp_status run_all(struct zp_plot_run *r, struct zp_err *err)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t par = ncpu < 1 ? 1 : ncpu > 4 ? 4 : (size_t)ncpu;
    pid_t pids[ZP_PLOT_MAX_FIGS];
    size_t oldest = 0;
    /* at most `par` scripts at once, reaped in start order */
    for (size_t i = 0; i < r->nfigs; i++) {
        if (i - oldest >= par) {
            if (pids[oldest] > 0)
                reap(r, oldest, pids[oldest]);
            oldest++;
        }
        pids[i] = spawn_gnuplot(r->plots, r->figs[i].name);
    }
    for (; oldest < r->nfigs; oldest++)
        if (pids[oldest] > 0)
            reap(r, oldest, pids[oldest]);
    enum zp_status st = ZP_OK;
    for (size_t i = 0; i < r->nfigs; i++)
        if (!r->figs[i].rendered && st == ZP_OK)
            st = zp_err_set(err, ZP_EIO, "%s/%s.gp: gnuplot failed: see %s/%s.log", r->plots,
                            r->figs[i].name, r->plots, r->figs[i].name);
    return st;
}

enum zp_status zp_plots_render(const char *run_dir, struct zp_err *err)
{
    struct zp_plot_run *r = calloc(1, sizeof *r);
    if (!r)
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", run_dir);
    enum zp_status st = zp_plot_run_load(r, run_dir, err);
    if (st != ZP_OK) {
        free(r);
        return st;
    }
    if (mkdir(r->plots, 0755) != 0 && errno != EEXIST) {
        st = zp_err_set(err, ZP_EIO, "%s: cannot create: %s", r->plots, strerror(errno));
        goto out_free_run;
    }
    /* $ZP_PLOT_STYLE (a house style kept for a paper) replaces style.gp; otherwise
     * an existing style.gp is the user's restyling of this run: keep it. */
    char style[4400];
    snprintf(style, sizeof style, "%s/style.gp", r->plots);
    struct stat sb;
    const char *user_style = getenv("ZP_PLOT_STYLE");
    if (user_style && *user_style) {
        FILE *in = fopen(user_style, "rb");
        if (!in) {
            st = zp_err_set(err, ZP_EIO, "ZP_PLOT_STYLE=%s: cannot open: %s", user_style, strerror(errno));
            goto out_free_run;
        }
        struct zp_sbuf text = {0};
        char buf[4096];
        size_t got;
        while ((got = fread(buf, 1, sizeof buf - 1, in)) > 0) {
            buf[got] = '\0';
            zp_sbuf_printf(&text, "%s", buf);
        }
        fclose(in);
        st = zp_plot_write(r, "style.gp", text.s ? text.s : "", err);
        zp_sbuf_free(&text);
        if (st != ZP_OK)
            goto out_free_run;
    } else if (stat(style, &sb) != 0 &&
               (st = zp_plot_write(r, "style.gp", zp_plot_style_text(), err)) != ZP_OK) {
        goto out_free_run;
    }

    enum zp_status (*const writers[])(struct zp_plot_run *, struct zp_err *) = {
        zp_plot_figs_tensors, zp_plot_figs_accuracy, zp_plot_figs_layers,
        zp_plot_figs_kernels, zp_plot_figs_hist,
    };
    for (size_t i = 0; i < sizeof writers / sizeof writers[0] && st == ZP_OK; i++)
        st = writers[i](r, err);
    if (st != ZP_OK)
        goto out_free_run;
    st = check_gnuplot(err);
    if (st == ZP_OK)
        st = run_all(r, err);
    /* The report is written even when a figure failed: it says which. */
    struct zp_err rerr = {0};
    enum zp_status rst = zp_report_write(r, &rerr);
    if (st == ZP_OK && rst != ZP_OK) {
        st = rst;
        if (err)
            *err = rerr;
    }
out_free_run:
    zp_plot_run_free(r);
    free(r);
    return st;
}
