/* Progress reporting: see progress.h. */
#include "common/progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
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
    p->start = zp_now();
}

static void draw(struct zp_progress *p, double sub, int force)
{
    if (p->quiet)
        return;
    double now = zp_now();
    double frac = p->total ? ((double)p->done + sub) / (double)p->total : 1.0;
    if (p->tty) {
        if (!force && now - p->last_print < 0.1)
            return;
        int width = 24, fill = (int)(frac * width + 0.5);
        char bar[32];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        double el = now - p->start;
        double eta = frac > 0.01 ? el / frac - el : -1;
        char etas[32] = "";
        if (eta >= 0)
            snprintf(etas, sizeof etas, " eta %.0fs", eta);
        fprintf(stderr, "\r\033[K[%s] %3.0f%% %ld/%ld %.0fs%s  %.70s", bar, frac * 100, p->done,
                p->total, el, etas, p->what);
    } else {
        /* Plain lines for logs: at most one every 10 s, whatever the caller asks. */
        if (p->last_print > 0 && now - p->last_print < 10.0)
            return;
        fprintf(stderr, "progress: %ld/%ld cells (%.0f%%), %.0f s: %s\n", p->done, p->total,
                frac * 100, now - p->start, p->what);
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
    draw(p, 0, 1);
}

void zp_progress_sub(struct zp_progress *p, double frac)
{
    draw(p, frac, 0);
}

void zp_progress_advance(struct zp_progress *p)
{
    p->done++;
    draw(p, 0, p->tty);
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
        draw(p, 0, 1);
}

void zp_progress_end(struct zp_progress *p)
{
    if (p->quiet)
        return;
    if (p->tty)
        fprintf(stderr, "\r\033[K");
    fprintf(stderr, "done: %ld/%ld cells in %.1f s\n", p->done, p->total, zp_now() - p->start);
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
