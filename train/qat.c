/* Quantization-aware training (see train/qat.h). */
#include "train/qat.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "schemes/granularity.h"
#include "train/gtrain.h"
#include "train/trainer.h"

/* The range inside which the straight-through gradient passes for one slice. */
static void slice_range(const struct zp_scheme_config *cfg, const struct zp_qparams *p, float *lo,
                        float *hi)
{
    const struct zp_scheme *s = cfg->scheme;
    const int affine = s->clip_range ? s->clip_range == zp_affine_clip_range : p->n_levels == 0;
    if (s->clip_range) {
        s->clip_range(cfg, p, lo, hi);
    } else {
        int32_t q[2];
        float v[2];
        q[0] = p->n_levels > 0 ? 0 : p->qmin;
        q[1] = p->n_levels > 0 ? p->n_levels - 1 : p->qmax;
        s->dequantize(cfg, p, q, v, 2);
        *lo = fminf(v[0], v[1]);
        *hi = fmaxf(v[0], v[1]);
    }
    /* An integer grid: a value rounds onto the end code, not clipped, up to half a
     * step beyond the end level (the mask of PyTorch's fake_quantize: round(x/s)+z
     * inside [qmin, qmax]). Without this the value that set the range can sit one
     * float ulp outside [qmin*s, qmax*s] (the symmetric scale is rounded toward
     * zero so that the bottom code is reached) and lose its gradient. */
    if (affine && p->qmax > p->qmin) {
        float half = 0.5f * (*hi - *lo) / (float)(p->qmax - p->qmin);
        *lo -= half;
        *hi += half;
    }
}

enum zp_status zp_qat_fake_quant(const struct zp_scheme_config *cfg, const float *x,
                                 const int64_t *shape, int ndim, float *out, uint8_t *mask,
                                 struct zp_err *err)
{
    if (cfg->granularity != ZP_PER_TENSOR && cfg->axis != 0)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "qat: weights: per-channel / per-group need axis 0 (output "
                          "channels), got axis %d",
                          cfg->axis);
    struct zp_tensor_qparams qp = {0};
    enum zp_status st = zp_tensor_fit(cfg, x, shape, ndim, "qat weights", &qp, err);
    if (st != ZP_OK)
        return st;
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    zp_tensor_apply(cfg, &qp, x, shape, ndim, out, NULL);
    /* slice of element e (axis 0): channel e / chan_len, group (e % chan_len) / gsize */
    size_t chan_len = cfg->granularity == ZP_PER_TENSOR ? n : n / (size_t)shape[0];
    size_t gsize = cfg->granularity == ZP_PER_GROUP ? (size_t)cfg->group_size : chan_len;
    size_t groups = (chan_len + gsize - 1) / gsize;
    for (size_t sl = 0; sl < qp.n_slices; sl++) {
        float lo, hi;
        slice_range(cfg, &qp.slice[sl], &lo, &hi);
        size_t c = sl / groups, g = sl % groups;
        size_t e0 = c * chan_len + g * gsize;
        size_t e1 = e0 + gsize < (c + 1) * chan_len ? e0 + gsize : (c + 1) * chan_len;
        for (size_t e = e0; e < e1 && e < n; e++)
            mask[e] = x[e] >= lo && x[e] <= hi;
    }
    zp_tensor_qparams_free(&qp);
    return ZP_OK;
}

/* Per quantized layer (graph layer order). */
struct zp_qat_layer {
    int bn;             /* zp_tgraph_bn index of the BN that reads the layer alone, or -1 */
    int64_t shape[4];   /* weight shape, axis 0 output channels */
    int ndim;
    float *w_fold;      /* w * fold scale */
    float *scale;       /* per output channel fold scale (1 without BN) */
    float lo, hi;       /* input range (EMA) */
    int seen;           /* training batches observed */
};

struct zp_qat_state {
    struct zp_gtrain *gt;
    struct zp_scheme_config wcfg, acfg;
    int has_acts;
    double ema;
    long freeze_after, steps;
    int n;
    struct zp_qat_layer *L;
};

/* Weight transform (model/graph_train.h zp_weight_fn): fold with the BN's running
 * statistics, fake-quantize with the scheme, unfold. */
static enum zp_status weight_fn(void *ctx, int layer, const float *w, size_t n, float *out,
                                uint8_t *mask, struct zp_err *err)
{
    struct zp_qat_state *s = ctx;
    struct zp_qat_layer *q = &s->L[layer];
    const int64_t O = q->shape[0];
    const size_t per = n / (size_t)O;
    if (q->bn >= 0) {
        struct zp_bn_view v;
        zp_tgraph_bn(s->gt->t, q->bn, &v);
        for (int64_t o = 0; o < O; o++)
            q->scale[o] = (float)(v.gamma[o] / sqrt((double)v.var[o] + v.eps));
    }
    for (int64_t o = 0; o < O; o++)
        for (size_t j = 0; j < per; j++)
            q->w_fold[o * per + j] = w[o * per + j] * q->scale[o];
    enum zp_status st = zp_qat_fake_quant(&s->wcfg, q->w_fold, q->shape, q->ndim, out, mask, err);
    if (st != ZP_OK)
        return st;
    /* A fold scale of 0 (gamma = 0) makes the channel constant: any weight works. */
    for (int64_t o = 0; o < O; o++) {
        float sc = q->scale[o];
        for (size_t j = 0; j < per; j++)
            out[o * per + j] = sc != 0.0f ? out[o * per + j] / sc : 0.0f;
    }
    return ZP_OK;
}

/* Input fake-quant (zp_input_fn) with the tracked range; before any training
 * batch there is no range and the input passes unchanged. */
static enum zp_status input_fn(void *ctx, int layer, float *x, size_t n, int train, uint8_t *mask,
                               struct zp_err *err)
{
    struct zp_qat_state *s = ctx;
    struct zp_qat_layer *q = &s->L[layer];
    if (train) {
        float mn = FLT_MAX, mx = -FLT_MAX; /* min / max: order-independent, so threads are fine */
#pragma omp parallel for schedule(static) reduction(min : mn) reduction(max : mx)
        for (size_t i = 0; i < n; i++) {
            mn = x[i] < mn ? x[i] : mn;
            mx = x[i] > mx ? x[i] : mx;
        }
        if (!q->seen) {
            q->lo = mn;
            q->hi = mx;
        } else {
            q->lo = (float)((1.0 - s->ema) * q->lo + s->ema * mn);
            q->hi = (float)((1.0 - s->ema) * q->hi + s->ema * mx);
        }
        q->seen++;
    }
    if (!q->seen) {
        memset(mask, 1, n);
        return ZP_OK;
    }
    return zp_qat_fake_quant_range(&s->acfg, q->lo, q->hi, x, n, x, mask, err);
}

enum zp_status zp_qat_fake_quant_range(const struct zp_scheme_config *cfg, float lo, float hi,
                                       const float *x, size_t n, float *out, uint8_t *mask,
                                       struct zp_err *err)
{
    struct zp_qparams p;
    enum zp_status st;
    const struct zp_scheme *sc = cfg->scheme;
    if (sc->fit_range) {
        st = sc->fit_range(cfg, lo, hi, &p, err);
    } else { /* codebook schemes fit on the data clipped to the range */
        float *tmp = malloc((n ? n : 1) * sizeof(float));
        if (!tmp)
            return zp_err_set(err, ZP_ENOMEM, "qat: out of memory");
        for (size_t i = 0; i < n; i++)
            tmp[i] = fminf(fmaxf(x[i], lo), hi);
        st = sc->fit(cfg, tmp, n, &p, err);
        free(tmp);
    }
    if (st != ZP_OK)
        return st;
    float clo, chi;
    slice_range(cfg, &p, &clo, &chi);
    /* elementwise with one set of parameters: chunks run on all threads */
    const size_t chunk = 16384;
    const long n_chunks = (long)((n + chunk - 1) / chunk);
#pragma omp parallel for schedule(static)
    for (long c = 0; c < n_chunks; c++) {
        size_t i0 = (size_t)c * chunk, i1 = i0 + chunk < n ? i0 + chunk : n;
        for (size_t i = i0; i < i1; i++)
            mask[i] = x[i] >= clo && x[i] <= chi;
        zp_fake_quant_run(cfg, &p, x + i0, out + i0, i1 - i0, NULL);
    }
    return ZP_OK;
}

/* BN freezing (Jacob et al.): after freeze_after steps every BN normalizes with
 * its running statistics, the deployed graph's folding. */
static void before_step(void *ctx, struct zp_gtrain *gt)
{
    struct zp_qat_state *s = ctx;
    if (s->steps >= s->freeze_after)
        zp_tgraph_freeze_bn(gt->t, 1);
    s->steps++;
}

enum zp_status zp_qat_attach(struct zp_gtrain *gt, const struct zp_scheme_config *weights,
                             const struct zp_scheme_config *acts, double act_ema,
                             long bn_freeze_steps, struct zp_qat_state **out, struct zp_err *err)
{
    *out = NULL;
    if (!weights || !weights->scheme)
        return zp_err_set(err, ZP_EINVAL, "qat: a weight scheme is required");
    if (weights->granularity != ZP_PER_TENSOR && weights->axis != 0)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "qat: weights: per-channel / per-group need axis 0 (output "
                          "channels), got axis %d",
                          weights->axis);
    struct zp_qat_state *s = calloc(1, sizeof *s);
    if (!s)
        return zp_err_set(err, ZP_ENOMEM, "qat: out of memory");
    s->gt = gt;
    s->wcfg = *weights;
    s->has_acts = acts != NULL;
    if (acts) {
        s->acfg = *acts;
        s->acfg.granularity = ZP_PER_TENSOR; /* one range per layer input */
    }
    s->ema = act_ema > 0 && act_ema <= 1 ? act_ema : 0.01;
    s->freeze_after = bn_freeze_steps;
    s->n = zp_graph_num_layers(gt->g);
    s->L = calloc((size_t)(s->n ? s->n : 1), sizeof *s->L);
    if (!s->L) {
        free(s);
        return zp_err_set(err, ZP_ENOMEM, "qat: out of memory");
    }
    enum zp_status st = ZP_OK;
    for (int l = 0; l < s->n && st == ZP_OK; l++) {
        const struct zp_layer_info *L = zp_graph_layer(gt->g, l);
        struct zp_qat_layer *q = &s->L[l];
        size_t nw = 1;
        q->ndim = L->wndim;
        for (int d = 0; d < L->wndim; d++)
            nw *= (size_t)(q->shape[d] = L->wshape[d]);
        q->bn = zp_tgraph_bn_after_layer(gt->t, l);
        q->w_fold = zp_alloc(nw * sizeof(float));
        q->scale = malloc((size_t)q->shape[0] * sizeof(float));
        if (!q->w_fold || !q->scale) {
            st = zp_err_set(err, ZP_ENOMEM, "qat: out of memory");
            break;
        }
        for (int64_t o = 0; o < q->shape[0]; o++)
            q->scale[o] = 1.0f;
        st = zp_tgraph_set_weight_fn(gt->t, l, weight_fn, s, err);
        if (st == ZP_OK && acts)
            st = zp_tgraph_set_input_fn(gt->t, l, input_fn, s, err);
    }
    if (st != ZP_OK) {
        zp_qat_detach(gt, s);
        return st;
    }
    gt->before_step = before_step;
    gt->step_ctx = s;
    *out = s;
    return ZP_OK;
}

void zp_qat_detach(struct zp_gtrain *gt, struct zp_qat_state *s)
{
    if (!s)
        return;
    struct zp_err err;
    for (int l = 0; l < s->n; l++) {
        zp_tgraph_set_weight_fn(gt->t, l, NULL, NULL, &err);
        zp_tgraph_set_input_fn(gt->t, l, NULL, NULL, &err);
        zp_free(s->L[l].w_fold);
        free(s->L[l].scale);
    }
    zp_tgraph_freeze_bn(gt->t, 0);
    gt->before_step = NULL;
    gt->step_ctx = NULL;
    free(s->L);
    free(s);
}

/* epochs 0 (post-training quantization): activation ranges from the moving
 * average over CALIB_BATCHES training batches, BN frozen (running statistics),
 * no weight update. */
#define CALIB_BATCHES 20
static enum zp_status calibrate(struct zp_gtrain *gt, const struct zp_qat_options *opt,
                                struct zp_err *err)
{
    const size_t ex = zp_dataset_example_size(opt->train);
    enum zp_status st = ZP_OK;
    zp_tgraph_freeze_bn(gt->t, 1);
    for (int b = 0; st == ZP_OK && b < CALIB_BATCHES; b++) {
        int64_t s0 = (int64_t)b * opt->batch;
        if (s0 + opt->batch > opt->train->n)
            break;
        st = zp_tgraph_forward(gt->t, opt->train->x + (size_t)s0 * ex, opt->batch, 1, NULL, err);
    }
    return st;
}

/* Bias-corrected starting biases need a graph without BatchNormalization: its
 * batch statistics would undo them. The one place that says so, for
 * set_start_biases and for a runner's preflight (zp_qat_check_bias_start). */
static enum zp_status bias_start_allowed(const struct zp_gtrain *gt, const char *checkpoint,
                                         struct zp_err *err)
{
    int n_bn = zp_tgraph_num_bn(gt->t);
    if (n_bn > 0)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "qat: checkpoint '%s': starting from bias-corrected biases needs a "
                          "graph without BatchNormalization (%d BN nodes; batch statistics "
                          "undo the correction): give a BN-folded ONNX checkpoint or "
                          "\"bias_correction\": \"none\"",
                          checkpoint, n_bn);
    return ZP_OK;
}

enum zp_status zp_qat_check_bias_start(const char *checkpoint, struct zp_err *err)
{
    struct zp_gtrain *gt = NULL;
    int done = 0;
    enum zp_status st = zp_gtrain_checkpoint_open(checkpoint, 1, &gt, &done, err);
    if (st == ZP_OK)
        st = bias_start_allowed(gt, checkpoint, err);
    zp_gtrain_free(gt);
    return st;
}

/* Installs opt->init_bias into the student (after the float evaluation: the
 * teacher, loaded separately, keeps the checkpoint's biases). */
static enum zp_status set_start_biases(struct zp_gtrain *gt, const struct zp_qat_options *opt,
                                       struct zp_err *err)
{
    if (bias_start_allowed(gt, opt->checkpoint, err))
        return err->status;
    if (opt->n_init_bias != zp_graph_num_layers(gt->g))
        return zp_err_set(err, ZP_EINVAL, "qat: %s: %d starting biases for %d layers",
                          opt->checkpoint, opt->n_init_bias, zp_graph_num_layers(gt->g));
    for (int l = 0; l < opt->n_init_bias; l++) {
        if (!opt->init_bias[l])
            continue;
        const struct zp_layer_info *li = zp_graph_layer(gt->g, l);
        const struct zp_gparam *p = NULL;
        for (int i = 0; i < gt->n_params && !p; i++) {
            const struct zp_gparam *c = zp_tgraph_param(gt->t, i);
            p = c->kind == ZP_GPARAM_BIAS && c->layer == l ? c : NULL;
        }
        /* a layer without a bias would silently lose its correction */
        if (!p || p->n != (size_t)li->n_out)
            return zp_err_set(err, ZP_EUNSUPPORTED,
                              "qat: %s: layer '%s' has no bias of %lld values to start "
                              "bias-corrected",
                              opt->checkpoint, li->name, (long long)li->n_out);
        memcpy(p->w, opt->init_bias[l], p->n * sizeof(float));
    }
    return ZP_OK;
}

static enum zp_status finetune(struct zp_gtrain *gt, struct zp_gtrain *teacher,
                               struct zp_qat_state *q, const struct zp_qat_options *opt,
                               struct zp_qat_result *res, struct zp_err *err)
{
    struct zp_sgd sgd = {.lr = opt->lr, .momentum = opt->momentum,
                         .weight_decay = opt->weight_decay, .optimizer = opt->optimizer,
                         .schedule = ZP_LR_COSINE};
    const long spe = opt->train->n / opt->batch;
    const double T = opt->temperature > 0 ? opt->temperature : 1.0;
    long step = 0;
    enum zp_status st = ZP_OK;
    res->first_loss = res->last_loss = NAN;
    for (int e = 0; e < opt->epochs && st == ZP_OK; e++) {
        struct zp_epoch_stats es;
        if (teacher)
            st = zp_qat_distill_epoch(gt, teacher, opt->train, &sgd, opt->batch, opt->hflip, T,
                                      opt->alpha, opt->seed, e, &step, spe * opt->epochs, &es,
                                      err);
        else
            st = zp_gtrain_epoch(gt, opt->train, &sgd, opt->batch, opt->hflip, opt->seed, e,
                                 &step, spe * opt->epochs, &es, err);
        if (st != ZP_OK)
            break;
        if (e == 0)
            res->first_loss = es.loss;
        res->last_loss = es.loss;
        double acc = 0.0;
        if (!opt->quiet && (st = zp_gtrain_evaluate(gt, opt->eval, &acc, err)) == ZP_OK)
            fprintf(stderr, "qat: epoch %d/%d  loss %.4f  train %s %.4f  eval top1 %.4f  "
                            "%.0f examples/s\n",
                    e + 1, opt->epochs, es.loss, teacher ? "teacher agreement" : "top1", es.top1,
                    acc, es.examples_per_s);
    }
    if (st == ZP_OK && opt->epochs == 0 && opt->acts)
        st = calibrate(gt, opt, err);
    if (st == ZP_OK)
        st = zp_gtrain_evaluate(gt, opt->eval, &res->qat_top1, err);
    res->n_layers = q->n;
    for (int k = 0; k < q->n; k++) {
        res->act_lo[k] = q->has_acts ? q->L[k].lo : 0.0f;
        res->act_hi[k] = q->has_acts ? q->L[k].hi : 0.0f;
    }
    return st;
}

enum zp_status zp_qat_finetune(const struct zp_qat_options *opt, struct zp_qat_result *res,
                               struct zp_err *err)
{
    memset(res, 0, sizeof *res);
    if (!opt->checkpoint || !opt->output || !opt->train || !opt->eval || opt->epochs < 0 ||
        opt->batch < 2 || !(opt->lr > 0) || opt->temperature < 0 ||
        !(opt->alpha >= 0 && opt->alpha <= 1))
        return zp_err_set(err, ZP_EINVAL,
                          "qat: options need checkpoint, output, train and eval data, epochs >= "
                          "0, batch >= 2, lr > 0, temperature >= 0 and alpha in 0..1");
    zp_train_flush_denormals();
    struct zp_gtrain *gt = NULL;
    int epochs_done = 0;
    enum zp_status st = zp_gtrain_checkpoint_open(opt->checkpoint, opt->batch, &gt, &epochs_done,
                                                  err);
    if (st == ZP_OK)
        st = zp_gtrain_check_data(gt, opt->train, "qat: training data", err);
    if (st == ZP_OK)
        st = zp_gtrain_check_data(gt, opt->eval, "qat: evaluation data", err);
    if (st == ZP_OK && zp_graph_num_layers(gt->g) > ZP_QAT_MAX_LAYERS)
        st = zp_err_set(err, ZP_EUNSUPPORTED, "qat: %s: %d layers, at most %d", opt->checkpoint,
                        zp_graph_num_layers(gt->g), ZP_QAT_MAX_LAYERS);
    if (st != ZP_OK) {
        zp_gtrain_free(gt);
        return st;
    }
    /* fresh momentum: the float run's buffers belong to another loss surface */
    zp_gtrain_reset_momentum(gt);
    st = zp_gtrain_evaluate(gt, opt->eval, &res->float_top1, err);
    if (st == ZP_OK && opt->init_bias)
        st = set_start_biases(gt, opt, err);
    /* the teacher: the same float model, loaded again so that it never changes */
    struct zp_gtrain *teacher = NULL;
    if (st == ZP_OK && opt->loss == ZP_QAT_LOSS_DISTILL && opt->epochs > 0)
        st = zp_gtrain_checkpoint_open(opt->checkpoint, opt->batch, &teacher, &epochs_done, err);
    struct zp_qat_state *q = NULL;
    if (st == ZP_OK)
        st = zp_qat_attach(gt, opt->weights, opt->acts, opt->act_ema,
                           opt->epochs ? opt->bn_freeze_steps : 0, &q, err);
    if (st == ZP_OK)
        st = finetune(gt, teacher, q, opt, res, err);
    zp_qat_detach(gt, q);
    zp_gtrain_free(teacher);
    if (st == ZP_OK) {
        char doc[512];
        snprintf(doc, sizeof doc,
                 "zeropoint QAT from %s: weights %s %d-bit, activations %s; %d epochs, lr %g, "
                 "loss %s; seed %llu; QAT top1 %.4f (float %.4f)",
                 opt->checkpoint, opt->weights->scheme->name, opt->weights->bits,
                 opt->acts ? opt->acts->scheme->name : "float", opt->epochs, opt->lr,
                 opt->loss == ZP_QAT_LOSS_DISTILL ? "distill" : "xent",
                 (unsigned long long)opt->seed, res->qat_top1, res->float_top1);
        st = zp_gtrain_export(gt, opt->output, doc, err);
        snprintf(res->onnx_path, sizeof res->onnx_path, "%s", opt->output);
    }
    zp_gtrain_free(gt);
    return st;
}
