/* AdaRound (ptq/adaround.h). The two products of each step (the outputs of a
 * batch of rows and the gradient of the weights) are OpenBLAS sgemm calls; the
 * rest is elementwise over the weights. */
#include "ptq/adaround.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"

#define ZETA 1.1
#define GAMMA (-0.1)

static float level_of(const struct zp_scheme_config *cfg, const struct zp_qparams *p, int32_t c)
{
    float y;
    cfg->scheme->dequantize(cfg, p, &c, &y, 1);
    return y;
}

enum zp_status zp_grid_neighbors(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                                 float x, float *down, float *up, struct zp_err *err)
{
    int32_t c, cmin = p->n_levels > 0 ? 0 : p->qmin, cmax = p->n_levels > 0 ? p->n_levels - 1 : p->qmax;
    cfg->scheme->quantize(cfg, p, &x, &c, 1);
    float at = level_of(cfg, p, c);
    float prev = c > cmin ? level_of(cfg, p, c - 1) : -INFINITY;
    float next = c < cmax ? level_of(cfg, p, c + 1) : INFINITY;
    if (!(prev <= at && at <= next))
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "AdaRound: the levels of scheme '%s' do not ascend with its codes "
                          "(codes %d, %d, %d decode to %g, %g, %g): no up / down neighbours to "
                          "choose between",
                          cfg->scheme->name, (int)c - 1, (int)c, (int)c + 1, (double)prev,
                          (double)at, (double)next);
    /* beyond an end of the grid the end level is both neighbours */
    *down = at <= x ? at : c > cmin ? prev : at;
    *up = at >= x ? at : c < cmax ? next : at;
    return ZP_OK;
}

static double h_of(double v)
{
    double s = 1.0 / (1.0 + exp(-v)) * (ZETA - GAMMA) + GAMMA;
    return s < 0 ? 0 : s > 1 ? 1 : s;
}

/* dh/dV: 0 where the clip is active. */
static double dh_of(double v)
{
    double sg = 1.0 / (1.0 + exp(-v)), s = sg * (ZETA - GAMMA) + GAMMA;
    return s <= 0 || s >= 1 ? 0 : sg * (1 - sg) * (ZETA - GAMMA);
}

/* mean over n rows of |t - x w^T|^2 (w: R x k). pred: n x R scratch. */
static double recon_error(const float *x, const float *t, const float *w, int64_t n, int64_t k,
                          int64_t R, float *pred)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)R, (int)k, 1.0f, x, (int)k,
                w, (int)k, 0.0f, pred, (int)R);
    double s = 0;
    for (int64_t i = 0; i < n * R; i++) {
        double d = (double)pred[i] - t[i];
        s += d * d;
    }
    return s / (double)n;
}

struct state {
    float *lo, *hi, *span, *v, *m, *s, *wt, *gw, *xb, *tb, *pred;
};

static void state_free(struct state *z)
{
    free(z->lo);
    free(z->hi);
    free(z->span);
    free(z->v);
    free(z->m);
    free(z->s);
    free(z->wt);
    free(z->gw);
    free(z->xb);
    free(z->tb);
    free(z->pred);
}

enum zp_status zp_adaround_group(const struct zp_scheme_config *cfg,
                                 const struct zp_tensor_qparams *qp,
                                 const struct zp_layer_mat *lm, int64_t g, const float *w,
                                 const float *x, const float *t, int64_t n,
                                 const struct zp_rounding_opts *o, float *out,
                                 struct zp_adaround_report *rep, struct zp_err *err)
{
    const int64_t R = lm->rows_out, k = lm->k, nw = R * k;
    const int64_t B = o->batch_rows < n ? o->batch_rows : n;
    memset(rep, 0, sizeof *rep);
    rep->n_weights = nw;
    if (n < 1)
        return zp_err_set(err, ZP_EINVAL, "AdaRound: no calibration rows");
    struct state z = {0};
    size_t wb = (size_t)nw * sizeof(float);
    z.lo = malloc(wb), z.hi = malloc(wb), z.span = malloc(wb), z.v = malloc(wb), z.m = calloc(1, wb);
    z.s = calloc(1, wb), z.wt = malloc(wb), z.gw = malloc(wb);
    z.xb = malloc((size_t)(B * k) * sizeof(float));
    z.tb = malloc((size_t)(B * R) * sizeof(float));
    z.pred = malloc((size_t)(n * R) * sizeof(float));
    if (!z.lo || !z.hi || !z.span || !z.v || !z.m || !z.s || !z.wt || !z.gw || !z.xb || !z.tb || !z.pred) {
        state_free(&z);
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    }
    /* the grid either side of each weight; V where h(V) is the weight's position */
    for (int64_t r = 0; r < R; r++)
        for (int64_t j = 0; j < k; j++) {
            int64_t i = r * k + j;
            const struct zp_qparams *p = &qp->slice[zp_layer_slice(cfg, qp, lm, g * R + r, j)];
            float down, up;
            if (zp_grid_neighbors(cfg, p, w[i], &down, &up, err)) {
                state_free(&z);
                return err->status;
            }
            z.lo[i] = down;
            z.hi[i] = up;
            z.span[i] = up - down;
            double frac = up > down ? ((double)w[i] - down) / (up - down) : 0.0;
            double sg = (frac - GAMMA) / (ZETA - GAMMA);
            z.v[i] = (float)log(sg / (1 - sg));
            float y; /* nearest, for the report */
            zp_fake_quant_run(cfg, p, &w[i], &y, 1, NULL);
            out[i] = y;
        }
    rep->err_nearest = recon_error(x, t, out, n, k, R, z.pred);

    struct zp_rng rng;
    zp_rng_seed(&rng, o->seed ^ (uint64_t)(g * 0x9E3779B97F4A7C15ull));
    const int T = o->iterations, warm = (int)(o->warm_start * T);
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    for (int it = 0; it < T; it++) {
        int reg = it >= warm;
        double beta = 0;
        if (reg) {
            double rel = T - warm > 1 ? (double)(it - warm) / (T - warm - 1) : 1.0;
            beta = o->beta_end + 0.5 * (o->beta_start - o->beta_end) * (1 + cos(rel * M_PI));
        }
        for (int64_t i = 0; i < nw; i++)
            z.wt[i] = z.lo[i] + z.span[i] * (float)h_of(z.v[i]);
        for (int64_t b = 0; b < B; b++) {
            int64_t row = (int64_t)zp_rng_below(&rng, (uint64_t)n);
            memcpy(z.xb + b * k, x + row * k, (size_t)k * sizeof(float));
            memcpy(z.tb + b * R, t + row * R, (size_t)R * sizeof(float));
        }
        /* pred = xb wt^T - tb; gw = 2 / B pred^T xb */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)R, (int)k, 1.0f, z.xb,
                    (int)k, z.wt, (int)k, 0.0f, z.pred, (int)R);
        for (int64_t i = 0; i < B * R; i++)
            z.pred[i] -= z.tb[i];
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)R, (int)k, (int)B,
                    2.0f / (float)B, z.pred, (int)R, z.xb, (int)k, 0.0f, z.gw, (int)k);
        double c1 = 1 - pow(b1, it + 1), c2 = 1 - pow(b2, it + 1);
        for (int64_t i = 0; i < nw; i++) {
            double dh = dh_of(z.v[i]);
            double gv = (double)z.gw[i] * z.span[i] * dh;
            if (reg && dh > 0) {
                double u = 2 * h_of(z.v[i]) - 1, au = fabs(u);
                /* d/dh of lambda (1 - |2h - 1|^beta) */
                double dreg = au > 0 ? -o->lambda * beta * pow(au, beta - 1) * (u > 0 ? 2 : -2) : 0;
                gv += dreg * dh;
            }
            z.m[i] = (float)(b1 * z.m[i] + (1 - b1) * gv);
            z.s[i] = (float)(b2 * z.s[i] + (1 - b2) * gv * gv);
            z.v[i] -= (float)(o->lr * (z.m[i] / c1) / (sqrt(z.s[i] / c2) + eps));
        }
    }
    for (int64_t i = 0; i < nw; i++) {
        float r = h_of(z.v[i]) >= 0.5 ? z.hi[i] : z.lo[i]; /* the levels themselves */
        rep->n_changed += r != out[i];
        out[i] = r;
    }
    rep->err_adaround = recon_error(x, t, out, n, k, R, z.pred);
    state_free(&z);
    return ZP_OK;
}
