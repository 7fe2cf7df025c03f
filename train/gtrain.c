/* Training on the graph runtime (see train/gtrain.h): the state, epochs,
 * evaluation, SGD and the deployment export. Checkpoints: train/gtrain_ckpt.c. */
#include "train/gtrain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/atomic.h"
#include "common/file.h"
#include "common/mem.h"
#include "train/batches.h"
#include "train/onnx_rewrite.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void zp_gtrain_free(struct zp_gtrain *gt)
{
    if (!gt)
        return;
    for (int i = 0; gt->mom && i < gt->n_params; i++)
        zp_free(gt->mom[i]);
    for (int i = 0; gt->mom2 && i < gt->n_params; i++)
        zp_free(gt->mom2[i]);
    free(gt->mom);
    free(gt->mom2);
    zp_free(gt->dlogits);
    zp_tgraph_free(gt->t);
    zp_graph_free(gt->g);
    free(gt->onnx);
    free(gt);
}

enum zp_status zp_gtrain_open(uint8_t *onnx, size_t len, const char *what, int max_batch,
                              struct zp_gtrain **out, struct zp_err *err)
{
    *out = NULL;
    struct zp_gtrain *gt = calloc(1, sizeof *gt);
    if (!gt) {
        free(onnx);
        return zp_err_set(err, ZP_ENOMEM, "train: out of memory");
    }
    gt->onnx = onnx;
    gt->onnx_len = len;
    gt->max_batch = max_batch;
    snprintf(gt->what, sizeof gt->what, "%s", what);
    enum zp_status st = zp_onnx_load_train_buffer(onnx, len, what, &gt->g, err);
    if (st == ZP_OK)
        st = zp_tgraph_new(gt->g, max_batch, &gt->t, err);
    if (st != ZP_OK) {
        zp_gtrain_free(gt);
        return st;
    }
    gt->in_ndim = zp_graph_input_shape(gt->g, gt->in_shape);
    gt->in_size = 1;
    for (int i = 0; i < gt->in_ndim; i++)
        gt->in_size *= (size_t)gt->in_shape[i];
    gt->n_classes = (int)zp_graph_output_size(gt->g);
    gt->n_params = zp_tgraph_num_params(gt->t);
    gt->mom = calloc((size_t)(gt->n_params ? gt->n_params : 1), sizeof *gt->mom);
    gt->dlogits = zp_alloc((size_t)max_batch * (size_t)gt->n_classes * sizeof(float));
    int ok = gt->mom && gt->dlogits;
    for (int i = 0; ok && i < gt->n_params; i++)
        ok = (gt->mom[i] = zp_calloc(zp_tgraph_param(gt->t, i)->n, sizeof(float))) != NULL;
    if (!ok) {
        zp_gtrain_free(gt);
        return zp_err_set(err, ZP_ENOMEM, "train: out of memory for %s", what);
    }
    *out = gt;
    return ZP_OK;
}

enum zp_status zp_gtrain_open_config(const struct zp_train_config *cfg, int max_batch,
                                     struct zp_gtrain **out, struct zp_err *err)
{
    *out = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    enum zp_status st;
    if (cfg->model == ZP_MODEL_ONNX) {
        char *text = NULL;
        st = zp_file_read(cfg->model_path, zp_file_model_max_bytes(), "model file", &text, &len,
                          err);
        buf = (uint8_t *)text;
    } else {
        st = zp_train_model_onnx(cfg, &buf, &len, err);
    }
    if (st != ZP_OK)
        return st;
    return zp_gtrain_open(buf, len, cfg->model == ZP_MODEL_ONNX ? cfg->model_path : cfg->name,
                          max_batch, out, err);
}

enum zp_status zp_gtrain_check_data(const struct zp_gtrain *gt, const struct zp_dataset *ds,
                                    const char *what, struct zp_err *err)
{
    const size_t ex = zp_dataset_example_size(ds);
    /* [C, H, W] must match; a flat [K] input takes any example of K values */
    int same = gt->in_ndim == 3 ? gt->in_shape[0] == ds->c && gt->in_shape[1] == ds->h &&
                                      gt->in_shape[2] == ds->w
                                : ex == gt->in_size;
    if (!same) {
        char shape[96] = "";
        for (int i = 0; i < gt->in_ndim; i++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", i ? "x" : "",
                     (long long)gt->in_shape[i]);
        return zp_err_set(err, ZP_EINVAL, "%s: examples are %lldx%lldx%lld, the model %s expects %s",
                          what, (long long)ds->c, (long long)ds->h, (long long)ds->w, gt->what,
                          shape);
    }
    if (ds->n_classes > gt->n_classes)
        return zp_err_set(err, ZP_EINVAL, "%s: labels go up to %d, the model %s has %d outputs",
                          what, (int)ds->n_classes - 1, gt->what, gt->n_classes);
    return ZP_OK;
}

enum zp_status zp_gtrain_step(struct zp_gtrain *gt, const struct zp_sgd *sgd, double lr,
                                  struct zp_err *err)
{
    if (sgd->optimizer == ZP_OPT_ADAM && !gt->mom2) {
        gt->mom2 = calloc((size_t)(gt->n_params ? gt->n_params : 1), sizeof *gt->mom2);
        int ok = gt->mom2 != NULL;
        for (int i = 0; ok && i < gt->n_params; i++)
            ok = (gt->mom2[i] = zp_calloc(zp_tgraph_param(gt->t, i)->n, sizeof(float))) != NULL;
        if (!ok)
            return zp_err_set(err, ZP_ENOMEM, "train: out of memory for adam's moments of %s",
                              gt->what);
    }
    if (sgd->optimizer == ZP_OPT_ADAM)
        gt->adam_steps++;
    for (int i = 0; i < gt->n_params; i++) {
        const struct zp_gparam *p = zp_tgraph_param(gt->t, i);
        if (sgd->optimizer == ZP_OPT_ADAM)
            zp_adam_update(p->w, p->g, gt->mom[i], gt->mom2[i], p->n, p->decay, sgd, lr,
                           gt->adam_steps);
        else
            zp_sgd_update(p->w, p->g, gt->mom[i], p->n, p->decay, sgd, lr);
    }
    return ZP_OK;
}

void zp_gtrain_reset_momentum(struct zp_gtrain *gt)
{
    for (int i = 0; i < gt->n_params; i++) {
        memset(gt->mom[i], 0, zp_tgraph_param(gt->t, i)->n * sizeof(float));
        if (gt->mom2)
            memset(gt->mom2[i], 0, zp_tgraph_param(gt->t, i)->n * sizeof(float));
    }
    gt->adam_steps = 0;
}

enum zp_status zp_gtrain_epoch(struct zp_gtrain *gt, const struct zp_dataset *ds,
                               const struct zp_sgd *sgd, int batch, int hflip, uint64_t seed,
                               int epoch, long *step, long total_steps,
                               struct zp_epoch_stats *st, struct zp_err *err)
{
    if (batch > gt->max_batch)
        return zp_err_set(err, ZP_EINVAL, "train: batch %d over the state's %d", batch,
                          gt->max_batch);
    struct zp_batches bt;
    enum zp_status s = zp_batches_init(&bt, ds, batch, hflip, seed, epoch, err);
    if (s != ZP_OK)
        return s;
    double loss = 0.0, t0 = now_s();
    long correct = 0;
    for (long b = 0; b < bt.steps && s == ZP_OK; b++) {
        zp_batches_fill(&bt, b);
        const float *z = NULL;
        if (gt->before_step)
            gt->before_step(gt->step_ctx, gt);
        zp_tgraph_zero_grad(gt->t);
        s = zp_tgraph_forward(gt->t, bt.x, batch, 1, &z, err);
        if (s != ZP_OK)
            break;
        int ok = 0;
        double l = zp_loss_xent(z, bt.y, batch, gt->n_classes, gt->dlogits, &ok);
        if (l != l) {
            s = zp_err_set(err, ZP_EINVAL, "train: %s: a label outside 0..%d", gt->what,
                           gt->n_classes - 1);
            break;
        }
        loss += l;
        correct += ok;
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
        st->loss = loss / (double)bt.steps;
        st->top1 = (double)correct / (double)(bt.steps * batch);
        st->examples_per_s = dt > 0 ? (double)(bt.steps * batch) / dt : 0.0;
    }
    zp_batches_free(&bt);
    return s;
}

enum zp_status zp_gtrain_evaluate(struct zp_gtrain *gt, const struct zp_dataset *ds, double *top1,
                                  struct zp_err *err)
{
    *top1 = 0.0;
    const size_t ex = zp_dataset_example_size(ds);
    long correct = 0;
    for (int64_t s = 0; s < ds->n; s += gt->max_batch) {
        int b = (int)((ds->n - s) < gt->max_batch ? (ds->n - s) : gt->max_batch);
        const float *z = NULL;
        enum zp_status st = zp_tgraph_forward(gt->t, ds->x + (size_t)s * ex, b, 0, &z, err);
        if (st != ZP_OK)
            return st;
        for (int i = 0; i < b; i++) {
            const float *zi = z + (size_t)i * gt->n_classes;
            int arg = 0;
            for (int k = 1; k < gt->n_classes; k++)
                if (zi[k] > zi[arg])
                    arg = k;
            correct += arg == ds->labels[s + i];
        }
    }
    *top1 = ds->n ? (double)correct / (double)ds->n : 0.0;
    return ZP_OK;
}

/* The trained values copied into a second graph loaded from the same bytes,
 * whose BNs are recorded and then folded: gt keeps training unchanged. */
static enum zp_status folded_copy(const struct zp_gtrain *gt, struct zp_graph **out,
                                  struct zp_bn_record **bn, int *n_bn, struct zp_err *err)
{
    struct zp_graph *g = NULL;
    struct zp_tgraph *t = NULL;
    *out = NULL;
    *bn = NULL;
    *n_bn = 0;
    enum zp_status st = zp_onnx_load_train_buffer(gt->onnx, gt->onnx_len, gt->what, &g, err);
    if (st == ZP_OK)
        st = zp_tgraph_new(g, 1, &t, err);
    if (st == ZP_OK && zp_tgraph_num_params(t) != gt->n_params)
        st = zp_err_set(err, ZP_EFORMAT, "train: %s: the reloaded graph has %d parameters, not %d",
                        gt->what, zp_tgraph_num_params(t), gt->n_params);
    for (int i = 0; st == ZP_OK && i < gt->n_params; i++) {
        const struct zp_gparam *src = zp_tgraph_param(gt->t, i), *dst = zp_tgraph_param(t, i);
        memcpy(dst->w, src->w, src->n * sizeof(float));
    }
    const int nb = st == ZP_OK ? zp_tgraph_num_bn(t) : 0;
    struct zp_bn_record *r = calloc((size_t)(nb ? nb : 1), sizeof *r);
    if (st == ZP_OK && !r)
        st = zp_err_set(err, ZP_ENOMEM, "train: out of memory");
    for (int i = 0; st == ZP_OK && i < nb; i++) {
        struct zp_bn_view a, b;
        zp_tgraph_bn(gt->t, i, &a);
        zp_tgraph_bn(t, i, &b);
        const size_t bytes = (size_t)a.channels * sizeof(float);
        memcpy(b.mean, a.mean, bytes);
        memcpy(b.var, a.var, bytes);
        snprintf(r[i].name, sizeof r[i].name, "%s", a.name);
        r[i].after_layer = a.after_layer;
        r[i].channels = a.channels;
        float **dst[4] = {&r[i].gamma, &r[i].beta, &r[i].mean, &r[i].var};
        const float *srcs[4] = {a.gamma, a.beta, a.mean, a.var};
        for (int k = 0; k < 4 && st == ZP_OK; k++) {
            if (!(*dst[k] = malloc(bytes + 1)))
                st = zp_err_set(err, ZP_ENOMEM, "train: out of memory");
            else
                memcpy(*dst[k], srcs[k], bytes);
        }
    }
    if (t) {
        zp_tgraph_sync(t);
        zp_tgraph_free(t);
    }
    if (st == ZP_OK)
        st = zp_graph_fold_bn(g, err);
    if (st != ZP_OK) {
        zp_bn_records_free(r, nb);
        free(r);
        zp_graph_free(g);
        return st;
    }
    *out = g;
    *bn = r;
    *n_bn = nb;
    return ZP_OK;
}

enum zp_status zp_gtrain_export(const struct zp_gtrain *gt, const char *path, const char *doc,
                                struct zp_err *err)
{
    struct zp_graph *g;
    struct zp_bn_record *bn;
    int n_bn;
    enum zp_status st = folded_copy(gt, &g, &bn, &n_bn, err);
    if (st != ZP_OK)
        return st;
    uint8_t *buf = NULL;
    size_t len = 0;
    st = zp_onnx_rewrite(gt->onnx, gt->onnx_len, g, bn, n_bn, doc, &buf, &len, err);
    zp_bn_records_free(bn, n_bn);
    free(bn);
    zp_graph_free(g);
    if (st != ZP_OK)
        return st;
    struct zp_atomic_file af;
    if (zp_atomic_open(&af, path, err)) {
        free(buf);
        return err->status;
    }
    int ok = fwrite(buf, 1, len, af.f) == len;
    free(buf);
    if (!ok) {
        zp_atomic_abort(&af);
        return zp_err_set(err, ZP_EIO, "%s: cannot write the ONNX model", path);
    }
    return zp_atomic_commit(&af, err);
}
