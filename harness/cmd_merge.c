/* harness merge --out DIR SHARD_DIR...: joins the run folders of the shards of one
 * sweep (store/merge.h), then draws the figures of the merged folder. */
#include <stdio.h>
#include <string.h>

#include "harness/commands.h"
#include "plots/plot.h"
#include "store/merge.h"

int zp_cmd_merge(int argc, char **argv)
{
    const char *out = NULL;
    const char *shards[4096];
    int n = 0, no_plots = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--no-plots") == 0)
            no_plots = 1;
        else if (argv[i][0] == '-' || n == 4096) {
            char hint[96];
            zp_flag_hint("merge", argv[i], hint, sizeof hint);
            fprintf(stderr, "harness merge: unknown option '%s'%s\n%s", argv[i], hint,
                    zp_command_usage("merge"));
            return ZP_EXIT_USAGE;
        } else
            shards[n++] = argv[i];
    }
    if (!out || n == 0) {
        fprintf(stderr, "harness merge: needs --out DIR and at least one shard folder\n%s",
                zp_command_usage("merge"));
        return ZP_EXIT_USAGE;
    }
    struct zp_err err = {0};
    struct zp_merge_result res;
    if (zp_merge(out, shards, n, &res, &err)) {
        fprintf(stderr, "harness merge: %s\n", err.msg);
        return err.status == ZP_ECONFIG ? ZP_EXIT_USAGE : ZP_EXIT_FAILED;
    }
    if (res.cells_missing) {
        fprintf(stderr,
                "harness merge: %zu of %zu cells are missing from the shards given; the merged folder holds "
                "the rest (run the missing shards, then merge again)\n",
                res.cells_missing, res.cells_total);
        return ZP_EXIT_FAILED;
    }
    if (!no_plots) {
        struct zp_plot_warnings pw;
        enum zp_status fst = zp_plots_render(out, &pw, &err); /* a figure that fails is a warning */
        zp_plot_warnings_print(&pw, stderr, "harness merge: figures: ");
        if (fst) {
            fprintf(stderr, "harness merge: figures: %s\n", err.msg);
            return ZP_EXIT_FAILED;
        }
    }
    fprintf(stderr, "merged %d shard folders into %s/ (%zu cells)\n", n, out, res.cells_total);
    return ZP_EXIT_OK;
}
