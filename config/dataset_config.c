/* Run-config datasets and file paths: '@data/' resolution (config/data_cfg.h)
 * and the dataset object (format, files, resize, normalization). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/path.h"
#include "config/config_internal.h"
#include "config/data_cfg.h"

enum zp_status zp_cfg_path_value(struct zp_cfg_ctx *c, const cJSON *v, const char *path,
                                 char *out)
{
    char raw[ZP_PATH_MAX] = "";
    char where[600];
    snprintf(where, sizeof where, "%s: %s", c->j.file, path);
    if (zp_json_value_str(&c->j, v, path, NULL, raw, sizeof raw))
        return c->j.err->status;
    if (!*raw)
        return zp_err_set(c->j.err, ZP_ECONFIG, "%s: empty path", where);
    const char *root = c->env ? c->env->data_root : NULL;
    if (zp_resolve_data_path(raw, root, out, ZP_PATH_MAX, where, c->j.err) ||
        zp_check_data_path(raw, out, root, where, c->j.err))
        return c->j.err->status;
    return ZP_OK;
}

enum zp_status zp_cfg_path_member(struct zp_cfg_ctx *c, const cJSON *obj, const char *path,
                                  const char *key, int required, char *out)
{
    const char *p = zp_jpath_key(&c->j, path, key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) {
        if (required)
            return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: missing (a file path)", c->j.file,
                              p);
        return ZP_OK;
    }
    char pp[ZP_JPATH_LEN];
    snprintf(pp, sizeof pp, "%s", p);
    return zp_cfg_path_value(c, v, pp, out);
}

/* mean / std: one number for every channel or one per channel. */
static enum zp_status norm_array(struct zp_cfg_ctx *c, const cJSON *v, const char *where,
                                 const char *key, long long ch, double lo, float *out)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(v, key);
    if (!arr)
        return ZP_OK;
    char ap[ZP_JPATH_LEN];
    snprintf(ap, sizeof ap, "%s", zp_jpath_key(&c->j, where, key));
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;
    if (n != 1 && n != (int)ch)
        return zp_err_set(c->j.err, ZP_ECONFIG,
                          "%s: %s: expected an array of 1 or %lld numbers (pixel units 0..255)",
                          c->j.file, ap, ch);
    for (int k = 0; k < 3; k++) {
        double x;
        int i = n == 1 ? 0 : (k < n ? k : 0);
        if (zp_json_value_num(&c->j, cJSON_GetArrayItem(arr, i), zp_jpath_index(&c->j, ap, i), lo,
                              1e6, &x))
            return c->j.err->status;
        out[k] = (float)x;
    }
    return ZP_OK;
}

/* "split": {"every": N, "offset": K, "part": "held-out"|"rest"}: the rows r with
 * r % N == K, or all the others; two datasets with the same files and the two
 * parts share no example (a calibration part of a set that has no other split). */
static enum zp_status parse_split(struct zp_cfg_ctx *c, const cJSON *v, const char *where,
                                  struct zp_dataset_spec *sp)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(v, "split");
    if (!s)
        return ZP_OK;
    char sp_path[ZP_JPATH_LEN];
    snprintf(sp_path, sizeof sp_path, "%s", zp_jpath_key(&c->j, where, "split"));
    if (zp_json_expect_object(&c->j, s, sp_path) ||
        zp_json_check_section(&c->j, s, sp_path, "dataset.split"))
        return c->j.err->status;
    const char *req[] = { "every", "part" };
    for (int k = 0; k < 2; k++)
        if (!cJSON_GetObjectItemCaseSensitive(s, req[k]))
            return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: missing", c->j.file,
                              zp_jpath_key(&c->j, sp_path, req[k]));
    long long every = 0, offset = 0;
    char part[16] = "";
    if (zp_json_int(&c->j, s, sp_path, "every", 2, 1000000, &every) ||
        zp_json_int(&c->j, s, sp_path, "offset", 0, 999999, &offset) ||
        zp_json_str(&c->j, s, sp_path, "part", "held-out|rest", part, sizeof part))
        return c->j.err->status;
    if (offset >= every)
        return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: expected 0..%lld (below every), got %lld",
                          c->j.file, zp_jpath_key(&c->j, sp_path, "offset"), every - 1, offset);
    sp->split_every = (int)every;
    sp->split_offset = (int)offset;
    sp->split_rest = strcmp(part, "rest") == 0;
    return ZP_OK;
}

/* Keys of an image / array dataset that mean nothing for token windows. */
static const char *const not_for_tokens[] = {"images", "labels", "channels", "resize", "size",
                                             "resize_mode", "crop_recipe", "scale", "mean",
                                             "std", "split"};

/* "format": "tokens": a .npy [N, T] of windows (optional "targets" .npy of the
 * same shape) or a raw uint16 stream (any other extension) cut into "window"
 * tokens every "stride"; "vocab" bounds every id. */
static enum zp_status parse_tokens(struct zp_cfg_ctx *c, const cJSON *v, const char *where,
                                   struct zp_dataset_cfg *ds)
{
    for (size_t k = 0; k < sizeof not_for_tokens / sizeof *not_for_tokens; k++)
        if (cJSON_GetObjectItemCaseSensitive(v, not_for_tokens[k]))
            return zp_err_set(c->j.err, ZP_ECONFIG,
                              "%s: %s: not a key of a token dataset (\"format\": \"tokens\" "
                              "reads \"tokens\", \"targets\", \"window\", \"stride\", \"vocab\", "
                              "\"skip\", \"limit\")",
                              c->j.file, zp_jpath_key(&c->j, where, not_for_tokens[k]));
    if (zp_cfg_path_member(c, v, where, "tokens", 1, ds->images) ||
        zp_cfg_path_member(c, v, where, "targets", 0, ds->labels))
        return c->j.err->status;
    const char *ext = strrchr(ds->images, '.');
    int npy = ext && strcmp(ext, ".npy") == 0;
    long long window = 0, stride = 0, vocab = 0, limit = 0, skip = 0;
    if (zp_json_int(&c->j, v, where, "window", npy ? 0 : 2, 1 << 30, &window) ||
        zp_json_int(&c->j, v, where, "stride", 0, 1 << 30, &stride) ||
        zp_json_int(&c->j, v, where, "vocab", 0, INT_MAX, &vocab) ||
        zp_json_int(&c->j, v, where, "limit", 0, INT_MAX, &limit) ||
        zp_json_int(&c->j, v, where, "skip", 0, INT_MAX, &skip))
        return c->j.err->status;
    if (!npy && !window)
        return zp_err_set(c->j.err, ZP_ECONFIG,
                          "%s: %s: missing: a raw uint16 token stream (%s) needs its window "
                          "length (input tokens + 1)",
                          c->j.file, zp_jpath_key(&c->j, where, "window"), ds->images);
    if (npy && stride)
        return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: a .npy holds whole windows: no stride",
                          c->j.file, zp_jpath_key(&c->j, where, "stride"));
    if (ds->labels[0] && !npy)
        return zp_err_set(c->j.err, ZP_ECONFIG,
                          "%s: %s: targets go with .npy windows; a stream's window is cut into "
                          "input and targets",
                          c->j.file, zp_jpath_key(&c->j, where, "targets"));
    ds->is_tokens = 1;
    ds->tok = (struct zp_tokens_spec){.format = npy ? ZP_TOKENS_NPY : ZP_TOKENS_U16,
                                      .path = ds->images, .window = window, .stride = stride,
                                      .vocab = vocab, .skip = skip, .limit = limit};
    /* spec carries what the rest of the run compares datasets by (file, limit) */
    memset(&ds->spec, 0, sizeof ds->spec);
    ds->spec.format = ZP_DATA_NPY;
    ds->spec.images = ds->images;
    ds->spec.labels = ds->labels;
    ds->spec.limit = (int)limit;
    ds->scale = 1.0;
    ds->present = 1;
    if (!ds->name[0])
        snprintf(ds->name, sizeof ds->name, "%s", zp_path_basename(ds->images));
    return ZP_OK;
}

enum zp_status zp_cfg_dataset(struct zp_cfg_ctx *c, const cJSON *v, const char *path,
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
        snprintf(where, sizeof where, "%s", zp_jpath_key(&c->j, "datasets", v->valuestring));
        snprintf(ds->name, sizeof ds->name, "%s", v->valuestring);
        v = def;
    }
    if (zp_json_expect_object(&c->j, v, where) ||
        zp_json_check_section(&c->j, v, where, "dataset"))
        return c->j.err->status;
    struct zp_dataset_spec *sp = &ds->spec;
    memset(sp, 0, sizeof *sp);
    char fmt[16] = "";
    if (!cJSON_GetObjectItemCaseSensitive(v, "format"))
        return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: missing (idx, images, npy or tokens)",
                          c->j.file, zp_jpath_key(&c->j, where, "format"));
    if (zp_json_str(&c->j, v, where, "format", "idx|images|npy|tokens", fmt, sizeof fmt) ||
        zp_json_str(&c->j, v, where, "name", NULL, ds->name, sizeof ds->name))
        return c->j.err->status;
    if (strcmp(fmt, "tokens") == 0)
        return parse_tokens(c, v, where, ds);
    sp->format = (enum zp_dataset_format)zp_choice_find("idx|images|npy", fmt);
    if (zp_cfg_path_member(c, v, where, "images", 1, ds->images) ||
        zp_cfg_path_member(c, v, where, "labels", 1, ds->labels))
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
                          zp_jpath_key(&c->j, where, "channels"));
    sp->channels = (int)ch;
    sp->resize = (int)resize;
    sp->size = (int)size;
    sp->limit = (int)limit;
    sp->resize_mode = (enum zp_resize_mode)zp_choice_find("crop|stretch|none", mode);
    if (parse_split(c, v, where, sp))
        return c->j.err->status;
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
    sp->crop_recipe = (enum zp_crop_recipe)zp_choice_find("torchvision|round-floor", recipe);
    /* Defaults: pixels scaled to [0, 1]; .npy inputs are taken as they are (std 0
     * means no normalization). */
    for (int k = 0; k < 3; k++) {
        sp->mean[k] = 0.0f;
        sp->std[k] = sp->format == ZP_DATA_NPY ? 0.0f : 255.0f;
    }
    ds->scale = 1.0;
    if (zp_json_num(&c->j, v, where, "scale", 1e-12, 1e12, &ds->scale) ||
        norm_array(c, v, where, "mean", ch, -1e6, sp->mean) ||
        norm_array(c, v, where, "std", ch, 1e-9, sp->std))
        return c->j.err->status;
    if (ds->scale != 1.0 && sp->format == ZP_DATA_NPY)
        return zp_err_set(c->j.err, ZP_ECONFIG,
                          "%s: %s: applies to 8-bit pixels (idx, images), not npy inputs",
                          c->j.file, zp_jpath_key(&c->j, where, "scale"));
    sp->scale = ds->scale; /* data/ applies it exactly (division by N for 1/N) */
    sp->images = ds->images;
    sp->labels = ds->labels;
    ds->present = 1;
    if (!ds->name[0]) {
        snprintf(ds->name, sizeof ds->name, "%s", zp_path_basename(ds->images));
    }
    return ZP_OK;
}
