/* Running gnuplot on the figure scripts: in parallel (at most one process per
 * core, 4 at most), each inside plots/ with its output in <name>.log. A script
 * writes <name>.part.<fmt> (zp_part, plots/plot_script.c); only when gnuplot
 * exits 0 are those flushed to disk and renamed over <name>.<fmt>, so a refused
 * script or a full disk never leaves a truncated figure. gnuplot is $ZP_GNUPLOT
 * or "gnuplot" on PATH. A failure is a warning, never an error. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plots/plot_int.h"

static const char *const formats[] = {"png", "svg", "pdf"};
#define N_FORMATS (sizeof formats / sizeof formats[0])

static const char *gnuplot_bin(void)
{
    const char *g = getenv("ZP_GNUPLOT");
    return g && *g ? g : "gnuplot";
}

/* Starts `gnuplot -e "zp_part='.part'" NAME.gp` inside plots/; -1 on failure. */
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
    execlp(bin, bin, "-e", "zp_part='.part'", script, (char *)NULL);
    _exit(127);
}

static int gnuplot_works(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return 0;
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
    return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
}

static void fig_path(char *out, size_t n, const char *plots, const char *name, const char *part,
                     const char *ext)
{
    snprintf(out, n, "%s/%s%s.%s", plots, name, part, ext);
}

/* fsync + rename of one output; 1 when it was there and is now in place, 0 when
 * gnuplot did not write that format (not in zp_formats), -1 on failure (errno). */
static int commit_output(const char *plots, const char *name, const char *ext)
{
    char part[4400], final[4400];
    fig_path(part, sizeof part, plots, name, ".part", ext);
    fig_path(final, sizeof final, plots, name, "", ext);
    int fd = open(part, O_RDONLY);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    struct stat sb;
    errno = 0;
    int ok = fstat(fd, &sb) == 0 && sb.st_size > 0 && fsync(fd) == 0;
    int e = errno;
    close(fd);
    if (!ok) {
        unlink(part);
        errno = e ? e : EIO; /* an empty file: gnuplot wrote nothing */
        return -1;
    }
    if (rename(part, final) != 0) {
        e = errno;
        unlink(part);
        errno = e;
        return -1;
    }
    return 1;
}

static void reap(struct zp_plot_run *r, size_t i, pid_t pid)
{
    /* waits for this child only: the caller's other children are not ours to reap */
    int ws = 0;
    pid_t got = pid;
    if (pid > 0)
        while ((got = waitpid(pid, &ws, 0)) < 0 && errno == EINTR)
            ;
    struct zp_plot_fig *f = &r->figs[i];
    int ok = pid > 0 && got == pid && WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
    char path[4400];
    size_t written = 0;
    for (size_t k = 0; k < N_FORMATS; k++) {
        if (!ok) {
            /* neither the partial output nor a stale figure of an earlier render
             * may stand next to this script as if it were its picture */
            fig_path(path, sizeof path, r->plots, f->name, ".part", formats[k]);
            unlink(path);
            fig_path(path, sizeof path, r->plots, f->name, "", formats[k]);
            unlink(path);
            continue;
        }
        int c = commit_output(r->plots, f->name, formats[k]);
        if (c < 0) {
            zp_plot_warn(r, "figure %s: cannot write plots/%s.%s: %s", f->name, f->name, formats[k],
                         strerror(errno));
            ok = 0;
        }
        written += c > 0;
    }
    if (ok && !written) {
        zp_plot_warn(r, "figure %s: gnuplot wrote no output (is zp_formats in plots/style.gp empty?)",
                     f->name);
        ok = 0;
    }
    f->rendered = ok;
    fig_path(path, sizeof path, r->plots, f->name, "", "png");
    struct stat sb;
    f->has_png = ok && stat(path, &sb) == 0 && sb.st_size > 0;
    fig_path(path, sizeof path, r->plots, f->name, "", "log");
    if (ok) {
        unlink(path); /* kept only when it explains a failure */
    } else if (pid <= 0) {
        zp_plot_warn(r, "figure %s not drawn: cannot start gnuplot: %s", f->name, strerror(errno));
    } else if (!(WIFEXITED(ws) && WEXITSTATUS(ws) == 0)) {
        /* gnuplot reports an error as `"NAME.gp" line N: message`; warnings carry
         * "warning:". The first error line (else the last line) names the cause. */
        char first[240] = "", last[240] = "";
        FILE *lf = fopen(path, "r");
        char line[512];
        while (lf && fgets(line, sizeof line, lf)) {
            line[strcspn(line, "\n")] = '\0';
            if (!*line)
                continue;
            snprintf(last, sizeof last, ": %s", line);
            if (!*first && strstr(line, " line ") && strchr(line, ':') && !strstr(line, "warning:"))
                snprintf(first, sizeof first, ": %s", line);
        }
        if (lf)
            fclose(lf);
        if (!*first)
            memcpy(first, last, sizeof first);
        zp_plot_warn(r, "figure %s not drawn: gnuplot refused plots/%s.gp%s (see plots/%s.log)",
                     f->name, f->name, first, f->name);
    }
}

void zp_plot_run_gnuplot(struct zp_plot_run *r)
{
    if (!r->nfigs)
        return;
    if (!gnuplot_works()) {
        r->warn->no_gnuplot = 1;
        zp_plot_warn(r, "gnuplot not found or not working (`%s --version` failed): no figure was "
                        "drawn, the %zu script%s %s in %s (install the Debian package gnuplot-nox, "
                        "or set ZP_GNUPLOT)",
                     gnuplot_bin(), r->nfigs, r->nfigs == 1 ? "" : "s", r->nfigs == 1 ? "is" : "are",
                     r->plots);
        return;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t par = ncpu < 1 ? 1 : ncpu > 4 ? 4 : (size_t)ncpu;
    pid_t pids[ZP_PLOT_MAX_FIGS];
    size_t oldest = 0;
    /* at most `par` scripts at once, reaped in start order */
    for (size_t i = 0; i < r->nfigs; i++) {
        if (i - oldest >= par) {
            reap(r, oldest, pids[oldest]);
            oldest++;
        }
        pids[i] = spawn_gnuplot(r->plots, r->figs[i].name);
    }
    for (; oldest < r->nfigs; oldest++)
        reap(r, oldest, pids[oldest]);
}
