/* harness inspect MODEL.onnx: loads a model and prints its graph, parameter
 * counts and per-layer weight ranges (model/graph_print.c). */
#include <stdio.h>
#include <string.h>

#include "harness/commands.h"
#include "model/graph.h"

int zp_cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(zp_command_usage("inspect"), stdout);
            return ZP_EXIT_OK;
        }
        if (argv[i][0] == '-' || path) {
            char hint[96];
            zp_flag_hint("inspect", argv[i], hint, sizeof hint);
            fprintf(stderr, "harness inspect: unexpected argument '%s'%s\n%s", argv[i], hint,
                    zp_command_usage("inspect"));
            return ZP_EXIT_USAGE;
        }
        path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "harness inspect: missing MODEL\n%s", zp_command_usage("inspect"));
        return ZP_EXIT_USAGE;
    }
    struct zp_graph *g;
    struct zp_err err = {0};
    if (zp_onnx_load(path, &g, &err) != ZP_OK) {
        fprintf(stderr, "harness inspect: %s\n", err.msg);
        return ZP_EXIT_FAILED;
    }
    printf("model %s\n", path);
    zp_graph_print(g, stdout);
    zp_graph_free(g);
    return ZP_EXIT_OK;
}
