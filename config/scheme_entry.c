/* Scheme objects: see scheme_entry.h. */
#include "config/scheme_entry.h"

#include <stdio.h>
#include <string.h>

#include "config/keys.h"

#define GRAN_CHOICES "per-tensor|per-channel|per-group"

enum zp_status zp_cfg_scheme_name(struct zp_jctx *c, const cJSON *obj, const char *path,
                                  const struct zp_scheme **out)
{
    char name[64] = "";
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "scheme");
    if (!v)
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: missing (a scheme name)", c->file,
                          zp_jpath_key(c, path, "scheme"));
    if (zp_json_value_str(c, v, zp_jpath_key(c, path, "scheme"), NULL, name, sizeof name))
        return c->err->status;
    const struct zp_scheme *s = zp_scheme_find(name);
    if (!s) {
        char list[512] = "";
        size_t j = 0;
        for (int i = 0; i < zp_scheme_count() && j < sizeof list - 64; i++)
            j += (size_t)snprintf(list + j, sizeof list - j, "%s%s", i ? ", " : "",
                                  zp_scheme_at(i)->name);
        return zp_err_set(c->err, ZP_ECONFIG,
                          "%s: %s: unknown scheme \"%s\" (registered: %s; external schemes need "
                          "\"plugins\" or --plugin)",
                          c->file, zp_jpath_key(c, path, "scheme"), name, list);
    }
    *out = s;
    return ZP_OK;
}

static enum zp_status unknown_key(struct zp_jctx *c, const struct zp_scheme *s, const char *path,
                                  const char *extra_section)
{
    char list[1024], extra[512] = "";
    zp_config_key_list("scheme", list, sizeof list);
    /* "scheme" itself is never the unknown key: drop it from the list */
    const char *rest = strncmp(list, "scheme, ", 8) == 0 ? list + 8 : list;
    if (extra_section)
        zp_config_key_list(extra_section, extra, sizeof extra);
    char opts[512] = "";
    size_t j = 0;
    for (int i = 0; i < s->n_options && j < sizeof opts - 64; i++)
        j += (size_t)snprintf(opts + j, sizeof opts - j, ", %s", s->options[i].name);
    return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: unknown key for scheme '%s' (allowed: %s%s%s%s)",
                      c->file, path, s->name, rest, extra[0] ? ", " : "", extra, opts);
}

enum zp_status zp_cfg_scheme_key(struct zp_jctx *c, struct zp_scheme_config *sc, const char *key,
                                 const cJSON *v, const char *path, const char *extra_section)
{
    const struct zp_scheme *s = sc->scheme;
    long long iv;
    char word[64];
    if (strcmp(key, "bits") == 0) {
        if (zp_json_value_int(c, v, path, s->min_bits, s->max_bits, &iv))
            return c->err->status;
        sc->bits = (int)iv;
        return ZP_OK;
    }
    if (strcmp(key, "granularity") == 0) {
        if (zp_json_value_str(c, v, path, GRAN_CHOICES, word, sizeof word))
            return c->err->status;
        int g = zp_choice_find(GRAN_CHOICES, word);
        if (!(s->granularities & ZP_GRAN_BIT(g)))
            return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: scheme '%s' does not support %s",
                              c->file, path, s->name, word);
        sc->granularity = (enum zp_granularity)g;
        return ZP_OK;
    }
    if (strcmp(key, "axis") == 0) {
        if (zp_json_value_int(c, v, path, 0, 7, &iv))
            return c->err->status;
        sc->axis = (int)iv;
        return ZP_OK;
    }
    if (strcmp(key, "group_size") == 0) {
        if (zp_json_value_int(c, v, path, 1, 1 << 20, &iv))
            return c->err->status;
        sc->group_size = (int)iv;
        return ZP_OK;
    }
    int oi = zp_scheme_option_index(s, key);
    if (oi < 0)
        return unknown_key(c, s, path, extra_section);
    const struct zp_option_desc *o = &s->options[oi];
    double num = 0;
    int b;
    switch (o->type) {
    case ZP_OPT_BOOL:
        if (zp_json_value_bool(c, v, path, &b))
            return c->err->status;
        num = b;
        break;
    case ZP_OPT_INT:
        if (zp_json_value_int(c, v, path, (long long)o->min, (long long)o->max, &iv))
            return c->err->status;
        num = (double)iv;
        break;
    case ZP_OPT_NUMBER:
        if (zp_json_value_num(c, v, path, o->min, o->max, &num))
            return c->err->status;
        break;
    case ZP_OPT_ENUM:
        if (zp_json_value_str(c, v, path, o->choices, word, sizeof word))
            return c->err->status;
        num = zp_choice_find(o->choices, word);
        break;
    }
    sc->opt[oi].num = num;
    return ZP_OK;
}

enum zp_status zp_cfg_scheme_check(struct zp_jctx *c, const struct zp_scheme_config *sc,
                                   const char *path)
{
    struct zp_err e = {0};
    if (zp_scheme_config_check(sc, &e))
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: %s", c->file, path, e.msg);
    return ZP_OK;
}

static int in_list(const char *const *list, const char *k)
{
    for (; list && *list; list++)
        if (strcmp(*list, k) == 0)
            return 1;
    return 0;
}

enum zp_status zp_cfg_scheme_object(struct zp_jctx *c, const cJSON *obj, const char *path,
                                    const char *const *skip, const char *refuse_section,
                                    struct zp_scheme_config *sc)
{
    if (zp_json_expect_object(c, obj, path))
        return c->err->status;
    const struct zp_scheme *s;
    if (zp_cfg_scheme_name(c, obj, path, &s))
        return c->err->status;
    zp_scheme_config_defaults(sc, s);
    for (const cJSON *it = obj->child; it; it = it->next) {
        if (strcmp(it->string, "scheme") == 0 || in_list(skip, it->string))
            continue;
        if (refuse_section && zp_config_key_find(refuse_section, it->string))
            return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: not allowed here", c->file,
                              zp_jpath_key(c, path, it->string));
        if (zp_cfg_scheme_key(c, sc, it->string, it, zp_jpath_key(c, path, it->string), NULL))
            return c->err->status;
    }
    return zp_cfg_scheme_check(c, sc, path);
}

void zp_cfg_option_string(const struct zp_scheme_config *sc, char *out, size_t n)
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
