/* Cells of mode "integer": the variant's weights fitted as in the fake-quant
 * `both` cell of the same calibration, lowered to the integer program
 * (model/int_graph.h) and run on the evaluation set. The row carries the usual
 * metrics against the float model, the agreement and logit SQNR against the
 * fake-quant `both` pass (run in this cell on the same quantizers), and the
 * integer pass's images per second with its speed-up over the float pass, both
 * timed here in interleaved rounds (float, integer, float, integer). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/progress.h"
#include "experiment/act_blocks.h"
#include "experiment/input_exact.h"
#include "experiment/metrics.h"
#include "experiment/model_ctx.h"
#include "model/int_graph.h"

/* Timing rounds of the float and the integer pass (each a pass over the eval set). */
#define INT_TIMING_ROUNDS 2

static int is_int8_affine(const struct zp_qparams *p)
{
    return p->n_levels == 0 && p->offset == 0.f && p->scale > 0 && p->qmin >= -128 && p->qmax <= 255 &&
           (p->qmin >= 0 || p->qmax <= 127);
}

static void to_iq(const struct zp_qparams *p, struct zp_iq *q)
{
    q->scale = p->scale;
    q->zp = p->zero_point;
    q->qmin = p->qmin;
    q->qmax = p->qmax;
}

struct fit_ctx {
    const struct zp_scheme_config *a;
};

static enum zp_status fit_act(void *ctx, float lo, float hi, struct zp_iq *out, struct zp_err *err)
{
    const struct zp_scheme_config *a = ((struct fit_ctx *)ctx)->a;
    struct zp_qparams p;
    memset(&p, 0, sizeof p);
    if (!a->scheme->fit_range)
        return zp_err_set(err, ZP_EUNSUPPORTED, "activation scheme '%s' fits no range", a->scheme->name);
    if (a->scheme->fit_range(a, lo, hi, &p, err))
        return err->status;
    if (!is_int8_affine(&p))
        return zp_err_set(err, ZP_EUNSUPPORTED, "activation scheme '%s' is not 8-bit affine with real 0 on the grid",
                          a->scheme->name);
    to_iq(&p, out);
    return ZP_OK;
}

/* The integer codes of a codebook slice (lut4, binary): its levels as multiples
 * of one scale, levels[i] = scale cb[i] with cb in [-127, 127] and real 0 at
 * code 0 (the int8 codebook of the lut4 kernels). The smallest grid that holds
 * every level exactly is taken (binary's -a, +a: 1 step of a); levels on no such
 * grid (k-means levels) are rounded to 127 steps of max|level|, and *err_rel is
 * the largest level error over max|level| (0 when exact). */
static void codebook_codes(const struct zp_qparams *s, float *scale, int32_t *cb, double *err_rel)
{
    double amax = 0;
    for (int i = 0; i < s->n_levels; i++)
        amax = fmax(amax, fabs((double)s->levels[i]));
    *err_rel = 0;
    if (!(amax > 0)) {
        *scale = 1.f;
        for (int i = 0; i < s->n_levels; i++)
            cb[i] = 0;
        return;
    }
    for (int steps = 1; steps <= 127; steps++) {
        int exact = 1;
        for (int i = 0; i < s->n_levels && exact; i++) {
            double c = (double)s->levels[i] / amax * steps;
            exact = fabs(c - nearbyint(c)) <= 1e-5 * steps;
        }
        if (exact || steps == 127) {
            *scale = (float)(amax / steps);
            for (int i = 0; i < s->n_levels; i++) {
                double c = (double)s->levels[i] / amax * steps;
                cb[i] = (int32_t)nearbyint(c);
                *err_rel = fmax(*err_rel, fabs(c - cb[i]) / steps);
            }
            return;
        }
    }
}

/* The code of one fake-quant weight w: affine, scale (q - zp); a codebook, the
 * level w equals (the nearest one). */
static int32_t weight_code(const struct zp_qparams *s, const int32_t *cb, float w)
{
    if (!s->n_levels)
        return (int32_t)nearbyint((double)w / (double)s->scale) + s->zero_point;
    int best = 0;
    for (int i = 1; i < s->n_levels; i++)
        if (fabsf(s->levels[i] - w) < fabsf(s->levels[best] - w))
            best = i;
    return cb[best];
}

/* The integer program's per-layer inputs from the fake-quant network q; codes,
 * scales and zero points are allocated into *store (freed by the caller). The
 * 8-bit schemes keep their storage format; 4-bit linear codes run as int8 codes
 * (symmetric, zero point 0) or as u8 codes with their zero points (asymmetric)
 * on the 8-bit GEMMs, and codebooks (lut4, binary) as int8 codes of their levels
 * (codebook_codes). *cb_err: the largest codebook rounding over all slices. */
static enum zp_status layer_inputs(const struct zp_cell *cell, const struct qnet *q, struct zp_int_layer_q *lq,
                                   void **store, double *cb_err, struct zp_err *err)
{
    const struct zp_model_ctx *m = q->m;
    const struct zp_variant *v = q->v;
    const char *fam = zp_scheme_kernel_family(&v->w);
    enum zp_kfmt fmt = !fam ? ZP_KF_COUNT
                       : !strcmp(fam, "u8") ? ZP_KF_U8
                       : !strcmp(fam, "s8") ? ZP_KF_S8
                       : !strcmp(fam, "s8-narrow") || !strcmp(fam, "q4") || !strcmp(fam, "lut4") ||
                               !strcmp(fam, "binary")
                           ? ZP_KF_S8N
                           : ZP_KF_COUNT;
    *cb_err = 0;
    if (fmt == ZP_KF_COUNT)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "cell %s: mode integer runs the weight schemes with integer codes (asymmetric, symmetric, "
                          "no-128, linear4, lut4, binary); '%s' (kernel family %s) has no integer program",
                          cell->id, v->w.scheme->name, fam ? fam : "none");
    if (m->mc->act_at)
        return zp_err_set(err, ZP_EUNSUPPORTED, "cell %s: mode integer with quantize_at \"inputs+outputs\" is not "
                          "supported (the integer program quantizes each tensor once)", cell->id);
    size_t total = 0;
    for (int l = 0; l < m->n_layers; l++)
        total += mx_weight_count(zp_graph_layer(m->g, l)) * sizeof(int32_t) +
                 (size_t)zp_graph_layer(m->g, l)->n_out * (sizeof(float) + sizeof(int32_t));
    char *mem = zp_alloc(total + 16);
    *store = mem;
    if (!mem)
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    for (int l = 0; l < m->n_layers; l++) {
        const struct zp_layer_info *li = zp_graph_layer(m->g, l);
        const struct zp_qparams *ap = &q->act[l];
        if (!q->act_cfg[l] || zp_act_blocks_on(q->act_cfg[l]) || !is_int8_affine(ap))
            return zp_err_set(err, ZP_EUNSUPPORTED,
                              "cell %s: layer '%s': the input quantizer (%s) is not one 8-bit affine grid with "
                              "real 0 on it (per-tensor asymmetric or symmetric activations, nudged)",
                              cell->id, li->name, v->a.scheme->name);
        to_iq(ap, &lq[l].in);
        size_t nw = mx_weight_count(li), nout = (size_t)li->n_out;
        int32_t *codes = (int32_t *)mem;
        mem += nw * sizeof(int32_t);
        float *sc = (float *)mem;
        mem += nout * sizeof(float);
        int32_t *zps = (int32_t *)mem;
        mem += nout * sizeof(int32_t);
        const struct zp_tensor_qparams *wq = &q->wqp[l];
        int per_ch = wq->n_slices == nout && nout > 1;
        if (!(wq->n_slices == 1 || (per_ch && v->w.axis == 0)))
            return zp_err_set(err, ZP_EUNSUPPORTED, "cell %s: layer '%s': %zu weight slices (per-tensor or "
                              "per-output-channel only)", cell->id, li->name, wq->n_slices);
        size_t per = nw / nout;
        int any_zp = 0;
        for (size_t j = 0; j < nout; j++) {
            const struct zp_qparams *s = &wq->slice[per_ch ? j : 0];
            if (s->offset != 0.f || !(s->scale > 0) || s->n_levels > ZP_MAX_LEVELS)
                return zp_err_set(err, ZP_EUNSUPPORTED, "cell %s: layer '%s': weight slice %zu is not affine with "
                                  "real 0 on the grid (nudge_zero false?)", cell->id, li->name, j);
            int32_t cb[ZP_MAX_LEVELS];
            sc[j] = s->scale;
            zps[j] = s->n_levels ? 0 : s->zero_point;
            if (s->n_levels) {
                double e;
                codebook_codes(s, &sc[j], cb, &e);
                *cb_err = fmax(*cb_err, e);
            }
            any_zp |= zps[j] != 0;
            for (size_t i = j * per; i < (j + 1) * per; i++)
                codes[i] = weight_code(s, cb, q->weights[l][i]);
        }
        lq[l].wfmt = fmt == ZP_KF_S8N && any_zp ? ZP_KF_U8 : fmt; /* linear4 asymmetric: codes 0..15, zero points */
        lq[l].wcode = codes;
        lq[l].wscale = sc;
        lq[l].wzp = zps;
        lq[l].bias = q->biases && q->biases[l] ? q->biases[l] : NULL;
        lq[l].out_lo = lq[l].out_hi = NAN;
    }
    return ZP_OK;
}

/* Ranges of every layer's output before its activation on the cell's calibration
 * subset (the same examples as its input ranges): the integer program fits the
 * quantizers of tensors no layer reads (Add operands, pooling inputs) to them. Per
 * thread min / max, exact in any order. */
struct out_obs {
    float *lo, *hi; /* [thread][layer] */
    const size_t *size;
    int n_layers;
};

static void observe_out(void *ctx, int layer, int image, int thread, const float *y)
{
    struct out_obs *o = ctx;
    float *lo = &o->lo[(size_t)thread * o->n_layers + layer], *hi = &o->hi[(size_t)thread * o->n_layers + layer];
    for (size_t i = 0; i < o->size[layer]; i++) {
        *lo = fminf(*lo, y[i]);
        *hi = fmaxf(*hi, y[i]);
    }
    (void)image;
}

static enum zp_status output_ranges(struct zp_model_ctx *m, int k, struct zp_int_layer_q *lq, struct zp_err *err)
{
    int n = 0, T = zp_graph_max_threads(), L = m->n_layers;
    uint32_t *idx = mx_calib_indices(m, &m->mc->calib[k], &n);
    size_t ex = zp_dataset_example_size(&m->calib);
    float *x = zp_alloc((size_t)m->batch * ex * sizeof(float));
    float *lg = zp_alloc((size_t)m->batch * (size_t)m->classes * sizeof(float));
    struct out_obs o = {zp_alloc((size_t)T * L * sizeof(float)), zp_alloc((size_t)T * L * sizeof(float)),
                        zp_alloc((size_t)L * sizeof(size_t)), L};
    enum zp_status st = idx && x && lg && o.lo && o.hi && o.size ? ZP_OK : zp_err_set(err, ZP_ENOMEM, "out of memory");
    for (int i = 0; i < T * L && !st; i++) {
        o.lo[i] = INFINITY;
        o.hi[i] = -INFINITY;
    }
    for (int l = 0; l < L && !st; l++)
        ((size_t *)o.size)[l] = mx_out_size(zp_graph_layer(m->g, l));
    struct zp_run_hooks h = {.ctx = &o, .layer_output_image = observe_out};
    for (int b0 = 0; b0 < n && !st; b0 += m->batch) {
        int bn = n - b0 < m->batch ? n - b0 : m->batch;
        mx_gather(&m->calib, idx + b0, bn, x);
        st = zp_graph_run(m->g, x, bn, lg, &h, err);
    }
    for (int l = 0; l < L && !st; l++) {
        float lo = INFINITY, hi = -INFINITY;
        for (int t = 0; t < T; t++) {
            lo = fminf(lo, o.lo[(size_t)t * L + l]);
            hi = fmaxf(hi, o.hi[(size_t)t * L + l]);
        }
        lq[l].out_lo = n > 0 ? lo : NAN;
        lq[l].out_hi = n > 0 ? hi : NAN;
    }
    free(idx);
    zp_free(x);
    zp_free(lg);
    zp_free(o.lo);
    zp_free(o.hi);
    zp_free((void *)o.size);
    return st;
}

/* One pass over the eval set: integer (prog) or float (prog NULL); logits kept
 * when out; *seconds the time of the passes alone. The integer pass reads the
 * network input as the fake-quant pass does when the table of exact 8-bit input
 * codes applies (q->in_exact, experiment/input_exact.h): each input replaced by
 * its pixel's exactly rounded code, decoded (so the program's own quantization
 * of it gives that code back), in xbuf, outside the timing, as a camera's pixels
 * reach a u8 pipeline as codes. Without it an input at a tie of the quantizer
 * (u8 / 127.5 - 1 against a 2/255 step: every pixel) rounds by its float error. */
static enum zp_status pass(struct zp_model_ctx *m, const struct qnet *q, struct zp_int_program *prog, float *out,
                           float *scratch, float *xbuf, double *seconds, struct zp_err *err)
{
    size_t ex = zp_dataset_example_size(&m->eval);
    *seconds = 0;
    for (long b0 = 0; b0 < m->n_eval; b0 += m->batch) {
        int bn = (int)(m->n_eval - b0 < m->batch ? m->n_eval - b0 : m->batch);
        float *lg = out ? out + (size_t)b0 * (size_t)m->classes : scratch;
        const float *x = m->eval.x + (size_t)b0 * ex;
        if (prog && q->in_exact) {
            memcpy(xbuf, x, (size_t)bn * ex * sizeof(float));
            for (int i = 0; i < bn; i++)
                zp_input_exact_apply(q->in_exact, xbuf + (size_t)i * ex, ex, 0);
            x = xbuf;
        }
        double t0 = zp_now();
        enum zp_status st = prog ? zp_int_program_run(prog, x, bn, lg, err) : zp_graph_run(m->g, x, bn, lg, NULL, err);
        *seconds += zp_now() - t0;
        if (st)
            return st;
    }
    return ZP_OK;
}

enum zp_status mx_integer_cell(const struct zp_config *cfg, const struct zp_cell *cell, struct zp_model_ctx *m,
                               struct zp_progress *prog, struct zp_cell_out *out, int32_t *pred,
                               struct zp_err *err)
{
    const struct zp_variant *v = &cfg->variants[cell->variant];
    struct qnet q;
    enum zp_status st = mx_qnet_build(&q, m, v, 1, 1, cell->calib, prog, err);
    if (!st && v->rounding)
        st = mx_ptq_round(&q, prog, err);
    if (!st && v->bias_correction && !(st = mx_alloc_float_out(&q, err)))
        st = mx_bias_correct(&q, prog, err);
    size_t nl = (size_t)m->n_eval * (size_t)m->classes;
    float *fq = zp_alloc(nl * sizeof(float)), *il = zp_alloc(nl * sizeof(float));
    float *scratch = zp_alloc((size_t)m->batch * (size_t)m->classes * sizeof(float));
    float *xbuf = zp_alloc((size_t)m->batch * zp_dataset_example_size(&m->eval) * sizeof(float));
    struct zp_int_layer_q *lq = calloc((size_t)m->n_layers, sizeof *lq);
    void *store = NULL;
    struct zp_int_program *ip = NULL;
    if (!st && (!fq || !il || !scratch || !xbuf || !lq))
        st = zp_err_set(err, ZP_ENOMEM, "out of memory");
    double cb_err = 0;
    if (!st)
        st = layer_inputs(cell, &q, lq, &store, &cb_err, err);
    if (!st)
        st = output_ranges(m, cell->calib, lq, err);
    struct fit_ctx fc = {&v->a};
    struct zp_int_options o = {.float_multiplier = v->int_float_multiplier, .isa = -1, .fit = fit_act,
                               .fit_ctx = &fc};
    if (!st && (st = zp_int_program_build(m->g, lq, &o, &ip, err)))
        zp_err_prefix(err, "cell %s", cell->id);
    /* the fake-quant `both` pass on the same quantizers */
    size_t ex = zp_dataset_example_size(&m->eval);
    for (long b0 = 0; b0 < m->n_eval && !st; b0 += m->batch) {
        int bn = (int)(m->n_eval - b0 < m->batch ? m->n_eval - b0 : m->batch);
        struct zp_run_hooks h;
        mx_qnet_hooks(&q, &h, 0);
        st = zp_graph_run(m->g, m->eval.x + (size_t)b0 * ex, bn, fq + (size_t)b0 * (size_t)m->classes, &h, err);
    }
    double tf = INFINITY, ti = INFINITY;
    for (int r = 0; r < INT_TIMING_ROUNDS && !st; r++) {
        double s;
        if (!(st = pass(m, &q, NULL, NULL, scratch, xbuf, &s, err)))
            tf = fmin(tf, s);
        if (!st && !(st = pass(m, &q, ip, r == 0 ? il : NULL, scratch, xbuf, &s, err)))
            ti = fmin(ti, s);
        zp_progress_sub(prog, (double)(r + 1) / INT_TIMING_ROUNDS);
    }
    if (!st) {
        struct zp_model_acc acc = {0}, vs = {0};
        for (long b0 = 0; b0 < m->n_eval; b0 += m->batch) {
            int bn = (int)(m->n_eval - b0 < m->batch ? m->n_eval - b0 : m->batch);
            size_t o0 = (size_t)b0 * (size_t)m->classes;
            zp_model_acc_add(&acc, m->float_logits + o0, il + o0, m->eval.labels + b0, bn, m->classes);
            zp_model_acc_add(&vs, fq + o0, il + o0, m->eval.labels + b0, bn, m->classes);
        }
        zp_argmax_rows(il, m->n_eval, m->classes, pred);
        struct zp_model_metrics mm, mv;
        zp_model_acc_finish(&acc, &mm);
        zp_model_acc_finish(&vs, &mv);
        struct mx_int_cols ic = {.vs_fq_agreement = mv.agreement, .vs_fq_sqnr_db = mv.logit_sqnr_db,
                                 .images_per_s = (double)m->n_eval / fmax(ti, 1e-9), .speedup_vs_float = tf / fmax(ti, 1e-9)};
        mx_accuracy_row(&out->rows[ZP_TABLE_ACCURACY], m, v, cell, 1, &mm, &q.wcost, NAN, &ic, NULL);
        zp_progress_note(prog, "integer %s: top-1 %.4f (float %.4f), agreement with fake-quant %.4f, "
                         "logit SQNR vs fake-quant %.1f dB, %.0f images/s, %.2fx float",
                         v->label, mm.top1, m->float_top1, mv.agreement, mv.logit_sqnr_db, ic.images_per_s,
                         ic.speedup_vs_float);
        if (cb_err > 0) /* what the int8 codebook changed against the fake-quant weights */
            zp_progress_note(prog, "integer %s: codebook levels rounded to int8 codes, largest error %.2g of "
                             "max|level|", v->label, cb_err);
    }
    zp_int_program_free(ip);
    zp_free(store);
    free(lq);
    zp_free(fq);
    zp_free(il);
    zp_free(scratch);
    zp_free(xbuf);
    mx_qnet_free(&q);
    return st;
}
