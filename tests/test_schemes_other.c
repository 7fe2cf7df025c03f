/* The scheme registry and every built-in scheme on single slices: formulas of
 * docs/definitions.md checked against values worked out by hand.
 *
 * This file: the lookup-table and binary schemes, degenerate slices for every scheme, option validation, fit_range. */
#include "tests/util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/rng.h"
#include "schemes/granularity.h"
#include "schemes/scheme.h"

/* A value within the tie tolerance of a half step (4 float ulps of the code
 * span, < 2.5e-4 LSB at 8 bits: schemes/affine.c) counts as the tie and may
 * round to the far (even) side. */
#define ZP_TIE_LSB 2.5e-4
#include "tests/scheme_fixtures.h"

static void test_kmeans_recovers_clusters(void **state)
{
    (void)state;
    const float centre[4] = {-3.0f, -1.0f, 0.5f, 2.0f};
    float x[48];
    int n = 0;
    for (int rep = 0; rep < 4; rep++)
        for (int c = 0; c < 4; c++)
            for (int d = -1; d <= 1; d++)
                x[n++] = centre[(c + rep) % 4] + 0.01f * (float)d;
    struct zp_scheme_config cfg = zp_ts_cfg_of("lut4", 2);
    int32_t q[48];
    float y[48];
    struct zp_qparams p;
    zp_ts_qdq(&cfg, x, 48, q, y, &p);
    assert_int_equal(p.n_levels, 4);
    for (int c = 0; c < 4; c++)
        assert_true(fabsf(p.levels[c] - centre[c]) < 1e-5f);
    for (int i = 0; i < 48; i++)
        assert_true(fabsf(y[i] - x[i]) <= 0.0100001f);
}

/* {0, 1, 2, 10} at 2 bits: init levels 0, 10/3, 20/3, 10; midpoints 5/3, 5, 25/3
 * give clusters {0,1}, {2}, {}, {10}; the empty cluster keeps 20/3, the others
 * move to 0.5 and 2; the next pass assigns the same way: converged. */
static void test_kmeans_empty_cluster(void **state)
{
    (void)state;
    const float x[] = {0.0f, 1.0f, 2.0f, 10.0f};
    struct zp_scheme_config cfg = zp_ts_cfg_of("lut4", 2);
    int32_t q[4];
    float y[4];
    struct zp_qparams p;
    zp_ts_qdq(&cfg, x, 4, q, y, &p);
    const float want[4] = {0.5f, 2.0f, 20.0f / 3.0f, 10.0f};
    for (int c = 0; c < 4; c++)
        assert_true(fabsf(p.levels[c] - want[c]) < 1e-5f);
    assert_int_equal(q[0], 0);
    assert_int_equal(q[1], 0);
    assert_int_equal(q[2], 1);
    assert_int_equal(q[3], 3);
    /* iterations = 0: the linear initialisation itself */
    zp_ts_set_opt(&cfg, "iterations", 0);
    zp_ts_qdq(&cfg, x, 4, q, y, &p);
    assert_true(fabsf(p.levels[1] - 10.0f / 3.0f) < 1e-5f);
    assert_true(fabsf(p.levels[2] - 20.0f / 3.0f) < 1e-5f);
}

static void test_log2_and_normal_codebooks(void **state)
{
    (void)state;
    const float x[] = {-4.0f, 1.0f, 0.3f};
    struct zp_scheme_config cfg = zp_ts_cfg_of("lut4", 4);
    zp_ts_set_opt(&cfg, "codebook", 1);
    int32_t q[3];
    float y[3];
    struct zp_qparams p;
    zp_ts_qdq(&cfg, x, 3, q, y, &p);
    const float want[16] = {-4, -2, -1, -0.5f, -0.25f, -0.125f, -0.0625f, 0,
                            0.03125f, 0.0625f, 0.125f, 0.25f, 0.5f, 1, 2, 4};
    for (int c = 0; c < 16; c++)
        assert_true(p.levels[c] == want[c]);
    assert_int_equal(q[0], 0);
    assert_true(y[1] == 1.0f);
    assert_true(y[2] == 0.25f); /* |0.3 - 0.25| < |0.3 - 0.5| */
    /* 2 bits: {-m, 0, m/2, m}; ties go to the lower level */
    cfg.bits = 2;
    zp_ts_qdq(&cfg, x, 3, q, y, &p);
    const float want2[4] = {-4, 0, 2, 4};
    for (int c = 0; c < 4; c++)
        assert_true(p.levels[c] == want2[c]);
    const float ties[] = {1.0f, 3.0f, -2.0f};
    int32_t tq[3];
    cfg.scheme->quantize(&cfg, &p, ties, tq, 3);
    assert_int_equal(tq[0], 1);
    assert_int_equal(tq[1], 2);
    assert_int_equal(tq[2], 0);
    /* normal quantiles (i + 0.5)/16 scaled to max|x| = 4; reference values from an
     * independent inverse CDF (Python statistics.NormalDist). */
    const double ratio[8] = {0.042095384, 0.127340984, 0.215946306, 0.310904737,
                             0.416818853, 0.5422091,   0.707568771, 1.0};
    cfg.bits = 4;
    zp_ts_set_opt(&cfg, "codebook", 2);
    zp_ts_qdq(&cfg, x, 3, q, y, &p);
    for (int j = 0; j < 8; j++) {
        assert_true(fabs(p.levels[8 + j] - 4.0 * ratio[j]) < 1e-6);
        assert_true(p.levels[7 - j] == -p.levels[8 + j]);
    }
    cfg.bits = 2;
    zp_ts_qdq(&cfg, x, 3, q, y, &p);
    assert_true(fabs(p.levels[2] - 4.0 * 0.2769935546539986) < 1e-6);
    assert_true(p.levels[3] == 4.0f);
}

static void test_binary_alpha(void **state)
{
    (void)state;
    const float x[] = {1.0f, -2.0f, 3.0f, 0.0f};
    struct zp_scheme_config cfg = zp_ts_cfg_of("binary", 0);
    assert_int_equal(cfg.bits, 1);
    int32_t q[4];
    float y[4];
    struct zp_qparams p;
    zp_ts_qdq(&cfg, x, 4, q, y, &p);
    const int32_t wq[4] = {1, 0, 1, 1};
    const float wy[4] = {1.5f, -1.5f, 1.5f, 1.5f};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(q[i], wq[i]);
        assert_true(y[i] == wy[i]);
    }
    assert_true(zp_qparams_decode_zero(cfg.scheme, &cfg, &p) == 1.5f); /* sign(0) = +1 */
    /* per channel: alpha of each row */
    const float xc[] = {1.0f, -2.0f, 3.0f, 0.0f, -0.5f, 0.5f};
    const int64_t shape[] = {3, 2};
    float out[6];
    struct zp_err err = {0};
    cfg.granularity = ZP_PER_CHANNEL;
    assert_int_equal(zp_fake_quant(&cfg, xc, shape, 2, "w", out, NULL, &err), ZP_OK);
    const float wc[6] = {1.5f, -1.5f, 1.5f, 1.5f, -0.5f, 0.5f};
    for (int i = 0; i < 6; i++)
        assert_true(out[i] == wc[i]);
}

/* Every built-in scheme with its default options plus the variants that change
 * the fit. */
struct sv {
    const char *name;
    const char *opt;
    double val;
};
static const struct sv all_variants[] = {
    {"asymmetric", NULL, 0}, {"asymmetric", "nudge_zero", 0}, {"symmetric", NULL, 0},
    {"symmetric", "narrow_range", 1}, {"no-128", NULL, 0}, {"linear4", NULL, 0},
    {"linear4", "mode", 1}, {"lut4", NULL, 0}, {"lut4", "codebook", 1},
    {"lut4", "codebook", 2}, {"binary", NULL, 0},
};
#define N_VARIANTS (sizeof all_variants / sizeof all_variants[0])

static struct zp_scheme_config sv_cfg(const struct sv *v, enum zp_granularity g)
{
    struct zp_scheme_config cfg = zp_ts_cfg_of(v->name, 0);
    if (v->opt)
        zp_ts_set_opt(&cfg, v->opt, v->val);
    cfg.granularity = g;
    if (g == ZP_PER_GROUP) {
        cfg.group_size = 8;
        if (cfg.bits > 4)
            cfg.bits = 4;
    }
    return cfg;
}

static void test_all_zero(void **state)
{
    (void)state;
    float x[32] = {0}, y[32];
    const int64_t shape[] = {4, 8};
    for (size_t k = 0; k < N_VARIANTS; k++)
        for (int g = 0; g < 3; g++) {
            struct zp_scheme_config cfg = sv_cfg(&all_variants[k], (enum zp_granularity)g);
            struct zp_tensor_qparams qp;
            struct zp_err err = {0};
            memset(y, 0xff, sizeof y); /* NaN pattern */
            assert_int_equal(zp_fake_quant(&cfg, x, shape, 2, "zeros", y, &qp, &err), ZP_OK);
            for (int i = 0; i < 32; i++)
                if (y[i] != 0.0f)
                    fail_msg("%s %s: all-zero input decodes to %g", all_variants[k].name,
                             all_variants[k].opt ? all_variants[k].opt : "", y[i]);
            for (size_t s = 0; s < qp.n_slices; s++) {
                assert_true(isfinite(qp.slice[s].scale) && qp.slice[s].scale > 0.0f);
                assert_true(zp_qparams_decode_zero(cfg.scheme, &cfg, &qp.slice[s]) == 0.0f);
            }
            zp_tensor_qparams_free(&qp);
        }
}

/* A constant slice c: every scheme at its default width represents it to within
 * |c|/255 (the full symmetric range clips +max at 127/127.5 of it); the schemes
 * that put c on a level reproduce it to float precision. */
static void test_constant(void **state)
{
    (void)state;
    const float consts[] = {0.37f, -2.5f};
    for (int ci = 0; ci < 2; ci++) {
        float c = consts[ci], x[16], y[16];
        for (int i = 0; i < 16; i++)
            x[i] = c;
        const int64_t shape[] = {16};
        for (size_t k = 0; k < N_VARIANTS; k++) {
            const struct sv *v = &all_variants[k];
            struct zp_scheme_config cfg = sv_cfg(v, ZP_PER_TENSOR);
            struct zp_err err = {0};
            assert_int_equal(zp_fake_quant(&cfg, x, shape, 1, "const", y, NULL, &err), ZP_OK);
            int exact = !(strcmp(v->name, "symmetric") == 0 && !v->opt);
            double tol = exact ? 1e-6 * fabsf(c) : fabsf(c) / 255.0 * 1.0001;
            for (int i = 0; i < 16; i++)
                if (!(fabs((double)y[i] - c) <= tol))
                    fail_msg("%s %s: constant %g decodes to %g", v->name, v->opt ? v->opt : "",
                             c, y[i]);
        }
    }
}

static void test_one_element_channel(void **state)
{
    (void)state;
    const float x[] = {0.5f, -2.0f, 0.0f};
    const int64_t shape[] = {3, 1};
    for (size_t k = 0; k < N_VARIANTS; k++) {
        const struct sv *v = &all_variants[k];
        struct zp_scheme_config cfg = sv_cfg(v, ZP_PER_CHANNEL);
        float y[3];
        struct zp_tensor_qparams qp;
        struct zp_err err = {0};
        assert_int_equal(zp_fake_quant(&cfg, x, shape, 2, "w", y, &qp, &err), ZP_OK);
        assert_int_equal(qp.n_slices, 3);
        int exact = !(strcmp(v->name, "symmetric") == 0 && !v->opt);
        for (int i = 0; i < 3; i++) {
            double tol = exact ? 1e-6 : fabsf(x[i]) / 255.0 * 1.0001;
            if (!(fabs((double)y[i] - x[i]) <= tol))
                fail_msg("%s: one-element channel %g decodes to %g", v->name, x[i], y[i]);
        }
        zp_tensor_qparams_free(&qp);
    }
}

static void test_nan_inf_rejected(void **state)
{
    (void)state;
    float x[32];
    zp_ts_gaussian(x, 32, 5);
    const int64_t shape[] = {4, 8};
    struct zp_scheme_config cfg = zp_ts_cfg_of("asymmetric", 8);
    cfg.granularity = ZP_PER_CHANNEL;
    float y[32];
    struct zp_err err = {0};
    x[17] = NAN;
    assert_int_equal(zp_fake_quant(&cfg, x, shape, 2, "conv1.weight", y, NULL, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "conv1.weight: element 17 is NaN"));
    x[17] = 0.0f;
    x[3] = INFINITY;
    zp_err_clear(&err);
    assert_int_equal(zp_fake_quant(&cfg, x, shape, 2, "fc.bias", y, NULL, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "fc.bias: element 3 is +Inf"));
    x[3] = -INFINITY;
    zp_err_clear(&err);
    struct zp_tensor_qparams qp;
    assert_int_equal(zp_tensor_fit(&cfg, x, shape, 2, "t", &qp, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "element 3 is -Inf"));
    assert_null(qp.slice);
    assert_int_equal(qp.n_slices, 0);
}

static void expect_invalid(const struct zp_scheme_config *cfg, const char *needle)
{
    struct zp_err err = {0};
    enum zp_status st = zp_scheme_config_check(cfg, &err);
    if (st == ZP_OK || !strstr(err.msg, needle))
        fail_msg("%s: expected an error naming '%s', got status %d '%s'", cfg->scheme->name,
                 needle, st, err.msg);
}

static void test_validate_errors(void **state)
{
    (void)state;
    const struct {
        const char *name;
        int bits;
    } bad[] = {{"asymmetric", 9}, {"asymmetric", 1}, {"symmetric", 1}, {"symmetric", 16},
               {"no-128", 9},     {"lut4", 5},       {"lut4", 1},      {"linear4", 8},
               {"binary", 2}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct zp_scheme_config cfg = zp_ts_cfg_of(bad[i].name, 0);
        cfg.bits = bad[i].bits;
        struct zp_err err = {0};
        assert_int_equal(cfg.scheme->validate(&cfg, &err), ZP_ECONFIG);
        assert_non_null(strstr(err.msg, "bits"));
        assert_non_null(strstr(err.msg, bad[i].name));
        expect_invalid(&cfg, "bits");
    }
    struct zp_scheme_config cfg = zp_ts_cfg_of("asymmetric", 8);
    cfg.granularity = ZP_PER_GROUP;
    expect_invalid(&cfg, "granularity");
    cfg.bits = 4;
    struct zp_err err = {0};
    assert_int_equal(zp_scheme_config_check(&cfg, &err), ZP_OK);
    cfg.group_size = 0;
    expect_invalid(&cfg, "group_size");
    cfg = zp_ts_cfg_of("lut4", 4);
    zp_ts_set_opt(&cfg, "iterations", 1001);
    expect_invalid(&cfg, "iterations");
    zp_ts_set_opt(&cfg, "iterations", 2.5);
    expect_invalid(&cfg, "iterations");
    cfg = zp_ts_cfg_of("lut4", 4);
    zp_ts_set_opt(&cfg, "codebook", 3);
    expect_invalid(&cfg, "codebook");
    cfg = zp_ts_cfg_of("asymmetric", 8);
    zp_ts_set_opt(&cfg, "nudge_zero", 0.5);
    expect_invalid(&cfg, "nudge_zero");
}

static void test_fit_range(void **state)
{
    (void)state;
    struct zp_qparams p;
    struct zp_err err = {0};
    struct zp_scheme_config cfg = zp_ts_cfg_of("asymmetric", 8);
    assert_int_equal(cfg.scheme->fit_range(&cfg, 1.0f, -1.0f, &p, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "asymmetric"));
    zp_err_clear(&err);
    assert_int_equal(cfg.scheme->fit_range(&cfg, NAN, 1.0f, &p, &err), ZP_EINVAL);
    /* an activation range that excludes 0 is widened to include it: [0, 6] */
    zp_err_clear(&err);
    assert_int_equal(cfg.scheme->fit_range(&cfg, 0.5f, 6.0f, &p, &err), ZP_OK);
    assert_true(zp_test_close(p.scale, 6.0 / 255.0, 1e-6));
    assert_int_equal(p.zero_point, 0);
    cfg = zp_ts_cfg_of("symmetric", 8);
    assert_int_equal(cfg.scheme->fit_range(&cfg, -2.0f, 1.0f, &p, &err), ZP_OK);
    assert_true(zp_test_close(p.scale, 2.0 / 127.5, 1e-6));
    cfg = zp_ts_cfg_of("linear4", 4);
    assert_int_equal(cfg.scheme->fit_range(&cfg, -0.7f, 0.35f, &p, &err), ZP_OK);
    assert_true(zp_test_close(p.scale, 0.1, 1e-6));
    assert_int_equal(p.qmin, -7);
    assert_int_equal(p.qmax, 7);
    assert_null(zp_scheme_find("lut4")->fit_range);
    /* clipping range of the nudged [-1, 1] fit: [-128 s, 127 s] */
    cfg = zp_ts_cfg_of("asymmetric", 8);
    assert_int_equal(cfg.scheme->fit_range(&cfg, -1.0f, 1.0f, &p, &err), ZP_OK);
    float lo, hi;
    cfg.scheme->clip_range(&cfg, &p, &lo, &hi);
    assert_true(zp_test_close(lo, -256.0 / 255.0, 1e-6));
    assert_true(zp_test_close(hi, 254.0 / 255.0, 1e-6));
}

/* linear4 asymmetric is the nudged 0..15 mapping: [-1, 2] -> s = 0.2, z = 5. */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kmeans_recovers_clusters),
        cmocka_unit_test(test_kmeans_empty_cluster),
        cmocka_unit_test(test_log2_and_normal_codebooks),
        cmocka_unit_test(test_binary_alpha),
        cmocka_unit_test(test_all_zero),
        cmocka_unit_test(test_constant),
        cmocka_unit_test(test_one_element_channel),
        cmocka_unit_test(test_nan_inf_rejected),
        cmocka_unit_test(test_validate_errors),
        cmocka_unit_test(test_fit_range),
    };
    return ZP_RUN_TESTS(tests);
}
