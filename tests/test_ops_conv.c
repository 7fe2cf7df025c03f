/* Every operator of the float runtime against naive loops written here, on tiny
 * models built message by message with protobuf-c (the same structures an ONNX
 * exporter writes), packed to bytes and loaded through zp_onnx_load_buffer.
 * Convolutions run twice: through the AVX-512 kernels (when the CPU has them)
 * and through the portable ones.
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
static void check_conv(const struct cspec *s, const char *auto_pad, int with_bias, float pad_value)
{
    for (int portable = 0; portable < 2; portable++) {
        zp_model_portable_only = portable;
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
        struct zp_run_hooks h = {.pad_value = pv};
        mb_run(g, x, (int)s->N, y, &h);
        mb_assert_close(y, want, ny, 1e-4);
        free(x); free(w); free(bias); free(y); free(want);
        zp_graph_free(g);
    }
    zp_model_portable_only = 0;
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

static void check_gemm(int transB, int matmul, float alpha, float beta)
{
    const int64_t N = 3, K = 7, O = 5;
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
    float y[15], want[15];
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < O; o++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += (double)x[n * K + k] * (transB ? w[o * K + k] : w[k * O + o]);
            want[n * O + o] = (float)(matmul ? acc : alpha * acc + beta * c[o]);
        }
    mb_run(g, x, (int)N, y, NULL);
    mb_assert_close(y, want, (size_t)(N * O), 1e-5);
    free(x); free(w); free(c);
    zp_graph_free(g);
}

static void test_gemm(void **state)
{
    check_gemm(0, 0, 1.f, 1.f);
    check_gemm(1, 0, 1.f, 1.f);
    check_gemm(1, 0, 0.5f, 2.f);
    check_gemm(0, 1, 1.f, 1.f);
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
    };
    return ZP_RUN_TESTS(tests);
}
