/* Times the float runtime on one ONNX model: images/s over `reps` batches of
 * random inputs, the protocol of scripts/bench_common.h. Built and run by
 * scripts/bench_float_inference.sh; OMP_NUM_THREADS sets the threads.
 * usage: bench_float_inference MODEL.onnx [batch=50] [reps=20] [hooked]
 * "hooked" also times the node-by-node schedule that per-layer hooks use. */
#include <string.h>

#include "scripts/bench_common.h"

static void on_output(void *ctx, int layer, const float *y, int batch)
{
    (void)ctx;
    (void)layer;
    (void)y;
    (void)batch;
}

/* ctx: the hooks, NULL for the fast schedule */
static enum zp_status run_float(void *ctx, const struct bench *b, struct zp_err *err)
{
    return zp_graph_run(b->g, b->x, b->batch, b->y, ctx, err);
}

int main(int argc, char **argv)
{
    if (argc < 2 || (argc > 4 && strcmp(argv[4], "hooked"))) {
        fprintf(stderr, "usage: %s MODEL.onnx [batch] [reps] [hooked]\n", argv[0]);
        return 2;
    }
    struct bench b;
    int rc = bench_open(&b, argc, argv, "bench_float_inference");
    if (rc)
        return rc;
    rc = bench_time(&b, "zeropoint", run_float, NULL, "bench_float_inference");
    if (!rc && argc > 4) { /* the node-by-node schedule the quantization runs use (a no-op callback) */
        struct zp_run_hooks h = {.layer_output = on_output};
        rc = bench_time(&b, "zeropoint-hooked", run_float, &h, "bench_float_inference");
    }
    bench_close(&b);
    return rc;
}
