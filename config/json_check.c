/* Validated JSON reads: see json_check.h. */
#include "config/json_check.h"

#include "common/choice.h"
#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/keys.h"

#define MAX_CONFIG_BYTES ((size_t)64 << 20)

void zp_jctx_init(struct zp_jctx *c, const char *file, struct zp_err *err)
{
    memset(c, 0, sizeof *c);
    c->file = file;
    c->err = err;
}

/* Until common/ has a whole-file reader (common/file.h, another branch), the check
 * for a regular file lives here: stat the opened descriptor, never block on it. */
char *zp_json_read_file(const char *path, struct zp_err *err)
{
    /* A config that exists but is not a regular file (a FIFO would hang a read, a
     * directory gives a vague error) is a usage error: exit 2. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        zp_err_set(err, ZP_ECONFIG, "%s: not a regular file (%s): not a config", path,
                   zp_file_kind((unsigned)st.st_mode));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0;
    if (zp_file_read(path, MAX_CONFIG_BYTES, "config", &buf, &len, err) != ZP_OK)
        return NULL;
    return buf;
}

/* ---- duplicate keys ------------------------------------------------------ */

struct keyed {
    const cJSON *node;
    size_t order; /* position in the object */
};

static int cmp_key(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    int r = strcmp(x->node->string ? x->node->string : "", y->node->string ? y->node->string : "");
    if (r)
        return r;
    /* same name: document order, so the reported one is the second occurrence */
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Appends ".key" or "[i]" to path (length *len) for the recursion below. */
static size_t path_push(char *path, size_t len, const char *key, int index)
{
    int n = key ? snprintf(path + len, ZP_JPATH_LEN - len, "%s%s", len ? "." : "", key)
                : snprintf(path + len, ZP_JPATH_LEN - len, "[%d]", index);
    size_t add = n < 0 ? 0 : (size_t)n;
    return len + add >= ZP_JPATH_LEN ? ZP_JPATH_LEN - 1 : len + add;
}

/* Sorting the names keeps an object of many keys O(n log n), not O(n^2). */
static enum zp_status check_dups(struct zp_jctx *c, const cJSON *v, char *path, size_t len)
{
    if (cJSON_IsObject(v)) {
        size_t n = 0;
        for (const cJSON *it = v->child; it; it = it->next)
            n++;
        if (n > 1) {
            struct keyed *kids = malloc(n * sizeof *kids);
            if (!kids)
                return zp_err_set(c->err, ZP_ENOMEM, "%s: out of memory", c->file);
            size_t i = 0;
            for (const cJSON *it = v->child; it; it = it->next, i++)
                kids[i] = (struct keyed){it, i};
            qsort(kids, n, sizeof *kids, cmp_key);
            const cJSON *dup = NULL;
            for (i = 1; i < n && !dup; i++)
                if (strcmp(kids[i].node->string ? kids[i].node->string : "",
                           kids[i - 1].node->string ? kids[i - 1].node->string : "") == 0)
                    dup = kids[i].node;
            free(kids);
            if (dup) {
                path_push(path, len, dup->string ? dup->string : "", 0);
                enum zp_status st = zp_err_set(c->err, ZP_ECONFIG, "%s: %s: key given twice",
                                               c->file, path);
                path[len] = '\0';
                return st;
            }
        }
        for (const cJSON *it = v->child; it; it = it->next) {
            size_t l = path_push(path, len, it->string ? it->string : "", 0);
            enum zp_status st = check_dups(c, it, path, l);
            path[len] = '\0';
            if (st)
                return st;
        }
    } else if (cJSON_IsArray(v)) {
        int i = 0;
        for (const cJSON *it = v->child; it; it = it->next, i++) {
            size_t l = path_push(path, len, NULL, i);
            enum zp_status st = check_dups(c, it, path, l);
            path[len] = '\0';
            if (st)
                return st;
        }
    }
    return ZP_OK;
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
    char path[ZP_JPATH_LEN] = "";
    if (check_dups(c, root, path, 0)) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* ---- paths and descriptions ---------------------------------------------- */

static char *next_buf(struct zp_jctx *c)
{
    char *b = c->buf[c->next];
    c->next = (c->next + 1) % ZP_JPATH_BUFS;
    return b;
}

const char *zp_jpath_key(struct zp_jctx *c, const char *path, const char *key)
{
    char *b = next_buf(c);
    if (!path || !*path)
        snprintf(b, ZP_JPATH_LEN, "%s", key);
    else
        snprintf(b, ZP_JPATH_LEN, "%s.%s", path, key);
    return b;
}

const char *zp_jpath_index(struct zp_jctx *c, const char *path, int i)
{
    char *b = next_buf(c);
    snprintf(b, ZP_JPATH_LEN, "%s[%d]", path ? path : "", i);
    return b;
}

const char *zp_json_describe(struct zp_jctx *c, const cJSON *v)
{
    char *b = next_buf(c);
    if (!v)
        snprintf(b, ZP_JPATH_LEN, "nothing");
    else if (cJSON_IsBool(v))
        snprintf(b, ZP_JPATH_LEN, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNull(v))
        snprintf(b, ZP_JPATH_LEN, "null");
    else if (cJSON_IsNumber(v))
        snprintf(b, ZP_JPATH_LEN, "%.10g", v->valuedouble);
    else if (cJSON_IsString(v))
        snprintf(b, ZP_JPATH_LEN, "\"%.80s\"", v->valuestring);
    else if (cJSON_IsArray(v))
        snprintf(b, ZP_JPATH_LEN, "an array");
    else if (cJSON_IsObject(v))
        snprintf(b, ZP_JPATH_LEN, "an object");
    else
        snprintf(b, ZP_JPATH_LEN, "an unknown value");
    return b;
}

/* ---- keys ---------------------------------------------------------------- */

static enum zp_status unknown_key(struct zp_jctx *c, const char *path, const char *key,
                                  const char *list)
{
    return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: unknown key (allowed: %s)", c->file,
                      zp_jpath_key(c, path, key), list);
}

enum zp_status zp_json_check_keys(struct zp_jctx *c, const cJSON *obj, const char *path,
                                  const char *const *allowed)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = it->string && strcmp(*a, it->string) == 0;
        if (!ok) {
            char list[512] = "";
            size_t j = 0;
            for (const char *const *a = allowed; *a && j < sizeof list - 64; a++)
                j += (size_t)snprintf(list + j, sizeof list - j, "%s%s", a == allowed ? "" : ", ",
                                      *a);
            return unknown_key(c, path, it->string ? it->string : "?", list);
        }
    }
    return ZP_OK;
}

enum zp_status zp_json_check_section(struct zp_jctx *c, const cJSON *obj, const char *path,
                                     const char *section)
{
    for (const cJSON *it = obj->child; it; it = it->next)
        if (!it->string || !zp_config_key_find(section, it->string)) {
            char list[768];
            zp_config_key_list(section, list, sizeof list);
            return unknown_key(c, path, it->string ? it->string : "?", list);
        }
    return ZP_OK;
}

enum zp_status zp_json_expect_object(struct zp_jctx *c, const cJSON *v, const char *path)
{
    if (!cJSON_IsObject(v))
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected an object, got %s", c->file, path,
                          zp_json_describe(c, v));
    return ZP_OK;
}

/* ---- typed values -------------------------------------------------------- */

enum zp_status zp_json_value_int(struct zp_jctx *c, const cJSON *v, const char *path,
                                 long long min, long long max, long long *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || !isfinite(v->valuedouble))
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected an integer %lld..%lld, got %s",
                          c->file, path, min, max, zp_json_describe(c, v));
    if (v->valuedouble < (double)min || v->valuedouble > (double)max)
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected %lld..%lld, got %s", c->file, path,
                          min, max, zp_json_describe(c, v));
    *out = (long long)v->valuedouble;
    return ZP_OK;
}

enum zp_status zp_json_value_num(struct zp_jctx *c, const cJSON *v, const char *path,
                                 double min, double max, double *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected a number %g..%g, got %s", c->file,
                          path, min, max, zp_json_describe(c, v));
    if (v->valuedouble < min || v->valuedouble > max)
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected %g..%g, got %s", c->file, path,
                          min, max, zp_json_describe(c, v));
    *out = v->valuedouble;
    return ZP_OK;
}

enum zp_status zp_json_value_bool(struct zp_jctx *c, const cJSON *v, const char *path, int *out)
{
    if (!cJSON_IsBool(v))
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected true or false, got %s", c->file,
                          path, zp_json_describe(c, v));
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return ZP_OK;
}

enum zp_status zp_json_value_str(struct zp_jctx *c, const cJSON *v, const char *path,
                                 const char *choices, char *out, size_t out_len)
{
    if (!cJSON_IsString(v) || (choices && zp_choice_find(choices, v->valuestring) < 0)) {
        if (choices) {
            char list[256];
            zp_choice_join(choices, ", ", list, sizeof list);
            return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected one of %s, got %s", c->file,
                              path, list, zp_json_describe(c, v));
        }
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected a string, got %s", c->file, path,
                          zp_json_describe(c, v));
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
    return v ? zp_json_value_int(c, v, zp_jpath_key(c, path, key), min, max, out) : ZP_OK;
}

enum zp_status zp_json_num(struct zp_jctx *c, const cJSON *obj, const char *path, const char *key,
                           double min, double max, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v ? zp_json_value_num(c, v, zp_jpath_key(c, path, key), min, max, out) : ZP_OK;
}

enum zp_status zp_json_bool(struct zp_jctx *c, const cJSON *obj, const char *path, const char *key,
                            int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v ? zp_json_value_bool(c, v, zp_jpath_key(c, path, key), out) : ZP_OK;
}

enum zp_status zp_json_str(struct zp_jctx *c, const cJSON *obj, const char *path, const char *key,
                           const char *choices, char *out, size_t out_len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v ? zp_json_value_str(c, v, zp_jpath_key(c, path, key), choices, out, out_len) : ZP_OK;
}
