/* The training loop (see train/trainer.h), on the graph runtime (train/gtrain.h). */
#include "train/trainer.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train/gtrain.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

enum zp_status zp_train_build_net(const struct zp_train_config *cfg, struct zp_tnet **net,
                                  struct zp_err *err)
{
    *net = NULL;
    if (cfg->model == ZP_MODEL_ONNX)
        return zp_err_set(err, ZP_EINVAL, "train: %s: an ONNX model has no built-in architecture",
                          cfg->model_path);
    if (cfg->model == ZP_MODEL_MOBILENET)
        return zp_tnet_mobilenet(&cfg->mobilenet, cfg->seed, net, err);
    return zp_tnet_mlp(&cfg->mlp, cfg->seed, net, err);
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

static enum zp_status load_data(const struct zp_train_config *cfg, const struct zp_gtrain *gt,
                                struct zp_dataset *tr, struct zp_dataset *te, struct zp_err *err)
{
    /* the model says how many channels the images become (IDX files are grey) */
    struct zp_dataset_spec a = cfg->train_spec, b = cfg->test_spec;
    if (gt->in_ndim == 3)
        a.channels = b.channels = (int)gt->in_shape[0];
    enum zp_status s = zp_dataset_load(&a, tr, err);
    if (s == ZP_OK)
        s = zp_dataset_load(&b, te, err);
    if (s == ZP_OK)
        s = zp_gtrain_check_data(gt, tr, cfg->train_images, err);
    if (s == ZP_OK)
        s = zp_gtrain_check_data(gt, te, cfg->test_images, err);
    return s;
}

enum zp_status zp_train_run(const struct zp_train_config *cfg, const struct zp_train_run *run,
                            struct zp_train_summary *sum, struct zp_err *err)
{
    memset(sum, 0, sizeof *sum);
    if (run->threads > 0)
        omp_set_num_threads(run->threads);
    zp_train_flush_denormals();
    struct zp_dataset tr = {0}, te = {0};
    struct zp_gtrain *gt = NULL;
    enum zp_status s = zp_gtrain_open_config(cfg, cfg->batch, &gt, err);
    if (s == ZP_OK)
        s = load_data(cfg, gt, &tr, &te, err);
    char ckpt[1100];
    zp_train_checkpoint_path(cfg, ckpt, sizeof ckpt);
    int start = 0;
    if (s == ZP_OK && run->resume) {
        FILE *f = fopen(ckpt, "rb");
        if (f) {
            fclose(f);
            s = zp_gtrain_checkpoint_load(gt, &start, ckpt, err);
            if (s == ZP_OK && !run->quiet)
                fprintf(stderr, "train: resuming from %s after epoch %d of %d\n", ckpt, start,
                        cfg->epochs);
        } else if (!run->quiet) {
            fprintf(stderr, "train: --resume: no checkpoint at %s, starting from scratch\n",
                    ckpt);
        }
    }
    const long spe = s == ZP_OK ? tr.n / cfg->batch : 0;
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
        s = zp_gtrain_epoch(gt, &tr, &cfg->sgd, cfg->batch, cfg->hflip, cfg->seed, e, &step,
                            total, &es, err);
        if (s != ZP_OK)
            break;
        double acc = 0.0;
        s = zp_gtrain_evaluate(gt, &te, &acc, err);
        if (s == ZP_OK)
            s = zp_gtrain_checkpoint_save(gt, e + 1, ckpt, err);
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
            s = zp_gtrain_evaluate(gt, &te, &sum->test_top1, err);
    }
    if (s == ZP_OK && !stopped) {
        char doc[512];
        zp_train_doc(cfg, &tr, sum->test_top1, doc, sizeof doc);
        s = zp_gtrain_export(gt, cfg->output, doc, err);
        if (s == ZP_OK && !run->quiet)
            fprintf(stderr, "train: wrote %s (test top1 %.4f), checkpoint %s\n", cfg->output,
                    sum->test_top1, ckpt);
    }
    zp_gtrain_free(gt);
    zp_dataset_free(&tr);
    zp_dataset_free(&te);
    return s;
}
