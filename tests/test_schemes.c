/* The scheme registry and every built-in scheme on single slices: formulas of
 * DESIGN.md §5 checked against values worked out by hand. */
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

static struct zp_scheme_config cfg_of(const char *name, int bits)
{
    struct zp_scheme_config cfg;
    const struct zp_scheme *s = zp_scheme_find(name);
    assert_non_null(s);
    zp_scheme_config_defaults(&cfg, s);
    if (bits > 0)
        cfg.bits = bits;
    return cfg;
}

static void set_opt(struct zp_scheme_config *cfg, const char *name, double v)
{
    int i = zp_scheme_option_index(cfg->scheme, name);
    assert_true(i >= 0);
    cfg->opt[i].num = v;
}

/* fit + quantize + dequantize of one slice. */
static void qdq(const struct zp_scheme_config *cfg, const float *x, size_t n, int32_t *q,
                float *y, struct zp_qparams *p)
{
    struct zp_err err = {0};
    assert_int_equal(cfg->scheme->fit(cfg, x, n, p, &err), ZP_OK);
    cfg->scheme->quantize(cfg, p, x, q, n);
    cfg->scheme->dequantize(cfg, p, q, y, n);
}

static void gaussian(float *x, size_t n, uint64_t seed)
{
    struct zp_rng r;
    zp_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)zp_rng_gaussian(&r);
}

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
    struct zp_scheme_config c = cfg_of("asymmetric", 0);
    assert_true(zp_scheme_opt(&c, "nudge_zero") == 1.0);
    c = cfg_of("no-128", 0);
    assert_true(zp_scheme_opt(&c, "narrow_range") == 1.0);
    c = cfg_of("symmetric", 0);
    assert_true(zp_scheme_opt(&c, "narrow_range") == 0.0);
    assert_string_equal(zp_scheme_kernel_family(&c), "s8");
    set_opt(&c, "narrow_range", 1);
    assert_string_equal(zp_scheme_kernel_family(&c), "s8-narrow");
    c = cfg_of("no-128", 0);
    assert_string_equal(zp_scheme_kernel_family(&c), "s8-narrow");
    c = cfg_of("asymmetric", 0);
    assert_string_equal(zp_scheme_kernel_family(&c), "u8");
}

/* x in [-0.3, 1.0] at 8 bits: s = 1.3/255; -min/s = 0.3*255/1.3 = 58.846 -> z = 59. */
static void test_asym_nudged_zero_exact(void **state)
{
    (void)state;
    struct zp_scheme_config cfg = cfg_of("asymmetric", 8);
    const float x[] = {-0.3f, 1.0f, 0.0f, 0.5f};
    int32_t q[4];
    float y[4];
    struct zp_qparams p;
    qdq(&cfg, x, 4, q, y, &p);
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
    struct zp_scheme_config cfg = cfg_of("asymmetric", 8);
    set_opt(&cfg, "nudge_zero", 0);
    const float x[] = {-0.3f, 1.0f, 0.0f, 0.5f};
    int32_t q[4];
    float y[4];
    struct zp_qparams p;
    qdq(&cfg, x, 4, q, y, &p);
    assert_int_equal(q[2], 59);
    float z = zp_qparams_decode_zero(cfg.scheme, &cfg, &p);
    assert_true(fabs(z - 0.2 / 255.0) < 1e-7);
    assert_true(z != 0.0f);
    /* both ends are exact levels of the naive mapping */
    assert_true(fabsf(y[0] - -0.3f) < 1e-7f);
    assert_true(fabsf(y[1] - 1.0f) < 1e-6f);
}

/* ImageNet inputs u/127.5 - 1 fitted on [-1, 1]: s = 2/255, z = round(127.5) = 128
 * (even), and x/s + z = u + 0.5 exactly: half to even gives u for even u, u + 1
 * for odd u (255 -> 256 clamps to 255). */
static void test_imagenet_half_even(void **state)
{
    (void)state;
    struct zp_scheme_config cfg = cfg_of("asymmetric", 8);
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
            int32_t want = (u % 2 == 0) ? u : (u + 1 > 255 ? 255 : u + 1);
            if (q != want)
                fail_msg("u=%d form=%d: code %d, expected %d", u, form, q, want);
        }
    }
}

/* Full range: -max|x| / s = -(2^(b-1) - 0.5), a tie that goes to the even
 * -2^(b-1). */
static void test_symmetric_full_reaches_bottom(void **state)
{
    (void)state;
    const float x[] = {-0.75f, 0.2f, 0.5f, -0.1f};
    for (int b = 2; b <= 8; b++) {
        struct zp_scheme_config cfg = cfg_of("symmetric", b);
        int32_t q[4];
        float y[4];
        struct zp_qparams p;
        qdq(&cfg, x, 4, q, y, &p);
        int half = 1 << (b - 1);
        assert_true(zp_test_close(p.scale, 0.75 / (half - 0.5), 1e-6));
        assert_int_equal(p.qmin, -half);
        assert_int_equal(p.qmax, half - 1);
        assert_int_equal(q[0], -half);
        assert_int_equal(p.zero_point, 0);
    }
    /* at 8 bits 0.5/s = 0.5 * 127.5 / 0.75 = 85 exactly */
    struct zp_scheme_config cfg = cfg_of("symmetric", 8);
    int32_t q[4];
    float y[4];
    struct zp_qparams p;
    qdq(&cfg, x, 4, q, y, &p);
    assert_int_equal(q[2], 85);
    /* the largest magnitude is positive: +max clips to 127, nothing reaches -128 */
    const float xp[] = {1.0f, -0.3f};
    qdq(&cfg, xp, 2, q, y, &p);
    assert_int_equal(q[0], 127);
    assert_int_equal(q[1], -38); /* -0.3 * 127.5 = -38.25 */
}

static void test_narrow_never_min(void **state)
{
    (void)state;
    float x[512];
    gaussian(x, 512, 7);
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
            struct zp_scheme_config cfg = cfg_of(names[k], b);
            if (k == 0)
                set_opt(&cfg, "narrow_range", 1);
            int32_t q[512];
            float y[512];
            struct zp_qparams p;
            qdq(&cfg, x, 512, q, y, &p);
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
    struct zp_scheme_config full = cfg_of("symmetric", 8);
    int32_t q[512];
    float y[512];
    struct zp_qparams p;
    qdq(&full, x, 512, q, y, &p);
    assert_int_equal(q[at], -128);
    /* no-128 refuses narrow_range = false */
    struct zp_scheme_config bad = cfg_of("no-128", 8);
    set_opt(&bad, "narrow_range", 0);
    struct zp_err err = {0};
    assert_int_not_equal(zp_scheme_config_check(&bad, &err), ZP_OK);
    assert_non_null(strstr(err.msg, "narrow_range"));
    zp_err_clear(&err);
    assert_int_equal(bad.scheme->validate(&bad, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "narrow_range"));
    /* and a caller that skips the checks still gets the narrow range */
    qdq(&bad, x, 512, q, y, &p);
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
    struct zp_scheme_config cfg = cfg_of(v->name, v->bits);
    if (v->opt)
        set_opt(&cfg, v->opt, v->val);
    return cfg;
}

static void test_affine_roundtrip_half_step(void **state)
{
    (void)state;
    enum { N = 2000 };
    static float x[N], y[N];
    static int32_t q[N];
    gaussian(x, N, 11);
    for (int i = 0; i < N; i += 7)
        x[i] = 0.0f;
    struct variant v[64];
    int nv = affine_variants(v);
    for (int k = 0; k < nv; k++) {
        struct zp_scheme_config cfg = variant_cfg(&v[k]);
        struct zp_qparams p;
        qdq(&cfg, x, N, q, y, &p);
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
    gaussian(x, N, 3);
    struct variant v[64];
    int nv = affine_variants(v);
    for (int k = 0; k < nv; k++) {
        struct zp_scheme_config cfg = variant_cfg(&v[k]);
        struct zp_qparams p;
        qdq(&cfg, x, N, q, y, &p);
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
            struct zp_scheme_config cfg = cfg_of("lut4", b);
            set_opt(&cfg, "codebook", cb);
            struct zp_qparams p;
            qdq(&cfg, x, N, q, y, &p);
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
    struct zp_scheme_config cfg = cfg_of("binary", 1);
    struct zp_qparams p;
    qdq(&cfg, x, N, q, y, &p);
    codes[0] = 0;
    codes[1] = 1;
    cfg.scheme->dequantize(&cfg, &p, codes, lv, 2);
    cfg.scheme->quantize(&cfg, &p, lv, back, 2);
    assert_int_equal(back[0], 0);
    assert_int_equal(back[1], 1);
}

/* Four tight clusters: the linear initialisation already separates them, and
 * the means are the centres. */
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
    struct zp_scheme_config cfg = cfg_of("lut4", 2);
    int32_t q[48];
    float y[48];
    struct zp_qparams p;
    qdq(&cfg, x, 48, q, y, &p);
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
    struct zp_scheme_config cfg = cfg_of("lut4", 2);
    int32_t q[4];
    float y[4];
    struct zp_qparams p;
    qdq(&cfg, x, 4, q, y, &p);
    const float want[4] = {0.5f, 2.0f, 20.0f / 3.0f, 10.0f};
    for (int c = 0; c < 4; c++)
        assert_true(fabsf(p.levels[c] - want[c]) < 1e-5f);
    assert_int_equal(q[0], 0);
    assert_int_equal(q[1], 0);
    assert_int_equal(q[2], 1);
    assert_int_equal(q[3], 3);
    /* iterations = 0: the linear initialisation itself */
    set_opt(&cfg, "iterations", 0);
    qdq(&cfg, x, 4, q, y, &p);
    assert_true(fabsf(p.levels[1] - 10.0f / 3.0f) < 1e-5f);
    assert_true(fabsf(p.levels[2] - 20.0f / 3.0f) < 1e-5f);
}

static void test_log2_and_normal_codebooks(void **state)
{
    (void)state;
    const float x[] = {-4.0f, 1.0f, 0.3f};
    struct zp_scheme_config cfg = cfg_of("lut4", 4);
    set_opt(&cfg, "codebook", 1);
    int32_t q[3];
    float y[3];
    struct zp_qparams p;
    qdq(&cfg, x, 3, q, y, &p);
    const float want[16] = {-4, -2, -1, -0.5f, -0.25f, -0.125f, -0.0625f, 0,
                            0.03125f, 0.0625f, 0.125f, 0.25f, 0.5f, 1, 2, 4};
    for (int c = 0; c < 16; c++)
        assert_true(p.levels[c] == want[c]);
    assert_int_equal(q[0], 0);
    assert_true(y[1] == 1.0f);
    assert_true(y[2] == 0.25f); /* |0.3 - 0.25| < |0.3 - 0.5| */
    /* 2 bits: {-m, 0, m/2, m}; ties go to the lower level */
    cfg.bits = 2;
    qdq(&cfg, x, 3, q, y, &p);
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
    set_opt(&cfg, "codebook", 2);
    qdq(&cfg, x, 3, q, y, &p);
    for (int j = 0; j < 8; j++) {
        assert_true(fabs(p.levels[8 + j] - 4.0 * ratio[j]) < 1e-6);
        assert_true(p.levels[7 - j] == -p.levels[8 + j]);
    }
    cfg.bits = 2;
    qdq(&cfg, x, 3, q, y, &p);
    assert_true(fabs(p.levels[2] - 4.0 * 0.2769935546539986) < 1e-6);
    assert_true(p.levels[3] == 4.0f);
}

static void test_binary_alpha(void **state)
{
    (void)state;
    const float x[] = {1.0f, -2.0f, 3.0f, 0.0f};
    struct zp_scheme_config cfg = cfg_of("binary", 0);
    assert_int_equal(cfg.bits, 1);
    int32_t q[4];
    float y[4];
    struct zp_qparams p;
    qdq(&cfg, x, 4, q, y, &p);
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
    struct zp_scheme_config cfg = cfg_of(v->name, 0);
    if (v->opt)
        set_opt(&cfg, v->opt, v->val);
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
    gaussian(x, 32, 5);
    const int64_t shape[] = {4, 8};
    struct zp_scheme_config cfg = cfg_of("asymmetric", 8);
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
        struct zp_scheme_config cfg = cfg_of(bad[i].name, 0);
        cfg.bits = bad[i].bits;
        struct zp_err err = {0};
        assert_int_equal(cfg.scheme->validate(&cfg, &err), ZP_ECONFIG);
        assert_non_null(strstr(err.msg, "bits"));
        assert_non_null(strstr(err.msg, bad[i].name));
        expect_invalid(&cfg, "bits");
    }
    struct zp_scheme_config cfg = cfg_of("asymmetric", 8);
    cfg.granularity = ZP_PER_GROUP;
    expect_invalid(&cfg, "granularity");
    cfg.bits = 4;
    struct zp_err err = {0};
    assert_int_equal(zp_scheme_config_check(&cfg, &err), ZP_OK);
    cfg.group_size = 0;
    expect_invalid(&cfg, "group_size");
    cfg = cfg_of("lut4", 4);
    set_opt(&cfg, "iterations", 1001);
    expect_invalid(&cfg, "iterations");
    set_opt(&cfg, "iterations", 2.5);
    expect_invalid(&cfg, "iterations");
    cfg = cfg_of("lut4", 4);
    set_opt(&cfg, "codebook", 3);
    expect_invalid(&cfg, "codebook");
    cfg = cfg_of("asymmetric", 8);
    set_opt(&cfg, "nudge_zero", 0.5);
    expect_invalid(&cfg, "nudge_zero");
}

static void test_fit_range(void **state)
{
    (void)state;
    struct zp_qparams p;
    struct zp_err err = {0};
    struct zp_scheme_config cfg = cfg_of("asymmetric", 8);
    assert_int_equal(cfg.scheme->fit_range(&cfg, 1.0f, -1.0f, &p, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "asymmetric"));
    zp_err_clear(&err);
    assert_int_equal(cfg.scheme->fit_range(&cfg, NAN, 1.0f, &p, &err), ZP_EINVAL);
    /* an activation range that excludes 0 is widened to include it: [0, 6] */
    zp_err_clear(&err);
    assert_int_equal(cfg.scheme->fit_range(&cfg, 0.5f, 6.0f, &p, &err), ZP_OK);
    assert_true(zp_test_close(p.scale, 6.0 / 255.0, 1e-6));
    assert_int_equal(p.zero_point, 0);
    cfg = cfg_of("symmetric", 8);
    assert_int_equal(cfg.scheme->fit_range(&cfg, -2.0f, 1.0f, &p, &err), ZP_OK);
    assert_true(zp_test_close(p.scale, 2.0 / 127.5, 1e-6));
    cfg = cfg_of("linear4", 4);
    assert_int_equal(cfg.scheme->fit_range(&cfg, -0.7f, 0.35f, &p, &err), ZP_OK);
    assert_true(zp_test_close(p.scale, 0.1, 1e-6));
    assert_int_equal(p.qmin, -7);
    assert_int_equal(p.qmax, 7);
    assert_null(zp_scheme_find("lut4")->fit_range);
    /* clipping range of the nudged [-1, 1] fit: [-128 s, 127 s] */
    cfg = cfg_of("asymmetric", 8);
    assert_int_equal(cfg.scheme->fit_range(&cfg, -1.0f, 1.0f, &p, &err), ZP_OK);
    float lo, hi;
    cfg.scheme->clip_range(&cfg, &p, &lo, &hi);
    assert_true(zp_test_close(lo, -256.0 / 255.0, 1e-6));
    assert_true(zp_test_close(hi, 254.0 / 255.0, 1e-6));
}

/* linear4 asymmetric is the nudged 0..15 mapping: [-1, 2] -> s = 0.2, z = 5. */
static void test_linear4_modes(void **state)
{
    (void)state;
    const float x[] = {-1.0f, 2.0f, 0.0f, 0.3f};
    struct zp_scheme_config cfg = cfg_of("linear4", 0);
    assert_int_equal(cfg.bits, 4);
    set_opt(&cfg, "mode", 1);
    int32_t q[4];
    float y[4];
    struct zp_qparams p;
    qdq(&cfg, x, 4, q, y, &p);
    assert_true(zp_test_close(p.scale, 0.2, 1e-6));
    assert_int_equal(p.zero_point, 5);
    assert_int_equal(q[0], 0);
    assert_int_equal(q[1], 15);
    assert_int_equal(q[2], 5);
    assert_int_equal(q[3], 7); /* 0.3/0.2 = 1.5 -> 2 (even) */
    set_opt(&cfg, "mode", 0);
    qdq(&cfg, x, 4, q, y, &p);
    assert_true(zp_test_close(p.scale, 2.0 / 7.0, 1e-6));
    assert_int_equal(q[0], -4); /* -3.5 -> -4 (even) */
    assert_int_equal(q[1], 7);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_registry_sane),
        cmocka_unit_test(test_option_helpers),
        cmocka_unit_test(test_asym_nudged_zero_exact),
        cmocka_unit_test(test_asym_plain_zero_offset),
        cmocka_unit_test(test_imagenet_half_even),
        cmocka_unit_test(test_symmetric_full_reaches_bottom),
        cmocka_unit_test(test_narrow_never_min),
        cmocka_unit_test(test_affine_roundtrip_half_step),
        cmocka_unit_test(test_codes_roundtrip),
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
        cmocka_unit_test(test_linear4_modes),
    };
    return ZP_RUN_TESTS(t);
}
