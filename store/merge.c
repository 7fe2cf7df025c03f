/* Merging shard folders: see merge.h. */
#include "store/merge.h"

#include "common/path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "store/inputs.h"
#include "store/predictions.h"
#include "store/results.h"
#include "store/run_json.h"

/* The first line of a small file, or NULL. */
static char *first_line(const char *path)
{
    struct zp_err ignore = {0};
    char *t = zp_file_read_text(path, NULL, &ignore);
    if (t)
        t[strcspn(t, "\n")] = '\0';
    return t;
}

static enum zp_status copy_file(const char *from, const char *to, struct zp_err *err)
{
    size_t len;
    char *buf = zp_file_read_text(from, &len, err);
    if (!buf)
        return err->status;
    enum zp_status st = zp_file_write_atomic(to, buf, len, err);
    free(buf);
    return st;
}

/* Copies a verified cell: fragments first, marker last (so the copy is atomic). */
static enum zp_status copy_cell(const char *shard, const char *out, const char *id,
                                const struct zp_fragment_info info[ZP_N_TABLES], struct zp_err *err)
{
    char from[2400], to[2400];
    for (int t = 0; t < ZP_N_TABLES; t++) {
        if (!info[t].present)
            continue;
        snprintf(from, sizeof from, "%s/.cells/%s.%s", shard, id, zp_table_file((enum zp_result_table)t));
        snprintf(to, sizeof to, "%s/.cells/%s.%s", out, id, zp_table_file((enum zp_result_table)t));
        if (copy_file(from, to, err))
            return err->status;
    }
    /* a model cell's per-example predictions, and its float run's (summary.csv is
     * recomputed from them) */
    if (info[ZP_TABLE_PREDICTIONS].present) {
        snprintf(to, sizeof to, "%s/predictions", out);
        if (zp_mkdir_p(to, err))
            return err->status;
        snprintf(from, sizeof from, "%s/predictions/%s.csv", shard, id);
        snprintf(to, sizeof to, "%s/predictions/%s.csv", out, id);
        if (copy_file(from, to, err))
            return err->status;
        snprintf(from, sizeof from, "%s/predictions", shard);
        DIR *d = opendir(from);
        for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
            size_t len = strlen(e->d_name);
            if (strncmp(e->d_name, "float-", 6) != 0 || len < 4 || strcmp(e->d_name + len - 4, ".csv") != 0)
                continue;
            snprintf(from, sizeof from, "%s/predictions/%s", shard, e->d_name);
            snprintf(to, sizeof to, "%s/predictions/%s", out, e->d_name);
            if (access(to, F_OK) != 0 && copy_file(from, to, err)) {
                closedir(d);
                return err->status;
            }
        }
        if (d)
            closedir(d);
    }
    snprintf(from, sizeof from, "%s/.cells/%s.done", shard, id);
    snprintf(to, sizeof to, "%s/.cells/%s.done", out, id);
    return copy_file(from, to, err);
}

enum zp_status zp_merge(const char *out, const char *const *shards, int n, struct zp_merge_result *res,
                        struct zp_err *err)
{
    memset(res, 0, sizeof *res);
    char p[2400];
    char *fp0 = NULL, *inputs0 = NULL;
    struct zp_run_json rj = {0};
    const char **ids = NULL;
    size_t np = 0;
    struct zp_run_dir rd = {.lock_fd = -1};
    enum zp_status st = ZP_OK;

    /* 1. the shards agree on config, code version and inputs, and none is running */
    for (int s = 0; s < n && !st; s++) {
        if (zp_run_dir_busy(shards[s], err)) {
            st = err->status;
            break;
        }
        snprintf(p, sizeof p, "%s/.cells/FINGERPRINT", shards[s]);
        char *fp = first_line(p);
        if (!fp) {
            st = zp_err_set(err, ZP_ECONFIG, "%s: not a run folder (no .cells/FINGERPRINT)", shards[s]);
            break;
        }
        snprintf(p, sizeof p, "%s/.cells/INPUTS", shards[s]);
        struct zp_err ignore = {0};
        char *inputs = access(p, F_OK) == 0 ? zp_file_read_text(p, NULL, &ignore) : NULL;
        if (s == 0) {
            fp0 = fp;
            inputs0 = inputs;
            if (zp_run_json_load(&rj, shards[0], out, err)) {
                st = err->status;
                break;
            }
            ids = zp_run_json_plan_ids(&rj, &np);
            if (!ids)
                st = zp_err_set(err, ZP_ECONFIG, "%s/run.json: no plan in run.json", shards[0]);
            continue;
        }
        if (strcmp(fp, fp0) != 0) {
            st = zp_err_set(err, ZP_ECONFIG,
                            "%s was made by a different config or code version than %s (fingerprint %s vs "
                            "%s): refusing to merge",
                            shards[s], shards[0], fp, fp0);
        } else if ((inputs == NULL) != (inputs0 == NULL)) {
            st = zp_err_set(err, ZP_ECONFIG, "%s and %s: only one records its input files: refusing to merge",
                            shards[s], shards[0]);
        } else if (inputs) {
            char *d = zp_inputs_diff(inputs0, inputs);
            if (d)
                st = zp_err_set(err, ZP_ECONFIG, "%s used other input files than %s: %s: refusing to merge",
                                shards[s], shards[0], d);
            free(d);
        }
        free(fp);
        free(inputs);
    }
    /* 2. the output folder: new, empty or an earlier merge of the same sweep */
    if (!st && zp_run_dir_open(&rd, out, 1, 0, fp0, err))
        st = err->status;
    if (!st && inputs0) {
        snprintf(p, sizeof p, "%s/INPUTS", rd.cells);
        struct zp_err ignore = {0};
        char *have = access(p, F_OK) == 0 ? zp_file_read_text(p, NULL, &ignore) : NULL;
        char *d = have ? zp_inputs_diff(have, inputs0) : NULL;
        if (d)
            st = zp_err_set(err, ZP_ECONFIG, "%s: made from other input files than the shards: %s", out, d);
        else if (!have)
            st = zp_file_write_atomic(p, inputs0, strlen(inputs0), err);
        free(d);
        free(have);
    }
    /* 3. every shard's finished cells, verified, then copied */
    for (int s = 0; s < n && !st; s++) {
        char cells[2200];
        snprintf(cells, sizeof cells, "%s/.cells", shards[s]);
        for (size_t i = 0; i < np && !st; i++) {
            snprintf(p, sizeof p, "%s/%s.done", cells, ids[i]);
            if (access(p, F_OK) != 0)
                continue;
            struct zp_fragment_info info[ZP_N_TABLES];
            if (zp_cell_verify(cells, ids[i], info, err)) {
                zp_err_prefix(err, "%s: damaged cell (run the shard again with --resume)", shards[s]);
                st = ZP_EFORMAT;
                break;
            }
            st = copy_cell(shards[s], out, ids[i], info, err);
        }
    }
    /* 4. assembled in plan order (zp_run_dir_plan verifies the copies), run.json */
    if (!st && zp_run_dir_plan(&rd, ids, np, err))
        st = err->status;
    if (!st) {
        size_t missing = 0;
        for (size_t i = 0; i < np; i++)
            missing += !rd.done[i];
        res->cells_total = np;
        res->cells_missing = missing;
        zp_json_set_num(rj.root, "cells_done", (double)(np - missing));
        st = zp_summary_write(out, err); /* from the copied prediction files */
        struct zp_json *from = zp_json_arr(rj.root, "merged_from");
        for (int s = 0; s < n; s++)
            zp_json_push_str(from, shards[s]);
        if (!st)
            st = zp_run_json_write(&rj, err);
    }
    zp_run_dir_close(&rd);
    free(ids);
    zp_run_json_free(&rj);
    free(fp0);
    free(inputs0);
    return st;
}
