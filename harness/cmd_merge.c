/* harness merge --out DIR SHARD_DIR...: joins the run folders of the shards of one
 * sweep (harness run --shard I/N) into one run folder. Shards must come from the
 * same config and code version (the fingerprint in .cells/FINGERPRINT); the merged
 * CSVs are assembled in plan order, so they equal a single-process run's. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "harness/commands.h"
#include "config/json_check.h"
#include "plots/plot.h"
#include "store/results.h"

static int read_small(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t got = fread(out, 1, n - 1, f);
    fclose(f);
    out[got] = '\0';
    out[strcspn(out, "\n")] = '\0';
    return 0;
}

static int copy_file(const char *from, const char *to, struct zp_err *err)
{
    FILE *f = fopen(from, "rb");
    if (!f)
        return zp_err_set(err, ZP_EIO, "%s: cannot read: %s", from, strerror(errno));
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, mem);
    fclose(f);
    fclose(mem);
    enum zp_status st = zp_write_atomic(to, buf, len, err);
    free(buf);
    return st;
}

int zp_cmd_merge(int argc, char **argv)
{
    const char *out = NULL;
    const char *shards[4096];
    int n = 0, no_plots = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--no-plots") == 0)
            no_plots = 1;
        else if (argv[i][0] == '-' || n == 4096) {
            char hint[96];
            zp_flag_hint("merge", argv[i], hint, sizeof hint);
            fprintf(stderr, "harness merge: unknown option '%s'%s\n%s", argv[i], hint,
                    zp_command_usage("merge"));
            return ZP_EXIT_USAGE;
        } else
            shards[n++] = argv[i];
    }
    if (!out || n == 0) {
        fprintf(stderr, "harness merge: needs --out DIR and at least one shard folder\n%s",
                zp_command_usage("merge"));
        return ZP_EXIT_USAGE;
    }
    struct zp_err err = {0};
    char fp0[64] = "", p[2048];
    cJSON *plan_json = NULL;
    char *run0 = NULL;
    int rc = ZP_EXIT_USAGE;
    for (int s = 0; s < n; s++) {
        char fp[64];
        snprintf(p, sizeof p, "%s/.cells/FINGERPRINT", shards[s]);
        if (read_small(p, fp, sizeof fp) != 0) {
            fprintf(stderr, "harness merge: %s: not a run folder (no .cells/FINGERPRINT)\n",
                    shards[s]);
            goto out;
        }
        if (s == 0) {
            snprintf(fp0, sizeof fp0, "%s", fp);
            snprintf(p, sizeof p, "%s/run.json", shards[s]);
            run0 = zp_json_read_file(p, &err);
            if (!run0) {
                fprintf(stderr, "harness merge: %s\n", err.msg);
                goto out;
            }
            plan_json = cJSON_Parse(run0);
            if (!plan_json || !cJSON_IsArray(cJSON_GetObjectItem(plan_json, "plan"))) {
                fprintf(stderr, "harness merge: %s: no plan in run.json\n", p);
                goto out;
            }
        } else if (strcmp(fp, fp0) != 0) {
            fprintf(stderr,
                    "harness merge: %s was made by a different config or code version than %s "
                    "(fingerprint %s vs %s): refusing to merge\n",
                    shards[s], shards[0], fp, fp0);
            goto out;
        }
    }
    struct zp_run_dir rd;
    rc = ZP_EXIT_FAILED;
    if (zp_run_dir_open(&rd, out, 1, 0, fp0, &err)) {
        /* An empty or new folder is fine; an unrelated non-empty one is not. */
        fprintf(stderr, "harness merge: %s\n", err.msg);
        rc = ZP_EXIT_USAGE;
        goto out;
    }
    /* Copy every finished cell's fragments. */
    for (int s = 0; s < n; s++) {
        snprintf(p, sizeof p, "%s/.cells", shards[s]);
        DIR *d = opendir(p);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || strcmp(e->d_name, "FINGERPRINT") == 0 ||
                strstr(e->d_name, ".tmp."))
                continue;
            char from[2400], to[2400];
            snprintf(from, sizeof from, "%s/.cells/%s", shards[s], e->d_name);
            snprintf(to, sizeof to, "%s/.cells/%s", out, e->d_name);
            if (copy_file(from, to, &err)) {
                closedir(d);
                fprintf(stderr, "harness merge: %s\n", err.msg);
                goto out;
            }
        }
        closedir(d);
    }
    cJSON *plan = cJSON_GetObjectItem(plan_json, "plan");
    int np = cJSON_GetArraySize(plan), missing = 0;
    const char **ids = calloc((size_t)np + 1, sizeof *ids);
    for (int i = 0; i < np; i++) {
        cJSON *id = cJSON_GetObjectItem(cJSON_GetArrayItem(plan, i), "id");
        ids[i] = cJSON_IsString(id) ? id->valuestring : "";
        if (!zp_cell_done(&rd, ids[i]))
            missing++;
    }
    enum zp_status st = zp_run_assemble(&rd, ids, (size_t)np, &err);
    free(ids);
    if (st) {
        fprintf(stderr, "harness merge: %s\n", err.msg);
        goto out;
    }
    cJSON_DeleteItemFromObject(plan_json, "cells_done");
    cJSON_AddNumberToObject(plan_json, "cells_done", np - missing);
    cJSON *merged = cJSON_AddArrayToObject(plan_json, "merged_from");
    for (int s = 0; s < n; s++)
        cJSON_AddItemToArray(merged, cJSON_CreateString(shards[s]));
    char *text = cJSON_Print(plan_json);
    snprintf(p, sizeof p, "%s/run.json", out);
    st = zp_write_atomic(p, text, strlen(text), &err);
    free(text);
    if (st) {
        fprintf(stderr, "harness merge: %s\n", err.msg);
        goto out;
    }
    if (missing) {
        fprintf(stderr,
                "harness merge: %d of %d cells are missing from the shards given; the merged "
                "folder holds the rest (run the missing shards, then merge again)\n",
                missing, np);
        goto out;
    }
    if (!no_plots && zp_plots_render(out, &err)) {
        fprintf(stderr, "harness merge: figures: %s\n", err.msg);
        goto out;
    }
    fprintf(stderr, "merged %d shard folders into %s/ (%d cells)\n", n, out, np);
    rc = ZP_EXIT_OK;
out:
    cJSON_Delete(plan_json);
    free(run0);
    return rc;
}
