/* Model experiments: a model is loaded once with its datasets, run once in float
 * (logits cached for every cell), calibrated once per calibration setting, and
 * then each cell quantizes weights and/or activations through the runtime's hooks
 * and is measured against the float run (DESIGN.md §2, §5).
 *
 * Per-layer metrics (layers.csv) come from the first `layer_stats_samples` eval
 * examples: for each batch the float graph runs first and its layer outputs are
 * kept, then the quantized graph runs and each layer output is compared with the
 * float one. Empirical bias correction uses the same paired pass on the
 * calibration examples. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "calib/bias_correction.h"
#include "calib/calib.h"
#include "common/mem.h"
#include "common/round.h"
#include "common/rng.h"
#include "experiment/metrics.h"
#include "experiment/runner.h"
#include "model/graph.h"
#include "schemes/granularity.h"
#include "train/qat.h"

/* Values kept per layer input during calibration, for schemes that fit from data
 * (codebooks) rather than from a range. */
#define ACT_SAMPLE 16384

struct act_cal {
    float lo, hi;
    float *sample;
    size_t n_sample;
    float out_lo, out_hi; /* range of the layer output before its activation (quantize_at
                             "inputs+outputs"; NAN when not calibrated) */
};

struct zp_model_ctx {
    size_t index;
    const struct zp_model_cfg *mc;
    struct zp_graph *g;
    int n_layers;
    int64_t classes;
    struct zp_dataset eval, calib;
    int calib_is_eval;
    long n_eval;
    float *float_logits;
    double float_top1;
    double *zf_relu, *zf_pad;         /* per layer input, from the float pass */
    /* Calibrated ranges: one entry per calibration setting and, for mse / kl (which
     * optimise for a quantizer), per activation quantizer shape. */
    struct cal_entry {
        int k, bits, symmetric, narrow;
        struct act_cal *layers; /* n_layers entries */
    } cal[4 * ZP_MAX_CALIB];
    int n_cal;
    double load_seconds, float_seconds;
    int batch;
    float **base_w; /* per layer: pruned weights, or NULL entries = the model's own */
    struct zp_dataset train; /* QAT only, loaded on first use */
    int train_loaded;
};

/* The float weights every run starts from (pruned when the config says so). */
static const float *base_weight(const struct zp_model_ctx *m, int l)
{
    return m->base_w && m->base_w[l] ? m->base_w[l] : zp_graph_layer(m->g, l)->weight;
}

static size_t weight_count(const struct zp_layer_info *li)
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
        size_t n = weight_count(li), k = (size_t)(m->mc->prune * (double)n);
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

static struct zp_model_ctx *current;

static size_t in_size(const struct zp_layer_info *li)
{
    size_t n = 1;
    for (int d = 0; d < li->in_ndim; d++)
        n *= (size_t)li->in_shape[d];
    return n;
}

static size_t out_size(const struct zp_layer_info *li)
{
    size_t n = 1;
    for (int d = 0; d < li->out_ndim; d++)
        n *= (size_t)li->out_shape[d];
    return n;
}

static int64_t out_spatial(const struct zp_layer_info *li)
{
    return li->out_ndim > 1 ? (int64_t)(out_size(li) / (size_t)li->out_shape[0]) : 1;
}

static void ctx_free(struct zp_model_ctx *m)
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
    free(m->zf_relu);
    if (m->base_w)
        for (int l = 0; l < m->n_layers; l++)
            zp_free(m->base_w[l]);
    free(m->base_w);
    for (int k = 0; k < m->n_cal; k++) {
        for (int l = 0; l < m->n_layers; l++)
            free(m->cal[k].layers[l].sample);
        free(m->cal[k].layers);
    }
    free(m);
}

void zp_model_ctx_release(void)
{
    ctx_free(current);
    current = NULL;
}

/* ---- running batches ----------------------------------------------------- */

/* Copies examples idx[0..n) of ds into a contiguous batch. */
static void gather(const struct zp_dataset *ds, const uint32_t *idx, int n, float *dst)
{
    size_t ex = zp_dataset_example_size(ds);
    for (int i = 0; i < n; i++)
        memcpy(dst + (size_t)i * ex, ds->x + (size_t)idx[i] * ex, ex * sizeof *dst);
}

/* Zero statistics of each layer input (float pass). */
struct zero_obs {
    const struct zp_graph *g;
    long long *zeros, *total;
};

static void observe_zeros(void *ctx, int layer, float *x, int batch)
{
    struct zero_obs *z = ctx;
    size_t n = in_size(zp_graph_layer(z->g, layer)) * (size_t)batch;
    long long c = 0;
    for (size_t i = 0; i < n; i++)
        c += x[i] == 0.0f;
    z->zeros[layer] += c;
    z->total[layer] += (long long)n;
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

static enum zp_status float_pass(struct zp_model_ctx *m, struct zp_progress *prog,
                                 struct zp_err *err)
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
    if (m->eval.n_classes > m->classes)
        return zp_err_set(err, ZP_EINVAL,
                          "%s: dataset '%s' has labels up to %d but the model gives %lld outputs",
                          m->mc->path, m->mc->eval.name, m->eval.n_classes - 1,
                          (long long)m->classes);
    m->float_logits = zp_alloc((size_t)m->n_eval * (size_t)m->classes * sizeof(float));
    long long *zeros = calloc((size_t)m->n_layers * 2, sizeof(long long));
    m->zf_relu = calloc((size_t)m->n_layers * 2, sizeof(double));
    if (!m->float_logits || !zeros || !m->zf_relu) {
        free(zeros);
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory for the float pass", m->mc->path);
    }
    m->zf_pad = m->zf_relu + m->n_layers;
    struct zero_obs zo = {m->g, zeros, zeros + m->n_layers};
    long stats_n = m->mc->layer_stats_samples;
    if (stats_n <= 0 || stats_n > m->n_eval)
        stats_n = m->n_eval;
    for (long b0 = 0; b0 < m->n_eval; b0 += m->batch) {
        int bn = (int)(m->n_eval - b0 < m->batch ? m->n_eval - b0 : m->batch);
        struct zp_run_hooks h = {.weights = (const float *const *)m->base_w};
        if (b0 < stats_n) {
            h.ctx = &zo;
            h.layer_input = observe_zeros;
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
        double ps = pad_share(zp_graph_layer(m->g, l));
        double zr = zo.total[l] ? (double)zo.zeros[l] / (double)zo.total[l] : 0;
        m->zf_relu[l] = zr * (1.0 - ps);
        m->zf_pad[l] = ps;
    }
    free(zeros);
    m->float_top1 = zp_top1(m->float_logits, m->eval.labels, m->n_eval, m->classes);
    return ZP_OK;
}

enum zp_status zp_model_ctx_get(const struct zp_config *cfg, size_t index,
                                const struct zp_run_opts *opts, struct zp_progress *prog,
                                struct zp_model_ctx **out, struct zp_err *err)
{
    if (current && current->index == index) {
        *out = current;
        return ZP_OK;
    }
    zp_model_ctx_release();
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
    struct zp_dataset_spec spec = m->mc->eval.spec;
    if (opts->limit > 0 && (spec.limit == 0 || spec.limit > opts->limit))
        spec.limit = (int)opts->limit;
    zp_progress_note(prog, "loading dataset %s", m->mc->eval.name);
    if (zp_dataset_load(&spec, &m->eval, err)) {
        zp_err_prefix(err, "models[%zu].eval", index);
        goto fail;
    }
    m->n_eval = (long)m->eval.n;
    if (strcmp(m->mc->calib_data.images, m->mc->eval.images) == 0 &&
        m->mc->calib_data.spec.limit == m->mc->eval.spec.limit) {
        m->calib = m->eval;
        m->calib_is_eval = 1;
    } else {
        zp_progress_note(prog, "loading dataset %s", m->mc->calib_data.name);
        if (zp_dataset_load(&m->mc->calib_data.spec, &m->calib, err)) {
            zp_err_prefix(err, "models[%zu].calibration_data", index);
            goto fail;
        }
    }
    if (m->mc->prune > 0 && prune_weights(m, err))
        goto fail;
    m->load_seconds = zp_now() - t0;
    double t1 = zp_now();
    zp_progress_note(prog, "float pass over %ld examples", m->n_eval);
    if (float_pass(m, prog, err))
        goto fail;
    m->float_seconds = zp_now() - t1;
    zp_progress_note(prog, "float %s: top-1 %.4f on %ld examples (%.1f s, %.0f examples/s)",
                     m->mc->name, m->float_top1, m->n_eval, m->float_seconds,
                     (double)m->n_eval / fmax(m->float_seconds, 1e-9));
    current = m;
    *out = m;
    return ZP_OK;
fail:
    ctx_free(m);
    return err->status;
}

void zp_model_ctx_describe(const struct zp_model_ctx *m, void *obj)
{
    cJSON *o = obj;
    cJSON_AddStringToObject(o, "name", m->mc->name);
    cJSON_AddStringToObject(o, "path", m->mc->path);
    cJSON_AddStringToObject(o, "eval_dataset", m->mc->eval.name);
    cJSON_AddNumberToObject(o, "n_eval", (double)m->n_eval);
    cJSON_AddNumberToObject(o, "float_top1", m->float_top1);
    cJSON_AddNumberToObject(o, "layers", m->n_layers);
    cJSON_AddNumberToObject(o, "load_seconds", m->load_seconds);
    cJSON_AddNumberToObject(o, "float_pass_seconds", m->float_seconds);
    cJSON_AddNumberToObject(o, "float_examples_per_second",
                            (double)m->n_eval / fmax(m->float_seconds, 1e-9));
    cJSON *cal = cJSON_AddArrayToObject(o, "calibration");
    for (int k = 0; k < m->mc->n_calib; k++) {
        const struct zp_calib_cfg *c = &m->mc->calib[k];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "method", c->method);
        cJSON_AddNumberToObject(e, "size", c->size);
        cJSON_AddNumberToObject(e, "seed", (double)c->seed);
        cJSON_AddStringToObject(e, "order", c->shuffle ? "shuffled" : "first");
        cJSON_AddStringToObject(e, "dataset", m->mc->calib_data.name);
        cJSON_AddItemToArray(cal, e);
    }
}

/* ---- calibration ----------------------------------------------------------- */

/* The calibration examples of setting k: `size` of them, shuffled with the seed or
 * the first ones, capped at the dataset size. Caller frees. */
static uint32_t *calib_indices(const struct zp_model_ctx *m, const struct zp_calib_cfg *c,
                               int *n_out)
{
    uint32_t n = (uint32_t)m->calib.n;
    uint32_t *idx = malloc((size_t)n * sizeof *idx);
    if (!idx)
        return NULL;
    for (uint32_t i = 0; i < n; i++)
        idx[i] = i;
    if (c->shuffle) {
        struct zp_rng r;
        zp_rng_seed(&r, c->seed);
        zp_rng_shuffle(&r, idx, n);
    }
    *n_out = c->size < (int)n ? c->size : (int)n;
    return idx;
}

struct calib_obs {
    struct zp_model_ctx *m;
    struct zp_calib **cal;
    struct zp_calib **cal_out; /* outputs, when the model quantizes them */
    struct act_cal *out;
    struct zp_rng rng;
    long long *seen;
    struct zp_err *err;
    enum zp_status st;
};

static void observe_calib(void *ctx, int layer, float *x, int batch)
{
    struct calib_obs *o = ctx;
    if (o->st)
        return;
    size_t n = in_size(zp_graph_layer(o->m->g, layer)) * (size_t)batch;
    o->st = zp_calib_observe(o->cal[layer], x, n, o->err);
    if (o->st) {
        zp_err_prefix(o->err, "input of layer '%s'", zp_graph_layer(o->m->g, layer)->name);
        return;
    }
    /* Reservoir sample (algorithm R) for schemes that fit from data. */
    struct act_cal *a = &o->out[layer];
    for (size_t i = 0; i < n; i++) {
        long long s = o->seen[layer]++;
        if (a->n_sample < ACT_SAMPLE) {
            a->sample[a->n_sample++] = x[i];
        } else {
            uint64_t j = zp_rng_below(&o->rng, (uint64_t)s + 1);
            if (j < ACT_SAMPLE)
                a->sample[j] = x[i];
        }
    }
}

/* Whether an affine scheme config is symmetric (zero point 0, signed codes) and
 * narrow: probed by fitting it to [-1, 2]. mse / kl calibration optimise for it. */
static void probe_symmetric(const struct zp_scheme_config *c, int *symmetric, int *narrow)
{
    *symmetric = *narrow = 0;
    if (!c->scheme->fit_range)
        return;
    struct zp_qparams probe;
    struct zp_err ignore = {0};
    memset(&probe, 0, sizeof probe);
    if (c->scheme->fit_range(c, -1.0f, 2.0f, &probe, &ignore) == ZP_OK &&
        probe.zero_point == 0 && probe.qmin < 0 && probe.offset == 0.0f) {
        *symmetric = 1;
        *narrow = probe.qmin == -probe.qmax;
    }
}

/* The calibrated ranges for setting k and the variant's activation quantizer. */
static void observe_calib_out(void *ctx, int layer, const float *y, int batch)
{
    struct calib_obs *o = ctx;
    if (o->st)
        return;
    const struct zp_layer_info *li = zp_graph_layer(o->m->g, layer);
    size_t n = 1;
    for (int d = 0; d < li->out_ndim; d++)
        n *= (size_t)li->out_shape[d];
    o->st = zp_calib_observe(o->cal_out[layer], y, n * (size_t)batch, o->err);
    if (o->st)
        zp_err_prefix(o->err, "output of layer '%s'", li->name);
}

static enum zp_status calibrate(struct zp_model_ctx *m, int k, const struct zp_variant *v,
                                struct zp_progress *prog, struct act_cal **result,
                                struct zp_err *err)
{
    const struct zp_calib_cfg *cc = &m->mc->calib[k];
    enum zp_calib_method method;
    if (zp_calib_method_parse(cc->method, &method))
        return zp_err_set(err, ZP_ECONFIG, "unknown calibration method '%s'", cc->method);
    struct zp_calib_options co = zp_calib_options_default(method);
    co.ema_constant = cc->ema_constant;
    co.percentile = cc->percentile;
    co.bins = cc->bins;
    /* mse and kl optimise the range for the activation quantizer: its bits and
     * whether it is symmetric (narrow for no-128). Probed from the scheme itself:
     * fitted to [-1, 2], a symmetric quantizer keeps zero point 0 and signed codes. */
    co.bits = v->a.bits < 2 ? 2 : v->a.bits;
    probe_symmetric(&v->a, &co.symmetric, &co.narrow_range);
    int shaped = method == ZP_CALIB_MSE || method == ZP_CALIB_KL;
    for (int i = 0; i < m->n_cal; i++) {
        const struct cal_entry *e = &m->cal[i];
        if (e->k == k && (!shaped || (e->bits == co.bits && e->symmetric == co.symmetric &&
                                      e->narrow == co.narrow_range))) {
            *result = e->layers;
            return ZP_OK;
        }
    }
    if (m->n_cal == (int)(sizeof m->cal / sizeof m->cal[0]))
        return zp_err_set(err, ZP_EINVAL, "too many distinct calibrations in one model");
    zp_progress_note(prog, "calibrating activation ranges: %s on %d examples of %s", cc->method,
                     cc->size, m->mc->calib_data.name);
    struct act_cal *out = calloc((size_t)m->n_layers, sizeof *out);
    struct zp_calib **cal = calloc((size_t)m->n_layers * 2, sizeof *cal);
    long long *seen = calloc((size_t)m->n_layers, sizeof *seen);
    int n = 0;
    uint32_t *idx = calib_indices(m, cc, &n);
    float *batch = zp_alloc((size_t)m->batch * zp_dataset_example_size(&m->calib) * sizeof(float));
    float *logits = zp_alloc((size_t)m->batch * (size_t)m->classes * sizeof(float));
    enum zp_status st = ZP_OK;
    if (!out || !cal || !seen || !idx || !batch || !logits) {
        st = zp_err_set(err, ZP_ENOMEM, "calibration: out of memory");
        goto out;
    }
    for (int l = 0; l < m->n_layers && !st; l++) {
        out[l].sample = malloc(ACT_SAMPLE * sizeof(float));
        out[l].out_lo = out[l].out_hi = NAN;
        cal[l] = zp_calib_new(&co, err);
        if (m->mc->act_at && cal[l])
            cal[m->n_layers + l] = zp_calib_new(&co, err);
        if (!out[l].sample || !cal[l] || (m->mc->act_at && !cal[m->n_layers + l]))
            st = err->status ? err->status : zp_err_set(err, ZP_ENOMEM, "out of memory");
    }
    struct calib_obs obs = {.m = m, .cal = cal, .cal_out = cal ? cal + m->n_layers : NULL,
                            .out = out, .seen = seen, .err = err};
    zp_rng_seed(&obs.rng, cc->seed ^ 0x5eed);
    for (int b0 = 0; b0 < n && !st; b0 += m->batch) {
        int bn = n - b0 < m->batch ? n - b0 : m->batch;
        gather(&m->calib, idx + b0, bn, batch);
        struct zp_run_hooks h = {.ctx = &obs, .layer_input = observe_calib,
                                 .layer_output = m->mc->act_at ? observe_calib_out : NULL,
                                 .weights = (const float *const *)m->base_w};
        st = zp_graph_run(m->g, batch, bn, logits, &h, err);
        if (!st && obs.st)
            st = obs.st;
        zp_progress_sub(prog, 0);
    }
    for (int l = 0; l < m->n_layers && !st; l++) {
        st = zp_calib_range(cal[l], &out[l].lo, &out[l].hi, err);
        if (st)
            zp_err_prefix(err, "input of layer '%s'", zp_graph_layer(m->g, l)->name);
        if (!st && m->mc->act_at) {
            st = zp_calib_range(cal[m->n_layers + l], &out[l].out_lo, &out[l].out_hi, err);
            if (st)
                zp_err_prefix(err, "output of layer '%s'", zp_graph_layer(m->g, l)->name);
        }
    }
out:
    if (cal)
        for (int l = 0; l < m->n_layers * 2; l++)
            zp_calib_free(cal[l]);
    free(cal);
    free(seen);
    free(idx);
    zp_free(batch);
    zp_free(logits);
    if (st) {
        if (out)
            for (int l = 0; l < m->n_layers; l++)
                free(out[l].sample);
        free(out);
        zp_err_prefix(err, "calibration (%s)", cc->method);
        return st;
    }
    m->cal[m->n_cal++] = (struct cal_entry){k, co.bits, co.symmetric, co.narrow_range, out};
    *result = out;
    return ZP_OK;
}

/* ---- the quantized network of one cell -------------------------------------- */

struct qnet {
    struct zp_model_ctx *m;
    const struct zp_variant *v;
    float **weights;               /* fake-quantized weights per layer */
    float **biases;                /* corrected biases per layer, NULL entries = model's */
    struct zp_qparams *act;        /* per layer, when activations are quantized */
    const struct zp_scheme_config **act_cfg;
    float *pad;                    /* per layer: what padding decodes to */
    double *act_lo, *act_hi;
    int quant_act;
    struct zp_qparams *outq;       /* per layer: output quantizer (quantize_at outputs), or NULL */
    struct zp_tensor_qparams *wqp; /* per layer: the weight quantizer's slice parameters */
    int bias_corrected;            /* biases[] hold corrected float biases */
    /* paired pass state */
    float **float_out;             /* per layer: batch x out_size, the float run's output */
    struct zp_layer_acc *lacc;     /* layer stats, or NULL */
    struct zp_bias_corr **bc;      /* bias-correction accumulators, or NULL */
};

/* The weight quantizer of layer l: an override if one names the layer. */
static const struct zp_scheme_config *layer_wcfg(const struct zp_model_ctx *m,
                                                 const struct zp_variant *v, int l,
                                                 const char **label)
{
    const struct zp_layer_info *li = zp_graph_layer(m->g, l);
    for (int o = 0; o < m->mc->n_overrides; o++) {
        const struct zp_override *ov = &m->mc->overrides[o];
        for (int k = 0; k < ov->n_layers; k++) {
            const char *name = ov->layers[k];
            int hit = strcmp(name, li->name) == 0 || (strcmp(name, "first") == 0 && l == 0) ||
                      (strcmp(name, "last") == 0 && l == m->n_layers - 1);
            if (name[0] == '#') {
                int i = atoi(name + 1);
                hit |= i == l || (i < 0 && m->n_layers + i == l);
            }
            if (hit) {
                if (label)
                    *label = ov->label;
                return &ov->w;
            }
        }
    }
    return &v->w;
}

/* Fake-quantizes layer l's weights with the variant's quantizer. With a weight
 * calibration method (affine schemes) each slice's range comes from it instead
 * of min/max, which clips outliers; qp receives the slice parameters. */
static enum zp_status quant_weights(const struct zp_model_ctx *m, const struct zp_variant *v,
                                    int l, float *out, struct zp_tensor_qparams *qp,
                                    struct zp_err *err)
{
    const struct zp_layer_info *li = zp_graph_layer(m->g, l);
    const struct zp_scheme_config *cfg = layer_wcfg(m, v, l, NULL);
    char what[300];
    snprintf(what, sizeof what, "%s: weights of layer '%s'", m->mc->path, li->name);
    if (!v->weight_calib[0] || cfg != &v->w) /* overrides keep their own fit */
        return zp_fake_quant(cfg, base_weight(m, l), li->wshape, li->wndim, what, out, qp, err);
    if (cfg->granularity == ZP_PER_CHANNEL && cfg->axis != 0)
        return zp_err_set(err, ZP_ECONFIG, "%s: weight_calibration needs axis 0", what);
    enum zp_calib_method method;
    zp_calib_method_parse(v->weight_calib, &method);
    struct zp_calib_options o = zp_calib_options_default(method);
    o.percentile = v->weight_calib_percentile;
    o.bits = cfg->bits < 2 ? 2 : cfg->bits;
    probe_symmetric(cfg, &o.symmetric, &o.narrow_range);
    if (method == ZP_CALIB_KL && o.bins < (1 << o.bits))
        o.bins = 1 << o.bits;
    size_t n = weight_count(li);
    int64_t ch = cfg->granularity == ZP_PER_CHANNEL ? li->wshape[0] : 1;
    float *lo = malloc((size_t)ch * 2 * sizeof *lo);
    qp->n_slices = (size_t)ch;
    qp->slice = calloc((size_t)ch, sizeof *qp->slice);
    if (!lo || !qp->slice) {
        free(lo);
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    }
    float *hi = lo + ch;
    enum zp_status st =
        zp_calib_tensor(&o, base_weight(m, l), ch, (int64_t)(n / (size_t)ch), lo, hi, err);
    for (int64_t c = 0; c < ch && !st; c++)
        st = cfg->scheme->fit_range(cfg, lo[c], hi[c], &qp->slice[c], err);
    free(lo);
    if (st) {
        zp_err_prefix(err, "%s (weight_calibration %s)", what, v->weight_calib);
        return st;
    }
    zp_tensor_apply(cfg, qp, base_weight(m, l), li->wshape, li->wndim, out, NULL);
    return ZP_OK;
}

/* int32 biases, as integer inference stores them: each rounded to a multiple of
 * input scale x weight scale of its output channel (affine quantizers only). */
static void round_biases_int32(struct qnet *q)
{
    struct zp_model_ctx *m = q->m;
    for (int l = 0; l < m->n_layers; l++) {
        const struct zp_layer_info *li = zp_graph_layer(m->g, l);
        const struct zp_tensor_qparams *wq = &q->wqp[l];
        if (!q->act_cfg[l] || q->act[l].n_levels > 0 || !wq->n_slices || !li->bias)
            continue;
        if (!q->biases[l] && !(q->biases[l] = zp_alloc((size_t)li->n_out * sizeof(float))))
            continue;
        const float *b = q->biases[l];
        size_t per_ch = wq->n_slices / (size_t)li->n_out;
        for (int64_t c = 0; c < li->n_out; c++) {
            const struct zp_qparams *wp =
                &wq->slice[wq->n_slices == 1 ? 0 : (size_t)c * (per_ch ? per_ch : 1)];
            double step = (double)q->act[l].scale * (double)wp->scale;
            double src = q->bias_corrected ? b[c] : li->bias[c];
            q->biases[l][c] = wp->n_levels > 0 || step <= 0
                                  ? (float)src
                                  : (float)(zp_round_half_even(src / step) * step);
        }
    }
}

static void qnet_free(struct qnet *q)
{
    int n = q->m->n_layers;
    for (int l = 0; l < n; l++) {
        if (q->weights)
            zp_free(q->weights[l]);
        if (q->biases)
            zp_free(q->biases[l]);
        if (q->float_out)
            zp_free(q->float_out[l]);
        if (q->lacc)
            zp_layer_acc_free(&q->lacc[l]);
        if (q->bc)
            zp_bias_corr_free(q->bc[l]);
        if (q->wqp)
            zp_tensor_qparams_free(&q->wqp[l]);
    }
    free(q->wqp);
    free(q->weights);
    free(q->biases);
    free(q->float_out);
    free(q->lacc);
    free(q->bc);
    free(q->act);
    free(q->outq);
    free(q->act_cfg);
    free(q->pad);
    free(q->act_lo);
}

/* x = dequantize(quantize(x)) for n values under one slice's parameters, in
 * chunks whose codes fit on the stack (thread-safe, no allocation). */
#define ZP_QCHUNK 2048
static void fake_quant_inplace(const struct zp_scheme_config *c, const struct zp_qparams *p,
                               float *x, size_t n)
{
    int32_t codes[ZP_QCHUNK];
    for (size_t i0 = 0; i0 < n; i0 += ZP_QCHUNK) {
        size_t len = n - i0 < ZP_QCHUNK ? n - i0 : ZP_QCHUNK;
        c->scheme->quantize(c, p, x + i0, codes, len);
        c->scheme->dequantize(c, p, codes, x + i0, len);
    }
}

/* A layer input of a whole batch (node-by-node schedule), in parallel chunks. */
static void quant_input(void *ctx, int layer, float *x, int batch)
{
    struct qnet *q = ctx;
    if (!q->quant_act)
        return;
    size_t n = in_size(zp_graph_layer(q->m->g, layer)) * (size_t)batch;
    long nchunks = (long)((n + ZP_QCHUNK - 1) / ZP_QCHUNK);
#pragma omp parallel for schedule(static)
    for (long ci = 0; ci < nchunks; ci++) {
        size_t i0 = (size_t)ci * ZP_QCHUNK;
        fake_quant_inplace(q->act_cfg[layer], &q->act[layer], x + i0,
                           n - i0 < ZP_QCHUNK ? n - i0 : ZP_QCHUNK);
    }
}

/* One image's layer input, from the runtime's worker threads (fast schedule). */
static void quant_input_image(void *ctx, int layer, float *x)
{
    struct qnet *q = ctx;
    fake_quant_inplace(q->act_cfg[layer], &q->act[layer], x,
                       in_size(zp_graph_layer(q->m->g, layer)));
}

/* A quantization point at the layer output, before its activation. */
static void quant_output(void *ctx, int layer, float *y, int batch)
{
    struct qnet *q = ctx;
    fake_quant_inplace(q->act_cfg[layer], &q->outq[layer], y,
                       out_size(zp_graph_layer(q->m->g, layer)) * (size_t)batch);
}

static void capture_output(void *ctx, int layer, const float *y, int batch)
{
    struct qnet *q = ctx;
    size_t n = out_size(zp_graph_layer(q->m->g, layer)) * (size_t)batch;
    memcpy(q->float_out[layer], y, n * sizeof *y);
}

static void compare_output(void *ctx, int layer, const float *y, int batch)
{
    struct qnet *q = ctx;
    const struct zp_layer_info *li = zp_graph_layer(q->m->g, layer);
    int64_t ch = li->out_ndim > 1 ? li->out_shape[0] : (int64_t)out_size(li);
    int64_t sp = out_spatial(li);
    if (q->lacc)
        zp_layer_acc_add(&q->lacc[layer], q->float_out[layer], y, batch, sp);
    if (q->bc && q->bc[layer])
        zp_bias_corr_add(q->bc[layer], q->float_out[layer], y, batch, ch, sp);
}

static enum zp_status qnet_build(struct qnet *q, struct zp_model_ctx *m,
                                 const struct zp_variant *v, int quant_w, int quant_act, int k,
                                 struct zp_progress *prog, struct zp_err *err)
{
    memset(q, 0, sizeof *q);
    q->m = m;
    q->v = v;
    q->quant_act = quant_act;
    int n = m->n_layers;
    q->weights = calloc((size_t)n, sizeof *q->weights);
    q->biases = calloc((size_t)n, sizeof *q->biases);
    q->act = calloc((size_t)n, sizeof *q->act);
    q->act_cfg = calloc((size_t)n, sizeof *q->act_cfg);
    q->pad = calloc((size_t)n, sizeof *q->pad);
    q->act_lo = calloc((size_t)n * 2, sizeof *q->act_lo);
    q->wqp = calloc((size_t)n, sizeof *q->wqp);
    if (!q->weights || !q->biases || !q->act || !q->act_cfg || !q->pad || !q->act_lo || !q->wqp)
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    q->act_hi = q->act_lo + n;
    for (int l = 0; l < n; l++) {
        q->act_lo[l] = q->act_hi[l] = NAN;
        if (!quant_w) {
            if (m->base_w) { /* activations only: the (pruned) float weights */
                size_t wn = weight_count(zp_graph_layer(m->g, l));
                q->weights[l] = zp_alloc(wn * sizeof(float));
                if (!q->weights[l])
                    return zp_err_set(err, ZP_ENOMEM, "out of memory");
                memcpy(q->weights[l], m->base_w[l], wn * sizeof(float));
            }
            continue;
        }
        const struct zp_layer_info *li = zp_graph_layer(m->g, l);
        size_t wn = 1;
        for (int d = 0; d < li->wndim; d++)
            wn *= (size_t)li->wshape[d];
        q->weights[l] = zp_alloc(wn * sizeof(float));
        if (!q->weights[l])
            return zp_err_set(err, ZP_ENOMEM, "out of memory");
        if (quant_weights(m, v, l, q->weights[l], &q->wqp[l], err))
            return err->status;
    }
    if (!quant_act)
        return ZP_OK;
    struct act_cal *cal = NULL;
    if (calibrate(m, k, v, prog, &cal, err))
        return err->status;
    for (int l = 0; l < n; l++) {
        const struct act_cal *a = &cal[l];
        const struct zp_scheme_config *c = &v->a;
        q->act_cfg[l] = c;
        q->act_lo[l] = a->lo;
        q->act_hi[l] = a->hi;
        if (c->scheme->fit_range) {
            if (c->scheme->fit_range(c, a->lo, a->hi, &q->act[l], err))
                goto act_fail;
        } else {
            /* Codebook schemes fit on the calibration sample, clipped to the range. */
            float *s = malloc((a->n_sample + 2) * sizeof *s);
            if (!s)
                return zp_err_set(err, ZP_ENOMEM, "out of memory");
            size_t ns = 0;
            for (size_t i = 0; i < a->n_sample; i++)
                s[ns++] = fminf(fmaxf(a->sample[i], a->lo), a->hi);
            s[ns++] = a->lo;
            s[ns++] = a->hi;
            enum zp_status st = c->scheme->fit(c, s, ns, &q->act[l], err);
            free(s);
            if (st)
                goto act_fail;
        }
        double x0, lsb;
        zp_zero_decode(c, &q->act[l], &x0, &lsb);
        q->pad[l] = (float)x0;
        if (m->mc->act_at) {
            if (!q->outq && !(q->outq = calloc((size_t)n, sizeof *q->outq)))
                return zp_err_set(err, ZP_ENOMEM, "out of memory");
            if (!c->scheme->fit_range)
                return zp_err_set(err, ZP_EUNSUPPORTED,
                                  "quantize_at \"inputs+outputs\" needs a range-based activation "
                                  "scheme, not '%s'",
                                  c->scheme->name);
            if (c->scheme->fit_range(c, a->out_lo, a->out_hi, &q->outq[l], err)) {
                zp_err_prefix(err, "output quantizer of layer '%s'", zp_graph_layer(m->g, l)->name);
                return err->status;
            }
        }
        continue;
    act_fail:
        zp_err_prefix(err, "activation quantizer of layer '%s' (range [%g, %g])",
                      zp_graph_layer(m->g, l)->name, a->lo, a->hi);
        return err->status;
    }
    return ZP_OK;
}

static void qnet_hooks(struct qnet *q, struct zp_run_hooks *h, int compare)
{
    memset(h, 0, sizeof *h);
    h->ctx = q;
    h->weights = (const float *const *)q->weights;
    h->biases = (const float *const *)q->biases;
    /* Paired (compare) runs go node by node over the batch; the rest take the
     * runtime's fast per-image schedule. */
    int hooked = compare || q->outq; /* output points exist on the batch schedule only */
    h->layer_input = q->quant_act && hooked ? quant_input : NULL;
    h->layer_input_image = q->quant_act && !hooked ? quant_input_image : NULL;
    h->layer_output_edit = q->quant_act && q->outq ? quant_output : NULL;
    h->pad_value = q->quant_act ? q->pad : NULL;
    h->layer_output = compare ? compare_output : NULL;
}

/* Allocates the float-output buffers used by paired passes. */
static enum zp_status alloc_float_out(struct qnet *q, struct zp_err *err)
{
    int n = q->m->n_layers;
    q->float_out = calloc((size_t)n, sizeof *q->float_out);
    if (!q->float_out)
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    for (int l = 0; l < n; l++) {
        q->float_out[l] =
            zp_alloc(out_size(zp_graph_layer(q->m->g, l)) * (size_t)q->m->batch * sizeof(float));
        if (!q->float_out[l])
            return zp_err_set(err, ZP_ENOMEM, "out of memory for per-layer outputs");
    }
    return ZP_OK;
}

/* One paired batch: float run capturing layer outputs, then the quantized run
 * comparing against them. logits receives the quantized logits. */
static enum zp_status paired_batch(struct qnet *q, const float *x, int bn, float *logits,
                                   struct zp_err *err)
{
    struct zp_run_hooks fh = {.ctx = q, .layer_output = capture_output,
                              .weights = (const float *const *)q->m->base_w};
    if (zp_graph_run(q->m->g, x, bn, logits, &fh, err))
        return err->status;
    struct zp_run_hooks qh;
    qnet_hooks(q, &qh, 1);
    return zp_graph_run(q->m->g, x, bn, logits, &qh, err);
}

/* Empirical bias correction (Nagel et al. 2019): layer by layer in execution
 * order, E[y' - y] per output channel is measured on the calibration examples
 * with the layers before it already corrected, and subtracted from its bias.
 * Sequential on purpose: correcting every layer from one pass would also cancel
 * the error each layer inherits from upstream, which upstream corrections then
 * remove a second time. Uses at most ZP_BC_EXAMPLES calibration examples. */
#define ZP_BC_EXAMPLES 256
static enum zp_status bias_correct(struct qnet *q, struct zp_progress *prog, struct zp_err *err)
{
    struct zp_model_ctx *m = q->m;
    int n = m->n_layers;
    const struct zp_calib_cfg *cc = &m->mc->calib[0];
    int cn = 0;
    uint32_t *idx = calib_indices(m, cc, &cn);
    if (cn > ZP_BC_EXAMPLES)
        cn = ZP_BC_EXAMPLES;
    zp_progress_note(prog, "bias correction, layer by layer, on %d calibration examples", cn);
    q->bc = calloc((size_t)n, sizeof *q->bc);
    float *batch = zp_alloc((size_t)m->batch * zp_dataset_example_size(&m->calib) * sizeof(float));
    float *logits = zp_alloc((size_t)m->batch * (size_t)m->classes * sizeof(float));
    enum zp_status st = (!q->bc || !idx || !batch || !logits)
                            ? zp_err_set(err, ZP_ENOMEM, "out of memory")
                            : ZP_OK;
    for (int l = 0; l < n && !st; l++) {
        const struct zp_layer_info *li = zp_graph_layer(m->g, l);
        q->bc[l] = zp_bias_corr_new(li->n_out);
        if (!q->bc[l]) {
            st = zp_err_set(err, ZP_ENOMEM, "out of memory");
            break;
        }
        for (int b0 = 0; b0 < cn && !st; b0 += m->batch) {
            int bn = cn - b0 < m->batch ? cn - b0 : m->batch;
            gather(&m->calib, idx + b0, bn, batch);
            st = paired_batch(q, batch, bn, logits, err);
        }
        float *corr = zp_alloc((size_t)li->n_out * sizeof(float));
        q->biases[l] = zp_alloc((size_t)li->n_out * sizeof(float));
        if (!st && (!corr || !q->biases[l]))
            st = zp_err_set(err, ZP_ENOMEM, "out of memory");
        if (!st) {
            zp_bias_corr_result(q->bc[l], corr);
            for (int64_t c = 0; c < li->n_out; c++)
                q->biases[l][c] = (li->bias ? li->bias[c] : 0.0f) - corr[c];
        }
        zp_free(corr);
        zp_bias_corr_free(q->bc[l]);
        q->bc[l] = NULL;
        zp_progress_sub(prog, 0);
    }
    free(q->bc);
    q->bc = NULL;
    free(idx);
    zp_free(batch);
    zp_free(logits);
    return st;
}

static void variant_cols(struct zp_csv *r, const struct zp_model_ctx *m,
                         const struct zp_variant *v, const struct zp_cell *cell)
{
    zp_csv_str(r, m->mc->name);
    zp_csv_str(r, m->mc->eval.name);
    zp_csv_str(r, v->w.scheme->name);
    zp_csv_str(r, v->label);
    zp_csv_int(r, v->w.bits);
    zp_csv_str(r, zp_granularity_name(v->w.granularity));
    zp_csv_str(r, zp_mode_name(cell->mode));
    zp_csv_str(r, cell->calib >= 0                           ? m->mc->calib[cell->calib].method
                  : cell->mode == ZP_MODE_QAT && v->qat_acts ? "qat-ema"
                                                             : "none");
}

static void accuracy_row(struct zp_csv *r, const struct zp_model_ctx *m,
                         const struct zp_variant *v, const struct zp_cell *cell, int quant_a,
                         const struct zp_model_metrics *mm)
{
    variant_cols(r, m, v, cell);
    if (cell->calib >= 0)
        zp_csv_int(r, m->mc->calib[cell->calib].size);
    else
        zp_csv_empty(r);
    zp_csv_bool_or_empty(r, zp_variant_nudge(&v->w));
    zp_csv_bool_or_empty(r, zp_variant_narrow(&v->w));
    zp_csv_bool(r, v->bias_correction);
    if (quant_a) {
        zp_csv_str(r, v->a.scheme->name);
        zp_csv_int(r, v->a.bits);
    } else {
        zp_csv_empty(r);
        zp_csv_empty(r);
    }
    zp_csv_str(r, v->options);
    zp_csv_int(r, mm->n);
    zp_csv_num(r, m->float_top1);
    zp_csv_num(r, mm->top1);
    zp_csv_num(r, mm->top5);
    zp_csv_num(r, (m->float_top1 - mm->top1) * 100.0);
    zp_csv_num(r, mm->agreement);
    zp_csv_num(r, mm->kl);
    zp_csv_num(r, mm->logit_sqnr_db);
    zp_csv_str(r, v->bias_int32 && quant_a && cell->mode != ZP_MODE_WEIGHTS ? "int32" : "float");
    zp_csv_str(r, v->weight_calib[0] ? v->weight_calib : "minmax");
    zp_csv_endrow(r);
}

/* Fake-quantization training: fine-tune the float checkpoint with the variant's
 * quantizers (train/qat.h), then evaluate the result exactly as a PTQ cell would
 * (weights re-quantized with the scheme, layer inputs with the ranges QAT
 * learned), against the original float model's logits. No layers.csv rows: the
 * fine-tuned layers are no longer the float model's. */
static enum zp_status qat_cell(const struct zp_config *cfg, const struct zp_cell *cell,
                               struct zp_model_ctx *m, struct zp_progress *prog,
                               struct zp_cell_out *out, const char *run_dir, struct zp_err *err)
{
    const struct zp_variant *v = &cfg->variants[cell->variant];
    if (!m->train_loaded) {
        zp_progress_note(prog, "loading dataset %s (QAT)", m->mc->train_data.name);
        if (zp_dataset_load(&m->mc->train_data.spec, &m->train, err)) {
            zp_err_prefix(err, "models[%zu].train_data", m->index);
            return err->status;
        }
        m->train_loaded = 1;
    }
    char dir[1200], path[1400];
    snprintf(dir, sizeof dir, "%s/qat", run_dir);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/%s.onnx", dir, cell->id);
    struct zp_qat_options o = {
        .checkpoint = m->mc->checkpoint, .output = path, .epochs = v->qat_epochs,
        .batch = v->qat_batch, .lr = v->qat_lr, .momentum = 0.9, .weight_decay = 5e-5,
        .seed = cfg->seed, .bn_freeze_steps = v->qat_bn_freeze, .act_ema = 0.01,
        .weights = &v->w, .acts = v->qat_acts ? &v->a : NULL, .train = &m->train,
        .eval = &m->eval, .quiet = prog->quiet};
    struct zp_qat_result *res = calloc(1, sizeof *res);
    if (!res)
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    zp_progress_note(prog, "QAT: %s, %d epochs from %s", v->label, o.epochs, o.checkpoint);
    enum zp_status st = zp_qat_finetune(&o, res, err);
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
        st = qnet_build(&q, &mq, v, 1, 0, -1, prog, err);
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
    struct zp_model_acc acc = {0};
    size_t ex = zp_dataset_example_size(&m->eval);
    for (long b0 = 0; b0 < m->n_eval && !st; b0 += m->batch) {
        int bn = (int)(m->n_eval - b0 < m->batch ? m->n_eval - b0 : m->batch);
        struct zp_run_hooks h;
        qnet_hooks(&q, &h, 0);
        st = zp_graph_run(mq.g, m->eval.x + (size_t)b0 * ex, bn, logits, &h, err);
        if (!st)
            zp_model_acc_add(&acc, m->float_logits + (size_t)b0 * (size_t)m->classes, logits,
                             m->eval.labels + b0, bn, m->classes);
    }
    if (!st) {
        struct zp_model_metrics mm;
        zp_model_acc_finish(&acc, &mm);
        accuracy_row(&out->rows[ZP_TABLE_ACCURACY], m, v, cell, v->qat_acts, &mm);
        zp_progress_note(prog, "QAT %s: top-1 %.4f (float %.4f)", v->label, mm.top1,
                         m->float_top1);
    }
    zp_free(logits);
    if (q.weights)
        qnet_free(&q);
    zp_graph_free(mq.g);
    free(res);
    return st;
}

enum zp_status zp_model_cell(const struct zp_config *cfg, const struct zp_cell *cell,
                             struct zp_model_ctx *m, struct zp_progress *prog,
                             struct zp_cell_out *out, const char *run_dir, struct zp_err *err)
{
    const struct zp_variant *v = &cfg->variants[cell->variant];
    if (cell->mode == ZP_MODE_QAT)
        return qat_cell(cfg, cell, m, prog, out, run_dir, err);
    int quant_w = cell->mode == ZP_MODE_WEIGHTS || cell->mode == ZP_MODE_BOTH;
    int quant_a = cell->mode == ZP_MODE_ACTIVATIONS || cell->mode == ZP_MODE_BOTH;
    struct qnet q;
    enum zp_status st = qnet_build(&q, m, v, quant_w, quant_a, cell->calib, prog, err);
    int n = m->n_layers;
    if (!st)
        st = alloc_float_out(&q, err);
    if (!st && v->bias_correction)
        st = bias_correct(&q, prog, err);
    if (!st && v->bias_int32 && quant_w && quant_a)
        round_biases_int32(&q);
    long stats_n = m->mc->layer_stats_samples;
    if (stats_n <= 0 || stats_n > m->n_eval)
        stats_n = m->n_eval;
    if (!st) {
        q.lacc = calloc((size_t)n, sizeof *q.lacc);
        if (!q.lacc)
            st = zp_err_set(err, ZP_ENOMEM, "out of memory");
        for (int l = 0; l < n && !st; l++) {
            const struct zp_layer_info *li = zp_graph_layer(m->g, l);
            int64_t ch = li->out_ndim > 1 ? li->out_shape[0] : (int64_t)out_size(li);
            if (zp_layer_acc_init(&q.lacc[l], ch))
                st = zp_err_set(err, ZP_ENOMEM, "out of memory");
        }
    }
    float *logits = zp_alloc((size_t)m->batch * (size_t)m->classes * sizeof(float));
    if (!st && !logits)
        st = zp_err_set(err, ZP_ENOMEM, "out of memory");
    struct zp_model_acc acc = {0};
    size_t ex = zp_dataset_example_size(&m->eval);
    for (long b0 = 0; b0 < m->n_eval && !st; b0 += m->batch) {
        int bn = (int)(m->n_eval - b0 < m->batch ? m->n_eval - b0 : m->batch);
        const float *x = m->eval.x + (size_t)b0 * ex;
        if (b0 < stats_n) {
            st = paired_batch(&q, x, bn, logits, err);
        } else {
            struct zp_run_hooks h;
            qnet_hooks(&q, &h, 0);
            st = zp_graph_run(m->g, x, bn, logits, &h, err);
        }
        if (st)
            break;
        zp_model_acc_add(&acc, m->float_logits + (size_t)b0 * (size_t)m->classes, logits,
                         m->eval.labels + b0, bn, m->classes);
        zp_progress_sub(prog, (double)(b0 + bn) / (double)m->n_eval);
    }
    if (!st) {
        struct zp_model_metrics mm;
        zp_model_acc_finish(&acc, &mm);
        accuracy_row(&out->rows[ZP_TABLE_ACCURACY], m, v, cell, quant_a, &mm);

        struct zp_csv *lr = &out->rows[ZP_TABLE_LAYERS];
        for (int l = 0; l < n; l++) {
            const struct zp_layer_info *li = zp_graph_layer(m->g, l);
            double sq, shift;
            zp_layer_acc_finish(&q.lacc[l], &sq, &shift);
            variant_cols(lr, m, v, cell);
            zp_csv_bool_or_empty(lr, zp_variant_nudge(&v->w));
            zp_csv_bool_or_empty(lr, zp_variant_narrow(&v->w));
            zp_csv_bool(lr, v->bias_correction);
            zp_csv_int(lr, l);
            zp_csv_str(lr, li->name);
            zp_csv_str(lr, li->depthwise ? "DepthwiseConv" : li->op);
            zp_csv_num(lr, sq);
            zp_csv_num(lr, shift);
            zp_csv_num(lr, m->zf_relu[l] + m->zf_pad[l]);
            zp_csv_num(lr, m->zf_relu[l]);
            zp_csv_num(lr, m->zf_pad[l]);
            if (quant_a) {
                double x0, lsb;
                zp_zero_decode(q.act_cfg[l], &q.act[l], &x0, &lsb);
                zp_csv_num(lr, fabs(x0));
                zp_csv_num(lr, lsb > 0 ? fabs(x0) / lsb : 0);
                zp_csv_num(lr, x0); /* every 0.0 of a per-tensor quantized input decodes to x0 */
                zp_csv_num(lr, q.act_lo[l]);
                zp_csv_num(lr, q.act_hi[l]);
            } else {
                for (int e = 0; e < 5; e++)
                    zp_csv_empty(lr);
            }
            if (quant_a && q.outq) { /* the quantization point at the layer output */
                double x0, lsb;
                zp_zero_decode(q.act_cfg[l], &q.outq[l], &x0, &lsb);
                zp_csv_num(lr, fabs(x0));
                zp_csv_num(lr, lsb > 0 ? fabs(x0) / lsb : 0);
            } else {
                zp_csv_empty(lr);
                zp_csv_empty(lr);
            }
            if (cell->calib >= 0)
                zp_csv_int(lr, m->mc->calib[cell->calib].size);
            else
                zp_csv_empty(lr);
            zp_csv_endrow(lr);
        }
    }
    zp_free(logits);
    qnet_free(&q);
    return st;
}

/* ---- weight histogram and each variant's levels ----------------------------- */

/* The layer shown in the histogram figure: the one with the most weights. */
static int hist_layer(const struct zp_model_ctx *m)
{
    int best = 0;
    size_t most = 0;
    for (int l = 0; l < m->n_layers; l++) {
        size_t wn = weight_count(zp_graph_layer(m->g, l));
        if (wn > most) {
            most = wn;
            best = l;
        }
    }
    return best;
}

enum zp_status zp_hist_cell(const struct zp_config *cfg, const struct zp_cell *cell,
                            struct zp_model_ctx *m, struct zp_cell_out *out, struct zp_err *err)
{
    int l = hist_layer(m);
    const struct zp_layer_info *li = zp_graph_layer(m->g, l);
    size_t wn = weight_count(li);
    const float *wt = base_weight(m, l);
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < wn; i++) {
        lo = fminf(lo, wt[i]);
        hi = fmaxf(hi, wt[i]);
    }
    enum { BINS = 120 };
    long long count[BINS] = {0};
    double w = (hi > lo) ? ((double)hi - lo) / BINS : 1.0;
    for (size_t i = 0; i < wn; i++) {
        int b = (int)(((double)wt[i] - lo) / w);
        count[b < 0 ? 0 : b >= BINS ? BINS - 1 : b]++;
    }
    struct zp_csv *h = &out->rows[ZP_TABLE_WEIGHTS_HIST];
    for (int b = 0; b < BINS; b++) {
        zp_csv_str(h, m->mc->name);
        zp_csv_str(h, li->name);
        zp_csv_num(h, lo + (b + 0.5) * w);
        zp_csv_int(h, count[b]);
        zp_csv_endrow(h);
    }
    /* Levels of each variant fitted per tensor on that layer (one set of levels
     * per figure line; per-channel variants would have one set per channel). */
    struct zp_csv *lv = &out->rows[ZP_TABLE_LEVELS];
    for (size_t vi = 0; vi < cfg->n_variants; vi++) {
        struct zp_scheme_config c = cfg->variants[vi].w;
        c.granularity = ZP_PER_TENSOR;
        struct zp_qparams p;
        memset(&p, 0, sizeof p);
        if (c.scheme->fit(&c, wt, wn, &p, err))
            return err->status;
        int32_t q0 = p.n_levels > 0 ? 0 : p.qmin, q1 = p.n_levels > 0 ? p.n_levels - 1 : p.qmax;
        if (q1 - q0 > 255)
            q1 = q0 + 255;
        for (int32_t q = q0; q <= q1; q++) {
            float x;
            c.scheme->dequantize(&c, &p, &q, &x, 1);
            zp_csv_str(lv, m->mc->name);
            zp_csv_str(lv, c.scheme->name);
            zp_csv_str(lv, cfg->variants[vi].label);
            zp_csv_str(lv, li->name);
            zp_csv_num(lv, x);
            zp_csv_endrow(lv);
        }
    }
    (void)cell;
    return ZP_OK;
}
