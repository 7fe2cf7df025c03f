/* A `both` cell turned into QDQ codes and scales (see experiment/export_cell.h).
 * The quantized network is the run's own (mx_qnet_build and the bias steps of
 * ptq_cell in model_cell.c): this file only reads its quantizers back as 8-bit
 * codes, and refuses what ONNX QDQ cannot express. */
#include "experiment/export_cell.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/progress.h"
#include "experiment/act_blocks.h"
#include "experiment/model_ctx.h"

struct zp_export_cell {
    const struct zp_config *cfg;
    const struct zp_variant *v;
    struct zp_model_ctx *m;
    struct qnet q;
    int q_built;
    struct zp_qdq_layer *L; /* n_layers */
};

static void entry_label(const struct zp_variant *v, char *out, size_t n)
{
    const char *colon = strstr(v->label, ": ");
    size_t len = colon ? (size_t)(colon - v->label) : strlen(v->label);
    snprintf(out, n, "%.*s", (int)len, v->label);
}

/* The variant a label names: its full label, or its entry's label when only one
 * variant has it. The error lists every label of the config. */
static enum zp_status find_variant(const struct zp_config *cfg, const char *label, size_t *out,
                                   struct zp_err *err)
{
    size_t hit = (size_t)-1;
    int n_entry = 0;
    for (size_t i = 0; i < cfg->n_variants; i++)
        if (strcmp(cfg->variants[i].label, label) == 0) {
            *out = i;
            return ZP_OK;
        }
    for (size_t i = 0; i < cfg->n_variants; i++) {
        char e[160];
        entry_label(&cfg->variants[i], e, sizeof e);
        if (strcmp(e, label) == 0) {
            hit = i;
            n_entry++;
        }
    }
    if (n_entry == 1) {
        *out = hit;
        return ZP_OK;
    }
    char list[1000] = "";
    for (size_t i = 0; i < cfg->n_variants; i++) {
        size_t l = strlen(list);
        if (l + strlen(cfg->variants[i].label) + 8 >= sizeof list) {
            snprintf(list + l, sizeof list - l, "; ...");
            break;
        }
        snprintf(list + l, sizeof list - l, "%s'%s'", l ? "; " : "", cfg->variants[i].label);
    }
    return zp_err_set(err, ZP_ECONFIG, "--cell '%s': %s in %s; the cells are: %s", label,
                      n_entry ? "names several cells (give the full label)" : "no such cell",
                      cfg->path, list);
}

static enum zp_status find_model(const struct zp_config *cfg, const char *name, size_t *out,
                                 struct zp_err *err)
{
    if (cfg->n_models == 0)
        return zp_err_set(err, ZP_ECONFIG, "%s: no models[] to export", cfg->path);
    if (!name && cfg->n_models == 1) {
        *out = 0;
        return ZP_OK;
    }
    char list[600] = "";
    for (size_t i = 0; i < cfg->n_models; i++) {
        if (name && strcmp(cfg->models[i].name, name) == 0) {
            *out = i;
            return ZP_OK;
        }
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "", cfg->models[i].name);
    }
    if (!name)
        return zp_err_set(err, ZP_ECONFIG, "%s has %zu models: choose one with --model (%s)",
                          cfg->path, cfg->n_models, list);
    return zp_err_set(err, ZP_ECONFIG, "--model '%s': no such model in %s (models: %s)", name,
                      cfg->path, list);
}

static enum zp_status affine_8bit(const struct zp_qparams *p, const char *scheme,
                                  const char *what, int *is_signed, struct zp_err *err);

/* A scheme fitted to a probe range [-1, 3] must give affine 8-bit codes: the
 * check that refuses codebooks and offsets before the model is loaded (the real
 * slices are checked again once fitted). */
static enum zp_status probe_affine(const struct zp_scheme_config *c, const char *what,
                                   struct zp_err *err)
{
    struct zp_qparams p;
    int sg;
    memset(&p, 0, sizeof p);
    if (!c->scheme->fit_range)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "%s: '%s' is fitted to the data (a codebook); QDQ has only affine codes",
                          what, c->scheme->name);
    if (c->scheme->fit_range(c, -1.0f, 3.0f, &p, err))
        return err->status;
    return affine_8bit(&p, c->scheme->name, what, &sg, err);
}

/* What QDQ cannot express, said with the scheme's name, before any work. */
static enum zp_status check_schemes(const struct zp_variant *v, struct zp_err *err)
{
    const struct zp_scheme_config *w = &v->w, *a = &v->a;
    char what[300];
    snprintf(what, sizeof what, "cell '%s', weights", v->label);
    if (v->equalize || v->bias_absorption) /* the file would need the transformed network */
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "cell '%s': equalize / bias_absorption cells are not exported (their "
                          "float network has rescaled weights and ReLU for ReLU6)",
                          v->label);
    if (probe_affine(w, what, err)) /* codebooks first: their bits are no int4 question */
        return err->status;
    if (w->bits <= 4)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "cell '%s': %d-bit weights of '%s' have no QDQ form at opset 13 (int4 "
                          "needs opset 21)",
                          v->label, w->bits, w->scheme->name);
    if (w->granularity == ZP_PER_GROUP)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "cell '%s': per-group weights of '%s' have no QDQ form at opset 13 "
                          "(blocked DequantizeLinear needs opset 21)",
                          v->label, w->scheme->name);
    if (w->granularity == ZP_PER_CHANNEL && w->axis != 0)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "cell '%s': per-channel weights along axis %d; the export takes the "
                          "output channels (axis 0)",
                          v->label, w->axis);
    if (!a->scheme || !a->scheme->fit_range || zp_act_blocks_on(a) || a->bits != 8)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "cell '%s': activations '%s' %d-bit have no QDQ form (QuantizeLinear "
                          "is an 8-bit affine quantizer)",
                          v->label, a->scheme ? a->scheme->name : "none", a->bits);
    snprintf(what, sizeof what, "cell '%s', activations", v->label);
    return probe_affine(a, what, err);
}

/* An affine 8-bit slice, or an error naming the scheme: codebooks (lut4, binary,
 * nf4, minifloat levels) and a zero that is no code (asymmetric without
 * nudge_zero: offset != 0) have no QuantizeLinear equivalent. */
static enum zp_status affine_8bit(const struct zp_qparams *p, const char *scheme,
                                  const char *what, int *is_signed, struct zp_err *err)
{
    if (p->n_levels > 0)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "%s: '%s' is a codebook of %d levels; QDQ has only affine codes", what,
                          scheme, p->n_levels);
    if (p->offset != 0.0f)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "%s: '%s' decodes with an offset (zero is no code, nudge_zero=false); "
                          "QDQ needs x = scale * (q - zero_point)",
                          what, scheme);
    if (!(p->scale > 0) || !isfinite(p->scale))
        return zp_err_set(err, ZP_EINVAL, "%s: scale %g", what, (double)p->scale);
    if (p->qmin >= 0 && p->qmax <= 255 && p->zero_point >= 0 && p->zero_point <= 255)
        *is_signed = 0;
    else if (p->qmin >= -128 && p->qmax <= 127 && p->zero_point >= -128 && p->zero_point <= 127)
        *is_signed = 1;
    else
        return zp_err_set(err, ZP_EUNSUPPORTED, "%s: '%s' codes %d..%d fit neither int8 nor uint8",
                          what, scheme, p->qmin, p->qmax);
    return ZP_OK;
}

static enum zp_status act_quant(const struct zp_qparams *p, const char *scheme, const char *what,
                                struct zp_qdq_quant *out, struct zp_err *err)
{
    if (affine_8bit(p, scheme, what, &out->is_signed, err))
        return err->status;
    out->scale = p->scale;
    out->zero_point = p->zero_point;
    return ZP_OK;
}

/* Layer l's weight codes from its fake-quantized weights: each is exactly
 * scale * (q - zero_point) of its slice, so q comes back by rounding. */
static enum zp_status weight_codes(struct zp_export_cell *c, int l, struct zp_err *err)
{
    const struct zp_layer_info *li = zp_graph_layer(c->m->g, l);
    const struct zp_tensor_qparams *tq = &c->q.wqp[l];
    struct zp_qdq_layer *o = &c->L[l];
    char what[300];
    snprintf(what, sizeof what, "cell '%s', weights of layer '%s'", c->v->label, li->name);
    const size_t n = mx_weight_count(li);
    const int64_t O = li->wshape[0];
    if (tq->n_slices != 1 && (int64_t)tq->n_slices != O)
        return zp_err_set(err, ZP_EUNSUPPORTED, "%s: %zu slices, neither per-tensor nor per-channel",
                          what, tq->n_slices);
    o->n_codes = n;
    o->n_scales = tq->n_slices;
    o->codes = malloc(n + 1);
    o->w_scale = malloc(tq->n_slices * sizeof *o->w_scale);
    o->w_zero_point = malloc(tq->n_slices * sizeof *o->w_zero_point);
    if (!o->codes || !o->w_scale || !o->w_zero_point)
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    int sign0 = -1;
    for (size_t s = 0; s < tq->n_slices; s++) {
        int sg;
        if (affine_8bit(&tq->slice[s], c->v->w.scheme->name, what, &sg, err))
            return err->status;
        if (sign0 >= 0 && sg != sign0) /* one tensor, one element type */
            sg = 1;
        sign0 = sg;
        o->w_scale[s] = tq->slice[s].scale;
        o->w_zero_point[s] = tq->slice[s].zero_point;
    }
    o->w_signed = sign0;
    const size_t per = n / tq->n_slices;
    const float *w = c->q.weights[l];
    for (size_t i = 0; i < n; i++) {
        const struct zp_qparams *p = &tq->slice[i / per];
        long q = lrintf(w[i] / p->scale) + p->zero_point;
        double back = (double)p->scale * (double)(q - p->zero_point);
        if (q < p->qmin || q > p->qmax || fabs(back - w[i]) > 1e-5 * fabs(w[i]) + 1e-30)
            return zp_err_set(err, ZP_EINVAL,
                              "%s: weight %zu (%g) is no code of its slice (scale %g, zero point %d)",
                              what, i, (double)w[i], (double)p->scale, p->zero_point);
        if (o->w_signed && (q < -128 || q > 127))
            return zp_err_set(err, ZP_EUNSUPPORTED, "%s: mixed int8 / uint8 slices", what);
        o->codes[i] = o->w_signed ? (uint8_t)(int8_t)q : (uint8_t)q;
    }
    return ZP_OK;
}

static enum zp_status fill_layers(struct zp_export_cell *c, struct zp_err *err)
{
    const int n = c->m->n_layers;
    if (!(c->L = calloc((size_t)n, sizeof *c->L)))
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    for (int l = 0; l < n; l++) {
        const struct zp_layer_info *li = zp_graph_layer(c->m->g, l);
        struct zp_qdq_layer *o = &c->L[l];
        char what[300];
        if (weight_codes(c, l, err))
            return err->status;
        o->bias = c->q.biases[l];
        snprintf(what, sizeof what, "cell '%s', input of layer '%s'", c->v->label, li->name);
        o->quant_in = 1;
        if (act_quant(&c->q.act[l], c->v->a.scheme->name, what, &o->in, err))
            return err->status;
        if (c->q.outq) {
            snprintf(what, sizeof what, "cell '%s', output of layer '%s'", c->v->label, li->name);
            o->quant_out = 1;
            if (act_quant(&c->q.outq[l], c->v->a.scheme->name, what, &o->out, err))
                return err->status;
        }
    }
    return ZP_OK;
}

enum zp_status zp_export_cell_open(const struct zp_config *cfg, const char *label, const char *model,
                                   const struct zp_run_opts *opts, struct zp_export_cell **out,
                                   struct zp_err *err)
{
    *out = NULL;
    size_t vi = 0, mi = 0;
    if (find_variant(cfg, label, &vi, err) || find_model(cfg, model, &mi, err))
        return err->status;
    const struct zp_variant *v = &cfg->variants[vi];
    if (check_schemes(v, err))
        return err->status;
    if (cfg->models[mi].n_calib < 1)
        return zp_err_set(err, ZP_ECONFIG, "model '%s': no calibration setting for the activations",
                          cfg->models[mi].name);
    if (opts->threads > 0)
        omp_set_num_threads(opts->threads);
    struct zp_export_cell *c = calloc(1, sizeof *c);
    if (!c)
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    c->cfg = cfg;
    c->v = v;
    struct zp_progress prog;
    zp_progress_init(&prog, 1, opts->quiet);
    enum zp_status st = zp_model_ctx_load(cfg, mi, opts, 0, &prog, &c->m, err);
    /* the steps of a PTQ `both` cell (model_cell.c ptq_cell), calibration 0 */
    if (!st) {
        st = mx_qnet_build(&c->q, c->m, v, 1, 1, 0, &prog, err);
        c->q_built = 1;
    }
    if (!st && v->rounding)
        st = mx_ptq_round(&c->q, &prog, err);
    if (!st && v->bias_correction && !(st = mx_alloc_float_out(&c->q, err)))
        st = mx_bias_correct(&c->q, &prog, err);
    if (!st && v->bias_int32)
        mx_round_biases_int32(&c->q);
    if (!st)
        st = fill_layers(c, err);
    zp_progress_end(&prog);
    zp_progress_free(&prog);
    if (st) {
        zp_export_cell_free(c);
        return st;
    }
    *out = c;
    return ZP_OK;
}

void zp_export_cell_free(struct zp_export_cell *c)
{
    if (!c)
        return;
    for (int l = 0; c->L && l < c->m->n_layers; l++) {
        free(c->L[l].codes);
        free(c->L[l].w_scale);
        free(c->L[l].w_zero_point);
    }
    free(c->L);
    if (c->q_built)
        mx_qnet_free(&c->q);
    zp_model_ctx_free(c->m);
    free(c);
}

enum zp_status zp_export_cell_onnx(const struct zp_export_cell *c, uint8_t **buf, size_t *len,
                                   struct zp_err *err)
{
    *buf = NULL;
    *len = 0;
    const char *path = c->m->mc->path;
    char *src = NULL;
    size_t n = 0;
    if (zp_file_read(path, zp_file_model_max_bytes(), "model file", &src, &n, err))
        return err->status;
    char doc[600];
    snprintf(doc, sizeof doc, "zeropoint QDQ export of %s, cell '%s' (mode both, calibration %s)",
             c->m->mc->name, c->v->label, c->m->mc->calib[0].method);
    enum zp_status st = zp_onnx_qdq((const uint8_t *)src, n, c->m->g, c->L, doc, buf, len, err);
    free(src);
    if (st)
        zp_err_prefix(err, "%s", path);
    return st;
}

enum zp_status zp_export_cell_fakequant(struct zp_export_cell *c, const float *x, int n,
                                        float *logits, struct zp_err *err)
{
    const size_t ex = zp_dataset_example_size(&c->m->eval);
    const int batch = c->m->batch > 0 ? c->m->batch : 50;
    struct zp_run_hooks h;
    mx_qnet_hooks(&c->q, &h, 0);
    for (int b0 = 0; b0 < n; b0 += batch) {
        int bn = n - b0 < batch ? n - b0 : batch;
        if (zp_graph_run(c->m->g, x + (size_t)b0 * ex, bn, logits + (size_t)b0 * (size_t)c->m->classes,
                         &h, err))
            return err->status;
    }
    return ZP_OK;
}

const float *zp_export_cell_eval(const struct zp_export_cell *c, long *n, size_t *example_size,
                                 int64_t *classes)
{
    *n = c->m->n_eval;
    *example_size = zp_dataset_example_size(&c->m->eval);
    *classes = c->m->classes;
    return c->m->eval.x;
}

const struct zp_graph *zp_export_cell_graph(const struct zp_export_cell *c)
{
    return c->m->g;
}

const char *zp_export_cell_label(const struct zp_export_cell *c)
{
    return c->v->label;
}

const struct zp_qdq_layer *zp_export_cell_layers(const struct zp_export_cell *c)
{
    return c->L;
}
