/* Times the float runtime on one ONNX model: images/s over `reps` batches of
 * random inputs (uniform in [-1, 1], the range of the u8/127.5-1 preprocessing)
 * after two warm-up batches, the protocol of scripts/bench_ort.js. A language
 * model (an int64 token input) gets token ids xorshift32 % 256 instead (any
 * vocabulary of 256 or more; the run time does not depend on the ids) and the
 * line adds tokens_per_window, the input's token count. Decoding is
 * excluded on purpose: this measures the graph executor only. Built and run by
 * scripts/bench_float_inference.sh; OMP_NUM_THREADS sets the threads.
 * usage: bench_float_inference MODEL.onnx [batch=50] [reps=20] [hooked]
 * "hooked" also times the node-by-node schedule that per-layer hooks use. */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/graph.h"

static void on_output(void *ctx, int layer, const float *y, int batch)
{
    (void)ctx;
    (void)layer;
    (void)y;
    (void)batch;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (argc > 4 && strcmp(argv[4], "hooked"))) {
        fprintf(stderr, "usage: %s MODEL.onnx [batch] [reps] [hooked]\n", argv[0]);
        return 2;
    }
    int batch = argc > 2 ? atoi(argv[2]) : 50, reps = argc > 3 ? atoi(argv[3]) : 20;
    if (batch < 1 || reps < 1) {
        fprintf(stderr, "batch and reps must be >= 1\n");
        return 2;
    }
    struct zp_graph *g;
    struct zp_err err = {0};
    if (zp_onnx_load(argv[1], &g, &err) != ZP_OK) {
        fprintf(stderr, "bench_float_inference: cannot load %s: %s\n", argv[1], err.msg);
        return 1;
    }
    int64_t shape[4], in = 1;
    int nd = zp_graph_input_shape(g, shape);
    for (int i = 0; i < nd; i++)
        in *= shape[i];
    float *x = malloc((size_t)(in * batch) * sizeof(float));
    float *y = malloc((size_t)(zp_graph_output_size(g) * batch) * sizeof(float));
    if (!x || !y)
        return 1;
    int tokens = zp_graph_input_is_index(g);
    srand(1);
    uint32_t s = 1;
    for (int64_t i = 0; i < in * batch; i++) {
        s ^= s << 13; /* the ids bench_ort.js draws */
        s ^= s >> 17;
        s ^= s << 5;
        x[i] = tokens ? (float)(s % 256) : (float)rand() / RAND_MAX * 2.f - 1.f;
    }
    for (int w = 0; w < 2; w++)
        if (zp_graph_run(g, x, batch, y, NULL, &err) != ZP_OK) {
            fprintf(stderr, "bench_float_inference: cannot run %s: %s\n", argv[1], err.msg);
            return 1;
        }
    /* wall time (what a user waits) and process CPU time: on a shared machine the
     * CPU figure shows what the code does when other jobs take cores away */
    double best = 1e30, total = 0;
    clock_t c0 = clock();
    for (int r = 0; r < reps; r++) {
        double t0 = omp_get_wtime();
        zp_graph_run(g, x, batch, y, NULL, &err);
        double t = omp_get_wtime() - t0;
        total += t;
        best = t < best ? t : best;
    }
    double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    printf("zeropoint threads=%d batch=%d images_per_s_mean=%.2f images_per_s_best=%.2f "
           "images_per_cpu_s=%.2f", omp_get_max_threads(), batch, batch * reps / total,
           batch / best, batch * reps / cpu);
    if (tokens)
        printf(" tokens_per_window=%lld", (long long)in);
    printf("\n");
    if (argc > 4) {
        /* the node-by-node schedule the quantization runs use (a no-op callback) */
        struct zp_run_hooks h = {.layer_output = on_output};
        double t0 = omp_get_wtime();
        for (int r = 0; r < reps; r++)
            zp_graph_run(g, x, batch, y, &h, &err);
        printf("zeropoint-hooked threads=%d batch=%d images_per_s_mean=%.1f\n",
               omp_get_max_threads(), batch, batch * reps / (omp_get_wtime() - t0));
    }
    free(x);
    free(y);
    zp_graph_free(g);
    return 0;
}
