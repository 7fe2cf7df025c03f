/* Language-model metrics, in the style of llama.cpp's perplexity tool
 * (--kl-divergence): every token position of every window is one next-token
 * prediction, scored against its target and against the float model's
 * distribution at the same position. docs/definitions.md defines each number.
 *
 * Per prediction (p = softmax of the float logits, q = of the quantized ones,
 * y = the target token):
 *   nll       = -log q(y)                    float_nll = -log p(y)
 *   kld       = sum_i p(i) (log p(i) - log q(i))
 *   agree     = argmax q == argmax p (first of ties)
 *   dp        = |q(y) - p(y)|
 * Over all predictions: the means, ppl = exp(mean nll), kld_max and kld_p99 (the
 * 99th percentile of the per-prediction KLD, linear interpolation between the
 * sorted values at rank 0.99 (n - 1): numpy's default, Hyndman-Fan type 7).
 * Everything runs in double; per-prediction values are reduced in prediction
 * order, so the numbers do not depend on the thread count. */
#ifndef ZP_EXPERIMENT_LM_METRICS_H
#define ZP_EXPERIMENT_LM_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct zp_lm_acc {
    long long n, agree;
    double nll_sum, float_nll_sum, kld_sum, dp_sum, kld_max;
    double *kld;    /* every prediction's KLD (for the percentile); grows */
    size_t cap;
    int oom;        /* an allocation failed: finish reports NaN percentiles */
};

struct zp_lm_metrics {
    long long n;
    double nll, ppl, float_nll, float_ppl, kld_mean, kld_p99, kld_max, top1_agreement, mean_abs_dp;
};

/* Adds n predictions: row i of float_logits / q_logits (vocab values each) and
 * its target (0 <= target < vocab, checked by the caller). Returns -1 when out
 * of memory (the accumulator stays consistent; finish says NaN for p99). */
int zp_lm_acc_add(struct zp_lm_acc *a, const float *float_logits, const float *q_logits,
                  const int32_t *targets, int64_t n, int64_t vocab);
void zp_lm_acc_finish(const struct zp_lm_acc *a, struct zp_lm_metrics *m);
void zp_lm_acc_free(struct zp_lm_acc *a);

/* Mean next-token NLL (nats) of logits alone over n predictions: the float
 * reference, sum of logsumexp(z) - z[target] in double, in order. */
double zp_lm_mean_nll(const float *logits, const int32_t *targets, int64_t n, int64_t vocab);

#endif
