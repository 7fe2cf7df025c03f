/* The "rounding" of a cell's weights (GPTQ, AdaRound: ptq/, docs/ptq.md) over
 * the model: layer by layer in execution order, each layer's inputs collected
 * from calibration examples run through the network as the cell has it so far
 * (the layers before already rounded, their inputs quantized when the cell
 * quantizes activations), its weights rounded onto the grid already fitted
 * (q->wqp), then the next layer. Like bias correction (qnet.c), sequential on
 * purpose: each layer sees and compensates the error of the layers before. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/rng.h"
#include "experiment/model_ctx.h"
#include "ptq/adaround.h"
#include "ptq/gptq.h"

/* Runtime hooks that pass everything to `inner` and copy each image's input of
 * one layer, as the layer reads it (after the inner input quantization), to its
 * slot of buf. */
struct capture {
    const struct zp_graph *g;
    struct zp_run_hooks inner;
    int layer;
    size_t n; /* values per image */
    float *buf;
};

static void capture_input(void *ctx, int layer, int image, int thread, const float *x, float *out)
{
    struct capture *c = ctx;
    size_t n = mx_in_size(zp_graph_layer(c->g, layer));
    if (c->inner.layer_input_image)
        c->inner.layer_input_image(c->inner.ctx, layer, image, thread, x, out);
    else
        memcpy(out, x, n * sizeof *out);
    if (layer == c->layer)
        memcpy(c->buf + (size_t)image * c->n, out, c->n * sizeof *out);
}

static void pass_output_edit(void *ctx, int layer, int image, int thread, float *y)
{
    struct capture *c = ctx;
    c->inner.layer_output_edit_image(c->inner.ctx, layer, image, thread, y);
}

static void pass_amm(void *ctx, int i, int image, int thread, float *a, float *b)
{
    struct capture *c = ctx;
    c->inner.act_matmul_image(c->inner.ctx, i, image, thread, a, b);
}

/* bn examples x through the network with `inner`'s weights and quantizers;
 * layer l's inputs into buf (bn x its input size). */
static enum zp_status run_capture(struct zp_model_ctx *m, const struct zp_run_hooks *inner, int l,
                                  const float *x, int bn, float *buf, float *logits,
                                  struct zp_err *err)
{
    struct capture c = {.g = m->g, .inner = *inner, .layer = l, .buf = buf,
                        .n = mx_in_size(zp_graph_layer(m->g, l))};
    struct zp_run_hooks h = *inner;
    h.ctx = &c;
    h.layer_input_observe_image = NULL;
    h.layer_input_image = capture_input;
    h.layer_output_edit_image = inner->layer_output_edit_image ? pass_output_edit : NULL;
    h.act_matmul_image = inner->act_matmul_image ? pass_amm : NULL;
    h.layer_output_image = NULL;
    return zp_graph_run(m->g, x, bn, logits, &h, err);
}

/* The buffers of the passes, sized for the largest layer. */
struct pass {
    struct qnet *q;
    uint32_t *idx;
    int cn;
    float *batch, *logits, *in_q, *in_f, *cols, *cols_f, *scratch;
};

static enum zp_status gptq_layer(struct pass *ps, int l, const struct zp_scheme_config *cfg,
                                 const struct zp_layer_mat *lm, struct zp_progress *prog,
                                 struct zp_err *err)
{
    struct qnet *q = ps->q;
    struct zp_model_ctx *m = q->m;
    const struct zp_layer_info *li = zp_graph_layer(m->g, l);
    struct zp_run_hooks qh;
    mx_qnet_hooks(q, &qh, 0);
    float pad = q->quant_act ? q->pad[l] : 0.0f;
    size_t in_n = mx_in_size(li);
    struct zp_gptq_hessian h;
    if (zp_gptq_hessian_init(&h, lm->groups, lm->k, err))
        return err->status;
    enum zp_status st = ZP_OK;
    for (int b0 = 0; b0 < ps->cn && !st; b0 += m->batch) {
        int bn = ps->cn - b0 < m->batch ? ps->cn - b0 : m->batch;
        mx_gather(&m->calib, ps->idx + b0, bn, ps->batch);
        st = run_capture(m, &qh, l, ps->batch, bn, ps->in_q, ps->logits, err);
        for (int i = 0; i < bn && !st; i++) /* in image order: the sums do not depend on threads */
            for (int64_t g = 0; g < lm->groups; g++) {
                zp_layer_cols(li, lm, ps->in_q + (size_t)i * in_n, g, pad, ps->scratch, ps->cols);
                zp_gptq_hessian_add(&h, g, ps->cols, lm->positions);
            }
    }
    struct zp_gptq_report rep;
    if (!st)
        st = zp_gptq_layer(cfg, &q->wqp[l], lm, mx_base_weight(m, l), &h, &q->v->rounding_opts,
                           q->weights[l], &rep, err);
    if (!st)
        zp_progress_note(prog, "GPTQ layer %d '%s': output error %.4g (nearest %.4g)%s", l,
                         li->name, rep.err_gptq, rep.err_nearest,
                         rep.dampening > q->v->rounding_opts.dampening ? ", dampening raised" : "");
    zp_gptq_hessian_free(&h);
    return st;
}

/* AdaRound's rows: per example up to `per` random output positions, for each the
 * quantized network's input row of every group (x: groups x n x k) and the float
 * layer's output on the float network's input (t: groups x n x rows_out). */
static enum zp_status adaround_layer(struct pass *ps, int l, const struct zp_scheme_config *cfg,
                                     const struct zp_layer_mat *lm, struct zp_progress *prog,
                                     struct zp_err *err)
{
    struct qnet *q = ps->q;
    struct zp_model_ctx *m = q->m;
    /* replicate r draws its rows and batches from seed + r (docs/statistics.md) */
    struct zp_rounding_opts opts = q->v->rounding_opts;
    opts.seed += (uint64_t)m->rep;
    const struct zp_rounding_opts *o = &opts;
    const struct zp_layer_info *li = zp_graph_layer(m->g, l);
    const float *w = mx_base_weight(m, l);
    struct zp_run_hooks qh, fh = {.weights = (const float *const *)m->base_w};
    mx_qnet_hooks(q, &qh, 0);
    float pad = q->quant_act ? q->pad[l] : 0.0f;
    size_t in_n = mx_in_size(li);
    const int64_t G = lm->groups, k = lm->k, R = lm->rows_out, P = lm->positions;
    /* rows: the option, at most every position, at most 64M floats of inputs */
    int64_t rows = o->rows, cap = ((int64_t)64 << 20) / (G * k);
    rows = rows < (int64_t)ps->cn * P ? rows : (int64_t)ps->cn * P;
    rows = rows < cap ? rows : cap;
    int64_t per = (rows + ps->cn - 1) / ps->cn;
    per = per < P ? per : P;
    float *x = zp_alloc((size_t)(G * ps->cn * per * k) * sizeof(float));
    float *t = zp_alloc((size_t)(G * ps->cn * per * R) * sizeof(float));
    uint32_t *pos = malloc((size_t)P * sizeof *pos);
    float *wq = zp_alloc((size_t)(R * k) * sizeof(float));
    if (!x || !t || !pos || !wq) {
        zp_free(x), zp_free(t), free(pos), zp_free(wq);
        return zp_err_set(err, ZP_ENOMEM, "out of memory for AdaRound's rows of layer '%s'",
                          li->name);
    }
    struct zp_rng rng;
    zp_rng_seed(&rng, o->seed + (uint64_t)l * 7919u);
    enum zp_status st = ZP_OK;
    int64_t n = 0; /* rows kept per group */
    for (int b0 = 0; b0 < ps->cn && !st; b0 += m->batch) {
        int bn = ps->cn - b0 < m->batch ? ps->cn - b0 : m->batch;
        mx_gather(&m->calib, ps->idx + b0, bn, ps->batch);
        st = run_capture(m, &qh, l, ps->batch, bn, ps->in_q, ps->logits, err);
        if (!st)
            st = run_capture(m, &fh, l, ps->batch, bn, ps->in_f, ps->logits, err);
        for (int i = 0; i < bn && !st; i++) {
            for (uint32_t p = 0; p < (uint32_t)P; p++)
                pos[p] = p;
            zp_rng_shuffle(&rng, pos, (uint32_t)P); /* the first `per` */
            for (int64_t g = 0; g < G; g++) {
                zp_layer_cols(li, lm, ps->in_q + (size_t)i * in_n, g, pad, ps->scratch, ps->cols);
                zp_layer_cols(li, lm, ps->in_f + (size_t)i * in_n, g, 0.0f, ps->scratch,
                              ps->cols_f);
                const float *wg = w + g * R * k;
                for (int64_t s = 0; s < per; s++) {
                    int64_t p = pos[s], row = g * ps->cn * per + n + s;
                    for (int64_t j = 0; j < k; j++)
                        x[row * k + j] = ps->cols[j * P + p];
                    for (int64_t r = 0; r < R; r++) {
                        double acc = 0;
                        for (int64_t j = 0; j < k; j++)
                            acc += (double)wg[r * k + j] * ps->cols_f[j * P + p];
                        t[row * R + r] = (float)acc;
                    }
                }
            }
            n += per;
        }
    }
    double e_near = 0, e_ada = 0;
    int64_t changed = 0, total = 0;
    for (int64_t g = 0; g < G && !st; g++) {
        struct zp_adaround_report rep;
        st = zp_adaround_group(cfg, &q->wqp[l], lm, g, w + g * R * k, x + g * ps->cn * per * k,
                               t + g * ps->cn * per * R, n, o, wq, &rep, err);
        if (!st) {
            memcpy(q->weights[l] + g * R * k, wq, (size_t)(R * k) * sizeof *wq);
            e_near += rep.err_nearest;
            e_ada += rep.err_adaround;
            changed += rep.n_changed;
            total += rep.n_weights;
        }
    }
    if (!st)
        zp_progress_note(prog,
                         "AdaRound layer %d '%s': reconstruction error %.4g (nearest %.4g) on %lld "
                         "rows, %lld of %lld weights rounded the other way",
                         l, li->name, e_ada, e_near, (long long)n, (long long)changed,
                         (long long)total);
    zp_free(x), zp_free(t), free(pos), zp_free(wq);
    return st;
}

enum zp_status mx_ptq_round(struct qnet *q, struct zp_progress *prog, struct zp_err *err)
{
    struct zp_model_ctx *m = q->m;
    const struct zp_variant *v = q->v;
    if (v->rounding == ZP_ROUND_NEAREST || !q->weights)
        return ZP_OK;
    struct pass ps = {.q = q};
    ps.idx = mx_calib_indices(m, &m->mc->calib[0], &ps.cn);
    if (ps.cn > v->rounding_opts.examples)
        ps.cn = v->rounding_opts.examples;
    size_t max_in = 1, max_cols = 1, max_plane = 1;
    for (int l = 0; l < m->n_layers; l++) {
        const struct zp_layer_info *li = zp_graph_layer(m->g, l);
        struct zp_layer_mat lm;
        if (zp_layer_mat_of(li, &lm, err)) {
            free(ps.idx);
            return err->status;
        }
        size_t in = mx_in_size(li), cols = (size_t)(lm.k * lm.positions);
        size_t plane = li->in_ndim == 3 ? (size_t)(li->in_shape[1] * li->in_shape[2]) : 1;
        max_in = in > max_in ? in : max_in;
        max_cols = cols > max_cols ? cols : max_cols;
        max_plane = plane > max_plane ? plane : max_plane;
    }
    int ada = v->rounding == ZP_ROUND_ADAROUND;
    ps.batch = zp_alloc((size_t)m->batch * zp_dataset_example_size(&m->calib) * sizeof(float));
    ps.logits = zp_alloc((size_t)m->batch * (size_t)m->classes * sizeof(float));
    ps.in_q = zp_alloc((size_t)m->batch * max_in * sizeof(float));
    ps.in_f = ada ? zp_alloc((size_t)m->batch * max_in * sizeof(float)) : NULL;
    ps.cols = zp_alloc(max_cols * sizeof(float));
    ps.cols_f = ada ? zp_alloc(max_cols * sizeof(float)) : NULL;
    ps.scratch = zp_alloc(max_plane * sizeof(float));
    enum zp_status st = ZP_OK;
    if (!ps.idx || !ps.batch || !ps.logits || !ps.in_q || !ps.cols || !ps.scratch ||
        (ada && (!ps.in_f || !ps.cols_f)))
        st = zp_err_set(err, ZP_ENOMEM, "out of memory");
    else if (ps.cn < 1)
        st = zp_err_set(err, ZP_ECONFIG, "model '%s': rounding \"%s\" needs calibration examples",
                        m->mc->name, zp_rounding_name(v->rounding));
    if (!st)
        zp_progress_note(prog, "rounding %s, layer by layer, on %d calibration examples",
                         zp_rounding_name(v->rounding), ps.cn);
    for (int l = 0; l < m->n_layers && !st; l++) {
        const struct zp_layer_info *li = zp_graph_layer(m->g, l);
        const struct zp_scheme_config *cfg = mx_layer_wcfg(m, v, l, NULL);
        if (!cfg) /* kept float by an override: nothing to round */
            continue;
        char what[300];
        snprintf(what, sizeof what, "%s: weights of layer '%s'", m->mc->path, li->name);
        struct zp_layer_mat lm;
        st = zp_layer_mat_of(li, &lm, err);
        if (!st)
            st = zp_layer_slicing_check(cfg, what, err);
        if (!st && q->wqp[l].n_slices == 0)
            st = zp_err_set(err, ZP_EINVAL, "%s: no fitted grid to round onto", what);
        if (!st)
            st = ada ? adaround_layer(&ps, l, cfg, &lm, prog, err)
                     : gptq_layer(&ps, l, cfg, &lm, prog, err);
        if (st && !strstr(err->msg, li->name))
            zp_err_prefix(err, "%s (rounding %s)", what, zp_rounding_name(v->rounding));
        zp_progress_sub(prog, 0);
    }
    free(ps.idx);
    zp_free(ps.batch);
    zp_free(ps.logits);
    zp_free(ps.in_q);
    zp_free(ps.in_f);
    zp_free(ps.cols);
    zp_free(ps.cols_f);
    zp_free(ps.scratch);
    return st;
}
