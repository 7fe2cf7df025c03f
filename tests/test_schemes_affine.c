/* The scheme registry and every built-in scheme on single slices: formulas of
 * docs/definitions.md checked against values worked out by hand.
 *
 * This file: the registry, option helpers and the affine schemes (asymmetric, symmetric, no-128, linear4). */
#include "tests/util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/rng.h"
#include "common/round.h"
#include "schemes/granularity.h"
#include "schemes/scheme.h"

/* A value within the tie tolerance of a half step (4 float ulps of the code
 * span, < 2.5e-4 LSB at 8 bits: schemes/affine.c) counts as the tie and may
 * round to the far (even) side. */
#define ZP_TIE_LSB 2.5e-4
#include "tests/scheme_fixtures.h"

static void test_registry_sane(void **state)
{
    (void)state;
    static const char *const want[] = {"asymmetric", "symmetric", "no-128", "linear4", "lut4",
                                       "binary"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_non_null(zp_scheme_find(want[i]));
    assert_true(zp_scheme_count() >= 6);
    assert_null(zp_scheme_find("no-such-scheme"));
    assert_null(zp_scheme_find(NULL));
    assert_null(zp_scheme_at(-1));
    assert_null(zp_scheme_at(zp_scheme_count()));
    assert_string_equal(zp_scheme_find("no-128")->alias_of, "symmetric");
    for (int i = 0; i < zp_scheme_count(); i++) {
        const struct zp_scheme *s = zp_scheme_at(i);
        assert_non_null(s);
        assert_int_equal(s->abi, ZP_SCHEME_ABI);
        assert_non_null(s->name);
        assert_ptr_equal(zp_scheme_find(s->name), s);
        for (int j = 0; j < i; j++)
            assert_true(strcmp(zp_scheme_at(j)->name, s->name) != 0);
        assert_non_null(s->fit);
        assert_non_null(s->quantize);
        assert_non_null(s->dequantize);
        assert_true(s->min_bits >= 1 && s->max_bits <= 8);
        assert_true(s->min_bits <= s->default_bits && s->default_bits <= s->max_bits);
        assert_true(s->granularities & ZP_GRAN_BIT(ZP_PER_TENSOR));
        assert_true(s->granularities & ZP_GRAN_BIT(ZP_PER_CHANNEL));
        if (s->max_bits <= 4)
            assert_true(s->granularities & ZP_GRAN_BIT(ZP_PER_GROUP));
        assert_true(s->n_options >= 0 && s->n_options <= ZP_MAX_OPTIONS);
        struct zp_scheme_config cfg;
        zp_scheme_config_defaults(&cfg, s);
        struct zp_err err = {0};
        assert_int_equal(zp_scheme_config_check(&cfg, &err), ZP_OK);
    }
}

static void test_option_helpers(void **state)
{
    (void)state;
    const struct zp_scheme *lut = zp_scheme_find("lut4");
    int i = zp_scheme_option_index(lut, "codebook");
    assert_true(i >= 0);
    assert_int_equal(zp_option_choice_index(&lut->options[i], "normal"), 2);
    assert_int_equal(zp_option_choice_index(&lut->options[i], "kmeans"), 0);
    assert_int_equal(zp_option_choice_index(&lut->options[i], "norm"), -1);
    char buf[16];
    zp_option_choice_name(&lut->options[i], 1, buf, sizeof buf);
    assert_string_equal(buf, "log2");
    zp_option_choice_name(&lut->options[i], 3, buf, sizeof buf);
    assert_string_equal(buf, "");
    assert_int_equal(zp_scheme_option_index(lut, "nudge_zero"), -1);
    struct zp_scheme_config c = zp_ts_cfg_of("asymmetric", 0);
    assert_true(zp_scheme_opt(&c, "nudge_zero") == 1.0);
    c = zp_ts_cfg_of("no-128", 0);
    assert_true(zp_scheme_opt(&c, "narrow_range") == 1.0);
    c = zp_ts_cfg_of("symmetric", 0);
    assert_true(zp_scheme_opt(&c, "narrow_range") == 0.0);
    assert_string_equal(zp_scheme_kernel_family(&c), "s8");
    zp_ts_set_opt(&c, "narrow_range", 1);
    assert_string_equal(zp_scheme_kernel_family(&c), "s8-narrow");
    c = zp_ts_cfg_of("no-128", 0);
    assert_string_equal(zp_scheme_kernel_family(&c), "s8-narrow");
    c = zp_ts_cfg_of("asymmetric", 0);
    assert_string_equal(zp_scheme_kernel_family(&c), "u8");
}

/* x in [-0.3, 1.0] at 8 bits: s = 1.3/255; -min/s = 0.3*255/1.3 = 58.846 -> z = 59. */
static void test_asym_nudged_zero_exact(void **state)
{
    (void)state;
    struct zp_scheme_config cfg = zp_ts_cfg_of("asymmetric", 8);
    const float x[] = {-0.3f, 1.0f, 0.0f, 0.5f};
    int32_t q[4];
    float y[4];
    struct zp_qparams p;
    zp_ts_qdq(&cfg, x, 4, q, y, &p);
    assert_true(zp_test_close(p.scale, 1.3 / 255.0, 1e-6));
    assert_int_equal(p.zero_point, 59);
    assert_int_equal(q[2], 59);
    assert_true(y[2] == 0.0f);
    assert_true(zp_qparams_decode_zero(cfg.scheme, &cfg, &p) == 0.0f);
    assert_int_equal(q[0], 0);
    assert_int_equal(q[1], 255);
}

/* Naive mapping of the same range: 0.0 -> q = round(0.3/s) = 59, decoding to
 * -0.3 + 59 * 1.3/255 = (-76.5 + 76.7)/255 = 0.2/255 = 0.000784314. */
static void test_asym_plain_zero_offset(void **state)
{
    (void)state;
    struct zp_scheme_config cfg = zp_ts_cfg_of("asymmetric", 8);
    zp_ts_set_opt(&cfg, "nudge_zero", 0);
    const float x[] = {-0.3f, 1.0f, 0.0f, 0.5f};
    int32_t q[4];
    float y[4];
    struct zp_qparams p;
    zp_ts_qdq(&cfg, x, 4, q, y, &p);
    assert_int_equal(q[2], 59);
    float z = zp_qparams_decode_zero(cfg.scheme, &cfg, &p);
    assert_true(fabs(z - 0.2 / 255.0) < 1e-7);
    assert_true(z != 0.0f);
    /* both ends are exact levels of the naive mapping */
    assert_true(fabsf(y[0] - -0.3f) < 1e-7f);
    assert_true(fabsf(y[1] - 1.0f) < 1e-6f);
}

/* ImageNet inputs u/127.5 - 1 fitted on [-1, 1]: s = float(2/255), z = round(127.5)
 * = 128 (the zero point is a tie in exact arithmetic on the range: even). The
 * float inputs are not exact ties against the float scale, so each rounds the way
 * its exact quotient lies (common/round.h): the code equals the half-even rounding
 * of x/s computed in long double (64-bit mantissa: no float quotient that is not
 * a tie comes within its error of one). Exact ties of the real ratios come from
 * the integer pixel instead (data/: zp_dataset_exact_codes, tests/test_data_subset.c). */
static void test_imagenet_half_even(void **state)
{
    (void)state;
    struct zp_scheme_config cfg = zp_ts_cfg_of("asymmetric", 8);
    struct zp_qparams p;
    struct zp_err err = {0};
    assert_int_equal(cfg.scheme->fit_range(&cfg, -1.0f, 1.0f, &p, &err), ZP_OK);
    assert_true(zp_test_close(p.scale, 2.0 / 255.0, 1e-7));
    assert_int_equal(p.zero_point, 128);
    for (int form = 0; form < 2; form++) {
        for (int u = 0; u < 256; u++) {
            float x = form == 0 ? (float)u / 127.5f - 1.0f : (float)u * (1.0f / 127.5f) - 1.0f;
            int32_t q;
            cfg.scheme->quantize(&cfg, &p, &x, &q, 1);
            long double r = rintl((long double)x / (long double)p.scale) + 128;
            int32_t want = (int32_t)(r < 0 ? 0 : r > 255 ? 255 : r);
            if (q != want)
                fail_msg("u=%d form=%d: code %d, expected %d", u, form, q, want);
        }
    }
}

/* Exact ties and near-ties (issue 17 item 8): x = h * s exactly for a half-integer
 * h is a tie (half to even); one float ulp either side is not, even 1e-7 of a step
 * away, and rounds to the side it lies on. Random near-tie floats agree with a
 * long-double reference. */
static void test_round_exact_ties(void **state)
{
    (void)state;
    const float s = 3.0f / 1024.0f; /* 3 * 2^-10: h * s is an exact float for small h */
    for (int k = -20; k <= 20; k++) {
        double h = k + 0.5;
        float x = (float)(h * s);
        assert_true((double)x == h * (double)s);
        double even = fmod(fabs((double)k), 2.0) == 0 ? k : k + 1;
        assert_true(zp_round_div(x, s) == even);
        assert_true(zp_round_div(nextafterf(x, INFINITY), s) == k + 1);
        assert_true(zp_round_div(nextafterf(x, -INFINITY), s) == k);
        assert_true(zp_round_div(-x, -s) == even);
        assert_true(zp_round_div(x, -s) == -even);
    }
    /* the weight that sits 6.5e-5 of a step from -127.5 against s = max/127.5 */
    struct zp_rng rng;
    zp_rng_seed(&rng, 7);
    int near = 0;
    for (int i = 0; i < 20000; i++) {
        float m = (float)(0.01 + zp_rng_uniform(&rng));
        float sc = (float)(m / 127.5);
        float x = (float)((double)sc * ((int)(zp_rng_uniform(&rng) * 255) - 127.5));
        for (int d = -3; d <= 3; d++) {
            float xd = x;
            for (int j = 0; j < (d < 0 ? -d : d); j++)
                xd = nextafterf(xd, d < 0 ? -INFINITY : INFINITY);
            long double ref = rintl((long double)xd / (long double)sc);
            double got = zp_round_div(xd, sc);
            if (got != (double)ref)
                fail_msg("x=%a s=%a: %g, reference %Lg", xd, sc, got, ref);
            long double qq = (long double)xd / (long double)sc;
            near += fabsl(qq - floorl(qq) - 0.5L) < 1e-6L;
        }
    }
    assert_true(near > 1000); /* the case above really is exercised */
}

/* Full range: -max|x| / s = -(2^(b-1) - 0.5), a tie that goes to the even
 * -2^(b-1). */
static void test_symmetric_full_reaches_bottom(void **state)
{
    (void)state;
    const float x[] = {-0.75f, 0.2f, 0.5f, -0.1f};
    for (int b = 2; b <= 8; b++) {
        struct zp_scheme_config cfg = zp_ts_cfg_of("symmetric", b);
        int32_t q[4];
        float y[4];
        struct zp_qparams p;
        zp_ts_qdq(&cfg, x, 4, q, y, &p);
        int half = 1 << (b - 1);
        assert_true(zp_test_close(p.scale, 0.75 / (half - 0.5), 1e-6));
        assert_int_equal(p.qmin, -half);
        assert_int_equal(p.qmax, half - 1);
        assert_int_equal(q[0], -half);
        assert_int_equal(p.zero_point, 0);
    }
    /* at 8 bits 0.5/s = 0.5 * 127.5 / 0.75 = 85 exactly */
    struct zp_scheme_config cfg = zp_ts_cfg_of("symmetric", 8);
    int32_t q[4];
    float y[4];
    struct zp_qparams p;
    zp_ts_qdq(&cfg, x, 4, q, y, &p);
    assert_int_equal(q[2], 85);
    /* the largest magnitude is positive: +max clips to 127, nothing reaches -128 */
    const float xp[] = {1.0f, -0.3f};
    zp_ts_qdq(&cfg, xp, 2, q, y, &p);
    assert_int_equal(q[0], 127);
    assert_int_equal(q[1], -38); /* -0.3 * 127.5 = -38.25 */
}

static void test_narrow_never_min(void **state)
{
    (void)state;
    float x[512];
    zp_ts_gaussian(x, 512, 7);
    float m = 0;
    int at = 0;
    for (int i = 0; i < 512; i++)
        if (fabsf(x[i]) > m) {
            m = fabsf(x[i]);
            at = i;
        }
    x[at] = -m; /* the largest magnitude is negative */
    const char *names[] = {"symmetric", "no-128"};
    for (int k = 0; k < 2; k++) {
        for (int b = 2; b <= 8; b++) {
            struct zp_scheme_config cfg = zp_ts_cfg_of(names[k], b);
            if (k == 0)
                zp_ts_set_opt(&cfg, "narrow_range", 1);
            int32_t q[512];
            float y[512];
            struct zp_qparams p;
            zp_ts_qdq(&cfg, x, 512, q, y, &p);
            int half = 1 << (b - 1);
            assert_true(zp_test_close(p.scale, m / (half - 1.0), 1e-6));
            int32_t lo = 0;
            for (int i = 0; i < 512; i++)
                lo = q[i] < lo ? q[i] : lo;
            assert_int_equal(lo, -(half - 1));
            assert_int_equal(q[at], -(half - 1));
        }
    }
    /* the full range does emit the bottom code for the same data */
    struct zp_scheme_config full = zp_ts_cfg_of("symmetric", 8);
    int32_t q[512];
    float y[512];
    struct zp_qparams p;
    zp_ts_qdq(&full, x, 512, q, y, &p);
    assert_int_equal(q[at], -128);
    /* no-128 refuses narrow_range = false */
    struct zp_scheme_config bad = zp_ts_cfg_of("no-128", 8);
    zp_ts_set_opt(&bad, "narrow_range", 0);
    struct zp_err err = {0};
    assert_int_not_equal(zp_scheme_config_check(&bad, &err), ZP_OK);
    assert_non_null(strstr(err.msg, "narrow_range"));
    zp_err_clear(&err);
    assert_int_equal(bad.scheme->validate(&bad, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "narrow_range"));
    /* and a caller that skips the checks still gets the narrow range */
    zp_ts_qdq(&bad, x, 512, q, y, &p);
    assert_int_equal(q[at], -127);
}

/* Every affine variant in the test matrix. */
struct variant {
    const char *name;
    const char *opt;
    double val;
    int bits;
};

static int affine_variants(struct variant *v)
{
    int n = 0;
    for (int b = 2; b <= 8; b++) {
        v[n++] = (struct variant){"asymmetric", "nudge_zero", 1, b};
        v[n++] = (struct variant){"asymmetric", "nudge_zero", 0, b};
        v[n++] = (struct variant){"symmetric", "narrow_range", 0, b};
        v[n++] = (struct variant){"symmetric", "narrow_range", 1, b};
        v[n++] = (struct variant){"no-128", NULL, 0, b};
    }
    v[n++] = (struct variant){"linear4", "mode", 0, 4};
    v[n++] = (struct variant){"linear4", "mode", 1, 4};
    return n;
}

static struct zp_scheme_config variant_cfg(const struct variant *v)
{
    struct zp_scheme_config cfg = zp_ts_cfg_of(v->name, v->bits);
    if (v->opt)
        zp_ts_set_opt(&cfg, v->opt, v->val);
    return cfg;
}

static void test_affine_roundtrip_half_step(void **state)
{
    (void)state;
    enum { N = 2000 };
    static float x[N], y[N];
    static int32_t q[N];
    zp_ts_gaussian(x, N, 11);
    for (int i = 0; i < N; i += 7)
        x[i] = 0.0f;
    struct variant v[64];
    int nv = affine_variants(v);
    for (int k = 0; k < nv; k++) {
        struct zp_scheme_config cfg = variant_cfg(&v[k]);
        struct zp_qparams p;
        zp_ts_qdq(&cfg, x, N, q, y, &p);
        float lo, hi;
        cfg.scheme->clip_range(&cfg, &p, &lo, &hi);
        double bound = (0.5 + ZP_TIE_LSB) * p.scale + 1e-7;
        int inside = 0;
        for (int i = 0; i < N; i++) {
            assert_true(q[i] >= p.qmin && q[i] <= p.qmax);
            if (x[i] < lo || x[i] > hi)
                continue;
            inside++;
            if (fabs((double)y[i] - x[i]) > bound)
                fail_msg("%s %s=%g bits %d: x=%g x'=%g s=%g", v[k].name,
                         v[k].opt ? v[k].opt : "-", v[k].val, v[k].bits, x[i], y[i], p.scale);
        }
        assert_true(inside > N * 9 / 10);
    }
}

static void test_codes_roundtrip(void **state)
{
    (void)state;
    enum { N = 1000 };
    static float x[N], y[N], lv[ZP_MAX_LEVELS];
    static int32_t q[N], codes[ZP_MAX_LEVELS], back[ZP_MAX_LEVELS];
    zp_ts_gaussian(x, N, 3);
    struct variant v[64];
    int nv = affine_variants(v);
    for (int k = 0; k < nv; k++) {
        struct zp_scheme_config cfg = variant_cfg(&v[k]);
        struct zp_qparams p;
        zp_ts_qdq(&cfg, x, N, q, y, &p);
        int nc = p.qmax - p.qmin + 1;
        for (int c = 0; c < nc; c++)
            codes[c] = p.qmin + c;
        cfg.scheme->dequantize(&cfg, &p, codes, lv, (size_t)nc);
        cfg.scheme->quantize(&cfg, &p, lv, back, (size_t)nc);
        for (int c = 0; c < nc; c++)
            if (back[c] != codes[c])
                fail_msg("%s bits %d: code %d decodes to %g, re-encodes to %d", v[k].name,
                         v[k].bits, codes[c], lv[c], back[c]);
    }
    for (int cb = 0; cb < 3; cb++)
        for (int b = 2; b <= 4; b++) {
            struct zp_scheme_config cfg = zp_ts_cfg_of("lut4", b);
            zp_ts_set_opt(&cfg, "codebook", cb);
            struct zp_qparams p;
            zp_ts_qdq(&cfg, x, N, q, y, &p);
            assert_int_equal(p.n_levels, 1 << b);
            for (int c = 0; c < p.n_levels; c++) {
                codes[c] = c;
                if (c > 0)
                    assert_true(p.levels[c] > p.levels[c - 1]);
            }
            cfg.scheme->dequantize(&cfg, &p, codes, lv, (size_t)p.n_levels);
            cfg.scheme->quantize(&cfg, &p, lv, back, (size_t)p.n_levels);
            for (int c = 0; c < p.n_levels; c++)
                assert_int_equal(back[c], c);
        }
    struct zp_scheme_config cfg = zp_ts_cfg_of("binary", 1);
    struct zp_qparams p;
    zp_ts_qdq(&cfg, x, N, q, y, &p);
    codes[0] = 0;
    codes[1] = 1;
    cfg.scheme->dequantize(&cfg, &p, codes, lv, 2);
    cfg.scheme->quantize(&cfg, &p, lv, back, 2);
    assert_int_equal(back[0], 0);
    assert_int_equal(back[1], 1);
}

/* Four tight clusters: the linear initialisation already separates them, and
 * the means are the centres. */
static void test_linear4_modes(void **state)
{
    (void)state;
    const float x[] = {-1.0f, 2.0f, 0.0f, 0.3f};
    struct zp_scheme_config cfg = zp_ts_cfg_of("linear4", 0);
    assert_int_equal(cfg.bits, 4);
    zp_ts_set_opt(&cfg, "mode", 1);
    int32_t q[4];
    float y[4];
    struct zp_qparams p;
    zp_ts_qdq(&cfg, x, 4, q, y, &p);
    assert_true(zp_test_close(p.scale, 0.2, 1e-6));
    assert_int_equal(p.zero_point, 5);
    assert_int_equal(q[0], 0);
    assert_int_equal(q[1], 15);
    assert_int_equal(q[2], 5);
    assert_int_equal(q[3], 7); /* 0.3/0.2 = 1.5 -> 2 (even) */
    zp_ts_set_opt(&cfg, "mode", 0);
    zp_ts_qdq(&cfg, x, 4, q, y, &p);
    assert_true(zp_test_close(p.scale, 2.0 / 7.0, 1e-6));
    assert_int_equal(q[0], -4); /* -3.5 -> -4 (even) */
    assert_int_equal(q[1], 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_sane),
        cmocka_unit_test(test_option_helpers),
        cmocka_unit_test(test_asym_nudged_zero_exact),
        cmocka_unit_test(test_asym_plain_zero_offset),
        cmocka_unit_test(test_imagenet_half_even),
        cmocka_unit_test(test_round_exact_ties),
        cmocka_unit_test(test_symmetric_full_reaches_bottom),
        cmocka_unit_test(test_narrow_never_min),
        cmocka_unit_test(test_affine_roundtrip_half_step),
        cmocka_unit_test(test_codes_roundtrip),
        cmocka_unit_test(test_linear4_modes),
    };
    return ZP_RUN_TESTS(tests);
}
