/* harness train CONFIG [--out FILE.onnx] [--resume] [--quiet]: trains the model a
 * train config describes (train/trainer.h) and writes it as ONNX with BN folded.
 * A checkpoint is written after every epoch; --resume continues from it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/commands.h"
#include "train/qat.h"
#include "config/train_config.h"
#include "train/trainer.h"

/* The "qat" section of a train config: fine-tune its checkpoint with fake
 * quantization (or, with epochs 0, measure post-training quantization). */
static enum zp_status run_qat(const struct zp_train_config *cfg, int quiet, struct zp_err *err)
{
    struct zp_dataset tr = {0}, te = {0};
    enum zp_status s = zp_dataset_load(&cfg->train_spec, &tr, err);
    if (s == ZP_OK)
        s = zp_dataset_load(&cfg->test_spec, &te, err);
    struct zp_qat_options opt = {
        .checkpoint = cfg->qat.checkpoint, .output = cfg->output, .epochs = cfg->qat.epochs,
        .batch = cfg->batch, .lr = cfg->qat.lr, .momentum = cfg->sgd.momentum,
        .weight_decay = cfg->sgd.weight_decay, .seed = cfg->seed,
        .bn_freeze_steps = cfg->qat.bn_freeze_steps, .act_ema = cfg->qat.act_ema,
        .weights = &cfg->qat.w, .acts = cfg->qat.has_acts ? &cfg->qat.a : NULL, .train = &tr,
        .eval = &te, .quiet = quiet};
    static struct zp_qat_result res;
    if (s == ZP_OK)
        s = zp_qat_finetune(&opt, &res, err);
    if (s == ZP_OK) {
        printf("%s: qat %s %d-bit %s, activations %s: float top1 %.4f, %s top1 %.4f\n",
               cfg->output, cfg->qat.w.scheme->name, cfg->qat.w.bits,
               cfg->qat.w.granularity == ZP_PER_CHANNEL ? "per-channel"
               : cfg->qat.w.granularity == ZP_PER_GROUP ? "per-group"
                                                        : "per-tensor",
               cfg->qat.has_acts ? cfg->qat.a.scheme->name : "float", res.float_top1,
               cfg->qat.epochs ? "qat" : "ptq", res.qat_top1);
        for (int i = 0; cfg->qat.has_acts && i < res.n_layers; i++)
            printf("  layer %d input range [%g, %g]\n", i, (double)res.act_lo[i],
                   (double)res.act_hi[i]);
    }
    zp_dataset_free(&tr);
    zp_dataset_free(&te);
    return s;
}

static int usage(const char *msg)
{
    fprintf(stderr, "harness train: %s\n%s", msg, zp_command_usage("train"));
    return ZP_EXIT_USAGE;
}

int zp_cmd_train(int argc, char **argv)
{
    const char *config = NULL, *out = NULL, *data = NULL;
    struct zp_train_run run = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--resume") == 0) {
            run.resume = 1;
        } else if (strcmp(argv[i], "--quiet") == 0) {
            run.quiet = 1;
        } else if (strcmp(argv[i], "--out") == 0) {
            if (++i >= argc)
                return usage("--out needs a file name");
            out = argv[i];
        } else if (strcmp(argv[i], "--threads") == 0) {
            char *end;
            if (++i >= argc)
                return usage("--threads needs a number");
            long t = strtol(argv[i], &end, 10);
            if (*end || t < 1 || t > 1024)
                return usage("--threads: expected 1..1024");
            run.threads = (int)t;
        } else if (strcmp(argv[i], "--data") == 0) {
            if (++i >= argc)
                return usage("--data needs a directory");
            data = argv[i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            char msg[300], hint[96];
            zp_flag_hint("train", argv[i], hint, sizeof hint);
            snprintf(msg, sizeof msg, "unknown option '%s'%s", argv[i], hint);
            return usage(msg);
        } else if (!config) {
            config = argv[i];
        } else {
            return usage("one CONFIG expected");
        }
    }
    if (!config)
        return usage("missing CONFIG");
    static struct zp_train_config cfg; /* large: keep it off the stack */
    struct zp_err err;
    zp_err_clear(&err);
    enum zp_status s = zp_train_config_load_root(config, data, &cfg, &err);
    if (s == ZP_OK && out) {
        if (strlen(out) >= sizeof cfg.output)
            return usage("--out: path too long");
        snprintf(cfg.output, sizeof cfg.output, "%s", out);
    }
    struct zp_train_summary sum;
    if (s == ZP_OK && cfg.qat.present) {
        s = run_qat(&cfg, run.quiet, &err);
        if (s != ZP_OK) {
            fprintf(stderr, "harness train: %s\n", err.msg);
            return s == ZP_ECONFIG ? ZP_EXIT_USAGE : ZP_EXIT_FAILED;
        }
        return ZP_EXIT_OK;
    }
    if (s == ZP_OK)
        s = zp_train_run(&cfg, &run, &sum, &err);
    if (s != ZP_OK) {
        fprintf(stderr, "harness train: %s\n", err.msg);
        return s == ZP_ECONFIG ? ZP_EXIT_USAGE : ZP_EXIT_FAILED;
    }
    printf("%s: %d epochs, test top1 %.4f, %.1f s\n", cfg.output, sum.epochs_done, sum.test_top1,
           sum.seconds);
    return ZP_EXIT_OK;
}
