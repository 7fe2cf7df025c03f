/* harness plot RESULTS_DIR: regenerate every figure and the report of a run
 * folder from its CSVs (plots/plot.h). Exit 0 on success, also when a figure
 * could not be drawn (a warning, printed and in the report); 1 when the folder
 * holds no results CSV, a CSV or the report can't be read or written, or gnuplot
 * is missing (nothing could be drawn); 2 on a usage error. */
#include <stdio.h>
#include <string.h>

#include "harness/commands.h"
#include "plots/plot.h"

int zp_cmd_plot(int argc, char **argv)
{
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(zp_command_usage("plot"), stdout);
            return ZP_EXIT_OK;
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            char hint[96];
            zp_flag_hint("plot", argv[i], hint, sizeof hint);
            fprintf(stderr, "harness plot: unknown option '%s'%s\n%s", argv[i], hint,
                    zp_command_usage("plot"));
            return ZP_EXIT_USAGE;
        }
        if (dir) {
            fprintf(stderr, "harness plot: expected one RESULTS_DIR, got a second: '%s'\n%s", argv[i],
                    zp_command_usage("plot"));
            return ZP_EXIT_USAGE;
        }
        dir = argv[i];
    }
    if (!dir) {
        fprintf(stderr, "harness plot: missing RESULTS_DIR\n%s", zp_command_usage("plot"));
        return ZP_EXIT_USAGE;
    }
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    enum zp_status st = zp_plots_render(dir, &warn, &err);
    if (st != ZP_OK) {
        fprintf(stderr, "harness plot: %s\n", err.msg);
        return st == ZP_ECONFIG ? ZP_EXIT_USAGE : ZP_EXIT_FAILED;
    }
    zp_plot_warnings_print(&warn, stderr, "harness plot: ");
    fprintf(stderr, "harness plot: %zu of %zu figures drawn in %s/plots, report in %s/report.html\n",
            warn.nrendered, warn.nfigs, dir, dir);
    /* drawing figures is this command's whole job: without gnuplot it failed */
    return warn.no_gnuplot ? ZP_EXIT_FAILED : ZP_EXIT_OK;
}
