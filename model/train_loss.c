/* Losses of the training graph (model/graph_train.h): softmax cross-entropy and
 * the distillation KL divergence, with their gradients, in double. */
#include <math.h>

#include "model/graph_train.h"

/* p = softmax(z / T) of one row, in double. */
static void softmax_row(const float *z, int n, double T, double *p)
{
    double m = -INFINITY, s = 0;
    for (int k = 0; k < n; k++)
        m = z[k] / T > m ? z[k] / T : m;
    for (int k = 0; k < n; k++) {
        p[k] = exp(z[k] / T - m);
        s += p[k];
    }
    for (int k = 0; k < n; k++)
        p[k] /= s;
}

double zp_loss_xent(const float *logits, const int32_t *labels, int batch, int classes,
                    float *dlogits, int *correct)
{
    for (int i = 0; i < batch; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return NAN;
    double loss = 0;
    int hits = 0;
    double p[classes];
    for (int i = 0; i < batch; i++) {
        const float *z = logits + (int64_t)i * classes;
        softmax_row(z, classes, 1.0, p);
        int best = 0;
        for (int k = 1; k < classes; k++)
            best = z[k] > z[best] ? k : best;
        hits += best == labels[i];
        loss -= log(p[labels[i]] > 1e-300 ? p[labels[i]] : 1e-300);
        if (dlogits)
            for (int k = 0; k < classes; k++)
                dlogits[(int64_t)i * classes + k] =
                    (float)((p[k] - (k == labels[i])) / batch);
    }
    if (correct)
        *correct = hits;
    return loss / batch;
}

double zp_loss_kl(const float *logits, const float *teacher, int batch, int classes, double T,
                  float *dlogits)
{
    double loss = 0;
    double ps[classes], pt[classes];
    for (int i = 0; i < batch; i++) {
        softmax_row(logits + (int64_t)i * classes, classes, T, ps);
        softmax_row(teacher + (int64_t)i * classes, classes, T, pt);
        for (int k = 0; k < classes; k++) {
            if (pt[k] > 0)
                loss += pt[k] * (log(pt[k]) - log(ps[k] > 1e-300 ? ps[k] : 1e-300));
            if (dlogits)
                dlogits[(int64_t)i * classes + k] = (float)(T * (ps[k] - pt[k]) / batch);
        }
    }
    return T * T * loss / batch;
}
