/* The integer program (model/int_graph.h) on a small graph with every operator it
 * lowers: Conv 3x3 -> Clip(0, 6) -> depthwise 3x3 stride 2 -> Clip(0, 6) -> Conv
 * 1x1 -> Add (residual) -> Relu -> GlobalAveragePool -> Flatten -> Gemm. Checked:
 *  - the optimized kernels (VNNI / AVX2 GEMMs, AVX2 requantization, depthwise, Add)
 *    bit-exact with the program run on every kernel's plain C reference, for u8
 *    weights with zero points, s8 and s8-narrow, uint8 and int8 activations, fixed
 *    and float multipliers;
 *  - the integer logits against the fake-quant pass of the same quantizers (float
 *    arithmetic on the rounded weights and layer inputs): top-1 agreement >= 90 %
 *    and logit SQNR >= 30 dB. The integer pass rounds at three more places than the
 *    fake-quant one (the 1x1 output and the Add output as Add operands, the pooled
 *    mean), each an 8-bit grid over the tensor's range: about 47 dB each for a
 *    uniform error of step / sqrt(12) against a signal of range / 4, so a few such
 *    stages stay above 30 dB (measured: 38 to 44 dB), while a wrong zero point, bias scale or shift
 *    (a code or more on every value) falls far below it; without the Add, the
 *    1x1's Relu feeds the pool, which becomes the 1x1's output stage (its input
 *    never rounded to 8 bits, as in fake quantization): >= 45 dB (measured 52 to 94);
 *  - an operator without an integer version is an error naming it and its node;
 *  - on the shipped Fashion-MNIST model (test data needed), the harness's integer
 *    cells (symmetric narrow, linear4, lut4, binary weights) land within a
 *    point or so of the fake-quant `both` cells and agree with them on >= 95 %
 *    of the images. */
#include "tests/util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#include "model/graph.h"
#include "model/int_graph.h"
#include "schemes/scheme.h"
#include "tests/onnx_builder.h"

#define NIMG 64

/* with_mul: 0 as above, 1 with a Mul (no integer version), 2 without the Add */
static struct zp_graph *small_graph(int with_mul)
{
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 3, 8, 8}, fd[2] = {5, 8}, p1[4] = {1, 1, 1, 1}, s2[2] = {2, 2};
    mb_input(&b, "x", 4, xd);
    mb_conv_init(&b, "w1", "b1", 8, 3, 3, 1);
    mb_conv_init(&b, "w2", "b2", 8, 1, 3, 3);
    mb_conv_init(&b, "w3", "b3", 8, 8, 1, 5);
    float *fw = mb_randv(40, 7), *fb = mb_randv(5, 8), lo = 0.f, hi = 6.f, two = 2.f;
    mb_init_f(&b, "wf", 2, fd, fw);
    int64_t five = 5;
    mb_init_f(&b, "bf", 1, &five, fb);
    mb_init_f(&b, "lo", 0, NULL, &lo);
    mb_init_f(&b, "hi", 0, NULL, &hi);
    mb_init_f(&b, "two", 0, NULL, &two);
    free(fw);
    free(fb);
    mb_attr_ints(&b, mb_node(&b, "Conv", "c1", "x,w1,b1", "y1"), "pads", 4, p1);
    mb_node(&b, "Clip", "r1", "y1,lo,hi", "a1");
    Onnx__NodeProto *dw = mb_node(&b, "Conv", "dw", "a1,w2,b2", "y2");
    mb_attr_ints(&b, dw, "pads", 4, p1);
    mb_attr_ints(&b, dw, "strides", 2, s2);
    mb_attr_i(&b, dw, "group", 8);
    mb_node(&b, "Clip", "r2", "y2,lo,hi", "a2");
    mb_node(&b, "Conv", "c3", "a2,w3,b3", "y3");
    if (with_mul == 2) /* no residual: the 1x1's Relu feeds the pool (its fused output stage) */
        mb_node(&b, "Relu", "r3", "y3", "a3");
    else
        mb_node(&b, "Add", "res", "a2,y3", "s");
    if (with_mul == 2) {
    } else if (with_mul) {
        mb_node(&b, "Mul", "scale2", "s,two", "sm");
        mb_node(&b, "Relu", "r3", "sm", "a3");
    } else {
        mb_node(&b, "Relu", "r3", "s", "a3");
    }
    mb_node(&b, "GlobalAveragePool", "gap", "a3", "g");
    mb_node(&b, "Flatten", "flat", "g", "fl");
    mb_attr_i(&b, mb_node(&b, "Gemm", "fc", "fl,wf,bf", "z"), "transB", 1);
    mb_output(&b, "z");
    return mb_load_ok(&b);
}

/* ranges of every layer's input and output (before its activation) */
struct ranges {
    float in_lo[4], in_hi[4], out_lo[4], out_hi[4];
};
static void obs_in(void *ctx, int l, float *x, int batch)
{
    struct ranges *r = ctx;
    const size_t n = (size_t)batch * (l == 0 ? 192 : l == 1 ? 512 : l == 2 ? 128 : 8);
    for (size_t i = 0; i < n; i++) {
        r->in_lo[l] = fminf(r->in_lo[l], x[i]);
        r->in_hi[l] = fmaxf(r->in_hi[l], x[i]);
    }
}
static void obs_out(void *ctx, int l, const float *y, int batch)
{
    struct ranges *r = ctx;
    const size_t n = (size_t)batch * (l == 0 ? 512 : l == 1 ? 128 : l == 2 ? 128 : 5);
    for (size_t i = 0; i < n; i++) {
        r->out_lo[l] = fminf(r->out_lo[l], y[i]);
        r->out_hi[l] = fmaxf(r->out_hi[l], y[i]);
    }
}

struct setup {
    int act_signed;
    enum zp_kfmt wfmt;
    struct zp_int_layer_q lq[4];
    int32_t *codes[4], zps[4][8];
    float scales[4][8], *wfq[4];
    struct zp_qparams aq[4];
};

static void fit_act_range(int act_signed, float lo, float hi, struct zp_qparams *p)
{
    memset(p, 0, sizeof *p);
    if (act_signed)
        zp_affine_symmetric(fmaxf(fabsf(lo), fabsf(hi)), 8, 0, p);
    else
        zp_affine_asym_nudged(fminf(lo, 0.f), fmaxf(hi, 0.f), 8, p);
}

static enum zp_status fit_cb(void *ctx, float lo, float hi, struct zp_iq *out, struct zp_err *err)
{
    (void)err;
    struct zp_qparams p;
    fit_act_range(*(int *)ctx, lo, hi, &p);
    *out = (struct zp_iq){p.scale, p.zero_point, p.qmin, p.qmax};
    return ZP_OK;
}

/* Weight codes per the format (u8: per-tensor asymmetric; s8 / s8-narrow: per channel) */
static void make_setup(struct zp_graph *g, const struct ranges *r, struct setup *s)
{
    for (int l = 0; l < 4; l++) {
        const struct zp_layer_info *li = zp_graph_layer(g, l);
        size_t nw = 1;
        for (int d = 0; d < li->wndim; d++)
            nw *= (size_t)li->wshape[d];
        size_t per = nw / (size_t)li->n_out;
        s->codes[l] = malloc(nw * sizeof(int32_t));
        s->wfq[l] = malloc(nw * sizeof(float));
        float wlo = 0, whi = 0;
        for (size_t i = 0; i < nw; i++) {
            wlo = fminf(wlo, li->weight[i]);
            whi = fmaxf(whi, li->weight[i]);
        }
        for (int j = 0; j < li->n_out; j++) {
            struct zp_qparams p;
            memset(&p, 0, sizeof p);
            if (s->wfmt == ZP_KF_U8) {
                zp_affine_asym_nudged(wlo, whi, 8, &p);
            } else {
                float m = 0;
                for (size_t i = j * per; i < (j + 1) * per; i++)
                    m = fmaxf(m, fabsf(li->weight[i]));
                zp_affine_symmetric(m, 8, s->wfmt == ZP_KF_S8N, &p);
            }
            s->scales[l][j] = p.scale;
            s->zps[l][j] = p.zero_point;
            for (size_t i = j * per; i < (j + 1) * per; i++) {
                double q = nearbyint(li->weight[i] / p.scale) + p.zero_point;
                q = q < p.qmin ? p.qmin : q > p.qmax ? p.qmax : q;
                s->codes[l][i] = (int32_t)q;
                s->wfq[l][i] = p.scale * (float)(s->codes[l][i] - p.zero_point);
            }
        }
        fit_act_range(s->act_signed, r->in_lo[l], r->in_hi[l], &s->aq[l]);
        s->lq[l] = (struct zp_int_layer_q){
            .in = {s->aq[l].scale, s->aq[l].zero_point, s->aq[l].qmin, s->aq[l].qmax},
            .wfmt = s->wfmt, .wcode = s->codes[l], .wscale = s->scales[l], .wzp = s->zps[l],
            .out_lo = r->out_lo[l], .out_hi = r->out_hi[l]};
    }
}

static void free_setup(struct setup *s)
{
    for (int l = 0; l < 4; l++) {
        free(s->codes[l]);
        free(s->wfq[l]);
    }
}

static void fq_input(void *ctx, int l, float *x, int batch)
{
    const struct setup *s = ctx;
    const struct zp_qparams *p = &s->aq[l];
    const size_t n = (size_t)batch * (l == 0 ? 192 : l == 1 ? 512 : l == 2 ? 128 : 8);
    int32_t *q = malloc(n * sizeof *q);
    zp_affine_quantize(NULL, p, x, q, n);
    zp_affine_dequantize(NULL, p, q, x, n);
    free(q);
}

static struct ranges calibrate(struct zp_graph *g, const float *x)
{
    struct ranges r;
    for (int l = 0; l < 4; l++) {
        r.in_lo[l] = r.out_lo[l] = FLT_MAX;
        r.in_hi[l] = r.out_hi[l] = -FLT_MAX;
    }
    struct zp_run_hooks h = {.ctx = &r, .layer_input = obs_in, .layer_output = obs_out};
    float y[NIMG * 5];
    mb_run(g, x, NIMG, y, &h);
    return r;
}

static void small_graph_variant(int variant)
{
    struct zp_graph *g = small_graph(variant);
    printf("  %s\n", variant ? "conv 1x1 -> Relu -> GlobalAveragePool (the pool fused into the 1x1's output stage)"
                             : "with the residual Add");
    float *x = mb_randv((size_t)NIMG * 192, 11);
    for (size_t i = 0; i < (size_t)NIMG * 192; i++)
        x[i] *= 2.f;
    struct ranges r = calibrate(g, x);
    static const enum zp_kfmt fmts[3] = {ZP_KF_U8, ZP_KF_S8, ZP_KF_S8N};
    for (int f = 0; f < 3; f++)
        for (int sg = 0; sg < 2; sg++)
            for (int fm = 0; fm < 2; fm++) {
                struct setup s;
                memset(&s, 0, sizeof s);
                s.act_signed = sg;
                s.wfmt = fmts[f];
                make_setup(g, &r, &s);
                struct zp_err err = {0};
                struct zp_int_program *best, *ref;
                struct zp_int_options ob = {.float_multiplier = fm, .isa = -1, .fit = fit_cb, .fit_ctx = &sg};
                struct zp_int_options orf = ob;
                orf.isa = 0; /* ZP_ISA_REF */
                assert_int_equal(zp_int_program_build(g, s.lq, &ob, &best, &err), ZP_OK);
                assert_int_equal(zp_int_program_build(g, s.lq, &orf, &ref, &err), ZP_OK);
                float yb[NIMG * 5], yr[NIMG * 5], yf[NIMG * 5];
                assert_int_equal(zp_int_program_run(best, x, NIMG, yb, &err), ZP_OK);
                assert_int_equal(zp_int_program_run(ref, x, NIMG, yr, &err), ZP_OK);
                assert_memory_equal(yb, yr, sizeof yb);
                /* the fake-quant pass of the same quantizers */
                const float *wp[4] = {s.wfq[0], s.wfq[1], s.wfq[2], s.wfq[3]};
                struct zp_run_hooks h = {.ctx = &s, .weights = wp, .layer_input = fq_input};
                mb_run(g, x, NIMG, yf, &h);
                double sig = 0, noise = 0;
                int agree = 0;
                for (int i = 0; i < NIMG; i++) {
                    int ab = 0, af = 0;
                    for (int k = 0; k < 5; k++) {
                        sig += (double)yf[i * 5 + k] * yf[i * 5 + k];
                        noise += ((double)yb[i * 5 + k] - yf[i * 5 + k]) * ((double)yb[i * 5 + k] - yf[i * 5 + k]);
                        ab = yb[i * 5 + k] > yb[i * 5 + ab] ? k : ab;
                        af = yf[i * 5 + k] > yf[i * 5 + af] ? k : af;
                    }
                    agree += ab == af;
                }
                double sqnr = 10 * log10(sig / fmax(noise, 1e-30));
                printf("  weights %s, %s activations, %s multiplier: agreement %d/%d, logit SQNR %.1f dB\n",
                       zp_kfmt_name(fmts[f]), sg ? "int8" : "uint8", fm ? "float" : "fixed-point", agree, NIMG,
                       sqnr);
                assert_true(agree * 10 >= NIMG * 9);
                assert_true(sqnr >= (variant == 2 ? 45.0 : 30.0)); /* fused pool: no 8-bit rounding of its input */
                zp_int_program_free(best);
                zp_int_program_free(ref);
                free_setup(&s);
            }
    free(x);
    zp_graph_free(g);
}

static void test_small_graph(void **state)
{
    (void)state;
    small_graph_variant(0);
    small_graph_variant(2);
}

static void test_unsupported_op(void **state)
{
    (void)state;
    struct zp_graph *g = small_graph(1);
    float *x = mb_randv((size_t)NIMG * 192, 11);
    struct ranges r = calibrate(g, x);
    struct setup s;
    memset(&s, 0, sizeof s);
    s.wfmt = ZP_KF_S8;
    make_setup(g, &r, &s);
    int sg = 0;
    struct zp_int_options o = {.isa = -1, .fit = fit_cb, .fit_ctx = &sg};
    struct zp_err err = {0};
    struct zp_int_program *p = NULL;
    assert_int_equal(zp_int_program_build(g, s.lq, &o, &p, &err), ZP_EUNSUPPORTED);
    assert_null(p);
    assert_non_null(strstr(err.msg, "Mul"));
    assert_non_null(strstr(err.msg, "scale2"));
    /* a weight format without an integer path */
    zp_graph_free(g);
    g = small_graph(0);
    free_setup(&s);
    memset(&s, 0, sizeof s);
    s.wfmt = ZP_KF_S8;
    make_setup(g, &r, &s);
    s.lq[1].wfmt = ZP_KF_Q4;
    zp_err_clear(&err);
    assert_int_equal(zp_int_program_build(g, s.lq, &o, &p, &err), ZP_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "dw"));
    free_setup(&s);
    free(x);
    zp_graph_free(g);
}

/* A MatMul of token rows ([1, 4, 8] by [8, 5], channels last) is refused by name,
 * not run as one row of 32 inputs (which would read past the weights). */
static void test_rows_matmul_refused(void **state)
{
    (void)state;
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[3] = {1, 4, 8}, wd[2] = {8, 5};
    mb_input(&b, "x", 3, xd);
    float *w = mb_randv(40, 3);
    mb_init_f(&b, "w", 2, wd, w);
    mb_node(&b, "MatMul", "proj", "x,w", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    int32_t codes[40] = {0}, zps[5] = {0};
    float scales[5] = {1, 1, 1, 1, 1};
    struct zp_int_layer_q lq = {.in = {0.1f, 0, -128, 127}, .wfmt = ZP_KF_S8, .wcode = codes,
                                .wscale = scales, .wzp = zps, .out_lo = NAN, .out_hi = NAN};
    int sg = 1;
    struct zp_int_options o = {.isa = -1, .fit = fit_cb, .fit_ctx = &sg};
    struct zp_err err = {0};
    struct zp_int_program *p = NULL;
    assert_int_equal(zp_int_program_build(g, &lq, &o, &p, &err), ZP_EUNSUPPORTED);
    assert_null(p);
    assert_non_null(strstr(err.msg, "proj"));
    assert_non_null(strstr(err.msg, "rows"));
    free(w);
    zp_graph_free(g);
}

/* One integer scheme's check on the Fashion model: its `both` and `integer` rows. */
struct fashion_row {
    const char *scheme;
    double max_top1_gap, min_agree;
    double top_both, top_int, agree;
};

static void test_fashion_cell(void **state)
{
    (void)state;
    const char *img = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    FILE *f = fopen(img, "rb");
    if (!f) {
        printf("  skipped: %s not found (Debian's dataset-fashion-mnist)\n", img);
        skip();
    }
    fclose(f);
    const char *dir = zp_test_tmpdir("intcell");
    char cfg[1200], out[1200];
    snprintf(cfg, sizeof cfg, "%s/c.json", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    /* symmetric narrow (s8), linear4 asymmetric (codes 0..15 with zero points on
     * the u8 path), lut4 (k-means levels rounded to an int8 codebook) and binary
     * (codes +-1), per channel, u8 activations */
    zp_test_write_file(cfg,
        "{\"name\": \"intcell\", \"seed\": 1,\n"
        " \"schemes\": [{\"scheme\": \"symmetric\", \"bits\": 8, \"granularity\": \"per-channel\", \"narrow_range\": true},\n"
        "   {\"scheme\": \"linear4\", \"mode\": \"asymmetric\", \"granularity\": \"per-channel\",\n"
        "    \"activations\": {\"scheme\": \"asymmetric\", \"bits\": 8}},\n"
        "   {\"scheme\": \"lut4\", \"codebook\": \"kmeans\", \"granularity\": \"per-channel\",\n"
        "    \"activations\": {\"scheme\": \"asymmetric\", \"bits\": 8}},\n"
        "   {\"scheme\": \"binary\", \"granularity\": \"per-channel\", \"activations\": {\"scheme\": \"asymmetric\", \"bits\": 8}}],\n"
        " \"datasets\": {\"t\": {\"format\": \"idx\", \"images\": \"/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz\",\n"
        "   \"labels\": \"/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz\", \"mean\": [72.94], \"std\": [90.0]}},\n"
        " \"models\": [{\"name\": \"fm\", \"path\": \"models/fashion_mobilenet.onnx\", \"eval\": \"t\",\n"
        "   \"modes\": [\"both\", \"integer\"], \"calibration\": {\"method\": \"minmax\", \"size\": 200, \"seed\": 1},\n"
        "   \"batch\": 100, \"layer_stats\": false}]}\n");
    char *log = NULL;
    int rc = zp_test_sh(&log, "%s run %s --out %s --limit 500 --no-plots --quiet", zp_test_harness(), cfg, out);
    if (rc)
        printf("%s\n", log);
    assert_int_equal(rc, 0);
    free(log);
    char path[1300];
    snprintf(path, sizeof path, "%s/accuracy.csv", out);
    char *csv = zp_test_read_file(path, NULL);
    assert_non_null(csv);
    /* measured on 500 images: top-1 gaps 0.2, 0.2, 0.6 (the int8 codebook), 0.0
     * points, agreement 99.8, 99.8, 99.4, 98.8 %; binary collapses the model (~10 %) */
    struct fashion_row rows[] = {{"symmetric", 0.005, 0.98, -1, -1, -1}, {"linear4", 0.01, 0.98, -1, -1, -1},
                                 {"lut4", 0.015, 0.97, -1, -1, -1},     {"binary", 0.03, 0.95, -1, -1, -1}};
    /* columns: scheme is the 3rd, mode the 7th, top1 the 18th, vs_fakequant_agreement the 34th */
    for (char *line = strtok(csv, "\n"); line; line = strtok(NULL, "\n")) {
        char *fld[48];
        int nf = 0;
        for (char *p = line; nf < 48;) {
            fld[nf++] = p;
            char *c = strchr(p, ',');
            if (!c)
                break;
            *c = 0;
            p = c + 1;
        }
        if (nf < 34)
            continue;
        for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
            if (strcmp(fld[2], rows[r].scheme))
                continue;
            if (!strcmp(fld[6], "both"))
                rows[r].top_both = atof(fld[17]);
            if (!strcmp(fld[6], "integer")) {
                rows[r].top_int = atof(fld[17]);
                rows[r].agree = atof(fld[33]);
            }
        }
    }
    free(csv);
    for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
        printf("  fashion %s: fake-quant top-1 %.4f, integer %.4f, agreement %.4f\n", rows[r].scheme,
               rows[r].top_both, rows[r].top_int, rows[r].agree);
        assert_true(rows[r].top_both >= 0 && rows[r].top_int >= 0);
        if (strcmp(rows[r].scheme, "binary"))
            assert_true(rows[r].top_both > 0.8 && rows[r].top_int > 0.8);
        assert_true(fabs(rows[r].top_both - rows[r].top_int) <= rows[r].max_top1_gap);
        assert_true(rows[r].agree >= rows[r].min_agree);
    }
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_small_graph),
        cmocka_unit_test(test_unsupported_op),
        cmocka_unit_test(test_rows_matmul_refused),
        cmocka_unit_test(test_fashion_cell),
    };
    return ZP_RUN_TESTS(t);
}
