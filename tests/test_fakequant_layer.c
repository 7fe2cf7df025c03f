/* Fake-quantized inference against an independent computation, on the first layer
 * of the real ImageNet MobileNet (conv1: 3x3, stride 2, TensorFlow "same" padding
 * [0,0,1,1], input u8/127.5 - 1 in [-1, 1]).
 *
 * For every built-in scheme the test re-implements the weight quantizer straight
 * from docs/definitions.md (plain double arithmetic, no harness code), quantizes the
 * input with integer arithmetic (u/127.5 - 1 with s = 2/255 is an exact tie for
 * every pixel: code u + 0.5 rounds to the even neighbour), computes the
 * convolution with naive loops, padding reading the decoded value of 0.0, and
 * compares with the runtime's layer output under the harness's quantization
 * hooks. Needs ../shared/data; skipped without it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "experiment/input_exact.h"
#include "model/graph.h"
#include "schemes/granularity.h"
#include "schemes/scheme.h"
#include "tests/util.h"

static struct zp_graph *G;
static float *X;   /* golden image 0, x = u/127.5 - 1, NCHW */
static uint8_t *U; /* the same pixels as u8, NCHW */

/* The dataset spec of the MobileNet input: image folder, mean = std = 127.5. */
static struct zp_dataset_spec spec;

static int setup(void **state)
{
    (void)state;
    memset(&spec, 0, sizeof spec);
    spec.format = ZP_DATA_IMAGES;
    for (int c = 0; c < 3; c++)
        spec.mean[c] = spec.std[c] = 127.5f;
    const char *root = zp_test_shared_data();
    if (!root)
        return 0;
    char p[1024];
    snprintf(p, sizeof p, "%s/imagenet/models/mobilenet_v1_0.25_224.onnx", root);
    struct zp_err err = {0};
    if (zp_onnx_load(p, &G, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    snprintf(p, sizeof p, "%s/imagenet/golden/golden_input_u8_nhwc_9x224x224x3.bin", root);
    size_t len;
    char *raw = zp_test_read_file(p, &len);
    if (!raw || len < 224 * 224 * 3)
        return -1;
    X = malloc(3 * 224 * 224 * sizeof *X);
    U = malloc(3 * 224 * 224);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 224 * 224; i++) {
            uint8_t u = (uint8_t)raw[i * 3 + c];
            U[c * 224 * 224 + i] = u;
            X[c * 224 * 224 + i] = zp_dataset_normalize(&spec, c, (float)u);
        }
    free(raw);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    zp_graph_free(G);
    free(X);
    free(U);
    return 0;
}

/* round half to even in exact double arithmetic */
static double rhe(double v)
{
    double f = floor(v), d = v - f;
    if (d > 0.5)
        return f + 1;
    if (d < 0.5)
        return f;
    return fmod(f, 2.0) == 0 ? f : f + 1;
}

enum ref { ASYM_NUDGED, ASYM_NAIVE, SYM_FULL, SYM_NARROW, LINEAR4, KMEANS, BINARY };

/* The weight quantizer of docs/definitions.md on one slice (n values), in double. */
static void ref_quant(enum ref r, const float *x, size_t n, double *out)
{
    double mn = INFINITY, mx = -INFINITY, amax = 0, asum = 0;
    for (size_t i = 0; i < n; i++) {
        mn = fmin(mn, x[i]);
        mx = fmax(mx, x[i]);
        amax = fmax(amax, fabs(x[i]));
        asum += fabs(x[i]);
    }
    switch (r) {
    case ASYM_NUDGED: {
        double lo = fmin(mn, 0), hi = fmax(mx, 0), s = (hi - lo) / 255;
        double z = fmin(fmax(rhe(0 - lo / s), 0), 255);
        for (size_t i = 0; i < n; i++)
            out[i] = s * (fmin(fmax(rhe(x[i] / s) + z, 0), 255) - z);
        break;
    }
    case ASYM_NAIVE: {
        double s = (mx - mn) / 255;
        for (size_t i = 0; i < n; i++)
            out[i] = mn + s * fmin(fmax(rhe((x[i] - mn) / s), 0), 255);
        break;
    }
    case SYM_FULL:
    case SYM_NARROW:
    case LINEAR4: {
        double qmax = r == LINEAR4 ? 7 : 127, qmin = r == SYM_FULL ? -128 : -qmax;
        double s = amax / (r == SYM_FULL ? 127.5 : qmax);
        for (size_t i = 0; i < n; i++)
            out[i] = s * fmin(fmax(rhe(x[i] / s), qmin), qmax);
        break;
    }
    case KMEANS: {
        double lv[16], sum[16];
        long cnt[16];
        for (int k = 0; k < 16; k++)
            lv[k] = mn + (mx - mn) * k / 15.0;
        for (int it = 0; it <= 20; it++) {
            memset(sum, 0, sizeof sum);
            memset(cnt, 0, sizeof cnt);
            for (size_t i = 0; i < n; i++) {
                int best = 0;
                for (int k = 1; k < 16; k++)
                    if (fabs(x[i] - lv[k]) < fabs(x[i] - lv[best]))
                        best = k;
                out[i] = lv[best];
                sum[best] += x[i];
                cnt[best]++;
            }
            if (it == 20)
                break;
            for (int k = 0; k < 16; k++)
                if (cnt[k])
                    lv[k] = sum[k] / cnt[k];
        }
        break;
    }
    case BINARY:
        for (size_t i = 0; i < n; i++)
            out[i] = (x[i] >= 0 ? 1 : -1) * asum / (double)n;
        break;
    }
}

struct capture {
    const struct zp_scheme_config *act;
    struct zp_qparams ap;
    struct zp_input_exact ex; /* the harness's network-input path (experiment/input_exact.h) */
    float *y;
};

static void quant_in(void *ctx, int layer, float *x, int batch)
{
    struct capture *c = ctx;
    if (layer != 0 || !c->act)
        return;
    size_t n = (size_t)batch * 3 * 224 * 224;
    if (c->ex.on) { /* nudged: every input is a pixel's */
        assert_int_equal(zp_input_exact_apply(&c->ex, x, n, 0), 0);
        return;
    }
    int32_t *q = malloc(n * sizeof *q); /* naive mapping (an offset): the float path */
    c->act->scheme->quantize(c->act, &c->ap, x, q, n);
    c->act->scheme->dequantize(c->act, &c->ap, q, x, n);
    free(q);
}

static void grab(void *ctx, int layer, const float *y, int batch)
{
    struct capture *c = ctx;
    if (layer == 0)
        memcpy(c->y, y, (size_t)batch * 8 * 112 * 112 * sizeof *y);
}

/* The same two hooks per image (the fast schedule the harness runs them on). */
static void quant_in_image(void *ctx, int layer, int image, int thread, const float *x, float *out)
{
    const struct zp_layer_info *li = zp_graph_layer(G, layer);
    size_t n = 1;
    for (int d = 0; d < li->in_ndim; d++)
        n *= (size_t)li->in_shape[d];
    memcpy(out, x, n * sizeof *out);
    quant_in(ctx, layer, out, 1);
}

static void grab_image(void *ctx, int layer, int image, int thread, const float *y)
{
    struct capture *c = ctx;
    if (layer == 0)
        memcpy(c->y + (size_t)image * 8 * 112 * 112, y, 8 * 112 * 112 * sizeof *y);
}

/* Naive conv1 in double: input xin (3x224x224), weights w (8x3x3x3), pads [0,0,1,1]
 * reading `pad`, stride 2. */
static void ref_conv(const double *xin, const double *w, const float *b, double pad, double *y)
{
    for (int o = 0; o < 8; o++)
        for (int oy = 0; oy < 112; oy++)
            for (int ox = 0; ox < 112; ox++) {
                double acc = b ? b[o] : 0;
                for (int c = 0; c < 3; c++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy * 2 + ky, ix = ox * 2 + kx; /* pad top/left = 0 */
                            double v = (iy < 224 && ix < 224) ? xin[(c * 224 + iy) * 224 + ix] : pad;
                            acc += v * w[((o * 3 + c) * 3 + ky) * 3 + kx];
                        }
                y[(o * 112 + oy) * 112 + ox] = acc;
            }
}

static void check_scheme(const char *scheme, const char *opt, double optval,
                         enum zp_granularity gran, enum ref r, int act_nudge)
{
    const struct zp_layer_info *li = zp_graph_layer(G, 0);
    assert_non_null(li);
    assert_int_equal(li->wndim, 4);
    struct zp_scheme_config cfg;
    zp_scheme_config_defaults(&cfg, zp_scheme_find(scheme));
    cfg.granularity = gran;
    if (opt)
        cfg.opt[zp_scheme_option_index(cfg.scheme, opt)].num = optval;
    float wq[8 * 27];
    struct zp_err err = {0};
    assert_int_equal(zp_fake_quant(&cfg, li->weight, li->wshape, 4, "conv1", wq, NULL, &err), ZP_OK);

    /* Independent weights. */
    double wref[8 * 27];
    if (gran == ZP_PER_CHANNEL)
        for (int o = 0; o < 8; o++)
            ref_quant(r, li->weight + o * 27, 27, wref + o * 27);
    else
        ref_quant(r, li->weight, 8 * 27, wref);
    /* Float vs double: min + s*q cancels near 0, so compare on the tensor's scale. */
    double wmax = 0;
    int differ = 0;
    for (int i = 0; i < 8 * 27; i++)
        wmax = fmax(wmax, fabs(li->weight[i]));
    for (int i = 0; i < 8 * 27; i++)
        if (fabs(wq[i] - wref[i]) > 1e-6 * wmax)
            differ++;
    if (differ > (r == KMEANS ? 2 : 0))
        for (int i = 0; i < 4; i++)
            print_message("w %g: harness %g, independent %g\n", li->weight[i], wq[i], wref[i]);
    if (differ > (r == KMEANS ? 2 : 0))
        fail_msg("%s: %d of 216 weights differ from the independent quantizer", scheme, differ);

    /* Input: asymmetric 8-bit on the calibrated range [-1, 1], nudged or naive, in
     * exact integer arithmetic. Nudged: z = 128, code = u + 0.5 rounded to even,
     * x' = (code - 128) * 2/255; naive: code = u, x' = -1 + u * 2/255. */
    struct zp_scheme_config acfg;
    zp_scheme_config_defaults(&acfg, zp_scheme_find("asymmetric"));
    acfg.opt[zp_scheme_option_index(acfg.scheme, "nudge_zero")].num = act_nudge;
    struct capture cap = {.act = &acfg, .y = malloc(8 * 112 * 112 * sizeof(float))};
    assert_int_equal(acfg.scheme->fit_range(&acfg, -1.0f, 1.0f, &cap.ap, &err), ZP_OK);
    assert_int_equal(zp_input_exact_build(&cap.ex, &spec, 3, 224 * 224, &acfg, &cap.ap, -1.0f, 1.0f, &err), ZP_OK);
    assert_int_equal(cap.ex.on, act_nudge); /* the table serves the offset-free mapping */
    double *xref = malloc(3 * 224 * 224 * sizeof *xref);
    for (int i = 0; i < 3 * 224 * 224; i++) {
        int u = U[i];
        int code = u + (u & 1) > 255 ? 255 : u + (u & 1); /* 255.5 rounds to 256, clamped */
        xref[i] = act_nudge ? (code - 128) * (2.0 / 255) : -1.0 + u * (2.0 / 255);
    }
    /* Padding reads the decoded 0.0: exactly 0 when nudged, -1 + code * 2/255 naive. */
    /* naive: (0 - (-1)) / s is 127.5 only for the exact 2/255, not for the float
     * scale, so code 127 or 128 as its exact quotient lies (common/round.h) */
    double pad_ref = act_nudge ? 0.0 : -1.0 + (double)rintl(1.0L / (long double)cap.ap.scale) * (2.0 / 255);
    float zero = 0, pad;
    int32_t qz;
    acfg.scheme->quantize(&acfg, &cap.ap, &zero, &qz, 1);
    acfg.scheme->dequantize(&acfg, &cap.ap, &qz, &pad, 1);
    assert_true(fabs(pad - pad_ref) < 1e-6);

    const float *wtab[28] = {wq};
    float pads[28] = {pad};
    struct zp_run_hooks h = {.ctx = &cap, .weights = wtab, .layer_input = quant_in,
                             .pad_value = pads, .layer_output = grab};
    float logits[1000], logits_img[1000];
    assert_int_equal(zp_graph_run(G, X, 1, logits, &h, &err), ZP_OK);
    /* per-image hooks: the same layer output and logits, bit for bit */
    float *y_batch = cap.y;
    cap.y = malloc(8 * 112 * 112 * sizeof(float));
    struct zp_run_hooks hi = {.ctx = &cap, .weights = wtab, .layer_input_image = quant_in_image,
                              .pad_value = pads, .layer_output_image = grab_image};
    assert_int_equal(zp_graph_run(G, X, 1, logits_img, &hi, &err), ZP_OK);
    assert_memory_equal(cap.y, y_batch, 8 * 112 * 112 * sizeof(float));
    assert_memory_equal(logits_img, logits, sizeof logits);
    free(y_batch);

    double *yref = malloc(8 * 112 * 112 * sizeof *yref);
    ref_conv(xref, wref, li->bias, pad_ref, yref);
    double ymax = 0, emax = 0;
    for (int i = 0; i < 8 * 112 * 112; i++) {
        ymax = fmax(ymax, fabs(yref[i]));
        emax = fmax(emax, fabs(cap.y[i] - yref[i]));
    }
    if (emax > (r == KMEANS ? 1e-3 : 1e-4) * ymax)
        fail_msg("%s (input nudge %d): layer output differs from the independent computation by "
                 "%g (max |y| %g)",
                 scheme, act_nudge, emax, ymax);
    free(yref);
    free(xref);
    free(cap.y);
}

static void test_every_scheme_matches_independent(void **state)
{
    (void)state;
    if (!G)
        skip();
    check_scheme("asymmetric", "nudge_zero", 1, ZP_PER_CHANNEL, ASYM_NUDGED, 1);
    check_scheme("asymmetric", "nudge_zero", 0, ZP_PER_TENSOR, ASYM_NAIVE, 0);
    check_scheme("symmetric", NULL, 0, ZP_PER_TENSOR, SYM_FULL, 1);
    check_scheme("no-128", NULL, 0, ZP_PER_CHANNEL, SYM_NARROW, 0);
    check_scheme("linear4", NULL, 0, ZP_PER_CHANNEL, LINEAR4, 1);
    check_scheme("lut4", NULL, 0, ZP_PER_TENSOR, KMEANS, 1);
    check_scheme("binary", NULL, 0, ZP_PER_CHANNEL, BINARY, 0);
}

/* Every pixel of the real input lies on a tie under the nudged [-1, 1] mapping:
 * the harness's input path (the exact table) gives the even code for each,
 * whatever the float error of x/s; the float values alone are not ties. */
static void test_input_ties_round_to_even(void **state)
{
    (void)state;
    if (!G)
        skip();
    struct zp_scheme_config acfg;
    zp_scheme_config_defaults(&acfg, zp_scheme_find("asymmetric"));
    struct zp_qparams p;
    struct zp_err err = {0};
    assert_int_equal(acfg.scheme->fit_range(&acfg, -1.0f, 1.0f, &p, &err), ZP_OK);
    struct zp_input_exact ex;
    assert_int_equal(zp_input_exact_build(&ex, &spec, 3, 224 * 224, &acfg, &p, -1.0f, 1.0f, &err), ZP_OK);
    assert_int_equal(ex.on, 1);
    size_t n = 3 * 224 * 224;
    float *y = malloc(n * sizeof *y);
    memcpy(y, X, n * sizeof *y);
    assert_int_equal(zp_input_exact_apply(&ex, y, n, 0), 0);
    for (size_t i = 0; i < n; i++) {
        int u = U[i], want = u + (u & 1) > 255 ? 255 : u + (u & 1);
        int32_t qw = want;
        float d;
        acfg.scheme->dequantize(&acfg, &p, &qw, &d, 1);
        if (y[i] != d)
            fail_msg("pixel %zu: u = %d decoded %g, expected code %d = %g", i, u, y[i], want, d);
    }
    /* a value that is no pixel's takes the float path */
    float odd = 0.123456f, ref = odd;
    int32_t qo;
    acfg.scheme->quantize(&acfg, &p, &ref, &qo, 1);
    acfg.scheme->dequantize(&acfg, &p, &qo, &ref, 1);
    assert_int_equal(zp_input_exact_apply(&ex, &odd, 1, 0), 1);
    assert_true(odd == ref);
    free(y);
}

/* The table lookup against a linear scan: tables that are affine images of the
 * pixels (either direction of rounding), tables with equal neighbours (the first
 * one wins, as a binary search finds it), and values on, between and outside the
 * entries, across channel boundaries of a 2-channel example with a start offset. */
static void test_input_lookup_matches_scan(void **state)
{
    (void)state;
    struct zp_scheme_config acfg;
    zp_scheme_config_defaults(&acfg, zp_scheme_find("asymmetric"));
    struct zp_qparams p;
    struct zp_err err = {0};
    assert_int_equal(acfg.scheme->fit_range(&acfg, -3.0f, 3.0f, &p, &err), ZP_OK);
    struct zp_input_exact t;
    memset(&t, 0, sizeof t);
    t.on = 1;
    t.channels = 2;
    t.plane = 7;
    t.c = &acfg;
    t.p = &p;
    for (int i = 0; i < 256; i++) {
        t.val[0][i] = (float)((i - 72.94) / 90.0);               /* Fashion-style */
        t.val[1][i] = (float)(i / 1e5) * (float)(i / 200 + 1);   /* a bend, and duplicates at 0 */
        t.deq[0][i] = (float)i;
        t.deq[1][i] = (float)(1000 + i);
    }
    t.val[1][1] = t.val[1][0];
    t.val[0][101] = t.val[0][100];
    float x[61], want[61];
    for (int k = 0; k < 61; k++) {
        int ch = (int)(((size_t)k + 3) % 14 / 7), i = (k * 37) % 256;
        float v = t.val[ch][i];
        x[k] = k % 5 == 4 ? nextafterf(v, INFINITY) : k % 7 == 6 ? 40.0f : v;
        int hit = -1;
        for (int j = 0; j < 256 && hit < 0; j++)
            if (t.val[ch][j] == x[k])
                hit = j;
        if (hit >= 0) {
            want[k] = t.deq[ch][hit];
        } else {
            int32_t q;
            want[k] = x[k];
            acfg.scheme->quantize(&acfg, &p, &want[k], &q, 1);
            acfg.scheme->dequantize(&acfg, &p, &q, &want[k], 1);
        }
    }
    zp_input_exact_apply(&t, x, 61, 3);
    for (int k = 0; k < 61; k++)
        if (x[k] != want[k])
            fail_msg("element %d: %g, expected %g", k, x[k], want[k]);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_input_lookup_matches_scan),
        cmocka_unit_test(test_every_scheme_matches_independent),
        cmocka_unit_test(test_input_ties_round_to_even),
    };
    return cmocka_run_group_tests_name(__FILE__, t, setup, teardown);
}
