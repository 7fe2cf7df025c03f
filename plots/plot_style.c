/* The one figure style of a run: plots/style.gp (fonts, output formats, a fixed
 * colour and marker per scheme), compiled in, and the helpers that keep scripts
 * consistent with it. Colours are the Okabe-Ito palette (colour-blind safe); every
 * scheme also has its own marker and, in bar charts, the variants of a scheme
 * differ by fill pattern, so a greyscale print still tells the series apart. */
#include <stdio.h>
#include <string.h>

#include "plots/plot_int.h"

/* plots/style.gp itself, turned into a string literal by a Makefile rule
 * ($(BUILD)/gen/style_gp.inc): the file is the only copy of the style. */
static const char style_text[] =
#include "style_gp.inc"
    ;

const char *zp_plot_style_text(void)
{
    return style_text;
}

/* Fixed linetypes; must match the 'set linetype' lines of style.gp (a test
 * checks the comment of each line names the scheme). */
static const char *const known[] = {
    "float", "asymmetric", "symmetric", "no-128", "linear4", "lut4", "binary", "openblas", "onednn",
};
#define N_KNOWN (sizeof known / sizeof known[0])

int zp_plot_scheme_lt(struct zp_plot_style *st, const char *scheme)
{
    for (size_t i = 0; i < N_KNOWN; i++)
        if (strcmp(scheme, known[i]) == 0)
            return (int)i + 1;
    if (strncmp(scheme, "onednn", 6) == 0 || strncmp(scheme, "dnnl", 4) == 0)
        return 9;
    if (strncmp(scheme, "openblas", 8) == 0)
        return 8;
    if (strcmp(scheme, "f32") == 0 || strcmp(scheme, "fp32") == 0)
        return 1;
    /* Unknown names get the next free extra linetype in order of first use, so a
     * plugin scheme keeps one colour across every figure of a render. */
    for (size_t i = 0; i < st->nextra; i++)
        if (strcmp(st->extra[i], scheme) == 0)
            return (int)(N_KNOWN + 1 + i);
    if (st->nextra < ZP_PLOT_N_EXTRA) {
        snprintf(st->extra[st->nextra], sizeof st->extra[0], "%s", scheme);
        return (int)(N_KNOWN + 1 + st->nextra++);
    }
    return (int)(N_KNOWN + ZP_PLOT_N_EXTRA); /* beyond the palette: share the last one */
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

const char *zp_plot_dash(size_t i)
{
    static const char *const dashes[] = {
        "1", "2", "3", "4", "5", "(12,4,2,4,2,4)", "(2,6)", "(16,6)",
    };
    return dashes[i % (sizeof dashes / sizeof dashes[0])];
}

int zp_plot_marker(size_t i)
{
    /* point types that are not one of the built-in schemes' own markers */
    static const int pts[] = {1, 2, 3, 10, 14};
    return pts[i % (sizeof pts / sizeof pts[0])];
}
