/* GPTQ (ptq/gptq.h). Plain C in double: the matrices are k x k with k the
 * inputs of one output (at most a few thousand), so the O(k^3) factorizations
 * are small next to the passes that collect H. */
#include "ptq/gptq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

enum zp_status zp_gptq_hessian_init(struct zp_gptq_hessian *h, int64_t groups, int64_t k,
                                    struct zp_err *err)
{
    memset(h, 0, sizeof *h);
    h->groups = groups;
    h->k = k;
    h->xx = zp_calloc((size_t)(groups * k * k), sizeof *h->xx);
    return h->xx ? ZP_OK : zp_err_set(err, ZP_ENOMEM, "out of memory for a %lld x %lld Hessian",
                                      (long long)k, (long long)k);
}

void zp_gptq_hessian_add(struct zp_gptq_hessian *h, int64_t g, const float *cols,
                         int64_t positions)
{
    const int64_t k = h->k;
    double *xx = h->xx + g * k * k;
    for (int64_t i = 0; i < k; i++) {
        const float *ci = cols + i * positions;
        for (int64_t j = 0; j <= i; j++) {
            const float *cj = cols + j * positions;
            double s = 0;
            for (int64_t p = 0; p < positions; p++)
                s += (double)ci[p] * (double)cj[p];
            xx[i * k + j] += s;
            if (j != i)
                xx[j * k + i] += s;
        }
    }
    if (g == 0)
        h->n += (uint64_t)positions;
}

void zp_gptq_hessian_free(struct zp_gptq_hessian *h)
{
    zp_free(h->xx);
    h->xx = NULL;
}

double zp_gptq_group_error(const struct zp_gptq_hessian *h, int64_t g, const float *w,
                           const float *wq, int64_t rows)
{
    const int64_t k = h->k;
    const double *xx = h->xx + g * k * k;
    double total = 0;
    double *d = malloc((size_t)k * sizeof *d);
    if (!d)
        return NAN;
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t j = 0; j < k; j++)
            d[j] = (double)w[r * k + j] - (double)wq[r * k + j];
        for (int64_t i = 0; i < k; i++) {
            double s = 0;
            for (int64_t j = 0; j < k; j++)
                s += xx[i * k + j] * d[j];
            total += d[i] * s;
        }
    }
    free(d);
    return h->n ? 2.0 * total / (double)h->n : 0.0;
}

/* In-place lower Cholesky factor of the n x n symmetric a (upper part zeroed);
 * -1 when a is not (numerically) positive definite. */
static int cholesky(double *a, int64_t n)
{
    for (int64_t j = 0; j < n; j++) {
        double s = a[j * n + j];
        for (int64_t t = 0; t < j; t++)
            s -= a[j * n + t] * a[j * n + t];
        if (!(s > 0) || !isfinite(s))
            return -1;
        double d = sqrt(s);
        a[j * n + j] = d;
        for (int64_t i = j + 1; i < n; i++) {
            double v = a[i * n + j];
            for (int64_t t = 0; t < j; t++)
                v -= a[i * n + t] * a[j * n + t];
            a[i * n + j] = v / d;
        }
        for (int64_t i = 0; i < j; i++)
            a[i * n + j] = 0;
    }
    return 0;
}

/* inv = (L L^T)^-1 from the lower factor L; li: n x n scratch for L^-1. */
static void cholesky_inverse(const double *L, int64_t n, double *li, double *inv)
{
    memset(li, 0, (size_t)(n * n) * sizeof *li);
    for (int64_t c = 0; c < n; c++) /* column c of L^-1: L x = e_c */
        for (int64_t i = c; i < n; i++) {
            double s = i == c ? 1.0 : 0.0;
            for (int64_t t = c; t < i; t++)
                s -= L[i * n + t] * li[t * n + c];
            li[i * n + c] = s / L[i * n + i];
        }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j <= i; j++) {
            double s = 0; /* (L^-T L^-1)[i][j] = sum over t >= i of li[t][i] li[t][j] */
            for (int64_t t = i; t < n; t++)
                s += li[t * n + i] * li[t * n + j];
            inv[i * n + j] = inv[j * n + i] = s;
        }
}

/* The upper factor U of H^-1 = U^T U for the damped H = hp + lambda I (hp: the
 * permuted Hessian), raising the dampening x10 until it factors. */
static enum zp_status inverse_factor(const double *hp, int64_t k, double *damp, double *a,
                                     double *li, double *u, struct zp_err *err)
{
    double mean = 0;
    for (int64_t i = 0; i < k; i++)
        mean += hp[i * k + i];
    mean /= (double)k;
    for (int attempt = 0; attempt < 8; attempt++, *damp = *damp > 0 ? *damp * 10 : 1e-6) {
        memcpy(a, hp, (size_t)(k * k) * sizeof *a);
        for (int64_t i = 0; i < k; i++)
            a[i * k + i] += *damp * mean;
        if (cholesky(a, k))
            continue;
        cholesky_inverse(a, k, li, u);
        if (cholesky(u, k)) /* u: the lower factor of H^-1 */
            continue;
        for (int64_t i = 0; i < k; i++) /* transpose into the upper factor */
            for (int64_t j = i + 1; j < k; j++) {
                u[i * k + j] = u[j * k + i];
                u[j * k + i] = 0;
            }
        return ZP_OK;
    }
    return zp_err_set(err, ZP_EINVAL,
                      "GPTQ: the Hessian stays singular with dampening up to %g x its mean "
                      "diagonal",
                      *damp);
}

/* x rounded to the nearest level of slice p. */
static float nearest(const struct zp_scheme_config *cfg, const struct zp_qparams *p, double x)
{
    float v = (float)x, y;
    zp_fake_quant_run(cfg, p, &v, &y, 1, NULL);
    return y;
}

/* perm[0..k) ordered by decreasing key, ties by index (insertion sort: k is
 * small, and the order must not depend on a sort's stability). */
static void order_by_decreasing(int64_t *perm, const double *key, int64_t k)
{
    for (int64_t i = 1; i < k; i++) {
        int64_t v = perm[i], j = i;
        while (j > 0 && (key[perm[j - 1]] < key[v] || (key[perm[j - 1]] == key[v] && perm[j - 1] > v))) {
            perm[j] = perm[j - 1];
            j--;
        }
        perm[j] = v;
    }
}

struct work {
    double *hp, *a, *li, *u, *wp, *e, *diag;
    int64_t *perm;
};

/* GPTQ on group g's rows (w, out: the group's first row). */
static enum zp_status gptq_group(const struct zp_scheme_config *cfg,
                                 const struct zp_tensor_qparams *qp,
                                 const struct zp_layer_mat *lm, int64_t g, const float *w,
                                 const struct zp_gptq_hessian *h,
                                 const struct zp_rounding_opts *o, struct work *ws, float *out,
                                 double *damp, struct zp_err *err)
{
    const int64_t k = lm->k, R = lm->rows_out, B = o->block_size > 0 ? o->block_size : k;
    const double *xx = h->xx + g * k * k, scale = 2.0 / (double)h->n;
    for (int64_t i = 0; i < k; i++) {
        ws->perm[i] = i;
        /* an input that is always 0 gets a unit diagonal: its weight rounds to
         * nearest and passes no error on (its row of H^-1 is then e_i) */
        ws->diag[i] = xx[i * k + i] > 0 ? xx[i * k + i] * scale : 1.0;
    }
    if (o->act_order)
        order_by_decreasing(ws->perm, ws->diag, k);
    for (int64_t a = 0; a < k; a++)
        for (int64_t b = 0; b < k; b++)
            ws->hp[a * k + b] = a == b ? ws->diag[ws->perm[a]]
                                       : xx[ws->perm[a] * k + ws->perm[b]] * scale;
    if (inverse_factor(ws->hp, k, damp, ws->a, ws->li, ws->u, err))
        return err->status;
    for (int64_t r = 0; r < R; r++)
        for (int64_t a = 0; a < k; a++)
            ws->wp[r * k + a] = w[r * k + ws->perm[a]];
    const double *U = ws->u;
    for (int64_t i1 = 0; i1 < k; i1 += B) {
        int64_t i2 = i1 + B < k ? i1 + B : k, bw = i2 - i1;
        for (int64_t i = i1; i < i2; i++) {
            double d = U[i * k + i];
            for (int64_t r = 0; r < R; r++) {
                double *wr = ws->wp + r * k;
                size_t s = zp_layer_slice(cfg, qp, lm, g * R + r, ws->perm[i]);
                float q = nearest(cfg, &qp->slice[s], wr[i]);
                out[r * k + ws->perm[i]] = q;
                double e = (wr[i] - (double)q) / d;
                ws->e[r * B + (i - i1)] = e;
                for (int64_t j = i + 1; j < i2; j++) /* within the block: at once */
                    wr[j] -= e * U[i * k + j];
            }
        }
        for (int64_t r = 0; r < R; r++) { /* the columns after the block: lazily, once */
            double *wr = ws->wp + r * k;
            const double *er = ws->e + r * B;
            for (int64_t t = 0; t < bw; t++) {
                const double *ui = U + (i1 + t) * k, et = er[t];
                for (int64_t j = i2; j < k; j++)
                    wr[j] -= et * ui[j];
            }
        }
    }
    return ZP_OK;
}

enum zp_status zp_gptq_layer(const struct zp_scheme_config *cfg,
                             const struct zp_tensor_qparams *qp, const struct zp_layer_mat *lm,
                             const float *w, const struct zp_gptq_hessian *h,
                             const struct zp_rounding_opts *o, float *out,
                             struct zp_gptq_report *rep, struct zp_err *err)
{
    const int64_t k = lm->k, R = lm->rows_out, B = o->block_size > 0 ? o->block_size : k;
    memset(rep, 0, sizeof *rep);
    if (h->n == 0)
        return zp_err_set(err, ZP_EINVAL, "GPTQ: no calibration inputs were added");
    if (h->k != k || h->groups != lm->groups)
        return zp_err_set(err, ZP_EINVAL, "GPTQ: the Hessian's shape does not match the layer");
    struct work ws = {0};
    size_t kk = (size_t)(k * k);
    ws.hp = malloc(kk * sizeof(double));
    ws.a = malloc(kk * sizeof(double));
    ws.li = malloc(kk * sizeof(double));
    ws.u = malloc(kk * sizeof(double));
    ws.wp = malloc((size_t)(R * k) * sizeof(double));
    ws.e = malloc((size_t)(R * B) * sizeof(double));
    ws.diag = malloc((size_t)k * sizeof(double));
    ws.perm = malloc((size_t)k * sizeof(int64_t));
    float *near = malloc((size_t)(R * k) * sizeof *near);
    float *res = malloc((size_t)(R * k) * sizeof *res); /* out may be w: kept apart */
    enum zp_status st = ZP_OK;
    if (!ws.hp || !ws.a || !ws.li || !ws.u || !ws.wp || !ws.e || !ws.diag || !ws.perm || !near ||
        !res)
        st = zp_err_set(err, ZP_ENOMEM, "out of memory");
    rep->dampening = o->dampening;
    for (int64_t g = 0; g < lm->groups && !st; g++) {
        const float *wg = w + g * R * k;
        for (int64_t r = 0; r < R; r++) /* before out is written: out may be w */
            for (int64_t j = 0; j < k; j++)
                near[r * k + j] = nearest(cfg, &qp->slice[zp_layer_slice(cfg, qp, lm, g * R + r, j)],
                                          wg[r * k + j]);
        double e_near = zp_gptq_group_error(h, g, wg, near, R);
        double damp = o->dampening;
        st = gptq_group(cfg, qp, lm, g, wg, h, o, &ws, res, &damp, err);
        if (!st) {
            rep->err_nearest += e_near;
            rep->err_gptq += zp_gptq_group_error(h, g, wg, res, R);
            memcpy(out + g * R * k, res, (size_t)(R * k) * sizeof *res);
            if (damp > rep->dampening)
                rep->dampening = damp;
        }
    }
    free(res);
    free(ws.hp);
    free(ws.a);
    free(ws.li);
    free(ws.u);
    free(ws.wp);
    free(ws.e);
    free(ws.diag);
    free(ws.perm);
    free(near);
    return st;
}
