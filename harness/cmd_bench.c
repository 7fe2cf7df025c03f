/* harness bench CONFIG [--out DIR] [--isa NAME] [--peak] [--quiet]: the kernel
 * benchmark (experiment/bench.h), then its figures (plots/plot.h); `--peak` alone
 * measures the instruction peaks only. */
#include <stdio.h>
#include <string.h>

#include "experiment/bench.h"
#include "harness/commands.h"
#include "plots/plot.h"

/* The same kernel figures as `harness plot` draws; a figure never fails the bench. */
static enum zp_status draw_figures(const char *dir, struct zp_err *err)
{
    struct zp_plot_warnings pw;
    enum zp_status st = zp_plots_render_kernels(dir, &pw, err);
    if (!st)
        zp_plot_warnings_print(&pw, stderr, "harness: bench: ");
    return st;
}

static int usage(const char *msg)
{
    fprintf(stderr, "harness: bench: %s\n%s", msg, zp_command_usage("bench"));
    return ZP_EXIT_USAGE;
}

int zp_cmd_bench(int argc, char **argv)
{
    const char *config = NULL, *out = NULL;
    int isa = -1, peak_only = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc) {
            isa = zp_isa_parse(argv[++i]);
            if (isa < 0) {
                char m[160];
                snprintf(m, sizeof m, "--isa: unknown ISA '%s' (expected ref, avx2, avx512bw, avx512vnni, avx512vpopcnt, avx512bf16)",
                         argv[i]);
                return usage(m);
            }
        } else if (strcmp(argv[i], "--peak") == 0)
            peak_only = 1;
        else if (strcmp(argv[i], "--quiet") == 0)
            quiet = 1;
        else if (argv[i][0] == '-') {
            char m[256], hint[96];
            zp_flag_hint("bench", argv[i], hint, sizeof hint);
            snprintf(m, sizeof m, "unknown or incomplete option '%s'%s", argv[i], hint);
            return usage(m);
        } else if (!config)
            config = argv[i];
        else
            return usage("more than one CONFIG given");
    }
    if (!config && !peak_only)
        return usage("missing CONFIG (or --peak)");
    if (isa >= 0 && !zp_cpu_has((enum zp_isa)isa)) {
        fprintf(stderr, "harness: bench: --isa %s: this CPU (%s) does not support it\n", zp_isa_name((enum zp_isa)isa),
                zp_cpu_model());
        return ZP_EXIT_FAILED;
    }

    struct zp_err err = {0};
    if (!config) {
        if (zp_bench_peaks(out, 0, &err)) {
            fprintf(stderr, "harness: bench: %s\n", err.msg);
            return ZP_EXIT_FAILED;
        }
        return ZP_EXIT_OK;
    }
    struct zp_bench_config cfg;
    if (zp_bench_config_load(config, &cfg, &err)) {
        fprintf(stderr, "harness: bench: %s\n", err.msg);
        return err.status == ZP_ECONFIG ? ZP_EXIT_USAGE : ZP_EXIT_FAILED;
    }
    struct zp_bench_opts o = {.config_path = config, .out = out, .isa = isa, .quiet = quiet,
                              .figures = draw_figures};
    enum zp_status st = zp_bench_run(&cfg, &o, &err);
    zp_bench_config_free(&cfg);
    if (st) {
        fprintf(stderr, "harness: bench: %s\n", err.msg);
        return ZP_EXIT_FAILED;
    }
    return ZP_EXIT_OK;
}

