/* What every figure script shares: its opening and closing lines, quoting, the
 * key placement, and writing the script and its data files atomically. */
#include <stdio.h>
#include <string.h>

#include "plots/plot_int.h"
#include "common/atomic.h"

void zp_plot_quote(struct zp_strbuf *b, const char *s)
{
    zp_strbuf_printf(b, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            zp_strbuf_printf(b, "''");
        else if (*p == '\n' || *p == '\r')
            zp_strbuf_printf(b, " ");
        else
            zp_strbuf_printf(b, "%c", *p);
    }
    zp_strbuf_printf(b, "'");
}

enum zp_status zp_plot_write(const struct zp_plot_run *r, const char *file, const char *text,
                             struct zp_err *err)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", r->plots, file);
    return zp_file_write_atomic(path, text, strlen(text), err);
}

void zp_plot_script_begin(struct zp_strbuf *gp, const char *name, const char *what,
                          const char *sources)
{
    /* zp_part: `harness plot` passes -e "zp_part='.part'" so that gnuplot writes
     * NAME.part.FMT, renamed to NAME.FMT only once the whole script succeeded (a
     * full disk or a refused script never leaves a truncated figure behind). Run
     * by hand, the script writes NAME.FMT directly. */
    zp_strbuf_printf(gp,
                   "# %s\n"
                   "# Data: %s.\n"
                   "# The small files %s*.dat beside this script are derived from those CSVs\n"
                   "# only, by `harness plot` (a bar's colour is its linetype in style.gp).\n"
                   "# Restyle: edit style.gp (every figure) or this file, then run\n"
                   "# `gnuplot %s.gp` in this folder.\n"
                   "if (!exists('zp_part')) zp_part = ''\n"
                   "load 'style.gp'\n"
                   "do for [zp_fmt in zp_formats] {\n"
                   "# a fresh state for each format: settings of the last pass don't leak\n"
                   "reset\n"
                   "load 'style.gp'\n"
                   "eval zp_terminal(zp_fmt, '%s' . zp_part)\n",
                   what, sources, name, name, name);
}

void zp_plot_script_end(struct zp_strbuf *gp)
{
    zp_strbuf_printf(gp, "unset output\n}\n");
}

void zp_plot_key_extra(const char *extra_plot, size_t *n, size_t *maxlen)
{
    for (const char *p = extra_plot ? strstr(extra_plot, "title '") : NULL; p;
         p = strstr(p + 1, "title '")) {
        const char *q = strchr(p + 7, '\'');
        size_t len = q ? (size_t)(q - (p + 7)) : strlen(p + 7);
        (*n)++;
        *maxlen = len > *maxlen ? len : *maxlen;
    }
}

void zp_plot_key(struct zp_strbuf *gp, size_t n, size_t maxlen)
{
    /* Outside right costs the plot about (maxlen + 6) characters of a ~140-wide
     * figure: fine for a few short titles, a third of the plot for variant labels,
     * which go in columns between the title and the plot instead. */
    if (n <= 8 && maxlen <= 22)
        return; /* style.gp's default: outside right */
    size_t cols = maxlen > 34 ? 2 : maxlen > 22 ? 3 : 4;
    zp_strbuf_printf(gp, "set key outside top center horizontal Left reverse maxcols %zu "
                       "samplen 2 spacing 1.0 width 1\n", cols);
    /* A key of many rows above the plot would squash it to a strip: the figure
     * grows by the rows beyond 10 (~18 px each at 620 px), so the plot keeps its
     * height. The sizes of style.gp are scaled, whatever they are; a panel of a
     * multiplot keeps its page. */
    size_t rows = (n + cols - 1) / cols;
    if (rows > 10)
        zp_strbuf_printf(gp,
                         "if (!GPVAL_MULTIPLOT) { zp_f = 1 + %zu * 18 / 620.0; \\\n"
                         "  zp_h(s) = s[strstrt(s, ',') + 1:]; zp_w(s) = s[1:strstrt(s, ',')]; \\\n"
                         "  zp_png_size = zp_w(zp_png_size) . sprintf('%%d', int(zp_h(zp_png_size) * zp_f)); \\\n"
                         "  zp_svg_size = zp_w(zp_svg_size) . sprintf('%%d', int(zp_h(zp_svg_size) * zp_f)); \\\n"
                         "  zp_ph = zp_h(zp_pdf_size); \\\n"
                         "  if (zp_ph[strlen(zp_ph) - 1:] eq 'in') { zp_pdf_size = zp_w(zp_pdf_size) . "
                         "sprintf('%%.2fin', real(zp_ph[1:strlen(zp_ph) - 2]) * zp_f) }; \\\n"
                         "  zp_o = GPVAL_OUTPUT; eval zp_terminal(zp_fmt, zp_o[1:strlen(zp_o) - 4]) }\n",
                         rows - 10);
}

enum zp_status zp_plot_fig_finish(struct zp_plot_run *r, struct zp_strbuf *gp, const char *name,
                                  const char *title, const char *caption, enum zp_status st,
                                  struct zp_err *err)
{
    zp_plot_script_end(gp);
    char file[128];
    snprintf(file, sizeof file, "%s.gp", name);
    if (st == ZP_OK)
        st = gp->oom ? zp_err_set(err, ZP_ENOMEM, "%s: out of memory", file)
                     : zp_plot_write(r, file, gp->s, err);
    if (st == ZP_OK && r->nfigs < ZP_PLOT_MAX_FIGS) {
        struct zp_plot_fig *f = &r->figs[r->nfigs++];
        memset(f, 0, sizeof *f);
        snprintf(f->name, sizeof f->name, "%s", name);
        snprintf(f->title, sizeof f->title, "%s", title);
        snprintf(f->caption, sizeof f->caption, "%s", caption);
    }
    zp_strbuf_free(gp);
    return st;
}
