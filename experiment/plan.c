/* Plan construction: see plan.h. */
#include "experiment/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/results.h"

/* The label a config entry gave ("A8" of "A8: asymmetric 8b per-channel ..."),
 * or the whole label when the entry gave none. */
static void entry_label(const struct zp_variant *v, char *out, size_t n)
{
    const char *colon = strstr(v->label, ": ");
    size_t len = colon ? (size_t)(colon - v->label) : strlen(v->label);
    snprintf(out, n, "%.*s", (int)len, v->label);
}

/* A name of --only selects a variant by its label, its entry's label (every
 * variant a sweep entry expands to) or its scheme's name. */
static int matches(const struct zp_variant *v, const char *tok)
{
    char entry[160];
    entry_label(v, entry, sizeof entry);
    return strcmp(tok, v->label) == 0 || strcmp(tok, entry) == 0 || strcmp(tok, v->w.scheme->name) == 0;
}

static int selected(const struct zp_variant *v, const char *only)
{
    if (!only)
        return 1;
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", only);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (matches(v, tok))
            return 1;
    return 0;
}

/* Appends name to the comma list in out unless it is there already. */
static void add_name(char *out, size_t n, const char *name)
{
    size_t len = strlen(out), k = strlen(name);
    for (const char *p = out; (p = strstr(p, name)) != NULL; p += k)
        if ((p == out || p[-1] == ' ') && (p[k] == ',' || p[k] == '\0'))
            return;
    if (len + k + 3 < n)
        snprintf(out + len, n - len, "%s%s", len ? ", " : "", name);
    else if (len + 4 < n)
        snprintf(out + len, n - len, "...");
}

/* Every name in --only must match a label or a scheme name: a typo would else
 * silently drop cells. The error lists what the config offers. */
static enum zp_status check_only(const struct zp_config *cfg, const char *only, struct zp_err *err)
{
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", only);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int hit = 0;
        for (size_t v = 0; v < cfg->n_variants && !hit; v++)
            hit = matches(&cfg->variants[v], tok);
        if (hit)
            continue;
        char schemes[300] = "", labels[600] = "";
        for (size_t v = 0; v < cfg->n_variants; v++) {
            char entry[160];
            entry_label(&cfg->variants[v], entry, sizeof entry);
            add_name(schemes, sizeof schemes, cfg->variants[v].w.scheme->name);
            add_name(labels, sizeof labels, entry);
        }
        return zp_err_set(err, ZP_ECONFIG,
                          "--only: '%s' is no scheme name or label of %s; schemes: %s; labels: %s", tok,
                          cfg->path, schemes, labels);
    }
    return ZP_OK;
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
    size_t cap = 0;
    if (only && check_only(cfg, only, err))
        return err->status;
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
                int calibrated = mode == ZP_MODE_ACTIVATIONS || mode == ZP_MODE_BOTH || mode == ZP_MODE_INTEGER;
                int n_cal = calibrated ? mc->n_calib : 1;
                for (int k = 0; k < n_cal; k++) {
                    memset(&c, 0, sizeof c);
                    c.kind = ZP_CELL_MODEL;
                    c.variant = v;
                    c.source = m;
                    c.mode = (enum zp_mode)mode;
                    c.calib = calibrated ? k : -1;
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
