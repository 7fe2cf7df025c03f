/* zp_plots_render: load a run folder's CSVs, write every figure's script and
 * derived data into plots/, run gnuplot on them (plots/plot_gnuplot.c), then
 * write the report. What goes wrong with one figure is a warning: the caller
 * gets the list (struct zp_plot_warnings) and the report shows it. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/file.h"
#include "common/path.h"
#include "plots/plot_int.h"
#include "plots/report.h"

static enum zp_status load_one(const char *dir, const char *file, struct zp_table *t, int *has,
                               struct zp_err *err)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    struct stat sb;
    *has = 0;
    if (stat(path, &sb) != 0)
        return ZP_OK; /* absent: its figures are skipped */
    enum zp_status st = zp_table_read(path, t, err);
    if (st == ZP_OK)
        *has = 1;
    return st;
}

/* Moves the rows of t whose mode is "float" into f (same header); t keeps the rest
 * in order. Returns 0, or -1 out of memory (t unchanged, f empty). */
static int split_float_rows(struct zp_table *t, struct zp_table *f)
{
    memset(f, 0, sizeof *f);
    int cm = zp_table_col(t, "mode");
    if (cm < 0 || t->ncols == 0)
        return 0;
    size_t nf = 0;
    for (size_t i = 0; i < t->nrows; i++)
        nf += strcmp(zp_table_str(t, i, cm), "float") == 0;
    if (nf == 0)
        return 0;
    f->header = calloc(t->ncols, sizeof *f->header);
    f->cells = calloc(nf * t->ncols, sizeof *f->cells);
    if (!f->header || !f->cells) {
        free(f->header);
        free(f->cells);
        memset(f, 0, sizeof *f);
        return -1;
    }
    f->ncols = t->ncols;
    for (size_t c = 0; c < t->ncols; c++)
        if (!(f->header[c] = strdup(t->header[c]))) {
            zp_table_free(f);
            return -1;
        }
    size_t kept = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        char **row = t->cells + i * t->ncols;
        int fl = strcmp(row[cm] ? row[cm] : "", "float") == 0;
        char **dst = fl ? f->cells + f->nrows++ * t->ncols : t->cells + kept++ * t->ncols;
        memmove(dst, row, t->ncols * sizeof *row);
    }
    t->nrows = kept;
    return 0;
}

enum zp_status zp_plot_run_load(struct zp_plot_run *r, const char *run_dir, struct zp_err *err)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s", run_dir);
    snprintf(r->plots, sizeof r->plots, "%s/plots", run_dir);
    struct stat sb;
    if (stat(run_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return zp_err_set(err, ZP_EINVAL, "%s: not a run folder: expected a directory, got %s",
                          run_dir, errno == ENOENT ? "nothing" : "a file");
    struct {
        const char *file;
        struct zp_table *t;
        int *has;
    } files[] = {
        {"accuracy.csv", &r->accuracy, &r->has_accuracy}, {"layers.csv", &r->layers, &r->has_layers},
        {"tensors.csv", &r->tensors, &r->has_tensors},    {"kernels.csv", &r->kernels, &r->has_kernels},
        {"peaks.csv", &r->peaks, &r->has_peaks},          {"weights_hist.csv", &r->whist, &r->has_whist},
        {"levels.csv", &r->levels, &r->has_levels},
        {"summary.csv", &r->summary, &r->has_summary},  {"summary_pairs.csv", &r->pairs, &r->has_pairs},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        enum zp_status st = load_one(run_dir, files[i].file, files[i].t, files[i].has, err);
        if (st != ZP_OK) {
            zp_plot_run_free(r);
            return st;
        }
    }
    if (r->has_accuracy && split_float_rows(&r->accuracy, &r->accuracy_float)) {
        zp_plot_run_free(r);
        return zp_err_set(err, ZP_ENOMEM, "%s/accuracy.csv: out of memory", run_dir);
    }
    if (!r->has_accuracy && !r->has_layers && !r->has_tensors && !r->has_kernels && !r->has_whist)
        return zp_err_set(err, ZP_EINVAL,
                          "%s: no results CSV: expected at least one of accuracy.csv, layers.csv, "
                          "tensors.csv, kernels.csv, weights_hist.csv, got none",
                          run_dir);
    return ZP_OK;
}

void zp_plot_run_free(struct zp_plot_run *r)
{
    zp_table_free(&r->accuracy);
    zp_table_free(&r->accuracy_float);
    zp_table_free(&r->summary);
    zp_table_free(&r->pairs);
    zp_table_free(&r->layers);
    zp_table_free(&r->tensors);
    zp_table_free(&r->kernels);
    zp_table_free(&r->peaks);
    zp_table_free(&r->whist);
    zp_table_free(&r->levels);
}

void zp_plot_warn(struct zp_plot_run *r, const char *fmt, ...)
{
    struct zp_plot_warnings *w = r->warn;
    if (w->n < ZP_PLOT_MAX_WARN) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->msg[w->n], sizeof w->msg[0], fmt, ap);
        va_end(ap);
    }
    w->n++;
}

void zp_plot_warnings_print(const struct zp_plot_warnings *w, FILE *f, const char *prefix)
{
    size_t kept = w->n < ZP_PLOT_MAX_WARN ? w->n : ZP_PLOT_MAX_WARN;
    for (size_t i = 0; i < kept; i++)
        fprintf(f, "%swarning: %s\n", prefix, w->msg[i]);
    if (w->n > kept)
        fprintf(f, "%swarning: %zu more figure warnings (see the report)\n", prefix, w->n - kept);
}

/* The style every script loads: $ZP_PLOT_STYLE (a house style kept for a paper)
 * replaces plots/style.gp; otherwise an existing style.gp is the user's
 * restyling of this run and is kept; else the built-in one is written. */
static enum zp_status write_style(struct zp_plot_run *r, struct zp_err *err)
{
    char style[4400];
    snprintf(style, sizeof style, "%s/style.gp", r->plots);
    const char *user_style = getenv("ZP_PLOT_STYLE");
    if (user_style && *user_style) {
        char *text = zp_file_read_text(user_style, NULL, err);
        if (!text) {
            zp_err_prefix(err, "ZP_PLOT_STYLE");
            return err->status;
        }
        enum zp_status st = zp_plot_write(r, "style.gp", text, err);
        free(text);
        return st;
    }
    struct stat sb;
    if (stat(style, &sb) == 0)
        return ZP_OK;
    return zp_plot_write(r, "style.gp", zp_plot_style_text(), err);
}

typedef enum zp_status (*fig_writer)(struct zp_plot_run *, struct zp_err *);

static enum zp_status render(const char *run_dir, const fig_writer *writers, size_t nwriters,
                             int report, struct zp_plot_warnings *warn, struct zp_err *err)
{
    struct zp_plot_warnings local;
    if (!warn)
        warn = &local;
    memset(warn, 0, sizeof *warn);
    struct zp_plot_run *r = calloc(1, sizeof *r);
    if (!r)
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", run_dir);
    enum zp_status st = zp_plot_run_load(r, run_dir, err);
    if (st != ZP_OK) {
        free(r);
        return st;
    }
    r->warn = warn;
    if ((st = zp_mkdir_p(r->plots, err)) != ZP_OK)
        goto out_free_run;
    if ((st = write_style(r, err)) != ZP_OK)
        goto out_free_run;
    /* a writer that fails (a full disk, out of memory) costs its figures only */
    for (size_t i = 0; i < nwriters; i++) {
        struct zp_err ferr = {0};
        if (writers[i](r, &ferr) != ZP_OK)
            zp_plot_warn(r, "figures skipped: %s", ferr.msg);
    }
    zp_plot_run_gnuplot(r);
    warn->nfigs = r->nfigs;
    for (size_t i = 0; i < r->nfigs; i++)
        warn->nrendered += r->figs[i].rendered;
    /* The report is written even when a figure failed: it says which. */
    if (report)
        st = zp_report_write(r, err);
out_free_run:
    zp_plot_run_free(r);
    free(r);
    return st;
}

enum zp_status zp_plots_render(const char *run_dir, struct zp_plot_warnings *warn,
                               struct zp_err *err)
{
    static const fig_writer all[] = {
        zp_plot_figs_tensors, zp_plot_figs_accuracy, zp_plot_figs_layers,
        zp_plot_figs_kernels, zp_plot_figs_hist, zp_plot_figs_lm,
    };
    return render(run_dir, all, sizeof all / sizeof all[0], 1, warn, err);
}

enum zp_status zp_plots_render_kernels(const char *run_dir, struct zp_plot_warnings *warn,
                                       struct zp_err *err)
{
    static const fig_writer kernels[] = {zp_plot_figs_kernels};
    return render(run_dir, kernels, 1, 0, warn, err);
}
