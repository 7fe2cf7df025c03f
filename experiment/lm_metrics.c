/* Language-model metrics (experiment/lm_metrics.h). The per-prediction values of
 * a batch are computed in parallel into arrays, then summed in prediction order:
 * the same numbers on any number of threads. */
#include "experiment/lm_metrics.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/bootstrap.h"

/* log-softmax of one row in double: lp[i] = z[i] - logsumexp(z); returns the
 * argmax (first of ties). */
static int64_t log_softmax(const float *z, int64_t n, double *lp)
{
    int64_t best = 0;
    double mx = z[0];
    for (int64_t i = 1; i < n; i++)
        if (z[i] > mx) {
            mx = z[i];
            best = i;
        }
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += exp((double)z[i] - mx);
    double lse = mx + log(s);
    for (int64_t i = 0; i < n; i++)
        lp[i] = (double)z[i] - lse;
    return best;
}

/* One prediction's values: nll, float nll, kld, |dp|, agreement. */
struct lm_one {
    double nll, fnll, kld, dp;
    int agree;
};

static void lm_one(const float *fz, const float *qz, int32_t y, int64_t v, double *lp, double *lq,
                   struct lm_one *o)
{
    int64_t af = log_softmax(fz, v, lp), aq = log_softmax(qz, v, lq);
    double kld = 0;
    for (int64_t i = 0; i < v; i++) {
        double p = exp(lp[i]);
        if (p > 0)
            kld += p * (lp[i] - lq[i]);
    }
    o->nll = -lq[y];
    o->fnll = -lp[y];
    o->kld = kld > 0 ? kld : 0; /* >= 0 in exact arithmetic; rounding can dip below */
    o->dp = fabs(exp(lq[y]) - exp(lp[y]));
    o->agree = af == aq;
}

int zp_lm_acc_add(struct zp_lm_acc *a, const float *float_logits, const float *q_logits,
                  const int32_t *targets, int64_t n, int64_t vocab)
{
    if (n <= 0)
        return 0;
    struct lm_one *one = malloc((size_t)n * sizeof *one);
    if (!one) {
        a->oom = 1;
        return -1;
    }
    int failed = 0;
#pragma omp parallel
    {
        double *lp = malloc((size_t)vocab * 2 * sizeof *lp);
        if (!lp) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++)
            if (lp)
                lm_one(float_logits + (size_t)i * (size_t)vocab, q_logits + (size_t)i * (size_t)vocab,
                       targets[i], vocab, lp, lp + vocab, &one[i]);
        free(lp);
    }
    if (failed) {
        free(one);
        a->oom = 1;
        return -1;
    }
    if ((size_t)a->n + (size_t)n > a->cap && !a->oom) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < (size_t)a->n + (size_t)n)
            cap *= 2;
        double *k = realloc(a->kld, cap * sizeof *k);
        if (!k)
            a->oom = 1;
        else {
            a->kld = k;
            a->cap = cap;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        a->nll_sum += one[i].nll;
        a->float_nll_sum += one[i].fnll;
        a->kld_sum += one[i].kld;
        a->dp_sum += one[i].dp;
        a->agree += one[i].agree;
        if (one[i].kld > a->kld_max)
            a->kld_max = one[i].kld;
        if (!a->oom)
            a->kld[a->n + i] = one[i].kld;
    }
    a->n += n;
    free(one);
    return a->oom ? -1 : 0;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

void zp_lm_acc_finish(const struct zp_lm_acc *a, struct zp_lm_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->n = a->n;
    if (a->n == 0) {
        m->nll = m->ppl = m->float_nll = m->float_ppl = m->kld_mean = m->kld_p99 = m->kld_max =
            m->top1_agreement = m->mean_abs_dp = NAN;
        return;
    }
    double n = (double)a->n;
    m->nll = a->nll_sum / n;
    m->ppl = exp(m->nll);
    m->float_nll = a->float_nll_sum / n;
    m->float_ppl = exp(m->float_nll);
    m->kld_mean = a->kld_sum / n;
    m->kld_max = a->kld_max;
    m->top1_agreement = (double)a->agree / n;
    m->mean_abs_dp = a->dp_sum / n;
    m->kld_p99 = NAN;
    if (!a->oom && a->kld) {
        double *s = malloc((size_t)a->n * sizeof *s);
        if (s) {
            memcpy(s, a->kld, (size_t)a->n * sizeof *s);
            qsort(s, (size_t)a->n, sizeof *s, cmp_double);
            m->kld_p99 = zp_quantile_sorted(s, (size_t)a->n, 0.99);
            free(s);
        }
    }
}

void zp_lm_acc_free(struct zp_lm_acc *a)
{
    free(a->kld);
    memset(a, 0, sizeof *a);
}

double zp_lm_mean_nll(const float *logits, const int32_t *targets, int64_t n, int64_t vocab)
{
    if (n <= 0)
        return NAN;
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * (size_t)vocab;
        double mx = z[0];
        for (int64_t k = 1; k < vocab; k++)
            mx = fmax(mx, z[k]);
        double e = 0;
        for (int64_t k = 0; k < vocab; k++)
            e += exp((double)z[k] - mx);
        s += mx + log(e) - (double)z[targets[i]];
    }
    return s / (double)n;
}
