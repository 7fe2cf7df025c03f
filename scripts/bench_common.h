/* What the bench programs (scripts/bench_float_inference.c, bench_int_inference.c)
 * share: the model and its batch of random inputs (uniform in [-1, 1], the range of
 * the u8/127.5-1 preprocessing; decoding excluded on purpose; a language model,
 * an int64 token input, gets ids xorshift32 % 256 as bench_ort.js draws them: any
 * vocabulary of 256 or more, and the run time does not depend on the ids), and the timing
 * protocol of scripts/bench_ort.js: two warm-up batches, then `reps` timed ones,
 * wall time (what a user waits) and process CPU time (on a shared machine it
 * shows what the code does when other jobs take cores away), one result line. */
#ifndef ZP_SCRIPTS_BENCH_COMMON_H
#define ZP_SCRIPTS_BENCH_COMMON_H

#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "model/graph.h"

struct bench {
    struct zp_graph *g;
    int batch, reps;
    float *x, *y; /* batch inputs, batch outputs */
    int64_t in;   /* inputs per image (tokens per window for a language model) */
    int tokens;   /* the input is token ids */
};

/* argv: MODEL.onnx [batch] [reps]; 0, or 1 / 2 (exit codes) after a message. */
static int bench_open(struct bench *b, int argc, char **argv, const char *prog)
{
    b->batch = argc > 2 ? atoi(argv[2]) : 50;
    b->reps = argc > 3 ? atoi(argv[3]) : 20;
    if (b->batch < 1 || b->reps < 1) {
        fprintf(stderr, "%s: batch and reps must be >= 1\n", prog);
        return 2;
    }
    struct zp_err err = {0};
    if (zp_onnx_load(argv[1], &b->g, &err) != ZP_OK) {
        fprintf(stderr, "%s: cannot load %s: %s\n", prog, argv[1], err.msg);
        return 1;
    }
    int64_t shape[4], in = 1;
    int nd = zp_graph_input_shape(b->g, shape);
    for (int i = 0; i < nd; i++)
        in *= shape[i];
    b->x = malloc((size_t)(in * b->batch) * sizeof(float));
    b->y = malloc((size_t)(zp_graph_output_size(b->g) * b->batch) * sizeof(float));
    if (!b->x || !b->y)
        return 1;
    b->in = in;
    b->tokens = zp_graph_input_is_index(b->g);
    srand(1);
    uint32_t s = 1;
    for (int64_t i = 0; i < in * b->batch; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        b->x[i] = b->tokens ? (float)(s % 256) : (float)rand() / RAND_MAX * 2.f - 1.f;
    }
    return 0;
}

static void bench_close(struct bench *b)
{
    free(b->x);
    free(b->y);
    zp_graph_free(b->g);
}

/* One pass over the batch: ZP_OK or an error in err. */
typedef enum zp_status bench_run_fn(void *ctx, const struct bench *b, struct zp_err *err);

/* Warm-up, timed batches, the line "ENGINE threads=... images_per_cpu_s=..."
 * (and tokens_per_window for a language model). */
static int bench_time(const struct bench *b, const char *engine, bench_run_fn *run, void *ctx, const char *prog)
{
    struct zp_err err = {0};
    for (int w = 0; w < 2; w++)
        if (run(ctx, b, &err) != ZP_OK) {
            fprintf(stderr, "%s: cannot run the model: %s\n", prog, err.msg);
            return 1;
        }
    double best = 1e30, total = 0;
    clock_t c0 = clock();
    for (int r = 0; r < b->reps; r++) {
        double t0 = omp_get_wtime();
        run(ctx, b, &err);
        double t = omp_get_wtime() - t0;
        total += t;
        best = t < best ? t : best;
    }
    double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    printf("%s threads=%d batch=%d images_per_s_mean=%.2f images_per_s_best=%.2f images_per_cpu_s=%.2f", engine,
           omp_get_max_threads(), b->batch, b->batch * b->reps / total, b->batch / best, b->batch * b->reps / cpu);
    if (b->tokens)
        printf(" tokens_per_window=%lld", (long long)b->in);
    printf("\n");
    return 0;
}

#endif
