/* The training graph (model/graph_train.h), operator by operator: central
 * finite-difference checks of the backward pass of every operator (input and
 * parameter gradients, tests/onnx_builder.h mb_check_grads) and of the
 * straight-through quantization points inside and outside their range. Whole
 * graphs, BN statistics, folding, determinism and the losses:
 * tests/test_graph_train.c. Inputs of kinked operators (Relu, Clip, MaxPool)
 * are kept away from the kinks (mb_kinkfree). Last, the backward's matrix
 * products run the dispatched f32 GEMM of kernels/ (its call counters). */
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
#include "model/graph_train.h"
#include "tests/onnx_builder.h"

/* ---- per operator ---------------------------------------------------------------- */

static void test_conv(void **state)
{
    (void)state;
    /* group, kernel, stride, dilation, pads, bias: standard, grouped, depthwise,
     * pointwise (the direct 1x1 path), strided + dilated + asymmetric pads */
    static const int64_t cfg[][8] = {
        {1, 3, 1, 1, 1, 1, 1, 1}, {2, 3, 2, 1, 1, 0, 1, 0}, {4, 3, 2, 1, 1, 1, 1, 1},
        {1, 1, 1, 1, 0, 0, 0, 0}, {1, 3, 2, 2, 2, 1, 0, 2}, {4, 3, 1, 2, 2, 2, 1, 2},
    };
    for (size_t k = 0; k < sizeof cfg / sizeof cfg[0]; k++) {
        const int64_t G = cfg[k][0], ks = cfg[k][1], s = cfg[k][2], d = cfg[k][3];
        const int64_t C = 4, O = G == 4 ? 4 : 6;
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[4] = {1, C, 7, 6};
        mb_input(&b, "x", 4, xd);
        mb_conv_init(&b, "w", k % 2 ? "bias" : NULL, O, C / G, ks, 10 + (unsigned)k);
        Onnx__NodeProto *n = mb_node(&b, "Conv", "conv", k % 2 ? "x,w,bias" : "x,w", "y");
        int64_t st[2] = {s, s}, dl[2] = {d, d}, pd[4] = {cfg[k][4], cfg[k][5], cfg[k][6], cfg[k][7]};
        mb_attr_i(&b, n, "group", G);
        mb_attr_ints(&b, n, "strides", 2, st);
        mb_attr_ints(&b, n, "dilations", 2, dl);
        mb_attr_ints(&b, n, "pads", 4, pd);
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_train_ok(&b);
        float *x = mb_randv(2 * C * 42, 3);
        char what[32];
        snprintf(what, sizeof what, "conv config %zu", k);
        mb_check_grads(g, x, 2, 1, what);
        free(x);
        zp_graph_free(g);
    }
}

static void test_gemm_matmul_flatten_reshape(void **state)
{
    (void)state;
    for (int mm = 0; mm < 2; mm++) {
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[4] = {1, 2, 3, 2}, wd[2] = {5, 12}, wm[2] = {12, 5}, shp[2] = {0, -1},
                five = 5;
        mb_input(&b, "x", 4, xd);
        float *w = mb_randv(60, 4), *bias = mb_randv(5, 5);
        mb_init_f(&b, "w", 2, mm ? wm : wd, w);
        mb_init_f(&b, "bias", 1, &five, bias);
        mb_init_i64(&b, "shape", 2, shp);
        if (mm) {
            mb_node(&b, "Reshape", "reshape", "x,shape", "f");
            mb_node(&b, "MatMul", "mm", "f,w", "y");
        } else {
            mb_node(&b, "Flatten", "flatten", "x", "f");
            Onnx__NodeProto *n = mb_node(&b, "Gemm", "gemm", "f,w,bias", "y");
            mb_attr_i(&b, n, "transB", 1);
            mb_attr_f(&b, n, "alpha", 0.5f);
        }
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_train_ok(&b);
        float *x = mb_randv(36, 6);
        mb_check_grads(g, x, 3, 1, mm ? "reshape + matmul" : "flatten + gemm");
        free(x);
        free(w);
        free(bias);
        zp_graph_free(g);
    }
}

static void test_add_mul_broadcast(void **state)
{
    (void)state;
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 3, 4, 5}, cd[3] = {3, 1, 1};
    float cv[3] = {0.5f, -1.5f, 2.f};
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "c", 3, cd, cv);
    mb_node(&b, "Mul", "mul_c", "x,c", "a");        /* constant, broadcast over H, W */
    mb_node(&b, "GlobalAveragePool", "gap", "a", "p"); /* [3, 1, 1] activation */
    mb_node(&b, "Add", "add_b", "a,p", "s");        /* activation broadcast */
    mb_node(&b, "Mul", "mul_b", "p,s", "m");        /* activation broadcast, first operand */
    mb_node(&b, "Mul", "square", "m,m", "q");       /* one tensor twice */
    mb_node(&b, "Add", "add_x", "q,x", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_train_ok(&b);
    float *x = mb_randv(120, 7);
    mb_check_grads(g, x, 2, 1, "add / mul broadcast");
    free(x);
    zp_graph_free(g);
}

static void test_relu_clip_softmax(void **state)
{
    (void)state;
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[2] = {1, 24};
    float lo = -0.5f, hi = 0.5f;
    mb_input(&b, "x", 2, xd);
    mb_init_f(&b, "lo", 0, NULL, &lo);
    mb_init_f(&b, "hi", 0, NULL, &hi);
    mb_node(&b, "Clip", "clip", "x,lo,hi", "c");
    mb_node(&b, "Relu", "relu", "x", "r");
    mb_node(&b, "Add", "sum", "c,r", "s");
    mb_node(&b, "Softmax", "softmax", "s", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_train_ok(&b);
    float *x = mb_kinkfree(48, 5);
    mb_check_grads(g, x, 2, 1, "relu / clip / softmax");
    free(x);
    zp_graph_free(g);
}

static void test_pools(void **state)
{
    (void)state;
    for (int k = 0; k < 4; k++) { /* max, max padded, avg exclude / include pad */
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[4] = {1, 2, 6, 7}, ks[2] = {3, 2}, st[2] = {2, 1}, pd[4] = {1, 0, 1, 1},
                p0[4] = {0, 0, 0, 0};
        mb_input(&b, "x", 4, xd);
        Onnx__NodeProto *n = mb_node(&b, k < 2 ? "MaxPool" : "AveragePool", "pool", "x", "y");
        mb_attr_ints(&b, n, "kernel_shape", 2, ks);
        mb_attr_ints(&b, n, "strides", 2, st);
        mb_attr_ints(&b, n, "pads", 4, k == 0 ? p0 : pd);
        if (k == 3)
            mb_attr_i(&b, n, "count_include_pad", 1);
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_train_ok(&b);
        float *x = mb_kinkfree(168, 11);
        char what[32];
        snprintf(what, sizeof what, "pool %d", k);
        mb_check_grads(g, x, 2, 1, what);
        free(x);
        zp_graph_free(g);
    }
}

/* BN after a Conv, kept (train and eval mode), and after an Add, loaded the
 * inference way as a fixed affine. */
static void test_batchnorm(void **state)
{
    (void)state;
    for (int kind = 0; kind < 3; kind++) {
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[4] = {1, 3, 4, 4};
        mb_input(&b, "x", 4, xd);
        mb_conv_init(&b, "w", NULL, 3, 3, 3, 21);
        mb_bn_init(&b, "bn", 3, 22);
        Onnx__NodeProto *n = mb_node(&b, "Conv", "conv", "x,w", "c");
        int64_t pd[4] = {1, 1, 1, 1};
        mb_attr_ints(&b, n, "pads", 4, pd);
        mb_node(&b, "Add", "add", "c,x", "a");
        mb_node(&b, "BatchNormalization", "bn", kind < 2 ? "c,bn_g,bn_b,bn_m,bn_v"
                                                         : "a,bn_g,bn_b,bn_m,bn_v", "y");
        mb_output(&b, "y");
        struct zp_graph *g = kind < 2 ? mb_load_train_ok(&b) : mb_load_ok(&b);
        assert_int_equal(zp_graph_num_bn(g), kind < 2);
        float *x = mb_randv(3 * 16 * 3, 23);
        mb_check_grads(g, x, 3, kind == 0, kind == 0 ? "BN train" : kind == 1 ? "BN eval" : "affine");
        free(x);
        zp_graph_free(g);
    }
}

/* ---- quantization points ------------------------------------------------------------ */

/* A "quantizer" with an infinitely fine grid: clamp to [-A, A]. Its derivative is
 * exactly the straight-through mask, so finite differences check the plumbing:
 * gradient passed inside the range, stopped outside. */
#define QA 0.5f

static enum zp_status clamp_w(void *ctx, int layer, const float *w, size_t n, float *out,
                              uint8_t *mask, struct zp_err *err)
{
    (void)err;
    (*(int *)ctx)++;
    for (size_t i = 0; i < n; i++) {
        out[i] = w[i] < -QA ? -QA : w[i] > QA ? QA : w[i];
        mask[i] = w[i] >= -QA && w[i] <= QA;
    }
    return ZP_OK;
}

static enum zp_status clamp_x(void *ctx, int layer, float *x, size_t n, int train, uint8_t *mask,
                              struct zp_err *err)
{
    (void)err;
    (*(int *)ctx)++;
    for (size_t i = 0; i < n; i++) {
        mask[i] = x[i] >= -QA && x[i] <= QA;
        x[i] = x[i] < -QA ? -QA : x[i] > QA ? QA : x[i];
    }
    return ZP_OK;
}

static void test_fake_quant(void **state)
{
    (void)state;
    for (int layer_kind = 0; layer_kind < 2; layer_kind++) {
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[4] = {1, 2, 3, 3}, wd[2] = {4, 18};
        mb_input(&b, "x", 4, xd);
        float *w = mb_kinkfree(layer_kind ? 72 : 36, 3);
        if (layer_kind) {
            mb_init_f(&b, "w", 2, wd, w);
            mb_node(&b, "Flatten", "f", "x", "xf");
            Onnx__NodeProto *n = mb_node(&b, "Gemm", "fc", "xf,w", "y");
            mb_attr_i(&b, n, "transB", 1);
        } else {
            int64_t cw[4] = {2, 2, 3, 3};
            mb_init_f(&b, "w", 4, cw, w);
            mb_node(&b, "Conv", "conv", "x,w", "y");
        }
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_train_ok(&b);
        float *x = mb_kinkfree(36, 9);
        struct zp_tgraph *t = mb_tgraph_new(g, 2);
        int calls_w = 0, calls_x = 0;
        struct zp_err err = {0};
        assert_int_equal(zp_tgraph_set_weight_fn(t, 0, clamp_w, &calls_w, &err), ZP_OK);
        assert_int_equal(zp_tgraph_set_input_fn(t, 0, clamp_x, &calls_x, &err), ZP_OK);
        assert_int_equal(zp_tgraph_set_input_fn(t, 1, clamp_x, &calls_x, &err), ZP_EINVAL);
        int64_t nout = zp_graph_output_size(g) * 2;
        float *r = mb_randv((size_t)nout, 5);
        (void)mb_tforward(t, x, 2, 1);
        assert_int_equal(calls_w, 1);
        assert_int_equal(calls_x, 1);
        zp_tgraph_zero_grad(t);
        mb_tbackward(t, r);
        const struct zp_gparam *p = zp_tgraph_param(t, 0);
        float *an = malloc(p->n * sizeof *an), gx[36];
        memcpy(an, p->g, p->n * sizeof *an);
        memcpy(gx, zp_tgraph_input_grad(t), sizeof gx);
        int outside = 0;
        for (size_t i = 0; i < p->n; i++)
            if (fabsf(p->w[i]) > QA) {
                assert_true(an[i] == 0.f); /* stopped outside */
                outside++;
            }
        for (int i = 0; i < 36; i++)
            if (fabsf(x[i]) > QA)
                assert_true(gx[i] == 0.f);
        assert_true(outside > 0 && outside < (int)p->n);
        mb_fd_compare(t, x, 2, 1, r, nout, p->w, an, p->n, "fake-quant weight");
        mb_fd_compare(t, x, 2, 1, r, nout, x, gx, 36, "fake-quant input");
        free(an);
        free(r);
        free(x);
        free(w);
        zp_tgraph_free(t);
        zp_graph_free(g);
    }
}

/* ---- the backward runs the dispatched kernel ---------------------------------------- */

/* A grouped 3x3 Conv (im2col path), Flatten and Gemm over 5 images: the backward
 * makes 2 GEMMs per image and group for the Conv (input and weight gradient) and
 * 2 per chunk of images for the Gemm (5 chunks of one image), all through the
 * variant zp_gemm_select picks: the best one the CPU has, the portable one under
 * the ISA limit ref, and no other variant any. Both runs' input gradients agree. */
static void test_backward_dispatch(void **state)
{
    (void)state;
    enum { B = 5, C = 4, O = 6, G = 2, HW = 5, NOUT = 5 };
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, C, HW, HW}, wd[2] = {NOUT, O * HW * HW}, pd[4] = {1, 1, 1, 1};
    mb_input(&b, "x", 4, xd);
    mb_conv_init(&b, "w", "bias", O, C / G, 3, 21);
    Onnx__NodeProto *n = mb_node(&b, "Conv", "conv", "x,w,bias", "c");
    mb_attr_i(&b, n, "group", G);
    mb_attr_ints(&b, n, "pads", 4, pd);
    float *wg = mb_randv((size_t)(NOUT * O * HW * HW), 22);
    mb_init_f(&b, "wg", 2, wd, wg);
    mb_node(&b, "Flatten", "flatten", "c", "f");
    Onnx__NodeProto *gm = mb_node(&b, "Gemm", "gemm", "f,wg", "y");
    mb_attr_i(&b, gm, "transB", 1);
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_train_ok(&b);
    float *x = mb_randv((size_t)(B * C * HW * HW), 23), *dy = mb_randv((size_t)(B * NOUT), 24);
    const size_t nin = (size_t)(B * C * HW * HW);
    float *gx[2] = {malloc(nin * sizeof(float)), malloc(nin * sizeof(float))};
    const int saved = zp_cpu_limit();
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            assert_int_equal(zp_cpu_set_limit(ZP_ISA_REF), 0);
        const struct zp_gemm_ukernel *want = zp_gemm_select(ZP_KF_F32, -1);
        struct zp_tgraph *t = mb_tgraph_new(g, B);
        (void)mb_tforward(t, x, B, 1);
        zp_tgraph_zero_grad(t);
        zp_f32_gemm_t_calls_reset();
        mb_tbackward(t, dy);
        memcpy(gx[pass], zp_tgraph_input_grad(t), nin * sizeof(float));
        zp_tgraph_free(t);
        size_t nk;
        const struct zp_gemm_ukernel *all = zp_gemm_ukernels(&nk);
        for (size_t i = 0; i < nk; i++) {
            if (all[i].fmt != ZP_KF_F32)
                continue;
            const uint64_t got = zp_f32_gemm_t_calls(&all[i]), exp = &all[i] == want ? 2 * B * G + 2 * B : 0;
            if (got != exp)
                fail_msg("pass %d: %s ran %llu backward GEMMs, expected %llu", pass, all[i].name,
                         (unsigned long long)got, (unsigned long long)exp);
        }
    }
    assert_int_equal(zp_cpu_set_limit(saved), 0);
    for (size_t i = 0; i < nin; i++)
        if (fabsf(gx[0][i] - gx[1][i]) > 1e-4f * (1.f + fabsf(gx[1][i])))
            fail_msg("input gradient %zu: %g with the best GEMM, %g with the portable one", i, gx[0][i], gx[1][i]);
    free(gx[0]);
    free(gx[1]);
    free(x);
    free(dy);
    free(wg);
    zp_graph_free(g);
}

/* The op pattern of the ImageNet MobileNet v1 (BN folded): a depthwise 3x3
 * stride-2 Conv with TensorFlow's asymmetric pads [0,0,1,1], Clip(0, 6) with
 * min / max as initializers, a pointwise Conv, GlobalAveragePool, Flatten and a
 * Gemm with transB = 0 (its weight stored [K, N], the layer's transposed copy)
 * and a bias. */
static void test_mobilenet_pattern(void **state)
{
    (void)state;
    enum { C = 4, O = 6, HW = 7, NOUT = 5 };
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, C, HW, HW}, st[2] = {2, 2}, pd[4] = {0, 0, 1, 1}, wd[2] = {O, NOUT},
            nb = NOUT;
    float lo = 0.f, hi = 6.f;
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "lo", 0, NULL, &lo);
    mb_init_f(&b, "hi", 0, NULL, &hi);
    mb_conv_init(&b, "wd", "bd", C, 1, 3, 31);
    Onnx__NodeProto *n = mb_node(&b, "Conv", "dw", "x,wd,bd", "d");
    mb_attr_i(&b, n, "group", C);
    mb_attr_ints(&b, n, "strides", 2, st);
    mb_attr_ints(&b, n, "pads", 4, pd);
    mb_node(&b, "Clip", "relu6_dw", "d,lo,hi", "dc");
    mb_conv_init(&b, "wp", "bp", O, C, 1, 32);
    mb_node(&b, "Conv", "pw", "dc,wp,bp", "p");
    mb_node(&b, "Clip", "relu6_pw", "p,lo,hi", "pc");
    mb_node(&b, "GlobalAveragePool", "gap", "pc", "g");
    mb_node(&b, "Flatten", "flatten", "g", "f");
    float *w = mb_randv(O * NOUT, 33), *bias = mb_randv(NOUT, 34);
    mb_init_f(&b, "wg", 2, wd, w);
    mb_init_f(&b, "bg", 1, &nb, bias);
    n = mb_node(&b, "Gemm", "fc", "f,wg,bg", "y");
    mb_attr_i(&b, n, "transB", 0);
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_train_ok(&b);
    float *x = mb_kinkfree(2 * C * HW * HW, 35);
    mb_check_grads(g, x, 2, 1, "mobilenet pattern");
    free(x);
    free(w);
    free(bias);
    zp_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv),
        cmocka_unit_test(test_gemm_matmul_flatten_reshape),
        cmocka_unit_test(test_add_mul_broadcast),
        cmocka_unit_test(test_relu_clip_softmax),
        cmocka_unit_test(test_pools),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_fake_quant),
        cmocka_unit_test(test_backward_dispatch),
        cmocka_unit_test(test_mobilenet_pattern),
    };
    return ZP_RUN_TESTS(tests);
}
