/* The weight-histogram cell: the histogram of the layer with the most weights
 * (weights_hist.csv) and each variant's decoded levels on it (levels.csv). */
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

/* ---- weight histogram and each variant's levels ----------------------------- */

/* The layer shown in the histogram figure: the one with the most weights. */
static int hist_layer(const struct zp_model_ctx *m)
{
    int best = 0;
    size_t most = 0;
    for (int l = 0; l < m->n_layers; l++) {
        size_t wn = mx_weight_count(zp_graph_layer(m->g, l));
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
    size_t wn = mx_weight_count(li);
    const float *wt = mx_base_weight(m, l);
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
        zp_csv_set_str(h, ZP_HIST_MODEL, m->mc->name);
        zp_csv_set_str(h, ZP_HIST_LAYER, li->name);
        zp_csv_set_num(h, ZP_HIST_X, lo + (b + 0.5) * w);
        zp_csv_set_int(h, ZP_HIST_COUNT, count[b]);
        zp_csv_end_row(h);
    }
    /* Levels of each variant on that layer, one set per figure line. A per-tensor
     * variant has one set; a per-channel or per-group one has a set per channel,
     * so the row shows the channel the quantizer fits widest: the one with the
     * largest max|w| (its K = wn / out_channels weights, fitted as one tensor),
     * and levels.csv names it in `channel`. */
    int64_t oc = li->n_out > 0 ? li->n_out : 1;
    size_t kc = wn / (size_t)oc;
    int64_t widest = 0;
    float widest_abs = -1.0f;
    for (int64_t ch = 0; kc > 0 && ch < oc; ch++) {
        float a = 0.0f;
        for (size_t i = 0; i < kc; i++)
            a = fmaxf(a, fabsf(wt[(size_t)ch * kc + i]));
        if (a > widest_abs) {
            widest_abs = a;
            widest = ch;
        }
    }
    struct zp_csv *lv = &out->rows[ZP_TABLE_LEVELS];
    for (size_t vi = 0; vi < cfg->n_variants; vi++) {
        struct zp_scheme_config c = cfg->variants[vi].w;
        int sliced = c.granularity != ZP_PER_TENSOR && kc > 0 && (size_t)oc * kc == wn;
        const float *src = sliced ? wt + (size_t)widest * kc : wt;
        size_t sn = sliced ? kc : wn;
        c.granularity = ZP_PER_TENSOR;
        struct zp_qparams p;
        memset(&p, 0, sizeof p);
        if (c.scheme->fit(&c, src, sn, &p, err))
            return err->status;
        int32_t q0 = p.n_levels > 0 ? 0 : p.qmin, q1 = p.n_levels > 0 ? p.n_levels - 1 : p.qmax;
        if (q1 - q0 > 255)
            q1 = q0 + 255;
        for (int32_t q = q0; q <= q1; q++) {
            float x;
            c.scheme->dequantize(&c, &p, &q, &x, 1);
            zp_csv_set_str(lv, ZP_LEV_MODEL, m->mc->name);
            zp_csv_set_str(lv, ZP_LEV_SCHEME, c.scheme->name);
            zp_csv_set_str(lv, ZP_LEV_LABEL, cfg->variants[vi].label);
            zp_csv_set_str(lv, ZP_LEV_LAYER, li->name);
            zp_csv_set_num(lv, ZP_LEV_LEVEL, x);
            if (sliced)
                zp_csv_set_int(lv, ZP_LEV_CHANNEL, widest);
            else
                zp_csv_set_empty(lv, ZP_LEV_CHANNEL); /* per-tensor: one set of levels */
            zp_csv_end_row(lv);
        }
    }
    (void)cell;
    /* the float model's own accuracy row, first for the model (this cell is the
     * model's first in the plan): top-1/top-5 of the float logits, drop 0,
     * agreement 1; plots/ and the report keep it apart from the schemes */
    struct zp_csv *r = &out->rows[ZP_TABLE_ACCURACY];
    zp_csv_set_str(r, ZP_ACC_MODEL, m->mc->name);
    zp_csv_set_str(r, ZP_ACC_DATASET, m->mc->eval.name);
    zp_csv_set_str(r, ZP_ACC_SCHEME, "float");
    zp_csv_set_str(r, ZP_ACC_LABEL, "float");
    zp_csv_set_int(r, ZP_ACC_BITS, 32);
    zp_csv_set_empty(r, ZP_ACC_GRANULARITY);
    zp_csv_set_str(r, ZP_ACC_MODE, "float");
    zp_csv_set_str(r, ZP_ACC_CALIBRATION, "none");
    zp_csv_set_empty(r, ZP_ACC_CALIB_SIZE);
    zp_csv_set_bool(r, ZP_ACC_NUDGE_ZERO, -1);
    zp_csv_set_bool(r, ZP_ACC_NARROW_RANGE, -1);
    zp_csv_set_bool(r, ZP_ACC_BIAS_CORRECTION, -1);
    zp_csv_set_empty(r, ZP_ACC_ACT_SCHEME);
    zp_csv_set_empty(r, ZP_ACC_ACT_BITS);
    zp_csv_set_str(r, ZP_ACC_OPTIONS, "");
    zp_csv_set_int(r, ZP_ACC_N_EVAL, m->n_eval);
    zp_csv_set_num(r, ZP_ACC_FLOAT_TOP1, m->float_top1);
    zp_csv_set_num(r, ZP_ACC_TOP1, m->float_top1);
    zp_csv_set_num(r, ZP_ACC_TOP5, m->float_top5);
    zp_csv_set_num(r, ZP_ACC_DROP, 0.0);
    zp_csv_set_num(r, ZP_ACC_AGREEMENT, 1.0);
    zp_csv_set_num(r, ZP_ACC_KL, 0.0);
    zp_csv_set_num(r, ZP_ACC_LOGIT_SQNR_DB, NAN); /* no error: SQNR is unbounded */
    zp_csv_set_str(r, ZP_ACC_BIAS, "float");
    zp_csv_set_empty(r, ZP_ACC_WEIGHT_CALIBRATION);
    zp_csv_set_empty(r, ZP_ACC_ROUNDING);
    zp_csv_set_num(r, ZP_ACC_FLOAT_TOP5, m->float_top5);
    zp_csv_set_num(r, ZP_ACC_BITS_PER_WEIGHT, 32.0); /* float32 weights */
    zp_csv_set_empty(r, ZP_ACC_CLIP_SHARE);
    zp_csv_set_int(r, ZP_ACC_REPLICATE, 0);
    zp_csv_set_empty(r, ZP_ACC_SELECT_TOP1);
    zp_csv_set_bool(r, ZP_ACC_ACT_NUDGE_ZERO, -1);
    zp_csv_set_bool(r, ZP_ACC_ACT_NARROW_RANGE, -1);
    zp_csv_set_empty(r, ZP_ACC_ACT_OPTIONS);
    zp_csv_set_empty(r, ZP_ACC_VS_FAKEQUANT_AGREEMENT);
    zp_csv_set_empty(r, ZP_ACC_VS_FAKEQUANT_LOGIT_SQNR_DB);
    zp_csv_set_empty(r, ZP_ACC_IMAGES_PER_S);
    zp_csv_set_empty(r, ZP_ACC_SPEEDUP_VS_FLOAT);
    zp_variant_qat_cols(r, NULL);
    zp_csv_set_bool(r, ZP_ACC_EQUALIZE, -1);
    zp_csv_set_bool(r, ZP_ACC_BIAS_ABSORPTION, -1);
    /* a language model's float row: its own NLL, no divergence from itself */
    struct zp_lm_metrics lm = {.n = m->n_eval * m->lm_t, .nll = m->float_nll, .ppl = exp(m->float_nll),
                               .float_nll = m->float_nll, .float_ppl = exp(m->float_nll),
                               .top1_agreement = 1.0};
    mx_lm_cols(r, m->lm_t ? &lm : NULL);
    zp_csv_set_bool(r, ZP_ACC_QUANTIZE_ATTENTION, -1);
    zp_csv_set_bool(r, ZP_ACC_QUANTIZE_EMBEDDING, -1);
    zp_csv_end_row(r);
    return ZP_OK;
}
