/* AdaRound (ptq/adaround.c) on small random layers: its reconstruction error on
 * the calibration rows is no larger than rounding to nearest's (and clearly
 * smaller where the inputs are correlated), both when the layer sees the inputs
 * its target was made from and when it sees perturbed ones (the quantized
 * network's); every result is the level just below or just above its weight;
 * the same seed gives the same result; the grid neighbours of a value bracket it,
 * and a grid whose levels do not ascend with the code is refused. */
#include "tests/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "ptq/adaround.h"
#include "schemes/granularity.h"
#include "tests/scheme_fixtures.h"

static struct zp_scheme_config cfg_of(const char *name, int bits, enum zp_granularity g)
{
    struct zp_scheme_config cfg = zp_ts_cfg_of(name, bits);
    cfg.granularity = g;
    cfg.axis = 0;
    return cfg;
}

struct layer {
    int64_t R, k, n;
    float *w, *x, *t;
};

/* n rows of k correlated inputs (three shared factors plus noise); t = w x on
 * them; then x perturbed by `noise` (the quantized network's view of them). */
static void layer_make(struct layer *L, int64_t R, int64_t k, int64_t n, double noise,
                       uint64_t seed)
{
    struct zp_rng r;
    zp_rng_seed(&r, seed);
    L->R = R, L->k = k, L->n = n;
    L->w = malloc((size_t)(R * k) * sizeof *L->w);
    L->x = malloc((size_t)(n * k) * sizeof *L->x);
    L->t = malloc((size_t)(n * R) * sizeof *L->t);
    double mix[3][64];
    for (int f = 0; f < 3; f++)
        for (int64_t j = 0; j < k; j++)
            mix[f][j] = zp_rng_gaussian(&r);
    for (int64_t i = 0; i < R * k; i++)
        L->w[i] = (float)(0.3 * zp_rng_gaussian(&r));
    for (int64_t s = 0; s < n; s++) {
        double z[3] = {zp_rng_gaussian(&r), zp_rng_gaussian(&r), zp_rng_gaussian(&r)};
        for (int64_t j = 0; j < k; j++)
            L->x[s * k + j] =
                (float)(mix[0][j] * z[0] + mix[1][j] * z[1] + mix[2][j] * z[2] + 0.3 * zp_rng_gaussian(&r));
        for (int64_t o = 0; o < R; o++) {
            double acc = 0;
            for (int64_t j = 0; j < k; j++)
                acc += (double)L->w[o * k + j] * L->x[s * k + j];
            L->t[s * R + o] = (float)acc;
        }
        for (int64_t j = 0; j < k; j++)
            L->x[s * k + j] += (float)(noise * zp_rng_gaussian(&r));
    }
}

static void layer_free(struct layer *L)
{
    free(L->w);
    free(L->x);
    free(L->t);
}

/* mean over rows of |t - x wq^T|^2, directly. */
static double recon(const struct layer *L, const float *wq)
{
    double s = 0;
    for (int64_t i = 0; i < L->n; i++)
        for (int64_t o = 0; o < L->R; o++) {
            double y = 0;
            for (int64_t j = 0; j < L->k; j++)
                y += (double)wq[o * L->k + j] * L->x[i * L->k + j];
            s += (y - L->t[i * L->R + o]) * (y - L->t[i * L->R + o]);
        }
    return s / (double)L->n;
}

static void run(const struct layer *L, const struct zp_scheme_config *cfg, int iters,
                uint64_t seed, float *out, struct zp_adaround_report *rep,
                struct zp_tensor_qparams *qp)
{
    int64_t shape[2] = {L->R, L->k};
    assert_int_equal(zp_tensor_fit(cfg, L->w, shape, 2, "w", qp, NULL), ZP_OK);
    struct zp_layer_mat lm = {.groups = 1, .rows_out = L->R, .k = L->k, .positions = 1};
    struct zp_rounding_opts o;
    zp_rounding_defaults(&o);
    o.iterations = iters;
    o.batch_rows = 64;
    o.lr = 0.01;
    o.seed = seed;
    struct zp_err err = {0};
    if (zp_adaround_group(cfg, qp, &lm, 0, L->w, L->x, L->t, L->n, &o, out, rep, &err))
        fail_msg("%s", err.msg);
}

static void test_no_worse_than_nearest(void **state)
{
    (void)state;
    const struct {
        const char *scheme;
        int bits;
        double noise;
    } cases[] = {
        {"asymmetric", 4, 0.0}, {"symmetric", 3, 0.0}, {"linear4", 0, 0.0},
        {"asymmetric", 4, 0.2}, {"no-128", 4, 0.2},    {"lut4", 0, 0.0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct layer L;
        layer_make(&L, 4, 24, 400, cases[c].noise, 40 + c);
        struct zp_scheme_config cfg = cfg_of(cases[c].scheme, cases[c].bits, ZP_PER_CHANNEL);
        float *out = malloc((size_t)(L.R * L.k) * sizeof *out);
        float *near = malloc((size_t)(L.R * L.k) * sizeof *near);
        struct zp_adaround_report rep;
        struct zp_tensor_qparams qp;
        run(&L, &cfg, 600, 1, out, &rep, &qp);
        int64_t shape[2] = {L.R, L.k};
        zp_tensor_apply(&cfg, &qp, L.w, shape, 2, near, NULL);
        double e_near = recon(&L, near), e_ada = recon(&L, out);
        print_message("%-10s %d-bit noise %.1f: reconstruction error nearest %.4g, AdaRound %.4g "
                      "(%lld of %lld weights changed)\n",
                      cases[c].scheme, cfg.bits, cases[c].noise, e_near, e_ada,
                      (long long)rep.n_changed, (long long)rep.n_weights);
        assert_true(zp_test_close(rep.err_nearest, e_near, 1e-4));
        assert_true(zp_test_close(rep.err_adaround, e_ada, 1e-4));
        assert_true(e_ada <= e_near);
        if (cases[c].noise == 0) /* the rounding's own error only: a clear margin */
            assert_true(e_ada < 0.9 * e_near);
        /* every weight took the level below or above it */
        for (int64_t i = 0; i < L.R * L.k; i++) {
            float down, up;
            assert_int_equal(zp_grid_neighbors(&cfg, &qp.slice[i / L.k], L.w[i], &down, &up, NULL),
                             ZP_OK);
            assert_true(out[i] == down || out[i] == up);
        }
        zp_tensor_qparams_free(&qp);
        free(out);
        free(near);
        layer_free(&L);
    }
}

static void test_same_seed_same_result(void **state)
{
    (void)state;
    struct layer L;
    layer_make(&L, 3, 16, 200, 0.1, 9);
    struct zp_scheme_config cfg = cfg_of("asymmetric", 3, ZP_PER_CHANNEL);
    float a[48], b[48];
    struct zp_adaround_report rep;
    struct zp_tensor_qparams qp;
    run(&L, &cfg, 200, 5, a, &rep, &qp);
    zp_tensor_qparams_free(&qp);
    run(&L, &cfg, 200, 5, b, &rep, &qp);
    zp_tensor_qparams_free(&qp);
    assert_memory_equal(a, b, sizeof a);
    layer_free(&L);
}

static void test_grid_neighbors(void **state)
{
    (void)state;
    struct zp_scheme_config cfg = cfg_of("asymmetric", 4, ZP_PER_TENSOR);
    struct zp_qparams p;
    assert_int_equal(cfg.scheme->fit_range(&cfg, -1.0f, 2.0f, &p, NULL), ZP_OK);
    const float xs[] = {-1.0f, -0.33f, 0.0f, 0.5f, 1.99f, 2.0f, 5.0f, -3.0f};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        float d, u;
        assert_int_equal(zp_grid_neighbors(&cfg, &p, xs[i], &d, &u, NULL), ZP_OK);
        if (xs[i] > 2.0f || xs[i] < -1.0f) { /* beyond the ends: the end level only */
            assert_true(d == u);
            continue;
        }
        assert_true(d <= xs[i] && xs[i] <= u);
        assert_true(u - d <= p.scale * 1.0001f); /* adjacent levels */
    }
    /* a grid decoding codes 0..3 to descending levels: refused by name */
    struct zp_scheme_config lc = cfg_of("lut4", 0, ZP_PER_TENSOR);
    struct zp_qparams q;
    memset(&q, 0, sizeof q);
    q.n_levels = 4;
    const float lv[4] = {-1, -0.5f, 0.5f, 1};
    memcpy(q.levels, lv, sizeof lv);
    float d, u;
    assert_int_equal(zp_grid_neighbors(&lc, &q, 0.1f, &d, &u, NULL), ZP_OK);
    assert_true(d == -0.5f && u == 0.5f);
    q.levels[1] = 0.9f; /* no longer ascending: code 1 above code 2 */
    struct zp_err err = {0};
    enum zp_status st = zp_grid_neighbors(&lc, &q, 0.7f, &d, &u, &err);
    assert_int_equal(st, ZP_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "do not ascend"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_worse_than_nearest),
        cmocka_unit_test(test_same_seed_same_result),
        cmocka_unit_test(test_grid_neighbors),
    };
    return ZP_RUN_TESTS(tests);
}
