/* Validated JSON reads: see json_check.h. */
#include "config/json_check.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *zp_json_read_file(const char *path, struct zp_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        zp_err_set(err, ZP_EIO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) {
            if (cap > (size_t)64 << 20) {
                free(buf);
                fclose(f);
                zp_err_set(err, ZP_EINVAL, "%s: larger than 64 MiB: not a config", path);
                return NULL;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        zp_err_set(err, ZP_EIO, "%s: read error", path);
        return NULL;
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        free(buf);
        zp_err_set(err, ZP_ECONFIG, "%s: contains a NUL byte: not a JSON text file", path);
        return NULL;
    }
    return buf;
}

cJSON *zp_json_parse(struct zp_jctx *c, const char *text)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        const char *at = end ? end : cJSON_GetErrorPtr();
        int line = 1, col = 1;
        if (at)
            for (const char *p = text; p < at && *p; p++) {
                if (*p == '\n') {
                    line++;
                    col = 1;
                } else {
                    col++;
                }
            }
        zp_err_set(c->err, ZP_ECONFIG, "%s: invalid JSON at line %d, column %d", c->file, line,
                   col);
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        zp_err_set(c->err, ZP_ECONFIG, "%s: expected a JSON object at the top level", c->file);
        return NULL;
    }
    return root;
}

#define N_PATHBUF 8
static char pathbuf[N_PATHBUF][512];
static int pathnext;

static char *next_buf(void)
{
    char *b = pathbuf[pathnext];
    pathnext = (pathnext + 1) % N_PATHBUF;
    return b;
}

const char *zp_jpath_key(const char *path, const char *key)
{
    char *b = next_buf();
    if (!path || !*path)
        snprintf(b, 512, "%s", key);
    else
        snprintf(b, 512, "%s.%s", path, key);
    return b;
}

const char *zp_jpath_index(const char *path, int i)
{
    char *b = next_buf();
    snprintf(b, 512, "%s[%d]", path ? path : "", i);
    return b;
}

const char *zp_json_describe(const cJSON *v)
{
    char *b = next_buf();
    if (!v)
        snprintf(b, 512, "nothing");
    else if (cJSON_IsBool(v))
        snprintf(b, 512, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNull(v))
        snprintf(b, 512, "null");
    else if (cJSON_IsNumber(v))
        snprintf(b, 512, "%.10g", v->valuedouble);
    else if (cJSON_IsString(v))
        snprintf(b, 512, "\"%.80s\"", v->valuestring);
    else if (cJSON_IsArray(v))
        snprintf(b, 512, "an array");
    else if (cJSON_IsObject(v))
        snprintf(b, 512, "an object");
    else
        snprintf(b, 512, "an unknown value");
    return b;
}

int zp_choice_index(const char *choices, const char *word)
{
    int idx = 0;
    size_t wl = strlen(word);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == wl && strncmp(p, word, l) == 0)
            return idx;
        idx++;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

static void choices_list(const char *choices, char *out, size_t n)
{
    size_t j = 0;
    for (const char *p = choices; *p && j + 3 < n; p++) {
        if (*p == '|') {
            out[j++] = ',';
            out[j++] = ' ';
        } else {
            out[j++] = *p;
        }
    }
    out[j] = '\0';
}

enum zp_status zp_json_check_keys(struct zp_jctx *c, const cJSON *obj, const char *path,
                                  const char *const *allowed)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (it->string && strcmp(*a, it->string) == 0)
                ok = 1;
        if (!ok) {
            char list[512] = "";
            size_t j = 0;
            for (const char *const *a = allowed; *a && j < sizeof list - 64; a++)
                j += (size_t)snprintf(list + j, sizeof list - j, "%s%s", a == allowed ? "" : ", ",
                                      *a);
            return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: unknown key (allowed: %s)", c->file,
                              zp_jpath_key(path, it->string ? it->string : "?"), list);
        }
        for (const cJSON *d = it->next; d; d = d->next)
            if (it->string && d->string && strcmp(it->string, d->string) == 0)
                return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: key given twice", c->file,
                                  zp_jpath_key(path, it->string));
    }
    return ZP_OK;
}

enum zp_status zp_json_expect_object(struct zp_jctx *c, const cJSON *v, const char *path)
{
    if (!cJSON_IsObject(v))
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected an object, got %s", c->file, path,
                          zp_json_describe(v));
    return ZP_OK;
}

enum zp_status zp_json_value_int(struct zp_jctx *c, const cJSON *v, const char *path,
                                 long long min, long long max, long long *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || !isfinite(v->valuedouble))
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected an integer %lld..%lld, got %s",
                          c->file, path, min, max, zp_json_describe(v));
    if (v->valuedouble < (double)min || v->valuedouble > (double)max)
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected %lld..%lld, got %s", c->file, path,
                          min, max, zp_json_describe(v));
    *out = (long long)v->valuedouble;
    return ZP_OK;
}

enum zp_status zp_json_value_num(struct zp_jctx *c, const cJSON *v, const char *path,
                                 double min, double max, double *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected a number %g..%g, got %s", c->file,
                          path, min, max, zp_json_describe(v));
    if (v->valuedouble < min || v->valuedouble > max)
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected %g..%g, got %s", c->file, path,
                          min, max, zp_json_describe(v));
    *out = v->valuedouble;
    return ZP_OK;
}

enum zp_status zp_json_value_bool(struct zp_jctx *c, const cJSON *v, const char *path, int *out)
{
    if (!cJSON_IsBool(v))
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected true or false, got %s", c->file,
                          path, zp_json_describe(v));
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return ZP_OK;
}

enum zp_status zp_json_value_str(struct zp_jctx *c, const cJSON *v, const char *path,
                                 const char *choices, char *out, size_t out_len)
{
    if (!cJSON_IsString(v)) {
        if (choices) {
            char list[256];
            choices_list(choices, list, sizeof list);
            return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected one of %s, got %s", c->file,
                              path, list, zp_json_describe(v));
        }
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected a string, got %s", c->file, path,
                          zp_json_describe(v));
    }
    if (choices && zp_choice_index(choices, v->valuestring) < 0) {
        char list[256];
        choices_list(choices, list, sizeof list);
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected one of %s, got %s", c->file, path,
                          list, zp_json_describe(v));
    }
    if (strlen(v->valuestring) >= out_len)
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: longer than %zu characters", c->file, path,
                          out_len - 1);
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
    return ZP_OK;
}

enum zp_status zp_json_int(struct zp_jctx *c, const cJSON *obj, const char *path, const char *key,
                           long long min, long long max, long long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v ? zp_json_value_int(c, v, zp_jpath_key(path, key), min, max, out) : ZP_OK;
}

enum zp_status zp_json_num(struct zp_jctx *c, const cJSON *obj, const char *path, const char *key,
                           double min, double max, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v ? zp_json_value_num(c, v, zp_jpath_key(path, key), min, max, out) : ZP_OK;
}

enum zp_status zp_json_bool(struct zp_jctx *c, const cJSON *obj, const char *path, const char *key,
                            int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v ? zp_json_value_bool(c, v, zp_jpath_key(path, key), out) : ZP_OK;
}

enum zp_status zp_json_str(struct zp_jctx *c, const cJSON *obj, const char *path, const char *key,
                           const char *choices, char *out, size_t out_len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v ? zp_json_value_str(c, v, zp_jpath_key(path, key), choices, out, out_len) : ZP_OK;
}
