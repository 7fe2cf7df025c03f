/* harness run CONFIG: parse flags, load the config, run the plan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/commands.h"
#include "config/config.h"
#include "experiment/runner.h"
#include "plots/plot.h"

#define MAX_CLI_PLUGINS 16

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "harness run: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", zp_command_usage("run"));
    return ZP_EXIT_USAGE;
}

/* Exit code of a failure: bad config or flags are usage errors (2), the rest are
 * failures of the run itself (1). */
static int exit_code(enum zp_status st)
{
    return st == ZP_ECONFIG ? ZP_EXIT_USAGE : ZP_EXIT_FAILED;
}

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* The figures and the report of a finished run; a figure that cannot be drawn is
 * printed as a warning (and listed in the report), not a failure. */
static enum zp_status draw_figures(const char *dir, struct zp_err *err)
{
    struct zp_plot_warnings pw;
    enum zp_status st = zp_plots_render(dir, &pw, err);
    zp_plot_warnings_print(&pw, stderr, "harness: figures: ");
    return st;
}

int zp_cmd_run(int argc, char **argv)
{
    /* the figures are drawn from the CSVs once every cell is committed */
    struct zp_run_opts o = {.shard_n = 1, .figures = draw_figures};
    const char *config = NULL, *data = NULL;
    const char *plugins[MAX_CLI_PLUGINS];
    int n_plugins = 0;
    int save_logits = 0;
    const char *shard_env = getenv("SLURM_ARRAY_TASK_ID");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VAL()                                                      \
    do {                                                                \
        if (!val)                                                       \
            return usage_error("%s needs a value", a);                  \
        i++;                                                            \
    } while (0)
        if (strcmp(a, "--out") == 0) {
            NEED_VAL();
            o.out = val;
        } else if (strcmp(a, "--only") == 0) {
            NEED_VAL();
            o.only = val;
        } else if (strcmp(a, "--data") == 0) {
            NEED_VAL();
            data = val;
        } else if (strcmp(a, "--plugin") == 0) {
            NEED_VAL();
            if (n_plugins == MAX_CLI_PLUGINS)
                return usage_error("%s: too many plugins", a);
            plugins[n_plugins++] = val;
        } else if (strcmp(a, "--shard") == 0) {
            NEED_VAL();
            int si, sn;
            char extra;
            if (sscanf(val, "%d/%d%c", &si, &sn, &extra) != 2 || sn < 1 || si < 0 || si >= sn)
                return usage_error("--shard: expected I/N with 0 <= I < N, got '%s'", val);
            o.shard_i = si;
            o.shard_n = sn;
        } else if (strcmp(a, "--threads") == 0) {
            NEED_VAL();
            long t;
            if (parse_long(val, 1, 1024, &t))
                return usage_error("--threads: expected 1..1024, got '%s'", val);
            o.threads = (int)t;
        } else if (strcmp(a, "--limit") == 0) {
            NEED_VAL();
            if (parse_long(val, 1, 1L << 40, &o.limit))
                return usage_error("--limit: expected a positive count, got '%s'", val);
        } else if (strcmp(a, "--resume") == 0) {
            o.resume = 1;
        } else if (strcmp(a, "--force") == 0) {
            o.force = 1;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            o.quiet = 1;
        } else if (strcmp(a, "--no-plots") == 0) {
            o.no_plots = 1;
        } else if (strcmp(a, "--yes") == 0) {
            o.yes = 1;
        } else if (strcmp(a, "--save-logits") == 0) {
            save_logits = 1;
        } else if (a[0] == '-') {
            char hint[96], msg[160];
            zp_flag_hint("run", a, hint, sizeof hint);
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
    if (o.resume && o.force)
        return usage_error("%s", "--resume and --force exclude each other");
    (void)shard_env;

    struct zp_config_env env = {.data_root = data, .n_plugins = n_plugins, .plugins = plugins};
    struct zp_config cfg;
    struct zp_err err = {0};
    if (zp_config_load(config, &env, &cfg, &err)) {
        fprintf(stderr, "harness: %s\n", err.msg);
        return exit_code(err.status);
    }
    if (save_logits)
        cfg.save_logits = 1; /* the config key save_logits */
    enum zp_status st = zp_run(&cfg, &o, &err);
    char dir[1024];
    zp_run_folder(&cfg, &o, dir, sizeof dir);
    zp_config_free(&cfg);
    if (st) {
        fprintf(stderr, "harness: %s\n", err.msg);
        return exit_code(st);
    }
    if (!o.quiet)
        fprintf(stderr, "results: %s/\n", dir);
    return ZP_EXIT_OK;
}
