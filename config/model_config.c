/* Run-config model entries: files, datasets, modes, calibration settings and
 * per-layer overrides. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/path.h"
#include "config/config_internal.h"
#include "config/scheme_entry.h"

enum zp_status zp_cfg_modes(struct zp_cfg_ctx *c, const cJSON *modes, const char *path,
                            unsigned *out)
{
    char mp[ZP_JPATH_LEN];
    snprintf(mp, sizeof mp, "%s", path);
    if (!cJSON_IsArray(modes) || cJSON_GetArraySize(modes) == 0)
        return zp_err_set(c->j.err, ZP_ECONFIG,
                          "%s: %s: expected a non-empty array of weights, activations, both, qat, integer",
                          c->j.file, mp);
    *out = 0;
    for (int i = 0; i < cJSON_GetArraySize(modes); i++) {
        char w[16];
        if (zp_json_value_str(&c->j, cJSON_GetArrayItem(modes, i), zp_jpath_index(&c->j, mp, i),
                              ZP_MODE_CHOICES, w, sizeof w))
            return c->j.err->status;
        *out |= 1u << zp_choice_find(ZP_MODE_CHOICES, w);
    }
    return ZP_OK;
}

static enum zp_status parse_calib(struct zp_cfg_ctx *c, const cJSON *v, const char *path,
                                  uint64_t seed, struct zp_calib_cfg *k)
{
    if (zp_json_expect_object(&c->j, v, path) ||
        zp_json_check_section(&c->j, v, path, "run.models[].calibration"))
        return c->j.err->status;
    snprintf(k->method, sizeof k->method, "minmax");
    k->ema_constant = 0.01;
    k->percentile = 99.99;
    k->bins = 2048;
    k->size = 500;
    k->seed = seed;
    k->shuffle = 1;
    long long size = k->size, bins = k->bins, s = (long long)(seed & 0x7fffffff);
    char order[16] = "shuffled";
    if (zp_json_str(&c->j, v, path, "method", "minmax|ema|percentile|mse|kl", k->method,
                    sizeof k->method) ||
        zp_json_int(&c->j, v, path, "size", 1, 10000000, &size) ||
        zp_json_int(&c->j, v, path, "seed", 0, LLONG_MAX, &s) ||
        zp_json_str(&c->j, v, path, "order", "shuffled|first", order, sizeof order) ||
        zp_json_num(&c->j, v, path, "ema_constant", 1e-6, 1, &k->ema_constant) ||
        zp_json_num(&c->j, v, path, "percentile", 50, 100, &k->percentile) ||
        zp_json_int(&c->j, v, path, "bins", 16, 1 << 20, &bins))
        return c->j.err->status;
    k->size = (int)size;
    k->bins = (int)bins;
    k->seed = (uint64_t)s;
    k->shuffle = strcmp(order, "shuffled") == 0;
    return ZP_OK;
}

/* "select": {"size": N}: the last N examples of calibration_data, which must be
 * another dataset than the evaluation split (selection never sees the eval set). */
static enum zp_status parse_select(struct zp_cfg_ctx *c, const cJSON *v, const char *path,
                                   struct zp_model_cfg *m, int has_calib_data)
{
    const cJSON *sel = cJSON_GetObjectItemCaseSensitive(v, "select");
    m->select_size = 0;
    if (!sel)
        return ZP_OK;
    char sp[ZP_JPATH_LEN];
    snprintf(sp, sizeof sp, "%s", zp_jpath_key(&c->j, path, "select"));
    if (zp_json_expect_object(&c->j, sel, sp) || zp_json_check_section(&c->j, sel, sp, "run.models[].select"))
        return c->j.err->status;
    if (!cJSON_GetObjectItemCaseSensitive(sel, "size"))
        return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: missing (examples of calibration_data)", c->j.file,
                          zp_jpath_key(&c->j, sp, "size"));
    long long size = 0;
    if (zp_json_int(&c->j, sel, sp, "size", 1, 1000000, &size))
        return c->j.err->status;
    if (!has_calib_data || strcmp(m->calib_data.images, m->eval.images) == 0)
        return zp_err_set(c->j.err, ZP_ECONFIG,
                          "%s: %s: the select split comes from calibration_data, which must be another "
                          "dataset than eval (selecting on the evaluation set is what it avoids)",
                          c->j.file, sp);
    m->select_size = (int)size;
    return ZP_OK;
}

static enum zp_status parse_calibrations(struct zp_cfg_ctx *c, const cJSON *v, const char *path,
                                         struct zp_model_cfg *m)
{
    const cJSON *cal = cJSON_GetObjectItemCaseSensitive(v, "calibration");
    char cp[ZP_JPATH_LEN];
    snprintf(cp, sizeof cp, "%s", zp_jpath_key(&c->j, path, "calibration"));
    if (!cal) {
        m->n_calib = 1;
        cJSON *empty = cJSON_CreateObject();
        enum zp_status st = parse_calib(c, empty, cp, c->cfg->seed, &m->calib[0]);
        cJSON_Delete(empty);
        return st;
    }
    if (cJSON_IsArray(cal)) {
        int n = cJSON_GetArraySize(cal);
        if (n < 1 || n > ZP_MAX_CALIB)
            return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: expected 1..%d entries, got %d",
                              c->j.file, cp, ZP_MAX_CALIB, n);
        for (int i = 0; i < n; i++)
            if (parse_calib(c, cJSON_GetArrayItem(cal, i), zp_jpath_index(&c->j, cp, i),
                            c->cfg->seed, &m->calib[i]))
                return c->j.err->status;
        m->n_calib = n;
        return ZP_OK;
    }
    if (parse_calib(c, cal, cp, c->cfg->seed, &m->calib[0]))
        return c->j.err->status;
    m->n_calib = 1;
    return ZP_OK;
}

static enum zp_status parse_overrides(struct zp_cfg_ctx *c, const cJSON *v, const char *path,
                                      struct zp_model_cfg *m)
{
    const cJSON *ov = cJSON_GetObjectItemCaseSensitive(v, "overrides");
    if (!ov)
        return ZP_OK;
    char op[ZP_JPATH_LEN];
    snprintf(op, sizeof op, "%s", zp_jpath_key(&c->j, path, "overrides"));
    int n = cJSON_IsArray(ov) ? cJSON_GetArraySize(ov) : -1;
    if (n < 0 || n > ZP_MAX_OVERRIDES)
        return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: expected an array of up to %d",
                          c->j.file, op, ZP_MAX_OVERRIDES);
    for (int i = 0; i < n; i++) {
        const cJSON *o = cJSON_GetArrayItem(ov, i);
        char oipath[128];
        snprintf(oipath, sizeof oipath, "%s", zp_jpath_index(&c->j, op, i));
        struct zp_override *dst = &m->overrides[i];
        if (zp_json_expect_object(&c->j, o, oipath))
            return c->j.err->status;
        const cJSON *layers = cJSON_GetObjectItemCaseSensitive(o, "layers");
        if (!cJSON_IsArray(layers) || cJSON_GetArraySize(layers) < 1 ||
            cJSON_GetArraySize(layers) > ZP_MAX_OVERRIDE_LAYERS)
            return zp_err_set(c->j.err, ZP_ECONFIG,
                              "%s: %s: expected an array of layer names, indices, \"first\" "
                              "or \"last\"",
                              c->j.file, zp_jpath_key(&c->j, oipath, "layers"));
        dst->n_layers = cJSON_GetArraySize(layers);
        for (int l = 0; l < dst->n_layers; l++) {
            const cJSON *e = cJSON_GetArrayItem(layers, l);
            if (cJSON_IsNumber(e) && e->valuedouble == floor(e->valuedouble))
                snprintf(dst->layers[l], ZP_NAME_MAX, "#%d", (int)e->valuedouble);
            else if (zp_json_value_str(&c->j, e,
                                       zp_jpath_index(&c->j, zp_jpath_key(&c->j, oipath, "layers"),
                                                      l),
                                       NULL, dst->layers[l], ZP_NAME_MAX))
                return c->j.err->status;
        }
        const cJSON *fl = cJSON_GetObjectItemCaseSensitive(o, "float");
        if (fl) {
            if (!cJSON_IsBool(fl))
                return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: expected true or false", c->j.file,
                                  zp_jpath_key(&c->j, oipath, "float"));
            dst->keep_float = cJSON_IsTrue(fl);
        }
        if (dst->keep_float) { /* no quantizer: nothing else may be given */
            for (const cJSON *k = o->child; k; k = k->next)
                if (strcmp(k->string, "layers") != 0 && strcmp(k->string, "float") != 0 &&
                    strcmp(k->string, "label") != 0)
                    return zp_err_set(c->j.err, ZP_ECONFIG,
                                      "%s: %s: \"float\": true keeps the layers float; a "
                                      "quantizer key means nothing with it",
                                      c->j.file, zp_jpath_key(&c->j, oipath, k->string));
            snprintf(dst->label, sizeof dst->label, "float");
            continue;
        }
        /* "label" was accepted (and ignored) here before: still is */
        static const char *const skip[] = {"layers", "label", "float", NULL};
        if (zp_cfg_scheme_object(&c->j, o, oipath, skip, "run.schemes[]", &dst->w))
            return c->j.err->status;
        snprintf(dst->label, sizeof dst->label, "%s %db", dst->w.scheme->name, dst->w.bits);
    }
    m->n_overrides = n;
    return ZP_OK;
}

enum zp_status zp_cfg_model(struct zp_cfg_ctx *c, const cJSON *v, int index,
                            struct zp_model_cfg *m)
{
    char path[64];
    snprintf(path, sizeof path, "%s", zp_jpath_index(&c->j, "models", index));
    if (zp_json_expect_object(&c->j, v, path) ||
        zp_json_check_section(&c->j, v, path, "run.models[]"))
        return c->j.err->status;
    memset(m, 0, sizeof *m);
    if (zp_cfg_path_member(c, v, path, "path", 1, m->path) ||
        zp_cfg_path_member(c, v, path, "checkpoint", 0, m->checkpoint) ||
        zp_json_str(&c->j, v, path, "name", NULL, m->name, sizeof m->name))
        return c->j.err->status;
    if (!m->name[0]) {
        zp_path_stem(m->path, m->name, sizeof m->name);
    }
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(v, "eval");
    if (!ev)
        return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: missing (the evaluation dataset)",
                          c->j.file, zp_jpath_key(&c->j, path, "eval"));
    if (zp_cfg_dataset(c, ev, zp_jpath_key(&c->j, path, "eval"), &m->eval))
        return c->j.err->status;
    const cJSON *cd = cJSON_GetObjectItemCaseSensitive(v, "calibration_data");
    if (cd) {
        if (zp_cfg_dataset(c, cd, zp_jpath_key(&c->j, path, "calibration_data"), &m->calib_data))
            return c->j.err->status;
    } else {
        m->calib_data = m->eval;
        m->calib_data.spec.images = m->calib_data.images;
        m->calib_data.spec.labels = m->calib_data.labels;
    }
    const cJSON *td = cJSON_GetObjectItemCaseSensitive(v, "train_data");
    if (td && zp_cfg_dataset(c, td, zp_jpath_key(&c->j, path, "train_data"), &m->train_data))
        return c->j.err->status;

    const cJSON *modes = cJSON_GetObjectItemCaseSensitive(v, "modes");
    m->modes = 1u << ZP_MODE_WEIGHTS;
    if (modes && zp_cfg_modes(c, modes, zp_jpath_key(&c->j, path, "modes"), &m->modes))
        return c->j.err->status;
    /* A scheme entry's own modes replace the model's: every mode this model runs
     * for any variant needs its inputs. `at` names where qat was asked for. */
    char at[ZP_JPATH_LEN], in_model[80] = "";
    snprintf(at, sizeof at, "%s", zp_jpath_key(&c->j, path, "modes"));
    int qat = (m->modes >> ZP_MODE_QAT) & 1;
    for (size_t i = 0; i < c->cfg->n_variants && !qat; i++)
        if ((c->cfg->variants[i].modes >> ZP_MODE_QAT) & 1) {
            qat = 1;
            snprintf(at, sizeof at, "schemes[%d].modes", c->cfg->variants[i].entry);
            snprintf(in_model, sizeof in_model, " in %s", path);
        }
    if (qat && !m->train_data.present)
        return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: mode \"qat\" needs \"train_data\"%s",
                          c->j.file, at, in_model);
    if (qat && !m->checkpoint[0])
        return zp_err_set(c->j.err, ZP_ECONFIG,
                          "%s: %s: mode \"qat\" needs \"checkpoint\" (the float training checkpoint)",
                          c->j.file, path);
    if (parse_calibrations(c, v, path, m) || parse_overrides(c, v, path, m))
        return c->j.err->status;
    long long batch = 50, lss = 256;
    int layer_stats = 1;
    char quantize_at[16] = "inputs";
    if (zp_json_int(&c->j, v, path, "batch", 1, 4096, &batch) ||
        zp_json_int(&c->j, v, path, "layer_stats_samples", 0, 1000000, &lss) ||
        zp_json_bool(&c->j, v, path, "layer_stats", &layer_stats) ||
        zp_json_str(&c->j, v, path, "quantize_at", "inputs|inputs+outputs", quantize_at,
                    sizeof quantize_at) ||
        zp_json_num(&c->j, v, path, "prune", 0, 0.99, &m->prune))
        return c->j.err->status;
    m->batch = (int)batch;
    m->layer_stats_samples = (int)lss;
    m->layer_stats_off = !layer_stats;
    m->act_at = strcmp(quantize_at, "inputs") != 0;
    return parse_select(c, v, path, m, cd != NULL);
}
