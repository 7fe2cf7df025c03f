/* Experiment (run) config loading: the top level, plugins and the tensors section;
 * scheme entries are in sweep.c, datasets in dataset_config.c, models in
 * model_config.c. See config.h and docs/config.md. */
#include "config/config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/path.h"
#include "config/config_internal.h"
#include "config/scheme_entry.h"

const char *zp_mode_name(enum zp_mode m)
{
    static const char *const names[] = {"weights", "activations", "both", "qat", "integer"};
    return (unsigned)m < ZP_N_MODES ? names[m] : "?";
}

const char *zp_distribution_name(enum zp_distribution d)
{
    static const char *const names[] = {"uniform", "gaussian", "laplace", "relu_gaussian"};
    return (unsigned)d < 4 ? names[d] : "?";
}

/* ---- tensors section ----------------------------------------------------- */

static enum zp_status parse_synth(struct zp_cfg_ctx *c, const cJSON *v, const char *path,
                                  struct zp_synth_cfg *s)
{
    if (zp_json_expect_object(&c->j, v, path) ||
        zp_json_check_section(&c->j, v, path, "run.tensors.synthetic[]"))
        return c->j.err->status;
    memset(s, 0, sizeof *s);
    char dist[32] = "";
    if (!cJSON_GetObjectItemCaseSensitive(v, "distribution"))
        return zp_err_set(c->j.err, ZP_ECONFIG,
                          "%s: %s: missing (uniform, gaussian, laplace or relu_gaussian)",
                          c->j.file, zp_jpath_key(&c->j, path, "distribution"));
    long long n = 65536, ch = 1, seed = (long long)(c->cfg->seed & 0x7fffffff);
    s->scale = 1.0;
    s->zero_share = 0.5;
    if (zp_json_str(&c->j, v, path, "distribution", "uniform|gaussian|laplace|relu_gaussian", dist,
                    sizeof dist) ||
        zp_json_str(&c->j, v, path, "name", NULL, s->name, sizeof s->name) ||
        zp_json_int(&c->j, v, path, "n", 1, 1LL << 28, &n) ||
        zp_json_int(&c->j, v, path, "channels", 1, 1 << 20, &ch) ||
        zp_json_int(&c->j, v, path, "seed", 0, LLONG_MAX, &seed) ||
        zp_json_num(&c->j, v, path, "scale", 1e-30, 1e30, &s->scale) ||
        zp_json_num(&c->j, v, path, "zero_share", 0, 1, &s->zero_share))
        return c->j.err->status;
    if (n % ch != 0)
        return zp_err_set(c->j.err, ZP_ECONFIG,
                          "%s: %s: n (%lld) must be a multiple of channels (%lld)", c->j.file,
                          path, n, ch);
    s->dist = (enum zp_distribution)zp_choice_find("uniform|gaussian|laplace|relu_gaussian", dist);
    s->n = n;
    s->channels = ch;
    s->seed = (uint64_t)seed;
    if (!s->name[0])
        snprintf(s->name, sizeof s->name, "%s", dist);
    return ZP_OK;
}

static enum zp_status parse_tensors(struct zp_cfg_ctx *c, const cJSON *t)
{
    if (zp_json_expect_object(&c->j, t, "tensors") ||
        zp_json_check_section(&c->j, t, "tensors", "run.tensors"))
        return c->j.err->status;
    struct zp_config *cfg = c->cfg;
    const cJSON *syn = cJSON_GetObjectItemCaseSensitive(t, "synthetic");
    if (syn) {
        if (!cJSON_IsArray(syn))
            return zp_err_set(c->j.err, ZP_ECONFIG, "%s: tensors.synthetic: expected an array",
                              c->j.file);
        int n = cJSON_GetArraySize(syn);
        cfg->synth = calloc((size_t)n + 1, sizeof *cfg->synth);
        if (!cfg->synth)
            return zp_err_set(c->j.err, ZP_ENOMEM, "out of memory");
        for (int i = 0; i < n; i++) {
            char p[64];
            snprintf(p, sizeof p, "%s", zp_jpath_index(&c->j, "tensors.synthetic", i));
            if (parse_synth(c, cJSON_GetArrayItem(syn, i), p, &cfg->synth[i]))
                return c->j.err->status;
            cfg->n_synth++;
        }
    }
    const cJSON *mods = cJSON_GetObjectItemCaseSensitive(t, "models");
    if (mods) {
        if (!cJSON_IsArray(mods))
            return zp_err_set(c->j.err, ZP_ECONFIG,
                              "%s: tensors.models: expected an array of model paths", c->j.file);
        int n = cJSON_GetArraySize(mods);
        cfg->weight_models = calloc((size_t)n + 1, sizeof *cfg->weight_models);
        if (!cfg->weight_models)
            return zp_err_set(c->j.err, ZP_ENOMEM, "out of memory");
        for (int i = 0; i < n; i++) {
            char p[64];
            snprintf(p, sizeof p, "%s", zp_jpath_index(&c->j, "tensors.models", i));
            if (zp_cfg_path_value(c, cJSON_GetArrayItem(mods, i), p, cfg->weight_models[i]))
                return c->j.err->status;
            cfg->n_weight_models++;
        }
    }
    return ZP_OK;
}

/* ---- top level ----------------------------------------------------------- */

/* A plugin that cannot be loaded is a config error (exit 2): the config or the
 * command line named a file that is not a usable scheme plugin. */
static enum zp_status load_plugin(const char *so, struct zp_err *err)
{
    enum zp_status st = zp_scheme_load_plugin(so, err);
    if (st && err)
        err->status = ZP_ECONFIG;
    return st ? ZP_ECONFIG : ZP_OK;
}

static enum zp_status parse_plugins(struct zp_cfg_ctx *c, const cJSON *root)
{
    const struct zp_config_env *env = c->env;
    struct zp_err *err = c->j.err;
    const char *path = c->j.file;
    if (env)
        for (int i = 0; i < env->n_plugins; i++)
            if (load_plugin(env->plugins[i], err)) {
                zp_err_prefix(err, "--plugin");
                return err->status;
            }
    const cJSON *plugins = cJSON_GetObjectItemCaseSensitive(root, "plugins");
    if (!plugins)
        return ZP_OK;
    if (env && env->forbid_plugins)
        return zp_err_set(err, ZP_ECONFIG, "%s: plugins: not allowed here", path);
    if (!cJSON_IsArray(plugins) || cJSON_GetArraySize(plugins) > ZP_MAX_PLUGINS)
        return zp_err_set(err, ZP_ECONFIG, "%s: plugins: expected an array of up to %d paths",
                          path, ZP_MAX_PLUGINS);
    struct zp_config *cfg = c->cfg;
    for (int i = 0; i < cJSON_GetArraySize(plugins); i++) {
        char p[64];
        snprintf(p, sizeof p, "%s", zp_jpath_index(&c->j, "plugins", i));
        char *dst = cfg->plugins[cfg->n_plugins];
        if (zp_json_value_str(&c->j, cJSON_GetArrayItem(plugins, i), p, NULL, dst, ZP_PATH_MAX))
            return err->status;
        if (load_plugin(dst, err)) {
            zp_err_prefix(err, "%s: %s", path, p);
            return err->status;
        }
        cfg->n_plugins++;
    }
    return ZP_OK;
}

static enum zp_status parse_name(struct zp_cfg_ctx *c, const cJSON *root)
{
    struct zp_config *cfg = c->cfg;
    const char *path = c->j.file;
    long long seed = 1;
    if (zp_json_int(&c->j, root, "", "seed", 0, LLONG_MAX, &seed) ||
        zp_json_bool(&c->j, root, "", "save_logits", &cfg->save_logits) ||
        zp_json_str(&c->j, root, "", "name", NULL, cfg->name, sizeof cfg->name))
        return c->j.err->status;
    cfg->seed = (uint64_t)seed;
    if (!cfg->name[0]) {
        zp_path_stem(path, cfg->name, sizeof cfg->name);
    }
    for (const char *q = cfg->name; *q; q++)
        if (!(((*q | 32) >= 'a' && (*q | 32) <= 'z') || (*q >= '0' && *q <= '9') || *q == '_' ||
              *q == '-' || *q == '.'))
            return zp_err_set(c->j.err, ZP_ECONFIG,
                              "%s: name: \"%s\" must use only letters, digits, '_', '-', '.' (it "
                              "names the results folder)",
                              path, cfg->name);
    return ZP_OK;
}

/* replicates and the statistics object (docs/statistics.md). */
static enum zp_status parse_stats(struct zp_cfg_ctx *c, const cJSON *root)
{
    struct zp_config *cfg = c->cfg;
    long long reps = 1;
    if (zp_json_int(&c->j, root, "", "replicates", 1, 100, &reps))
        return c->j.err->status;
    cfg->replicates = (int)reps;
    cfg->stats = (struct zp_stats_cfg){.resamples = 2000, .level = 0.95, .seed = 20260, .pairs_auto = 1};
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "statistics");
    if (!st)
        return ZP_OK;
    if (zp_json_expect_object(&c->j, st, "statistics") ||
        zp_json_check_section(&c->j, st, "statistics", "run.statistics"))
        return c->j.err->status;
    long long res = 2000, seed = 20260;
    char pairs[8] = "auto";
    if (zp_json_int(&c->j, st, "statistics", "resamples", 100, 1000000, &res) ||
        zp_json_num(&c->j, st, "statistics", "level", 0.5, 0.999, &cfg->stats.level) ||
        zp_json_int(&c->j, st, "statistics", "seed", 0, LLONG_MAX, &seed) ||
        zp_json_str(&c->j, st, "statistics", "pairs", "auto|none", pairs, sizeof pairs))
        return c->j.err->status;
    cfg->stats.resamples = (int)res;
    cfg->stats.seed = (uint64_t)seed;
    cfg->stats.pairs_auto = strcmp(pairs, "auto") == 0;
    return ZP_OK;
}

static enum zp_status parse_root(struct zp_cfg_ctx *c, const cJSON *root)
{
    struct zp_config *cfg = c->cfg;
    struct zp_err *err = c->j.err;
    const char *path = c->j.file;
    if (zp_json_check_section(&c->j, root, "", "run") || parse_name(c, root) || parse_stats(c, root))
        return err->status;
    /* Plugins first: their schemes become valid names below. */
    if (parse_plugins(c, root))
        return err->status;
    c->datasets = cJSON_GetObjectItemCaseSensitive(root, "datasets");
    if (c->datasets && zp_json_expect_object(&c->j, c->datasets, "datasets"))
        return err->status;

    const cJSON *schemes = cJSON_GetObjectItemCaseSensitive(root, "schemes");
    if (!cJSON_IsArray(schemes) || cJSON_GetArraySize(schemes) == 0)
        return zp_err_set(err, ZP_ECONFIG, "%s: schemes: %s (a non-empty array of scheme entries)",
                          path, schemes ? "expected an array" : "missing");
    for (int i = 0; i < cJSON_GetArraySize(schemes); i++)
        if (zp_cfg_scheme_entry(c, cJSON_GetArrayItem(schemes, i), i))
            return err->status;

    const cJSON *tensors = cJSON_GetObjectItemCaseSensitive(root, "tensors");
    if (tensors && parse_tensors(c, tensors))
        return err->status;
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(root, "models");
    if (models) {
        if (!cJSON_IsArray(models))
            return zp_err_set(err, ZP_ECONFIG, "%s: models: expected an array", path);
        int n = cJSON_GetArraySize(models);
        cfg->models = calloc((size_t)n + 1, sizeof *cfg->models);
        if (!cfg->models)
            return zp_err_set(err, ZP_ENOMEM, "out of memory");
        for (int i = 0; i < n; i++) {
            if (zp_cfg_model(c, cJSON_GetArrayItem(models, i), i, &cfg->models[i]))
                return err->status;
            cfg->n_models++;
        }
    }
    if (!tensors && !models)
        return zp_err_set(err, ZP_ECONFIG,
                          "%s: nothing to run: give \"tensors\" and/or \"models\"", path);
    return zp_config_check_act_calib(cfg, err);
}

enum zp_status zp_config_parse(const char *text, const char *path,
                               const struct zp_config_env *env, struct zp_config *cfg,
                               struct zp_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    cfg->seed = 1;
    cfg->replicates = 1;
    cfg->stats = (struct zp_stats_cfg){.resamples = 2000, .level = 0.95, .seed = 20260, .pairs_auto = 1};
    /* the context holds the path buffers (4 KiB): keep it off the fuzzer's stack */
    struct zp_cfg_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    zp_jctx_init(&c->j, path, err);
    c->env = env;
    c->cfg = cfg;
    enum zp_status st;
    cJSON *root = zp_json_parse(&c->j, text);
    if (!root) {
        st = err->status;
    } else if ((st = parse_root(c, root)) == ZP_OK) {
        cfg->raw = strdup(text);
        if (!cfg->raw)
            st = zp_err_set(err, ZP_ENOMEM, "out of memory");
    }
    cJSON_Delete(root);
    free(c->label_slots);
    free(c);
    if (st)
        zp_config_free(cfg);
    return st;
}

enum zp_status zp_config_load(const char *path, const struct zp_config_env *env,
                              struct zp_config *cfg, struct zp_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    char *text = zp_json_read_file(path, err);
    if (!text) /* a config that can't be read is a usage error (exit 2), not an I/O failure */
        return err->status = err->status == ZP_EIO ? ZP_ECONFIG : err->status;
    enum zp_status st = zp_config_parse(text, path, env, cfg, err);
    free(text);
    return st;
}

void zp_config_free(struct zp_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->raw);
    free(cfg->variants);
    free(cfg->synth);
    free(cfg->weight_models);
    free(cfg->models);
    memset(cfg, 0, sizeof *cfg);
}

enum zp_status zp_variant_from_name(const char *scheme, struct zp_variant *v, struct zp_err *err)
{
    memset(v, 0, sizeof *v);
    const struct zp_scheme *s = zp_scheme_find(scheme);
    if (!s)
        return zp_err_set(err, ZP_ECONFIG, "unknown scheme '%s'", scheme);
    zp_scheme_config_defaults(&v->w, s);
    v->a = v->w;
    zp_cfg_option_string(&v->w, v->options, sizeof v->options);
    snprintf(v->label, sizeof v->label, "%s %db %s", s->name, v->w.bits,
             zp_granularity_name(v->w.granularity));
    return ZP_OK;
}
