/* Per-image hooks (model/graph.h): they run inside the fast schedule, see what the
 * batch hooks of the node-by-node schedule see (the same layer inputs, the same
 * pre-activation outputs, the same edits), and the per-layer statistics reduced
 * from them in image order equal the batch ones bit for bit. On the shipped
 * Fashion-MNIST MobileNet (Conv + Relu fusions, depthwise, Gemm). */
#include "tests/util.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/metrics.h"
#include "model/graph.h"
#include "tests/onnx_builder.h"

#define MODEL "models/fashion_mobilenet.onnx"
#define BATCH 37 /* not a multiple of the thread count: uneven shares */
#define MAXL 64

static size_t prod(const int64_t *d, int n)
{
    size_t p = 1;
    for (int i = 0; i < n; i++)
        p *= (size_t)d[i];
    return p;
}

/* What both families of hooks record: every layer's input (before the edit) and
 * output (after the edit, before the activation), batch x size, by image. */
struct rec {
    const struct zp_graph *g;
    int n;
    size_t in_n[MAXL], out_n[MAXL];
    float *in[MAXL], *out[MAXL];
    int edit;                 /* also edit inputs and outputs */
    /* per-image statistics against a reference output (the float run's) */
    const float *const *ref;  /* per layer batch x out_n, or NULL */
    double *parts[MAXL];      /* batch x channels x ZP_LAYER_PARTS */
};

static int64_t channels(const struct zp_layer_info *li)
{
    return li->out_ndim > 1 ? li->out_shape[0] : (int64_t)prod(li->out_shape, li->out_ndim);
}

static int64_t spatial(const struct zp_layer_info *li)
{
    return (int64_t)prod(li->out_shape, li->out_ndim) / channels(li);
}

static void rec_init(struct rec *r, const struct zp_graph *g, int edit)
{
    memset(r, 0, sizeof *r);
    r->g = g;
    r->n = zp_graph_num_layers(g);
    r->edit = edit;
    assert_true(r->n <= MAXL);
    for (int l = 0; l < r->n; l++) {
        const struct zp_layer_info *li = zp_graph_layer(g, l);
        r->in_n[l] = prod(li->in_shape, li->in_ndim);
        r->out_n[l] = prod(li->out_shape, li->out_ndim);
        r->in[l] = calloc(r->in_n[l] * BATCH, sizeof(float));
        r->out[l] = calloc(r->out_n[l] * BATCH, sizeof(float));
        r->parts[l] = calloc((size_t)channels(li) * ZP_LAYER_PARTS * BATCH, sizeof(double));
        assert_true(r->in[l] && r->out[l] && r->parts[l]);
    }
}

static void rec_free(struct rec *r)
{
    for (int l = 0; l < r->n; l++) {
        free(r->in[l]);
        free(r->out[l]);
        free(r->parts[l]);
    }
}

/* A deterministic elementwise edit (a coarse grid, as a quantizer would). */
static void grid(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = roundf(x[i] * 4.f) / 4.f;
}

/* batch hooks */
static void b_in(void *ctx, int l, float *x, int batch)
{
    struct rec *r = ctx;
    memcpy(r->in[l], x, r->in_n[l] * (size_t)batch * sizeof *x);
    if (r->edit)
        grid(x, r->in_n[l] * (size_t)batch);
}

static void b_edit(void *ctx, int l, float *y, int batch)
{
    grid(y, ((struct rec *)ctx)->out_n[l] * (size_t)batch);
}

static void b_out(void *ctx, int l, const float *y, int batch)
{
    struct rec *r = ctx;
    memcpy(r->out[l], y, r->out_n[l] * (size_t)batch * sizeof *y);
}

/* per-image hooks */
static void i_obs(void *ctx, int l, int image, int thread, const float *x)
{
    struct rec *r = ctx;
    memcpy(r->in[l] + (size_t)image * r->in_n[l], x, r->in_n[l] * sizeof *x);
}

static void i_in(void *ctx, int l, int image, int thread, const float *x, float *out)
{
    memcpy(out, x, ((struct rec *)ctx)->in_n[l] * sizeof *out);
    if (((struct rec *)ctx)->edit)
        grid(out, ((struct rec *)ctx)->in_n[l]);
}

static void i_edit(void *ctx, int l, int image, int thread, float *y)
{
    grid(y, ((struct rec *)ctx)->out_n[l]);
}

static void i_out(void *ctx, int l, int image, int thread, const float *y)
{
    struct rec *r = ctx;
    memcpy(r->out[l] + (size_t)image * r->out_n[l], y, r->out_n[l] * sizeof *y);
    if (r->ref) {
        const struct zp_layer_info *li = zp_graph_layer(r->g, l);
        zp_layer_acc_image(channels(li), r->ref[l] + (size_t)image * r->out_n[l], y, spatial(li),
                           r->parts[l] + (size_t)image * (size_t)channels(li) * ZP_LAYER_PARTS);
    }
}

static struct zp_graph *load_model(float **x)
{
    struct zp_graph *g = NULL;
    struct zp_err err = {0};
    if (zp_onnx_load(MODEL, &g, &err) != ZP_OK) {
        print_error("%s\n", err.msg);
        fail();
    }
    int64_t s[4];
    size_t isz = prod(s, zp_graph_input_shape(g, s));
    *x = mb_randv(isz * BATCH, 31);
    return g;
}

static void assert_same(const float *a, const float *b, size_t n, const char *what, int l)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof a[i]) != 0) {
            print_error("%s of layer %d, value %zu: per-image %.9g, batch %.9g\n", what, l, i,
                        (double)a[i], (double)b[i]);
            fail();
        }
}

/* Both families, with and without edits: identical inputs, outputs and logits. */
static void test_per_image_equals_batch(void **state)
{
    float *x;
    struct zp_graph *g = load_model(&x);
    int64_t classes = zp_graph_output_size(g);
    float *yb = malloc(sizeof(float) * (size_t)classes * BATCH);
    float *yi = malloc(sizeof(float) * (size_t)classes * BATCH);
    struct zp_err err = {0};
    int relu_layers = 0;
    for (int l = 0; l < zp_graph_num_layers(g); l++)
        relu_layers += zp_graph_layer(g, l)->relu_after != 0;
    assert_true(relu_layers > 0); /* fusions are exercised */
    for (int edit = 0; edit < 2; edit++) {
        struct rec rb, ri;
        rec_init(&rb, g, edit);
        rec_init(&ri, g, edit);
        struct zp_run_hooks hb = {.ctx = &rb, .layer_input = b_in, .layer_output = b_out,
                                  .layer_output_edit = edit ? b_edit : NULL};
        struct zp_run_hooks hi = {.ctx = &ri, .layer_input_observe_image = i_obs,
                                  .layer_input_image = edit ? i_in : NULL,
                                  .layer_output_edit_image = edit ? i_edit : NULL,
                                  .layer_output_image = i_out};
        assert_int_equal(zp_graph_run(g, x, BATCH, yb, &hb, &err), ZP_OK);
        assert_int_equal(zp_graph_run(g, x, BATCH, yi, &hi, &err), ZP_OK);
        int negative = 0;
        for (int l = 0; l < rb.n; l++) {
            assert_same(ri.in[l], rb.in[l], rb.in_n[l] * BATCH, "input", l);
            assert_same(ri.out[l], rb.out[l], rb.out_n[l] * BATCH, "output", l);
            for (size_t i = 0; zp_graph_layer(g, l)->relu_after && i < rb.out_n[l] * BATCH; i++)
                negative |= ri.out[l][i] < 0.f; /* seen before the activation */
        }
        assert_true(negative);
        assert_same(yi, yb, (size_t)classes * BATCH, "logits", -1);
        /* and the fast schedule without hooks (no edits) gives the same logits */
        if (!edit) {
            assert_int_equal(zp_graph_run(g, x, BATCH, yi, NULL, &err), ZP_OK);
            assert_same(yi, yb, (size_t)classes * BATCH, "logits without hooks", -1);
        }
        rec_free(&rb);
        rec_free(&ri);
    }
    free(yb);
    free(yi);
    free(x);
    zp_graph_free(g);
}

/* The paired pass behind layers.csv: float outputs, then an edited run compared
 * with them. Per-image partial sums reduced in image order equal the batch
 * accumulator exactly, whatever thread ran which image. */
static void test_layer_stats_equal(void **state)
{
    float *x;
    struct zp_graph *g = load_model(&x);
    int64_t classes = zp_graph_output_size(g);
    float *y = malloc(sizeof(float) * (size_t)classes * BATCH);
    struct zp_err err = {0};
    struct rec fl, qb, qi;
    rec_init(&fl, g, 0);
    rec_init(&qb, g, 1);
    rec_init(&qi, g, 1);
    struct zp_run_hooks hf = {.ctx = &fl, .layer_output_image = i_out};
    assert_int_equal(zp_graph_run(g, x, BATCH, y, &hf, &err), ZP_OK);
    struct zp_run_hooks hb = {.ctx = &qb, .layer_input = b_in, .layer_output_edit = b_edit,
                              .layer_output = b_out};
    assert_int_equal(zp_graph_run(g, x, BATCH, y, &hb, &err), ZP_OK);
    qi.ref = (const float *const *)fl.out;
    struct zp_run_hooks hi = {.ctx = &qi, .layer_input_image = i_in,
                              .layer_output_edit_image = i_edit, .layer_output_image = i_out};
    for (int rep = 0; rep < 3; rep++) { /* thread assignment varies between runs */
        assert_int_equal(zp_graph_run(g, x, BATCH, y, &hi, &err), ZP_OK);
        for (int l = 0; l < fl.n; l++) {
            const struct zp_layer_info *li = zp_graph_layer(g, l);
            struct zp_layer_acc ab, ai;
            assert_int_equal(zp_layer_acc_init(&ab, channels(li)), 0);
            assert_int_equal(zp_layer_acc_init(&ai, channels(li)), 0);
            zp_layer_acc_add(&ab, fl.out[l], qb.out[l], BATCH, spatial(li));
            zp_layer_acc_add_parts(&ai, qi.parts[l], BATCH, spatial(li));
            assert_true(ab.err_sq > 0); /* the edit changed something: a real comparison */
            assert_memory_equal(&ai.sig_sq, &ab.sig_sq, sizeof ab.sig_sq);
            assert_memory_equal(&ai.err_sq, &ab.err_sq, sizeof ab.err_sq);
            assert_memory_equal(ai.sum_err, ab.sum_err, sizeof(double) * (size_t)ab.channels * 3);
            assert_int_equal(ai.count_per_channel, ab.count_per_channel);
            zp_layer_acc_free(&ab);
            zp_layer_acc_free(&ai);
        }
    }
    rec_free(&fl);
    rec_free(&qb);
    rec_free(&qi);
    free(y);
    free(x);
    zp_graph_free(g);
}

/* The schedule: per-image hooks come from the worker threads, image by image
 * (all layers of one image in order on one thread before its next image), which
 * the node-by-node schedule (layer by layer over the batch) cannot produce. */
struct order_log {
    int n_layers, nth;
    int *len;       /* per thread */
    int (*ev)[3];   /* per thread, BATCH x n_layers x 2 events of (image, layer, kind) */
    int bad_thread, in_parallel;
};

static void log_ev(struct order_log *o, int thread, int image, int layer, int kind)
{
    if (thread < 0 || thread >= o->nth) {
        o->bad_thread = 1;
        return;
    }
    o->in_parallel |= omp_in_parallel();
    int cap = BATCH * o->n_layers * 2;
    int k = o->len[thread]++;
    if (k < cap) {
        o->ev[(size_t)thread * (size_t)cap + (size_t)k][0] = image;
        o->ev[(size_t)thread * (size_t)cap + (size_t)k][1] = layer;
        o->ev[(size_t)thread * (size_t)cap + (size_t)k][2] = kind;
    }
}

static void o_in(void *ctx, int l, int image, int thread, const float *x)
{
    log_ev(ctx, thread, image, l, 0);
}

static void o_out(void *ctx, int l, int image, int thread, const float *y)
{
    log_ev(ctx, thread, image, l, 1);
}

static void test_fast_schedule_used(void **state)
{
    float *x;
    struct zp_graph *g = load_model(&x);
    int64_t classes = zp_graph_output_size(g);
    float *y = malloc(sizeof(float) * (size_t)classes * BATCH);
    struct order_log o = {.n_layers = zp_graph_num_layers(g), .nth = zp_graph_max_threads()};
    int cap = BATCH * o.n_layers * 2;
    o.len = calloc((size_t)o.nth, sizeof *o.len);
    o.ev = calloc((size_t)o.nth * (size_t)cap, sizeof *o.ev);
    struct zp_run_hooks h = {.ctx = &o, .layer_input_observe_image = o_in,
                             .layer_output_image = o_out};
    struct zp_err err = {0};
    assert_int_equal(zp_graph_run(g, x, BATCH, y, &h, &err), ZP_OK);
    assert_false(o.bad_thread);
    if (o.nth > 1) /* called from inside the parallel region */
        assert_true(o.in_parallel);
    int seen[BATCH] = {0}, total = 0;
    for (int t = 0; t < o.nth; t++) {
        assert_int_equal(o.len[t] % (2 * o.n_layers), 0);
        for (int k = 0; k < o.len[t]; k++) {
            const int *e = o.ev[(size_t)t * (size_t)cap + (size_t)k];
            int step = k % (2 * o.n_layers); /* this image's step: in l, out l, in l+1, ... */
            const int *first = o.ev[(size_t)t * (size_t)cap + (size_t)(k - step)];
            assert_int_equal(e[0], first[0]);   /* one image at a time */
            assert_int_equal(e[1], step / 2);   /* layers in execution order */
            assert_int_equal(e[2], step % 2);   /* input before output */
            if (step == 0)
                seen[e[0]]++;
        }
        total += o.len[t];
    }
    assert_int_equal(total, cap);
    for (int i = 0; i < BATCH; i++)
        assert_int_equal(seen[i], 1); /* every image exactly once */
    free(o.len);
    free(o.ev);
    free(y);
    free(x);
    zp_graph_free(g);
}

/* Output hooks of both families see the pre-activation output and the activation
 * still applies after an edit: Gemm(8->4) -> Relu, the edit sets every output to
 * -1 (Relu makes it 0) or 2 (stays 2). */
struct pre_log {
    float min_seen;
    float set;
};

static void p_edit_b(void *ctx, int l, float *y, int batch)
{
    struct pre_log *p = ctx;
    for (int i = 0; i < 4 * batch; i++) {
        p->min_seen = fminf(p->min_seen, y[i]);
        y[i] = p->set;
    }
}

static void p_edit_i(void *ctx, int l, int image, int thread, float *y)
{
    struct pre_log *p = ctx;
    float m = INFINITY;
    for (int i = 0; i < 4; i++) {
        m = fminf(m, y[i]);
        y[i] = p->set;
    }
#pragma omp critical(pre_log)
    p->min_seen = fminf(p->min_seen, m);
}

static void test_edit_before_activation(void **state)
{
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[2] = {1, 8}, wd[2] = {4, 8}, O = 4;
    float *w = mb_randv(32, 41), bias[4] = {-3.f, -2.f, -4.f, -5.f};
    mb_input(&b, "x", 2, xd);
    mb_init_f(&b, "w", 2, wd, w);
    mb_init_f(&b, "b", 1, &O, bias);
    mb_attr_i(&b, mb_node(&b, "Gemm", "fc", "x,w,b", "z"), "transB", 1);
    mb_node(&b, "Relu", "act", "z", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    assert_int_equal(zp_graph_layer(g, 0)->relu_after, 1);
    float *x = mb_randv(8 * 5, 42), y[20];
    for (int fam = 0; fam < 2; fam++)
        for (int s = 0; s < 2; s++) {
            struct pre_log p = {INFINITY, s ? 2.f : -1.f};
            struct zp_run_hooks hb = {.ctx = &p, .layer_output_edit = p_edit_b};
            struct zp_run_hooks hi = {.ctx = &p, .layer_output_edit_image = p_edit_i};
            mb_run(g, x, 5, y, fam ? &hi : &hb);
            assert_true(p.min_seen < 0.f); /* biases <= -2 with |w x| small: pre-Relu */
            for (int i = 0; i < 20; i++)
                assert_true(y[i] == (s ? 2.f : 0.f));
        }
    free(w);
    free(x);
    zp_graph_free(g);
}

static void nop_b(void *ctx, int l, float *x, int batch) {}
static void nop_i(void *ctx, int l, int image, int thread, const float *y) {}

static void test_mixing_refused(void **state)
{
    float *x;
    struct zp_graph *g = load_model(&x);
    float y[10 * BATCH];
    struct zp_err err = {0};
    struct zp_run_hooks h = {.layer_input = nop_b, .layer_output_image = nop_i};
    assert_int_equal(zp_graph_run(g, x, BATCH, y, &h, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "per-image"));
    free(x);
    zp_graph_free(g);
}

/* act_matmul_image: called once per image with private copies of the two
 * operands of each MatMul of two activations; the MatMul reads the edited copies,
 * and the activation the copy came from is left as it was (it has another reader). */
struct amm_rec {
    int calls[4];
    int64_t na, nb;
};
static void amm_floor(void *ctx, int i, int image, int thread, float *a, float *b)
{
    (void)thread;
    struct amm_rec *r = ctx;
    if (i == 0 && image >= 0 && image < 4) {
#pragma omp atomic
        r->calls[image]++;
    }
    for (int64_t k = 0; k < r->na; k++)
        a[k] = floorf(a[k]);
    for (int64_t k = 0; k < r->nb; k++)
        b[k] = 2.f * b[k];
}

static void amm_batch_noop(void *ctx, int layer, const float *y, int batch)
{
    (void)ctx;
    (void)layer;
    (void)y;
    (void)batch;
}

static void test_act_matmul_hook(void **state)
{
    (void)state;
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[3] = {1, 3, 4}, perm[3] = {0, 2, 1};
    mb_input(&b, "x", 3, xd);
    mb_attr_ints(&b, mb_node(&b, "Transpose", "tr", "x", "xt"), "perm", 3, perm);
    mb_node(&b, "MatMul", "scores", "x,xt", "s");
    mb_node(&b, "Add", "plus_x", "s,s", "y"); /* a second reader of s */
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    assert_int_equal(zp_graph_num_act_matmuls(g), 1);
    struct amm_rec r = {{0}, 0, 0};
    assert_string_equal(zp_graph_act_matmul(g, 0, &r.na, &r.nb), "scores");
    assert_null(zp_graph_act_matmul(g, 1, NULL, NULL));
    assert_int_equal(r.na, 12);
    assert_int_equal(r.nb, 12);
    enum { N = 4 };
    float x[N * 12], y[N * 9], want[N * 9];
    for (int i = 0; i < N * 12; i++)
        x[i] = 0.37f * (float)(i % 11) - 1.3f;
    struct zp_run_hooks h = {.ctx = &r, .act_matmul_image = amm_floor};
    struct zp_err err = {0};
    assert_int_equal(zp_graph_run(g, x, N, y, &h, &err), ZP_OK);
    for (int n = 0; n < N; n++) {
        assert_int_equal(r.calls[n], 1);
        const float *xi = x + n * 12;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                double acc = 0; /* floor(x) . 2 x^T, doubled by the Add */
                for (int k = 0; k < 4; k++)
                    acc += (double)floorf(xi[i * 4 + k]) * (double)(2.f * xi[j * 4 + k]);
                want[n * 9 + i * 3 + j] = (float)(2.0 * acc);
            }
    }
    for (int i = 0; i < N * 9; i++)
        assert_true(fabsf(y[i] - want[i]) <= 1e-5f * (1.f + fabsf(want[i])));
    /* it is a per-image hook: mixing it with batch hooks is refused */
    struct zp_run_hooks mix = {.ctx = &r, .act_matmul_image = amm_floor, .layer_output = amm_batch_noop};
    assert_int_equal(zp_graph_run(g, x, N, y, &mix, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "mix"));
    zp_graph_free(g);
}

/* tables: a Gather reads the replacement table instead of its own, row by row;
 * refused next to batch hooks. */
static void test_table_hook(void **state)
{
    (void)state;
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[2] = {1, 3}, td[2] = {4, 2};
    const float own[8] = {0, 1, 10, 11, 20, 21, 30, 31}, repl[8] = {-1, -2, -3, -4, -5, -6, -7, -8};
    mb_input_i64(&b, "ids", 2, xd);
    mb_init_f(&b, "emb", 2, td, own);
    mb_node(&b, "Gather", "lookup", "emb,ids", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    assert_int_equal(zp_graph_num_tables(g), 1);
    int64_t rows = 0, cols = 0;
    const float *data = NULL;
    assert_string_equal(zp_graph_table(g, 0, &rows, &cols, &data), "emb");
    assert_null(zp_graph_table(g, 1, NULL, NULL, NULL));
    assert_int_equal(rows, 4);
    assert_int_equal(cols, 2);
    assert_true(data[5] == 21.f);
    const float x[6] = {3, 0, 2, 1, 1, 3};
    float y[12];
    const float *tabs[1] = {repl};
    struct zp_run_hooks h = {.tables = tabs};
    struct zp_err err = {0};
    assert_int_equal(zp_graph_run(g, x, 2, y, &h, &err), ZP_OK);
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 2; k++)
            assert_true(y[i * 2 + k] == repl[(int)x[i] * 2 + k]);
    const float *none[1] = {NULL}; /* a NULL entry: the model's own table */
    h.tables = none;
    assert_int_equal(zp_graph_run(g, x, 2, y, &h, &err), ZP_OK);
    assert_true(y[0] == own[6] && y[1] == own[7]);
    struct zp_run_hooks mix = {.tables = tabs, .layer_output = amm_batch_noop};
    assert_int_equal(zp_graph_run(g, x, 2, y, &mix, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "tables"));
    zp_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_per_image_equals_batch),
        cmocka_unit_test(test_layer_stats_equal),
        cmocka_unit_test(test_fast_schedule_used),
        cmocka_unit_test(test_edit_before_activation),
        cmocka_unit_test(test_mixing_refused),
        cmocka_unit_test(test_act_matmul_hook),
        cmocka_unit_test(test_table_hook),
    };
    return ZP_RUN_TESTS(t);
}
