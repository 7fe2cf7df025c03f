/* harness inspect MODEL.onnx: loads a model and prints its graph, parameter
 * counts and per-layer weight ranges (model/graph_print.c); when nodes cannot
 * be loaded, every one of them is listed (not just the first), so one run shows
 * all that a model needs. harness inspect --ops: the importer's op table. */
#include <stdio.h>
#include <string.h>

#include "harness/commands.h"
#include "model/graph.h"

static void print_bad(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "  %s\n", msg);
}

int zp_cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    int ops = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(zp_command_usage("inspect"), stdout);
            return ZP_EXIT_OK;
        }
        if (!strcmp(argv[i], "--ops") && !path && !ops) {
            ops = 1;
            continue;
        }
        if (argv[i][0] == '-' || path || ops) {
            char hint[96];
            zp_flag_hint("inspect", argv[i], hint, sizeof hint);
            fprintf(stderr, "harness inspect: unexpected argument '%s'%s\n%s", argv[i], hint,
                    zp_command_usage("inspect"));
            return ZP_EXIT_USAGE;
        }
        path = argv[i];
    }
    if (ops) {
        zp_op_table_markdown(stdout);
        return ZP_EXIT_OK;
    }
    if (!path) {
        fprintf(stderr, "harness inspect: missing MODEL\n%s", zp_command_usage("inspect"));
        return ZP_EXIT_USAGE;
    }
    struct zp_err err = {0};
    int bad = 0;
    if (zp_onnx_check(path, print_bad, NULL, &bad, &err) != ZP_OK) {
        if (bad)
            fprintf(stderr, "harness inspect: the model cannot be loaded: %d problem%s (listed "
                    "above; harness inspect --ops shows the supported operators)\n", bad,
                    bad == 1 ? "" : "s");
        else
            fprintf(stderr, "harness inspect: %s\n", err.msg);
        return ZP_EXIT_FAILED;
    }
    struct zp_graph *g;
    if (zp_onnx_load(path, &g, &err) != ZP_OK) {
        fprintf(stderr, "harness inspect: %s\n", err.msg);
        return ZP_EXIT_FAILED;
    }
    printf("model %s\n", path);
    zp_graph_print(g, stdout);
    zp_graph_free(g);
    return ZP_EXIT_OK;
}
