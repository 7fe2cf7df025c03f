/* Every operator of the float runtime against naive loops written here, on tiny
 * models built message by message with protobuf-c (the same structures an ONNX
 * exporter writes), packed to bytes and loaded through zp_onnx_load_buffer.
 * Conv and Gemm run under every ISA limit the CPU allows (each conv GEMM variant
 * of kernels/: AVX-512, AVX2, portable), each on the graph's own weights (the
 * cached weight panels) and on the same weights passed by a hook (plain rows).
 * A last test counts the dispatched kernels' calls after zp_graph_run.
 *
 * This file: Conv (padded, strided, depthwise, grouped, dilated, auto_pad, pad value) and Gemm / MatMul. */
#include "tests/util.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#include "kernels/kernels.h"
#include "model/graph.h"
#include "model/graph_internal.h"
#include "tests/onnx_builder.h"

/* Naive convolution: ONNX semantics, padding reads `pad`. */
struct cspec {
    int64_t N, C, H, W, O, kh, kw, sh, sw, dh, dw, group, pt, pl, pb, pr;
};

static void ref_conv(const struct cspec *s, const float *x, const float *w, const float *b,
                     float pad, float *y, int64_t OH, int64_t OW)
{
    int64_t Cg = s->C / s->group, Og = s->O / s->group;
    for (int64_t n = 0; n < s->N; n++)
        for (int64_t o = 0; o < s->O; o++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    double acc = b ? b[o] : 0;
                    int64_t gi = o / Og;
                    for (int64_t c = 0; c < Cg; c++)
                        for (int64_t ky = 0; ky < s->kh; ky++)
                            for (int64_t kx = 0; kx < s->kw; kx++) {
                                int64_t iy = oy * s->sh + ky * s->dh - s->pt;
                                int64_t ix = ox * s->sw + kx * s->dw - s->pl;
                                float v =
                                    iy < 0 || iy >= s->H || ix < 0 || ix >= s->W
                                        ? pad
                                        : x[((n * s->C + gi * Cg + c) * s->H + iy) * s->W + ix];
                                acc += (double)v * w[((o * Cg + c) * s->kh + ky) * s->kw + kx];
                            }
                    y[((n * s->O + o) * OH + oy) * OW + ox] = (float)acc;
                }
}

/* Builds Conv(X) with the spec, runs it, compares with ref_conv. auto_pad: NULL for
 * explicit pads, else the string (the spec's pads must then be what ONNX implies). */
/* The ISA limits to run under: none (the best variant), AVX2 when the CPU has
 * something better, and the portable code. */
static int isa_limits(int out[3])
{
    int n = 0;
    out[n++] = -1;
    if (zp_cpu_has(ZP_ISA_AVX512BW) && zp_cpu_has(ZP_ISA_AVX2))
        out[n++] = ZP_ISA_AVX2;
    if (zp_cpu_best() != ZP_ISA_REF)
        out[n++] = ZP_ISA_REF;
    return n;
}

static void check_conv(const struct cspec *s, const char *auto_pad, int with_bias, float pad_value)
{
    const int saved = zp_cpu_limit();
    int lims[3], nl = isa_limits(lims);
    for (int run = 0; run < 2 * nl; run++) {
        zp_cpu_set_limit(lims[run / 2]);
        const int hooked = run % 2;
        int64_t OH = (s->H + s->pt + s->pb - s->dh * (s->kh - 1) - 1) / s->sh + 1;
        int64_t OW = (s->W + s->pl + s->pr - s->dw * (s->kw - 1) - 1) / s->sw + 1;
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[4] = {1, s->C, s->H, s->W}, wd[4] = {s->O, s->C / s->group, s->kh, s->kw};
        size_t nx = (size_t)(s->N * s->C * s->H * s->W),
               nw = (size_t)(wd[0] * wd[1] * wd[2] * wd[3]);
        float *x = mb_randv(nx, 1), *w = mb_randv(nw, 2), *bias = mb_randv((size_t)s->O, 3);
        mb_input(&b, "x", 4, xd);
        mb_init_f(&b, "w", 4, wd, w);
        if (with_bias)
            mb_init_f(&b, "b", 1, &s->O, bias);
        Onnx__NodeProto *n = mb_node(&b, "Conv", "conv_0", with_bias ? "x,w,b" : "x,w", "y");
        int64_t st[2] = {s->sh, s->sw}, dl[2] = {s->dh, s->dw},
                pd[4] = {s->pt, s->pl, s->pb, s->pr};
        int64_t ks[2] = {s->kh, s->kw};
        mb_attr_ints(&b, n, "strides", 2, st);
        mb_attr_ints(&b, n, "dilations", 2, dl);
        mb_attr_ints(&b, n, "kernel_shape", 2, ks);
        if (auto_pad)
            mb_attr_s(&b, n, "auto_pad", auto_pad);
        else
            mb_attr_ints(&b, n, "pads", 4, pd);
        mb_attr_i(&b, n, "group", s->group);
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_ok(&b);
        assert_int_equal(zp_graph_output_size(g), s->O * OH * OW);
        const struct zp_layer_info *li = zp_graph_layer(g, 0);
        assert_int_equal(li->pads[0], s->pt);
        assert_int_equal(li->pads[1], s->pl);
        assert_int_equal(li->pads[2], s->pb);
        assert_int_equal(li->pads[3], s->pr);
        assert_int_equal(li->depthwise, s->group > 1 && s->group == s->C && s->group == s->O);
        size_t ny = (size_t)(s->N * s->O * OH * OW);
        float *y = malloc(ny * sizeof *y), *want = malloc(ny * sizeof *want);
        ref_conv(s, x, w, with_bias ? bias : NULL, pad_value, want, OH, OW);
        float pv[1] = {pad_value};
        float *wcopy = malloc(nw * sizeof *wcopy);
        memcpy(wcopy, w, nw * sizeof *wcopy);
        const float *hw[1] = {wcopy};
        struct zp_run_hooks h = {.pad_value = pv, .weights = hooked ? hw : NULL};
        mb_run(g, x, (int)s->N, y, &h);
        mb_run(g, x, (int)s->N, y, &h); /* second run: panels from the cache */
        if (!hooked && !li->depthwise) /* the graph's own weights: panels were cached */
            assert_non_null(zp_layer_panels(g, &g->nodes[g->layer_node[0]], g->layer_w[0], 0, s->group,
                                            s->O / s->group, s->C / s->group * s->kh * s->kw));
        mb_assert_close(y, want, ny, 1e-4);
        free(x); free(w); free(bias); free(y); free(want); free(wcopy);
        zp_graph_free(g);
    }
    zp_cpu_set_limit(saved);
}

/* ---- convolution ------------------------------------------------------------------ */

static void test_conv_padded_strided(void **state)
{
    /* asymmetric pads, stride 2, 3x3, bias; the shape of a TF "SAME" stride-2 conv */
    struct cspec s = {.N = 2, .C = 3, .H = 9, .W = 8, .O = 5, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
                      .dh = 1, .dw = 1, .group = 1, .pt = 0, .pl = 0, .pb = 1, .pr = 1};
    check_conv(&s, NULL, 1, 0.f);
    struct cspec s2 = {.N = 1, .C = 2, .H = 7, .W = 7, .O = 3, .kh = 3, .kw = 2, .sh = 1, .sw = 3,
                       .dh = 1, .dw = 1, .group = 1, .pt = 2, .pl = 1, .pb = 0, .pr = 2};
    check_conv(&s2, NULL, 0, 0.f);
    /* wide enough for the vector stride-2 im2col copy */
    struct cspec s3 = {.N = 1, .C = 2, .H = 5, .W = 45, .O = 3, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
                       .dh = 1, .dw = 1, .group = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
    check_conv(&s3, NULL, 1, 0.5f);
    /* K x OW large enough that im2col runs in several bands of output rows */
    struct cspec s4 = {.N = 1, .C = 64, .H = 7, .W = 40, .O = 5, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                       .dh = 1, .dw = 1, .group = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
    check_conv(&s4, NULL, 1, 0.f);
}

static void test_conv_depthwise(void **state)
{
    /* stride 1 and 2, widths around the 16-lane vector, with and without pads */
    int64_t widths[] = {5, 16, 17, 35};
    for (int i = 0; i < 4; i++)
        for (int64_t stv = 1; stv <= 2; stv++) {
            struct cspec s = {.N = 2, .C = 4, .H = 6, .W = widths[i], .O = 4, .kh = 3, .kw = 3,
                              .sh = stv, .sw = stv, .dh = 1, .dw = 1, .group = 4,
                              .pt = 1, .pl = 1, .pb = 1, .pr = 1};
            check_conv(&s, NULL, 1, 0.f);
            s.pt = s.pl = 0;
            check_conv(&s, NULL, 0, 0.f);
        }
}

static void test_conv_grouped_dilated(void **state)
{
    struct cspec s = {.N = 1, .C = 4, .H = 9, .W = 10, .O = 6, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                      .dh = 2, .dw = 3, .group = 2, .pt = 2, .pl = 3, .pb = 1, .pr = 0};
    check_conv(&s, NULL, 1, 0.f);
    /* depthwise with channel multiplier 2 (group = C, O = 2C) */
    struct cspec m = {.N = 1, .C = 3, .H = 5, .W = 5, .O = 6, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                      .dh = 1, .dw = 1, .group = 3, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
    check_conv(&m, NULL, 1, 0.f);
}

static void test_conv_pointwise(void **state)
{
    /* 1x1: the no-im2col path, odd sizes for the register-block tails */
    struct cspec s = {.N = 3, .C = 5, .H = 7, .W = 9, .O = 11, .kh = 1, .kw = 1, .sh = 1, .sw = 1,
                      .dh = 1, .dw = 1, .group = 1};
    check_conv(&s, NULL, 1, 0.f);
    /* pixel counts around the 48- and 16-pixel blocks, channels around the 8-row panel */
    int64_t hw[][2] = {{1, 1}, {7, 7}, {4, 12}, {7, 7 * 7}, {1, 17}};
    int64_t oc[] = {1, 8, 9, 17};
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++) {
            struct cspec t = {.N = 1, .C = 19, .H = hw[i][0], .W = hw[i][1], .O = oc[j], .kh = 1, .kw = 1,
                              .sh = 1, .sw = 1, .dh = 1, .dw = 1, .group = 1};
            check_conv(&t, NULL, j % 2, 0.f);
        }
}

static void test_conv_auto_pad(void **state)
{
    /* SAME_UPPER, in 7, k 3, s 2: out 4, total pad (4-1)*2+3-7 = 2 -> 1 / 1;
     * in 8: out 4, total 1 -> UPPER puts it at the end, LOWER at the start */
    struct cspec up = {.N = 1, .C = 2, .H = 7, .W = 8, .O = 3, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
                       .dh = 1, .dw = 1, .group = 1, .pt = 1, .pl = 0, .pb = 1, .pr = 1};
    check_conv(&up, "SAME_UPPER", 1, 0.f);
    struct cspec lo = up;
    lo.pl = 1;
    lo.pr = 0;
    check_conv(&lo, "SAME_LOWER", 1, 0.f);
    struct cspec va = up;
    va.pt = va.pl = va.pb = va.pr = 0;
    check_conv(&va, "VALID", 1, 0.f);
}

static void test_conv_pad_value(void **state)
{
    /* the hook's pad value is what implicit padding reads, in every conv path */
    struct cspec s = {.N = 1, .C = 3, .H = 5, .W = 6, .O = 2, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                      .dh = 1, .dw = 1, .group = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
    check_conv(&s, NULL, 1, 0.37f);
    struct cspec d = {.N = 1, .C = 3, .H = 5, .W = 20, .O = 3, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
                      .dh = 1, .dw = 1, .group = 3, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
    check_conv(&d, NULL, 1, -0.25f);
}

/* ---- Gemm / MatMul ------------------------------------------------------------------- */

static void check_gemm_shape(int transB, int matmul, float alpha, float beta, int64_t K, int64_t O)
{
    const int64_t N = 3;
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[2] = {1, K}, wd[2] = {transB ? O : K, transB ? K : O};
    float *x = mb_randv((size_t)(N * K), 4), *w = mb_randv((size_t)(K * O), 5), *c = mb_randv((size_t)O, 6);
    mb_input(&b, "x", 2, xd);
    mb_init_f(&b, "B", 2, wd, w);
    if (matmul) {
        mb_node(&b, "MatMul", "mm", "x,B", "y");
    } else {
        mb_init_f(&b, "C", 1, &O, c);
        Onnx__NodeProto *n = mb_node(&b, "Gemm", "fc", "x,B,C", "y");
        mb_attr_i(&b, n, "transB", transB);
        mb_attr_f(&b, n, "alpha", alpha);
        mb_attr_f(&b, n, "beta", beta);
    }
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    const struct zp_layer_info *li = zp_graph_layer(g, 0);
    assert_int_equal(li->wshape[0], O); /* always [O, I] */
    assert_int_equal(li->wshape[1], K);
    assert_int_equal(li->n_out, O);
    float *y = malloc((size_t)(N * O) * sizeof *y), *want = malloc((size_t)(N * O) * sizeof *want);
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < O; o++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += (double)x[n * K + k] * (transB ? w[o * K + k] : w[k * O + o]);
            want[n * O + o] = (float)(matmul ? acc : alpha * acc + beta * c[o]);
        }
    const int saved = zp_cpu_limit();
    int lims[3], nl = isa_limits(lims);
    const float *hw[1] = {li->weight}; /* the same values through a hook: plain rows */
    for (int run = 0; run < 2 * nl; run++) {
        zp_cpu_set_limit(lims[run / 2]);
        struct zp_run_hooks h = {.weights = run % 2 ? hw : NULL};
        float *wrow = NULL;
        if (run % 2) { /* a copy, so the pointer differs from the graph's own */
            wrow = malloc((size_t)(K * O) * sizeof *wrow);
            memcpy(wrow, li->weight, (size_t)(K * O) * sizeof *wrow);
            hw[0] = wrow;
        }
        memset(y, 0, (size_t)(N * O) * sizeof *y);
        mb_run(g, x, (int)N, y, &h);
        mb_assert_close(y, want, (size_t)(N * O), 1e-5);
        free(wrow);
    }
    zp_cpu_set_limit(saved);
    free(x); free(w); free(c); free(y); free(want);
    zp_graph_free(g);
}

static void check_gemm(int transB, int matmul, float alpha, float beta)
{
    check_gemm_shape(transB, matmul, alpha, beta, 7, 5);
    /* K around 4-k unroll and the 16/32-k vectors, O around the 8-row panels */
    check_gemm_shape(transB, matmul, alpha, beta, 37, 17);
    check_gemm_shape(transB, matmul, alpha, beta, 64, 8);
    check_gemm_shape(transB, matmul, alpha, beta, 1, 1);
}

static void test_gemm(void **state)
{
    check_gemm(0, 0, 1.f, 1.f);
    check_gemm(1, 0, 1.f, 1.f);
    check_gemm(1, 0, 0.5f, 2.f);
    check_gemm(0, 1, 1.f, 1.f);
}

/* ---- the runtime runs the dispatched kernels ------------------------------------------ */

/* A Conv 3x3 (im2col, stride 2), a depthwise 3x3 and a Gemm; after zp_graph_run
 * the selected variant of each kind has counted exactly the calls this graph
 * makes (one conv GEMM per im2col band, one dwplane per channel, one copy_s2
 * rows call per (channel, ky, kx) of im2col, one conv GEMM for the Gemm), and no
 * other variant any. */
static void test_runtime_calls_dispatched(void **state)
{
    const int saved = zp_cpu_limit();
    int lims[3], nl = isa_limits(lims);
    for (int li = 0; li < nl; li++) {
        zp_cpu_set_limit(lims[li]);
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[4] = {1, 2, 8, 40}, w1d[4] = {4, 2, 3, 3}, w2d[4] = {4, 1, 3, 3}, fd[2] = {4 * 4 * 20, 3};
        float *w1 = mb_randv(72, 1), *w2 = mb_randv(36, 2), *wf = mb_randv(4 * 4 * 20 * 3, 3), *x = mb_randv(640 * 2, 4);
        mb_input(&b, "x", 4, xd);
        mb_init_f(&b, "w1", 4, w1d, w1);
        mb_init_f(&b, "w2", 4, w2d, w2);
        mb_init_f(&b, "wf", 2, fd, wf);
        int64_t s2[2] = {2, 2}, s1[2] = {1, 1}, p1[4] = {1, 1, 1, 1};
        Onnx__NodeProto *c1 = mb_node(&b, "Conv", "c1", "x,w1", "a");
        mb_attr_ints(&b, c1, "strides", 2, s2);
        mb_attr_ints(&b, c1, "pads", 4, p1);
        Onnx__NodeProto *c2 = mb_node(&b, "Conv", "dw", "a,w2", "d");
        mb_attr_ints(&b, c2, "strides", 2, s1);
        mb_attr_ints(&b, c2, "pads", 4, p1);
        mb_attr_i(&b, c2, "group", 4);
        mb_node(&b, "Flatten", "fl", "d", "f");
        mb_node(&b, "MatMul", "fc", "f,wf", "y");
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_ok(&b);
        float y[6];
        const struct zp_rt_ukernel *conv = zp_rt_select(ZP_RK_CONV, -1), *dwp = zp_rt_select(ZP_RK_DWPLANE, -1),
                                   *s2k = zp_rt_select(ZP_RK_COPY_S2, -1);
        zp_rt_calls_reset();
        mb_run(g, x, 2, y, NULL);
        /* c1: 4x20 output, K = 18: one band (18 x 20 x 4 floats fit the band budget);
         * copy_s2: one call per (c, ky, kx) for the rows whose input row is inside
         * (every (c, ky, kx) has some: 2 x 3 x 3) */
        assert_int_equal(zp_rt_calls(conv), 2 * (1 + 1));
        assert_int_equal(zp_rt_calls(dwp), 2 * 4);
        assert_int_equal(zp_rt_calls(s2k), 2 * (2 * 3 * 3));
        size_t nk;
        const struct zp_rt_ukernel *t = zp_rt_ukernels(&nk);
        for (size_t i = 0; i < nk; i++)
            if (&t[i] != conv && &t[i] != dwp && &t[i] != s2k)
                assert_int_equal(zp_rt_calls(&t[i]), 0);
        assert_int_equal(zp_model_isa(), (int)conv->isa);
        zp_graph_free(g);
        free(w1); free(w2); free(wf); free(x);
    }
    zp_cpu_set_limit(saved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_padded_strided),
        cmocka_unit_test(test_conv_depthwise),
        cmocka_unit_test(test_conv_grouped_dilated),
        cmocka_unit_test(test_conv_pointwise),
        cmocka_unit_test(test_conv_auto_pad),
        cmocka_unit_test(test_conv_pad_value),
        cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_runtime_calls_dispatched),
    };
    return ZP_RUN_TESTS(tests);
}
