/* harness export CONFIG --cell LABEL --out FILE.onnx: one cell of a config,
 * quantized as its `both` cell is in a run, written as ONNX QDQ
 * (experiment/export_cell.h, train/onnx_qdq.h). Every input is checked before
 * the model is loaded; the file appears whole or not at all (temp + rename). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "experiment/export_cell.h"
#include "harness/commands.h"

#define MAX_CLI_PLUGINS 16

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "harness export: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", zp_command_usage("export"));
    return ZP_EXIT_USAGE;
}

/* A cell that cannot be exported (unknown label, a scheme with no QDQ form) is a
 * usage error like a bad config; a model, data or file problem is a failure. */
static int exit_code(enum zp_status st)
{
    return st == ZP_ECONFIG || st == ZP_EUNSUPPORTED ? ZP_EXIT_USAGE : ZP_EXIT_FAILED;
}

/* --out must name a file in an existing, writable directory. */
static int check_out(const char *out, char *msg, size_t n)
{
    struct stat sb;
    if (!out[0] || out[strlen(out) - 1] == '/' || (stat(out, &sb) == 0 && S_ISDIR(sb.st_mode))) {
        snprintf(msg, n, "--out %s: a directory; give the file to write (FILE.onnx)", out);
        return -1;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(msg, n, "--out %s: directory '%s' does not exist", out, dir);
        return -1;
    }
    if (access(dir, W_OK) != 0) {
        snprintf(msg, n, "--out %s: directory '%s' is not writable (%s)", out, dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_atomic(const char *path, const uint8_t *buf, size_t len, char *msg, size_t n)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(buf, 1, len, f) == len;
    int e = errno;
    if (f && fclose(f) != 0) {
        ok = 0;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        remove(tmp);
        snprintf(msg, n, "%s: cannot write the model (%s)", path, strerror(e));
        return -1;
    }
    return 0;
}

int zp_cmd_export(int argc, char **argv)
{
    const char *config = NULL, *data = NULL, *cell = NULL, *model = NULL, *out = NULL;
    const char *plugins[MAX_CLI_PLUGINS];
    int n_plugins = 0;
    struct zp_run_opts o = {.shard_n = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VAL()                                                      \
    do {                                                                \
        if (!val)                                                       \
            return usage_error("%s needs a value", a);                  \
        i++;                                                            \
    } while (0)
        if (strcmp(a, "--cell") == 0) {
            NEED_VAL();
            cell = val;
        } else if (strcmp(a, "--model") == 0) {
            NEED_VAL();
            model = val;
        } else if (strcmp(a, "--out") == 0) {
            NEED_VAL();
            out = val;
        } else if (strcmp(a, "--data") == 0) {
            NEED_VAL();
            data = val;
        } else if (strcmp(a, "--plugin") == 0) {
            NEED_VAL();
            if (n_plugins == MAX_CLI_PLUGINS)
                return usage_error("%s: too many plugins", a);
            plugins[n_plugins++] = val;
        } else if (strcmp(a, "--threads") == 0) {
            NEED_VAL();
            char *end;
            long t = strtol(val, &end, 10);
            if (!*val || *end || t < 1 || t > 1024)
                return usage_error("--threads: expected 1..1024, got '%s'", val);
            o.threads = (int)t;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            o.quiet = 1;
        } else if (a[0] == '-') {
            char hint[96], msg[160];
            zp_flag_hint("export", a, hint, sizeof hint);
            snprintf(msg, sizeof msg, "unknown option '%%s'%s", hint);
            return usage_error(msg, a);
        } else if (!config) {
            config = a;
        } else {
            return usage_error("unexpected argument '%s' (one CONFIG only)", a);
        }
#undef NEED_VAL
    }
    if (!config)
        return usage_error("%s", "missing CONFIG");
    if (!cell)
        return usage_error("%s", "missing --cell LABEL (the labels: harness run CONFIG --only ?)");
    if (!out)
        return usage_error("%s", "missing --out FILE.onnx");
    char msg[4400];
    if (check_out(out, msg, sizeof msg)) {
        fprintf(stderr, "harness export: %s\n", msg);
        return ZP_EXIT_FAILED;
    }

    struct zp_config_env env = {.data_root = data, .n_plugins = n_plugins, .plugins = plugins};
    struct zp_config cfg;
    struct zp_err err = {0};
    if (zp_config_load(config, &env, &cfg, &err)) {
        fprintf(stderr, "harness: %s\n", err.msg);
        return exit_code(err.status);
    }
    struct zp_export_cell *c = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    enum zp_status st = zp_export_cell_open(&cfg, cell, model, &o, &c, &err);
    if (!st)
        st = zp_export_cell_onnx(c, &buf, &len, &err);
    int rc = ZP_EXIT_OK;
    if (st) {
        fprintf(stderr, "harness export: %s\n", err.msg);
        rc = exit_code(st);
    } else if (write_atomic(out, buf, len, msg, sizeof msg)) {
        fprintf(stderr, "harness export: %s\n", msg);
        rc = ZP_EXIT_FAILED;
    } else if (!o.quiet) {
        fprintf(stderr, "exported cell '%s' as ONNX QDQ: %s (%zu bytes)\n", zp_export_cell_label(c),
                out, len);
    }
    free(buf);
    zp_export_cell_free(c);
    zp_config_free(&cfg);
    return rc;
}
