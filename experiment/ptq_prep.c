/* A cell's post-training passes on the float network before it is quantized:
 * cross-layer equalization and high-bias absorption (ptq/), on copies of the
 * float weights and biases that the cell's every run then uses (model_ctx.h,
 * base_b). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "experiment/model_ctx.h"
#include "model/graph.h"
#include "ptq/bias_absorb.h"
#include "ptq/equalize.h"

/* The per-image statistics of the absorption pass: for each image of a batch,
 * one accumulator per first layer of a pair (NULL for other layers), written by
 * the worker thread that runs the image, merged in image order after the batch. */
struct hba_pass {
    const struct zp_model_ctx *m;
    int batch;
    struct zp_hba_stats *img; /* batch x n_layers views into buf */
    double *buf;
    struct zp_hba_stats *total; /* n_layers */
};

static void observe_output_image(void *ctx, int layer, int image, int thread, const float *y)
{
    struct hba_pass *p = ctx;
    struct zp_hba_stats *s = &p->img[(size_t)image * (size_t)p->m->n_layers + (size_t)layer];
    if (s->channels)
        zp_hba_stats_add(s, y, mx_out_spatial(zp_graph_layer(p->m->g, layer)));
}

/* The pairs absorption works on: (s, l) joined by a ReLU or a ReLU6 (its clamp
 * per channel: act_hi), both layers convolutions equalization handles. */
static int absorb_source(const struct zp_model_ctx *m, int l, float **w, float **b,
                         float **act_hi, struct zp_cle_layer *a, struct zp_cle_layer *bl)
{
    int s = zp_graph_layer_source(m->g, l);
    if (s < 0 || !zp_graph_layer(m->g, s)->relu_after)
        return -1;
    if (!zp_cle_layer_of(m->g, s, w[s], b[s], act_hi[s], a) ||
        !zp_cle_layer_of(m->g, l, w[l], b[l], act_hi[l], bl) || zp_cle_in_channels(bl) != a->out)
        return -1;
    return s;
}

/* Statistics of the pre-activation outputs of every first layer of an absorption
 * pair on the calibration examples, through the network as transformed so far,
 * then the absorption itself. */
static enum zp_status absorb(struct zp_model_ctx *m, int k, float **w, float **b, float **act_hi,
                             struct zp_progress *prog, struct zp_err *err)
{
    const int n = m->n_layers;
    if (m->mc->n_calib < 1)
        return zp_err_set(err, ZP_ECONFIG, "%s: bias_absorption needs calibration data (the "
                          "model's \"calibration\")", m->mc->path);
    int *src = malloc((size_t)n * sizeof *src);
    struct zp_cle_layer *L = calloc((size_t)n * 2, sizeof *L);
    struct hba_pass p = {.m = m, .batch = m->batch};
    p.total = calloc((size_t)n, sizeof *p.total);
    p.img = calloc((size_t)n * (size_t)m->batch, sizeof *p.img);
    if (!src || !L || !p.total || !p.img) {
        free(src), free(L), free(p.total), free(p.img);
        return zp_err_set(err, ZP_ENOMEM, "bias absorption: out of memory");
    }
    size_t per_img = 0;
    enum zp_status st = ZP_OK;
    for (int l = 0; l < n; l++) {
        src[l] = absorb_source(m, l, w, b, act_hi, &L[2 * l], &L[2 * l + 1]);
        int s = src[l];
        if (s < 0)
            continue;
        if (!p.total[s].channels) {
            if (!zp_hba_stats_init(&p.total[s], L[2 * l].out))
                st = zp_err_set(err, ZP_ENOMEM, "bias absorption: out of memory");
            per_img += (size_t)L[2 * l].out * 3;
        }
    }
    p.buf = st ? NULL : calloc(per_img * (size_t)m->batch + 1, sizeof *p.buf);
    if (!st && !p.buf)
        st = zp_err_set(err, ZP_ENOMEM, "bias absorption: out of memory");
    for (int i = 0; i < m->batch && !st; i++) { /* views: n, sum, sq per channel */
        double *at = p.buf + per_img * (size_t)i;
        for (int l = 0; l < n; l++) {
            int64_t C = p.total[l].channels;
            if (!C)
                continue;
            p.img[(size_t)i * (size_t)n + (size_t)l] =
                (struct zp_hba_stats){.channels = C, .n = at, .sum = at + C, .sq = at + 2 * C};
            at += 3 * C;
        }
    }
    const struct zp_calib_cfg *cc = &m->mc->calib[k];
    int cn = 0;
    uint32_t *idx = st ? NULL : mx_calib_indices(m, cc, &cn);
    float *batch = zp_alloc((size_t)m->batch * zp_dataset_example_size(&m->calib) * sizeof(float));
    float *logits = zp_alloc((size_t)m->batch * (size_t)m->classes * sizeof(float));
    if (!st && (!idx || !batch || !logits))
        st = zp_err_set(err, ZP_ENOMEM, "bias absorption: out of memory");
    if (!st)
        zp_progress_note(prog, "bias absorption: pre-activation statistics on %d calibration examples", cn);
    for (int b0 = 0; b0 < cn && !st; b0 += m->batch) {
        int bn = cn - b0 < m->batch ? cn - b0 : m->batch;
        mx_gather(&m->calib, idx + b0, bn, batch);
        memset(p.buf, 0, per_img * (size_t)m->batch * sizeof *p.buf);
        struct zp_run_hooks h = {.ctx = &p, .layer_output_image = observe_output_image,
                                 .weights = (const float *const *)w,
                                 .biases = (const float *const *)b,
                                 .act_hi = (const float *const *)act_hi};
        st = zp_graph_run(m->g, batch, bn, logits, &h, err);
        for (int i = 0; i < bn && !st; i++)
            for (int l = 0; l < n; l++)
                if (p.total[l].channels)
                    zp_hba_stats_merge(&p.total[l], &p.img[(size_t)i * (size_t)n + (size_t)l]);
        zp_progress_sub(prog, 0);
    }
    int absorbed = 0;
    for (int l = 0; l < n && !st; l++) {
        int s = src[l];
        if (s < 0)
            continue;
        int64_t C = p.total[s].channels;
        double *mean = malloc((size_t)C * 2 * sizeof *mean);
        float *c = malloc((size_t)C * sizeof *c);
        if (!mean || !c) {
            free(mean), free(c);
            st = zp_err_set(err, ZP_ENOMEM, "bias absorption: out of memory");
            break;
        }
        zp_hba_stats_result(&p.total[s], mean, mean + C);
        zp_hba_amounts(mean, mean + C, C, c);
        zp_hba_absorb(&L[2 * l], &L[2 * l + 1], c);
        absorbed++;
        free(mean), free(c);
    }
    if (!st)
        zp_progress_note(prog, "bias absorption: %d layer pairs", absorbed);
    for (int l = 0; l < n; l++)
        zp_hba_stats_free(&p.total[l]);
    free(src), free(L), free(p.total), free(p.img), free(p.buf), free(idx);
    zp_free(batch);
    zp_free(logits);
    return st;
}

static void free_arrays(float **a, int n)
{
    for (int l = 0; a && l < n; l++)
        zp_free(a[l]);
    free(a);
}

static void free_clamps(float **a, int n)
{
    for (int l = 0; a && l < n; l++)
        free(a[l]);
    free(a);
}

enum zp_status mx_ptq_prepare(struct zp_model_ctx *m, const struct zp_variant *v, int calib,
                              struct zp_progress *prog, struct mx_ptq_saved *saved,
                              struct zp_err *err)
{
    memset(saved, 0, sizeof *saved);
    if (!v->equalize && !v->bias_absorption)
        return ZP_OK;
    const int n = m->n_layers;
    float **w = calloc((size_t)n, sizeof *w), **b = calloc((size_t)n, sizeof *b);
    float **act_hi = calloc((size_t)n, sizeof *act_hi);
    enum zp_status st = w && b && act_hi && zp_cle_relu6_clamps(m->g, act_hi)
                            ? ZP_OK
                            : zp_err_set(err, ZP_ENOMEM, "out of memory");
    for (int l = 0; l < n && !st; l++) {
        const struct zp_layer_info *li = zp_graph_layer(m->g, l);
        size_t wn = mx_weight_count(li);
        const float *b0 = mx_base_bias(m, l);
        /* every layer gets a bias: absorption may give one to a layer that had none */
        w[l] = zp_alloc(wn * sizeof(float));
        b[l] = zp_calloc((size_t)li->n_out, sizeof(float));
        if (!w[l] || !b[l]) {
            st = zp_err_set(err, ZP_ENOMEM, "out of memory");
            break;
        }
        memcpy(w[l], mx_base_weight(m, l), wn * sizeof(float));
        if (b0)
            memcpy(b[l], b0, (size_t)li->n_out * sizeof(float));
    }
    if (!st && v->equalize) {
        struct zp_cle_report rep;
        st = zp_cle_graph(m->g, w, b, act_hi, &rep, err);
        if (!st)
            zp_progress_note(prog, "cross-layer equalization: %d layer pairs (%d through a ReLU6, "
                             "its clip now per channel), %d sweeps (last max |ln s| %.2g)",
                             rep.pairs, rep.relu6_pairs, rep.sweeps, rep.last_change);
    }
    if (!st && v->bias_absorption)
        st = absorb(m, calib >= 0 ? calib : 0, w, b, act_hi, prog, err);
    if (st) {
        free_arrays(w, n);
        free_arrays(b, n);
        free_clamps(act_hi, n);
        return st;
    }
    saved->on = 1;
    saved->base_w = m->base_w;
    m->base_w = w;
    m->base_b = b;
    m->act_hi = act_hi;
    m->ptq_tag = 1 + v->equalize + 2 * v->bias_absorption;
    return ZP_OK;
}

void mx_ptq_restore(struct zp_model_ctx *m, struct mx_ptq_saved *saved)
{
    if (!saved->on)
        return;
    free_arrays(m->base_w, m->n_layers);
    free_arrays(m->base_b, m->n_layers);
    free_clamps(m->act_hi, m->n_layers);
    m->base_w = saved->base_w;
    m->base_b = NULL;
    m->act_hi = NULL;
    m->ptq_tag = 0;
    saved->on = 0;
}
