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

#include "model/graph.h"
#include "store/inputs.h"
#include "store/predictions.h"
#include "store/run_json.h"
#include "store/sysinfo.h"
#include "train/qat.h"

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

/* The run-specific part of run.json (store/run_json.h writes the common keys). */
static void run_json_fill(struct zp_run_json *rj, const struct zp_config *cfg, const struct zp_run_opts *o,
                          const struct zp_plan *plan, const char *fingerprint, size_t done, size_t failed)
{
    struct zp_json *root = rj->root;
    zp_json_set_str(root, "fingerprint", fingerprint);
    zp_json_set_num(root, "seed", (double)cfg->seed);
    struct zp_json *opts = zp_json_obj(root, "options");
    zp_json_set_str(opts, "only", o->only ? o->only : "");
    zp_json_set_bool(opts, "resume", o->resume);
    char shard[32];
    snprintf(shard, sizeof shard, "%d/%d", o->shard_i, o->shard_n);
    zp_json_set_str(opts, "shard", shard);
    zp_json_set_num(opts, "threads", omp_get_max_threads());
    zp_json_set_num(opts, "limit", (double)o->limit);
    struct zp_json *pl = zp_json_arr(root, "plan");
    for (size_t i = 0; i < plan->n; i++) {
        struct zp_json *c = zp_json_push_obj(pl);
        zp_json_set_str(c, "id", plan->cells[i].id);
        zp_json_set_str(c, "cell", plan->cells[i].desc);
    }
    zp_json_set_num(root, "cells_total", (double)plan->n);
    zp_json_set_num(root, "cells_done", (double)done);
    zp_json_set_num(root, "cells_failed", (double)failed);
}

int zp_run_folder(const struct zp_config *cfg, const struct zp_run_opts *o, char *out, size_t n)
{
    return o->out ? snprintf(out, n, "%s", o->out) : snprintf(out, n, "results/%s", cfg->name);
}

/* A QAT cell with bias_correction on model mi: its checkpoint must allow the
 * bias-corrected start (train/qat.h), checked here before any cell writes. Sets
 * err (a config error naming the entry) when it does not. */
static void qat_bias_start_check(const struct zp_config *cfg, const struct zp_plan *plan,
                                 size_t mi, struct zp_err *err)
{
    for (size_t i = 0; i < plan->n; i++) {
        const struct zp_cell *c = &plan->cells[i];
        const struct zp_variant *v = c->kind == ZP_CELL_MODEL ? &cfg->variants[c->variant] : NULL;
        if (!v || c->source != mi || c->mode != ZP_MODE_QAT || !v->bias_correction)
            continue;
        if (zp_qat_check_bias_start(cfg->models[mi].checkpoint, err)) {
            zp_err_prefix(err, "%s: schemes[%d] (variant '%s'), model '%s'", cfg->path, v->entry,
                          v->label, cfg->models[mi].name);
            err->status = ZP_ECONFIG;
        }
        return; /* every QAT cell of the model reads the same checkpoint */
    }
}

/* Loads every model of the plan with its datasets (and the QAT training set when
 * the model has QAT cells), so that a bad input fails the run before its folder
 * exists. The first model stays loaded in *first for the run; the others are
 * loaded again when their cells come (one model in memory at a time). */
static enum zp_status preflight(const struct zp_config *cfg, const struct zp_plan *plan,
                                const struct zp_run_opts *o, struct zp_model_ctx **first,
                                struct zp_err *err)
{
    *first = NULL;
    for (size_t mi = 0; mi < cfg->n_models; mi++) {
        int used = 0, qat = 0;
        for (size_t i = 0; i < plan->n; i++) {
            const struct zp_cell *c = &plan->cells[i];
            if (o->shard_n > 1 && (int)(i % (size_t)o->shard_n) != o->shard_i)
                continue;
            if ((c->kind == ZP_CELL_MODEL || c->kind == ZP_CELL_HIST) && c->source == mi) {
                used = 1;
                qat |= c->kind == ZP_CELL_MODEL && c->mode == ZP_MODE_QAT;
            }
        }
        if (!used)
            continue;
        struct zp_model_ctx *m;
        struct zp_progress notes; /* the "loading ..." lines; the bar starts later */
        zp_progress_init(&notes, 0, o->quiet);
        if (zp_model_ctx_load(cfg, mi, o, qat, &notes, &m, err))
            break;
        /* quantize_attention needs a MatMul of two activations in the model,
         * quantize_embedding a lookup table */
        const struct zp_graph *g = zp_model_ctx_graph(m);
        for (size_t i = 0; i < plan->n && !err->status; i++) {
            const struct zp_cell *c = &plan->cells[i];
            const struct zp_variant *v = c->kind == ZP_CELL_MODEL ? &cfg->variants[c->variant] : NULL;
            if (!v || c->source != mi)
                continue;
            if (v->quant_attention && zp_graph_num_act_matmuls(g) == 0 &&
                (c->mode == ZP_MODE_ACTIVATIONS || c->mode == ZP_MODE_BOTH))
                zp_err_set(err, ZP_ECONFIG, "%s: schemes[%d] (variant '%s'): quantize_attention, but model "
                           "'%s' has no MatMul of two activations (attention)", cfg->path, v->entry,
                           v->label, cfg->models[mi].name);
            else if (v->quant_embedding && zp_graph_num_tables(g) == 0 && c->mode != ZP_MODE_ACTIVATIONS)
                zp_err_set(err, ZP_ECONFIG, "%s: schemes[%d] (variant '%s'): quantize_embedding, but model "
                           "'%s' has no lookup table (Gather)", cfg->path, v->entry, v->label,
                           cfg->models[mi].name);
        }
        if (!err->status)
            qat_bias_start_check(cfg, plan, mi, err);
        if (err->status) {
            zp_model_ctx_free(m);
            break;
        }
        if (!*first)
            *first = m;
        else
            zp_model_ctx_free(m);
    }
    /* The models of the tensor experiments (tensors.models) are read per cell. */
    for (size_t wi = 0; wi < cfg->n_weight_models && !err->status; wi++) {
        struct zp_graph *g = NULL;
        if (zp_onnx_load(cfg->weight_models[wi], &g, err) == ZP_OK)
            zp_graph_free(g);
        else
            zp_err_prefix(err, "tensors.models[%zu]", wi);
    }
    if (err->status) {
        zp_model_ctx_free(*first);
        *first = NULL;
        return err->status;
    }
    return ZP_OK;
}

enum zp_status zp_run(const struct zp_config *cfg, const struct zp_run_opts *o, struct zp_err *err)
{
    double t0 = zp_now();
    char start[32];
    zp_iso_time(start);
    if (o->threads > 0)
        omp_set_num_threads(o->threads);

    char dir[1024];
    int dl = zp_run_folder(cfg, o, dir, sizeof dir);
    if (dl < 0 || (size_t)dl >= sizeof dir) /* never cut silently */
        return zp_err_set(err, ZP_ECONFIG, "--out %.60s...: path of %d bytes, the limit is %zu", dir, dl,
                          sizeof dir - 1);

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
    /* The plan's size before any work (a sweep's size is easy to misjudge). */
    if (!o->quiet)
        fprintf(stderr, "plan: %zu cells\n", plan.n);
    if (plan.n > ZP_PLAN_MAX_CELLS && !o->yes) {
        zp_err_set(err, ZP_ECONFIG,
                   "%s: the plan has %zu cells, more than %d: check the config's lists, or pass --yes to "
                   "run it anyway (docs/sweeps.md)",
                   cfg->path, plan.n, ZP_PLAN_MAX_CELLS);
        zp_plan_free(&plan);
        return err->status;
    }
    /* Every input is opened and checked before anything is written: a run that
     * fails on a model or dataset leaves --out exactly as it was. */
    struct zp_model_ctx *m = NULL;
    if (preflight(cfg, &plan, o, &m, err)) {
        zp_plan_free(&plan);
        return err->status;
    }
    /* Input fingerprints before the folder is touched: an unreadable input leaves it as it was. */
    struct zp_inputs inputs = {0};
    if (zp_inputs_from_config(&inputs, cfg, err)) {
        zp_inputs_free(&inputs);
        zp_model_ctx_free(m);
        zp_plan_free(&plan);
        return err->status;
    }
    struct zp_run_dir rd;
    const char **ids = malloc((plan.n + 1) * sizeof *ids);
    if (!ids || zp_run_dir_open(&rd, dir, o->resume, o->force, fingerprint, err)) {
        if (!ids)
            zp_err_set(err, ZP_ENOMEM, "out of memory");
        free(ids);
        zp_inputs_free(&inputs);
        zp_model_ctx_free(m);
        zp_plan_free(&plan);
        return err->status;
    }
    for (size_t i = 0; i < plan.n; i++)
        ids[i] = plan.cells[i].id;
    if (zp_run_dir_inputs(&rd, &inputs, err) || zp_run_dir_plan(&rd, ids, plan.n, err)) {
        zp_run_dir_close(&rd);
        free(ids);
        zp_inputs_free(&inputs);
        zp_model_ctx_free(m);
        zp_plan_free(&plan);
        return err->status;
    }
    zp_inputs_free(&inputs);
    size_t mine = 0, skipped = 0;
    for (size_t i = 0; i < plan.n; i++) {
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
    /* ETA classes: cells of one kind and mode cost about the same */
    int *classes = malloc((plan.n + 1) * sizeof *classes);
    long n_classes = 0;
    for (size_t i = 0; classes && i < plan.n; i++) {
        const struct zp_cell *c = &plan.cells[i];
        if ((o->shard_n > 1 && (int)(i % (size_t)o->shard_n) != o->shard_i) || zp_cell_done(&rd, c->id))
            continue;
        classes[n_classes++] = (int)c->kind * 4 + (c->kind == ZP_CELL_MODEL ? (int)c->mode : 0);
    }
    zp_progress_plan(&prog, classes, n_classes);
    free(classes);
    struct zp_run_json rj;
    struct zp_json *models = NULL;
    enum zp_status st_rj = zp_run_json_init(&rj, dir, "run", cfg->path, cfg->raw, err);
    if (st_rj == ZP_OK) {
        rj.t0 = zp_run_json_now() - (zp_now() - t0);
        zp_json_set_str(rj.root, "start_time", start);
        models = zp_json_arr(rj.root, "models");
    }
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
        if (cell->kind == ZP_CELL_MODEL || cell->kind == ZP_CELL_HIST) {
            double tl = zp_now();
            st = zp_model_ctx_get(cfg, cell->source, o, &prog, &m, err);
            if (loaded_model != (long)cell->source && st == ZP_OK) {
                loaded_model = (long)cell->source;
                zp_run_json_phase_add(&rj, "load_and_float_pass", zp_now() - tl);
                zp_progress_exclude(&prog, zp_now() - tl);
                struct zp_json *mo = zp_json_push_obj(models);
                if (mo)
                    zp_model_ctx_describe(m, mo);
            }
        }
        if (st == ZP_OK) {
            switch (cell->kind) {
            case ZP_CELL_SYNTH:
            case ZP_CELL_WEIGHTS:
                st = zp_tensor_cell(cfg, cell, &out, err);
                zp_run_json_phase_add(&rj, "tensor_cells", zp_now() - tc);
                break;
            case ZP_CELL_HIST:
                st = zp_hist_cell(cfg, cell, m, &out, err);
                break;
            case ZP_CELL_MODEL:
                tc = zp_now();
                st = zp_model_cell(cfg, cell, m, &prog, &out, dir, err);
                zp_run_json_phase_add(&rj, "model_cells", zp_now() - tc);
                break;
            }
        }
        for (int t = 0; t < ZP_N_TABLES && st == ZP_OK; t++)
            st = zp_csv_check(&out.rows[t], err);
        if (st == ZP_OK) {
            const char *rows[ZP_N_TABLES];
            for (int t = 0; t < ZP_N_TABLES; t++)
                rows[t] = out.rows[t].text.s;
            /* the rows are appended to the CSVs by the commit (store/cells.c) */
            st = zp_cell_commit(&rd, cell->id, rows, err);
            if (st == ZP_OK) {
                done++;
                zp_progress_advance(&prog);
            } else {
                failed++;
            }
        } else {
            failed++;
            zp_err_prefix(err, "cell %s (%s)", cell->id, cell->desc);
        }
        out_free(&out);
    }
    zp_model_ctx_free(m);
    if (st == ZP_OK && stop_requested) {
        st = zp_err_set(err, ZP_EINTERRUPTED,
                        "interrupted by signal %d after %zu of %zu cells; finished cells are kept: "
                        "rerun with --resume",
                        (int)stop_requested, done, mine);
    }
    zp_progress_end(&prog);

    struct zp_err e2 = {0};
    enum zp_status st2 = zp_run_assemble(&rd, ids, plan.n, &e2);
    /* summary.csv from the prediction files of every finished cell (docs/statistics.md) */
    if (st2 == ZP_OK) {
        double ts = zp_now();
        st2 = zp_summary_write(dir, &e2);
        zp_run_json_phase_add(&rj, "summary", zp_now() - ts);
    }
    if (st2 == ZP_OK && st_rj != ZP_OK)
        st2 = zp_err_set(&e2, st_rj, "run.json: %s", err->msg);
    if (st2 == ZP_OK) {
        run_json_fill(&rj, cfg, o, &plan, fingerprint, done, failed);
        st2 = zp_run_json_write(&rj, &e2);
    }
    /* Figures are the caller's (o->figures, plots/ in `harness run`): this layer
     * does not depend on the figure layer. A figure that cannot be drawn is a
     * warning, never a failed run; run.json is written again so that the figures'
     * phase is recorded too. */
    if (st2 == ZP_OK && st == ZP_OK && !o->no_plots && o->figures) {
        double tp = zp_now();
        struct zp_err ef = {0};
        if (o->figures(dir, &ef) != ZP_OK)
            zp_progress_warn(&prog, "figures: %s", ef.msg);
        zp_run_json_phase_add(&rj, "plots", zp_now() - tp);
        st2 = zp_run_json_write(&rj, &e2);
        if (st2 == ZP_OK && stop_requested) /* a signal while the figures were drawn */
            st = zp_err_set(err, ZP_EINTERRUPTED,
                            "interrupted by signal %d while drawing the figures; every cell is kept: "
                            "'harness plot %s' draws them again",
                            (int)stop_requested, dir);
    }
    if (st == ZP_OK && st2 != ZP_OK) {
        *err = e2;
        st = st2;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    zp_run_json_free(&rj);
    zp_run_dir_close(&rd);
    free(ids);
    zp_plan_free(&plan);
    return st;
}
