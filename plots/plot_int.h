/* The internal interface of plots/: the run being rendered, the figure writers
 * and the building blocks they share. Only the files of plots/ and the tests include it. */
#ifndef ZP_PLOTS_PLOT_INT_H
#define ZP_PLOTS_PLOT_INT_H

#include <stddef.h>

#include "common/err.h"
#include "common/strbuf.h"
#include "plots/plot.h"
#include "store/table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the run's data and the list of figures (plots/plot.c) ---- */

#define ZP_PLOT_MAX_FIGS 32
#define ZP_PLOT_N_EXTRA 5 /* linetypes 10..14 of style.gp: schemes not in its table */

struct zp_plot_fig {
    char name[64];     /* file stem: plots/<name>.{gp,png,svg,pdf} */
    char title[160];   /* heading in the report */
    char caption[1024]; /* one line for the report (the longest, accuracy_top1 with error
                           bars, is ~750 characters; 512 once cut it mid-word) */
    int rendered;      /* gnuplot drew it (at least one output format) */
    int has_png;       /* plots/<name>.png exists: the report embeds it */
};

/* Which extra linetype each plugin scheme got, in order of first use: one colour
 * per scheme across every figure of one render (owned by the render, not global). */
struct zp_plot_style {
    char extra[ZP_PLOT_N_EXTRA][64];
    size_t nextra;
};

struct zp_plot_run {
    char dir[4096];        /* the run folder */
    char plots[4200];      /* <dir>/plots */
    struct zp_table tensors, accuracy, layers, kernels, peaks, whist, levels, summary, pairs;
    /* accuracy.csv's float-model rows (mode float), moved out of `accuracy` at load
     * so no figure or finding draws or counts the float model as a scheme */
    struct zp_table accuracy_float;
    int has_tensors, has_accuracy, has_layers, has_kernels, has_peaks, has_whist, has_levels;
    int has_summary, has_pairs; /* summary.csv, summary_pairs.csv (docs/statistics.md) */
    struct zp_plot_fig figs[ZP_PLOT_MAX_FIGS];
    size_t nfigs;
    struct zp_plot_style style;
    struct zp_plot_warnings *warn; /* never NULL during a render */
};

/* "Best variant" choices (plots/plot_select.c). A slot function names the slot of
 * accuracy.csv row i (returns 0 when the row is not in the figure). In each slot
 * the cell (model, label, mode, calibration) with the highest mean select_top1 over
 * its replicates is kept (keep[i] = 1 for all its rows); select_top1 is measured on
 * the select split, never on the evaluation set. Without a select split no
 * selection is made: the slot's first cell in file order (config order) is kept.
 * Returns 1 when the choice used the select split. */
typedef int (*zp_plot_slot_fn)(const struct zp_table *t, size_t row, char *slot, size_t n, const void *ctx);
/* "_<model>" with every character but letters and digits replaced by '_': the file
 * name suffix of a multi-model run's per-model figures (the first model's figures
 * keep the plain names). */
void zp_plot_model_suffix(const char *model, char *out, size_t n);
int zp_plot_choose(const struct zp_table *t, zp_plot_slot_fn slot, const void *ctx, unsigned char *keep);
/* How a figure or finding says which choice it made. */
const char *zp_plot_choice_words(int with_select);

/* Loads every CSV present (missing ones leave has_x = 0). */
enum zp_status zp_plot_run_load(struct zp_plot_run *r, const char *run_dir, struct zp_err *err);
void zp_plot_run_free(struct zp_plot_run *r);

/* Runs gnuplot on every registered figure (plots/plot_gnuplot.c): each writes
 * <name>.part.<fmt>, renamed to <name>.<fmt> once gnuplot succeeded; a failure is
 * a warning naming plots/<name>.log. */
void zp_plot_run_gnuplot(struct zp_plot_run *r);

/* Adds a warning (kept in r->warn, printed by the caller, listed in the report). */
void zp_plot_warn(struct zp_plot_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The figure writers (plots/plot_fig_*.c): each writes plots/<name>.gp and its
 * data files and registers the figure, or does nothing when its CSVs lack the rows
 * it needs. */
enum zp_status zp_plot_figs_tensors(struct zp_plot_run *r, struct zp_err *err);
enum zp_status zp_plot_figs_accuracy(struct zp_plot_run *r, struct zp_err *err);
enum zp_status zp_plot_figs_layers(struct zp_plot_run *r, struct zp_err *err);
enum zp_status zp_plot_figs_kernels(struct zp_plot_run *r, struct zp_err *err);
enum zp_status zp_plot_figs_hist(struct zp_plot_run *r, struct zp_err *err);
enum zp_status zp_plot_figs_lm(struct zp_plot_run *r, struct zp_err *err);

/* ---- string set (plots/plot_sbuf.c); strings are common/strbuf.h ---- */


/* A string set, in first-seen order. */
struct zp_strset {
    char **v;
    size_t n, cap;
};
/* Index of s, adding it when new; -1 on allocation failure. */
int zp_strset_add(struct zp_strset *set, const char *s);
int zp_strset_find(const struct zp_strset *set, const char *s);
void zp_strset_free(struct zp_strset *set);
/* The models of a table in first-appearance order ("" for a table without a model
 * column): the per-model figures iterate over them. */
void zp_plot_models(const struct zp_table *t, struct zp_strset *out);

/* ---- the style (plots/plot_style.c) ---- */

/* The text of the default style.gp: plots/style.gp, compiled in. */
const char *zp_plot_style_text(void);
/* The fixed gnuplot linetype of a scheme (or anchor library) name, 1-based, as
 * style.gp defines it; plugin schemes get 10..14 in order of first use. */
int zp_plot_scheme_lt(struct zp_plot_style *st, const char *scheme);
/* The i-th fill style ("solid 0.85 ..." / "pattern 4 ...") for the i-th bar of a colour. */
const char *zp_plot_fill(size_t i);
/* The i-th dash pattern (gnuplot dt argument): 8 distinct ones, then they repeat
 * (lines then also change marker: zp_plot_marker). */
const char *zp_plot_dash(size_t i);
/* The i-th replacement marker (5 distinct ones), for the lines of one colour
 * beyond the eighth: keeps (colour, dash, marker) unique within a figure. */
int zp_plot_marker(size_t i);

/* ---- scripts and figure files (plots/plot_script.c) ---- */

/* Appends s as a gnuplot single-quoted string (quotes doubled). */
void zp_plot_quote(struct zp_strbuf *b, const char *s);
/* Writes text to <plots>/<file> atomically (temporary name, fsync, rename). */
enum zp_status zp_plot_write(const struct zp_plot_run *r, const char *file, const char *text,
                             struct zp_err *err);
/* Opening lines of every script: header comment, style, the loop over formats. */
void zp_plot_script_begin(struct zp_strbuf *gp, const char *name, const char *what,
                          const char *sources);
/* Closing lines: ends the loop over formats. */
void zp_plot_script_end(struct zp_strbuf *gp);
/* Sets the key: outside right when the titles are few and short, else above the
 * plot in columns, so that a legend never takes a third of the width. */
void zp_plot_key(struct zp_strbuf *gp, size_t n, size_t maxlen);
/* Adds the titled items of extra plot text (reference lines) to n and maxlen. */
void zp_plot_key_extra(const char *extra_plot, size_t *n, size_t *maxlen);
/* Ends a figure whose script is in gp: closes the script, writes <name>.gp,
 * registers the figure and frees gp. st is the status of building it so far. */
enum zp_status zp_plot_fig_finish(struct zp_plot_run *r, struct zp_strbuf *gp, const char *name,
                                  const char *title, const char *caption, enum zp_status st,
                                  struct zp_err *err);

/* ---- grouped bars (plots/plot_bars.c) ---- */

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
    int log_y;           /* 1: a log y axis (no zero baseline, the caller sets logscale) */
    double y_cap;        /* > 0: the axis never goes above it (100 for an accuracy in %) */
    int symlog_ok;       /* 1: when the bars span decades (a 0.3-point drop next to an
                            80-point one) the y axis is linear up to c and logarithmic
                            beyond, for both signs (symlog), so that every bar reads */
    const char *ylabel;  /* y axis title (emit adds the symlog note), or NULL */
    const char *xlabel;  /* x axis title (emit adds the words common to all groups), or NULL */
    const char *value_fmt; /* printf format of a value label at each bar's end, or NULL */
    /* error bars (zp_bars_interval): [lo, hi] per (group, series), drawn when set */
    struct zp_bar_interval {
        char group[160], series[96];
        double lo, hi;
    } *iv;
    size_t n_iv, iv_cap;
};
/* Sets the error bar of the (group, series) bar: the interval [lo, hi] in the bar's
 * units (e.g. a 95 % bootstrap interval from summary.csv). Call it once per value
 * added (zp_bars_add), NaN when that value has no interval: a bar whose values
 * bring different intervals, or a NaN, averages several cells and gets none. */
void zp_bars_interval(struct zp_bars *b, const char *group, const char *series, double lo, double hi);
/* The error bar of bar (g, s): 1 and [lo, hi] when it has one, else 0. */
int zp_bars_get_interval(const struct zp_bars *b, size_t g, size_t s, double *lo, double *hi);
/* How many bars that have a value have an error bar (returned) and how many do not
 * (*without); 0 and 0 when no interval was ever set. */
size_t zp_bars_count_intervals(const struct zp_bars *b, size_t *without);
/* Adds one value to the (group, series) cell; NaN values are ignored. */
void zp_bars_add(struct zp_bars *b, const char *group, const char *group_scheme,
                 const char *series, const char *series_scheme, double v);
/* Declares a series up front (fixes the order of the bars within a group). */
void zp_bars_series(struct zp_bars *b, const char *series);
/* The cell's value (mean or max), NaN when empty. */
double zp_bars_get(const struct zp_bars *b, size_t g, size_t s);
/* The scheme recorded for group g. */
const char *zp_bars_group_scheme(const struct zp_bars *b, size_t g);
void zp_bars_free(struct zp_bars *b);
/* Writes <name>.dat and the axis settings and plot command for the bars into gp
 * (after the caller's settings). Returns ZP_OK without writing anything when b is
 * empty. The y range is always a valid one: all-zero bars get [0:1]. */
enum zp_status zp_bars_emit(struct zp_plot_run *r, const struct zp_bars *b, const char *name,
                            struct zp_strbuf *gp, const char *extra_plot, struct zp_err *err);

/* One bar chart with its report entry: script, data, registration. */
struct zp_bar_fig {
    const char *name;     /* file stem */
    const char *what;     /* script header: what the figure shows */
    const char *sources;  /* script header: which CSV columns */
    const char *title;    /* plot title */
    const char *xlabel, *ylabel;
    const char *settings; /* more gnuplot lines before the plot, or NULL */
    const char *extra_plot; /* more plot items (reference lines), or NULL */
    const char *heading, *caption; /* report */
};
/* Does nothing when b has no bars. */
enum zp_status zp_plot_bar_figure(struct zp_plot_run *r, const struct zp_bar_fig *f,
                                  const struct zp_bars *b, struct zp_err *err);

/* ---- axis ticks and tick labels (plots/plot_axis.c) ---- */

/* The ticks of a symlog axis with threshold c spanning data values [lo, hi], in
 * ascending order (at most cap): 0 and +-10^k (k from the decade of c up; 1-3-10
 * while a side spans less than two decades). Returns the count. */
size_t zp_plot_symlog_ticks(double c, double lo, double hi, double *out, size_t cap);
/* Removes the words every label shares (split at spaces) into common; out holds n
 * rows of width characters. Returns 1 when shortened, 0 (out = labels, common
 * empty) when nothing is shared or shortening would leave a label empty or two equal. */
int zp_plot_label_shorten(const char *const *labels, size_t n, char *out, size_t width, char *common,
                          size_t ncommon);
/* s with line breaks at spaces so that lines stay within width characters (a longer
 * word stays whole); returns the number of lines. */
size_t zp_plot_label_wrap(const char *s, size_t width, char *out, size_t n);
/* Appends s as a gnuplot double-quoted string, newlines as line breaks. */
void zp_plot_dquote(struct zp_strbuf *b, const char *s);

/* ---- line series (plots/plot_lines.c) ---- */

struct zp_line {
    char title[256];
    char scheme[64];
    size_t n, cap;
    double *x, *y;
    double *lo, *hi; /* error bar of each point, NaN when it has none */
    char **xlabel;   /* optional label of each point (layer names) */
};
struct zp_lines {
    struct zp_line *v;
    size_t n, cap;
    int shorten_titles; /* 1: the key leaves out the words every title shares and
                           says them once, as the key's title */
};
/* The series titled title (created on first use). NULL on allocation failure. */
struct zp_line *zp_lines_get(struct zp_lines *l, const char *title, const char *scheme);
void zp_line_add(struct zp_line *line, double x, double y, const char *xlabel);
/* Adds a point with an error bar [lo, hi] (NaN: none). */
void zp_line_add_iv(struct zp_line *line, double x, double y, double lo, double hi, const char *xlabel);
/* Keeps only the series with at least min_points points. */
void zp_lines_keep(struct zp_lines *l, size_t min_points);
void zp_lines_free(struct zp_lines *l);
/* Writes <name>.dat (one block per series, sorted by x: x, y, x label, interval
 * low, high), the key and the plot command. No two series of one figure share
 * colour, dash and marker. A series with error bars gets a layer of vertical
 * segments in its colour. */
enum zp_status zp_lines_emit(struct zp_plot_run *r, const struct zp_lines *l,
                             const char *name, struct zp_strbuf *gp, int use_xlabels,
                             const char *extra_plot, struct zp_err *err);

/* ---- lookups shared by the figures (plots/plot_rows.c) ---- */

/* Which PTQ mode the summary figures show: "both" when present, else "weights",
 * else "activations" (NULL when accuracy.csv has no PTQ row). */
const char *zp_plot_primary_mode(const struct zp_plot_run *r);
/* The variant label of an accuracy/layers/tensors row: the label column, or built
 * from scheme, bits, granularity when the column is absent or empty. */
void zp_plot_row_label(const struct zp_table *t, size_t row, char *out, size_t n);
/* The label with a " nudge=..." / " calibration=..." part removed (key=value word). */
void zp_plot_strip_word(const char *label, const char *key, char *out, size_t n);
/* The top-1 drop of an accuracy.csv row in percentage points: 100 * (float_top1 -
 * top1) from the two fraction columns, which are unambiguous; the drop column (points)
 * only when one of them is missing. */
double zp_plot_drop_points(const struct zp_table *t, size_t row);
/* Mean float_top1 of accuracy.csv (NaN when absent). */
double zp_plot_float_top1(const struct zp_plot_run *r);
/* "%.6g", or "NaN" for a non-finite value (what gnuplot skips). */
void zp_plot_num(char *out, size_t n, double v);

/* ---- error bars from summary.csv (plots/plot_rows.c; docs/statistics.md) ---- */

/* The summary.csv row of the cell of row i of t (accuracy.csv): the one row with
 * the same model, dataset, scheme, label, bits, granularity, mode, calibration and
 * calib_size (those of them both tables have). -1 when the run has no summary.csv,
 * no row matches, or several do (cells that differ in a column summary.csv lacks,
 * such as calib_size today): a wrong interval is worse than none. */
long zp_plot_summary_row(const struct zp_plot_run *r, const struct zp_table *t, size_t i);
/* The 95 % bootstrap interval of `metric` ("top1", "drop", "agreement") of row i's
 * cell: summary.csv's <metric>_lo and <metric>_hi times scale (100 turns a top-1
 * fraction into %). Returns 1 when both are finite, else 0 with *lo = *hi = NaN. */
int zp_plot_interval(const struct zp_plot_run *r, const struct zp_table *t, size_t i, const char *metric,
                     double scale, double *lo, double *hi);
/* The caption sentence of a figure's error bars (leading space), from the number of
 * marks drawn with an interval and without one; "" when none has one. */
void zp_plot_interval_caption(char *out, size_t n, size_t with, size_t without);

#ifdef __cplusplus
}
#endif
#endif
