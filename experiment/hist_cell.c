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
            zp_csv_set_str(lv, ZP_LEV_MODEL, m->mc->name);
            zp_csv_set_str(lv, ZP_LEV_SCHEME, c.scheme->name);
            zp_csv_set_str(lv, ZP_LEV_LABEL, cfg->variants[vi].label);
            zp_csv_set_str(lv, ZP_LEV_LAYER, li->name);
            zp_csv_set_num(lv, ZP_LEV_LEVEL, x);
            zp_csv_end_row(lv);
        }
    }
    (void)cell;
    return ZP_OK;
}
