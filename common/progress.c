/* Progress reporting: see progress.h. */
#include "common/progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

double zp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void zp_progress_init(struct zp_progress *p, long total, int quiet)
{
    memset(p, 0, sizeof *p);
    p->quiet = quiet;
    p->tty = isatty(2);
    p->total = total;
    p->start = p->cell_start = zp_now();
}

void zp_progress_plan(struct zp_progress *p, const int *classes, long n)
{
    free(p->cls);
    p->cls = n > 0 ? malloc((size_t)n * sizeof *p->cls) : NULL;
    p->n_cls = p->cls ? n : 0;
    for (long i = 0; i < p->n_cls; i++)
        p->cls[i] = classes[i] < 0 || classes[i] >= ZP_PROGRESS_CLASSES ? 0 : classes[i];
}

void zp_progress_free(struct zp_progress *p)
{
    free(p->cls);
    p->cls = NULL;
    p->n_cls = 0;
}

/* Expected cost of a cell of class c; -1 when no cell has finished yet. */
static double expected(const struct zp_progress *p, int c)
{
    if (c >= 0 && p->cost_n[c] > 0)
        return p->cost_sum[c] / (double)p->cost_n[c];
    double s = 0;
    long n = 0;
    for (int k = 0; k < ZP_PROGRESS_CLASSES; k++) {
        s += p->cost_sum[k];
        n += p->cost_n[k];
    }
    return n ? s / (double)n : -1;
}

double zp_progress_eta(const struct zp_progress *p, double now)
{
    long remaining = p->total - p->done; /* includes the current cell */
    if (remaining <= 0)
        return 0;
    double in_cell = now - p->cell_start - p->cell_excluded;
    if (in_cell < 0)
        in_cell = 0;
    int cur = p->finished < p->n_cls ? p->cls[p->finished] : -1;
    double e_cur = expected(p, cur);
    if (e_cur < 0) {
        /* nothing finished yet: extrapolate the current cell from its own fraction */
        if (p->sub < 0.05)
            return -1;
        e_cur = in_cell / p->sub;
    }
    double eta = e_cur - in_cell > 0 ? e_cur - in_cell : 0;
    for (long i = 1; i < remaining; i++) {
        long k = p->finished + i;
        double e = expected(p, k < p->n_cls ? p->cls[k] : -1);
        eta += e < 0 ? e_cur : e;
    }
    return eta;
}

void zp_progress_format(const struct zp_progress *p, double now, int cols, char *out, int n)
{
    double frac = p->total ? ((double)p->done + p->sub) / (double)p->total : 1.0;
    double el = now - p->start, eta = zp_progress_eta(p, now);
    char tail[64] = "";
    if (eta >= 0)
        snprintf(tail, sizeof tail, " eta %.0fs", eta);
    char stats[96];
    snprintf(stats, sizeof stats, "%3.0f%% %ld/%ld %.0fs%s", frac * 100, p->done, p->total, el, tail);
    /* [bar] stats  what: the bar shrinks first, then the step name is cut */
    int avail = cols - 1, slen = (int)strlen(stats);
    int width = (avail - slen - 3) / 4;
    if (width > 24)
        width = 24;
    if (width < 0)
        width = 0;
    char bar[32];
    int fill = (int)(frac * width + 0.5);
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    int used = width ? snprintf(out, (size_t)n, "[%s] %s", bar, stats) : snprintf(out, (size_t)n, "%s", stats);
    if (used >= avail) {
        out[avail > 0 && avail < n ? avail : 0] = '\0';
        return;
    }
    int room = avail - used - 2;
    if (room > 0 && used + 2 < n)
        snprintf(out + used, (size_t)(n - used), "  %.*s", room, p->what);
}

static int terminal_columns(void)
{
    struct winsize ws;
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    return c && atoi(c) > 0 ? atoi(c) : 80;
}

static void draw(struct zp_progress *p, int force)
{
    if (p->quiet)
        return;
    double now = zp_now();
    if (p->tty) {
        if (!force && now - p->last_print < 0.1)
            return;
        char line[512];
        zp_progress_format(p, now, terminal_columns(), line, (int)sizeof line);
        fprintf(stderr, "\r\033[K%s", line);
    } else {
        /* Plain lines for logs: at most one every 10 s, whatever the caller asks. */
        if (p->last_print > 0 && now - p->last_print < 10.0)
            return;
        double frac = p->total ? ((double)p->done + p->sub) / (double)p->total : 1.0;
        double eta = zp_progress_eta(p, now);
        char etas[48] = "";
        if (eta >= 0)
            snprintf(etas, sizeof etas, ", eta %.0f s", eta);
        fprintf(stderr, "progress: %ld/%ld cells (%.0f%%), %.0f s%s: %s\n", p->done, p->total,
                frac * 100, now - p->start, etas, p->what);
    }
    fflush(stderr);
    p->last_print = now;
}

void zp_progress_step(struct zp_progress *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->what, sizeof p->what, fmt, ap);
    va_end(ap);
    p->cell_start = zp_now();
    p->cell_excluded = 0;
    p->sub = 0;
    draw(p, 1);
}

void zp_progress_sub(struct zp_progress *p, double frac)
{
    p->sub = frac < 0 ? 0 : frac > 1 ? 1 : frac;
    draw(p, 0);
}

void zp_progress_exclude(struct zp_progress *p, double seconds)
{
    p->cell_excluded += seconds;
}

void zp_progress_advance(struct zp_progress *p)
{
    double cost = zp_now() - p->cell_start - p->cell_excluded;
    int c = p->finished < p->n_cls ? p->cls[p->finished] : 0;
    p->cost_sum[c] += cost > 0 ? cost : 0;
    p->cost_n[c]++;
    p->finished++;
    p->done++;
    p->sub = 0;
    p->cell_start = zp_now();
    p->cell_excluded = 0;
    draw(p, p->tty);
}

void zp_progress_note(struct zp_progress *p, const char *fmt, ...)
{
    if (p->quiet)
        return;
    if (p->tty)
        fprintf(stderr, "\r\033[K");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (p->tty)
        draw(p, 1);
}

void zp_progress_warn(struct zp_progress *p, const char *fmt, ...)
{
    if (p->tty && !p->quiet)
        fprintf(stderr, "\r\033[K");
    fputs("warning: ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

void zp_progress_end(struct zp_progress *p)
{
    if (!p->quiet) {
        if (p->tty)
            fprintf(stderr, "\r\033[K");
        fprintf(stderr, "done: %ld/%ld cells in %.1f s\n", p->done, p->total, zp_now() - p->start);
    }
    zp_progress_free(p);
}
