/* Progress on stderr for long runs: a redrawn bar on a terminal, plain lines
 * (at most one every few seconds) otherwise, nothing with --quiet. */
#ifndef ZP_HARNESS_PROGRESS_H
#define ZP_HARNESS_PROGRESS_H

struct zp_progress {
    int quiet, tty;
    long total, done;
    double start, last_print;
    char what[160];
};

void zp_progress_init(struct zp_progress *p, long total, int quiet);
/* Names the current step ("cell 3/40: asymmetric 8b per-channel, both"). */
void zp_progress_step(struct zp_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Fraction done inside the current step (0..1), e.g. batches evaluated. */
void zp_progress_sub(struct zp_progress *p, double frac);
void zp_progress_advance(struct zp_progress *p);
/* A message line that doesn't fight with the bar. */
/* A warning line ("warning: ..."), printed even when quiet: quiet silences
 * progress, not what the user must know about the results. */
void zp_progress_warn(struct zp_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void zp_progress_note(struct zp_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void zp_progress_end(struct zp_progress *p);
double zp_now(void); /* monotonic seconds */

#endif
