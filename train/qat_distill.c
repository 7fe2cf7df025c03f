/* The distillation epoch of QAT (train/qat.h): the float teacher and the
 * fake-quantized student see the same augmented batch; the student follows the
 * teacher's softened logits (model/train_loss.c zp_loss_kl), optionally mixed
 * with the labelled cross-entropy. */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "common/mem.h"
#include "train/batches.h"
#include "train/qat.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Row-wise argmax agreement of two batch x classes logit arrays. */
static int agree(const float *a, const float *b, int batch, int classes)
{
    int hits = 0;
    for (int i = 0; i < batch; i++) {
        const float *x = a + (size_t)i * classes, *y = b + (size_t)i * classes;
        int ax = 0, ay = 0;
        for (int k = 1; k < classes; k++) {
            ax = x[k] > x[ax] ? k : ax;
            ay = y[k] > y[ay] ? k : ay;
        }
        hits += ax == ay;
    }
    return hits;
}

enum zp_status zp_qat_distill_epoch(struct zp_gtrain *gt, struct zp_gtrain *teacher,
                                    const struct zp_dataset *ds, const struct zp_sgd *sgd,
                                    int batch, int hflip, double T, double alpha, uint64_t seed,
                                    int epoch, long *step, long total_steps,
                                    struct zp_epoch_stats *out, struct zp_err *err)
{
    if (batch > gt->max_batch || batch > teacher->max_batch)
        return zp_err_set(err, ZP_EINVAL, "qat: distill: batch %d over the state's %d", batch,
                          gt->max_batch < teacher->max_batch ? gt->max_batch : teacher->max_batch);
    if (gt->n_classes != teacher->n_classes)
        return zp_err_set(err, ZP_EINVAL, "qat: distill: the teacher has %d outputs, %s %d",
                          teacher->n_classes, gt->what, gt->n_classes);
    if (!(T > 0) || !(alpha >= 0 && alpha <= 1))
        return zp_err_set(err, ZP_EINVAL,
                          "qat: distill: temperature must be > 0 and alpha in 0..1 (got %g, %g)",
                          T, alpha);
    const int C = gt->n_classes;
    float *dx = alpha > 0 ? zp_alloc((size_t)batch * (size_t)C * sizeof(float)) : NULL;
    if (alpha > 0 && !dx)
        return zp_err_set(err, ZP_ENOMEM, "qat: out of memory");
    struct zp_batches bt;
    enum zp_status s = zp_batches_init(&bt, ds, batch, hflip, seed, epoch, err);
    if (s != ZP_OK) {
        zp_free(dx);
        return s;
    }
    double loss = 0.0, t0 = now_s();
    long hits = 0;
    for (long b = 0; b < bt.steps && s == ZP_OK; b++) {
        zp_batches_fill(&bt, b);
        const float *zt = NULL, *z = NULL;
        /* the teacher first: its logits stay valid until its own next forward */
        s = zp_tgraph_forward(teacher->t, bt.x, batch, 0, &zt, err);
        if (s != ZP_OK)
            break;
        if (gt->before_step)
            gt->before_step(gt->step_ctx, gt);
        zp_tgraph_zero_grad(gt->t);
        s = zp_tgraph_forward(gt->t, bt.x, batch, 1, &z, err);
        if (s != ZP_OK)
            break;
        double l = zp_loss_kl(z, zt, batch, C, T, gt->dlogits);
        if (alpha > 0) {
            double lx = zp_loss_xent(z, bt.y, batch, C, dx, NULL);
            if (lx != lx) {
                s = zp_err_set(err, ZP_EINVAL, "qat: distill with alpha %g: %s: a label outside "
                               "0..%d", alpha, gt->what, C - 1);
                break;
            }
            const size_t n = (size_t)batch * (size_t)C;
            for (size_t i = 0; i < n; i++)
                gt->dlogits[i] = (float)((1 - alpha) * gt->dlogits[i] + alpha * dx[i]);
            l = (1 - alpha) * l + alpha * lx;
        }
        if (!isfinite(l)) {
            s = zp_err_set(err, ZP_EINVAL, "qat: distill: %s: the loss is not finite at step %ld",
                           gt->what, *step);
            break;
        }
        loss += l;
        hits += agree(z, zt, batch, C);
        s = zp_tgraph_backward(gt->t, gt->dlogits, err);
        if (s != ZP_OK)
            break;
        s = zp_gtrain_step(gt, sgd, zp_sgd_lr(sgd, *step, total_steps, bt.steps), err);
        if (s != ZP_OK)
            break;
        (*step)++;
    }
    double dt = now_s() - t0;
    if (s == ZP_OK) {
        out->loss = loss / (double)bt.steps;
        out->top1 = (double)hits / (double)(bt.steps * batch);
        out->examples_per_s = dt > 0 ? (double)(bt.steps * batch) / dt : 0.0;
    }
    zp_batches_free(&bt);
    zp_free(dx);
    return s;
}
