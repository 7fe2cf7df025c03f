/* The number formats in the harness (issue 14): run-time block quantization of
 * activations against a direct computation, bits_per_weight / clip_share of a
 * model's weights, the config rules for block-scheme activations and mse / kl
 * calibration, and `harness list`'s block defaults. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "config/bench_config.h"
#include "config/config.h"
#include "experiment/act_blocks.h"
#include "experiment/runner.h"
#include "plots/plot.h"
#include "schemes/granularity.h"
#include "schemes/minifloat_codec.h"
#include "tests/util.h"

/* cfg of scheme `name` with its defaults and enum option `opt` set to `choice`. */
static struct zp_scheme_config make_cfg(const char *name, const char *opt, const char *choice,
                                        int bits)
{
    struct zp_scheme_config c;
    const struct zp_scheme *s = zp_scheme_find(name);
    assert_non_null(s);
    zp_scheme_config_defaults(&c, s);
    if (bits)
        c.bits = bits;
    if (opt) {
        int i = zp_scheme_option_index(s, opt);
        assert_true(i >= 0);
        const char *p = s->options[i].choices;
        int idx = 0;
        size_t l = strlen(choice);
        while (p && !(strncmp(p, choice, l) == 0 && (p[l] == '|' || p[l] == '\0'))) {
            p = strchr(p, '|');
            p = p ? p + 1 : NULL;
            idx++;
        }
        assert_non_null(p);
        c.opt[i].num = idx;
    }
    return c;
}

/* E2M1 by hand: the nearest of the 8 magnitudes, a tie to the even code, saturating. */
static double e2m1_ref(double v)
{
    static const double mag[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
    double a = fabs(v);
    int best = 0;
    for (int k = 1; k < 8; k++) {
        double d = fabs(a - mag[k]), db = fabs(a - mag[best]);
        if (d < db || (d == db && (k & 1) == 0))
            best = k;
    }
    return v < 0 ? -mag[best] : mag[best];
}

/* MXFP4 with the OCP floor rule: X = 2^(floor(log2 amax) - 2), x' = X e2m1(x/X). */
static void mxfp4_block_ref(const float *x, float *out, size_t n)
{
    double amax = 0;
    for (size_t i = 0; i < n; i++)
        amax = fmax(amax, fabs(x[i]));
    double X = amax > 0 ? ldexp(1.0, (int)floor(log2(amax)) - 2) : 1.0;
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(X * e2m1_ref(x[i] / X));
}

static void fill(float *x, size_t n, uint64_t seed, float scale)
{
    struct zp_rng r;
    zp_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = scale * (float)zp_rng_gaussian(&r);
}

/* A Gemm input [K = 70]: blocks 32, 32, 6 of consecutive values. */
static void test_blocks_gemm_mxfp4(void **state)
{
    (void)state;
    struct zp_scheme_config c = make_cfg("mx", "element", "fp4_e2m1", 4);
    assert_int_equal(c.granularity, ZP_PER_GROUP);
    assert_int_equal(c.group_size, 32);
    assert_true(zp_act_blocks_on(&c));
    enum { K = 70, IMG = 3 };
    float x[IMG * K], want[IMG * K];
    fill(x, IMG * K, 11, 2.0f);
    x[5] = 40.0f; /* one block far larger than the others */
    for (int im = 0; im < IMG; im++)
        for (int b = 0; b < K; b += 32)
            mxfp4_block_ref(x + im * K + b, want + im * K + b, (size_t)(K - b < 32 ? K - b : 32));
    zp_act_blocks_run(&c, NULL, x, IMG, K, 1);
    for (int i = 0; i < IMG * K; i++)
        if (x[i] != want[i])
            fail_msg("element %d: %.9g, by hand %.9g", i, x[i], want[i]);
}

/* A Conv input [C = 40, H*W = 5]: blocks of 32 and 8 channels at each pixel, i.e.
 * the per-group quantization of the transposed [pixel, channel] tensor. */
static void test_blocks_conv_channels(void **state)
{
    (void)state;
    struct zp_scheme_config c = make_cfg("mx", "element", "fp8_e4m3", 8);
    enum { C = 40, S = 5 };
    float x[C * S], t[S * C], tq[S * C];
    fill(x, C * S, 12, 1.0f);
    for (int s = 0; s < S; s++)
        x[7 * S + s] = 100.0f * (float)(s + 1); /* channel 7 dominates each pixel's block 0 */
    for (int ch = 0; ch < C; ch++)
        for (int s = 0; s < S; s++)
            t[s * C + ch] = x[ch * S + s];
    int64_t shape[2] = {S, C};
    struct zp_err err = {0};
    assert_int_equal(zp_fake_quant(&c, t, shape, 2, "t", tq, NULL, &err), ZP_OK);
    zp_act_blocks_run(&c, NULL, x, 1, C, S);
    int changed = 0;
    for (int ch = 0; ch < C; ch++)
        for (int s = 0; s < S; s++) {
            if (x[ch * S + s] != tq[s * C + ch])
                fail_msg("channel %d pixel %d: %.9g vs per-group %.9g", ch, s, x[ch * S + s],
                         tq[s * C + ch]);
            changed += x[ch * S + s] != t[s * C + ch];
        }
    assert_true(changed > 0); /* it did quantize */
    /* the dominant channel's block loses its small values; the block of 8 does not */
    assert_true(x[0 * S + 0] != t[0] || fabsf(t[0]) < 1e-3f);
}

/* NVFP4 activations: the FP32 tensor scale from the calibrated amax (static),
 * the E4M3 block scale from each block (dynamic); a block beyond the calibrated
 * range raises the tensor amax to its own. */
static void nvfp4_ref(const float *x, float *out, size_t n, double amax_t)
{
    double amax_b = 0;
    for (size_t i = 0; i < n; i++)
        amax_b = fmax(amax_b, fabs(x[i]));
    amax_t = fmax(amax_t, amax_b);
    float s_t = (float)amax_t / (6.0f * 448.0f);
    float sb = (float)amax_b / 6.0f / s_t;
    float dec = zp_mf_decode(ZP_MF_E4M3, zp_mf_encode(ZP_MF_E4M3, sb, 1));
    double eff = (double)(dec * s_t);
    for (size_t i = 0; i < n; i++)
        out[i] = eff > 0 ? (float)(eff * e2m1_ref(x[i] / eff)) : 0.0f;
}

static void test_blocks_nvfp4_tensor_scale(void **state)
{
    (void)state;
    struct zp_scheme_config c = make_cfg("nvfp4", NULL, NULL, 0);
    assert_int_equal(c.group_size, 16);
    struct zp_qparams t;
    struct zp_err err = {0};
    assert_int_equal(c.scheme->fit_range(&c, -10.0f, 10.0f, &t, &err), ZP_OK);
    enum { K = 48 };
    float x[K], want[K];
    fill(x, K, 13, 0.7f);
    x[40] = 25.0f; /* block 2 beyond the calibrated range */
    for (int b = 0; b < K; b += 16)
        nvfp4_ref(x + b, want + b, 16, 10.0);
    zp_act_blocks_run(&c, &t, x, 1, K, 1);
    for (int i = 0; i < K; i++)
        if (fabsf(x[i] - want[i]) > 1e-6f * fabsf(want[i]))
            fail_msg("element %d: %.9g, by hand %.9g", i, x[i], want[i]);
}

/* bits_per_weight weighted by element count; clip_share over all slices. */
static void test_wcost(void **state)
{
    (void)state;
    struct zp_err err = {0};
    struct zp_scheme_config sym = make_cfg("symmetric", NULL, NULL, 8);
    sym.granularity = ZP_PER_CHANNEL;
    float a[4 * 16];
    for (int ch = 0; ch < 4; ch++)
        for (int k = 0; k < 16; k++) /* channels 0, 1: max at +1 (clips at 127/127.5) */
            a[ch * 16 + k] = (ch < 2 ? 1.0f : -1.0f) * (float)(k + 1) / 16.0f * (k == 15 ? 1 : 0.9f);
    int64_t sa[2] = {4, 16};
    struct zp_tensor_qparams qa = {0}, qb = {0};
    float tmp[4 * 64];
    assert_int_equal(zp_fake_quant(&sym, a, sa, 2, "a", tmp, &qa, &err), ZP_OK);

    struct zp_scheme_config mx = make_cfg("mx", "element", "fp4_e2m1", 4);
    float b[2 * 64];
    for (int i = 0; i < 128; i++)
        b[i] = 0.25f;
    b[3] = 7.0f;   /* block 0: X = 1, 7 > 6 clips */
    b[40] = 6.0f;  /* block 1: 6 is a level */
    b[70] = 3.0f;  /* block 2: X = 0.5, 3 = 6 X */
    b[100] = 3.5f; /* block 3: X = 0.5, 7 X > 6 X clips */
    int64_t sb[2] = {2, 64};
    assert_int_equal(zp_fake_quant(&mx, b, sb, 2, "b", tmp, &qb, &err), ZP_OK);

    struct zp_wcost wc = {0};
    assert_true(isnan(zp_wcost_bits(&wc)));
    zp_wcost_add(&wc, &sym, &qa, a, sa, 2, &err);
    assert_true(zp_test_close(zp_wcost_bits(&wc), 8.0 + 32.0 * 4 / 64, 1e-12));
    assert_true(zp_test_close(zp_wcost_clip_share(&wc), 0.5, 1e-12));
    zp_wcost_add(&wc, &mx, &qb, b, sb, 2, &err);
    assert_true(zp_test_close(zp_wcost_bits(&wc), (10.0 * 64 + 4.25 * 128) / 192, 1e-12));
    assert_true(zp_test_close(zp_wcost_clip_share(&wc), 4.0 / 8.0, 1e-12));

    /* a mean-fitted codebook makes the model's clip share empty */
    struct zp_scheme_config km = make_cfg("lut4", "codebook", "kmeans", 4);
    struct zp_tensor_qparams qk = {0};
    assert_int_equal(zp_fake_quant(&km, a, sa, 2, "a", tmp, &qk, &err), ZP_OK);
    zp_wcost_add(&wc, &km, &qk, a, sa, 2, &err);
    assert_true(isnan(zp_wcost_clip_share(&wc)));
    assert_false(isnan(zp_wcost_bits(&wc)));
    zp_tensor_qparams_free(&qa);
    zp_tensor_qparams_free(&qb);
    zp_tensor_qparams_free(&qk);
}

static void test_can_clip(void **state)
{
    (void)state;
    struct zp_scheme_config c = make_cfg("lut4", "codebook", "kmeans", 4);
    assert_false(zp_variant_can_clip(&c));
    c = make_cfg("lut4", "codebook", "normal", 4);
    assert_true(zp_variant_can_clip(&c));
    c = make_cfg("lut4", "codebook", "log2", 4);
    assert_true(zp_variant_can_clip(&c));
    c = make_cfg("binary", NULL, NULL, 0);
    assert_false(zp_variant_can_clip(&c));
    c = make_cfg("symmetric", NULL, NULL, 8);
    assert_true(zp_variant_can_clip(&c));
    c = make_cfg("nvfp4", NULL, NULL, 0);
    assert_true(zp_variant_can_clip(&c));
}

/* ---- config rules ----------------------------------------------------------- */

static enum zp_status parse(const char *text, struct zp_config *cfg, struct zp_err *err)
{
    zp_err_clear(err);
    struct zp_config_env env = {0};
    return zp_config_parse(text, "configs/x.json", &env, cfg, err);
}

#define MODEL(method, modes)                                                                   \
    ",\"models\":[{\"path\":\"m.onnx\",\"eval\":{\"format\":\"idx\",\"images\":\"a\","       \
    "\"labels\":\"b\"},\"modes\":" modes ",\"calibration\":{\"method\":\"" method "\"}}]}"

static void expect_error(const char *text, const char *want)
{
    struct zp_config cfg;
    struct zp_err err;
    enum zp_status st = parse(text, &cfg, &err);
    if (st != ZP_ECONFIG || !strstr(err.msg, want))
        fail_msg("config %s\n  status %d, message: %s\n  wanted: %s", text, st, err.msg, want);
}

static void test_config_block_activations(void **state)
{
    (void)state;
    struct zp_config cfg;
    struct zp_err err;
    /* no granularity written: the block scheme's per-group default is accepted */
    const char *ok =
        "{\"schemes\":[{\"scheme\":\"mx\",\"element\":\"fp8_e4m3\",\"bits\":8,"
        "\"activations\":{\"scheme\":\"mx\",\"element\":\"fp8_e4m3\",\"bits\":8}},"
        "{\"scheme\":\"mx\",\"element\":\"fp4_e2m1\",\"bits\":4,"
        "\"activations\":{\"scheme\":\"minifloat\",\"format\":\"e4m3\",\"bits\":8}},"
        "{\"scheme\":\"nvfp4\"},"
        "{\"scheme\":\"nvfp4\",\"label\":\"pt\",\"activations\":{\"scheme\":\"nvfp4\",\"granularity\":\"per-tensor\"}}]"
        MODEL("minmax", "[\"both\"]");
    if (parse(ok, &cfg, &err) != ZP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg.n_variants, 4);
    assert_int_equal(cfg.variants[0].a.granularity, ZP_PER_GROUP);
    assert_int_equal(cfg.variants[0].a.group_size, 32);
    assert_true(zp_act_blocks_on(&cfg.variants[0].a));
    assert_int_equal(cfg.variants[1].a.granularity, ZP_PER_TENSOR); /* FP8 per tensor */
    assert_false(zp_act_blocks_on(&cfg.variants[1].a));
    /* no activations given: the documented default, asymmetric 8-bit per tensor, for
     * block weights too (a block activation format has to be asked for, as above) */
    assert_string_equal(cfg.variants[2].a.scheme->name, "asymmetric");
    assert_int_equal(cfg.variants[2].a.bits, 8);
    assert_int_equal(cfg.variants[2].a.granularity, ZP_PER_TENSOR);
    assert_int_equal(cfg.variants[3].a.granularity, ZP_PER_TENSOR);
    zp_config_free(&cfg);

    expect_error("{\"schemes\":[{\"scheme\":\"asymmetric\",\"activations\":{\"scheme\":"
                 "\"asymmetric\",\"bits\":4,\"granularity\":\"per-group\"}}]" MODEL("minmax", "[\"both\"]"),
                 "activations.granularity: activations are quantized per-tensor only");
    expect_error("{\"schemes\":[{\"scheme\":\"mx\",\"activations\":{\"scheme\":\"mx\","
                 "\"granularity\":\"per-channel\"}}]" MODEL("minmax", "[\"both\"]"),
                 "per-tensor only");
}

static void test_config_calib_refuses_float_grids(void **state)
{
    (void)state;
    struct zp_config cfg;
    struct zp_err err;
    expect_error("{\"schemes\":[{\"scheme\":\"symmetric\",\"activations\":{\"scheme\":"
                 "\"minifloat\",\"format\":\"e4m3\",\"bits\":8}}]" MODEL("mse", "[\"both\"]"),
                 "calibration.method \"mse\" searches an integer affine grid, but schemes[0]");
    expect_error("{\"schemes\":[{\"scheme\":\"asymmetric\"},{\"scheme\":\"mx\","
                 "\"activations\":{\"scheme\":\"mx\"}}]" MODEL("kl", "[\"activations\"]"),
                 "quantizes activations with 'mx', which is not affine");
    expect_error("{\"schemes\":[{\"scheme\":\"lut4\",\"activations\":{\"scheme\":\"lut4\"}}]"
                 MODEL("kl", "[\"both\"]"), "'lut4'");
    /* affine activations (the default ones included), or modes that calibrate
     * nothing: accepted */
    const char *ok[] = {
        "{\"schemes\":[{\"scheme\":\"mx\"},{\"scheme\":\"lut4\"}]" MODEL("kl", "[\"both\"]"),
        "{\"schemes\":[{\"scheme\":\"lut4\",\"activations\":{\"scheme\":\"asymmetric\"}},"
        "{\"scheme\":\"no-128\"}]" MODEL("mse", "[\"both\"]"),
        "{\"schemes\":[{\"scheme\":\"minifloat\",\"bits\":8}]" MODEL("kl", "[\"weights\"]"),
        "{\"schemes\":[{\"scheme\":\"minifloat\",\"bits\":8}]" MODEL("percentile", "[\"both\"]"),
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        if (parse(ok[i], &cfg, &err) != ZP_OK)
            fail_msg("config %s: %s", ok[i], err.msg);
        zp_config_free(&cfg);
    }
}

/* harness list names the block defaults (per-group with the format's block). */
static void test_list_block_defaults(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = zp_test_sh(&out, "%s list", zp_test_harness());
    assert_int_equal(rc, 0);
    const char *want[][2] = {{"\nmx\n", "default per-group, group_size 32"},
                             {"\nnvfp4\n", "default per-group, group_size 16"},
                             {"\nnf4\n", "default per-group, group_size 64"},
                             {"\nminifloat\n", "default per-tensor"}};
    for (size_t i = 0; i < 4; i++) {
        const char *p = strstr(out, want[i][0]);
        if (!p)
            fail_msg("no section %s in:\n%s", want[i][0], out);
        const char *next = strstr(p + 1, "    kernel");
        const char *hit = strstr(p, want[i][1]);
        if (!hit || (next && hit > next))
            fail_msg("section %s lacks '%s'", want[i][0] + 1, want[i][1]);
    }
    free(out);
}

/* harness bench: each new scheme's name finds its kernel format. */
static void test_bench_names(void **state)
{
    (void)state;
    assert_int_equal(zp_bench_scheme_parse("minifloat"), ZP_KF_FP8);
    assert_int_equal(zp_bench_scheme_parse("minifloat-e4m3"), ZP_KF_FP8);
    assert_int_equal(zp_bench_scheme_parse("nvfp4"), ZP_KF_NVFP4);
    assert_int_equal(zp_bench_scheme_parse("nf4"), ZP_KF_NF4);
    assert_int_equal(zp_bench_scheme_parse("mx-fp4_e2m1"), ZP_KF_MXFP4);
    assert_int_equal(zp_bench_scheme_parse("mx-int8"), ZP_KF_MXINT8);
    assert_int_equal(zp_bench_scheme_parse("mx"), -1); /* MXFP8 (its default) has no kernel */
    assert_string_equal(zp_bench_scheme_name(ZP_KF_FP8), "fp8-e4m3");
    assert_string_equal(zp_bench_scheme_name(ZP_KF_MXFP4), "mxfp4");
}

/* accuracy_vs_bits: x is bits_per_weight when the table has it; lut4 is one line
 * per codebook; without the column x stays the element bits. */
static void test_figure_bits_per_weight(void **state)
{
    (void)state;
    if (zp_test_sh(NULL, "gnuplot --version") != 0)
        skip();
    struct zp_err err = {0};
    struct zp_plot_warnings warn;
    const char *dir = zp_test_tmpdir("formats-bpw-fig");
    char path[4400];
    snprintf(path, sizeof path, "%s/accuracy.csv", dir);
    zp_test_write_file(path,
                       "scheme,label,bits,granularity,mode,options,float_top1,top1,bits_per_weight\n"
                       "mx,a,4,per-group,weights,element=fp4_e2m1,0.9,0.81,4.3056\n"
                       "mx,b,8,per-group,weights,element=fp8_e4m3,0.9,0.89,8.3056\n"
                       "lut4,c,4,per-channel,weights,codebook=kmeans;iterations=20,0.9,0.88,14.79\n"
                       "lut4,d,2,per-channel,weights,codebook=kmeans;iterations=20,0.9,0.5,3.1\n"
                       "lut4,e,4,per-channel,weights,codebook=normal;iterations=20,0.9,0.87,14.79\n"
                       "lut4,f,3,per-channel,weights,codebook=normal;iterations=20,0.9,0.7,7.2\n");
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    snprintf(path, sizeof path, "%s/plots/accuracy_vs_bits.gp", dir);
    char *gp = zp_test_read_file(path, NULL);
    assert_non_null(gp);
    assert_non_null(strstr(gp, "scales and codebooks included"));
    assert_non_null(strstr(gp, "lut4 kmeans"));
    assert_non_null(strstr(gp, "lut4 normal"));
    free(gp);
    char *dat = NULL;
    assert_int_equal(zp_test_sh(&dat, "cat '%s'/plots/accuracy_vs_bits*.dat", dir), 0);
    assert_non_null(strstr(dat, "4.3056"));
    assert_non_null(strstr(dat, "14.79"));
    free(dat);
    /* no bits_per_weight column: the element bits */
    dir = zp_test_tmpdir("formats-bits-fig");
    snprintf(path, sizeof path, "%s/accuracy.csv", dir);
    zp_test_write_file(path, "scheme,label,bits,granularity,mode,float_top1,top1\n"
                             "symmetric,s8,8,per-channel,both,0.94,0.937\n"
                             "symmetric,s4,4,per-channel,both,0.94,0.78\n");
    assert_int_equal(zp_plots_render(dir, &warn, &err), ZP_OK);
    snprintf(path, sizeof path, "%s/plots/accuracy_vs_bits.gp", dir);
    gp = zp_test_read_file(path, NULL);
    assert_non_null(gp);
    assert_null(strstr(gp, "scales and codebooks included"));
    free(gp);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_blocks_gemm_mxfp4),
        cmocka_unit_test(test_blocks_conv_channels),
        cmocka_unit_test(test_blocks_nvfp4_tensor_scale),
        cmocka_unit_test(test_wcost),
        cmocka_unit_test(test_can_clip),
        cmocka_unit_test(test_config_block_activations),
        cmocka_unit_test(test_config_calib_refuses_float_grids),
        cmocka_unit_test(test_list_block_defaults),
        cmocka_unit_test(test_bench_names),
        cmocka_unit_test(test_figure_bits_per_weight),
    };
    return ZP_RUN_TESTS(t);
}
