/* harness train CONFIG [--out FILE.onnx] [--resume] [--quiet]: trains the model a
 * train config describes (train/trainer.h) and writes it as ONNX with BN folded.
 * A checkpoint is written after every epoch; --resume continues from it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/commands.h"
#include "train/trainer.h"

static int usage(const char *msg)
{
    fprintf(stderr, "harness train: %s\n%s", msg, zp_command_usage("train"));
    return ZP_EXIT_USAGE;
}

int zp_cmd_train(int argc, char **argv)
{
    const char *config = NULL, *out = NULL;
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
        } else if (argv[i][0] == '-' && argv[i][1]) {
            char msg[300];
            snprintf(msg, sizeof msg, "unknown option '%s'", argv[i]);
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
    enum zp_status s = zp_train_config_load(config, &cfg, &err);
    if (s == ZP_OK && out) {
        if (strlen(out) >= sizeof cfg.output)
            return usage("--out: path too long");
        snprintf(cfg.output, sizeof cfg.output, "%s", out);
    }
    struct zp_train_summary sum;
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
