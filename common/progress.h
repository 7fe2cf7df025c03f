/* Progress on stderr for long runs: a redrawn bar on a terminal, plain lines
 * (at most one every 10 s) otherwise, nothing with --quiet.
 *
 * The ETA comes from what finished cells cost: each pending cell has a class
 * (the runner uses kind x mode: a weights-only cell costs a fraction of one with
 * quantized activations), and a cell is expected to cost the mean of its class,
 * or the mean of all finished cells while its class has none. One-time work done
 * inside a cell (loading a model, its float pass) is excluded from its cost. */
#ifndef ZP_COMMON_PROGRESS_H
#define ZP_COMMON_PROGRESS_H

#define ZP_PROGRESS_CLASSES 32

struct zp_progress {
    int quiet, tty;
    long total, done;
    double start, last_print;
    char what[160];
    /* cost model */
    int *cls;          /* class of each pending cell, in run order (NULL: no plan) */
    long n_cls;
    double cell_start, cell_excluded, sub;
    double cost_sum[ZP_PROGRESS_CLASSES];
    long cost_n[ZP_PROGRESS_CLASSES];
    long finished;     /* cells finished in this process (done also counts resumed ones) */
};

void zp_progress_init(struct zp_progress *p, long total, int quiet);
/* The classes (0..ZP_PROGRESS_CLASSES-1) of the n cells this run will execute, in
 * order; copied. Without a plan the ETA assumes every cell costs the same. */
void zp_progress_plan(struct zp_progress *p, const int *classes, long n);
/* Starts the next cell and names it ("asymmetric 8b per-channel, both"). */
void zp_progress_step(struct zp_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Fraction done inside the current step (0..1), e.g. batches evaluated. */
void zp_progress_sub(struct zp_progress *p, double frac);
/* Seconds of the current cell that were one-time work, not the cell's own cost. */
void zp_progress_exclude(struct zp_progress *p, double seconds);
/* The current cell finished. */
void zp_progress_advance(struct zp_progress *p);
/* A message line that doesn't fight with the bar. */
void zp_progress_note(struct zp_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A warning line ("warning: ..."), printed even when quiet: quiet silences
 * progress, not what the user must know about the results. */
void zp_progress_warn(struct zp_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void zp_progress_end(struct zp_progress *p);
void zp_progress_free(struct zp_progress *p);

/* Seconds left by the cost model at time now (-1 when nothing is known yet). */
double zp_progress_eta(const struct zp_progress *p, double now);
/* Formats the bar line for a terminal of `cols` columns into out (never wider
 * than cols - 1 characters, so the terminal never wraps it). */
void zp_progress_format(const struct zp_progress *p, double now, int cols, char *out, int n);

double zp_now(void); /* monotonic seconds */

#endif
