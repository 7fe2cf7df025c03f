/* The run loop: plan -> cells -> committed fragments -> assembled CSVs ->
 * run.json -> figures. See runner.h. */
#include "experiment/runner.h"

#include <errno.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "plots/plot.h"
#include "store/sysinfo.h"

/* SIGINT / SIGTERM finish the current cell's commit, then stop: a finished cell is
 * never lost, and an unfinished one leaves nothing behind. */
static volatile sig_atomic_t stop_requested;
static void on_signal(int sig)
{
    if (stop_requested) /* a second signal: leave now (committed cells are safe) */
        _exit(128 + sig);
    stop_requested = sig;
}

static void out_init(struct zp_cell_out *o)
{
    for (int t = 0; t < ZP_N_TABLES; t++)
        zp_csv_init(&o->rows[t]);
}

static void out_free(struct zp_cell_out *o)
{
    for (int t = 0; t < ZP_N_TABLES; t++)
        zp_csv_free(&o->rows[t]);
}

static enum zp_status write_run_json(const struct zp_config *cfg, const struct zp_run_opts *o,
                                     const struct zp_plan *plan, const char *dir,
                                     const char *fingerprint, const char *start, double wall,
                                     cJSON *phases, cJSON *models, size_t done, size_t failed,
                                     struct zp_err *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "harness", "zeropoint");
    cJSON_AddStringToObject(root, "config_path", cfg->path);
    cJSON_AddStringToObject(root, "fingerprint", fingerprint);
    cJSON *given = cJSON_Parse(cfg->raw);
    cJSON_AddItemToObject(root, "config", given ? given : cJSON_CreateNull());
    cJSON_AddNumberToObject(root, "seed", (double)cfg->seed);
    cJSON *opts = cJSON_AddObjectToObject(root, "options");
    cJSON_AddStringToObject(opts, "only", o->only ? o->only : "");
    cJSON_AddBoolToObject(opts, "resume", o->resume);
    char shard[32];
    snprintf(shard, sizeof shard, "%d/%d", o->shard_i, o->shard_n);
    cJSON_AddStringToObject(opts, "shard", shard);
    cJSON_AddNumberToObject(opts, "threads", omp_get_max_threads());
    cJSON_AddNumberToObject(opts, "limit", (double)o->limit);
    cJSON *pl = cJSON_AddArrayToObject(root, "plan");
    for (size_t i = 0; i < plan->n; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "id", plan->cells[i].id);
        cJSON_AddStringToObject(c, "cell", plan->cells[i].desc);
        cJSON_AddItemToArray(pl, c);
    }
    cJSON_AddNumberToObject(root, "cells_total", (double)plan->n);
    cJSON_AddNumberToObject(root, "cells_done", (double)done);
    cJSON_AddNumberToObject(root, "cells_failed", (double)failed);
    cJSON *machine = cJSON_AddObjectToObject(root, "machine");
    zp_sysinfo_add(machine);
    cJSON_AddStringToObject(root, "start_time", start);
    char end[32];
    zp_iso_time(end);
    cJSON_AddStringToObject(root, "end_time", end);
    cJSON_AddNumberToObject(root, "wall_seconds", wall);
    cJSON_AddItemToObject(root, "phase_seconds", cJSON_Duplicate(phases, 1));
    cJSON_AddItemToObject(root, "models", cJSON_Duplicate(models, 1));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return zp_err_set(err, ZP_ENOMEM, "run.json: out of memory");
    char p[1200];
    snprintf(p, sizeof p, "%s/run.json", dir);
    size_t len = strlen(text);
    text[len] = '\0';
    char *with_nl = malloc(len + 2);
    enum zp_status st;
    if (!with_nl) {
        st = zp_err_set(err, ZP_ENOMEM, "run.json: out of memory");
    } else {
        memcpy(with_nl, text, len);
        with_nl[len] = '\n';
        st = zp_write_atomic(p, with_nl, len + 1, err);
        free(with_nl);
    }
    free(text);
    return st;
}

static void phase_add(cJSON *phases, const char *name, double secs)
{
    cJSON *it = cJSON_GetObjectItemCaseSensitive(phases, name);
    if (it)
        cJSON_SetNumberValue(it, it->valuedouble + secs);
    else
        cJSON_AddNumberToObject(phases, name, secs);
}

enum zp_status zp_run(const struct zp_config *cfg, const struct zp_run_opts *o, struct zp_err *err)
{
    double t0 = zp_now();
    char start[32];
    zp_iso_time(start);
    if (o->threads > 0)
        omp_set_num_threads(o->threads);

    char dir[1024];
    if (o->out)
        snprintf(dir, sizeof dir, "%s", o->out);
    else
        snprintf(dir, sizeof dir, "results/%s", cfg->name);

    /* Same config text + same code version + same --only/--limit = resumable. */
    char fp_src[256], fingerprint[17];
    size_t rawlen = strlen(cfg->raw);
    char *fptext = malloc(rawlen + sizeof fp_src);
    if (!fptext)
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    snprintf(fp_src, sizeof fp_src, "\n%s %s only=%s limit=%ld", ZP_VERSION, ZP_GIT_REV,
             o->only ? o->only : "", o->limit);
    memcpy(fptext, cfg->raw, rawlen);
    memcpy(fptext + rawlen, fp_src, strlen(fp_src) + 1);
    zp_fingerprint(fptext, strlen(fptext), fingerprint);
    free(fptext);

    struct zp_plan plan;
    if (zp_plan_build(cfg, o->only, &plan, err))
        return err->status;
    struct zp_run_dir rd;
    if (zp_run_dir_open(&rd, dir, o->resume, o->force, fingerprint, err)) {
        zp_plan_free(&plan);
        return err->status;
    }
    const char **ids = malloc((plan.n + 1) * sizeof *ids);
    if (!ids) {
        zp_plan_free(&plan);
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    }
    size_t mine = 0, skipped = 0;
    for (size_t i = 0; i < plan.n; i++) {
        ids[i] = plan.cells[i].id;
        if (o->shard_n <= 1 || (int)(i % (size_t)o->shard_n) == o->shard_i) {
            mine++;
            skipped += zp_cell_done(&rd, plan.cells[i].id);
        }
    }

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    stop_requested = 0;

    struct zp_progress prog;
    zp_progress_init(&prog, (long)mine, o->quiet);
    if (skipped)
        zp_progress_note(&prog, "resume: %zu of %zu cells already done in %s", skipped, mine, dir);
    prog.done = (long)skipped;
    cJSON *phases = cJSON_CreateObject();
    cJSON *models = cJSON_CreateArray();
    size_t done = skipped, failed = 0;
    enum zp_status st = ZP_OK;
    long loaded_model = -1;

    for (size_t i = 0; i < plan.n && st == ZP_OK; i++) {
        const struct zp_cell *cell = &plan.cells[i];
        if (o->shard_n > 1 && (int)(i % (size_t)o->shard_n) != o->shard_i)
            continue;
        if (zp_cell_done(&rd, cell->id))
            continue;
        if (stop_requested)
            break;
        zp_progress_step(&prog, "%s", cell->desc);
        struct zp_cell_out out;
        out_init(&out);
        double tc = zp_now();
        struct zp_model_ctx *m = NULL;
        if (cell->kind == ZP_CELL_MODEL || cell->kind == ZP_CELL_HIST) {
            double tl = zp_now();
            st = zp_model_ctx_get(cfg, cell->source, o, &prog, &m, err);
            if (loaded_model != (long)cell->source && st == ZP_OK) {
                loaded_model = (long)cell->source;
                phase_add(phases, "load_and_float_pass", zp_now() - tl);
                cJSON *mo = cJSON_CreateObject();
                zp_model_ctx_describe(m, mo);
                cJSON_AddItemToArray(models, mo);
            }
        }
        if (st == ZP_OK) {
            switch (cell->kind) {
            case ZP_CELL_SYNTH:
            case ZP_CELL_WEIGHTS:
                st = zp_tensor_cell(cfg, cell, &out, err);
                phase_add(phases, "tensor_cells", zp_now() - tc);
                break;
            case ZP_CELL_HIST:
                st = zp_hist_cell(cfg, cell, m, &out, err);
                break;
            case ZP_CELL_MODEL:
                tc = zp_now();
                st = zp_model_cell(cfg, cell, m, &prog, &out, dir, err);
                phase_add(phases, "model_cells", zp_now() - tc);
                break;
            }
        }
        for (int t = 0; t < ZP_N_TABLES && st == ZP_OK; t++)
            if (out.rows[t].oom)
                st = zp_err_set(err, ZP_ENOMEM, "out of memory while writing rows");
        if (st == ZP_OK) {
            const char *rows[ZP_N_TABLES];
            for (int t = 0; t < ZP_N_TABLES; t++)
                rows[t] = out.rows[t].buf;
            st = zp_cell_commit(&rd, cell->id, rows, err);
            if (st == ZP_OK)
                st = zp_run_assemble(&rd, ids, plan.n, err);
            done++;
            zp_progress_advance(&prog);
        } else {
            failed++;
            zp_err_prefix(err, "cell %s (%s)", cell->id, cell->desc);
        }
        out_free(&out);
    }
    zp_model_ctx_release();
    if (st == ZP_OK && stop_requested) {
        st = zp_err_set(err, ZP_EINVAL,
                        "interrupted by signal %d after %zu of %zu cells; finished cells are kept: "
                        "rerun with --resume",
                        (int)stop_requested, done, mine);
    }
    zp_progress_end(&prog);

    struct zp_err e2 = {0};
    enum zp_status st2 = zp_run_assemble(&rd, ids, plan.n, &e2);
    if (st2 == ZP_OK)
        st2 = write_run_json(cfg, o, &plan, dir, fingerprint, start, zp_now() - t0, phases, models,
                             done, failed, &e2);
    if (st2 == ZP_OK && st == ZP_OK && !o->no_plots) {
        double tp = zp_now();
        struct zp_plot_warnings pw;
        st2 = zp_plots_render(dir, &pw, &e2); /* a figure that fails is a warning */
        phase_add(phases, "plots", zp_now() - tp);
        zp_plot_warnings_print(&pw, stderr, "harness: figures: ");
        if (st2 != ZP_OK) {
            zp_err_prefix(&e2, "figures");
        }
    }
    if (st == ZP_OK && st2 != ZP_OK) {
        *err = e2;
        st = st2;
    }
    if (!o->quiet && st == ZP_OK)
        fprintf(stderr, "results: %s/\n", dir);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    cJSON_Delete(phases);
    cJSON_Delete(models);
    free(ids);
    zp_plan_free(&plan);
    return st;
}
