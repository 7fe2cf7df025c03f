/* Figures of a run folder, rendered from its CSVs only (docs/figures.md).
 *
 * zp_plots_render() reads whichever of accuracy.csv, layers.csv, tensors.csv,
 * kernels.csv (+ peaks.csv), weights_hist.csv (+ levels.csv) exist in a run folder,
 * writes into <run_dir>/plots/ one gnuplot script per figure plus the small data
 * files derived from the CSVs that the script plots, runs gnuplot on each script
 * (PNG + SVG + PDF), and then writes the run report (<run_dir>/report.md and
 * report.html). Every script loads plots/style.gp, the one shared style (fonts,
 * formats, a fixed colour and marker per scheme); a style.gp already present in
 * plots/ is kept, so a user's restyling survives a rerun.
 *
 * A figure never fails a run: a figure that cannot be written or drawn (gnuplot
 * refused its script, gnuplot is missing) is a warning, returned to the caller in
 * struct zp_plot_warnings and listed in the report; the status stays ZP_OK. The
 * internal interface of plots/ is plots/plot_int.h. */
#ifndef ZP_PLOTS_PLOT_H
#define ZP_PLOTS_PLOT_H

#include <stddef.h>
#include <stdio.h>

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZP_PLOT_MAX_WARN 16

/* What went wrong with the figures of one render, for the caller to log. */
struct zp_plot_warnings {
    size_t n;                          /* warnings raised; the first ZP_PLOT_MAX_WARN are kept */
    char msg[ZP_PLOT_MAX_WARN][600];   /* one sentence each, naming the figure and its log */
    int no_gnuplot;                    /* gnuplot is missing: scripts written, nothing drawn */
    size_t nfigs, nrendered;           /* figures whose script was written / drawn */
};

/* Renders every figure whose CSVs exist, then the report. warn may be NULL (the
 * warnings are then only in the report). Errors: ZP_EINVAL when the folder holds
 * none of the results CSVs; ZP_EFORMAT for a malformed CSV; ZP_EIO when plots/ or
 * the report can't be written. A figure that fails is a warning, not an error. */
enum zp_status zp_plots_render(const char *run_dir, struct zp_plot_warnings *warn,
                               struct zp_err *err);

/* The kernel figures only (kernel_throughput, kernel_speedup) from the
 * kernels.csv and peaks.csv of run_dir, the same scripts and style as
 * zp_plots_render draws: what `harness bench` calls. No report. */
enum zp_status zp_plots_render_kernels(const char *run_dir, struct zp_plot_warnings *warn,
                                       struct zp_err *err);

/* Prints each warning as "<prefix>warning: <msg>\n" to f. */
void zp_plot_warnings_print(const struct zp_plot_warnings *w, FILE *f, const char *prefix);

#ifdef __cplusplus
}
#endif
#endif
