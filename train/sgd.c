/* SGD with momentum (PyTorch form: m = mu*m + g + wd*w; w -= lr*m), Adam with
 * decoupled weight decay (PyTorch's AdamW) and the learning-rate schedules. */
#include <math.h>

#include "train/trainer.h"

double zp_sgd_lr(const struct zp_sgd *s, long step, long total, long steps_per_epoch)
{
    double warm = s->warmup_epochs * (double)steps_per_epoch;
    if (warm > 0 && step < warm) /* linear warmup from lr/10: large early steps diverge with BN */
        return s->lr * (0.1 + 0.9 * (double)step / warm);
    switch (s->schedule) {
    case ZP_LR_COSINE: {
        double t = total > warm ? ((double)step - warm) / ((double)total - warm) : 1.0;
        if (t > 1.0)
            t = 1.0;
        return s->lr * 0.5 * (1.0 + cos(M_PI * t));
    }
    case ZP_LR_STEP: {
        long epoch = steps_per_epoch > 0 ? step / steps_per_epoch : 0;
        long k = s->step_epochs > 0 ? epoch / s->step_epochs : 0;
        return s->lr * pow(s->step_gamma, (double)k);
    }
    case ZP_LR_CONSTANT:
        break;
    }
    return s->lr;
}

void zp_sgd_update(float *w, const float *g, float *m, size_t n, int decay,
                   const struct zp_sgd *s, double lr)
{
    const float mu = (float)s->momentum, d = decay ? (float)s->weight_decay : 0.0f,
                a = (float)lr;
    const long len = (long)n;
#pragma omp parallel for schedule(static) if (len > 65536)
    for (long e = 0; e < len; e++) {
        m[e] = mu * m[e] + g[e] + d * w[e];
        w[e] -= a * m[e];
    }
}

void zp_adam_update(float *w, const float *g, float *m, float *v, size_t n, int decay,
                    const struct zp_sgd *s, double lr, long t)
{
    const double b1 = s->momentum, b2 = 0.999;
    /* bias-corrected step folded into one factor: lr * sqrt(1 - b2^t) / (1 - b1^t) */
    const float a = (float)(lr * sqrt(1.0 - pow(b2, (double)t)) / (1.0 - pow(b1, (double)t))),
                eps = (float)(1e-8 * sqrt(1.0 - pow(b2, (double)t))),
                shrink = decay ? (float)(1.0 - lr * s->weight_decay) : 1.0f,
                fb1 = (float)b1, fb2 = (float)b2;
    const long len = (long)n;
#pragma omp parallel for schedule(static) if (len > 65536)
    for (long e = 0; e < len; e++) {
        m[e] = fb1 * m[e] + (1.0f - fb1) * g[e];
        v[e] = fb2 * v[e] + (1.0f - fb2) * g[e] * g[e];
        w[e] = w[e] * shrink - a * m[e] / (sqrtf(v[e]) + eps);
    }
}
