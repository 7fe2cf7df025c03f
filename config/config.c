/* Experiment config loading and validation: see config.h and docs/config.md. */
#include "config/config.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/json_check.h"

const char *zp_mode_name(enum zp_mode m)
{
    static const char *const names[] = {"weights", "activations", "both", "qat"};
    return (unsigned)m < ZP_N_MODES ? names[m] : "?";
}

const char *zp_distribution_name(enum zp_distribution d)
{
    static const char *const names[] = {"uniform", "gaussian", "laplace", "relu_gaussian"};
    return (unsigned)d < 4 ? names[d] : "?";
}

#define GRAN_CHOICES "per-tensor|per-channel|per-group"

struct cfg_ctx {
    struct zp_jctx j;
    const struct zp_config_env *env;
    struct zp_config *cfg;
    const cJSON *datasets; /* top-level "datasets" object, may be NULL */
};

/* ---- data paths ---------------------------------------------------------- */

enum zp_status zp_resolve_data_path(const char *in, const char *data_root, char *out,
                                    size_t out_len, const char *what, struct zp_err *err)
{
    if (strncmp(in, "@data/", 6) != 0) {
        if ((size_t)snprintf(out, out_len, "%s", in) >= out_len)
            return zp_err_set(err, ZP_ECONFIG, "%s: path too long", what);
        return ZP_OK;
    }
    const char *root = data_root, *source = "--data";
    if (!root || !*root) {
        root = getenv("ZP_DATA");
        source = "$ZP_DATA";
    }
    if (!root || !*root) {
        root = "./data";
        source = "the default ./data (no --data, no $ZP_DATA)";
    }
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        return zp_err_set(err, ZP_ECONFIG,
                          "%s: '%s' needs the data root, but %s ('%s') is not a directory; "
                          "pass --data DIR or set ZP_DATA",
                          what, in, source, root);
    if ((size_t)snprintf(out, out_len, "%s/%s", root, in + 6) >= out_len)
        return zp_err_set(err, ZP_ECONFIG, "%s: path too long", what);
    return ZP_OK;
}

static enum zp_status path_member(struct cfg_ctx *c, const cJSON *obj, const char *path,
                                  const char *key, int required, char *out)
{
    char raw[ZP_PATH_MAX] = "";
    const char *p = zp_jpath_key(path, key);
    char where[600];
    snprintf(where, sizeof where, "%s: %s", c->j.file, p);
    if (!cJSON_GetObjectItemCaseSensitive(obj, key)) {
        if (required)
            return zp_err_set(c->j.err, ZP_ECONFIG, "%s: missing (a file path)", where);
        return ZP_OK;
    }
    if (zp_json_str(&c->j, obj, path, key, NULL, raw, sizeof raw))
        return c->j.err->status;
    if (!*raw)
        return zp_err_set(c->j.err, ZP_ECONFIG, "%s: empty path", where);
    return zp_resolve_data_path(raw, c->env ? c->env->data_root : NULL, out, ZP_PATH_MAX, where,
                                c->j.err);
}

/* ---- scheme entries ------------------------------------------------------ */

/* Keys every scheme entry accepts besides the scheme's own options. */
static const char *const entry_keys[] = {"scheme",          "label",      "bits",
                                         "granularity",     "axis",       "group_size",
                                         "bias_correction", "activations", "qat",
                                         "bias",            "weight_calibration", NULL};

static int is_entry_key(const char *k)
{
    for (const char *const *e = entry_keys; *e; e++)
        if (strcmp(*e, k) == 0)
            return 1;
    return 0;
}

/* Applies one (key, value) of a scheme entry to a scheme config. */
static enum zp_status apply_scheme_key(struct cfg_ctx *c, struct zp_scheme_config *sc,
                                       const char *key, const cJSON *v, const char *path)
{
    const struct zp_scheme *s = sc->scheme;
    long long iv;
    char word[64];
    if (strcmp(key, "bits") == 0) {
        if (zp_json_value_int(&c->j, v, path, s->min_bits, s->max_bits, &iv))
            return c->j.err->status;
        sc->bits = (int)iv;
        return ZP_OK;
    }
    if (strcmp(key, "granularity") == 0) {
        if (zp_json_value_str(&c->j, v, path, GRAN_CHOICES, word, sizeof word))
            return c->j.err->status;
        int g = zp_choice_index(GRAN_CHOICES, word);
        if (!(s->granularities & ZP_GRAN_BIT(g)))
            return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: scheme '%s' does not support %s",
                              c->j.file, path, s->name, word);
        sc->granularity = (enum zp_granularity)g;
        return ZP_OK;
    }
    if (strcmp(key, "axis") == 0) {
        if (zp_json_value_int(&c->j, v, path, 0, 7, &iv))
            return c->j.err->status;
        sc->axis = (int)iv;
        return ZP_OK;
    }
    if (strcmp(key, "group_size") == 0) {
        if (zp_json_value_int(&c->j, v, path, 1, 1 << 20, &iv))
            return c->j.err->status;
        sc->group_size = (int)iv;
        return ZP_OK;
    }
    int oi = zp_scheme_option_index(s, key);
    if (oi < 0) {
        char list[512] = "";
        size_t j = 0;
        for (int i = 0; i < s->n_options && j < sizeof list - 64; i++)
            j += (size_t)snprintf(list + j, sizeof list - j, ", %s", s->options[i].name);
        return zp_err_set(c->j.err, ZP_ECONFIG,
                          "%s: %s: unknown key for scheme '%s' (allowed: bits, granularity, axis, "
                          "group_size, label, bias_correction, activations, qat%s)",
                          c->j.file, path, s->name, list);
    }
    const struct zp_option_desc *o = &s->options[oi];
    double num = 0;
    int b;
    switch (o->type) {
    case ZP_OPT_BOOL:
        if (zp_json_value_bool(&c->j, v, path, &b))
            return c->j.err->status;
        num = b;
        break;
    case ZP_OPT_INT:
        if (zp_json_value_int(&c->j, v, path, (long long)o->min, (long long)o->max, &iv))
            return c->j.err->status;
        num = (double)iv;
        break;
    case ZP_OPT_NUMBER:
        if (zp_json_value_num(&c->j, v, path, o->min, o->max, &num))
            return c->j.err->status;
        break;
    case ZP_OPT_ENUM:
        if (zp_json_value_str(&c->j, v, path, o->choices, word, sizeof word))
            return c->j.err->status;
        num = zp_choice_index(o->choices, word);
        break;
    }
    sc->opt[oi].num = num;
    return ZP_OK;
}

static enum zp_status validate_scheme_config(struct cfg_ctx *c, const struct zp_scheme_config *sc,
                                             const char *path)
{
    struct zp_err e = {0};
    if (zp_scheme_config_check(sc, &e))
        return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: %s", c->j.file, path, e.msg);
    return ZP_OK;
}

static void option_string(const struct zp_scheme_config *sc, char *out, size_t n)
{
    size_t j = 0;
    out[0] = '\0';
    const struct zp_scheme *s = sc->scheme;
    for (int i = 0; i < s->n_options && j < n - 1; i++) {
        const struct zp_option_desc *o = &s->options[i];
        char val[64];
        switch (o->type) {
        case ZP_OPT_BOOL:
            snprintf(val, sizeof val, "%s", sc->opt[i].num != 0 ? "true" : "false");
            break;
        case ZP_OPT_ENUM:
            zp_option_choice_name(o, (int)sc->opt[i].num, val, sizeof val);
            break;
        default:
            snprintf(val, sizeof val, "%g", sc->opt[i].num);
        }
        j += (size_t)snprintf(out + j, n - j, "%s%s=%s", j ? ";" : "", o->name, val);
    }
}


static enum zp_status parse_scheme_name(struct cfg_ctx *c, const cJSON *entry, const char *path,
                                        const struct zp_scheme **out)
{
    char name[64] = "";
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, "scheme");
    if (!v)
        return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: missing (a scheme name)", c->j.file,
                          zp_jpath_key(path, "scheme"));
    if (zp_json_value_str(&c->j, v, zp_jpath_key(path, "scheme"), NULL, name, sizeof name))
        return c->j.err->status;
    const struct zp_scheme *s = zp_scheme_find(name);
    if (!s) {
        char list[512] = "";
        size_t j = 0;
        for (int i = 0; i < zp_scheme_count() && j < sizeof list - 64; i++)
            j += (size_t)snprintf(list + j, sizeof list - j, "%s%s", i ? ", " : "",
                                  zp_scheme_at(i)->name);
        return zp_err_set(c->j.err, ZP_ECONFIG,
                          "%s: %s: unknown scheme \"%s\" (registered: %s; external schemes need "
                          "\"plugins\" or --plugin)",
                          c->j.file, zp_jpath_key(path, "scheme"), name, list);
    }
    *out = s;
    return ZP_OK;
}

/* A fixed (non-sweep) scheme object: activations and per-layer overrides. */
static enum zp_status parse_fixed_scheme(struct cfg_ctx *c, const cJSON *obj, const char *path,
                                         struct zp_scheme_config *sc)
{
    if (zp_json_expect_object(&c->j, obj, path))
        return c->j.err->status;
    const struct zp_scheme *s;
    if (parse_scheme_name(c, obj, path, &s))
        return c->j.err->status;
    zp_scheme_config_defaults(sc, s);
    for (const cJSON *it = obj->child; it; it = it->next) {
        if (strcmp(it->string, "scheme") == 0 || strcmp(it->string, "layers") == 0 ||
            strcmp(it->string, "label") == 0)
            continue;
        if (is_entry_key(it->string) && strcmp(it->string, "bits") != 0 &&
            strcmp(it->string, "granularity") != 0 && strcmp(it->string, "axis") != 0 &&
            strcmp(it->string, "group_size") != 0)
            return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: not allowed here", c->j.file,
                              zp_jpath_key(path, it->string));
        if (apply_scheme_key(c, sc, it->string, it, zp_jpath_key(path, it->string)))
            return c->j.err->status;
    }
    return validate_scheme_config(c, sc, path);
}

static enum zp_status push_variant(struct cfg_ctx *c, const struct zp_variant *v)
{
    struct zp_config *cfg = c->cfg;
    struct zp_variant *nv = realloc(cfg->variants, (cfg->n_variants + 1) * sizeof *nv);
    if (!nv)
        return zp_err_set(c->j.err, ZP_ENOMEM, "out of memory");
    cfg->variants = nv;
    cfg->variants[cfg->n_variants++] = *v;
    return ZP_OK;
}

#define MAX_SWEEP_DIMS 12

/* One scheme entry: scalars set values, arrays sweep (cartesian product). */
static enum zp_status parse_scheme_entry(struct cfg_ctx *c, const cJSON *entry, int index)
{
    const char *p0 = zp_jpath_index("schemes", index);
    char path[64];
    snprintf(path, sizeof path, "%s", p0);
    if (zp_json_expect_object(&c->j, entry, path))
        return c->j.err->status;
    const struct zp_scheme *s;
    if (parse_scheme_name(c, entry, path, &s))
        return c->j.err->status;

    struct zp_variant base;
    memset(&base, 0, sizeof base);
    base.entry = index;
    zp_scheme_config_defaults(&base.w, s);
    char label[ZP_NAME_MAX] = "";
    if (zp_json_str(&c->j, entry, path, "label", NULL, label, sizeof label))
        return c->j.err->status;

    const cJSON *dims[MAX_SWEEP_DIMS];
    int n_dims = 0;
    for (const cJSON *it = entry->child; it; it = it->next) {
        const char *k = it->string;
        if (strcmp(k, "scheme") == 0 || strcmp(k, "label") == 0)
            continue;
        if (strcmp(k, "activations") == 0 || strcmp(k, "qat") == 0 || strcmp(k, "bias") == 0 ||
            strcmp(k, "weight_calibration") == 0)
            continue; /* read separately */
        if (cJSON_IsArray(it)) {
            if (cJSON_GetArraySize(it) == 0)
                return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: empty list", c->j.file,
                                  zp_jpath_key(path, k));
            if (n_dims == MAX_SWEEP_DIMS)
                return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: more than %d swept keys",
                                  c->j.file, path, MAX_SWEEP_DIMS);
            dims[n_dims++] = it;
            continue;
        }
        if (strcmp(k, "bias_correction") == 0) {
            char w[16];
            if (zp_json_value_str(&c->j, it, zp_jpath_key(path, k), "none|empirical", w, sizeof w))
                return c->j.err->status;
            base.bias_correction = strcmp(w, "empirical") == 0;
            continue;
        }
        if (apply_scheme_key(c, &base.w, k, it, zp_jpath_key(path, k)))
            return c->j.err->status;
    }

    /* Integer-inference details: int32 biases; clipped weight ranges. */
    char biasw[16] = "float";
    if (zp_json_str(&c->j, entry, path, "bias", "float|int32", biasw, sizeof biasw))
        return c->j.err->status;
    base.bias_int32 = strcmp(biasw, "int32") == 0;
    const cJSON *wc = cJSON_GetObjectItemCaseSensitive(entry, "weight_calibration");
    if (wc) {
        const char *wp = zp_jpath_key(path, "weight_calibration");
        char wpath[96];
        snprintf(wpath, sizeof wpath, "%s", wp);
        static const char *const wkeys[] = {"method", "percentile", NULL};
        base.weight_calib_percentile = 99.99;
        if (zp_json_expect_object(&c->j, wc, wpath) ||
            zp_json_check_keys(&c->j, wc, wpath, wkeys) ||
            zp_json_str(&c->j, wc, wpath, "method", "minmax|percentile|mse|kl",
                        base.weight_calib, sizeof base.weight_calib) ||
            zp_json_num(&c->j, wc, wpath, "percentile", 50, 100, &base.weight_calib_percentile))
            return c->j.err->status;
        if (!base.weight_calib[0])
            return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: missing", c->j.file,
                              zp_jpath_key(wpath, "method"));
        if (!s->fit_range)
            return zp_err_set(c->j.err, ZP_ECONFIG,
                              "%s: %s: scheme '%s' fits its levels from the data and cannot take "
                              "a calibrated range",
                              c->j.file, wpath, s->name);
    }

    /* Activation quantizer: the same scheme per-tensor unless given. */
    base.a = base.w;
    base.a.granularity = ZP_PER_TENSOR;
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(entry, "activations");
    int act_given = act != NULL;
    if (act) {
        if (parse_fixed_scheme(c, act, zp_jpath_key(path, "activations"), &base.a))
            return c->j.err->status;
        if (base.a.granularity != ZP_PER_TENSOR)
            return zp_err_set(c->j.err, ZP_ECONFIG,
                              "%s: %s: activations are quantized per-tensor only", c->j.file,
                              zp_jpath_key(path, "activations.granularity"));
    }
    /* QAT settings (mode "qat"): defaults fine-tune 2 epochs at lr 0.002. */
    const cJSON *qat = cJSON_GetObjectItemCaseSensitive(entry, "qat");
    long long ep = 2, qbatch = 128, freeze = 200;
    double lr = 0.002;
    int acts = 1;
    if (qat) {
        const char *qp = zp_jpath_key(path, "qat");
        static const char *const qkeys[] = {"epochs", "lr", "activations", "batch",
                                            "bn_freeze_steps", NULL};
        if (zp_json_expect_object(&c->j, qat, qp) || zp_json_check_keys(&c->j, qat, qp, qkeys))
            return c->j.err->status;
        if (zp_json_int(&c->j, qat, qp, "epochs", 1, 1000, &ep) ||
            zp_json_num(&c->j, qat, qp, "lr", 1e-9, 10, &lr) ||
            zp_json_bool(&c->j, qat, qp, "activations", &acts) ||
            zp_json_int(&c->j, qat, qp, "batch", 1, 65536, &qbatch) ||
            zp_json_int(&c->j, qat, qp, "bn_freeze_steps", 0, 1LL << 40, &freeze))
            return c->j.err->status;
    }
    base.qat_epochs = (int)ep;
    base.qat_lr = lr;
    base.qat_acts = acts;
    base.qat_batch = (int)qbatch;
    base.qat_bn_freeze = (long)freeze;

    /* Walk the cartesian product of the swept keys. */
    int idx[MAX_SWEEP_DIMS] = {0};
    for (;;) {
        struct zp_variant v = base;
        for (int d = 0; d < n_dims; d++) {
            const cJSON *val = cJSON_GetArrayItem(dims[d], idx[d]);
            const char *vp = zp_jpath_index(zp_jpath_key(path, dims[d]->string), idx[d]);
            if (strcmp(dims[d]->string, "bias_correction") == 0) {
                char w[16];
                if (zp_json_value_str(&c->j, val, vp, "none|empirical", w, sizeof w))
                    return c->j.err->status;
                v.bias_correction = strcmp(w, "empirical") == 0;
            } else if (apply_scheme_key(c, &v.w, dims[d]->string, val, vp)) {
                return c->j.err->status;
            }
        }
        if (validate_scheme_config(c, &v.w, path))
            return c->j.err->status;
        if (!act_given) {
            struct zp_scheme_config keep = v.w;
            keep.granularity = ZP_PER_TENSOR;
            v.a = keep;
        }
        option_string(&v.w, v.options, sizeof v.options);
        char sweep_label[160];
        snprintf(sweep_label, sizeof sweep_label, "%.24s %db %s%s%.100s%s%s%s%s", s->name,
                 v.w.bits, zp_granularity_name(v.w.granularity), v.options[0] ? " " : "",
                 v.options, v.bias_correction ? " bc" : "", v.bias_int32 ? " b32" : "",
                 v.weight_calib[0] ? " wclip=" : "", v.weight_calib);
        if (v.weight_calib[0] && v.w.granularity == ZP_PER_GROUP)
            return zp_err_set(c->j.err, ZP_ECONFIG,
                              "%s: %s: weight_calibration works per tensor or per channel, not "
                              "per group",
                              c->j.file, path);
        if (label[0] && n_dims == 0)
            snprintf(v.label, sizeof v.label, "%.150s", label);
        else if (label[0])
            snprintf(v.label, sizeof v.label, "%.40s: %.110s", label, sweep_label);
        else
            snprintf(v.label, sizeof v.label, "%.150s", sweep_label);
        for (size_t i = 0; i < c->cfg->n_variants; i++)
            if (strcmp(c->cfg->variants[i].label, v.label) == 0)
                return zp_err_set(c->j.err, ZP_ECONFIG,
                                  "%s: %s: variant '%s' repeats schemes[%d] (give a \"label\")",
                                  c->j.file, path, v.label, c->cfg->variants[i].entry);
        if (push_variant(c, &v))
            return c->j.err->status;
        int d = n_dims - 1;
        while (d >= 0 && ++idx[d] == cJSON_GetArraySize(dims[d]))
            idx[d--] = 0;
        if (d < 0)
            break;
    }
    return ZP_OK;
}

/* ---- datasets ------------------------------------------------------------ */

static enum zp_status parse_dataset(struct cfg_ctx *c, const cJSON *v, const char *path,
                                    struct zp_dataset_cfg *ds)
{
    char where[256];
    snprintf(where, sizeof where, "%s", path);
    if (cJSON_IsString(v)) {
        const cJSON *def =
            c->datasets ? cJSON_GetObjectItemCaseSensitive(c->datasets, v->valuestring) : NULL;
        if (!def)
            return zp_err_set(c->j.err, ZP_ECONFIG,
                              "%s: %s: no dataset named \"%s\" in \"datasets\"", c->j.file, path,
                              v->valuestring);
        snprintf(where, sizeof where, "%s", zp_jpath_key("datasets", v->valuestring));
        snprintf(ds->name, sizeof ds->name, "%s", v->valuestring);
        v = def;
    }
    static const char *const keys[] = {"name", "format", "images", "labels", "channels", "resize",
                                       "size", "resize_mode", "crop_recipe", "mean", "std", "limit",
                                       NULL};
    if (zp_json_expect_object(&c->j, v, where) || zp_json_check_keys(&c->j, v, where, keys))
        return c->j.err->status;
    struct zp_dataset_spec *sp = &ds->spec;
    memset(sp, 0, sizeof *sp);
    char fmt[16] = "";
    if (!cJSON_GetObjectItemCaseSensitive(v, "format"))
        return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: missing (idx, images or npy)", c->j.file,
                          zp_jpath_key(where, "format"));
    if (zp_json_str(&c->j, v, where, "format", "idx|images|npy", fmt, sizeof fmt) ||
        zp_json_str(&c->j, v, where, "name", NULL, ds->name, sizeof ds->name))
        return c->j.err->status;
    sp->format = (enum zp_dataset_format)zp_choice_index("idx|images|npy", fmt);
    if (path_member(c, v, where, "images", 1, ds->images) ||
        path_member(c, v, where, "labels", 1, ds->labels))
        return c->j.err->status;
    long long ch = sp->format == ZP_DATA_IMAGES ? 3 : 1, resize = 0, size = 0, limit = 0;
    char mode[16] = "crop";
    if (zp_json_int(&c->j, v, where, "channels", 1, 3, &ch) ||
        zp_json_int(&c->j, v, where, "resize", 0, 65536, &resize) ||
        zp_json_int(&c->j, v, where, "size", 0, 65536, &size) ||
        zp_json_int(&c->j, v, where, "limit", 0, INT_MAX, &limit) ||
        zp_json_str(&c->j, v, where, "resize_mode", "crop|stretch|none", mode, sizeof mode))
        return c->j.err->status;
    if (ch == 2)
        return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: expected 1 or 3, got 2", c->j.file,
                          zp_jpath_key(where, "channels"));
    sp->channels = (int)ch;
    sp->resize = (int)resize;
    sp->size = (int)size;
    sp->limit = (int)limit;
    sp->resize_mode = (enum zp_resize_mode)zp_choice_index("crop|stretch|none", mode);
    if (sp->resize_mode == ZP_RESIZE_CROP && sp->format == ZP_DATA_IMAGES && size > 0 &&
        resize < size)
        return zp_err_set(c->j.err, ZP_ECONFIG,
                          "%s: %s: crop mode resizes the shorter side to \"resize\" (%lld) before "
                          "cropping \"size\" (%lld): resize must be >= size",
                          c->j.file, where, resize, size);
    char recipe[16] = "torchvision";
    if (zp_json_str(&c->j, v, where, "crop_recipe", "torchvision|round-floor", recipe,
                    sizeof recipe))
        return c->j.err->status;
    sp->crop_recipe = (enum zp_crop_recipe)zp_choice_index("torchvision|round-floor", recipe);
    /* Defaults: pixels scaled to [0, 1]; .npy inputs are taken as they are (std 0
     * means no normalization). */
    for (int k = 0; k < 3; k++) {
        sp->mean[k] = 0.0f;
        sp->std[k] = sp->format == ZP_DATA_NPY ? 0.0f : 255.0f;
    }
    const char *arrs[2] = {"mean", "std"};
    for (int a = 0; a < 2; a++) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(v, arrs[a]);
        if (!arr)
            continue;
        const char *ap = zp_jpath_key(where, arrs[a]);
        int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;
        if (n != 1 && n != (int)ch)
            return zp_err_set(c->j.err, ZP_ECONFIG,
                              "%s: %s: expected an array of 1 or %lld numbers (pixel units 0..255)",
                              c->j.file, ap, ch);
        for (int k = 0; k < 3; k++) {
            double x;
            const cJSON *e = cJSON_GetArrayItem(arr, n == 1 ? 0 : (k < n ? k : 0));
            if (zp_json_value_num(&c->j, e, zp_jpath_index(ap, n == 1 ? 0 : (k < n ? k : 0)),
                                  a == 0 ? -1e6 : 1e-9, 1e6, &x))
                return c->j.err->status;
            (a == 0 ? sp->mean : sp->std)[k] = (float)x;
        }
    }
    sp->images = ds->images;
    sp->labels = ds->labels;
    ds->present = 1;
    if (!ds->name[0]) {
        const char *b = strrchr(ds->images, '/');
        snprintf(ds->name, sizeof ds->name, "%s", b ? b + 1 : ds->images);
    }
    return ZP_OK;
}

/* ---- models -------------------------------------------------------------- */

static enum zp_status parse_calib(struct cfg_ctx *c, const cJSON *v, const char *path,
                                  uint64_t seed, struct zp_calib_cfg *k)
{
    static const char *const keys[] = {"method", "size", "seed", "order", "ema_constant",
                                       "percentile", "bins", NULL};
    if (zp_json_expect_object(&c->j, v, path) || zp_json_check_keys(&c->j, v, path, keys))
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

static enum zp_status parse_model(struct cfg_ctx *c, const cJSON *v, int index,
                                  struct zp_model_cfg *m)
{
    char path[64];
    snprintf(path, sizeof path, "%s", zp_jpath_index("models", index));
    static const char *const keys[] = {"name", "path", "eval", "calibration_data", "train_data",
                                       "modes", "calibration", "overrides", "batch",
                                       "layer_stats_samples", "quantize_at", "checkpoint", "prune",
                                       NULL};
    if (zp_json_expect_object(&c->j, v, path) || zp_json_check_keys(&c->j, v, path, keys))
        return c->j.err->status;
    memset(m, 0, sizeof *m);
    if (path_member(c, v, path, "path", 1, m->path) ||
        path_member(c, v, path, "checkpoint", 0, m->checkpoint) ||
        zp_json_str(&c->j, v, path, "name", NULL, m->name, sizeof m->name))
        return c->j.err->status;
    if (!m->name[0]) {
        const char *b = strrchr(m->path, '/');
        snprintf(m->name, sizeof m->name, "%s", b ? b + 1 : m->path);
        char *dot = strrchr(m->name, '.');
        if (dot)
            *dot = '\0';
    }
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(v, "eval");
    if (!ev)
        return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: missing (the evaluation dataset)",
                          c->j.file, zp_jpath_key(path, "eval"));
    if (parse_dataset(c, ev, zp_jpath_key(path, "eval"), &m->eval))
        return c->j.err->status;
    const cJSON *cd = cJSON_GetObjectItemCaseSensitive(v, "calibration_data");
    if (cd) {
        if (parse_dataset(c, cd, zp_jpath_key(path, "calibration_data"), &m->calib_data))
            return c->j.err->status;
    } else {
        m->calib_data = m->eval;
        m->calib_data.spec.images = m->calib_data.images;
        m->calib_data.spec.labels = m->calib_data.labels;
    }
    const cJSON *td = cJSON_GetObjectItemCaseSensitive(v, "train_data");
    if (td && parse_dataset(c, td, zp_jpath_key(path, "train_data"), &m->train_data))
        return c->j.err->status;

    const cJSON *modes = cJSON_GetObjectItemCaseSensitive(v, "modes");
    m->modes = 1u << ZP_MODE_WEIGHTS;
    if (modes) {
        const char *mp = zp_jpath_key(path, "modes");
        if (!cJSON_IsArray(modes) || cJSON_GetArraySize(modes) == 0)
            return zp_err_set(c->j.err, ZP_ECONFIG,
                              "%s: %s: expected a non-empty array of weights, activations, both, qat",
                              c->j.file, mp);
        m->modes = 0;
        for (int i = 0; i < cJSON_GetArraySize(modes); i++) {
            char w[16];
            if (zp_json_value_str(&c->j, cJSON_GetArrayItem(modes, i), zp_jpath_index(mp, i),
                                  "weights|activations|both|qat", w, sizeof w))
                return c->j.err->status;
            m->modes |= 1u << zp_choice_index("weights|activations|both|qat", w);
        }
    }
    if ((m->modes & (1u << ZP_MODE_QAT)) && !m->train_data.present)
        return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: mode \"qat\" needs \"train_data\"",
                          c->j.file, zp_jpath_key(path, "modes"));
    if ((m->modes & (1u << ZP_MODE_QAT)) && !m->checkpoint[0])
        return zp_err_set(c->j.err, ZP_ECONFIG,
                          "%s: %s: mode \"qat\" needs \"checkpoint\" (the float training checkpoint)",
                          c->j.file, path);

    const cJSON *cal = cJSON_GetObjectItemCaseSensitive(v, "calibration");
    const char *cp = zp_jpath_key(path, "calibration");
    if (!cal) {
        m->n_calib = 1;
        cJSON *empty = cJSON_CreateObject();
        enum zp_status st = parse_calib(c, empty, cp, c->cfg->seed, &m->calib[0]);
        cJSON_Delete(empty);
        if (st)
            return st;
    } else if (cJSON_IsArray(cal)) {
        int n = cJSON_GetArraySize(cal);
        if (n < 1 || n > ZP_MAX_CALIB)
            return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: expected 1..%d entries, got %d",
                              c->j.file, cp, ZP_MAX_CALIB, n);
        for (int i = 0; i < n; i++)
            if (parse_calib(c, cJSON_GetArrayItem(cal, i), zp_jpath_index(cp, i), c->cfg->seed,
                            &m->calib[i]))
                return c->j.err->status;
        m->n_calib = n;
    } else {
        if (parse_calib(c, cal, cp, c->cfg->seed, &m->calib[0]))
            return c->j.err->status;
        m->n_calib = 1;
    }

    const cJSON *ov = cJSON_GetObjectItemCaseSensitive(v, "overrides");
    if (ov) {
        const char *op = zp_jpath_key(path, "overrides");
        int n = cJSON_IsArray(ov) ? cJSON_GetArraySize(ov) : -1;
        if (n < 0 || n > ZP_MAX_OVERRIDES)
            return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: expected an array of up to %d",
                              c->j.file, op, ZP_MAX_OVERRIDES);
        for (int i = 0; i < n; i++) {
            const cJSON *o = cJSON_GetArrayItem(ov, i);
            const char *oip = zp_jpath_index(op, i);
            char oipath[128];
            snprintf(oipath, sizeof oipath, "%s", oip);
            struct zp_override *dst = &m->overrides[i];
            if (zp_json_expect_object(&c->j, o, oipath))
                return c->j.err->status;
            const cJSON *layers = cJSON_GetObjectItemCaseSensitive(o, "layers");
            if (!cJSON_IsArray(layers) || cJSON_GetArraySize(layers) < 1 ||
                cJSON_GetArraySize(layers) > ZP_MAX_OVERRIDE_LAYERS)
                return zp_err_set(c->j.err, ZP_ECONFIG,
                                  "%s: %s: expected an array of layer names, indices, \"first\" "
                                  "or \"last\"",
                                  c->j.file, zp_jpath_key(oipath, "layers"));
            dst->n_layers = cJSON_GetArraySize(layers);
            for (int l = 0; l < dst->n_layers; l++) {
                const cJSON *e = cJSON_GetArrayItem(layers, l);
                if (cJSON_IsNumber(e) && e->valuedouble == floor(e->valuedouble))
                    snprintf(dst->layers[l], ZP_NAME_MAX, "#%d", (int)e->valuedouble);
                else if (zp_json_value_str(&c->j, e,
                                           zp_jpath_index(zp_jpath_key(oipath, "layers"), l),
                                           NULL, dst->layers[l], ZP_NAME_MAX))
                    return c->j.err->status;
            }
            if (parse_fixed_scheme(c, o, oipath, &dst->w))
                return c->j.err->status;
            snprintf(dst->label, sizeof dst->label, "%s %db", dst->w.scheme->name, dst->w.bits);
        }
        m->n_overrides = n;
    }
    long long batch = 50, lss = 256;
    char at[16] = "inputs";
    if (zp_json_int(&c->j, v, path, "batch", 1, 4096, &batch) ||
        zp_json_int(&c->j, v, path, "layer_stats_samples", 0, 1000000, &lss) ||
        zp_json_str(&c->j, v, path, "quantize_at", "inputs|inputs+outputs", at, sizeof at) ||
        zp_json_num(&c->j, v, path, "prune", 0, 0.99, &m->prune))
        return c->j.err->status;
    m->batch = (int)batch;
    m->layer_stats_samples = (int)lss;
    m->act_at = strcmp(at, "inputs") != 0;
    return ZP_OK;
}

/* ---- tensors section ----------------------------------------------------- */

static enum zp_status parse_synth(struct cfg_ctx *c, const cJSON *v, const char *path,
                                  struct zp_synth_cfg *s)
{
    static const char *const keys[] = {"name", "distribution", "n", "channels", "seed", "scale",
                                       "zero_share", NULL};
    if (zp_json_expect_object(&c->j, v, path) || zp_json_check_keys(&c->j, v, path, keys))
        return c->j.err->status;
    memset(s, 0, sizeof *s);
    char dist[32] = "";
    if (!cJSON_GetObjectItemCaseSensitive(v, "distribution"))
        return zp_err_set(c->j.err, ZP_ECONFIG,
                          "%s: %s: missing (uniform, gaussian, laplace or relu_gaussian)",
                          c->j.file, zp_jpath_key(path, "distribution"));
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
    s->dist = (enum zp_distribution)zp_choice_index("uniform|gaussian|laplace|relu_gaussian", dist);
    s->n = n;
    s->channels = ch;
    s->seed = (uint64_t)seed;
    if (!s->name[0])
        snprintf(s->name, sizeof s->name, "%s", dist);
    return ZP_OK;
}

static enum zp_status parse_tensors(struct cfg_ctx *c, const cJSON *t)
{
    static const char *const keys[] = {"synthetic", "models", NULL};
    if (zp_json_expect_object(&c->j, t, "tensors") ||
        zp_json_check_keys(&c->j, t, "tensors", keys))
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
            snprintf(p, sizeof p, "%s", zp_jpath_index("tensors.synthetic", i));
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
            const cJSON *e = cJSON_GetArrayItem(mods, i);
            char raw[ZP_PATH_MAX], p[64], where[600];
            snprintf(p, sizeof p, "%s", zp_jpath_index("tensors.models", i));
            if (zp_json_value_str(&c->j, e, p, NULL, raw, sizeof raw))
                return c->j.err->status;
            snprintf(where, sizeof where, "%s: %s", c->j.file, p);
            if (zp_resolve_data_path(raw, c->env ? c->env->data_root : NULL,
                                     cfg->weight_models[i], ZP_PATH_MAX, where, c->j.err))
                return c->j.err->status;
            cfg->n_weight_models++;
        }
    }
    return ZP_OK;
}

/* ---- top level ----------------------------------------------------------- */

enum zp_status zp_config_parse(const char *text, const char *path,
                               const struct zp_config_env *env, struct zp_config *cfg,
                               struct zp_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    cfg->seed = 1;
    struct cfg_ctx c = {.j = {.file = path, .err = err}, .env = env, .cfg = cfg};
    cJSON *root = zp_json_parse(&c.j, text);
    if (!root)
        return err->status;
    enum zp_status st = ZP_OK;
    static const char *const keys[] = {"name",    "description", "seed",   "plugins",
                                       "schemes", "datasets",    "tensors", "models", NULL};
    if ((st = zp_json_check_keys(&c.j, root, "", keys)))
        goto out;
    long long seed = 1;
    if ((st = zp_json_int(&c.j, root, "", "seed", 0, LLONG_MAX, &seed)) ||
        (st = zp_json_str(&c.j, root, "", "name", NULL, cfg->name, sizeof cfg->name)))
        goto out;
    cfg->seed = (uint64_t)seed;
    if (!cfg->name[0]) {
        const char *b = strrchr(path, '/');
        snprintf(cfg->name, sizeof cfg->name, "%s", b ? b + 1 : path);
        char *dot = strrchr(cfg->name, '.');
        if (dot)
            *dot = '\0';
    }
    for (const char *q = cfg->name; *q; q++)
        if (!(((*q | 32) >= 'a' && (*q | 32) <= 'z') || (*q >= '0' && *q <= '9') || *q == '_' ||
              *q == '-' || *q == '.')) {
            st = zp_err_set(err, ZP_ECONFIG,
                            "%s: name: \"%s\" must use only letters, digits, '_', '-', '.' (it "
                            "names the results folder)",
                            path, cfg->name);
            goto out;
        }

    /* Plugins first: their schemes become valid names below. */
    if (env)
        for (int i = 0; i < env->n_plugins; i++)
            if ((st = zp_scheme_load_plugin(env->plugins[i], err))) {
                zp_err_prefix(err, "--plugin");
                goto out;
            }
    const cJSON *plugins = cJSON_GetObjectItemCaseSensitive(root, "plugins");
    if (plugins && env && env->forbid_plugins) {
        st = zp_err_set(err, ZP_ECONFIG, "%s: plugins: not allowed here", path);
        goto out;
    }
    if (plugins) {
        if (!cJSON_IsArray(plugins) || cJSON_GetArraySize(plugins) > ZP_MAX_PLUGINS) {
            st = zp_err_set(err, ZP_ECONFIG, "%s: plugins: expected an array of up to %d paths",
                            path, ZP_MAX_PLUGINS);
            goto out;
        }
        for (int i = 0; i < cJSON_GetArraySize(plugins); i++) {
            char p[64];
            snprintf(p, sizeof p, "%s", zp_jpath_index("plugins", i));
            char *dst = cfg->plugins[cfg->n_plugins];
            if ((st = zp_json_value_str(&c.j, cJSON_GetArrayItem(plugins, i), p, NULL, dst,
                                        ZP_PATH_MAX)))
                goto out;
            if ((st = zp_scheme_load_plugin(dst, err))) {
                zp_err_prefix(err, "%s: %s", path, p);
                goto out;
            }
            cfg->n_plugins++;
        }
    }

    c.datasets = cJSON_GetObjectItemCaseSensitive(root, "datasets");
    if (c.datasets && (st = zp_json_expect_object(&c.j, c.datasets, "datasets")))
        goto out;

    const cJSON *schemes = cJSON_GetObjectItemCaseSensitive(root, "schemes");
    if (!cJSON_IsArray(schemes) || cJSON_GetArraySize(schemes) == 0) {
        st = zp_err_set(err, ZP_ECONFIG, "%s: schemes: %s (a non-empty array of scheme entries)",
                        path, schemes ? "expected an array" : "missing");
        goto out;
    }
    for (int i = 0; i < cJSON_GetArraySize(schemes); i++)
        if ((st = parse_scheme_entry(&c, cJSON_GetArrayItem(schemes, i), i)))
            goto out;

    const cJSON *tensors = cJSON_GetObjectItemCaseSensitive(root, "tensors");
    if (tensors && (st = parse_tensors(&c, tensors)))
        goto out;
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(root, "models");
    if (models) {
        if (!cJSON_IsArray(models)) {
            st = zp_err_set(err, ZP_ECONFIG, "%s: models: expected an array", path);
            goto out;
        }
        int n = cJSON_GetArraySize(models);
        cfg->models = calloc((size_t)n + 1, sizeof *cfg->models);
        if (!cfg->models) {
            st = zp_err_set(err, ZP_ENOMEM, "out of memory");
            goto out;
        }
        for (int i = 0; i < n; i++) {
            if ((st = parse_model(&c, cJSON_GetArrayItem(models, i), i, &cfg->models[i])))
                goto out;
            cfg->n_models++;
        }
    }
    if (!tensors && !models) {
        st = zp_err_set(err, ZP_ECONFIG,
                        "%s: nothing to run: give \"tensors\" and/or \"models\"", path);
        goto out;
    }
    cfg->raw = strdup(text);
    if (!cfg->raw)
        st = zp_err_set(err, ZP_ENOMEM, "out of memory");
out:
    cJSON_Delete(root);
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
    option_string(&v->w, v->options, sizeof v->options);
    snprintf(v->label, sizeof v->label, "%s %db %s", s->name, v->w.bits,
             zp_granularity_name(v->w.granularity));
    return ZP_OK;
}
