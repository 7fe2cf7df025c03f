/* Quantization-aware training (see train/qat.h). */
#include "train/qat.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "train/onnx_export.h"
#include "schemes/granularity.h"
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

struct zp_qat_layer {
    int index;          /* graph layer order */
    int bn;             /* index of the BN that follows, or -1 */
    float *w_fold;      /* w * fold scale */
    float *w_eff;       /* fq(w_fold) / fold scale: what the layer computes with */
    uint8_t *wmask;
    float *scale;       /* per output channel fold scale (1 without BN) */
    float lo, hi;       /* activation range (EMA) */
    int seen;           /* batches observed */
    uint8_t *amask;     /* straight-through mask of the input, batch capacity */
    size_t amask_cap;
};

struct zp_qat_state {
    struct zp_tnet *net;
    struct zp_scheme_config wcfg, acfg;
    int has_acts;
    double ema;
    long freeze_after, steps;
    int n;
    struct zp_qat_layer *L;
    struct zp_err err; /* first error met inside a hook */
};

static int is_quant_layer(const struct zp_tlayer *l)
{
    return l->kind == ZP_TL_CONV || l->kind == ZP_TL_DWCONV || l->kind == ZP_TL_FC;
}

static int out_channels(const struct zp_tlayer *l)
{
    return l->kind == ZP_TL_DWCONV ? l->c_in : l->c_out;
}

static void weight_shape(const struct zp_tlayer *l, int64_t shape[4], int *ndim)
{
    if (l->kind == ZP_TL_FC) {
        shape[0] = l->c_out;
        shape[1] = l->c_in;
        *ndim = 2;
        return;
    }
    shape[0] = out_channels(l);
    shape[1] = l->kind == ZP_TL_DWCONV ? 1 : l->c_in;
    shape[2] = l->k;
    shape[3] = l->k;
    *ndim = 4;
}

/* Fake-quantizes the folded weights of layer l into q->w_eff (every step). */
static enum zp_status quantize_weights(struct zp_qat_state *s, struct zp_tlayer *l,
                                       struct zp_qat_layer *q)
{
    const struct zp_tnet *net = s->net;
    const int O = out_channels(l);
    const size_t nw = l->p[0].n, per = nw / (size_t)O;
    if (q->bn >= 0) {
        const struct zp_tlayer *bn = &net->L[q->bn];
        for (int o = 0; o < O; o++)
            q->scale[o] = (float)(bn->p[0].w[o] / sqrt((double)bn->run_var[o] + bn->eps));
    }
    for (int o = 0; o < O; o++)
        for (size_t j = 0; j < per; j++)
            q->w_fold[o * per + j] = l->p[0].w[o * per + j] * q->scale[o];
    int64_t shape[4];
    int ndim;
    weight_shape(l, shape, &ndim);
    enum zp_status st =
        zp_qat_fake_quant(&s->wcfg, q->w_fold, shape, ndim, q->w_eff, q->wmask, &s->err);
    if (st != ZP_OK)
        return st;
    /* A fold scale of 0 (gamma = 0) makes the channel constant: any weight works. */
    for (int o = 0; o < O; o++) {
        float sc = q->scale[o];
        for (size_t j = 0; j < per; j++)
            q->w_eff[o * per + j] = sc != 0.0f ? q->w_eff[o * per + j] / sc : 0.0f;
    }
    l->w_eff = q->w_eff;
    return ZP_OK;
}

/* Fake-quantizes a layer input in place with the tracked range. */
static enum zp_status quantize_input(struct zp_qat_state *s, struct zp_tlayer *l,
                                     struct zp_qat_layer *q, float *x, int batch, int train)
{
    const size_t n = (size_t)batch * l->c_in * l->h_in * l->w_in;
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
    if (!q->seen)
        return ZP_OK; /* evaluation before any training batch: no range yet */
    if (n > q->amask_cap) {
        free(q->amask);
        q->amask = malloc(n);
        q->amask_cap = q->amask ? n : 0;
        if (!q->amask)
            return zp_err_set(&s->err, ZP_ENOMEM, "qat: out of memory");
    }
    return zp_qat_fake_quant_range(&s->acfg, q->lo, q->hi, x, n, x, q->amask, &s->err);
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

static struct zp_qat_layer *find(struct zp_qat_state *s, const struct zp_tlayer *l)
{
    return (struct zp_qat_layer *)l->q;
}

static void pre_forward(void *ctx, struct zp_tlayer *l, float *x, int batch, int train)
{
    struct zp_qat_state *s = ctx;
    struct zp_qat_layer *q = find(s, l);
    if (s->err.status != ZP_OK)
        return;
    if (q->index == 0 && train) {
        /* BN freezing (Jacob et al.): after freeze_after steps every BN normalizes
         * with its running statistics, the deployed graph's folding */
        if (s->steps >= s->freeze_after)
            for (int i = 0; i < s->net->n_layers; i++)
                if (s->net->L[i].kind == ZP_TL_BN)
                    s->net->L[i].bn_frozen = 1;
        s->steps++;
    }
    if (quantize_weights(s, l, q) != ZP_OK)
        return;
    if (s->has_acts)
        quantize_input(s, l, q, x, batch, train);
}

static void post_backward(void *ctx, struct zp_tlayer *l, float *dx, int batch)
{
    struct zp_qat_state *s = ctx;
    struct zp_qat_layer *q = find(s, l);
    for (size_t i = 0; i < l->p[0].n; i++)
        l->p[0].g[i] *= (float)q->wmask[i];
    if (dx && s->has_acts && q->seen && q->amask) {
        const size_t n = (size_t)batch * l->c_in * l->h_in * l->w_in;
        for (size_t i = 0; i < n; i++)
            dx[i] *= (float)q->amask[i];
    }
}

enum zp_status zp_qat_attach(struct zp_tnet *net, const struct zp_scheme_config *weights,
                             const struct zp_scheme_config *acts, double act_ema,
                             long bn_freeze_steps, struct zp_qat_state **out, struct zp_err *err)
{
    *out = NULL;
    if (!weights || !weights->scheme)
        return zp_err_set(err, ZP_EINVAL, "qat: a weight scheme is required");
    struct zp_qat_state *s = calloc(1, sizeof *s);
    if (!s)
        return zp_err_set(err, ZP_ENOMEM, "qat: out of memory");
    s->net = net;
    s->wcfg = *weights;
    s->has_acts = acts != NULL;
    if (acts) {
        s->acfg = *acts;
        s->acfg.granularity = ZP_PER_TENSOR; /* one range per layer input */
    }
    s->ema = act_ema > 0 && act_ema <= 1 ? act_ema : 0.01;
    s->freeze_after = bn_freeze_steps;
    zp_err_clear(&s->err);
    for (int i = 0; i < net->n_layers; i++)
        s->n += is_quant_layer(&net->L[i]);
    s->L = calloc((size_t)(s->n ? s->n : 1), sizeof *s->L);
    if (!s->L) {
        free(s);
        return zp_err_set(err, ZP_ENOMEM, "qat: out of memory");
    }
    int k = 0;
    for (int i = 0; i < net->n_layers; i++) {
        struct zp_tlayer *l = &net->L[i];
        if (!is_quant_layer(l))
            continue;
        struct zp_qat_layer *q = &s->L[k];
        q->index = k++;
        q->bn = (i + 1 < net->n_layers && net->L[i + 1].kind == ZP_TL_BN) ? i + 1 : -1;
        const int O = out_channels(l);
        q->w_fold = zp_alloc(l->p[0].n * sizeof(float));
        q->w_eff = zp_alloc(l->p[0].n * sizeof(float));
        q->wmask = malloc(l->p[0].n);
        q->scale = malloc((size_t)O * sizeof(float));
        if (!q->w_fold || !q->w_eff || !q->wmask || !q->scale) {
            zp_qat_detach(net, s);
            return zp_err_set(err, ZP_ENOMEM, "qat: out of memory");
        }
        for (int o = 0; o < O; o++)
            q->scale[o] = 1.0f;
        l->q = (struct zp_qat_layer *)q;
    }
    net->hook_ctx = s;
    net->pre_forward = pre_forward;
    net->post_backward = post_backward;
    *out = s;
    return ZP_OK;
}

void zp_qat_detach(struct zp_tnet *net, struct zp_qat_state *s)
{
    if (!s)
        return;
    for (int i = 0; i < net->n_layers; i++) {
        net->L[i].q = NULL;
        net->L[i].w_eff = NULL;
        if (net->L[i].kind == ZP_TL_BN)
            net->L[i].bn_frozen = 0;
    }
    net->hook_ctx = NULL;
    net->pre_forward = NULL;
    net->post_backward = NULL;
    for (int k = 0; k < s->n; k++) {
        zp_free(s->L[k].w_fold);
        zp_free(s->L[k].w_eff);
        free(s->L[k].wmask);
        free(s->L[k].scale);
        free(s->L[k].amask);
    }
    free(s->L);
    free(s);
}

enum zp_status zp_qat_status(const struct zp_qat_state *q, struct zp_err *err)
{
    if (q->err.status != ZP_OK)
        return zp_err_set(err, q->err.status, "%s", q->err.msg);
    return ZP_OK;
}

/* epochs 0 (post-training quantization): activation ranges from the moving
 * average over CALIB_BATCHES training batches, BN frozen (running statistics),
 * no weight update. */
#define CALIB_BATCHES 20
static enum zp_status calibrate(struct zp_tnet *net, const struct zp_qat_options *opt,
                                struct zp_err *err)
{
    const size_t ex = zp_dataset_example_size(opt->train);
    enum zp_status st = zp_tnet_reserve(net, opt->batch, err);
    for (int b = 0; st == ZP_OK && b < CALIB_BATCHES; b++) {
        int64_t s0 = (int64_t)b * opt->batch;
        if (s0 + opt->batch > opt->train->n)
            break;
        zp_tnet_forward(net, opt->train->x + (size_t)s0 * ex, opt->batch, 1);
    }
    return st;
}

enum zp_status zp_qat_finetune(const struct zp_qat_options *opt, struct zp_qat_result *res,
                               struct zp_err *err)
{
    memset(res, 0, sizeof *res);
    if (!opt->checkpoint || !opt->output || !opt->train || !opt->eval || opt->epochs < 0 ||
        opt->batch < 2 || !(opt->lr > 0))
        return zp_err_set(err, ZP_EINVAL,
                          "qat: options need checkpoint, output, train and eval data, epochs >= "
                          "0, batch >= 2 and lr > 0");
    zp_train_flush_denormals();
    const int blas_threads = zp_train_blas_threads(1);
    struct zp_tnet *net = NULL;
    int epochs_done = 0;
    enum zp_status st = zp_checkpoint_open(opt->checkpoint, &net, &epochs_done, err);
    if (st != ZP_OK) {
        zp_train_blas_threads(blas_threads);
        return st;
    }
    if (opt->train->c != net->in_c || opt->train->h != net->in_h || opt->train->w != net->in_w ||
        opt->eval->c != net->in_c || opt->eval->h != net->in_h || opt->eval->w != net->in_w) {
        zp_tnet_free(net);
        zp_train_blas_threads(blas_threads);
        return zp_err_set(err, ZP_EINVAL, "qat: %s: the model takes %dx%dx%d inputs, the data is "
                                          "%lldx%lldx%lld",
                          opt->checkpoint, net->in_c, net->in_h, net->in_w,
                          (long long)opt->train->c, (long long)opt->train->h,
                          (long long)opt->train->w);
    }
    /* fresh momentum: the float run's buffers belong to another loss surface */
    for (int i = 0; i < net->n_layers; i++)
        for (int j = 0; j < net->L[i].n_params; j++)
            memset(net->L[i].p[j].m, 0, net->L[i].p[j].n * sizeof(float));
    res->float_top1 = zp_train_evaluate(net, opt->eval, 500);
    struct zp_qat_state *q = NULL;
    st = zp_qat_attach(net, opt->weights, opt->acts, opt->act_ema,
                       opt->epochs ? opt->bn_freeze_steps : 0, &q, err);
    if (st != ZP_OK) {
        zp_tnet_free(net);
        zp_train_blas_threads(blas_threads);
        return st;
    }
    if (q->n > ZP_QAT_MAX_LAYERS) {
        zp_qat_detach(net, q);
        zp_tnet_free(net);
        zp_train_blas_threads(blas_threads);
        return zp_err_set(err, ZP_EUNSUPPORTED, "qat: %d layers, at most %d", q->n,
                          ZP_QAT_MAX_LAYERS);
    }
    struct zp_sgd sgd = {.lr = opt->lr, .momentum = opt->momentum,
                         .weight_decay = opt->weight_decay, .schedule = ZP_LR_COSINE};
    const long spe = opt->train->n / opt->batch;
    long step = 0;
    for (int e = 0; e < opt->epochs && st == ZP_OK; e++) {
        struct zp_epoch_stats es;
        st = zp_train_epoch(net, opt->train, &sgd, opt->batch, 0, opt->seed, e, &step,
                            spe * opt->epochs, &es, err);
        if (st == ZP_OK)
            st = zp_qat_status(q, err);
        if (st == ZP_OK && !opt->quiet) {
            double acc = zp_train_evaluate(net, opt->eval, 500);
            fprintf(stderr, "qat: epoch %d/%d  loss %.4f  train top1 %.4f  eval top1 %.4f  "
                            "%.0f examples/s\n",
                    e + 1, opt->epochs, es.loss, es.top1, acc, es.examples_per_s);
        }
    }
    if (st == ZP_OK && opt->epochs == 0 && opt->acts)
        st = calibrate(net, opt, err);
    if (st == ZP_OK) {
        res->qat_top1 = zp_train_evaluate(net, opt->eval, 500);
        st = zp_qat_status(q, err);
    }
    res->n_layers = q->n;
    for (int k = 0; k < q->n; k++) {
        res->act_lo[k] = q->has_acts ? q->L[k].lo : 0.0f;
        res->act_hi[k] = q->has_acts ? q->L[k].hi : 0.0f;
    }
    zp_qat_detach(net, q);
    if (st == ZP_OK) {
        char doc[512];
        snprintf(doc, sizeof doc,
                 "zeropoint QAT from %s: weights %s %d-bit, activations %s; %d epochs, lr %g, "
                 "seed %llu; QAT top1 %.4f (float %.4f)",
                 opt->checkpoint, opt->weights->scheme->name, opt->weights->bits,
                 opt->acts ? opt->acts->scheme->name : "float", opt->epochs, opt->lr,
                 (unsigned long long)opt->seed, res->qat_top1, res->float_top1);
        st = zp_onnx_export(net, opt->output, "qat", doc, err);
        snprintf(res->onnx_path, sizeof res->onnx_path, "%s", opt->output);
    }
    zp_tnet_free(net);
    zp_train_blas_threads(blas_threads);
    return st;
}
