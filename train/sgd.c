/* SGD with momentum (PyTorch form: m = mu*m + g + wd*w; w -= lr*m) and the
 * learning-rate schedules. */
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
