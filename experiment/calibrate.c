/* Activation calibration: one pass of the float network over the calibration
 * examples per calibration setting, observing every quantized layer input (and
 * output, for quantize_at outputs) with the calibrator of calib/. */
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
#include "train/qat.h"

/* ---- calibration ----------------------------------------------------------- */

/* The calibration draw of a setting over the n examples that may calibrate (the
 * select split's never do): all n indices, shuffled with the seed of replicate rep
 * (seed + rep) or in file order; the first min(size, n) are used. Caller frees. The
 * context decodes only the union of these draws when it can (model_ctx.c). */
uint32_t *mx_calib_draw(const struct zp_calib_cfg *c, uint32_t n, int rep)
{
    uint32_t *idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
    if (!idx)
        return NULL;
    for (uint32_t i = 0; i < n; i++)
        idx[i] = i;
    if (c->shuffle) {
        struct zp_rng r;
        zp_rng_seed(&r, c->seed + (uint64_t)rep);
        zp_rng_shuffle(&r, idx, n);
    }
    return idx;
}

/* The calibration examples of setting c as rows of m->calib: `size` of them (capped
 * at the dataset size), in draw order. Caller frees. */
uint32_t *mx_calib_indices(const struct zp_model_ctx *m, const struct zp_calib_cfg *c,
                               int *n_out)
{
    uint32_t n = (uint32_t)m->calib_pool;
    uint32_t *idx = mx_calib_draw(c, n, m->rep);
    if (!idx)
        return NULL;
    *n_out = c->size < (int)n ? c->size : (int)n; /* = m->calib_used[k] */
    if (m->calib_row)
        for (int i = 0; i < *n_out; i++)
            idx[i] = (uint32_t)m->calib_row[idx[i]];
    return idx;
}

int mx_cell_random(const struct zp_model_ctx *m, const struct zp_variant *v, enum zp_mode mode, int calib)
{
    if (mode == ZP_MODE_QAT) /* shuffling of the training data */
        return 1;
    const struct zp_calib_cfg *c0 = &m->mc->calib[0];
    if ((v->bias_correction || v->bias_absorption || v->rounding) && c0->shuffle) /* their calibration examples */
        return 1;
    if (calib < 0)
        return 0;
    /* a shuffled subset, or a codebook fitted on the reservoir sample (seeded) */
    return m->mc->calib[calib].shuffle || !v->a.scheme->fit_range;
}

struct calib_obs {
    struct zp_model_ctx *m;
    struct zp_calib **cal;
    struct zp_calib **cal_out; /* outputs, when the model quantizes them */
    struct act_cal *out;
    struct zp_rng rng;
    int sample;      /* draw the reservoir sample (only schemes without fit_range use it) */
    long long *seen;
    struct zp_err *err;
    enum zp_status st;
    /* The batch being run, per layer: its inputs (and outputs before the
     * activation), batch x in_size (out_size) each, filled image by image. */
    float **in, **outv;
    /* Min / max without a batch (ext_add): slots 0..n_layers-1 the layer inputs
     * (min / max calibration), then 2 per MatMul of two activations (its operands,
     * quantize_attention); per thread lo, hi per slot, and the first non-finite
     * value seen (slot, image; -1: none). */
    int n_slots, amm0; /* amm0: the first attention slot */
    const int64_t *amm_n; /* 2 operand sizes per MatMul */
    float *ext;
    int (*bad)[2];
};

/* Extremes are order-free, so each image's tensor reduces into its thread's slot
 * here, without a copy, and the slots reduce at the end (ext_range): the same
 * range on any number of threads as observing every batch. */
static void ext_add(struct calib_obs *o, int thread, int slot, int image, const float *x, size_t n)
{
    float lo, hi;
    size_t bad = zp_calib_extremes(x, n, &lo, &hi);
    float *e = o->ext + ((size_t)thread * (size_t)o->n_slots + (size_t)slot) * 2;
    e[0] = lo < e[0] ? lo : e[0];
    e[1] = hi > e[1] ? hi : e[1];
    if (bad < n && o->bad[thread][0] < 0) {
        o->bad[thread][0] = slot;
        o->bad[thread][1] = image;
    }
}

static void ext_range(const struct calib_obs *o, int slot, float *lo, float *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int t = 0; t < zp_graph_max_threads(); t++) {
        const float *e = o->ext + ((size_t)t * (size_t)o->n_slots + (size_t)slot) * 2;
        *lo = e[0] < *lo ? e[0] : *lo;
        *hi = e[1] > *hi ? e[1] : *hi;
    }
}

/* min / max calibration: one image's layer input */
static void observe_direct(void *ctx, int layer, int image, int thread, const float *x)
{
    struct calib_obs *o = ctx;
    ext_add(o, thread, layer, image, x, mx_in_size(zp_graph_layer(o->m->g, layer)));
}

/* quantize_attention: one image's two operands of MatMul i of two activations */
static void observe_amm_image(void *ctx, int i, int image, int thread, float *a, float *b)
{
    struct calib_obs *o = ctx;
    ext_add(o, thread, o->amm0 + 2 * i, image, a, (size_t)o->amm_n[2 * i]);
    ext_add(o, thread, o->amm0 + 2 * i + 1, image, b, (size_t)o->amm_n[2 * i + 1]);
}

/* The calibrators take whole batches (ema averages per-batch extremes; the
 * histograms' range starts from the first batch's; the reservoir sample draws
 * its random numbers value after value), so the per-image hooks of the fast
 * schedule only copy each image into its slot of the batch, and the observers
 * below run after the batch, layer by layer in execution order as a batch hook
 * would have: the same values in the same order, the same ranges. */
static void capture_input_image(void *ctx, int layer, int image, int thread, const float *x)
{
    struct calib_obs *o = ctx;
    size_t n = mx_in_size(zp_graph_layer(o->m->g, layer));
    memcpy(o->in[layer] + (size_t)image * n, x, n * sizeof *x);
}

static void capture_output_image(void *ctx, int layer, int image, int thread, const float *y)
{
    struct calib_obs *o = ctx;
    size_t n = mx_out_size(zp_graph_layer(o->m->g, layer));
    memcpy(o->outv[layer] + (size_t)image * n, y, n * sizeof *y);
}

static void observe_calib(struct calib_obs *o, int layer, const float *x, int batch)
{
    if (o->st)
        return;
    size_t n = mx_in_size(zp_graph_layer(o->m->g, layer)) * (size_t)batch;
    o->st = zp_calib_observe(o->cal[layer], x, n, o->err);
    if (o->st) {
        zp_err_prefix(o->err, "input of layer '%s'", zp_graph_layer(o->m->g, layer)->name);
        return;
    }
    if (!o->sample)
        return;
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
void mx_probe_symmetric(const struct zp_scheme_config *c, int *symmetric, int *narrow)
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

static void observe_calib_out(struct calib_obs *o, int layer, const float *y, int batch)
{
    if (o->st)
        return;
    const struct zp_layer_info *li = zp_graph_layer(o->m->g, layer);
    o->st = zp_calib_observe(o->cal_out[layer], y, mx_out_size(li) * (size_t)batch, o->err);
    if (o->st)
        zp_err_prefix(o->err, "output of layer '%s'", li->name);
}

/* Batch buffers for the captures: NULL entries on no memory (the caller checks). */
static float **batch_buffers(const struct zp_model_ctx *m, int outputs)
{
    float **b = calloc((size_t)m->n_layers, sizeof *b);
    for (int l = 0; b && l < m->n_layers; l++) {
        const struct zp_layer_info *li = zp_graph_layer(m->g, l);
        size_t n = outputs ? mx_out_size(li) : mx_in_size(li);
        b[l] = zp_alloc(n * (size_t)m->batch * sizeof(float));
    }
    return b;
}

static int buffers_ok(const float *const *b, int n)
{
    for (int l = 0; b && l < n; l++)
        if (!b[l])
            return 0;
    return b != NULL;
}

static void buffers_free(float **b, int n)
{
    for (int l = 0; b && l < n; l++)
        zp_free(b[l]);
    free(b);
}

/* The calibrated ranges for setting k and the variant's activation quantizer. */

enum zp_status mx_calibrate(struct zp_model_ctx *m, int k, const struct zp_variant *v,
                                struct zp_progress *prog, struct act_cal **result,
                                const float **amm, struct zp_err *err)
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
    mx_probe_symmetric(&v->a, &co.symmetric, &co.narrow_range);
    int shaped = method == ZP_CALIB_MSE || method == ZP_CALIB_KL;
    /* The reservoir draws one random number per value past the first ACT_SAMPLE: a
     * sixth of a calibration pass, spent only for the codebook activations that fit
     * on it. An entry without it serves every other cell of the replicate. */
    int sample = !v->a.scheme->fit_range;
    /* attention operand ranges: only for the cells that quantize them, in the same pass */
    const int n_amm = amm ? zp_graph_num_act_matmuls(m->g) : 0;
    for (int i = 0; i < m->n_cal; i++) {
        const struct cal_entry *e = &m->cal[i];
        if (e->k == k && e->rep == m->rep && e->ptq == m->ptq_tag && (e->sampled || !sample) &&
            (e->amm || !n_amm) &&
            (!shaped || (e->bits == co.bits && e->symmetric == co.symmetric && e->narrow == co.narrow_range))) {
            *result = e->layers;
            if (amm)
                *amm = e->amm;
            return ZP_OK;
        }
    }
    if (m->n_cal == (int)(sizeof m->cal / sizeof m->cal[0])) {
        /* Full (many replicates x settings): drop the oldest. A cached entry is only
         * read while a cell's network is built, so none is in use here. */
        for (int l = 0; l < m->n_layers; l++)
            free(m->cal[0].layers[l].sample);
        free(m->cal[0].layers);
        free(m->cal[0].amm);
        memmove(&m->cal[0], &m->cal[1], (size_t)(m->n_cal - 1) * sizeof m->cal[0]);
        m->n_cal--;
    }
    zp_progress_note(prog, "calibrating activation ranges: %s on %d examples of %s", cc->method,
                     m->calib_used[k], m->mc->calib_data.name);
    struct act_cal *out = calloc((size_t)m->n_layers, sizeof *out);
    struct zp_calib **cal = calloc((size_t)m->n_layers * 2, sizeof *cal);
    long long *seen = calloc((size_t)m->n_layers, sizeof *seen);
    int n = 0;
    uint32_t *idx = mx_calib_indices(m, cc, &n);
    float *batch = zp_alloc((size_t)m->batch * zp_dataset_example_size(&m->calib) * sizeof(float));
    float *logits = zp_alloc((size_t)m->batch * (size_t)m->classes * sizeof(float));
    int64_t *amm_n = n_amm ? malloc((size_t)n_amm * 2 * sizeof *amm_n) : NULL;
    float *amm_out = n_amm ? malloc((size_t)n_amm * 4 * sizeof *amm_out) : NULL;
    enum zp_status st = ZP_OK;
    if (!out || !cal || !seen || !idx || !batch || !logits) {
        st = zp_err_set(err, ZP_ENOMEM, "calibration: out of memory");
        goto out;
    }
    for (int l = 0; l < m->n_layers && !st; l++) {
        out[l].sample = sample ? malloc(ACT_SAMPLE * sizeof(float)) : NULL;
        out[l].out_lo = out[l].out_hi = NAN;
        cal[l] = zp_calib_new(&co, err);
        if (m->mc->act_at && cal[l])
            cal[m->n_layers + l] = zp_calib_new(&co, err);
        if ((sample && !out[l].sample) || !cal[l] || (m->mc->act_at && !cal[m->n_layers + l]))
            st = err->status ? err->status : zp_err_set(err, ZP_ENOMEM, "out of memory");
    }
    struct calib_obs obs = {.m = m, .cal = cal, .cal_out = cal ? cal + m->n_layers : NULL,
                            .out = out, .sample = sample, .seen = seen, .err = err};
    /* min / max needs no batch: each image's inputs reduce into per-thread extremes */
    const int direct = method == ZP_CALIB_MINMAX && !sample && !m->mc->act_at;
    const int nt = zp_graph_max_threads();
    obs.amm0 = direct ? m->n_layers : 0;
    obs.n_slots = obs.amm0 + 2 * n_amm;
    obs.amm_n = amm_n;
    if (!st && obs.n_slots) {
        obs.ext = malloc((size_t)nt * (size_t)obs.n_slots * 2 * sizeof *obs.ext);
        obs.bad = malloc((size_t)nt * sizeof *obs.bad);
        if (!obs.ext || !obs.bad || (n_amm && (!amm_n || !amm_out)))
            st = zp_err_set(err, ZP_ENOMEM, "calibration: out of memory");
        for (size_t i = 0; !st && i < (size_t)nt * (size_t)obs.n_slots; i++) {
            obs.ext[2 * i] = INFINITY;
            obs.ext[2 * i + 1] = -INFINITY;
        }
        for (int t = 0; !st && t < nt; t++)
            obs.bad[t][0] = obs.bad[t][1] = -1;
        for (int i = 0; !st && i < n_amm; i++)
            zp_graph_act_matmul(m->g, i, &amm_n[2 * i], &amm_n[2 * i + 1]);
    }
    if (!st && !direct) {
        obs.in = batch_buffers(m, 0);
        obs.outv = m->mc->act_at ? batch_buffers(m, 1) : NULL;
        if (!buffers_ok((const float *const *)obs.in, m->n_layers) ||
            (m->mc->act_at && !buffers_ok((const float *const *)obs.outv, m->n_layers)))
            st = zp_err_set(err, ZP_ENOMEM, "calibration: out of memory for a batch of %d "
                            "layer inputs", m->batch);
    }
    zp_rng_seed(&obs.rng, (cc->seed + (uint64_t)m->rep) ^ 0x5eed);
    for (int b0 = 0; b0 < n && !st; b0 += m->batch) {
        int bn = n - b0 < m->batch ? n - b0 : m->batch;
        mx_gather(&m->calib, idx + b0, bn, batch);
        struct zp_run_hooks h = {.ctx = &obs,
                                 .layer_input_observe_image = direct ? observe_direct : capture_input_image,
                                 .layer_output_image = m->mc->act_at ? capture_output_image : NULL,
                                 .act_matmul_image = n_amm ? observe_amm_image : NULL,
                                 .weights = (const float *const *)m->base_w,
                                 .biases = (const float *const *)m->base_b, .act_hi = (const float *const *)m->act_hi};
        st = zp_graph_run(m->g, batch, bn, logits, &h, err);
        for (int l = 0; l < m->n_layers && !st && !direct; l++) {
            observe_calib(&obs, l, obs.in[l], bn);
            if (m->mc->act_at)
                observe_calib_out(&obs, l, obs.outv[l], bn);
        }
        if (!st && obs.st)
            st = obs.st;
        zp_progress_sub(prog, 0);
    }
    for (int t = 0; obs.n_slots && !st && t < nt; t++) {
        const int sl = obs.bad[t][0];
        if (sl >= obs.amm0)
            st = zp_err_set(err, ZP_EINVAL, "operand %c of MatMul '%s': calibration example %d of a batch "
                            "holds a non-finite value; expected finite values", (sl - obs.amm0) % 2 ? 'b' : 'a',
                            zp_graph_act_matmul(m->g, (sl - obs.amm0) / 2, NULL, NULL), obs.bad[t][1]);
        else if (sl >= 0)
            st = zp_err_set(err, ZP_EINVAL, "input of layer '%s': calibration example %d of a batch holds a "
                            "non-finite value; expected finite values",
                            zp_graph_layer(m->g, sl)->name, obs.bad[t][1]);
    }
    for (int l = 0; direct && !st && l < m->n_layers; l++) {
        float e[2];
        ext_range(&obs, l, &e[0], &e[1]);
        if (e[0] <= e[1] && (st = zp_calib_observe(cal[l], e, 2, err)))
            zp_err_prefix(err, "input of layer '%s'", zp_graph_layer(m->g, l)->name);
    }
    for (int i = 0; !st && i < 2 * n_amm; i++) /* lo, hi of operand a, then of b */
        ext_range(&obs, obs.amm0 + i, &amm_out[2 * i], &amm_out[2 * i + 1]);
    free(obs.ext);
    free(obs.bad);
    buffers_free(obs.in, m->n_layers);
    buffers_free(obs.outv, m->n_layers);
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
    free(amm_n);
    free(idx);
    zp_free(batch);
    zp_free(logits);
    if (st) {
        if (out)
            for (int l = 0; l < m->n_layers; l++)
                free(out[l].sample);
        free(out);
        free(amm_out);
        zp_err_prefix(err, "calibration (%s)", cc->method);
        return st;
    }
    m->cal[m->n_cal++] = (struct cal_entry){k, co.bits, co.symmetric, co.narrow_range, m->rep, sample, m->ptq_tag, out,
                                            amm_out};
    *result = out;
    if (amm)
        *amm = amm_out;
    return ZP_OK;
}
