/* run.json: see run_json.h. A struct zp_json is a cJSON node; cJSON stays here. */
#include "store/run_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "common/atomic.h"
#include "common/file.h"
#include "common/path.h"
#include "store/sysinfo.h"

#define NODE(j) ((cJSON *)(void *)(j))
#define JSON(c) ((struct zp_json *)(void *)(c))

double zp_run_json_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static cJSON *child(struct zp_json *parent, const char *key, int array)
{
    cJSON *p = NODE(parent);
    if (!p || !key)
        return NULL;
    cJSON *c = cJSON_GetObjectItemCaseSensitive(p, key);
    if (c && (array ? cJSON_IsArray(c) : cJSON_IsObject(c)))
        return c;
    if (c)
        cJSON_DeleteItemFromObjectCaseSensitive(p, key);
    return array ? cJSON_AddArrayToObject(p, key) : cJSON_AddObjectToObject(p, key);
}

struct zp_json *zp_json_obj(struct zp_json *parent, const char *key)
{
    return JSON(child(parent, key, 0));
}

struct zp_json *zp_json_arr(struct zp_json *parent, const char *key)
{
    return JSON(child(parent, key, 1));
}

struct zp_json *zp_json_push_obj(struct zp_json *arr)
{
    if (!arr)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddItemToArray(NODE(arr), o)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return JSON(o);
}

void zp_json_push_str(struct zp_json *arr, const char *v)
{
    if (!arr)
        return;
    cJSON *s = cJSON_CreateString(v ? v : "");
    if (s && !cJSON_AddItemToArray(NODE(arr), s))
        cJSON_Delete(s);
}

/* Sets key to item (replacing), taking ownership of item. */
static void set_item(struct zp_json *obj, const char *key, cJSON *item)
{
    if (!obj || !key || !item) {
        cJSON_Delete(item);
        return;
    }
    if (cJSON_GetObjectItemCaseSensitive(NODE(obj), key))
        cJSON_ReplaceItemInObjectCaseSensitive(NODE(obj), key, item);
    else if (!cJSON_AddItemToObject(NODE(obj), key, item))
        cJSON_Delete(item);
}

void zp_json_set_str(struct zp_json *obj, const char *key, const char *v)
{
    set_item(obj, key, v ? cJSON_CreateString(v) : cJSON_CreateNull());
}

void zp_json_set_num(struct zp_json *obj, const char *key, double v)
{
    set_item(obj, key, cJSON_CreateNumber(v));
}

void zp_json_set_bool(struct zp_json *obj, const char *key, int v)
{
    set_item(obj, key, cJSON_CreateBool(v != 0));
}

void zp_json_set_raw(struct zp_json *obj, const char *key, const char *json_text)
{
    cJSON *v = json_text ? cJSON_Parse(json_text) : NULL;
    set_item(obj, key, v ? v : cJSON_CreateNull());
}

static void iso_time(char out[32])
{
    zp_iso_time(out);
}

enum zp_status zp_run_json_init(struct zp_run_json *rj, const char *dir, const char *command,
                                const char *config_path, const char *config_text, struct zp_err *err)
{
    memset(rj, 0, sizeof *rj);
    if ((size_t)snprintf(rj->path, sizeof rj->path, "%s/run.json", dir) >= sizeof rj->path)
        return zp_err_set(err, ZP_EINVAL, "%s: run folder path too long", dir);
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return zp_err_set(err, ZP_ENOMEM, "run.json: out of memory");
    rj->root = JSON(root);
    rj->t0 = zp_run_json_now();
    zp_json_set_str(rj->root, "harness", "zeropoint");
    zp_json_set_str(rj->root, "command", command);
    zp_json_set_str(rj->root, "config_path", config_path);
    char *owned = NULL;
    if (!config_text && config_path) {
        struct zp_err ignore = {0};
        owned = zp_file_read_text(config_path, NULL, &ignore);
        config_text = owned;
    }
    zp_json_set_raw(rj->root, "config", config_text);
    free(owned);
    cJSON *machine = cJSON_AddObjectToObject(root, "machine");
    if (machine)
        zp_sysinfo_add(machine);
    char start[32];
    iso_time(start);
    zp_json_set_str(rj->root, "start_time", start);
    zp_json_obj(rj->root, "phase_seconds");
    return ZP_OK;
}

enum zp_status zp_run_json_load(struct zp_run_json *rj, const char *from_dir, const char *to_dir,
                                struct zp_err *err)
{
    memset(rj, 0, sizeof *rj);
    char from[4200];
    snprintf(from, sizeof from, "%s/run.json", from_dir);
    if ((size_t)snprintf(rj->path, sizeof rj->path, "%s/run.json", to_dir) >= sizeof rj->path)
        return zp_err_set(err, ZP_EINVAL, "%s: path too long", to_dir);
    size_t len;
    char *text = zp_file_read_text(from, &len, err);
    if (!text)
        return err->status;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return zp_err_set(err, ZP_EFORMAT, "%s: not a JSON object", from);
    }
    rj->root = JSON(root);
    rj->keep_times = 1;
    rj->t0 = zp_run_json_now();
    return ZP_OK;
}

const char **zp_run_json_plan_ids(struct zp_run_json *rj, size_t *n)
{
    *n = 0;
    cJSON *plan = cJSON_GetObjectItemCaseSensitive(NODE(rj->root), "plan");
    int np = cJSON_IsArray(plan) ? cJSON_GetArraySize(plan) : 0;
    if (np <= 0)
        return NULL;
    const char **ids = calloc((size_t)np, sizeof *ids);
    if (!ids)
        return NULL;
    int k = 0;
    for (cJSON *c = plan->child; c; c = c->next) {
        cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
        ids[k++] = cJSON_IsString(id) ? id->valuestring : "";
    }
    *n = (size_t)k;
    return ids;
}

void zp_run_json_phase_add(struct zp_run_json *rj, const char *phase, double secs)
{
    cJSON *ph = NODE(zp_json_obj(rj->root, "phase_seconds"));
    if (!ph)
        return;
    cJSON *it = cJSON_GetObjectItemCaseSensitive(ph, phase);
    if (it)
        cJSON_SetNumberValue(it, it->valuedouble + secs);
    else
        cJSON_AddNumberToObject(ph, phase, secs);
}

enum zp_status zp_run_json_write(struct zp_run_json *rj, struct zp_err *err)
{
    if (!rj->root)
        return zp_err_set(err, ZP_ENOMEM, "run.json: out of memory");
    if (!rj->keep_times) {
        char end[32];
        iso_time(end);
        zp_json_set_str(rj->root, "end_time", end);
        zp_json_set_num(rj->root, "wall_seconds", zp_run_json_now() - rj->t0);
    }
    /* phase_seconds last, so a reader sees the totals after the rest */
    cJSON *ph = cJSON_DetachItemFromObjectCaseSensitive(NODE(rj->root), "phase_seconds");
    if (ph)
        cJSON_AddItemToObject(NODE(rj->root), "phase_seconds", ph);
    char *text = cJSON_Print(NODE(rj->root));
    if (!text)
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", rj->path);
    size_t len = strlen(text);
    char *nl = realloc(text, len + 2);
    if (!nl) {
        free(text);
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", rj->path);
    }
    nl[len] = '\n';
    nl[len + 1] = '\0';
    enum zp_status st = zp_file_write_atomic(rj->path, nl, len + 1, err);
    free(nl);
    return st;
}

void zp_run_json_free(struct zp_run_json *rj)
{
    cJSON_Delete(NODE(rj->root));
    rj->root = NULL;
}
