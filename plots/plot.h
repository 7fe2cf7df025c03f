/* Figures of a run folder, rendered from its CSVs only (DESIGN.md section 6).
 *
 * zp_plots_render() reads whichever of accuracy.csv, layers.csv, tensors.csv,
 * kernels.csv (+ peaks.csv), weights_hist.csv (+ levels.csv) exist in a run folder,
 * writes into <run_dir>/plots/ one gnuplot script per figure plus the small data
 * files derived from the CSVs that the script plots, runs gnuplot on each script
 * (PNG + SVG + PDF), and then writes the run report (<run_dir>/report.md and
 * report.html, plots/report.h). Every script loads plots/style.gp, the one
 * shared style (fonts, formats, a fixed colour and marker per scheme); a style.gp
 * already present in plots/ is kept, so a user's restyling survives a rerun.
 *
 * The rest of this header is the internal interface between plot*.c and report*.c. */
#ifndef ZP_HARNESS_PLOT_H
#define ZP_HARNESS_PLOT_H

#include <stddef.h>
#include <stdio.h>

#include "common/err.h"
#include "store/table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Renders every figure whose CSVs exist, then the report. ZP_EINVAL when the
 * folder holds none of the results CSVs; ZP_EIO when a file can't be written;
 * ZP_EUNSUPPORTED when gnuplot is missing; ZP_EFORMAT for a malformed CSV.
 * A figure whose script fails is named in the error (its gnuplot log is
 * plots/<name>.log); the other figures and the report are still written. */
enum zp_status zp_plots_render(const char *run_dir, struct zp_err *err);

/* ---- the run's data and the list of figures ---- */

#define ZP_PLOT_MAX_FIGS 32

struct zp_plot_fig {
    char name[64];     /* file stem: plots/<name>.{gp,png,svg,pdf} */
    char title[160];   /* heading in the report */
    char caption[512]; /* one line for the report */
    int rendered;      /* gnuplot produced the PNG */
};

struct zp_plot_run {
    char dir[4096];        /* the run folder */
    char plots[4200];      /* <dir>/plots */
    struct zp_table tensors, accuracy, layers, kernels, peaks, whist, levels;
    int has_tensors, has_accuracy, has_layers, has_kernels, has_peaks, has_whist, has_levels;
    struct zp_plot_fig figs[ZP_PLOT_MAX_FIGS];
    size_t nfigs;
};

/* Loads every CSV present (missing ones leave has_x = 0). */
enum zp_status zp_plot_run_load(struct zp_plot_run *r, const char *run_dir, struct zp_err *err);
void zp_plot_run_free(struct zp_plot_run *r);

/* The figure writers (harness/plot_fig_*.c): each writes plots/<name>.gp and its
 * data files and registers the figure, or does nothing when its CSVs lack the rows
 * it needs. */
enum zp_status zp_plot_figs_tensors(struct zp_plot_run *r, struct zp_err *err);
enum zp_status zp_plot_figs_accuracy(struct zp_plot_run *r, struct zp_err *err);
enum zp_status zp_plot_figs_layers(struct zp_plot_run *r, struct zp_err *err);
enum zp_status zp_plot_figs_kernels(struct zp_plot_run *r, struct zp_err *err);
enum zp_status zp_plot_figs_hist(struct zp_plot_run *r, struct zp_err *err);

/* ---- building blocks shared by the figure writers (plots/plot_util.c) ---- */

/* A growable string. */
struct zp_sbuf {
    char *s;
    size_t len, cap;
    int oom;
};
void zp_sbuf_printf(struct zp_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void zp_sbuf_free(struct zp_sbuf *b);

/* The fixed gnuplot linetype of a scheme (or anchor library) name, 1-based,
 * defined in style.gp: the same colour and marker in every figure. */
int zp_plot_scheme_lt(const char *scheme);
/* The text of the default style.gp. */
const char *zp_plot_style_text(void);
/* The i-th fill style ("solid 0.85" / "pattern 4" ...) for the i-th bar of a colour. */
const char *zp_plot_fill(size_t i);
/* Appends s as a gnuplot single-quoted string (quotes doubled). */
void zp_plot_quote(struct zp_sbuf *b, const char *s);
/* Writes text to <plots>/<file>. */
enum zp_status zp_plot_write(const struct zp_plot_run *r, const char *file, const char *text,
                             struct zp_err *err);
/* Registers a figure whose script has been written. */
void zp_plot_add_fig(struct zp_plot_run *r, const char *name, const char *title,
                     const char *caption);
/* Opening lines of every script: header comment, style, the loop over formats. */
void zp_plot_script_begin(struct zp_sbuf *gp, const char *name, const char *what,
                          const char *sources);
/* Closing lines: ends the loop over formats. */
void zp_plot_script_end(struct zp_sbuf *gp);

/* A string set, in first-seen order. */
struct zp_strset {
    char **v;
    size_t n, cap;
};
/* Index of s, adding it when new; -1 on allocation failure. */
int zp_strset_add(struct zp_strset *set, const char *s);
int zp_strset_find(const struct zp_strset *set, const char *s);
void zp_strset_free(struct zp_strset *set);

/* Grouped bars: groups along x, one bar per series in each group. */
struct zp_bars {
    struct zp_strset groups, series;
    struct zp_strset group_scheme, series_scheme; /* scheme of each, for the colour */
    int colour_by_group; /* 1: a bar's colour is its group's scheme, series differ by fill */
    double *sum;         /* groups.n * series.n, grown on add */
    double *best;
    size_t *cnt;
    size_t gcap, scap;
    int use_max;         /* 1: a cell holds the largest value added, else the mean */
    int log_y;           /* 1: the caller set a log y axis (no zero baseline) */
    const char *value_fmt; /* printf format of a value label above each bar, or NULL */
};
/* Adds one value to the (group, series) cell; NaN values are ignored. */
void zp_bars_add(struct zp_bars *b, const char *group, const char *group_scheme,
                 const char *series, const char *series_scheme, double v);
/* The cell's value (mean or max), NaN when empty. */
double zp_bars_get(const struct zp_bars *b, size_t g, size_t s);
void zp_bars_free(struct zp_bars *b);
/* Writes <name>.dat and the plot command for the bars into gp (after the caller's
 * axis settings). Returns ZP_OK without writing anything when b is empty. */
enum zp_status zp_bars_emit(const struct zp_plot_run *r, const struct zp_bars *b, const char *name,
                            struct zp_sbuf *gp, const char *extra_plot, struct zp_err *err);

/* Lines: one series of (x, y) points per variant. */
struct zp_line {
    char title[256];
    char scheme[64];
    size_t n, cap;
    double *x, *y;
    char **xlabel; /* optional label of each point (layer names) */
};
struct zp_lines {
    struct zp_line *v;
    size_t n, cap;
};
/* The series titled title (created on first use). NULL on allocation failure. */
struct zp_line *zp_lines_get(struct zp_lines *l, const char *title, const char *scheme);
void zp_line_add(struct zp_line *line, double x, double y, const char *xlabel);
void zp_lines_free(struct zp_lines *l);
/* Writes <name>.dat (one block per series, sorted by x) and the plot command. */
enum zp_status zp_lines_emit(const struct zp_plot_run *r, const struct zp_lines *l,
                             const char *name, struct zp_sbuf *gp, int use_xlabels,
                             const char *extra_plot, struct zp_err *err);

/* Which PTQ mode the summary figures show: "both" when present, else "weights",
 * else "activations" (NULL when accuracy.csv has no PTQ row). */
const char *zp_plot_primary_mode(const struct zp_plot_run *r);
/* The variant label of an accuracy/layers/tensors row: the label column, or built
 * from scheme, bits, granularity when the column is absent or empty. */
void zp_plot_row_label(const struct zp_table *t, size_t row, char *out, size_t n);
/* The label with a " nudge=..." / " calibration=..." part removed (key=value word). */
void zp_plot_strip_word(const char *label, const char *key, char *out, size_t n);
/* The top-1 drop of an accuracy.csv row in percentage points: 100 * (float_top1 -
 * top1) from the two fraction columns, which are unambiguous; the drop column (points,
 * DESIGN.md section 5) only when one of them is missing. */
double zp_plot_drop_points(const struct zp_table *t, size_t row);
/* Mean float_top1 of accuracy.csv (NaN when absent). */
double zp_plot_float_top1(const struct zp_plot_run *r);

#ifdef __cplusplus
}
#endif
#endif
