/* The run report: <run_dir>/report.md and report.html, written from the CSVs,
 * run.json and the figures of a zp_plot_run (plots/plot.h). The HTML embeds
 * plots/<name>.png; both list every figure with its caption, the headline
 * findings computed from the CSVs, the configuration and the machine, and
 * readable tables of accuracy.csv and kernels.csv. */
#ifndef ZP_PLOTS_REPORT_H
#define ZP_PLOTS_REPORT_H

#include "common/err.h"
#include "plots/plot_int.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes report.md and report.html into r->dir, each atomically (temporary name,
 * fsync, rename). A missing or malformed run.json is reported inside the report,
 * not as an error; the figure warnings (r->warn) get a section of their own.
 * ZP_EIO naming the file and errno if one can't be written. */
enum zp_status zp_report_write(const struct zp_plot_run *r, struct zp_err *err);

/* Headline findings as Markdown bullet lines ("- ...\n"), appended to out:
 * best scheme per bit width, largest per-layer loss, zero error nudged vs not,
 * fastest kernel. (plots/report_findings.c) */
void zp_report_findings(const struct zp_plot_run *r, struct zp_strbuf *out);

/* The significance section as Markdown bullets, from summary.csv and
 * summary_pairs.csv: for the 8-bit rows which differences from float are
 * significant; every difference whose interval includes 0 or whose McNemar p is
 * above 0.05 is marked "not significant" (plots/report_stats.c). Nothing when the
 * run has no summary.csv. */
void zp_report_significance(const struct zp_plot_run *r, struct zp_strbuf *out);

/* Appends the verdict on one difference: "**significant**", or "not significant
 * (the interval includes 0 / p > 0.05 / both)" (plots/report_stats.c). lo, hi: its
 * 95 % interval; p: its McNemar p-value (NaN when unknown); significant: summary.csv's
 * column, 1 only when the interval excludes 0 and p <= 0.05. */
void zp_report_verdict(struct zp_strbuf *out, double lo, double hi, double p, int significant);

/* The configuration and machine section from run.json (plots/report_runjson.c). */
void zp_report_run_json(const struct zp_plot_run *r, struct zp_strbuf *md, struct zp_strbuf *h);

/* s escaped for HTML text / for a Markdown table cell, appended to b. */
void zp_report_html_esc(struct zp_strbuf *b, const char *s);
void zp_report_md_cell(struct zp_strbuf *b, const char *s);

#ifdef __cplusplus
}
#endif
#endif
