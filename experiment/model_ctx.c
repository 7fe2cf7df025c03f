/* The model context of a run: a model loaded once with its datasets (pruned
 * weights when the config says so) and run once in float; the float logits and
 * the per-layer zero statistics are kept for every cell. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


#include "calib/bias_correction.h"
#include "calib/calib.h"
#include "common/mem.h"
#include "common/round.h"
#include "common/rng.h"
#include "experiment/metrics.h"
#include "experiment/model_ctx.h"
#include "experiment/runner.h"
#include "model/graph.h"
#include "schemes/granularity.h"
#include "store/run_json.h"
#include "train/qat.h"

/* The float weights every run starts from (pruned when the config says so). */
const float *mx_base_weight(const struct zp_model_ctx *m, int l)
{
    return m->base_w && m->base_w[l] ? m->base_w[l] : zp_graph_layer(m->g, l)->weight;
}

const float *mx_base_bias(const struct zp_model_ctx *m, int l)
{
    return m->base_b && m->base_b[l] ? m->base_b[l] : zp_graph_layer(m->g, l)->bias;
}

size_t mx_weight_count(const struct zp_layer_info *li)
{
    size_t wn = 1;
    for (int d = 0; d < li->wndim; d++)
        wn *= (size_t)li->wshape[d];
    return wn;
}

static int cmp_abs(const void *a, const void *b)
{
    float x = fabsf(*(const float *)a), y = fabsf(*(const float *)b);
    return (x > y) - (x < y);
}

/* Magnitude pruning (Deep Compression): the share `prune` of each layer's weights
 * with the smallest |w| becomes exactly 0. */
static enum zp_status prune_weights(struct zp_model_ctx *m, struct zp_err *err)
{
    m->base_w = calloc((size_t)m->n_layers, sizeof *m->base_w);
    if (!m->base_w)
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    for (int l = 0; l < m->n_layers; l++) {
        const struct zp_layer_info *li = zp_graph_layer(m->g, l);
        size_t n = mx_weight_count(li), k = (size_t)(m->mc->prune * (double)n);
        float *w = zp_alloc(n * sizeof *w), *sorted = zp_alloc(n * sizeof *w);
        if (!w || !sorted) {
            zp_free(w);
            zp_free(sorted);
            return zp_err_set(err, ZP_ENOMEM, "out of memory");
        }
        memcpy(w, li->weight, n * sizeof *w);
        memcpy(sorted, li->weight, n * sizeof *w);
        qsort(sorted, n, sizeof *sorted, cmp_abs);
        float thr = k ? fabsf(sorted[k - 1]) : -1.0f;
        size_t zeroed = 0;
        for (size_t i = 0; i < n && zeroed < k; i++)
            if (fabsf(w[i]) <= thr) {
                w[i] = 0.0f;
                zeroed++;
            }
        zp_free(sorted);
        m->base_w[l] = w;
    }
    return ZP_OK;
}

size_t mx_in_size(const struct zp_layer_info *li)
{
    size_t n = 1;
    for (int d = 0; d < li->in_ndim; d++)
        n *= (size_t)li->in_shape[d];
    return n;
}

size_t mx_out_size(const struct zp_layer_info *li)
{
    size_t n = 1;
    for (int d = 0; d < li->out_ndim; d++)
        n *= (size_t)li->out_shape[d];
    return n;
}

int mx_channels_last(const struct zp_layer_info *li)
{
    return li->channels_last;
}

int64_t mx_out_channels(const struct zp_layer_info *li)
{
    if (li->out_ndim <= 1)
        return (int64_t)mx_out_size(li);
    return mx_channels_last(li) ? li->out_shape[li->out_ndim - 1] : li->out_shape[0];
}

int64_t mx_out_spatial(const struct zp_layer_info *li)
{
    return (int64_t)(mx_out_size(li) / (size_t)mx_out_channels(li));
}

void zp_model_ctx_free(struct zp_model_ctx *m)
{
    if (!m)
        return;
    zp_graph_free(m->g);
    if (m->train_loaded)
        zp_dataset_free(&m->train);
    zp_dataset_free(&m->eval);
    if (!m->calib_is_eval)
        zp_dataset_free(&m->calib);
    zp_free(m->float_logits);
    zp_free(m->lm_targets);
    free(m->float_pred);
    free(m->zf_relu);
    for (int l = 0; m->ref_out && l < m->n_layers; l++)
        zp_free(m->ref_out[l]);
    free(m->ref_out);
    if (m->base_w)
        for (int l = 0; l < m->n_layers; l++)
            zp_free(m->base_w[l]);
    free(m->base_w);
    free(m->calib_row);
    for (int k = 0; k < m->n_cal; k++) {
        for (int l = 0; l < m->n_layers; l++)
            free(m->cal[k].layers[l].sample);
        free(m->cal[k].layers);
        free(m->cal[k].amm);
    }
    free(m);
}

/* ---- running batches ----------------------------------------------------- */

/* Copies examples idx[0..n) of ds into a contiguous batch. */
void mx_gather(const struct zp_dataset *ds, const uint32_t *idx, int n, float *dst)
{
    size_t ex = zp_dataset_example_size(ds);
    for (int i = 0; i < n; i++)
        memcpy(dst + (size_t)i * ex, ds->x + (size_t)idx[i] * ex, ex * sizeof *dst);
}

/* Zero statistics of each layer input (float pass): a per-image hook of the fast
 * schedule, counting into per-thread rows (integer counts: exact in any order). */
struct zero_obs {
    const struct zp_graph *g;
    int n_layers;
    long long *zeros, *total; /* [thread][layer] */
    float **ref_out;          /* the model context's ref_out, or NULL for this batch */
    long b0;                  /* the batch's first example */
};

/* Keeps one image's layer output (before the activation) for the paired batches. */
static void keep_output(void *ctx, int layer, int image, int thread, const float *y)
{
    struct zero_obs *z = ctx;
    size_t n = mx_out_size(zp_graph_layer(z->g, layer));
    memcpy(z->ref_out[layer] + (size_t)(z->b0 + image) * n, y, n * sizeof *y);
}

/* ref_out for the batches that get statistics (those starting below stats_n, as
 * model_cell.c pairs them), or as many of them as fit in ZP_REF_CACHE_MB; none
 * when nothing fits or memory is short (the paired batches then run the float
 * network themselves: slower, same numbers). */
static void ref_cache_alloc(struct zp_model_ctx *m, long stats_n)
{
    size_t per = 0;
    for (int l = 0; l < m->n_layers; l++)
        per += mx_out_size(zp_graph_layer(m->g, l)) * sizeof(float);
    long want = (stats_n + m->batch - 1) / m->batch * m->batch;
    want = want < m->n_eval ? want : m->n_eval;
    long fit = per ? (long)(((size_t)ZP_REF_CACHE_MB << 20) / per) : 0;
    long n = want < fit ? want : fit / m->batch * m->batch;
    if (n <= 0 || !(m->ref_out = calloc((size_t)m->n_layers, sizeof *m->ref_out)))
        return;
    for (int l = 0; l < m->n_layers; l++)
        if (!(m->ref_out[l] = zp_alloc(mx_out_size(zp_graph_layer(m->g, l)) * (size_t)n *
                                       sizeof(float)))) {
            for (int k = 0; k < l; k++)
                zp_free(m->ref_out[k]);
            free(m->ref_out);
            m->ref_out = NULL;
            return;
        }
    m->n_ref_cached = n;
}

static void observe_zeros(void *ctx, int layer, int image, int thread, const float *x)
{
    struct zero_obs *z = ctx;
    size_t n = mx_in_size(zp_graph_layer(z->g, layer));
    long long c = 0;
    for (size_t i = 0; i < n; i++)
        c += x[i] == 0.0f;
    z->zeros[(size_t)thread * (size_t)z->n_layers + (size_t)layer] += c;
    z->total[(size_t)thread * (size_t)z->n_layers + (size_t)layer] += (long long)n;
}

/* Padding zeros: the share of the padded input grid that is padding. */
static double pad_share(const struct zp_layer_info *li)
{
    if (strcmp(li->op, "Conv") != 0 || li->in_ndim != 3)
        return 0;
    double h = (double)li->in_shape[1], w = (double)li->in_shape[2];
    double ph = h + (double)li->pads[0] + (double)li->pads[2];
    double pw = w + (double)li->pads[1] + (double)li->pads[3];
    return ph * pw > 0 ? 1.0 - (h * w) / (ph * pw) : 0;
}

/* The model and its eval dataset agree: values per example, label range. */
static enum zp_status check_io(struct zp_model_ctx *m, struct zp_err *err)
{
    int64_t ishape[4];
    int nd = zp_graph_input_shape(m->g, ishape);
    size_t ex = zp_dataset_example_size(&m->eval);
    size_t want = 1;
    for (int d = 0; d < nd; d++)
        want *= (size_t)ishape[d];
    if (want != ex)
        return zp_err_set(err, ZP_EINVAL,
                          "%s: the model's input has %zu values per example but dataset '%s' "
                          "gives %lldx%lldx%lld = %zu",
                          m->mc->path, want, m->mc->eval.name, (long long)m->eval.c,
                          (long long)m->eval.h, (long long)m->eval.w, ex);
    m->classes = zp_graph_output_size(m->g);
    if (m->lm_t) { /* logits [T, V] per window */
        if (m->classes % m->lm_t)
            return zp_err_set(err, ZP_EINVAL,
                              "%s: %lld output values per window of %lld tokens: expected logits "
                              "[T, vocab]",
                              m->mc->path, (long long)m->classes, (long long)m->lm_t);
        m->lm_vocab = m->classes / m->lm_t;
        size_t nt = (size_t)m->n_eval * (size_t)m->lm_t;
        for (size_t i = 0; i < nt; i++)
            if (m->lm_targets[i] >= m->lm_vocab)
                return zp_err_set(err, ZP_EINVAL,
                                  "%s: window %zu position %zu: target token %d, but the model "
                                  "%s has a vocabulary of %lld",
                                  m->mc->eval.labels[0] ? m->mc->eval.labels : m->mc->eval.images,
                                  i / (size_t)m->lm_t, i % (size_t)m->lm_t, m->lm_targets[i],
                                  m->mc->path, (long long)m->lm_vocab);
        return ZP_OK;
    }
    if (m->eval.n_classes > m->classes)
        return zp_err_set(err, ZP_EINVAL,
                          "%s: dataset '%s' has labels up to %d but the model gives %lld outputs",
                          m->mc->path, m->mc->eval.name, m->eval.n_classes - 1,
                          (long long)m->classes);
    return ZP_OK;
}

static enum zp_status float_pass(struct zp_model_ctx *m, struct zp_progress *prog,
                                 struct zp_err *err)
{
    size_t ex = zp_dataset_example_size(&m->eval);
    m->float_logits = zp_alloc((size_t)m->n_eval * (size_t)m->classes * sizeof(float));
    const int nth = zp_graph_max_threads();
    long long *zeros = calloc((size_t)m->n_layers * 2 * (size_t)nth, sizeof(long long));
    m->zf_relu = calloc((size_t)m->n_layers * 2, sizeof(double));
    if (!m->float_logits || !zeros || !m->zf_relu) {
        free(zeros);
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory for the float pass", m->mc->path);
    }
    m->zf_pad = m->zf_relu + m->n_layers;
    struct zero_obs zo = {m->g, m->n_layers, zeros, zeros + (size_t)m->n_layers * (size_t)nth,
                          NULL, 0};
    long stats_n = m->mc->layer_stats_samples;
    if (stats_n <= 0 || stats_n > m->n_eval)
        stats_n = m->n_eval;
    if (m->mc->layer_stats_off) /* no zero counts, no cached float outputs */
        stats_n = 0;
    ref_cache_alloc(m, stats_n);
    for (long b0 = 0; b0 < m->n_eval; b0 += m->batch) {
        int bn = (int)(m->n_eval - b0 < m->batch ? m->n_eval - b0 : m->batch);
        struct zp_run_hooks h = {.weights = (const float *const *)m->base_w};
        if (b0 < stats_n) {
            h.ctx = &zo;
            h.layer_input_observe_image = observe_zeros;
        }
        if (b0 + bn <= m->n_ref_cached) {
            zo.ref_out = m->ref_out;
            zo.b0 = b0;
            h.layer_output_image = keep_output;
        }
        if (zp_graph_run(m->g, m->eval.x + (size_t)b0 * ex, bn,
                         m->float_logits + (size_t)b0 * (size_t)m->classes, &h, err)) {
            free(zeros);
            zp_err_prefix(err, "%s: float pass", m->mc->path);
            return err->status;
        }
        zp_progress_sub(prog, 0);
    }
    for (int l = 0; l < m->n_layers; l++) {
        long long nz = 0, nt = 0;
        for (int t = 0; t < nth; t++) {
            nz += zo.zeros[(size_t)t * (size_t)m->n_layers + (size_t)l];
            nt += zo.total[(size_t)t * (size_t)m->n_layers + (size_t)l];
        }
        double ps = pad_share(zp_graph_layer(m->g, l));
        double zr = nt ? (double)nz / (double)nt : 0;
        m->zf_relu[l] = zr * (1.0 - ps);
        m->zf_pad[l] = ps;
    }
    free(zeros);
    if (m->lm_t) { /* per token: next-token accuracy, and the mean NLL */
        int64_t nt = (int64_t)m->n_eval * m->lm_t;
        m->float_top1 = zp_top1(m->float_logits, m->lm_targets, nt, m->lm_vocab);
        m->float_top5 = zp_top5(m->float_logits, m->lm_targets, nt, m->lm_vocab);
        m->float_nll = zp_lm_mean_nll(m->float_logits, m->lm_targets, nt, m->lm_vocab);
    } else {
        m->float_top1 = zp_top1(m->float_logits, m->eval.labels, m->n_eval, m->classes);
        m->float_top5 = zp_top5(m->float_logits, m->eval.labels, m->n_eval, m->classes);
    }
    m->float_pred = malloc((size_t)m->n_eval * sizeof *m->float_pred);
    if (!m->float_pred)
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    zp_argmax_rows(m->float_logits, m->n_eval, m->classes, m->float_pred);
    return ZP_OK;
}

/* The calibration dataset, decoded only where a calibration setting draws (the
 * draws are those of mx_calib_indices over the whole set, so the examples and
 * their order are what a full load would give): 1000 of 60,000 training images
 * decode 1000 images, not 60,000. */
static enum zp_status load_calibration(struct zp_model_ctx *m, struct zp_progress *prog,
                                       struct zp_err *err)
{
    const struct zp_dataset_spec *spec = &m->mc->calib_data.spec;
    int64_t shape[3];
    if (zp_dataset_probe(spec, &m->calib_full_n, shape, err)) /* every file, even undrawn ones */
        return err->status;
    int64_t n = m->calib_full_n;
    m->calib_row = malloc((size_t)(n ? n : 1) * sizeof *m->calib_row);
    int64_t *sel = malloc((size_t)(n ? n : 1) * sizeof *sel);
    if (!m->calib_row || !sel) {
        free(sel);
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    }
    for (int64_t i = 0; i < n; i++)
        m->calib_row[i] = -1;
    for (int k = 0; k < m->mc->n_calib; k++) {
        const struct zp_calib_cfg *c = &m->mc->calib[k];
        uint32_t *draw = mx_calib_draw(c, (uint32_t)n, 0);
        if (!draw) {
            free(sel);
            return zp_err_set(err, ZP_ENOMEM, "out of memory");
        }
        int64_t used = c->size < n ? c->size : n;
        for (int64_t i = 0; i < used; i++)
            m->calib_row[draw[i]] = 0; /* drawn; rows assigned below */
        free(draw);
    }
    int64_t rows = 0;
    for (int64_t i = 0; i < n; i++) /* file order: the subset reads the file forward */
        if (m->calib_row[i] == 0) {
            sel[rows] = i;
            m->calib_row[i] = (int32_t)rows++;
        }
    struct zp_dataset_spec sub = *spec;
    sub.select = sel;
    sub.n_select = rows;
    if (rows)
        zp_progress_note(prog, "loading dataset %s (%lld of %lld examples: the calibration draws)",
                         m->mc->calib_data.name, (long long)rows, (long long)n);
    /* no calibration setting (weights-only cells): nothing to decode */
    enum zp_status st = rows ? zp_dataset_load(&sub, &m->calib, err) : ZP_OK;
    free(sel);
    return st;
}

/* A language model's token windows (eval "format": "tokens"): --limit slices
 * windows; the calibration windows are the eval windows when they are the same
 * file and limit, else their own token file (every window decoded: a token
 * window is cheap). */
static enum zp_status lm_load(struct zp_model_ctx *m, const struct zp_run_opts *opts,
                              struct zp_progress *prog, struct zp_err *err)
{
    const struct zp_dataset_cfg *e = &m->mc->eval, *c = &m->mc->calib_data;
    zp_progress_note(prog, "loading token windows %s", e->name);
    if (mx_lm_load(e, opts->limit, &m->eval, &m->lm_targets, &m->lm_t, err))
        return zp_err_prefix(err, "models[%zu].eval", m->index), err->status;
    m->n_eval = (long)m->eval.n;
    if (!c->is_tokens)
        return zp_err_set(err, ZP_ECONFIG,
                          "models[%zu].calibration_data: dataset '%s' is not token windows, but "
                          "eval is: a language model calibrates on \"format\": \"tokens\"",
                          m->index, c->name);
    if (m->mc->select_size > 0)
        return zp_err_set(err, ZP_ECONFIG,
                          "models[%zu].select: a select split chooses by top-1 of classifier "
                          "labels; a language model has none",
                          m->index);
    if (strcmp(c->images, e->images) == 0 && strcmp(c->labels, e->labels) == 0 &&
        c->tok.limit == e->tok.limit && c->tok.skip == e->tok.skip && c->tok.window == e->tok.window &&
        c->tok.stride == e->tok.stride) {
        m->calib = m->eval;
        m->calib_is_eval = 1;
    } else {
        int64_t t;
        zp_progress_note(prog, "loading token windows %s (calibration)", c->name);
        if (mx_lm_load(c, 0, &m->calib, NULL, &t, err))
            return zp_err_prefix(err, "models[%zu].calibration_data", m->index), err->status;
        if (t != m->lm_t)
            return zp_err_set(err, ZP_EINVAL,
                              "models[%zu].calibration_data: windows of %lld input tokens, eval's "
                              "have %lld",
                              m->index, (long long)t, (long long)m->lm_t);
    }
    m->calib_full_n = (int64_t)m->calib.n;
    return ZP_OK;
}

const struct zp_graph *zp_model_ctx_graph(const struct zp_model_ctx *m) { return m->g; }

enum zp_status zp_model_ctx_load(const struct zp_config *cfg, size_t index,
                                 const struct zp_run_opts *opts, int with_train,
                                 struct zp_progress *prog, struct zp_model_ctx **out,
                                 struct zp_err *err)
{
    *out = NULL;
    double t0 = zp_now();
    struct zp_model_ctx *m = calloc(1, sizeof *m);
    if (!m)
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    m->index = index;
    m->mc = &cfg->models[index];
    m->batch = m->mc->batch;
    zp_progress_note(prog, "loading model %s (%s)", m->mc->name, m->mc->path);
    if (zp_onnx_load(m->mc->path, &m->g, err))
        goto fail;
    m->n_layers = zp_graph_num_layers(m->g);
    if (m->n_layers == 0) {
        zp_err_set(err, ZP_EINVAL, "%s: no Conv, Gemm or MatMul layer with constant weights",
                   m->mc->path);
        goto fail;
    }
    if (m->mc->eval.is_tokens) {
        if (lm_load(m, opts, prog, err))
            goto fail;
        goto loaded;
    }
    struct zp_dataset_spec spec = m->mc->eval.spec;
    if (opts->limit > 0 && (spec.limit == 0 || spec.limit > opts->limit))
        spec.limit = (int)opts->limit;
    zp_progress_note(prog, "loading dataset %s", m->mc->eval.name);
    if (zp_dataset_load(&spec, &m->eval, err)) {
        zp_err_prefix(err, "models[%zu].eval", index);
        goto fail;
    }
    m->n_eval = (long)m->eval.n;
    const struct zp_dataset_spec *cs = &m->mc->calib_data.spec, *es = &m->mc->eval.spec;
    if (strcmp(m->mc->calib_data.images, m->mc->eval.images) == 0 && cs->limit == es->limit &&
        cs->split_every == es->split_every && cs->split_offset == es->split_offset &&
        cs->split_rest == es->split_rest) { /* two parts of one file are two datasets */
        m->calib = m->eval;
        m->calib_is_eval = 1;
        m->calib_full_n = (int64_t)m->eval.n;
    } else if (cfg->replicates > 1 || m->mc->select_size > 0) {
        /* replicates draw other subsets and the select split takes the last examples:
         * the whole calibration set is decoded */
        zp_progress_note(prog, "loading dataset %s", m->mc->calib_data.name);
        if (zp_dataset_load(&m->mc->calib_data.spec, &m->calib, err)) {
            zp_err_prefix(err, "models[%zu].calibration_data", index);
            goto fail;
        }
        m->calib_full_n = (int64_t)m->calib.n;
    } else if (load_calibration(m, prog, err)) { /* one replicate: only its draws */
        zp_err_prefix(err, "models[%zu].calibration_data", index);
        goto fail;
    }
loaded:
    /* A calibration set larger than its dataset uses every example; the size used
     * is what the CSVs record, and the log says so. */
    m->calib_pool = (long)m->calib_full_n;
    if (m->mc->select_size > 0) {
        /* the select split: the last examples of the calibration data, at most half */
        m->n_select = m->mc->select_size < (long)m->calib.n / 2 ? m->mc->select_size : (long)m->calib.n / 2;
        if (m->n_select < m->mc->select_size)
            zp_progress_warn(prog, "models[%zu].select.size: %d examples asked, dataset '%s' has %zu: "
                             "using its last %ld (half)",
                             index, m->mc->select_size, m->mc->calib_data.name, m->calib.n, m->n_select);
        m->calib_pool = (long)m->calib.n - m->n_select;
    }
    for (int k = 0; k < m->mc->n_calib; k++) {
        int want = m->mc->calib[k].size;
        m->calib_used[k] = want < (int)m->calib_pool ? want : (int)m->calib_pool;
        if (want > m->calib_used[k])
            zp_progress_warn(prog, "models[%zu].calibration[%d].size: %d examples asked, dataset '%s' "
                             "has %d: using %d",
                             index, k, want, m->mc->calib_data.name, m->calib_used[k], m->calib_used[k]);
    }
    if (with_train && zp_model_ctx_load_train(m, prog, err))
        goto fail;
    if (check_io(m, err))
        goto fail;
    if (m->mc->prune > 0 && prune_weights(m, err))
        goto fail;
    m->load_seconds = zp_now() - t0;
    *out = m;
    return ZP_OK;
fail:
    zp_model_ctx_free(m);
    return err->status;
}

enum zp_status zp_model_ctx_load_train(struct zp_model_ctx *m, struct zp_progress *prog,
                                       struct zp_err *err)
{
    if (m->train_loaded)
        return ZP_OK;
    zp_progress_note(prog, "loading dataset %s (QAT)", m->mc->train_data.name);
    if (zp_dataset_load(&m->mc->train_data.spec, &m->train, err)) {
        zp_err_prefix(err, "models[%zu].train_data", m->index);
        return err->status;
    }
    m->train_loaded = 1;
    return ZP_OK;
}

enum zp_status zp_model_ctx_get(const struct zp_config *cfg, size_t index,
                                const struct zp_run_opts *opts, struct zp_progress *prog,
                                struct zp_model_ctx **slot, struct zp_err *err)
{
    struct zp_model_ctx *m = *slot;
    if (m && m->index != index) {
        zp_model_ctx_free(m);
        *slot = m = NULL;
    }
    if (!m && zp_model_ctx_load(cfg, index, opts, 0, prog, slot, err))
        return err->status;
    m = *slot;
    if (m->float_logits)
        return ZP_OK;
    double t1 = zp_now();
    zp_progress_note(prog, "float pass over %ld examples", m->n_eval);
    if (float_pass(m, prog, err))
        return err->status;
    m->float_seconds = zp_now() - t1;
    if (m->lm_t)
        zp_progress_note(prog, "float %s: NLL %.5f nats/token (perplexity %.4f), next-token top-1 "
                         "%.4f, on %ld windows of %lld tokens (%.1f s, %.0f tokens/s)",
                         m->mc->name, m->float_nll, exp(m->float_nll), m->float_top1, m->n_eval,
                         (long long)m->lm_t, m->float_seconds,
                         (double)m->n_eval * (double)m->lm_t / fmax(m->float_seconds, 1e-9));
    else
        zp_progress_note(prog, "float %s: top-1 %.4f on %ld examples (%.1f s, %.0f examples/s)",
                         m->mc->name, m->float_top1, m->n_eval, m->float_seconds,
                         (double)m->n_eval / fmax(m->float_seconds, 1e-9));
    return ZP_OK;
}

void zp_model_ctx_describe(const struct zp_model_ctx *m, struct zp_json *o)
{
    zp_json_set_str(o, "name", m->mc->name);
    zp_json_set_str(o, "path", m->mc->path);
    zp_json_set_str(o, "eval_dataset", m->mc->eval.name);
    zp_json_set_num(o, "n_eval", (double)m->n_eval);
    zp_json_set_num(o, "float_top1", m->float_top1);
    zp_json_set_num(o, "layers", m->n_layers);
    zp_json_set_num(o, "load_seconds", m->load_seconds);
    zp_json_set_num(o, "float_pass_seconds", m->float_seconds);
    zp_json_set_num(o, "float_examples_per_second", (double)m->n_eval / fmax(m->float_seconds, 1e-9));
    if (m->lm_t) { /* a language model: windows of lm_t tokens */
        zp_json_set_num(o, "tokens_per_window", (double)m->lm_t);
        zp_json_set_num(o, "vocab", (double)m->lm_vocab);
        zp_json_set_num(o, "float_nll", m->float_nll);
        zp_json_set_num(o, "float_tokens_per_second",
                        (double)m->n_eval * (double)m->lm_t / fmax(m->float_seconds, 1e-9));
    }
    struct zp_json *cal = zp_json_arr(o, "calibration");
    for (int k = 0; k < m->mc->n_calib; k++) {
        const struct zp_calib_cfg *c = &m->mc->calib[k];
        struct zp_json *e = zp_json_push_obj(cal);
        if (!e)
            continue;
        zp_json_set_str(e, "method", c->method);
        zp_json_set_num(e, "size", m->calib_used[k]);
        zp_json_set_num(e, "size_requested", c->size);
        zp_json_set_num(e, "seed", (double)c->seed);
        zp_json_set_str(e, "order", c->shuffle ? "shuffled" : "first");
        zp_json_set_str(e, "dataset", m->mc->calib_data.name);
    }
}
