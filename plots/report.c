/* report.md and report.html of a run folder: headline findings, the machine and
 * configuration from run.json, every figure with its caption (the HTML embeds
 * plots/<name>.png), and readable tables of accuracy.csv and kernels.csv.
 * Markdown and HTML are built side by side from the same walk. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plots/report.h"
#include "common/atomic.h"

void zp_report_html_esc(struct zp_strbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': zp_strbuf_printf(b, "&lt;"); break;
        case '>': zp_strbuf_printf(b, "&gt;"); break;
        case '&': zp_strbuf_printf(b, "&amp;"); break;
        case '"': zp_strbuf_printf(b, "&quot;"); break;
        default: zp_strbuf_printf(b, "%c", *s);
        }
    }
}

void zp_report_md_cell(struct zp_strbuf *b, const char *s)
{
    for (; *s; s++)
        zp_strbuf_printf(b, *s == '|' ? "\\|" : "%c", *s);
}

/* The Markdown findings as an HTML list (only **bold** is used). */
static void findings_html(struct zp_strbuf *h, const char *md)
{
    zp_strbuf_printf(h, "<ul class=\"findings\">\n");
    const char *p = md;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > 2 && p[0] == '-' && p[1] == ' ') {
            zp_strbuf_printf(h, "<li>");
            int bold = 0;
            for (size_t i = 2; i < len; i++) {
                if (p[i] == '*' && i + 1 < len && p[i + 1] == '*') {
                    zp_strbuf_printf(h, bold ? "</strong>" : "<strong>");
                    bold = !bold;
                    i++;
                    continue;
                }
                char c[2] = {p[i], 0};
                zp_report_html_esc(h, c);
            }
            zp_strbuf_printf(h, "%s</li>\n", bold ? "</strong>" : "");
        }
        p = eol ? eol + 1 : NULL;
    }
    zp_strbuf_printf(h, "</ul>\n");
}

/* ---- tables ---- */

enum colfmt { RAW, PCT, PTS, NUM };

struct colspec {
    const char *csv, *head;
    enum colfmt fmt;
};

static void cell_text(const struct zp_table *t, size_t i, int c, enum colfmt f, char *out, size_t n)
{
    double v = zp_table_num(t, i, c);
    if (f == RAW || isnan(v)) {
        snprintf(out, n, "%s", zp_table_str(t, i, c));
        return;
    }
    if (f == PTS) /* the drop, recomputed from the fractions when possible */
        v = zp_plot_drop_points(t, i);
    if (f == PCT || f == PTS)
        snprintf(out, n, "%.2f", f == PCT ? 100.0 * v : v);
    else
        snprintf(out, n, "%.4g", v);
}

static void table(const struct zp_table *t, const struct colspec *cols, size_t ncols,
                  struct zp_strbuf *md, struct zp_strbuf *h)
{
    int idx[32];
    size_t shown = 0;
    const struct colspec *sc[32];
    for (size_t j = 0; j < ncols && shown < 32; j++) {
        int c = zp_table_col(t, cols[j].csv);
        if (c >= 0) {
            idx[shown] = c;
            sc[shown++] = &cols[j];
        }
    }
    zp_strbuf_printf(h, "<div class=\"scroll\"><table class=\"data\">\n<tr>");
    zp_strbuf_printf(md, "|");
    for (size_t j = 0; j < shown; j++) {
        zp_strbuf_printf(md, " %s |", sc[j]->head);
        zp_strbuf_printf(h, "<th>");
        zp_report_html_esc(h, sc[j]->head);
        zp_strbuf_printf(h, "</th>");
    }
    zp_strbuf_printf(md, "\n|");
    for (size_t j = 0; j < shown; j++)
        zp_strbuf_printf(md, "%s|", sc[j]->fmt == RAW ? "---" : "---:");
    zp_strbuf_printf(md, "\n");
    zp_strbuf_printf(h, "</tr>\n");
    for (size_t i = 0; i < t->nrows; i++) {
        zp_strbuf_printf(md, "|");
        zp_strbuf_printf(h, "<tr>");
        for (size_t j = 0; j < shown; j++) {
            char v[512];
            cell_text(t, i, idx[j], sc[j]->fmt, v, sizeof v);
            zp_strbuf_printf(md, " ");
            zp_report_md_cell(md, v);
            zp_strbuf_printf(md, " |");
            zp_strbuf_printf(h, "<td%s>", sc[j]->fmt == RAW ? "" : " class=\"n\"");
            zp_report_html_esc(h, v);
            zp_strbuf_printf(h, "</td>");
        }
        zp_strbuf_printf(md, "\n");
        zp_strbuf_printf(h, "</tr>\n");
    }
    zp_strbuf_printf(md, "\n");
    zp_strbuf_printf(h, "</table></div>\n");
}

static const struct colspec acc_cols[] = {
    {"model", "model", RAW},          {"dataset", "dataset", RAW},
    {"label", "variant", RAW},        {"scheme", "scheme", RAW},
    {"bits", "bits", RAW},            {"granularity", "granularity", RAW},
    {"mode", "mode", RAW},            {"calibration", "calibration", RAW},
    {"calib_size", "calib. size", RAW}, {"bias_correction", "bias corr.", RAW},
    {"act_scheme", "act. scheme", RAW}, {"act_bits", "act. bits", RAW},
    {"n_eval", "n eval", RAW},        {"float_top1", "float top-1 %", PCT},
    {"float_top5", "float top-5 %", PCT},
    {"top1", "top-1 %", PCT},         {"top5", "top-5 %", PCT},
    {"drop", "drop (points)", PTS},   {"agreement", "agreement %", PCT},
    {"kl", "KL (nats)", NUM},         {"logit_sqnr_db", "logit SQNR (dB)", NUM},
};

static const struct colspec kern_cols[] = {
    {"kernel", "kernel", RAW},          {"scheme", "scheme", RAW},
    {"isa", "ISA", RAW},                {"m", "M", RAW},
    {"n", "N", RAW},                    {"k", "K", RAW},
    {"threads", "threads", RAW},        {"gops", "GOP/s", NUM},
    {"ns_per_call", "ns/call", NUM},    {"speedup_vs_f32", "speedup vs f32", NUM},
    {"vs_anchor", "vs anchor", NUM},    {"anchor", "anchor", RAW},
    {"peak_fraction", "% of peak", PCT},
};

static void base_name(const char *dir, char *out, size_t outn)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    const char *end = dir + n;
    const char *p = end;
    while (p > dir && p[-1] != '/')
        p--;
    snprintf(out, outn, "%.*s", (int)(end - p), p);
}

/* What went wrong with the figures, above them: a figure never fails a run, so
 * the report is where a missing one is explained. */
static void warnings_section(const struct zp_plot_warnings *w, struct zp_strbuf *md, struct zp_strbuf *h)
{
    if (!w->n)
        return;
    size_t kept = w->n < ZP_PLOT_MAX_WARN ? w->n : ZP_PLOT_MAX_WARN;
    zp_strbuf_printf(md, "**Figure warnings** (%zu):\n\n", w->n);
    zp_strbuf_printf(h, "<div class=\"warnings\"><p><strong>Figure warnings</strong> (%zu):</p>\n<ul>\n",
                   w->n);
    for (size_t i = 0; i < kept; i++) {
        zp_strbuf_printf(md, "- warning: %s\n", w->msg[i]);
        zp_strbuf_printf(h, "<li>warning: ");
        zp_report_html_esc(h, w->msg[i]);
        zp_strbuf_printf(h, "</li>\n");
    }
    if (w->n > kept) {
        zp_strbuf_printf(md, "- and %zu more\n", w->n - kept);
        zp_strbuf_printf(h, "<li>and %zu more</li>\n", w->n - kept);
    }
    zp_strbuf_printf(md, "\n");
    zp_strbuf_printf(h, "</ul></div>\n");
}

static const char *const css =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:1200px;margin:2em auto;"
    "padding:0 1em;color:#222;line-height:1.45}\n"
    "h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}\n"
    "figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #ddd}\n"
    "figcaption{color:#444;font-size:.95em}\n"
    ".scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.85em}\n"
    "th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left}td.n{text-align:right;"
    "font-variant-numeric:tabular-nums}tr:nth-child(even) td{background:#f6f6f6}\n"
    "table.kv th{background:#f0f0f0;font-weight:normal}pre{background:#f6f6f6;padding:1em;"
    "overflow-x:auto;font-size:.8em}\n"
    ".missing{color:#a00}.warnings{border:1px solid #e0b0b0;background:#fff6f6;padding:0 .8em}"
    "nav{font-size:.9em;background:#f6f6f6;padding:.1em .8em;"
    "border:1px solid #e0e0e0}\n";

enum zp_status zp_report_write(const struct zp_plot_run *r, struct zp_err *err)
{
    struct zp_strbuf md = {0}, h = {0}, fnd = {0};
    char name[256];
    base_name(r->dir, name, sizeof name);
    zp_strbuf_printf(&md, "# zeropoint run report: %s\n\n", name);
    zp_strbuf_printf(&md, "Generated by `harness plot` from the CSVs of this folder; figures are in "
                        "plots/ with their gnuplot scripts.\n\n");
    zp_strbuf_printf(&h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<title>zeropoint run report: ");
    zp_report_html_esc(&h, name);
    zp_strbuf_printf(&h, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>zeropoint run report: ", css);
    zp_report_html_esc(&h, name);
    zp_strbuf_printf(&h, "</h1>\n<p>Generated by <code>harness plot</code> from the CSVs of this folder; "
                       "figures are in <code>plots/</code> with their gnuplot scripts.</p>\n");

    /* the significance section exists only with summary.csv: built first, so that
     * the contents can link to it */
    struct zp_strbuf sig = {0};
    zp_report_significance(r, &sig);

    /* a table of contents: sections, then one link per figure (report.md: the
     * sections, by the anchors GitHub and most renderers make of the headings) */
    zp_strbuf_printf(&md, "Contents: [Headline findings](#headline-findings)%s · [Figures](#figures)%s%s · "
                          "[Configuration and machine](#configuration-and-machine)\n\n",
                     sig.len ? " · [Significance](#significance)" : "",
                     r->has_accuracy ? " · [Accuracy table](#accuracy-accuracycsv)" : "",
                     r->has_kernels ? " · [Kernel table](#kernels-kernelscsv)" : "");
    zp_strbuf_printf(&h, "<nav><p><a href=\"#findings\">Headline findings</a>%s &middot; "
                       "<a href=\"#figures\">Figures</a>%s%s &middot; "
                       "<a href=\"#config\">Configuration and machine</a></p>\n<p>",
                   sig.len ? " &middot; <a href=\"#significance\">Significance</a>" : "",
                   r->has_accuracy ? " &middot; <a href=\"#accuracy\">Accuracy table</a>" : "",
                   r->has_kernels ? " &middot; <a href=\"#kernels\">Kernel table</a>" : "");
    for (size_t i = 0; i < r->nfigs; i++) {
        zp_strbuf_printf(&h, "%s<a href=\"#fig-%s\">", i ? " &middot; " : "Figures: ", r->figs[i].name);
        zp_report_html_esc(&h, r->figs[i].title);
        zp_strbuf_printf(&h, "</a>");
    }
    zp_strbuf_printf(&h, "</p></nav>\n");

    zp_report_findings(r, &fnd);
    zp_strbuf_printf(&md, "## Headline findings\n\n%s\n",
                   fnd.len ? fnd.s : "- No accuracy, layer, tensor or kernel rows to summarise.\n");
    zp_strbuf_printf(&h, "<h2 id=\"findings\">Headline findings</h2>\n");
    findings_html(&h, fnd.len ? fnd.s : "- No accuracy, layer, tensor or kernel rows to summarise.\n");

    if (sig.len) {
        static const char intro[] =
            "From summary.csv (docs/statistics.md): drop = 100 (float top-1 - top-1), its 95 % "
            "percentile bootstrap interval over the evaluation examples, and the exact McNemar "
            "p-value on the same examples. A difference is significant only when the interval "
            "excludes 0 and p <= 0.05.";
        /* "Significance" alone: the heading's anchor is #significance in every renderer */
        zp_strbuf_printf(&md, "## Significance\n\n%s\n\n%s\n", intro, sig.s);
        zp_strbuf_printf(&h, "<h2 id=\"significance\">Significance</h2>\n<p>");
        zp_report_html_esc(&h, intro);
        zp_strbuf_printf(&h, "</p>\n");
        findings_html(&h, sig.s);
    }
    if (sig.oom)
        md.oom = 1;
    zp_strbuf_free(&sig);

    zp_strbuf_printf(&md, "## Figures\n\n");
    zp_strbuf_printf(&h, "<h2 id=\"figures\">Figures</h2>\n");
    warnings_section(r->warn, &md, &h);
    if (!r->nfigs) {
        zp_strbuf_printf(&md, "No figure: the CSVs hold no rows a figure needs.\n\n");
        zp_strbuf_printf(&h, "<p>No figure: the CSVs hold no rows a figure needs.</p>\n");
    }
    for (size_t i = 0; i < r->nfigs; i++) {
        const struct zp_plot_fig *f = &r->figs[i];
        zp_strbuf_printf(&md, "### %s\n\n", f->title);
        if (f->has_png)
            zp_strbuf_printf(&md, "![%s](plots/%s.png)\n\n", f->title, f->name);
        else if (f->rendered)
            zp_strbuf_printf(&md, "*No PNG (zp_formats in plots/style.gp leaves it out).*\n\n");
        else
            zp_strbuf_printf(&md, "*Not drawn: see the warnings above%s%s%s.*\n\n",
                           r->warn->no_gnuplot ? "" : " and plots/", r->warn->no_gnuplot ? "" : f->name,
                           r->warn->no_gnuplot ? "" : ".log");
        zp_strbuf_printf(&md, "%s (plots/%s.png, .svg, .pdf; script plots/%s.gp)\n\n", f->caption, f->name,
                       f->name);
        zp_strbuf_printf(&h, "<figure id=\"fig-%s\">\n<h3>", f->name);
        zp_report_html_esc(&h, f->title);
        zp_strbuf_printf(&h, "</h3>\n");
        if (f->has_png) {
            zp_strbuf_printf(&h, "<img src=\"plots/%s.png\" alt=\"", f->name);
            zp_report_html_esc(&h, f->title);
            zp_strbuf_printf(&h, "\">\n");
        } else if (f->rendered) {
            zp_strbuf_printf(&h, "<p>No PNG (zp_formats in plots/style.gp leaves it out).</p>\n");
        } else {
            zp_strbuf_printf(&h, "<p class=\"missing\">Not drawn: see the warnings above%s%s%s.</p>\n",
                           r->warn->no_gnuplot ? "" : " and plots/", r->warn->no_gnuplot ? "" : f->name,
                           r->warn->no_gnuplot ? "" : ".log");
        }
        zp_strbuf_printf(&h, "<figcaption>");
        zp_report_html_esc(&h, f->caption);
        zp_strbuf_printf(&h, " <a href=\"plots/%s.svg\">SVG</a> <a href=\"plots/%s.pdf\">PDF</a> "
                           "<a href=\"plots/%s.gp\">script</a></figcaption>\n</figure>\n",
                       f->name, f->name, f->name);
    }

    if (r->has_accuracy) {
        zp_strbuf_printf(&md, "## Accuracy (accuracy.csv)\n\nAccuracies in %%, drop in points.\n\n");
        zp_strbuf_printf(&h, "<h2 id=\"accuracy\">Accuracy (accuracy.csv)</h2>\n"
                           "<p>Accuracies in %%, drop in points.</p>\n");
        if (r->accuracy_float.nrows) { /* the float model's own rows (mode float) first */
            zp_strbuf_printf(&md, "The float models:\n\n");
            zp_strbuf_printf(&h, "<p>The float models:</p>\n");
            table(&r->accuracy_float, acc_cols, sizeof acc_cols / sizeof acc_cols[0], &md, &h);
            zp_strbuf_printf(&md, "The quantized variants:\n\n");
            zp_strbuf_printf(&h, "<p>The quantized variants:</p>\n");
        }
        table(&r->accuracy, acc_cols, sizeof acc_cols / sizeof acc_cols[0], &md, &h);
    }
    if (r->has_kernels) {
        zp_strbuf_printf(&md, "## Kernels (kernels.csv)\n\nThroughput in GOP/s (2*M*N*K per call).\n\n");
        zp_strbuf_printf(&h, "<h2 id=\"kernels\">Kernels (kernels.csv)</h2>\n"
                           "<p>Throughput in GOP/s (2*M*N*K per call).</p>\n");
        table(&r->kernels, kern_cols, sizeof kern_cols / sizeof kern_cols[0], &md, &h);
    }
    zp_report_run_json(r, &md, &h);
    zp_strbuf_printf(&h, "</body>\n</html>\n");

    enum zp_status st = ZP_OK;
    if (md.oom || h.oom || fnd.oom)
        st = zp_err_set(err, ZP_ENOMEM, "%s: out of memory writing the report", r->dir);
    char path[4400];
    const char *files[2] = {"report.md", "report.html"};
    const struct zp_strbuf *bufs[2] = {&md, &h};
    for (size_t i = 0; i < 2 && st == ZP_OK; i++) {
        snprintf(path, sizeof path, "%s/%s", r->dir, files[i]);
        st = zp_file_write_atomic(path, bufs[i]->s, bufs[i]->len, err);
    }
    zp_strbuf_free(&md);
    zp_strbuf_free(&h);
    zp_strbuf_free(&fnd);
    return st;
}
