/* Plan construction: see plan.h. */
#include "experiment/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/results.h"

static int selected(const struct zp_variant *v, const char *only)
{
    if (!only)
        return 1;
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", only);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (strcmp(tok, v->label) == 0 || strcmp(tok, v->w.scheme->name) == 0)
            return 1;
    return 0;
}

static enum zp_status push(struct zp_plan *plan, size_t *cap, struct zp_cell *c, struct zp_err *err)
{
    if (plan->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct zp_cell *nb = realloc(plan->cells, nc * sizeof *nb);
        if (!nb)
            return zp_err_set(err, ZP_ENOMEM, "out of memory");
        plan->cells = nb;
        *cap = nc;
    }
    char fp[17];
    zp_fingerprint(c->desc, strlen(c->desc), fp);
    snprintf(c->id, sizeof c->id, "%05zu-%.12s", plan->n, fp);
    plan->cells[plan->n++] = *c;
    return ZP_OK;
}

enum zp_status zp_plan_build(const struct zp_config *cfg, const char *only, struct zp_plan *plan,
                             struct zp_err *err)
{
    memset(plan, 0, sizeof *plan);
    size_t cap = 0, n_sel = 0;
    for (size_t v = 0; v < cfg->n_variants; v++)
        n_sel += selected(&cfg->variants[v], only);
    if (!n_sel)
        return zp_err_set(err, ZP_ECONFIG,
                          "--only %s: matches no scheme name or label of %s (see the labels with "
                          "'harness run %s --only x' errors or in accuracy.csv)",
                          only, cfg->path, cfg->path);
    struct zp_cell c;
    for (size_t s = 0; s < cfg->n_synth; s++)
        for (size_t v = 0; v < cfg->n_variants; v++) {
            if (!selected(&cfg->variants[v], only))
                continue;
            memset(&c, 0, sizeof c);
            c.kind = ZP_CELL_SYNTH;
            c.variant = v;
            c.source = s;
            c.calib = -1;
            const struct zp_synth_cfg *sy = &cfg->synth[s];
            snprintf(c.desc, sizeof c.desc, "tensor %s (%s n=%lld ch=%lld seed=%llu) | %s",
                     sy->name, zp_distribution_name(sy->dist), (long long)sy->n,
                     (long long)sy->channels, (unsigned long long)sy->seed,
                     cfg->variants[v].label);
            if (push(plan, &cap, &c, err))
                return err->status;
        }
    for (size_t m = 0; m < cfg->n_weight_models; m++)
        for (size_t v = 0; v < cfg->n_variants; v++) {
            if (!selected(&cfg->variants[v], only))
                continue;
            memset(&c, 0, sizeof c);
            c.kind = ZP_CELL_WEIGHTS;
            c.variant = v;
            c.source = m;
            c.calib = -1;
            snprintf(c.desc, sizeof c.desc, "weights of %s | %s", cfg->weight_models[m],
                     cfg->variants[v].label);
            if (push(plan, &cap, &c, err))
                return err->status;
        }
    for (size_t m = 0; m < cfg->n_models; m++) {
        const struct zp_model_cfg *mc = &cfg->models[m];
        memset(&c, 0, sizeof c);
        c.kind = ZP_CELL_HIST;
        c.source = m;
        c.calib = -1;
        snprintf(c.desc, sizeof c.desc, "weight histogram of %s", mc->name);
        if (push(plan, &cap, &c, err))
            return err->status;
        for (size_t v = 0; v < cfg->n_variants; v++) {
            const struct zp_variant *va = &cfg->variants[v];
            if (!selected(va, only))
                continue;
            /* a scheme entry's own "modes" replace the model's */
            unsigned modes = va->modes ? va->modes : mc->modes;
            for (int mode = 0; mode < ZP_N_MODES; mode++) {
                if (!(modes & (1u << mode)))
                    continue;
                int n_cal = (mode == ZP_MODE_ACTIVATIONS || mode == ZP_MODE_BOTH) ? mc->n_calib : 1;
                for (int k = 0; k < n_cal; k++) {
                    memset(&c, 0, sizeof c);
                    c.kind = ZP_CELL_MODEL;
                    c.variant = v;
                    c.source = m;
                    c.mode = (enum zp_mode)mode;
                    c.calib = (mode == ZP_MODE_ACTIVATIONS || mode == ZP_MODE_BOTH) ? k : -1;
                    char cal[128] = "none";
                    if (c.calib >= 0)
                        snprintf(cal, sizeof cal, "%s size=%d seed=%llu", mc->calib[k].method,
                                 mc->calib[k].size, (unsigned long long)mc->calib[k].seed);
                    snprintf(c.desc, sizeof c.desc, "%s on %s | %s | %s | calib %s",
                             mc->name, mc->eval.name, va->label, zp_mode_name(c.mode), cal);
                    if (push(plan, &cap, &c, err))
                        return err->status;
                }
            }
        }
    }
    return ZP_OK;
}

void zp_plan_free(struct zp_plan *plan)
{
    free(plan->cells);
    memset(plan, 0, sizeof *plan);
}
