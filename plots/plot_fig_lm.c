/* Language-model figures from accuracy.csv's LM columns (docs/definitions.md):
 * how much each variant raises the mean next-token NLL over the float model's,
 * and its mean KL divergence from the float model. One bar per variant and mode,
 * every variant shown: an LM run has no select split to choose one by, and the
 * rounding / granularity variants of one scheme are what these runs compare.
 * Nothing is drawn for a run without LM rows. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plots/plot_int.h"

/* The bar group of row i: its label, with the model first when the run has several. */
static void group_of(const struct zp_table *t, size_t i, int several, char *out, size_t n)
{
    const char *label = zp_table_str(t, i, zp_table_col(t, "label"));
    if (several)
        snprintf(out, n, "%s: %s", zp_table_str(t, i, zp_table_col(t, "model")), label);
    else
        snprintf(out, n, "%s", label);
}

enum zp_status zp_plot_figs_lm(struct zp_plot_run *r, struct zp_err *err)
{
    if (!r->has_accuracy)
        return ZP_OK;
    const struct zp_table *t = &r->accuracy;
    int cn = zp_table_col(t, "nll"), cf = zp_table_col(t, "float_nll"), ck = zp_table_col(t, "kld_mean"),
        cm = zp_table_col(t, "mode"), cs = zp_table_col(t, "scheme"), cl = zp_table_col(t, "label");
    if (cn < 0 || cf < 0 || cm < 0 || cs < 0 || cl < 0)
        return ZP_OK;
    struct zp_strset models = {0};
    zp_plot_models(t, &models);
    int several = models.n > 1;
    zp_strset_free(&models);
    struct zp_bars gap = {.colour_by_group = 1, .value_fmt = "%.4f", .symlog_ok = 1};
    struct zp_bars kld = {.colour_by_group = 1, .value_fmt = "%.3f", .symlog_ok = 1};
    for (size_t i = 0; i < t->nrows; i++) {
        const char *mode = zp_table_str(t, i, cm);
        double nll = zp_table_num(t, i, cn), fnll = zp_table_num(t, i, cf);
        if (strcmp(mode, "float") == 0 || isnan(nll) || isnan(fnll))
            continue;
        char group[200];
        group_of(t, i, several, group, sizeof group);
        const char *scheme = zp_table_str(t, i, cs);
        zp_bars_add(&gap, group, scheme, mode, "", nll - fnll);
        if (ck >= 0)
            zp_bars_add(&kld, group, scheme, mode, "", zp_table_num(t, i, ck));
    }
    const struct zp_bar_fig fg = {
        .name = "lm_nll_gap", .what = "mean next-token NLL above the float model's, per variant",
        .sources = "../accuracy.csv (columns model, label, scheme, mode, nll, float_nll)",
        .title = "Language model: NLL above float (nats per token; lower is better)",
        .ylabel = "NLL - float NLL (nats/token)",
        .heading = "Language model: NLL above float",
        .caption = "Mean next-token negative log-likelihood of each variant minus the float model's "
                   "on the same windows (nats per token; 0 = as good as float), one bar per variant "
                   "and mode, every variant of the run (a mean over replicates where there are several).",
    };
    const struct zp_bar_fig fk = {
        .name = "lm_kld", .what = "mean per-token KL divergence from the float model, per variant",
        .sources = "../accuracy.csv (columns model, label, scheme, mode, kld_mean)",
        .title = "Language model: KL divergence from float (nats per token; lower is better)",
        .ylabel = "mean KLD (nats/token)",
        .heading = "Language model: KL divergence from float",
        .caption = "Mean over every predicted position of KL(float || quantized) between the two "
                   "models' next-token distributions (nats), one bar per variant and mode.",
    };
    enum zp_status st = zp_plot_bar_figure(r, &fg, &gap, err);
    if (st == ZP_OK)
        st = zp_plot_bar_figure(r, &fk, &kld, err);
    zp_bars_free(&gap);
    zp_bars_free(&kld);
    return st;
}
