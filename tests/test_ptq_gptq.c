/* GPTQ (ptq/gptq.c) on small random layers with known answers: its output error
 * is no larger than rounding to nearest's on the same grid; its last column is
 * the brute-force optimum given the others (the OBS step is exact for a single
 * remaining weight: the error is then a 1-D quadratic in it, so the nearest
 * level of the compensated value minimises it over every level of the grid);
 * lazy block updates give the same result as updating after every column; every
 * result is a level of its slice. And the layer's matrix view (ptq/layer_inputs.c):
 * W times the im2col columns is the convolution, padding included. */
#include "tests/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "ptq/gptq.h"
#include "schemes/granularity.h"
#include "tests/scheme_fixtures.h"

/* A scheme config by name (bits 0: the scheme's), weight slicing on axis 0. */
static struct zp_scheme_config cfg_of(const char *name, int bits, enum zp_granularity g,
                                      int group)
{
    struct zp_scheme_config cfg = zp_ts_cfg_of(name, bits);
    cfg.granularity = g;
    cfg.axis = 0;
    cfg.group_size = group;
    return cfg;
}

/* A layer of rows x k gaussian weights and P positions of correlated inputs
 * (each input a mix of a few shared factors plus noise, as neighbouring pixels
 * and channels are): H far from diagonal, where compensation matters. */
struct fixture {
    int64_t rows, k, P;
    float *w, *cols;
    struct zp_gptq_hessian h;
    struct zp_layer_mat lm;
};

static void fixture_make(struct fixture *f, int64_t rows, int64_t k, int64_t P, uint64_t seed)
{
    struct zp_rng r;
    zp_rng_seed(&r, seed);
    f->rows = rows, f->k = k, f->P = P;
    f->w = malloc((size_t)(rows * k) * sizeof *f->w);
    f->cols = malloc((size_t)(k * P) * sizeof *f->cols);
    assert_non_null(f->w);
    assert_non_null(f->cols);
    for (int64_t i = 0; i < rows * k; i++)
        f->w[i] = (float)zp_rng_gaussian(&r);
    enum { F = 3 };
    double mix[64][F];
    for (int64_t j = 0; j < k; j++)
        for (int t = 0; t < F; t++)
            mix[j % 64][t] = zp_rng_gaussian(&r);
    for (int64_t p = 0; p < P; p++) {
        double z[F];
        for (int t = 0; t < F; t++)
            z[t] = zp_rng_gaussian(&r);
        for (int64_t j = 0; j < k; j++) {
            double v = 0.3 * zp_rng_gaussian(&r);
            for (int t = 0; t < F; t++)
                v += mix[j % 64][t] * z[t];
            f->cols[j * P + p] = (float)v;
        }
    }
    assert_int_equal(zp_gptq_hessian_init(&f->h, 1, k, NULL), ZP_OK);
    zp_gptq_hessian_add(&f->h, 0, f->cols, P);
    f->lm = (struct zp_layer_mat){.groups = 1, .rows_out = rows, .k = k, .positions = P};
}

static void fixture_free(struct fixture *f)
{
    free(f->w);
    free(f->cols);
    zp_gptq_hessian_free(&f->h);
}

/* sum over rows and positions of (W X - W' X)^2 x 2 / P, computed directly. */
static double direct_error(const struct fixture *f, const float *wq)
{
    double s = 0;
    for (int64_t r = 0; r < f->rows; r++)
        for (int64_t p = 0; p < f->P; p++) {
            double d = 0;
            for (int64_t j = 0; j < f->k; j++)
                d += ((double)f->w[r * f->k + j] - wq[r * f->k + j]) * f->cols[j * f->P + p];
            s += d * d;
        }
    return 2.0 * s / (double)f->P;
}

static void run_gptq(const struct fixture *f, const struct zp_scheme_config *cfg,
                     const struct zp_tensor_qparams *qp, int act_order, int block, double damp,
                     float *out, struct zp_gptq_report *rep)
{
    struct zp_rounding_opts o;
    zp_rounding_defaults(&o);
    o.dampening = damp;
    o.act_order = act_order;
    o.block_size = block;
    struct zp_err err = {0};
    assert_int_equal(zp_gptq_layer(cfg, qp, &f->lm, f->w, &f->h, &o, out, rep, &err), ZP_OK);
}

/* Each value of w is a level of its slice: rounding it again leaves it. */
static void assert_on_grid(const struct zp_scheme_config *cfg, const struct zp_tensor_qparams *qp,
                           const struct zp_layer_mat *lm, const float *w)
{
    for (int64_t o = 0; o < lm->groups * lm->rows_out; o++)
        for (int64_t j = 0; j < lm->k; j++) {
            float v = w[o * lm->k + j], y;
            zp_fake_quant_run(cfg, &qp->slice[zp_layer_slice(cfg, qp, lm, o, j)], &v, &y, 1, NULL);
            assert_true(y == v);
        }
}

static void test_no_worse_than_nearest(void **state)
{
    (void)state;
    const struct {
        const char *scheme;
        int bits;
        enum zp_granularity g;
        int group;
    } cases[] = {
        {"asymmetric", 4, ZP_PER_CHANNEL, 0}, {"symmetric", 4, ZP_PER_CHANNEL, 0},
        {"no-128", 4, ZP_PER_CHANNEL, 0},     {"linear4", 0, ZP_PER_CHANNEL, 0},
        {"asymmetric", 3, ZP_PER_GROUP, 8},   {"symmetric", 8, ZP_PER_TENSOR, 0},
        {"lut4", 0, ZP_PER_CHANNEL, 0},       {"minifloat", 0, ZP_PER_CHANNEL, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int ao = 0; ao < 2; ao++) {
            struct fixture f;
            fixture_make(&f, 5, 37, 300, 11 + c);
            struct zp_scheme_config cfg = cfg_of(cases[c].scheme, cases[c].bits, cases[c].g,
                                                 cases[c].group ? cases[c].group : 32);
            int64_t shape[2] = {f.rows, f.k};
            struct zp_tensor_qparams qp;
            struct zp_err err = {0};
            assert_int_equal(zp_tensor_fit(&cfg, f.w, shape, 2, "w", &qp, &err), ZP_OK);
            float *out = malloc((size_t)(f.rows * f.k) * sizeof *out);
            float *near = malloc((size_t)(f.rows * f.k) * sizeof *near);
            zp_tensor_apply(&cfg, &qp, f.w, shape, 2, near, NULL);
            struct zp_gptq_report rep;
            run_gptq(&f, &cfg, &qp, ao, 8, 0.01, out, &rep);
            assert_on_grid(&cfg, &qp, &f.lm, out);
            double e_near = direct_error(&f, near), e_gptq = direct_error(&f, out);
            print_message("%-10s %d-bit %-11s act_order %d: error nearest %.4g, GPTQ %.4g (%.2fx)\n",
                          cases[c].scheme, cfg.bits, zp_granularity_name(cfg.granularity), ao,
                          e_near, e_gptq, e_near / e_gptq);
            /* the report's errors are the same quantity through H */
            assert_true(zp_test_close(rep.err_nearest, e_near, 1e-6));
            assert_true(zp_test_close(rep.err_gptq, e_gptq, 1e-6));
            assert_true(e_gptq <= e_near);
            /* correlated inputs: compensation must buy a clear margin at <= 4 bits */
            if (cfg.bits <= 4)
                assert_true(e_gptq < 0.8 * e_near);
            free(out);
            free(near);
            zp_tensor_qparams_free(&qp);
            fixture_free(&f);
        }
}

/* The last column (natural order) given the others: GPTQ's level against every
 * level of the slice's grid, by brute force on the full error. Without
 * dampening: the compensation is exact for the H it is given, and the brute
 * force measures the undamped error. */
static void test_last_column_is_optimal(void **state)
{
    (void)state;
    const int blocks[] = {1, 5, 0 /* k: one block */};
    for (int b = 0; b < 3; b++)
        for (int bits = 2; bits <= 4; bits++) {
            struct fixture f;
            fixture_make(&f, 3, 11, 120, 100 + (uint64_t)(b * 10 + bits));
            struct zp_scheme_config cfg = cfg_of("asymmetric", bits, ZP_PER_CHANNEL, 32);
            int64_t shape[2] = {f.rows, f.k};
            struct zp_tensor_qparams qp;
            assert_int_equal(zp_tensor_fit(&cfg, f.w, shape, 2, "w", &qp, NULL), ZP_OK);
            float *out = malloc((size_t)(f.rows * f.k) * sizeof *out);
            struct zp_gptq_report rep;
            run_gptq(&f, &cfg, &qp, 0, blocks[b], 0.0, out, &rep);
            int64_t last = f.k - 1;
            for (int64_t r = 0; r < f.rows; r++) {
                const struct zp_qparams *p = &qp.slice[r];
                double best = INFINITY;
                float keep = out[r * f.k + last];
                for (int32_t q = p->qmin; q <= p->qmax; q++) {
                    float lv;
                    zp_affine_dequantize(&cfg, p, &q, &lv, 1);
                    out[r * f.k + last] = lv;
                    double e = direct_error(&f, out);
                    best = e < best ? e : best;
                }
                out[r * f.k + last] = keep;
                double e_gptq = direct_error(&f, out);
                assert_true(e_gptq <= best * (1 + 1e-9) + 1e-12);
            }
            free(out);
            zp_tensor_qparams_free(&qp);
            fixture_free(&f);
        }
}

/* Lazy batches reorder the same updates: block sizes 1, 7 and k agree (up to a
 * near-tie flipped by the order of float additions, which this data avoids). */
static void test_block_size_invariant(void **state)
{
    (void)state;
    struct fixture f;
    fixture_make(&f, 6, 40, 200, 7);
    struct zp_scheme_config cfg = cfg_of("symmetric", 4, ZP_PER_CHANNEL, 32);
    int64_t shape[2] = {f.rows, f.k};
    struct zp_tensor_qparams qp;
    assert_int_equal(zp_tensor_fit(&cfg, f.w, shape, 2, "w", &qp, NULL), ZP_OK);
    size_t n = (size_t)(f.rows * f.k);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    struct zp_gptq_report rep;
    run_gptq(&f, &cfg, &qp, 1, 1, 0.01, a, &rep);
    const int sizes[] = {7, 40, 1000};
    for (int s = 0; s < 3; s++) {
        run_gptq(&f, &cfg, &qp, 1, sizes[s], 0.01, b, &rep);
        assert_memory_equal(a, b, n * sizeof *a);
    }
    free(a);
    free(b);
    zp_tensor_qparams_free(&qp);
    fixture_free(&f);
}

/* Depthwise-like groups (one output per group, k = 9) and an input that is always
 * zero: every group no worse than nearest, no NaN, all on the grid. */
static void test_groups_and_dead_inputs(void **state)
{
    (void)state;
    enum { G = 4, K = 9, P = 64 };
    struct zp_rng r;
    zp_rng_seed(&r, 3);
    float w[G * K], out[G * K], cols[K * P];
    for (int i = 0; i < G * K; i++)
        w[i] = (float)zp_rng_gaussian(&r);
    struct zp_gptq_hessian h;
    assert_int_equal(zp_gptq_hessian_init(&h, G, K, NULL), ZP_OK);
    for (int g = 0; g < G; g++) {
        for (int i = 0; i < K * P; i++)
            cols[i] = (float)(zp_rng_gaussian(&r) + (i % P) * 0.02);
        for (int p = 0; p < P; p++)
            cols[4 * P + p] = 0; /* input 4 never fires */
        zp_gptq_hessian_add(&h, g, cols, P);
    }
    assert_int_equal(h.n, P);
    struct zp_layer_mat lm = {.groups = G, .rows_out = 1, .k = K, .positions = P};
    struct zp_scheme_config cfg = cfg_of("asymmetric", 3, ZP_PER_CHANNEL, 32);
    int64_t shape[2] = {G, K};
    struct zp_tensor_qparams qp;
    assert_int_equal(zp_tensor_fit(&cfg, w, shape, 2, "w", &qp, NULL), ZP_OK);
    struct zp_rounding_opts o;
    zp_rounding_defaults(&o);
    struct zp_gptq_report rep;
    assert_int_equal(zp_gptq_layer(&cfg, &qp, &lm, w, &h, &o, out, &rep, NULL), ZP_OK);
    assert_on_grid(&cfg, &qp, &lm, out);
    assert_true(isfinite(rep.err_gptq) && rep.err_gptq <= rep.err_nearest);
    for (int g = 0; g < G; g++) { /* the dead input's weight: nearest, untouched by others */
        float y, v = w[g * K + 4];
        zp_fake_quant_run(&cfg, &qp.slice[g], &v, &y, 1, NULL);
        assert_true(out[g * K + 4] == y);
    }
    zp_tensor_qparams_free(&qp);
    zp_gptq_hessian_free(&h);
}

static void test_errors(void **state)
{
    (void)state;
    struct zp_gptq_hessian h;
    assert_int_equal(zp_gptq_hessian_init(&h, 1, 4, NULL), ZP_OK);
    struct zp_layer_mat lm = {.groups = 1, .rows_out = 1, .k = 4, .positions = 1};
    struct zp_scheme_config cfg = cfg_of("asymmetric", 4, ZP_PER_CHANNEL, 32);
    float w[4] = {1, 2, 3, 4}, out[4];
    int64_t shape[2] = {1, 4};
    struct zp_tensor_qparams qp;
    assert_int_equal(zp_tensor_fit(&cfg, w, shape, 2, "w", &qp, NULL), ZP_OK);
    struct zp_rounding_opts o;
    zp_rounding_defaults(&o);
    struct zp_gptq_report rep;
    struct zp_err err = {0};
    assert_int_equal(zp_gptq_layer(&cfg, &qp, &lm, w, &h, &o, out, &rep, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "no calibration inputs"));
    zp_tensor_qparams_free(&qp);
    zp_gptq_hessian_free(&h);
}

/* zp_layer_cols: W times the columns of group g is the grouped convolution,
 * computed here directly, with stride, dilation, asymmetric padding reading `pad`. */
static void test_layer_cols_is_the_convolution(void **state)
{
    (void)state;
    enum { C = 4, H = 7, W = 6, O = 4, G = 2, KH = 3, KW = 2 };
    struct zp_layer_info li = {.name = "conv", .op = "Conv", .group = G, .wndim = 4,
                               .wshape = {O, C / G, KH, KW}, .in_shape = {C, H, W}, .in_ndim = 3,
                               .pads = {1, 0, 2, 1}, .strides = {2, 1}, .dilations = {1, 2},
                               .kernel = {KH, KW}, .n_out = O, .out_ndim = 3};
    int64_t oh = (H + 1 + 2 - (KH - 1) - 1) / 2 + 1, ow = (W + 0 + 1 - 2 * (KW - 1) - 1) / 1 + 1;
    li.out_shape[0] = O, li.out_shape[1] = oh, li.out_shape[2] = ow;
    struct zp_layer_mat lm;
    assert_int_equal(zp_layer_mat_of(&li, &lm, NULL), ZP_OK);
    assert_int_equal(lm.groups, G);
    assert_int_equal(lm.k, C / G * KH * KW);
    assert_int_equal(lm.positions, oh * ow);
    struct zp_rng r;
    zp_rng_seed(&r, 5);
    float x[C * H * W], w[O * (C / G) * KH * KW];
    for (int i = 0; i < C * H * W; i++)
        x[i] = (float)zp_rng_gaussian(&r);
    for (int i = 0; i < O * (C / G) * KH * KW; i++)
        w[i] = (float)zp_rng_gaussian(&r);
    float *cols = malloc((size_t)(lm.k * lm.positions) * sizeof *cols), scratch[H * W];
    const float pads[] = {0.0f, 0.75f};
    for (int pi = 0; pi < 2; pi++)
        for (int64_t g = 0; g < G; g++) {
            zp_layer_cols(&li, &lm, x, g, pads[pi], scratch, cols);
            for (int64_t ro = 0; ro < lm.rows_out; ro++)
                for (int64_t y = 0; y < oh; y++)
                    for (int64_t xo = 0; xo < ow; xo++) {
                        int64_t o = g * lm.rows_out + ro;
                        double direct = 0, viacols = 0;
                        for (int64_t c = 0; c < C / G; c++)
                            for (int64_t ky = 0; ky < KH; ky++)
                                for (int64_t kx = 0; kx < KW; kx++) {
                                    int64_t iy = y * 2 + ky * 1 - 1, ix = xo * 1 + kx * 2 - 0;
                                    double v = iy < 0 || iy >= H || ix < 0 || ix >= W
                                                   ? pads[pi]
                                                   : x[((g * (C / G) + c) * H + iy) * W + ix];
                                    direct += w[((o * (C / G) + c) * KH + ky) * KW + kx] * v;
                                }
                        for (int64_t j = 0; j < lm.k; j++)
                            viacols += w[o * lm.k + j] * cols[j * lm.positions + y * ow + xo];
                        assert_true(fabs(direct - viacols) < 1e-4);
                    }
        }
    free(cols);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_worse_than_nearest),
        cmocka_unit_test(test_last_column_is_optimal),
        cmocka_unit_test(test_block_size_invariant),
        cmocka_unit_test(test_groups_and_dead_inputs),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_layer_cols_is_the_convolution),
    };
    return ZP_RUN_TESTS(tests);
}
