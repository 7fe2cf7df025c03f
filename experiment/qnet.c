/* The quantized network of one cell: fake-quantized weights, activation
 * quantizers at the layer inputs (and outputs), the runtime hooks that apply them,
 * the paired float/quantized pass behind per-layer metrics, and empirical bias
 * correction. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calib/bias_correction.h"
#include "calib/calib.h"
#include "common/mem.h"
#include "common/round.h"
#include "experiment/input_exact.h"
#include "common/rng.h"
#include "experiment/act_blocks.h"
#include "experiment/metrics.h"
#include "experiment/model_ctx.h"
#include "experiment/runner.h"
#include "kernels/kernels.h"
#include "model/graph.h"
#include "schemes/granularity.h"
#include "train/qat.h"

/* ---- the quantized network of one cell -------------------------------------- */



const struct zp_scheme_config *mx_layer_wcfg(const struct zp_model_ctx *m,
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
                return ov->keep_float ? NULL : &ov->w;
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
    const struct zp_scheme_config *cfg = mx_layer_wcfg(m, v, l, NULL);
    if (!cfg) { /* kept float: the model's (pruned) weights, no slices */
        memcpy(out, mx_base_weight(m, l), mx_weight_count(li) * sizeof *out);
        return ZP_OK;
    }
    char what[300];
    snprintf(what, sizeof what, "%s: weights of layer '%s'", m->mc->path, li->name);
    if (!v->weight_calib[0] || cfg != &v->w) /* overrides keep their own fit */
        return zp_fake_quant(cfg, mx_base_weight(m, l), li->wshape, li->wndim, what, out, qp, err);
    if (cfg->granularity == ZP_PER_CHANNEL && cfg->axis != 0)
        return zp_err_set(err, ZP_ECONFIG, "%s: weight_calibration needs axis 0", what);
    enum zp_calib_method method;
    zp_calib_method_parse(v->weight_calib, &method);
    struct zp_calib_options o = zp_calib_options_default(method);
    o.percentile = v->weight_calib_percentile;
    o.bits = cfg->bits < 2 ? 2 : cfg->bits;
    mx_probe_symmetric(cfg, &o.symmetric, &o.narrow_range);
    if (method == ZP_CALIB_KL && o.bins < (1 << o.bits))
        o.bins = 1 << o.bits;
    size_t n = mx_weight_count(li);
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
        zp_calib_tensor(&o, mx_base_weight(m, l), ch, (int64_t)(n / (size_t)ch), lo, hi, err);
    for (int64_t c = 0; c < ch && !st; c++)
        st = cfg->scheme->fit_range(cfg, lo[c], hi[c], &qp->slice[c], err);
    free(lo);
    if (st) {
        zp_err_prefix(err, "%s (weight_calibration %s)", what, v->weight_calib);
        return st;
    }
    zp_tensor_apply(cfg, qp, mx_base_weight(m, l), li->wshape, li->wndim, out, NULL);
    return ZP_OK;
}

/* int32 biases, as integer inference stores them: each rounded to a multiple of
 * input scale x weight scale of its output channel (affine quantizers only). */
void mx_round_biases_int32(struct qnet *q)
{
    struct zp_model_ctx *m = q->m;
    for (int l = 0; l < m->n_layers; l++) {
        const struct zp_layer_info *li = zp_graph_layer(m->g, l);
        const struct zp_tensor_qparams *wq = &q->wqp[l];
        const float *base_b = mx_base_bias(m, l);
        if (!q->act_cfg[l] || q->act[l].n_levels > 0 || !wq->n_slices || !base_b ||
            zp_act_blocks_on(q->act_cfg[l])) /* no single input scale */
            continue;
        if (!q->biases[l] && !(q->biases[l] = zp_alloc((size_t)li->n_out * sizeof(float))))
            continue;
        const float *b = q->biases[l];
        size_t per_ch = wq->n_slices / (size_t)li->n_out;
        for (int64_t c = 0; c < li->n_out; c++) {
            const struct zp_qparams *wp =
                &wq->slice[wq->n_slices == 1 ? 0 : (size_t)c * (per_ch ? per_ch : 1)];
            double step = (double)q->act[l].scale * (double)wp->scale;
            double src = q->bias_corrected ? b[c] : base_b[c];
            q->biases[l][c] = wp->n_levels > 0 || step <= 0
                                  ? (float)src
                                  : (float)(zp_round_quot(src / step, src, step) * step);
        }
    }
}

void mx_qnet_free(struct qnet *q)
{
    free(q->in_exact);
    q->in_exact = NULL;
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
        if (q->lparts)
            free(q->lparts[l]);
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
    free(q->lparts);
    free(q->ref);
    free(q->bc);
    free(q->act);
    free(q->outq);
    free(q->act_cfg);
    free(q->pad);
    free(q->act_lo);
    free(q->amm_q);
    free(q->amm_n);
    for (int t = 0; q->tables && t < q->n_tables; t++)
        zp_free(q->tables[t]);
    free(q->tables);
}

/* The activation layout act_blocks.c cuts into blocks: C channels (the first
 * input dimension: Conv C of CHW, Gemm / MatMul K) by S positions. */
static void in_layout(const struct zp_layer_info *li, int64_t *C, int64_t *S)
{
    *C = li->in_ndim > 0 ? li->in_shape[0] : 1;
    *S = 1;
    for (int d = 1; d < li->in_ndim; d++)
        *S *= li->in_shape[d];
}

/* The hooks below are per-image hooks of the runtime's fast schedule (model/graph.h):
 * called from its worker threads, they write only to the image's own slots. */

/* x' = dequantize(quantize(x)) in place under one slice's parameters: through the
 * dispatched kernel for the affine schemes (the activation hooks' hot path; bit
 * for bit schemes/affine.c's result), else the scheme's own functions. */
static void act_fake_quant(const struct qnet *q, const struct zp_scheme_config *cfg,
                           const struct zp_qparams *p, const float *x, float *y, size_t n)
{
    const struct zp_scheme *s = cfg->scheme;
    if (s->quantize == zp_affine_quantize && s->dequantize == zp_affine_dequantize && p->scale > 0 &&
        p->qmin <= p->qmax) {
        struct zp_f32_fakequant_call c = {.x = x, .y = y, .n = n, .scale = p->scale, .offset = p->offset,
                                          .zero_point = p->zero_point, .qmin = p->qmin, .qmax = p->qmax};
        zp_rt_fakequant(q->fq_kernel, &c);
        return;
    }
    zp_fake_quant_run(cfg, p, x, y, n, NULL);
}

/* One image's layer input x, quantized into out (the layer's private input). */
static void quant_input_image(void *ctx, int layer, int image, int thread, const float *x, float *out)
{
    struct qnet *q = ctx;
    const struct zp_layer_info *li = zp_graph_layer(q->m->g, layer);
    size_t n = mx_in_size(li);
    if (!q->act_cfg[layer]) { /* kept float by an override */
        memcpy(out, x, n * sizeof *out);
        return;
    }
    if (zp_act_blocks_on(q->act_cfg[layer])) { /* MX / NVFP4: run-time blocks of K */
        int64_t C, S;
        in_layout(li, &C, &S);
        memcpy(out, x, n * sizeof *out);
        zp_act_blocks_run(q->act_cfg[layer], &q->act[layer], out, 1, C, S);
        return;
    }
    if (layer == 0 && q->in_exact) {
        memcpy(out, x, n * sizeof *out);
        zp_input_exact_apply(q->in_exact, out, n, 0);
    } else {
        act_fake_quant(q, q->act_cfg[layer], &q->act[layer], x, out, n);
    }
}

/* quantize_embedding: every lookup table fake-quantized by the weight scheme as a
 * [rows, cols] weight (per channel = per row, i.e. per token; per group along the
 * row), its cost in the bits per weight. */
static enum zp_status embedding_tables(struct qnet *q, struct zp_err *err)
{
    const struct zp_graph *g = q->m->g;
    const struct zp_scheme_config *c = &q->v->w;
    int n = zp_graph_num_tables(g);
    if (n == 0)
        return zp_err_set(err, ZP_ECONFIG, "variant '%s': quantize_embedding, but model '%s' has no "
                          "lookup table (Gather)", q->v->label, q->m->mc->name);
    if (!(q->tables = calloc((size_t)n, sizeof *q->tables)))
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    q->n_tables = n;
    for (int t = 0; t < n; t++) {
        int64_t shape[2];
        const float *data;
        const char *name = zp_graph_table(g, t, &shape[0], &shape[1], &data);
        char what[300];
        snprintf(what, sizeof what, "%s: lookup table '%s'", q->m->mc->path, name);
        if (!(q->tables[t] = zp_alloc((size_t)(shape[0] * shape[1]) * sizeof(float))))
            return zp_err_set(err, ZP_ENOMEM, "out of memory");
        struct zp_tensor_qparams qp = {0};
        enum zp_status st = zp_fake_quant(c, data, shape, 2, what, q->tables[t], &qp, err);
        struct zp_err cerr = {0};
        if (!st)
            zp_wcost_add(&q->wcost, c, &qp, data, shape, 2, &cerr);
        zp_tensor_qparams_free(&qp);
        if (st)
            return st;
    }
    return ZP_OK;
}

/* quantize_attention: one image's two operands of MatMul i of two activations. */
static void quant_amm_image(void *ctx, int i, int image, int thread, float *a, float *b)
{
    struct qnet *q = ctx;
    act_fake_quant(q, &q->v->a, &q->amm_q[2 * i], a, a, (size_t)q->amm_n[2 * i]);
    act_fake_quant(q, &q->v->a, &q->amm_q[2 * i + 1], b, b, (size_t)q->amm_n[2 * i + 1]);
}

/* quantize_attention: a quantizer per operand of every MatMul of two activations,
 * fitted by the activation scheme to the operand's calibrated min / max (amm:
 * lo, hi of a, then of b, per MatMul; mx_calibrate). */
static enum zp_status attention_quantizers(struct qnet *q, const float *amm, struct zp_err *err)
{
    struct zp_model_ctx *m = q->m;
    const struct zp_scheme_config *c = &q->v->a;
    int n = zp_graph_num_act_matmuls(m->g);
    if (n == 0)
        return zp_err_set(err, ZP_ECONFIG, "variant '%s': quantize_attention, but model '%s' has no "
                          "MatMul of two activations (attention)", q->v->label, m->mc->name);
    if (!c->scheme->fit_range || zp_act_blocks_on(c))
        return zp_err_set(err, ZP_EUNSUPPORTED, "variant '%s': quantize_attention needs a per-tensor "
                          "range-based activation scheme, not '%s'%s", q->v->label, c->scheme->name,
                          zp_act_blocks_on(c) ? " in blocks" : "");
    q->amm_q = calloc((size_t)n * 2, sizeof *q->amm_q);
    q->amm_n = calloc((size_t)n * 2, sizeof *q->amm_n);
    enum zp_status st = q->amm_q && q->amm_n ? ZP_OK : zp_err_set(err, ZP_ENOMEM, "out of memory");
    for (int i = 0; !st && i < 2 * n; i++) {
        const char *name = zp_graph_act_matmul(m->g, i / 2, &q->amm_n[i & ~1], &q->amm_n[i | 1]);
        const float lo = amm[2 * i], hi = amm[2 * i + 1];
        if (!(lo <= hi))
            st = zp_err_set(err, ZP_EINVAL, "operand %c of MatMul '%s': no calibrated range", i % 2 ? 'b' : 'a',
                            name);
        else if ((st = c->scheme->fit_range(c, lo, hi, &q->amm_q[i], err)))
            zp_err_prefix(err, "operand %c of MatMul '%s' (range [%g, %g])", i % 2 ? 'b' : 'a', name, lo, hi);
    }
    if (!st)
        q->n_amm = n;
    return st;
}

/* A quantization point at the layer output, before its activation. */
static void quant_output_image(void *ctx, int layer, int image, int thread, float *y)
{
    struct qnet *q = ctx;
    if (!q->act_cfg[layer])
        return;
    act_fake_quant(q, q->act_cfg[layer], &q->outq[layer], y, y, mx_out_size(zp_graph_layer(q->m->g, layer)));
}

/* The float run of a paired batch: each image's layer outputs into its slot of
 * float_out (only the layers the quantized run will compare). */
static void capture_output_image(void *ctx, int layer, int image, int thread, const float *y)
{
    struct qnet *q = ctx;
    if (!q->lacc && !(q->bc && q->bc[layer]))
        return;
    size_t n = mx_out_size(zp_graph_layer(q->m->g, layer));
    memcpy(q->float_out[layer] + (size_t)image * n, y, n * sizeof *y);
}

/* The quantized run of a paired batch: per-layer statistics as per-image partial
 * sums (reduced in image order by paired_reduce, so the result does not depend on
 * which thread ran which image), and for bias correction the layer's output, kept
 * whole: its accumulator sums the batch in one running sum per channel. */
static void compare_output_image(void *ctx, int layer, int image, int thread, const float *y)
{
    struct qnet *q = ctx;
    const struct zp_layer_info *li = zp_graph_layer(q->m->g, layer);
    size_t n = mx_out_size(li);
    if (q->lacc)
        (mx_channels_last(li) ? zp_layer_acc_image_last : zp_layer_acc_image)(
            q->lacc[layer].channels, q->ref[layer] + (size_t)image * n, y, mx_out_spatial(li),
            q->lparts[layer] + (size_t)image * ZP_LAYER_PARTS * (size_t)q->lacc[layer].channels);
    if (q->bc && q->bc[layer])
        memcpy(q->bc_out + (size_t)image * n, y, n * sizeof *y);
}

enum zp_status mx_qnet_build(struct qnet *q, struct zp_model_ctx *m,
                                 const struct zp_variant *v, int quant_w, int quant_act, int k,
                                 struct zp_progress *prog, struct zp_err *err)
{
    memset(q, 0, sizeof *q);
    q->m = m;
    q->v = v;
    q->fq_kernel = zp_rt_select(ZP_RK_FAKEQUANT, -1);
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
        if (m->base_b && m->base_b[l]) { /* a cell's transformed biases (ptq_prep.c) */
            size_t bn = (size_t)zp_graph_layer(m->g, l)->n_out * sizeof(float);
            if (!(q->biases[l] = zp_alloc(bn)))
                return zp_err_set(err, ZP_ENOMEM, "out of memory");
            memcpy(q->biases[l], m->base_b[l], bn);
        }
        if (!quant_w) {
            if (m->base_w) { /* activations only: the (pruned) float weights */
                size_t wn = mx_weight_count(zp_graph_layer(m->g, l));
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
        struct zp_err cerr = {0};
        const struct zp_scheme_config *wc = mx_layer_wcfg(m, v, l, NULL);
        if (wc)
            zp_wcost_add(&q->wcost, wc, &q->wqp[l], mx_base_weight(m, l), li->wshape, li->wndim,
                         &cerr);
        else { /* float32 weights: 32 bits each, nothing clipped */
            q->wcost.bits += 32.0 * (double)wn;
            q->wcost.n += (double)wn;
        }
    }
    if (quant_w && v->quant_embedding && embedding_tables(q, err))
        return err->status;
    if (!quant_act)
        return ZP_OK;
    struct act_cal *cal = NULL;
    const float *amm = NULL;
    if (mx_calibrate(m, k, v, prog, &cal, v->quant_attention ? &amm : NULL, err))
        return err->status;
    for (int l = 0; l < n; l++) {
        const struct act_cal *a = &cal[l];
        const struct zp_scheme_config *c = &v->a;
        if (!mx_layer_wcfg(m, v, l, NULL))
            continue; /* a layer kept float keeps its float input: act_cfg[l] stays NULL */
        if (zp_act_blocks_on(c) && mx_channels_last(zp_graph_layer(m->g, l)))
            return zp_err_set(err, ZP_EUNSUPPORTED,
                              "block activations of '%s' on layer '%s' (token rows, channels "
                              "last) are not supported: blocks run along the first input axis",
                              c->scheme->name, zp_graph_layer(m->g, l)->name);
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
        if (l == 0 && (size_t)(m->eval.c * m->eval.h * m->eval.w) == mx_in_size(zp_graph_layer(m->g, 0))) {
            /* the network input of 8-bit images: exact codes from the pixel */
            struct zp_input_exact t;
            if (zp_input_exact_build(&t, &m->mc->eval.spec, (int)m->eval.c, m->eval.h * m->eval.w, c, &q->act[0],
                                     (float)a->lo, (float)a->hi, err))
                goto act_fail;
            if (t.on && !(q->in_exact = malloc(sizeof t)))
                return zp_err_set(err, ZP_ENOMEM, "out of memory");
            if (t.on)
                *q->in_exact = t;
        }
        double x0, lsb;
        zp_zero_decode(c, &q->act[l], &x0, &lsb);
        q->pad[l] = (float)x0;
        if (m->mc->act_at) {
            if (!q->outq && !(q->outq = calloc((size_t)n, sizeof *q->outq)))
                return zp_err_set(err, ZP_ENOMEM, "out of memory");
            if (zp_act_blocks_on(c))
                return zp_err_set(err, ZP_EUNSUPPORTED,
                                  "quantize_at \"inputs+outputs\" with per-group (block) "
                                  "activations of '%s' is not supported: inputs only",
                                  c->scheme->name);
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
    if (v->quant_attention)
        return attention_quantizers(q, amm, err);
    return ZP_OK;
}

void mx_qnet_hooks(struct qnet *q, struct zp_run_hooks *h, int compare)
{
    memset(h, 0, sizeof *h);
    h->ctx = q;
    h->weights = (const float *const *)q->weights;
    h->biases = (const float *const *)q->biases;
    h->pad_value = q->quant_act ? q->pad : NULL;
    h->act_hi = (const float *const *)q->m->act_hi;
    h->layer_input_image = q->quant_act ? quant_input_image : NULL;
    h->layer_output_edit_image = q->quant_act && q->outq ? quant_output_image : NULL;
    h->act_matmul_image = q->n_amm ? quant_amm_image : NULL;
    h->tables = (const float *const *)q->tables;
    h->layer_output_image = compare ? compare_output_image : NULL;
}

/* Allocates the float-output buffers used by paired passes. */
enum zp_status mx_alloc_float_out(struct qnet *q, struct zp_err *err)
{
    int n = q->m->n_layers;
    q->float_out = calloc((size_t)n, sizeof *q->float_out);
    if (!q->float_out)
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    for (int l = 0; l < n; l++) {
        q->float_out[l] =
            zp_alloc(mx_out_size(zp_graph_layer(q->m->g, l)) * (size_t)q->m->batch * sizeof(float));
        if (!q->float_out[l])
            return zp_err_set(err, ZP_ENOMEM, "out of memory for per-layer outputs");
    }
    return ZP_OK;
}

/* The per-image partial sums of the layer statistics: batch x channels x
 * ZP_LAYER_PARTS doubles per layer, allocated on the first paired batch. */
static enum zp_status alloc_lparts(struct qnet *q, struct zp_err *err)
{
    int n = q->m->n_layers;
    if (!q->ref && !(q->ref = calloc((size_t)n, sizeof *q->ref)))
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    if (q->lparts || !q->lacc)
        return ZP_OK;
    if (!(q->lparts = calloc((size_t)n, sizeof *q->lparts)))
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    for (int l = 0; l < n; l++)
        if (!(q->lparts[l] = malloc((size_t)q->m->batch * (size_t)q->lacc[l].channels *
                                    ZP_LAYER_PARTS * sizeof(double))))
            return zp_err_set(err, ZP_ENOMEM, "out of memory for per-layer statistics");
    return ZP_OK;
}

/* After the quantized run of a paired batch of bn images: the per-image partials
 * added in image order, the bias-correction layer's batch accumulated. */
static void paired_reduce(struct qnet *q, int bn)
{
    for (int l = 0; l < q->m->n_layers; l++) {
        const struct zp_layer_info *li = zp_graph_layer(q->m->g, l);
        if (q->lacc)
            zp_layer_acc_add_parts(&q->lacc[l], q->lparts[l], bn, mx_out_spatial(li));
        if (q->bc && q->bc[l])
            zp_bias_corr_add(q->bc[l], q->ref[l], q->bc_out, bn,
                             mx_out_channels(li), mx_out_spatial(li));
    }
}

/* The quantized run of a paired batch, compared with q->ref; then the reduction. */
static enum zp_status quant_compare(struct qnet *q, const float *x, int bn, float *logits,
                                    struct zp_err *err)
{
    struct zp_run_hooks qh;
    mx_qnet_hooks(q, &qh, 1);
    if (zp_graph_run(q->m->g, x, bn, logits, &qh, err))
        return err->status;
    paired_reduce(q, bn);
    return ZP_OK;
}

/* One paired batch: float run capturing layer outputs, then the quantized run
 * comparing against them. logits receives the quantized logits. Both runs take
 * the runtime's fast schedule (per-image hooks). */
enum zp_status mx_paired_batch(struct qnet *q, const float *x, int bn, float *logits,
                                   struct zp_err *err)
{
    if (alloc_lparts(q, err))
        return err->status;
    for (int l = 0; l < q->m->n_layers; l++)
        q->ref[l] = q->float_out[l];
    struct zp_run_hooks fh = {.ctx = q, .layer_output_image = capture_output_image,
                              .weights = (const float *const *)q->m->base_w,
                              .biases = (const float *const *)q->m->base_b, .act_hi = (const float *const *)q->m->act_hi};
    if (zp_graph_run(q->m->g, x, bn, logits, &fh, err))
        return err->status;
    return quant_compare(q, x, bn, logits, err);
}

enum zp_status mx_paired_eval_batch(struct qnet *q, long b0, int bn, float *logits,
                                    struct zp_err *err)
{
    struct zp_model_ctx *m = q->m;
    const float *x = m->eval.x + (size_t)b0 * zp_dataset_example_size(&m->eval);
    if (b0 + bn > m->n_ref_cached || m->ptq_tag) /* the cache holds the model's own outputs */
        return mx_paired_batch(q, x, bn, logits, err);
    if (alloc_lparts(q, err))
        return err->status;
    for (int l = 0; l < m->n_layers; l++)
        q->ref[l] = m->ref_out[l] + (size_t)b0 * mx_out_size(zp_graph_layer(m->g, l));
    return quant_compare(q, x, bn, logits, err);
}

/* Empirical bias correction (Nagel et al. 2019): layer by layer in execution
 * order, E[y' - y] per output channel is measured on the calibration examples
 * with the layers before it already corrected, and subtracted from its bias.
 * Sequential on purpose: correcting every layer from one pass would also cancel
 * the error each layer inherits from upstream, which upstream corrections then
 * remove a second time. Uses at most ZP_BC_EXAMPLES calibration examples. */
#define ZP_BC_EXAMPLES 256
enum zp_status mx_bias_correct(struct qnet *q, struct zp_progress *prog, struct zp_err *err)
{
    struct zp_model_ctx *m = q->m;
    int n = m->n_layers;
    const struct zp_calib_cfg *cc = &m->mc->calib[0];
    int cn = 0;
    uint32_t *idx = mx_calib_indices(m, cc, &cn);
    if (cn > ZP_BC_EXAMPLES)
        cn = ZP_BC_EXAMPLES;
    zp_progress_note(prog, "bias correction, layer by layer, on %d calibration examples", cn);
    q->bc = calloc((size_t)n, sizeof *q->bc);
    size_t max_out = 0;
    for (int l = 0; l < n; l++) {
        size_t o = mx_out_size(zp_graph_layer(m->g, l));
        max_out = o > max_out ? o : max_out;
    }
    q->bc_out = zp_alloc((size_t)m->batch * max_out * sizeof(float));
    float *batch = zp_alloc((size_t)m->batch * zp_dataset_example_size(&m->calib) * sizeof(float));
    float *logits = zp_alloc((size_t)m->batch * (size_t)m->classes * sizeof(float));
    enum zp_status st = (!q->bc || !q->bc_out || !idx || !batch || !logits)
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
            mx_gather(&m->calib, idx + b0, bn, batch);
            st = mx_paired_batch(q, batch, bn, logits, err);
        }
        float *corr = zp_alloc((size_t)li->n_out * sizeof(float));
        if (!q->biases[l]) /* mx_qnet_build may have put the base biases there */
            q->biases[l] = zp_alloc((size_t)li->n_out * sizeof(float));
        if (!st && (!corr || !q->biases[l]))
            st = zp_err_set(err, ZP_ENOMEM, "out of memory");
        const float *base_b = mx_base_bias(m, l);
        if (!st) {
            zp_bias_corr_result(q->bc[l], corr);
            for (int64_t c = 0; c < li->n_out; c++)
                q->biases[l][c] = (base_b ? base_b[c] : 0.0f) - corr[c];
        }
        zp_free(corr);
        zp_bias_corr_free(q->bc[l]);
        q->bc[l] = NULL;
        zp_progress_sub(prog, 0);
    }
    free(q->bc);
    q->bc = NULL;
    zp_free(q->bc_out);
    q->bc_out = NULL;
    free(idx);
    zp_free(batch);
    zp_free(logits);
    return st;
}
