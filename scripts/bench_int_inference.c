/* Times the integer program (model/int_graph.h) of one ONNX model under the
 * protocol of scripts/bench_common.h (the float bench's): weights
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
#include <string.h>

#include "model/int_graph.h"
#include "schemes/scheme.h"
#include "scripts/bench_common.h"

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

static enum zp_status run_int(void *ctx, const struct bench *b, struct zp_err *err)
{
    return zp_int_program_run(ctx, b->x, b->batch, b->y, err);
}

int main(int argc, char **argv)
{
    if (argc < 2 || (argc > 4 && strcmp(argv[4], "ref"))) {
        fprintf(stderr, "usage: %s MODEL.onnx [batch] [reps] [ref]\n", argv[0]);
        return 2;
    }
    struct bench b;
    int rc = bench_open(&b, argc, argv, "bench_int_inference");
    if (rc)
        return rc;
    struct zp_graph *g = b.g;
    struct zp_int_layer_q *lq = calloc((size_t)zp_graph_num_layers(g), sizeof *lq);
    void *store = NULL;
    if (!lq || layer_q(g, b.x, b.batch, b.y, lq, &store))
        return 1;
    struct zp_int_options o = {.isa = argc > 4 ? 0 : -1, .fit = fit_u8};
    struct zp_int_program *p;
    struct zp_err err = {0};
    if (zp_int_program_build(g, lq, &o, &p, &err) != ZP_OK) {
        fprintf(stderr, "bench_int_inference: %s: %s\n", argv[1], err.msg);
        return 1;
    }
    rc = bench_time(&b, "integer", run_int, p, "bench_int_inference");
    zp_int_program_free(p);
    void **mem = store;
    for (int l = 0; l < 3 * zp_graph_num_layers(g); l++)
        free(mem[l]);
    free(mem);
    free(lq);
    bench_close(&b);
    return rc;
}
