/* Model cells: one variant x mode x calibration setting evaluated on the whole
 * eval set against the float run; the accuracy.csv and layers.csv rows; QAT cells
 * (fine-tuned by train/qat.c, then evaluated like the PTQ cells). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calib/bias_correction.h"
#include "calib/calib.h"
#include "common/mem.h"
#include "common/path.h"
#include "common/round.h"
#include "store/npy_out.h"
#include "common/rng.h"
#include "experiment/act_blocks.h"
#include "experiment/metrics.h"
#include "experiment/model_ctx.h"
#include "experiment/runner.h"
#include "store/predictions.h"
#include "model/graph.h"
#include "schemes/granularity.h"
#include "train/qat.h"

/* The columns that say which cell a row belongs to; accuracy.csv and layers.csv
 * share them (model, dataset, scheme, label, bits, granularity, mode, calibration). */
static const int acc_id_cols[8] = {ZP_ACC_MODEL, ZP_ACC_DATASET, ZP_ACC_SCHEME, ZP_ACC_LABEL,
                                   ZP_ACC_BITS, ZP_ACC_GRANULARITY, ZP_ACC_MODE, ZP_ACC_CALIBRATION};
static const int lay_id_cols[8] = {ZP_LAY_MODEL, ZP_LAY_DATASET, ZP_LAY_SCHEME, ZP_LAY_LABEL,
                                   ZP_LAY_BITS, ZP_LAY_GRANULARITY, ZP_LAY_MODE, ZP_LAY_CALIBRATION};

static void variant_cols(struct zp_csv *r, const int col[8], const struct zp_model_ctx *m,
                         const struct zp_variant *v, const struct zp_cell *cell)
{
    zp_csv_set_str(r, col[0], m->mc->name);
    zp_csv_set_str(r, col[1], m->mc->eval.name);
    zp_csv_set_str(r, col[2], v->w.scheme->name);
    zp_csv_set_str(r, col[3], v->label);
    zp_csv_set_int(r, col[4], v->w.bits);
    zp_csv_set_str(r, col[5], zp_granularity_name(v->w.granularity));
    zp_csv_set_str(r, col[6], zp_mode_name(cell->mode));
    zp_csv_set_str(r, col[7], cell->calib >= 0                           ? m->mc->calib[cell->calib].method
                              : cell->mode == ZP_MODE_QAT && v->qat_acts ? "qat-ema"
                                                                         : "none");
}

void mx_lm_cols(struct zp_csv *r, const struct zp_lm_metrics *lm)
{
    zp_csv_set_num(r, ZP_ACC_NLL, lm ? lm->nll : NAN);
    zp_csv_set_num(r, ZP_ACC_PPL, lm ? lm->ppl : NAN);
    zp_csv_set_num(r, ZP_ACC_FLOAT_NLL, lm ? lm->float_nll : NAN);
    zp_csv_set_num(r, ZP_ACC_KLD_MEAN, lm ? lm->kld_mean : NAN);
    zp_csv_set_num(r, ZP_ACC_KLD_P99, lm ? lm->kld_p99 : NAN);
    zp_csv_set_num(r, ZP_ACC_KLD_MAX, lm ? lm->kld_max : NAN);
    zp_csv_set_num(r, ZP_ACC_TOP1_AGREEMENT, lm ? lm->top1_agreement : NAN);
    zp_csv_set_num(r, ZP_ACC_MEAN_ABS_DP, lm ? lm->mean_abs_dp : NAN);
}

void mx_accuracy_row(struct zp_csv *r, const struct zp_model_ctx *m, const struct zp_variant *v,
                     const struct zp_cell *cell, int quant_a, const struct zp_model_metrics *mm,
                     const struct zp_wcost *wc, double select_top1, const struct mx_int_cols *ic,
                     const struct zp_lm_metrics *lm)
{
    variant_cols(r, acc_id_cols, m, v, cell);
    if (cell->calib >= 0)
        zp_csv_set_int(r, ZP_ACC_CALIB_SIZE, m->calib_used[cell->calib]);
    else
        zp_csv_set_empty(r, ZP_ACC_CALIB_SIZE);
    zp_csv_set_bool(r, ZP_ACC_NUDGE_ZERO, zp_variant_nudge(&v->w));
    zp_csv_set_bool(r, ZP_ACC_NARROW_RANGE, zp_variant_narrow(&v->w));
    zp_csv_set_bool(r, ZP_ACC_BIAS_CORRECTION, v->bias_correction);
    if (quant_a) {
        zp_csv_set_str(r, ZP_ACC_ACT_SCHEME, v->a.scheme->name);
        zp_csv_set_int(r, ZP_ACC_ACT_BITS, v->a.bits);
        zp_csv_set_bool(r, ZP_ACC_ACT_NUDGE_ZERO, zp_variant_nudge(&v->a));
        zp_csv_set_bool(r, ZP_ACC_ACT_NARROW_RANGE, zp_variant_narrow(&v->a));
        zp_csv_set_str(r, ZP_ACC_ACT_OPTIONS, v->act_options);
    } else {
        zp_csv_set_empty(r, ZP_ACC_ACT_SCHEME);
        zp_csv_set_empty(r, ZP_ACC_ACT_BITS);
        zp_csv_set_empty(r, ZP_ACC_ACT_NUDGE_ZERO);
        zp_csv_set_empty(r, ZP_ACC_ACT_NARROW_RANGE);
        zp_csv_set_empty(r, ZP_ACC_ACT_OPTIONS);
    }
    zp_csv_set_str(r, ZP_ACC_OPTIONS, v->options);
    zp_csv_set_int(r, ZP_ACC_N_EVAL, m->lm_t ? m->n_eval : mm->n); /* LM: windows (mm->n counts tokens) */
    zp_csv_set_num(r, ZP_ACC_FLOAT_TOP1, m->float_top1);
    zp_csv_set_num(r, ZP_ACC_TOP1, mm->top1);
    zp_csv_set_num(r, ZP_ACC_TOP5, mm->top5);
    zp_csv_set_num(r, ZP_ACC_DROP, (m->float_top1 - mm->top1) * 100.0);
    zp_csv_set_num(r, ZP_ACC_AGREEMENT, mm->agreement);
    zp_csv_set_num(r, ZP_ACC_KL, mm->kl);
    zp_csv_set_num(r, ZP_ACC_LOGIT_SQNR_DB, mm->logit_sqnr_db);
    zp_csv_set_str(r, ZP_ACC_BIAS,
                   v->bias_int32 && quant_a && cell->mode != ZP_MODE_WEIGHTS ? "int32" : "float");
    zp_csv_set_str(r, ZP_ACC_WEIGHT_CALIBRATION, v->weight_calib[0] ? v->weight_calib : "minmax");
    /* the rounding runs where the weights are quantized after training */
    int rounded = cell->mode == ZP_MODE_WEIGHTS || cell->mode == ZP_MODE_BOTH ||
                  cell->mode == ZP_MODE_INTEGER;
    zp_csv_set_str(r, ZP_ACC_ROUNDING, rounded ? zp_rounding_name(v->rounding) : "");
    /* float weights (mode activations) cost 32 bits and cannot clip */
    zp_csv_set_num(r, ZP_ACC_BITS_PER_WEIGHT, wc->n > 0 ? zp_wcost_bits(wc) : 32.0);
    zp_csv_set_num(r, ZP_ACC_CLIP_SHARE, zp_wcost_clip_share(wc));
    zp_csv_set_num(r, ZP_ACC_FLOAT_TOP5, m->float_top5);
    zp_csv_set_int(r, ZP_ACC_REPLICATE, m->rep);
    zp_csv_set_num(r, ZP_ACC_SELECT_TOP1, select_top1); /* NaN (empty): no select split */
    /* integer cells only (NaN: empty) */
    zp_csv_set_num(r, ZP_ACC_VS_FAKEQUANT_AGREEMENT, ic ? ic->vs_fq_agreement : NAN);
    zp_csv_set_num(r, ZP_ACC_VS_FAKEQUANT_LOGIT_SQNR_DB, ic ? ic->vs_fq_sqnr_db : NAN);
    zp_csv_set_num(r, ZP_ACC_IMAGES_PER_S, ic ? ic->images_per_s : NAN);
    zp_csv_set_num(r, ZP_ACC_SPEEDUP_VS_FLOAT, ic ? ic->speedup_vs_float : NAN);
    zp_variant_qat_cols(r, cell->mode == ZP_MODE_QAT ? v : NULL);
    zp_csv_set_bool(r, ZP_ACC_EQUALIZE, v->equalize);
    zp_csv_set_bool(r, ZP_ACC_BIAS_ABSORPTION, v->bias_absorption);
    mx_lm_cols(r, lm);
    zp_csv_set_bool(r, ZP_ACC_QUANTIZE_ATTENTION, quant_a ? v->quant_attention : -1);
    zp_csv_set_bool(r, ZP_ACC_QUANTIZE_EMBEDDING, cell->mode != ZP_MODE_ACTIVATIONS ? v->quant_embedding : -1);
    zp_csv_end_row(r);
}

/* qparams.csv rows of one tensor's slices: scale, offset, zero point, code range,
 * and a codebook's levels (ascending, ';'-joined; binary's are -alpha;alpha). */
static void qparam_rows(struct zp_csv *r, const struct zp_cell *cell, const struct zp_model_ctx *m,
                        const struct zp_variant *v, int l, const char *tensor, const struct zp_qparams *p,
                        size_t n)
{
    for (size_t i = 0; i < n; i++) {
        zp_csv_set_str(r, ZP_QP_CELL, cell->id);
        zp_csv_set_str(r, ZP_QP_MODEL, m->mc->name);
        zp_csv_set_str(r, ZP_QP_LABEL, v->label);
        zp_csv_set_str(r, ZP_QP_MODE, zp_mode_name(cell->mode));
        zp_csv_set_str(r, ZP_QP_CALIBRATION, cell->calib >= 0 ? m->mc->calib[cell->calib].method : "none");
        zp_csv_set_int(r, ZP_QP_LAYER_INDEX, l);
        zp_csv_set_str(r, ZP_QP_LAYER, zp_graph_layer(m->g, l)->name);
        zp_csv_set_str(r, ZP_QP_TENSOR, tensor);
        zp_csv_set_int(r, ZP_QP_SLICE, (long long)i);
        zp_csv_set_num(r, ZP_QP_SCALE, p[i].scale);
        zp_csv_set_num(r, ZP_QP_OFFSET, p[i].offset);
        zp_csv_set_int(r, ZP_QP_ZERO_POINT, p[i].zero_point);
        zp_csv_set_int(r, ZP_QP_QMIN, p[i].qmin);
        zp_csv_set_int(r, ZP_QP_QMAX, p[i].qmax);
        char lv[ZP_MAX_LEVELS * 18 + 1] = "";
        size_t len = 0;
        for (int k = 0; k < p[i].n_levels && len + 18 < sizeof lv; k++)
            len += (size_t)snprintf(lv + len, sizeof lv - len, "%s%.9g", k ? ";" : "", p[i].levels[k]);
        zp_csv_set_str(r, ZP_QP_LEVELS, lv);
        zp_csv_end_row(r);
    }
}

/* Top-1 of the quantized network on the select split (the last n_select examples
 * of the calibration data), or NaN when the model has none. Only "best variant"
 * choices read it (plots/): it never enters a reported accuracy. */
static enum zp_status select_top1(struct qnet *q, struct zp_graph *g, float *logits, double *out,
                                  struct zp_err *err)
{
    struct zp_model_ctx *m = q->m;
    *out = NAN;
    if (m->n_select <= 0)
        return ZP_OK;
    size_t ex = zp_dataset_example_size(&m->calib);
    const float *x0 = m->calib.x + (size_t)m->calib_pool * ex;
    const int32_t *lab = m->calib.labels + m->calib_pool;
    long right = 0;
    int32_t pred[4096];
    for (long b0 = 0; b0 < m->n_select; b0 += m->batch) {
        int bn = (int)(m->n_select - b0 < m->batch ? m->n_select - b0 : m->batch);
        struct zp_run_hooks h;
        mx_qnet_hooks(q, &h, 0);
        if (zp_graph_run(g, x0 + (size_t)b0 * ex, bn, logits, &h, err)) {
            zp_err_prefix(err, "select split");
            return err->status;
        }
        zp_argmax_rows(logits, bn, m->classes, pred);
        for (int i = 0; i < bn; i++)
            right += pred[i] == lab[b0 + i];
    }
    *out = (double)right / (double)m->n_select;
    return ZP_OK;
}

/* save_logits (QAT and PTQ cells alike): every batch's logits are kept, then
 * written as one .npy, logits/<cell id>[-r<replicate>].npy. *all stays NULL when
 * the config does not ask for them, and the other two calls do nothing then. */
static enum zp_status logits_begin(const struct zp_config *cfg, const struct zp_model_ctx *m, float **all,
                                   struct zp_err *err)
{
    *all = NULL;
    if (cfg->save_logits && !(*all = zp_alloc((size_t)m->n_eval * (size_t)m->classes * sizeof(float))))
        return zp_err_set(err, ZP_ENOMEM, "save_logits: out of memory");
    return ZP_OK;
}

static void logits_keep(float *all, const struct zp_model_ctx *m, long b0, int bn, const float *logits)
{
    if (all)
        memcpy(all + (size_t)b0 * (size_t)m->classes, logits, (size_t)bn * (size_t)m->classes * sizeof(float));
}

static enum zp_status logits_write(const char *run_dir, const struct zp_cell *cell, const struct zp_model_ctx *m,
                                   const float *all, struct zp_err *err)
{
    if (!all)
        return ZP_OK;
    char dir[1200], path[1400];
    snprintf(dir, sizeof dir, "%s/logits", run_dir);
    if (m->rep) /* one file per replicate */
        snprintf(path, sizeof path, "%s/%s-r%d.npy", dir, cell->id, m->rep);
    else
        snprintf(path, sizeof path, "%s/%s.npy", dir, cell->id);
    if (zp_mkdir_p(dir, err))
        return err->status;
    return zp_npy_write_f32(path, all, m->n_eval, m->classes, err);
}

/* A file name from a model name or a variant label: characters other than letters, digits, - _ . become _. */
static void safe_name(const char *in, char *out, size_t n)
{
    size_t j = 0;
    for (; in[j] && j + 1 < n; j++) {
        char ch = in[j];
        int ok = ((ch | 32) >= 'a' && (ch | 32) <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
                 ch == '.';
        out[j] = ok ? ch : '_';
    }
    out[j] = '\0';
}

/* The starting biases of a QAT cell with bias_correction: those of the variant's
 * weights-only PTQ cell after empirical bias correction (experiment/qnet.c), one
 * array per layer into *out (freed by free_biases). */
static void free_biases(float **b, int n)
{
    for (int l = 0; b && l < n; l++)
        zp_free(b[l]);
    free(b);
}

static enum zp_status qat_start_biases(struct zp_model_ctx *m, const struct zp_variant *v,
                                       struct zp_progress *prog, float ***out,
                                       struct zp_err *err)
{
    struct qnet q;
    memset(&q, 0, sizeof q);
    const int n = m->n_layers;
    float **b = calloc((size_t)n, sizeof *b);
    enum zp_status st = b ? mx_qnet_build(&q, m, v, 1, 0, -1, prog, err)
                          : zp_err_set(err, ZP_ENOMEM, "out of memory");
    if (!st)
        st = mx_alloc_float_out(&q, err);
    if (!st)
        st = mx_bias_correct(&q, prog, err);
    for (int l = 0; l < n && !st; l++) {
        const int64_t c = zp_graph_layer(m->g, l)->n_out;
        if (!q.biases[l])
            continue;
        if (!(b[l] = zp_alloc((size_t)c * sizeof(float))))
            st = zp_err_set(err, ZP_ENOMEM, "out of memory");
        else
            memcpy(b[l], q.biases[l], (size_t)c * sizeof(float));
    }
    if (q.weights)
        mx_qnet_free(&q);
    if (st) {
        free_biases(b, n);
        b = NULL;
    }
    *out = b;
    return st;
}

/* Fake-quantization training: fine-tune the float checkpoint with the variant's
 * quantizers (train/qat.h), then evaluate the result exactly as a PTQ cell would
 * (weights re-quantized with the scheme, layer inputs with the ranges QAT
 * learned), against the original float model's logits. No layers.csv rows: the
 * fine-tuned layers are no longer the float model's. */
static enum zp_status qat_cell(const struct zp_config *cfg, const struct zp_cell *cell,
                               struct zp_model_ctx *m, struct zp_progress *prog,
                               struct zp_cell_out *out, const char *run_dir, int32_t *pred,
                               struct zp_err *err)
{
    const struct zp_variant *v = &cfg->variants[cell->variant];
    if (v->qat_acts && zp_act_blocks_on(&v->a)) /* train/qat.c quantizes them per tensor */
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "QAT fake-quantizes activations per tensor: block activations of '%s' "
                          "need \"activations\": {..., \"granularity\": \"per-tensor\"} or "
                          "\"qat\": {\"activations\": false}",
                          v->a.scheme->name);
    if (zp_model_ctx_load_train(m, prog, err))
        return err->status;
    /* models/<label>.onnx: the label says what the model is; with several models
     * in the run the model's name comes first, replicates add -r<k> */
    char dir[1200], path[1700], label[sizeof v->label], model[ZP_NAME_MAX];
    safe_name(v->label, label, sizeof label);
    safe_name(m->mc->name, model, sizeof model);
    snprintf(dir, sizeof dir, "%s/models", run_dir);
    if (zp_mkdir_p(dir, err))
        return err->status;
    char rep[16] = "";
    if (m->rep)
        snprintf(rep, sizeof rep, "-r%d", m->rep);
    if (cfg->n_models > 1)
        snprintf(path, sizeof path, "%s/%s-%s%s.onnx", dir, model, label, rep);
    else
        snprintf(path, sizeof path, "%s/%s%s.onnx", dir, label, rep);
    struct zp_qat_options o = {
        .checkpoint = m->mc->checkpoint, .output = path, .epochs = v->qat_epochs,
        .batch = v->qat_batch, .lr = v->qat_lr, .momentum = 0.9, .weight_decay = 5e-5,
        .seed = cfg->seed + (uint64_t)m->rep, .bn_freeze_steps = v->qat_bn_freeze, .act_ema = 0.01,
        .weights = &v->w, .acts = v->qat_acts ? &v->a : NULL, .train = &m->train,
        .eval = &m->eval, .quiet = prog->quiet,
        .loss = v->qat_distill ? ZP_QAT_LOSS_DISTILL : ZP_QAT_LOSS_XENT,
        .temperature = v->qat_temperature, .alpha = v->qat_alpha, .hflip = v->qat_hflip,
        .optimizer = v->qat_adam ? ZP_OPT_ADAM : ZP_OPT_SGD};
    float **start_b = NULL;
    if (v->bias_correction) {
        zp_progress_note(prog, "QAT: %s starts from the bias-corrected PTQ biases", v->label);
        if (qat_start_biases(m, v, prog, &start_b, err))
            return err->status;
        o.init_bias = (const float *const *)start_b;
        o.n_init_bias = m->n_layers;
    }
    struct zp_qat_result *res = calloc(1, sizeof *res);
    if (!res) {
        free_biases(start_b, m->n_layers);
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    }
    zp_progress_note(prog, "QAT: %s, %d epochs from %s (%s)", v->label, o.epochs, o.checkpoint,
                     v->qat_distill ? "distillation" : "cross-entropy");
    enum zp_status st = zp_qat_finetune(&o, res, err);
    free_biases(start_b, m->n_layers);
    struct zp_model_ctx mq = *m; /* the fine-tuned graph, sharing m's datasets */
    mq.g = NULL;
    mq.base_w = NULL;
    mq.n_cal = 0;
    if (!st)
        st = zp_onnx_load(res->onnx_path, &mq.g, err);
    if (!st && zp_graph_num_layers(mq.g) != m->n_layers)
        st = zp_err_set(err, ZP_EINVAL, "%s: %d layers, the float model has %d", res->onnx_path,
                        zp_graph_num_layers(mq.g), m->n_layers);
    struct qnet q;
    memset(&q, 0, sizeof q);
    q.m = &mq;
    if (!st)
        st = mx_qnet_build(&q, &mq, v, 1, 0, -1, prog, err);
    if (!st && v->qat_acts) {
        q.quant_act = 1;
        for (int l = 0; l < m->n_layers && !st; l++) {
            const struct zp_scheme_config *c = &v->a;
            q.act_cfg[l] = c;
            q.act_lo[l] = res->act_lo[l];
            q.act_hi[l] = res->act_hi[l];
            if (!c->scheme->fit_range) {
                st = zp_err_set(err, ZP_EUNSUPPORTED,
                                "QAT activations with '%s' (a codebook scheme) need a range-based "
                                "activation quantizer: set \"activations\"",
                                c->scheme->name);
                break;
            }
            st = c->scheme->fit_range(c, res->act_lo[l], res->act_hi[l], &q.act[l], err);
            double x0, lsb;
            if (!st) {
                zp_zero_decode(c, &q.act[l], &x0, &lsb);
                q.pad[l] = (float)x0;
            }
        }
    }
    float *logits = zp_alloc((size_t)m->batch * (size_t)m->classes * sizeof(float));
    if (!st && !logits)
        st = zp_err_set(err, ZP_ENOMEM, "out of memory");
    float *all = NULL;
    if (!st)
        st = logits_begin(cfg, m, &all, err);
    struct zp_model_acc acc = {0};
    size_t ex = zp_dataset_example_size(&m->eval);
    for (long b0 = 0; b0 < m->n_eval && !st; b0 += m->batch) {
        int bn = (int)(m->n_eval - b0 < m->batch ? m->n_eval - b0 : m->batch);
        struct zp_run_hooks h;
        mx_qnet_hooks(&q, &h, 0);
        st = zp_graph_run(mq.g, m->eval.x + (size_t)b0 * ex, bn, logits, &h, err);
        if (!st) {
            logits_keep(all, m, b0, bn, logits);
            zp_model_acc_add(&acc, m->float_logits + (size_t)b0 * (size_t)m->classes, logits,
                             m->eval.labels + b0, bn, m->classes);
            zp_argmax_rows(logits, bn, m->classes, pred + b0);
        }
    }
    double sel = NAN;
    if (!st)
        st = select_top1(&q, mq.g, logits, &sel, err);
    if (!st) {
        struct zp_model_metrics mm;
        zp_model_acc_finish(&acc, &mm);
        mx_accuracy_row(&out->rows[ZP_TABLE_ACCURACY], m, v, cell, v->qat_acts, &mm, &q.wcost, sel, NULL, NULL);
        zp_progress_note(prog, "QAT %s: top-1 %.4f (float %.4f)", v->label, mm.top1,
                         m->float_top1);
    }
    if (!st)
        st = logits_write(run_dir, cell, m, all, err);
    zp_free(all);
    zp_free(logits);
    if (q.weights)
        mx_qnet_free(&q);
    zp_graph_free(mq.g);
    free(res);
    return st;
}

/* A language model's batch of bn windows: every position one next-token
 * prediction (top1 / top5 / agreement / kl / logit SQNR of accuracy.csv then count
 * tokens, against the targets), and the LM metrics of experiment/lm_metrics.h. */
static enum zp_status lm_batch(const struct zp_model_ctx *m, long b0, int bn, const float *logits,
                               struct zp_model_acc *acc, struct zp_lm_acc *lacc, struct zp_err *err)
{
    int64_t rows = (int64_t)bn * m->lm_t;
    const float *fl = m->float_logits + (size_t)b0 * (size_t)m->classes;
    const int32_t *tg = m->lm_targets + (size_t)b0 * (size_t)m->lm_t;
    zp_model_acc_add(acc, fl, logits, tg, (int)rows, m->lm_vocab);
    if (zp_lm_acc_add(lacc, fl, logits, tg, rows, m->lm_vocab))
        return zp_err_set(err, ZP_ENOMEM, "out of memory for the language-model metrics");
    return ZP_OK;
}

/* One replicate (m->rep) of a PTQ cell: its accuracy.csv and layers.csv rows, and
 * its predicted class per evaluation example into pred[n_eval]. */
static enum zp_status ptq_cell(const struct zp_config *cfg, const struct zp_cell *cell,
                               struct zp_model_ctx *m, struct zp_progress *prog,
                               struct zp_cell_out *out, int32_t *pred, const char *run_dir,
                               struct zp_err *err)
{
    const struct zp_variant *v = &cfg->variants[cell->variant];
    int quant_w = cell->mode == ZP_MODE_WEIGHTS || cell->mode == ZP_MODE_BOTH;
    int quant_a = cell->mode == ZP_MODE_ACTIVATIONS || cell->mode == ZP_MODE_BOTH;
    if (m->lm_t && v->bias_correction) /* calib/bias_correction.c sums channels-first outputs */
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "%s: bias correction of a language model's layers (token rows, channels "
                          "last) is not supported: set \"bias_correction\": \"none\"",
                          v->label);
    struct qnet q;
    memset(&q, 0, sizeof q);
    struct mx_ptq_saved ptq;
    enum zp_status st = mx_ptq_prepare(m, v, cell->calib, prog, &ptq, err);
    if (st)
        return st;
    st = mx_qnet_build(&q, m, v, quant_w, quant_a, cell->calib, prog, err);
    int n = m->n_layers;
    if (!st)
        st = mx_alloc_float_out(&q, err);
    if (!st && v->rounding && quant_w)
        st = mx_ptq_round(&q, prog, err);
    if (!st && v->bias_correction)
        st = mx_bias_correct(&q, prog, err);
    if (!st && v->bias_int32 && quant_w && quant_a)
        mx_round_biases_int32(&q);
    long stats_n = m->mc->layer_stats_samples;
    if (stats_n <= 0 || stats_n > m->n_eval)
        stats_n = m->n_eval;
    int stats = !m->mc->layer_stats_off;
    if (!stats)
        stats_n = 0;
    if (!st && stats) {
        q.lacc = calloc((size_t)n, sizeof *q.lacc);
        if (!q.lacc)
            st = zp_err_set(err, ZP_ENOMEM, "out of memory");
        for (int l = 0; l < n && !st; l++) {
            const struct zp_layer_info *li = zp_graph_layer(m->g, l);
            if (zp_layer_acc_init(&q.lacc[l], mx_out_channels(li)))
                st = zp_err_set(err, ZP_ENOMEM, "out of memory");
        }
    }
    float *logits = zp_alloc((size_t)m->batch * (size_t)m->classes * sizeof(float));
    if (!st && !logits)
        st = zp_err_set(err, ZP_ENOMEM, "out of memory");
    float *all = NULL;
    if (!st)
        st = logits_begin(cfg, m, &all, err);
    struct zp_model_acc acc = {0};
    struct zp_lm_acc lacc = {0};
    size_t ex = zp_dataset_example_size(&m->eval);
    for (long b0 = 0; b0 < m->n_eval && !st; b0 += m->batch) {
        int bn = (int)(m->n_eval - b0 < m->batch ? m->n_eval - b0 : m->batch);
        const float *x = m->eval.x + (size_t)b0 * ex;
        if (b0 < stats_n) {
            st = mx_paired_eval_batch(&q, b0, bn, logits, err);
        } else {
            struct zp_run_hooks h;
            mx_qnet_hooks(&q, &h, 0);
            st = zp_graph_run(m->g, x, bn, logits, &h, err);
        }
        if (st)
            break;
        logits_keep(all, m, b0, bn, logits);
        if (m->lm_t)
            st = lm_batch(m, b0, bn, logits, &acc, &lacc, err);
        else
            zp_model_acc_add(&acc, m->float_logits + (size_t)b0 * (size_t)m->classes, logits,
                             m->eval.labels + b0, bn, m->classes);
        if (st)
            break;
        zp_argmax_rows(logits, bn, m->classes, pred + b0);
        zp_progress_sub(prog, ((double)m->rep + (double)(b0 + bn) / (double)m->n_eval) /
                                  (double)(m->n_rep > 0 ? m->n_rep : 1));
    }
    double sel = NAN;
    if (!st)
        st = select_top1(&q, m->g, logits, &sel, err);
    if (!st) {
        struct zp_model_metrics mm;
        struct zp_lm_metrics lm;
        zp_model_acc_finish(&acc, &mm);
        zp_lm_acc_finish(&lacc, &lm);
        mx_accuracy_row(&out->rows[ZP_TABLE_ACCURACY], m, v, cell, quant_a, &mm, &q.wcost, sel, NULL,
                        m->lm_t ? &lm : NULL);
        if (m->lm_t)
            zp_progress_note(prog, "%s %s: NLL %.5f (float %.5f), KLD mean %.5f p99 %.5f, same top "
                             "token %.4f",
                             v->label, zp_mode_name(cell->mode), lm.nll, lm.float_nll, lm.kld_mean,
                             lm.kld_p99, lm.top1_agreement);
        for (int l = 0; l < n; l++) { /* every quantizer of the cell, slice by slice */
            struct zp_csv *qr = &out->rows[ZP_TABLE_QPARAMS];
            if (quant_w && q.wqp && q.wqp[l].n_slices)
                qparam_rows(qr, cell, m, v, l, "weight", q.wqp[l].slice, q.wqp[l].n_slices);
            if (quant_a && q.act_cfg[l])
                qparam_rows(qr, cell, m, v, l, "input", &q.act[l], 1);
            if (quant_a && q.outq)
                qparam_rows(qr, cell, m, v, l, "output", &q.outq[l], 1);
        }

        struct zp_csv *lr = &out->rows[ZP_TABLE_LAYERS];
        for (int l = 0; l < n && stats; l++) {
            const struct zp_layer_info *li = zp_graph_layer(m->g, l);
            double sq, shift;
            zp_layer_acc_finish(&q.lacc[l], &sq, &shift);
            variant_cols(lr, lay_id_cols, m, v, cell);
            zp_csv_set_bool(lr, ZP_LAY_NUDGE_ZERO, zp_variant_nudge(&v->w));
            zp_csv_set_bool(lr, ZP_LAY_NARROW_RANGE, zp_variant_narrow(&v->w));
            zp_csv_set_bool(lr, ZP_LAY_BIAS_CORRECTION, v->bias_correction);
            zp_csv_set_int(lr, ZP_LAY_LAYER_INDEX, l);
            zp_csv_set_str(lr, ZP_LAY_LAYER, li->name);
            zp_csv_set_str(lr, ZP_LAY_OP, li->depthwise ? "DepthwiseConv" : li->op);
            zp_csv_set_num(lr, ZP_LAY_SQNR_DB, sq);
            zp_csv_set_num(lr, ZP_LAY_MEAN_SHIFT, shift);
            zp_csv_set_num(lr, ZP_LAY_ZERO_FRACTION, m->zf_relu[l] + m->zf_pad[l]);
            zp_csv_set_num(lr, ZP_LAY_ZERO_FRACTION_RELU, m->zf_relu[l]);
            zp_csv_set_num(lr, ZP_LAY_ZERO_FRACTION_PAD, m->zf_pad[l]);
            static const int act_cols[5] = {ZP_LAY_ZERO_ERROR, ZP_LAY_ZERO_ERROR_LSB, ZP_LAY_BIAS_AT_ZERO,
                                            ZP_LAY_ACT_LO, ZP_LAY_ACT_HI};
            if (quant_a && q.act_cfg[l]) { /* (NULL: an override keeps the layer float) */
                double x0, lsb;
                zp_zero_decode(q.act_cfg[l], &q.act[l], &x0, &lsb);
                zp_csv_set_num(lr, ZP_LAY_ZERO_ERROR, fabs(x0));
                zp_csv_set_num(lr, ZP_LAY_ZERO_ERROR_LSB, lsb > 0 ? fabs(x0) / lsb : 0);
                /* every 0.0 of a per-tensor quantized input decodes to x0 */
                zp_csv_set_num(lr, ZP_LAY_BIAS_AT_ZERO, x0);
                zp_csv_set_num(lr, ZP_LAY_ACT_LO, q.act_lo[l]);
                zp_csv_set_num(lr, ZP_LAY_ACT_HI, q.act_hi[l]);
            } else {
                for (int e = 0; e < 5; e++)
                    zp_csv_set_empty(lr, act_cols[e]);
            }
            if (quant_a && q.outq && q.act_cfg[l]) { /* the quantization point at the layer output */
                double x0, lsb;
                zp_zero_decode(q.act_cfg[l], &q.outq[l], &x0, &lsb);
                zp_csv_set_num(lr, ZP_LAY_OUT_ZERO_ERROR, fabs(x0));
                zp_csv_set_num(lr, ZP_LAY_OUT_ZERO_ERROR_LSB, lsb > 0 ? fabs(x0) / lsb : 0);
            } else {
                zp_csv_set_empty(lr, ZP_LAY_OUT_ZERO_ERROR);
                zp_csv_set_empty(lr, ZP_LAY_OUT_ZERO_ERROR_LSB);
            }
            if (cell->calib >= 0)
                zp_csv_set_int(lr, ZP_LAY_CALIB_SIZE, m->calib_used[cell->calib]);
            else
                zp_csv_set_empty(lr, ZP_LAY_CALIB_SIZE);
            zp_csv_set_int(lr, ZP_LAY_REPLICATE, m->rep);
            zp_csv_end_row(lr);
        }
    }
    if (!st)
        st = logits_write(run_dir, cell, m, all, err);
    zp_free(all);
    zp_free(logits);
    zp_lm_acc_free(&lacc);
    mx_qnet_free(&q);
    mx_ptq_restore(m, &ptq);
    return st;
}

/* The variant's settings but granularity and nudge_zero: two cells with the same
 * key differ only on those axes, which is what makes them a declared pair. */
static void variant_key(const struct zp_variant *v, char *out, size_t n)
{
    char opts[256] = "";
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v->options);
    for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save))
        if (strncmp(tok, "nudge_zero=", 11) != 0)
            snprintf(opts + strlen(opts), sizeof opts - strlen(opts), "%s%s", opts[0] ? ";" : "", tok);
    snprintf(out, n, "%s|%d|%s|%s%d|bc%d|b%d|%s|%s%s%s%s%s", v->w.scheme->name, v->w.bits, opts,
             v->a.scheme->name, v->a.bits, v->bias_correction, v->bias_int32, v->weight_calib,
             zp_rounding_name(v->rounding), v->equalize ? "|cle" : "", v->bias_absorption ? "|hba" : "",
             v->quant_attention ? "|attn" : "", v->quant_embedding ? "|emb" : "");
}

/* Replicates (docs/statistics.md): a cell whose result depends on a seed runs
 * cfg->replicates times, replicate r with seeds + r; a deterministic cell runs once
 * (another replicate would repeat it bit for bit) and says so in predictions.csv.
 * Each replicate's predictions go to <run>/predictions/<cell id>.csv, the float
 * run's to predictions/float-<model>.csv, before the cell is committed. */
enum zp_status zp_model_cell(const struct zp_config *cfg, const struct zp_cell *cell,
                             struct zp_model_ctx *m, struct zp_progress *prog,
                             struct zp_cell_out *out, const char *run_dir, struct zp_err *err)
{
    const struct zp_variant *v = &cfg->variants[cell->variant];
    if (m->lm_t && (cell->mode == ZP_MODE_QAT || cell->mode == ZP_MODE_INTEGER))
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "%s: mode %s on a language model (token windows) is not supported: LM "
                          "cells run modes weights, activations and both",
                          m->mc->name, zp_mode_name(cell->mode));
    int random = mx_cell_random(m, v, cell->mode, cell->calib);
    int R = random ? cfg->replicates : 1;
    size_t n = (size_t)m->n_eval;
    int32_t *pred = malloc((size_t)R * n * sizeof *pred);
    const int32_t **rows = malloc((size_t)R * sizeof *rows);
    enum zp_status st = pred && rows ? ZP_OK : zp_err_set(err, ZP_ENOMEM, "out of memory");
    m->n_rep = R;
    if (!st && (v->equalize || v->bias_absorption) && cell->mode != ZP_MODE_WEIGHTS &&
        cell->mode != ZP_MODE_ACTIVATIONS && cell->mode != ZP_MODE_BOTH)
        st = zp_err_set(err, ZP_EUNSUPPORTED,
                        "%s: variant '%s': equalize and bias_absorption work in modes weights, "
                        "activations and both, not %s",
                        m->mc->path, v->label, zp_mode_name(cell->mode));
    for (int r = 0; r < R && !st; r++) {
        m->rep = r;
        rows[r] = pred + (size_t)r * n;
        st = cell->mode == ZP_MODE_QAT       ? qat_cell(cfg, cell, m, prog, out, run_dir, pred + (size_t)r * n, err)
             : cell->mode == ZP_MODE_INTEGER ? mx_integer_cell(cfg, cell, m, prog, out, pred + (size_t)r * n, err)
                                             : ptq_cell(cfg, cell, m, prog, out, pred + (size_t)r * n, run_dir, err);
        if (st && R > 1)
            zp_err_prefix(err, "replicate %d", r);
    }
    m->rep = 0;
    m->n_rep = 1;
    if (m->lm_t) { /* per-token predictions have no prediction file format yet (docs/statistics.md) */
        free(pred);
        free(rows);
        return st;
    }
    char dir[1200], path[1500], model[ZP_NAME_MAX], file[80], float_file[ZP_NAME_MAX + 16];
    safe_name(m->mc->name, model, sizeof model);
    snprintf(file, sizeof file, "%s.csv", cell->id);
    snprintf(float_file, sizeof float_file, "float-%s.csv", model);
    snprintf(dir, sizeof dir, "%s/predictions", run_dir);
    if (!st)
        st = zp_mkdir_p(dir, err);
    if (!st) {
        snprintf(path, sizeof path, "%s/%s", dir, float_file);
        const int32_t *fp = m->float_pred;
        st = zp_pred_write(path, m->eval.labels, &fp, 1, n, err);
    }
    if (!st) {
        snprintf(path, sizeof path, "%s/%s", dir, file);
        st = zp_pred_write(path, m->eval.labels, rows, (size_t)R, n, err);
    }
    if (!st) {
        struct zp_csv *p = &out->rows[ZP_TABLE_PREDICTIONS];
        char key[400];
        variant_key(v, key, sizeof key);
        zp_csv_set_str(p, ZP_PRED_CELL, cell->id);
        zp_csv_set_str(p, ZP_PRED_MODEL, m->mc->name);
        zp_csv_set_str(p, ZP_PRED_DATASET, m->mc->eval.name);
        zp_csv_set_str(p, ZP_PRED_SCHEME, v->w.scheme->name);
        zp_csv_set_str(p, ZP_PRED_LABEL, v->label);
        zp_csv_set_int(p, ZP_PRED_BITS, v->w.bits);
        zp_csv_set_str(p, ZP_PRED_GRANULARITY, zp_granularity_name(v->w.granularity));
        zp_csv_set_str(p, ZP_PRED_MODE, zp_mode_name(cell->mode));
        zp_csv_set_str(p, ZP_PRED_CALIBRATION, cell->calib >= 0                           ? m->mc->calib[cell->calib].method
                                               : cell->mode == ZP_MODE_QAT && v->qat_acts ? "qat-ema"
                                                                                          : "none");
        if (cell->calib >= 0)
            zp_csv_set_int(p, ZP_PRED_CALIB_SIZE, m->calib_used[cell->calib]);
        else
            zp_csv_set_empty(p, ZP_PRED_CALIB_SIZE);
        zp_csv_set_bool(p, ZP_PRED_NUDGE_ZERO, zp_variant_nudge(&v->w));
        zp_csv_set_str(p, ZP_PRED_VARIANT_KEY, key);
        zp_csv_set_int(p, ZP_PRED_REPLICATES, R);
        zp_csv_set_bool(p, ZP_PRED_DETERMINISTIC, !random);
        zp_csv_set_str(p, ZP_PRED_FILE, file);
        zp_csv_set_str(p, ZP_PRED_FLOAT_FILE, float_file);
        zp_csv_set_int(p, ZP_PRED_RESAMPLES, cfg->stats.resamples);
        zp_csv_set_num(p, ZP_PRED_LEVEL, cfg->stats.level);
        zp_csv_set_int(p, ZP_PRED_STATS_SEED, (long long)cfg->stats.seed);
        zp_csv_set_str(p, ZP_PRED_PAIRS, cfg->stats.pairs_auto ? "auto" : "none");
        zp_csv_end_row(p);
    }
    free(pred);
    free(rows);
    return st;
}
