/* Per-layer figures from layers.csv: output SQNR of every layer (which layers
 * hurt) and the mean shift a non-exact zero creates, one line per variant.
 * One model and one PTQ mode per figure ("both" preferred) so lines compare. */
#include <math.h>
#include <string.h>

#include "plots/plot_int.h"

static const char *layers_mode(const struct zp_table *t)
{
    static const char *const order[] = {"both", "activations", "weights", "qat"};
    int mc = zp_table_col(t, "mode");
    if (mc < 0)
        return NULL;
    for (size_t o = 0; o < 4; o++)
        for (size_t i = 0; i < t->nrows; i++)
            if (strcmp(zp_table_str(t, i, mc), order[o]) == 0)
                return order[o];
    return t->nrows ? zp_table_str(t, 0, mc) : NULL;
}

static enum zp_status fig_layer_metric(struct zp_plot_run *r, const char *name, const char *metric,
                                       const char *title, const char *ylabel, const char *caption,
                                       int log_ok, const char *model_wanted, struct zp_err *err)
{
    const struct zp_table *t = &r->layers;
    int cm = zp_table_col(t, metric);
    if (cm < 0)
        return ZP_OK;
    int cmode = zp_table_col(t, "mode"), cmodel = zp_table_col(t, "model");
    int cidx = zp_table_col(t, "layer_index"), clay = zp_table_col(t, "layer");
    int csch = zp_table_col(t, "scheme");
    const char *mode = layers_mode(t);
    const char *model = model_wanted ? model_wanted : t->nrows ? zp_table_str(t, 0, cmodel) : "";
    /* One calibration setting per figure (the first row's of this model and mode):
     * a sweep over methods would otherwise stack several lines per variant. */
    int ccal = zp_table_col(t, "calibration"), csize = zp_table_col(t, "calib_size");
    size_t ref = t->nrows;
    for (size_t i = 0; i < t->nrows && ref == t->nrows; i++)
        if ((!mode || strcmp(zp_table_str(t, i, cmode), mode) == 0) &&
            strcmp(zp_table_str(t, i, cmodel), model) == 0)
            ref = i;
    struct zp_lines lines = {0};
    struct zp_strset layer_names = {0};
    size_t npoints = 0;
    double vmin = INFINITY, vmax = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        if (mode && strcmp(zp_table_str(t, i, cmode), mode) != 0)
            continue;
        if (strcmp(zp_table_str(t, i, cmodel), model) != 0)
            continue;
        if (ccal >= 0 && strcmp(zp_table_str(t, i, ccal), zp_table_str(t, ref, ccal)) != 0)
            continue;
        if (csize >= 0 && strcmp(zp_table_str(t, i, csize), zp_table_str(t, ref, csize)) != 0)
            continue;
        char label[256];
        zp_plot_row_label(t, i, label, sizeof label);
        const char *layer = zp_table_str(t, i, clay);
        /* x is the layer's position in the graph; layers.csv order when absent */
        double x = zp_table_num(t, i, cidx);
        int li = zp_strset_add(&layer_names, layer);
        if (isnan(x))
            x = li;
        double v = zp_table_num(t, i, cm);
        zp_line_add(zp_lines_get(&lines, label, zp_table_str(t, i, csch)), x, v, layer);
        if (v > 0) {
            vmin = fmin(vmin, v);
            vmax = fmax(vmax, v);
        }
        npoints += !isnan(v);
    }
    enum zp_status st = ZP_OK;
    if (npoints) {
        struct zp_strbuf gp = {0};
        char what[256];
        snprintf(what, sizeof what, "%s per layer, one line per scheme variant", metric);
        zp_plot_script_begin(&gp, name, what, "../layers.csv (columns label, mode, layer_index, layer)");
        zp_strbuf_printf(&gp, "set title ");
        char full[512];
        snprintf(full, sizeof full, "%s (%s%s%s)", title, *model ? model : "model",
                 mode ? ", mode " : "", mode ? mode : "");
        zp_plot_quote(&gp, full);
        zp_strbuf_printf(&gp, "\nset xlabel 'layer'\nset ylabel ");
        zp_plot_quote(&gp, ylabel);
        zp_strbuf_printf(&gp, "\n");
        zp_strbuf_printf(&gp, "set xtics rotate by 45 right font ',%d'\nset offsets 0.5, 0.5, graph 0.05, 0\n",
                       layer_names.n > 30 ? 7 : 9);
        /* a positive metric spanning decades (a binary variant's shift next to an
         * 8-bit one's) only reads on a log axis; zeros then drop out */
        if (log_ok && vmax > 1000 * vmin)
            zp_strbuf_printf(&gp, "set logscale y\nset format y '%%.0e'\n");
        lines.shorten_titles = 1;
        st = zp_lines_emit(r, &lines, name, &gp, 1, NULL, err);
        st = zp_plot_fig_finish(r, &gp, name, title, caption, st, err);
    }
    zp_lines_free(&lines);
    zp_strset_free(&layer_names);
    return st;
}

enum zp_status zp_plot_figs_layers(struct zp_plot_run *r, struct zp_err *err)
{
    if (!r->has_layers || r->layers.nrows == 0)
        return ZP_OK;
    /* One pair of figures per model; the first model's keep the plain names. */
    const struct zp_table *t = &r->layers;
    struct zp_strset models = {0};
    zp_plot_models(t, &models);
    enum zp_status st = ZP_OK;
    for (size_t k = 0; k < models.n && st == ZP_OK; k++) {
        char sq[160], ms[160];
        if (k == 0) {
            snprintf(sq, sizeof sq, "layers_sqnr");
            snprintf(ms, sizeof ms, "layers_mean_shift");
        } else {
            char safe[96];
            zp_plot_model_suffix(models.v[k], safe, sizeof safe);
            snprintf(sq, sizeof sq, "layers_sqnr%s", safe);
            snprintf(ms, sizeof ms, "layers_mean_shift%s", safe);
        }
        st = fig_layer_metric(
            r, sq, "sqnr_db", "Per-layer output SQNR by scheme variant",
            "layer output SQNR (dB)",
            "SQNR (dB) of each layer's output against the float run, one line per scheme variant: "
            "dips mark the layers that hurt.",
            0, models.v[k], err);
        if (st == ZP_OK)
            st = fig_layer_metric(
                r, ms, "mean_shift", "Per-layer mean shift by scheme variant",
                "mean shift |mean(y'-y)| / std(y)",
                "Mean over channels of |mean(y' - y)| / std(y) per layer, one line per variant: "
                "the bias a non-exact zero creates (zero-representation view); log scale when it "
                "spans decades.",
                1, models.v[k], err);
    }
    zp_strset_free(&models);
    return st;
}
