/* Weight histogram of one layer (weights_hist.csv) with each scheme's decoded
 * levels for that layer (levels.csv) as rows of ticks underneath, on the same
 * x axis: where the levels fall against the mass of the weights. The layer is
 * the first one of weights_hist.csv that levels.csv also describes. */
#include <math.h>
#include <string.h>

#include "plots/plot_int.h"

/* The row label of a levels.csv row: the variant, and for a per-channel variant
 * the channel whose levels the row holds when levels.csv names it (column
 * channel), since a per-channel variant has one set of levels per channel. */
static void level_label(const struct zp_table *lv, size_t j, char *out, size_t n)
{
    zp_plot_row_label(lv, j, out, n);
    const char *ch = zp_table_str(lv, j, zp_table_col(lv, "channel"));
    size_t len = strlen(out);
    if (*ch && len < n)
        snprintf(out + len, n - len, " (channel %s)", ch);
}

enum zp_status zp_plot_figs_hist(struct zp_plot_run *r, struct zp_err *err)
{
    if (!r->has_whist || r->whist.nrows == 0)
        return ZP_OK;
    const struct zp_table *h = &r->whist, *lv = &r->levels;
    int hl = zp_table_col(h, "layer"), hx = zp_table_col(h, "x"), hc = zp_table_col(h, "count");
    if (hx < 0 || hc < 0)
        return ZP_OK;
    int ll = zp_table_col(lv, "layer"), lsch = zp_table_col(lv, "scheme");
    int lval = zp_table_col(lv, "level");
    /* (model, layer) names the layer when the CSVs have a model column */
    int hm = zp_table_col(h, "model"), lm = zp_table_col(lv, "model");
    const char *layer = zp_table_str(h, 0, hl), *model = zp_table_str(h, 0, hm);
    if (r->has_levels)
        for (size_t i = 0; i < h->nrows; i++) {
            const char *cand = zp_table_str(h, i, hl), *cm = zp_table_str(h, i, hm);
            int found = 0;
            for (size_t j = 0; j < lv->nrows && !found; j++)
                found = strcmp(zp_table_str(lv, j, ll), cand) == 0 &&
                        (lm < 0 || hm < 0 || strcmp(zp_table_str(lv, j, lm), cm) == 0);
            if (found) {
                layer = cand;
                model = cm;
                break;
            }
        }

    struct zp_strbuf dat = {0};
    double xmin = INFINITY, xmax = -INFINITY;
    zp_strbuf_printf(&dat, "# weights_hist: block 0 = histogram of layer %s (x, count);\n"
                         "# blocks 1.. = decoded levels of each scheme variant (level, row)\n", layer);
    size_t nbins = 0;
    for (size_t i = 0; i < h->nrows; i++) {
        if (strcmp(zp_table_str(h, i, hl), layer) != 0 || strcmp(zp_table_str(h, i, hm), model) != 0)
            continue;
        double x = zp_table_num(h, i, hx), n = zp_table_num(h, i, hc);
        if (isnan(x) || isnan(n))
            continue;
        zp_strbuf_printf(&dat, "%.8g,%.8g\n", x, n);
        xmin = fmin(xmin, x);
        xmax = fmax(xmax, x);
        nbins++;
    }
    if (!nbins) {
        zp_strbuf_free(&dat);
        return ZP_OK;
    }
    zp_strbuf_printf(&dat, "\n\n");
    struct zp_strset labels = {0}, schemes = {0};
    if (r->has_levels && lval >= 0) {
        for (size_t j = 0; j < lv->nrows; j++)
            if (strcmp(zp_table_str(lv, j, ll), layer) == 0 &&
                (lm < 0 || hm < 0 || strcmp(zp_table_str(lv, j, lm), model) == 0)) {
                char label[300];
                level_label(lv, j, label, sizeof label);
                if ((size_t)zp_strset_add(&labels, label) == schemes.n) {
                    char key[128];
                    snprintf(key, sizeof key, "%zu|%s", schemes.n, zp_table_str(lv, j, lsch));
                    zp_strset_add(&schemes, key);
                }
            }
        for (size_t k = 0; k < labels.n; k++) {
            zp_strbuf_printf(&dat, "# %s\n", labels.v[k]);
            for (size_t j = 0; j < lv->nrows; j++) {
                char label[300];
                level_label(lv, j, label, sizeof label);
                double v = zp_table_num(lv, j, lval);
                if (strcmp(zp_table_str(lv, j, ll), layer) != 0 || strcmp(label, labels.v[k]) != 0 ||
                    (lm >= 0 && hm >= 0 && strcmp(zp_table_str(lv, j, lm), model) != 0) || isnan(v))
                    continue;
                zp_strbuf_printf(&dat, "%.8g,%zu\n", v, k);
                xmin = fmin(xmin, v);
                xmax = fmax(xmax, v);
            }
            zp_strbuf_printf(&dat, "\n\n");
        }
    }
    enum zp_status st = dat.oom ? zp_err_set(err, ZP_ENOMEM, "weights_hist.dat: out of memory")
                                : zp_plot_write(r, "weights_hist.dat", dat.s, err);
    zp_strbuf_free(&dat);

    double pad = (xmax - xmin) * 0.04 + 1e-12;
    struct zp_strbuf gp = {0};
    zp_plot_script_begin(&gp, "weights_hist", "weight histogram of one layer with each scheme's levels",
                         "../weights_hist.csv (layer, x, count), ../levels.csv (scheme, label, layer, level)");
    zp_strbuf_printf(&gp, "set multiplot title ");
    char title[512];
    snprintf(title, sizeof title, "Weights of layer %s%s%s%s and the levels each scheme can represent",
             layer, *model ? " (" : "", model, *model ? ")" : "");
    zp_plot_quote(&gp, title);
    /* left margin wide enough for the longest variant label of the lower panel */
    size_t maxlen = 0;
    for (size_t k = 0; k < labels.n; k++)
        maxlen = strlen(labels.v[k]) > maxlen ? strlen(labels.v[k]) : maxlen;
    double lmargin = 0.035 + 0.0058 * (double)maxlen; /* ~6.4 px per character at 9 pt */
    lmargin = lmargin < 0.1 ? 0.1 : lmargin > 0.4 ? 0.4 : lmargin;
    zp_strbuf_printf(&gp, "\nset xrange [%.8g:%.8g]\nset lmargin at screen %.3f\nset rmargin at screen 0.97\n",
                   xmin - pad, xmax + pad, lmargin);
    double split = labels.n ? 0.50 : 0.12;
    zp_strbuf_printf(&gp, "set tmargin at screen 0.90\nset bmargin at screen %.2f\n", split + 0.02);
    zp_strbuf_printf(&gp, "set ylabel 'count'\nset yrange [0:*]\nunset key\n%s",
                   labels.n ? "set format x ''\nunset xlabel\n" : "set xlabel 'weight value'\n");
    zp_strbuf_printf(&gp, "plot 'weights_hist.dat' index 0 using 1:2 with boxes lc rgb '#9a9a9a' "
                        "fs solid 0.6 border lc rgb '#606060' title 'float weights'\n");
    if (labels.n) {
        zp_strbuf_printf(&gp, "set tmargin at screen %.2f\nset bmargin at screen 0.12\n", split);
        zp_strbuf_printf(&gp, "set format x '%%g'\nset xlabel 'weight value (levels decoded to float)'\n"
                            "unset ylabel\nunset grid\nset grid xtics lc rgb '#eeeeee'\n"
                            "set yrange [%.1f:-0.5]\n", (double)labels.n - 0.5);
        zp_strbuf_printf(&gp, "set ytics (");
        for (size_t k = 0; k < labels.n; k++) {
            zp_plot_quote(&gp, labels.v[k]);
            zp_strbuf_printf(&gp, " %zu%s", k, k + 1 < labels.n ? ", " : "");
        }
        zp_strbuf_printf(&gp, ") font ',9'\nplot ");
        for (size_t k = 0; k < labels.n; k++)
            zp_strbuf_printf(&gp, "%s'weights_hist.dat' index %zu using 1:($2-0.38):(0):(0.76) "
                                "with vectors nohead lt %d lw 1.5 notitle",
                           k ? ", \\\n     " : "", k + 1,
                           zp_plot_scheme_lt(&r->style, strchr(schemes.v[k], '|') + 1));
        zp_strbuf_printf(&gp, "\n");
    }
    zp_strbuf_printf(&gp, "unset multiplot\n");
    char caption[512];
    snprintf(caption, sizeof caption,
             "Histogram of the float weights of layer %s; below, one row per scheme variant "
             "with a tick at every level it can represent (the whole tensor's levels for a "
             "per-tensor variant, one channel's for a per-channel one when levels.csv names it).",
             layer);
    st = zp_plot_fig_finish(r, &gp, "weights_hist", "Weight histogram with quantization levels",
                            caption, st, err);
    zp_strset_free(&labels);
    zp_strset_free(&schemes);
    return st;
}
