/* run.json for the report: see run_info.h. */
#include "store/run_info.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/atomic.h"
#include "common/file.h"
#include "common/path.h"

static int push(struct zp_run_info *ri, size_t *cap, const char *path, int depth, char *value)
{
    if (ri->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct zp_run_field *nf = realloc(ri->fields, nc * sizeof *nf);
        if (!nf)
            return -1;
        ri->fields = nf;
        *cap = nc;
    }
    struct zp_run_field *f = &ri->fields[ri->n++];
    snprintf(f->path, sizeof f->path, "%s", path);
    f->value = value;
    f->depth = depth;
    return 0;
}

static int flatten(struct zp_run_info *ri, size_t *cap, const cJSON *node, const char *prefix, int depth)
{
    for (const cJSON *c = node->child; c; c = c->next) {
        if (!c->string)
            continue;
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", c->string);
        if (cJSON_IsObject(c)) {
            if (depth < 2 && flatten(ri, cap, c, path, depth + 1))
                return -1;
            continue;
        }
        char *val = NULL;
        if (cJSON_IsString(c)) {
            val = strdup(c->valuestring);
        } else if (cJSON_IsNumber(c)) {
            char num[64];
            double v = c->valuedouble;
            if (v == floor(v) && fabs(v) < 1e15)
                snprintf(num, sizeof num, "%.0f", v);
            else
                snprintf(num, sizeof num, "%.4g", v);
            val = strdup(num);
        } else {
            val = cJSON_PrintUnformatted(c);
        }
        if (!val || push(ri, cap, path, depth, val)) {
            free(val);
            return -1;
        }
    }
    return 0;
}

enum zp_status zp_run_info_read(const char *dir, struct zp_run_info *ri, struct zp_err *err)
{
    memset(ri, 0, sizeof *ri);
    char path[4200];
    snprintf(path, sizeof path, "%s/run.json", dir);
    if (access(path, F_OK) != 0)
        return ZP_OK;
    size_t len;
    ri->raw = zp_file_read_text(path, &len, err);
    if (!ri->raw)
        return err->status;
    ri->present = 1;
    cJSON *root = cJSON_ParseWithLength(ri->raw, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return ZP_OK;
    }
    ri->parsed = 1;
    size_t cap = 0;
    ri->pretty = cJSON_Print(root);
    int bad = !ri->pretty || flatten(ri, &cap, root, "", 0);
    cJSON_Delete(root);
    if (bad) {
        zp_run_info_free(ri);
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
    }
    return ZP_OK;
}

const char *zp_run_info_get(const struct zp_run_info *ri, const char *path)
{
    for (size_t i = 0; i < ri->n; i++)
        if (strcmp(ri->fields[i].path, path) == 0)
            return ri->fields[i].value;
    return NULL;
}

void zp_run_info_free(struct zp_run_info *ri)
{
    for (size_t i = 0; i < ri->n; i++)
        free(ri->fields[i].value);
    free(ri->fields);
    free(ri->raw);
    free(ri->pretty);
    memset(ri, 0, sizeof *ri);
}
