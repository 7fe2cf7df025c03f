/* Times the integer program (model/int_graph.h) of one ONNX model under the
 * protocol of bench_float_inference.c (batch of random inputs in [-1, 1], two
 * warm-up batches, `reps` timed batches, wall and process CPU time): weights
 * symmetric narrow per output channel (s8 in [-127, 127]), activations
 * asymmetric uint8 per tensor, fitted by min / max to the layer inputs and outputs
 * of the random inputs themselves (the program's speed does not depend on the
 * values; its accuracy is the harness's business, mode `integer`). With "ref" the
 * program runs every kernel's plain reference instead. Built and run by
 * scripts/bench_float_inference.sh (engine `integer`); OMP_NUM_THREADS sets the
 * threads.
 * usage: bench_int_inference MODEL.onnx [batch=50] [reps=20] [ref] */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/graph.h"
#include "model/int_graph.h"
#include "schemes/scheme.h"

struct ranges {
    const struct zp_graph *g;
    float *in_lo, *in_hi, *out_lo, *out_hi;
};

static size_t numel(const int64_t *shape, int nd)
{
    size_t n = 1;
    for (int d = 0; d < nd; d++)
        n *= (size_t)shape[d];
    return n;
}

static void minmax(const float *x, size_t n, float *lo, float *hi)
{
    for (size_t i = 0; i < n; i++) {
        *lo = fminf(*lo, x[i]);
        *hi = fmaxf(*hi, x[i]);
    }
}

static void obs_in(void *ctx, int l, float *x, int batch)
{
    struct ranges *r = ctx;
    const struct zp_layer_info *li = zp_graph_layer(r->g, l);
    minmax(x, (size_t)batch * numel(li->in_shape, li->in_ndim), &r->in_lo[l], &r->in_hi[l]);
}

static void obs_out(void *ctx, int l, const float *y, int batch)
{
    struct ranges *r = ctx;
    const struct zp_layer_info *li = zp_graph_layer(r->g, l);
    minmax(y, (size_t)batch * numel(li->out_shape, li->out_ndim), &r->out_lo[l], &r->out_hi[l]);
}

static enum zp_status fit_u8(void *ctx, float lo, float hi, struct zp_iq *out, struct zp_err *err)
{
    (void)ctx;
    (void)err;
    struct zp_qparams p;
    memset(&p, 0, sizeof p);
    zp_affine_asym_nudged(fminf(lo, 0.f), fmaxf(hi, 0.f), 8, &p);
    *out = (struct zp_iq){p.scale, p.zero_point, p.qmin, p.qmax};
    return ZP_OK;
}

/* Per-layer quantizers from the observed ranges; codes and scales into store. */
static int layer_q(struct zp_graph *g, const float *x, int batch, float *y, struct zp_int_layer_q *lq,
                   void **store)
{
    int L = zp_graph_num_layers(g);
    struct ranges r = {g, malloc((size_t)L * sizeof(float)), malloc((size_t)L * sizeof(float)),
                       malloc((size_t)L * sizeof(float)), malloc((size_t)L * sizeof(float))};
    void **mem = calloc((size_t)L * 3, sizeof(void *));
    if (!r.in_lo || !r.in_hi || !r.out_lo || !r.out_hi || !mem)
        return -1;
    for (int l = 0; l < L; l++) {
        r.in_lo[l] = r.out_lo[l] = FLT_MAX;
        r.in_hi[l] = r.out_hi[l] = -FLT_MAX;
    }
    struct zp_run_hooks h = {.ctx = &r, .layer_input = obs_in, .layer_output = obs_out};
    struct zp_err err = {0};
    if (zp_graph_run(g, x, batch, y, &h, &err) != ZP_OK) {
        fprintf(stderr, "bench_int_inference: calibration pass: %s\n", err.msg);
        return -1;
    }
    for (int l = 0; l < L; l++) {
        const struct zp_layer_info *li = zp_graph_layer(g, l);
        size_t nw = numel(li->wshape, li->wndim), per = nw / (size_t)li->n_out;
        int32_t *codes = malloc(nw * sizeof *codes), *zps = calloc((size_t)li->n_out, sizeof *zps);
        float *sc = malloc((size_t)li->n_out * sizeof *sc);
        mem[3 * l] = codes;
        mem[3 * l + 1] = zps;
        mem[3 * l + 2] = sc;
        if (!codes || !zps || !sc)
            return -1;
        for (int64_t j = 0; j < li->n_out; j++) {
            float m = 0;
            for (size_t i = (size_t)j * per; i < (size_t)(j + 1) * per; i++)
                m = fmaxf(m, fabsf(li->weight[i]));
            struct zp_qparams p;
            memset(&p, 0, sizeof p);
            zp_affine_symmetric(m, 8, 1, &p);
            sc[j] = p.scale;
            for (size_t i = (size_t)j * per; i < (size_t)(j + 1) * per; i++) {
                double q = nearbyint(li->weight[i] / p.scale);
                codes[i] = (int32_t)(q < p.qmin ? p.qmin : q > p.qmax ? p.qmax : q);
            }
        }
        struct zp_iq in;
        fit_u8(NULL, r.in_lo[l], r.in_hi[l], &in, &err);
        lq[l] = (struct zp_int_layer_q){.in = in, .wfmt = ZP_KF_S8N, .wcode = codes, .wscale = sc, .wzp = zps,
                                        .out_lo = r.out_lo[l], .out_hi = r.out_hi[l]};
    }
    free(r.in_lo);
    free(r.in_hi);
    free(r.out_lo);
    free(r.out_hi);
    *store = mem;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (argc > 4 && strcmp(argv[4], "ref"))) {
        fprintf(stderr, "usage: %s MODEL.onnx [batch] [reps] [ref]\n", argv[0]);
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
        fprintf(stderr, "bench_int_inference: cannot load %s: %s\n", argv[1], err.msg);
        return 1;
    }
    int64_t shape[4], in = 1;
    int nd = zp_graph_input_shape(g, shape);
    for (int i = 0; i < nd; i++)
        in *= shape[i];
    float *x = malloc((size_t)(in * batch) * sizeof(float));
    float *y = malloc((size_t)(zp_graph_output_size(g) * batch) * sizeof(float));
    struct zp_int_layer_q *lq = calloc((size_t)zp_graph_num_layers(g), sizeof *lq);
    void *store = NULL;
    if (!x || !y || !lq)
        return 1;
    srand(1);
    for (int64_t i = 0; i < in * batch; i++)
        x[i] = (float)rand() / RAND_MAX * 2.f - 1.f;
    if (layer_q(g, x, batch, y, lq, &store))
        return 1;
    struct zp_int_options o = {.isa = argc > 4 ? 0 : -1, .fit = fit_u8};
    struct zp_int_program *p;
    if (zp_int_program_build(g, lq, &o, &p, &err) != ZP_OK) {
        fprintf(stderr, "bench_int_inference: %s: %s\n", argv[1], err.msg);
        return 1;
    }
    for (int w = 0; w < 2; w++)
        if (zp_int_program_run(p, x, batch, y, &err) != ZP_OK) {
            fprintf(stderr, "bench_int_inference: cannot run %s: %s\n", argv[1], err.msg);
            return 1;
        }
    double best = 1e30, total = 0;
    clock_t c0 = clock();
    for (int r = 0; r < reps; r++) {
        double t0 = omp_get_wtime();
        zp_int_program_run(p, x, batch, y, &err);
        double t = omp_get_wtime() - t0;
        total += t;
        best = t < best ? t : best;
    }
    double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    printf("integer threads=%d batch=%d images_per_s_mean=%.1f images_per_s_best=%.1f "
           "images_per_cpu_s=%.1f\n", omp_get_max_threads(), batch, batch * reps / total,
           batch / best, batch * reps / cpu);
    zp_int_program_free(p);
    void **mem = store;
    for (int l = 0; l < 3 * zp_graph_num_layers(g); l++)
        free(mem[l]);
    free(mem);
    free(lq);
    free(x);
    free(y);
    zp_graph_free(g);
    return 0;
}
