/* The training loop (see train/trainer.h). */
#include "train/trainer.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/mem.h"
#include "common/rng.h"
#include "train/batches.h"
#include "train/gtrain.h"
#include "train/onnx_export.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

enum zp_status zp_train_build_net(const struct zp_train_config *cfg, struct zp_tnet **net,
                                  struct zp_err *err)
{
    if (cfg->model == ZP_MODEL_MOBILENET)
        return zp_tnet_mobilenet(&cfg->mobilenet, cfg->seed, net, err);
    return zp_tnet_mlp(&cfg->mlp, cfg->seed, net, err);
}

enum zp_status zp_train_epoch(struct zp_tnet *net, const struct zp_dataset *ds,
                              const struct zp_sgd *sgd, int batch, int hflip, uint64_t seed,
                              int epoch, long *step, long total_steps, struct zp_epoch_stats *st,
                              struct zp_err *err)
{
    struct zp_batches bt;
    enum zp_status s = zp_batches_init(&bt, ds, batch, hflip, seed, epoch, err);
    if (s == ZP_OK)
        s = zp_tnet_reserve(net, batch, err);
    if (s != ZP_OK) {
        zp_batches_free(&bt);
        return s;
    }
    const long steps = bt.steps;
    double loss = 0.0, t0 = now_s();
    long correct = 0;
    for (long b = 0; b < steps; b++) {
        zp_batches_fill(&bt, b);
        zp_tnet_forward(net, bt.x, batch, 1);
        int ok = 0;
        loss += zp_tnet_loss(net, bt.y, batch, &ok);
        correct += ok;
        zp_tnet_zero_grad(net);
        zp_tnet_backward(net, batch);
        zp_sgd_step(net, sgd, zp_sgd_lr(sgd, *step, total_steps, steps));
        (*step)++;
    }
    double dt = now_s() - t0;
    st->loss = loss / (double)steps;
    st->top1 = (double)correct / (double)(steps * batch);
    st->examples_per_s = dt > 0 ? (double)(steps * batch) / dt : 0.0;
    zp_batches_free(&bt);
    return ZP_OK;
}

double zp_train_evaluate(struct zp_tnet *net, const struct zp_dataset *ds, int batch)
{
    struct zp_err err;
    if (zp_tnet_reserve(net, batch, &err) != ZP_OK)
        return -1.0;
    const size_t ex = zp_dataset_example_size(ds);
    long correct = 0;
    for (int64_t s = 0; s < ds->n; s += batch) {
        int b = (int)((ds->n - s) < batch ? (ds->n - s) : batch);
        const float *z = zp_tnet_forward(net, ds->x + (size_t)s * ex, b, 0);
        for (int i = 0; i < b; i++) {
            int arg = 0;
            for (int k = 1; k < net->n_classes; k++)
                if (z[(size_t)k * b + i] > z[(size_t)arg * b + i])
                    arg = k;
            correct += arg == ds->labels[s + i];
        }
    }
    return ds->n ? (double)correct / (double)ds->n : 0.0;
}

void zp_train_checkpoint_path(const struct zp_train_config *cfg, char *out, size_t len)
{
    if (cfg->checkpoint[0]) {
        snprintf(out, len, "%s", cfg->checkpoint);
        return;
    }
    size_t n = strlen(cfg->output);
    if (n > 5 && strcmp(cfg->output + n - 5, ".onnx") == 0)
        n -= 5;
    snprintf(out, len, "%.*s.ckpt", (int)n, cfg->output);
}

void zp_train_doc(const struct zp_train_config *cfg, const struct zp_dataset *tr, double top1,
                  char *doc, size_t len)
{
    char pix[48] = "pixel";
    if (cfg->scale != 0 && cfg->scale != 1.0)
        snprintf(pix, sizeof pix, "pixel * %.17g", cfg->scale);
    snprintf(doc, len,
             "zeropoint harness train %s: input = (%s - %g) / %g, NCHW %dx%dx%d; "
             "%d epochs, seed %llu, test top1 %.4f",
             cfg->name, pix, (double)cfg->mean, (double)cfg->std, (int)tr->c, (int)tr->h,
             (int)tr->w, cfg->epochs, (unsigned long long)cfg->seed, top1);
}

enum zp_status zp_train_run(const struct zp_train_config *cfg, const struct zp_train_run *run,
                            struct zp_train_summary *sum, struct zp_err *err)
{
    if (cfg->model == ZP_MODEL_ONNX)
        return zp_train_run_graph(cfg, run, sum, err);
    memset(sum, 0, sizeof *sum);
    if (run->threads > 0)
        omp_set_num_threads(run->threads);
    zp_train_flush_denormals();
    const int blas_threads = zp_train_blas_threads(1);
    struct zp_dataset tr = {0}, te = {0};
    struct zp_tnet *net = NULL;
    enum zp_status s = zp_dataset_load(&cfg->train_spec, &tr, err);
    if (s == ZP_OK)
        s = zp_dataset_load(&cfg->test_spec, &te, err);
    if (s == ZP_OK && (tr.c != cfg->mobilenet.in_c || tr.h != cfg->mobilenet.in_h ||
                       tr.w != cfg->mobilenet.in_w || te.c != tr.c || te.h != tr.h ||
                       te.w != tr.w))
        s = zp_err_set(err, ZP_EINVAL,
                       "%s: examples are %lldx%lldx%lld (test %lldx%lldx%lld), the model "
                       "expects %dx%dx%d",
                       cfg->train_images, (long long)tr.c, (long long)tr.h, (long long)tr.w,
                       (long long)te.c, (long long)te.h, (long long)te.w, cfg->mobilenet.in_c,
                       cfg->mobilenet.in_h, cfg->mobilenet.in_w);
    if (s == ZP_OK && (tr.n_classes > cfg->mobilenet.n_classes ||
                       te.n_classes > cfg->mobilenet.n_classes))
        s = zp_err_set(err, ZP_EINVAL, "%s: labels go up to %d, the model has %d classes",
                       cfg->train_labels, (int)tr.n_classes - 1, cfg->mobilenet.n_classes);
    if (s == ZP_OK)
        s = zp_train_build_net(cfg, &net, err);
    char ckpt[1100];
    zp_train_checkpoint_path(cfg, ckpt, sizeof ckpt);
    int start = 0;
    if (s == ZP_OK && run->resume) {
        FILE *f = fopen(ckpt, "rb");
        if (f) {
            fclose(f);
            s = zp_checkpoint_load(net, &start, ckpt, err);
            if (s == ZP_OK && !run->quiet)
                fprintf(stderr, "train: resuming from %s after epoch %d of %d\n", ckpt, start,
                        cfg->epochs);
        } else if (!run->quiet) {
            fprintf(stderr, "train: --resume: no checkpoint at %s, starting from scratch\n",
                    ckpt);
        }
    }
    const long spe = tr.n / cfg->batch;
    const long total = spe * cfg->epochs;
    long step = spe * start;
    double t_all = now_s();
    int stopped = 0;
    for (int e = start; s == ZP_OK && e < cfg->epochs; e++) {
        if (run->stop_after > 0 && e - start >= run->stop_after) {
            stopped = 1;
            break;
        }
        struct zp_epoch_stats es;
        double lr = zp_sgd_lr(&cfg->sgd, step, total, spe);
        s = zp_train_epoch(net, &tr, &cfg->sgd, cfg->batch, cfg->hflip, cfg->seed, e, &step,
                           total, &es, err);
        if (s != ZP_OK)
            break;
        double acc = zp_train_evaluate(net, &te, 500);
        s = zp_checkpoint_save(net, e + 1, ckpt, err);
        if (!run->quiet)
            fprintf(stderr,
                    "train: epoch %d/%d  lr %.4f  loss %.4f  train top1 %.4f  test top1 %.4f  "
                    "%.0f examples/s  %.0f s\n",
                    e + 1, cfg->epochs, lr, es.loss, es.top1, acc, es.examples_per_s,
                    now_s() - t_all);
        sum->epochs_done = e + 1;
        sum->test_top1 = acc;
    }
    sum->seconds = now_s() - t_all;
    if (s == ZP_OK && !stopped) {
        if (start >= cfg->epochs)
            sum->epochs_done = cfg->epochs;
        if (start >= cfg->epochs || sum->test_top1 == 0.0)
            sum->test_top1 = zp_train_evaluate(net, &te, 500);
        char doc[512];
        zp_train_doc(cfg, &tr, sum->test_top1, doc, sizeof doc);
        s = zp_onnx_export(net, cfg->output, cfg->name, doc, err);
        if (s == ZP_OK && !run->quiet)
            fprintf(stderr, "train: wrote %s (test top1 %.4f), checkpoint %s\n", cfg->output,
                    sum->test_top1, ckpt);
    }
    zp_tnet_free(net);
    zp_dataset_free(&tr);
    zp_dataset_free(&te);
    zp_train_blas_threads(blas_threads);
    return s;
}
