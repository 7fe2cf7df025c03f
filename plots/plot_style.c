/* The one figure style of a run: style.gp (fonts, output formats, a fixed colour
 * and marker per scheme) and the helpers that keep scripts consistent with it.
 * Colours are the Okabe-Ito palette (colour-blind safe); every scheme also has
 * its own marker and, in bar charts, the variants of a scheme differ by fill
 * pattern, so a greyscale print still tells the series apart. */
#include <stdlib.h>
#include <string.h>

#include "plots/plot.h"

/* Fixed linetypes; must match the 'set linetype' lines of the style text. */
static const char *const known[] = {
    "float", "asymmetric", "symmetric", "no-128", "linear4", "lut4", "binary", "openblas", "onednn",
};
#define N_KNOWN (sizeof known / sizeof known[0])
#define N_EXTRA 5 /* linetypes 10..14 for schemes not in the list (plugins) */

int zp_plot_scheme_lt(const char *scheme)
{
    /* Unknown names get the next free extra linetype in order of first use, so a
     * plugin scheme keeps one colour across every figure of a render. */
    static char extra[N_EXTRA][64];
    static size_t nextra;
    for (size_t i = 0; i < N_KNOWN; i++)
        if (strcmp(scheme, known[i]) == 0)
            return (int)i + 1;
    if (strncmp(scheme, "onednn", 6) == 0 || strncmp(scheme, "dnnl", 4) == 0)
        return 9;
    if (strncmp(scheme, "openblas", 8) == 0)
        return 8;
    if (strcmp(scheme, "f32") == 0 || strcmp(scheme, "fp32") == 0)
        return 1;
    for (size_t i = 0; i < nextra; i++)
        if (strcmp(extra[i], scheme) == 0)
            return (int)(N_KNOWN + 1 + i);
    if (nextra < N_EXTRA) {
        snprintf(extra[nextra], sizeof extra[nextra], "%s", scheme);
        return (int)(N_KNOWN + 1 + nextra++);
    }
    return (int)(N_KNOWN + N_EXTRA); /* beyond the palette: share the last one */
}

const char *zp_plot_fill(size_t i)
{
    static const char *const fills[] = {
        "solid 0.85 border lc rgb 'black'", "pattern 4 border lc rgb 'black'",
        "pattern 5 border lc rgb 'black'",  "solid 0.35 border lc rgb 'black'",
        "pattern 1 border lc rgb 'black'",  "pattern 6 border lc rgb 'black'",
        "pattern 7 border lc rgb 'black'",  "pattern 2 border lc rgb 'black'",
    };
    return fills[i % (sizeof fills / sizeof fills[0])];
}

const char *zp_plot_style_text(void)
{
    return "# zeropoint figure style, loaded by every script in this folder.\n"
           "# Edit it to restyle every figure of the run, then rerun `gnuplot NAME.gp` here\n"
           "# (`harness plot RUN_DIR` keeps an existing style.gp; delete it to get the default).\n"
           "\n"
           "# Output formats and sizes. Remove a format from zp_formats to skip it.\n"
           "zp_formats = 'png svg pdf'\n"
           "zp_font = 'DejaVu Sans,11'\n"
           "zp_pdf_font = 'DejaVu Sans,8'\n"
           "zp_png_size = '1100,620'\n"
           "zp_svg_size = '1100,620'\n"
           "zp_pdf_size = '7.5in,4.2in'\n"
           "zp_terminal(fmt, name) = fmt eq 'png' ? \\\n"
           "  sprintf(\"set terminal pngcairo noenhanced size %s font '%s' background rgb 'white'; "
           "set output '%s.png'\", zp_png_size, zp_font, name) : \\\n"
           "  fmt eq 'svg' ? \\\n"
           "  sprintf(\"set terminal svg noenhanced size %s font '%s' background rgb 'white'; "
           "set output '%s.svg'\", zp_svg_size, zp_font, name) : \\\n"
           "  sprintf(\"set terminal pdfcairo noenhanced size %s font '%s'; "
           "set output '%s.pdf'\", zp_pdf_size, zp_pdf_font, name)\n"
           "\n"
           "# The data files beside the scripts are CSV, derived from ../*.csv.\n"
           "set datafile separator ','\n"
           "set datafile missing 'NaN'\n"
           "\n"
           "# Axes and key.\n"
           "set border 3 lw 1\n"
           "set tics nomirror out\n"
           "set grid ytics lt 1 lw 1 lc rgb '#d9d9d9'\n"
           "set key outside right top vertical Left reverse samplen 2.5 spacing 1.1 noenhanced\n"
           "set style fill solid 0.85 border lc rgb 'black'\n"
           "set bars small\n"
           "set offsets 0, 0, graph 0.05, 0\n"
           "\n"
           "# One colour + marker per scheme, the same in every figure (Okabe-Ito palette).\n"
           "set linetype 1  lc rgb '#000000' lw 2 pt 7  ps 1.2 dt 1  # float (f32 reference)\n"
           "set linetype 2  lc rgb '#E69F00' lw 2 pt 5  ps 1.2 dt 1  # asymmetric\n"
           "set linetype 3  lc rgb '#0072B2' lw 2 pt 9  ps 1.4 dt 1  # symmetric\n"
           "set linetype 4  lc rgb '#56B4E9' lw 2 pt 11 ps 1.4 dt 1  # no-128\n"
           "set linetype 5  lc rgb '#009E73' lw 2 pt 13 ps 1.4 dt 1  # linear4\n"
           "set linetype 6  lc rgb '#D55E00' lw 2 pt 4  ps 1.2 dt 1  # lut4\n"
           "set linetype 7  lc rgb '#CC79A7' lw 2 pt 6  ps 1.2 dt 1  # binary\n"
           "set linetype 8  lc rgb '#999999' lw 2 pt 8  ps 1.2 dt 1  # openblas (anchor)\n"
           "set linetype 9  lc rgb '#555555' lw 2 pt 12 ps 1.2 dt 1  # onednn (anchor)\n"
           "set linetype 10 lc rgb '#882255' lw 2 pt 1  ps 1.2 dt 1  # other schemes, by first use\n"
           "set linetype 11 lc rgb '#44AA99' lw 2 pt 2  ps 1.2 dt 1\n"
           "set linetype 12 lc rgb '#332288' lw 2 pt 3  ps 1.2 dt 1\n"
           "set linetype 13 lc rgb '#DDCC77' lw 2 pt 10 ps 1.2 dt 1\n"
           "set linetype 14 lc rgb '#117733' lw 2 pt 14 ps 1.2 dt 1\n"
           "# Reference lines (float accuracy, peaks, speedup 1x).\n"
           "zp_ref_colour = '#444444'\n";
}

void zp_plot_quote(struct zp_sbuf *b, const char *s)
{
    zp_sbuf_printf(b, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            zp_sbuf_printf(b, "''");
        else if (*p == '\n' || *p == '\r')
            zp_sbuf_printf(b, " ");
        else
            zp_sbuf_printf(b, "%c", *p);
    }
    zp_sbuf_printf(b, "'");
}

void zp_plot_script_begin(struct zp_sbuf *gp, const char *name, const char *what,
                          const char *sources)
{
    zp_sbuf_printf(gp,
                   "# %s\n"
                   "# Data: %s.\n"
                   "# The small files %s*.dat beside this script are derived from those CSVs\n"
                   "# only, by `harness plot` (a bar's colour is its linetype in style.gp).\n"
                   "# Restyle: edit style.gp (every figure) or this file, then run\n"
                   "# `gnuplot %s.gp` in this folder.\n"
                   "load 'style.gp'\n"
                   "do for [zp_fmt in zp_formats] {\n"
                   "# a fresh state for each format: settings of the last pass don't leak\n"
                   "reset\n"
                   "load 'style.gp'\n"
                   "eval zp_terminal(zp_fmt, '%s')\n",
                   what, sources, name, name, name);
}

void zp_plot_script_end(struct zp_sbuf *gp)
{
    zp_sbuf_printf(gp, "unset output\n}\n");
}
