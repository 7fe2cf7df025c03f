/* Every operator of the float runtime against naive loops written here, on tiny
 * models built message by message with protobuf-c (the same structures an ONNX
 * exporter writes), packed to bytes and loaded through zp_onnx_load_buffer.
 * Convolutions run twice: through the AVX-512 kernels (when the CPU has them)
 * and through the portable ones.
 *
 * This file: elementwise, pooling and shape operators, BatchNormalization, the runtime hooks, load errors. */
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

/* ---- elementwise, pooling, shape ops ------------------------------------------------ */

static void test_add_mul_broadcast(void **state)
{
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 2, 3, 4}, cd[3] = {2, 1, 1}, rd[1] = {4};
    float cv[2] = {10.f, -1.f}, rv[4] = {1.f, 2.f, 3.f, 4.f};
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "c", 3, cd, cv);
    mb_init_f(&b, "r", 1, rd, rv);
    mb_node(&b, "Add", "add_c", "x,c", "a");  /* per-channel constant */
    mb_node(&b, "Mul", "mul_r", "r,a", "m");  /* constant first, broadcast along W */
    mb_node(&b, "Add", "add_xx", "m,x", "y"); /* two activations */
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    float *x = mb_randv(48, 7), y[48], want[48];
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 4; j++) {
                    int k = ((n * 2 + c) * 3 + i) * 4 + j;
                    want[k] = rv[j] * (x[k] + cv[c]) + x[k];
                }
    mb_run(g, x, 2, y, NULL);
    mb_assert_close(y, want, 48, 1e-6);
    free(x);
    zp_graph_free(g);
}

static void test_relu_clip(void **state)
{
    /* opset 6: Clip with attributes; opset 13: Clip with (min, max) inputs */
    for (int form = 0; form < 2; form++) {
        struct mb b;
        mb_begin(&b, form ? 13 : 6);
        int64_t xd[2] = {1, 8};
        mb_input(&b, "x", 2, xd);
        Onnx__NodeProto *n;
        if (form) {
            float lo = -0.25f, hi = 0.5f;
            mb_init_f(&b, "lo", 0, NULL, &lo);
            mb_init_f(&b, "hi", 0, NULL, &hi);
            n = mb_node(&b, "Clip", "clip", "x,lo,hi", "c");
        } else {
            n = mb_node(&b, "Clip", "clip", "x", "c");
            mb_attr_f(&b, n, "min", -0.25f);
            mb_attr_f(&b, n, "max", 0.5f);
        }
        mb_node(&b, "Relu", "relu", "x", "r");
        mb_node(&b, "Add", "sum", "c,r", "y");
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_ok(&b);
        float *x = mb_randv(16, 8), y[16], want[16];
        for (int i = 0; i < 16; i++)
            want[i] = fminf(fmaxf(x[i], -0.25f), 0.5f) + fmaxf(x[i], 0.f);
        mb_run(g, x, 2, y, NULL);
        mb_assert_close(y, want, 16, 1e-6);
        free(x);
        zp_graph_free(g);
    }
}

static void test_pools(void **state)
{
    const int64_t C = 2, H = 5;
    for (int variant = 0; variant < 4; variant++) {
        int maxpool = variant == 0, cip = variant == 2, ceil_mode = variant == 3;
        /* ceil mode: W 7, kernel 2, stride 2, no right pad: room 5 -> 4 columns, the
         * last window (start 6) still starts inside the input */
        int64_t W = ceil_mode ? 7 : 6, pt = 1, pl = 0, pb = 1, pr = ceil_mode ? 0 : 1;
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[4] = {1, C, H, W}, ks[2] = {3, 2}, st[2] = {2, 2}, pd[4] = {pt, pl, pb, pr};
        mb_input(&b, "x", 4, xd);
        Onnx__NodeProto *n = mb_node(&b, maxpool ? "MaxPool" : "AveragePool", "pool", "x", "y");
        mb_attr_ints(&b, n, "kernel_shape", 2, ks);
        mb_attr_ints(&b, n, "strides", 2, st);
        mb_attr_ints(&b, n, "pads", 4, pd);
        if (!maxpool)
            mb_attr_i(&b, n, "count_include_pad", cip);
        if (ceil_mode)
            mb_attr_i(&b, n, "ceil_mode", 1);
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_ok(&b);
        /* rows floor((5+2-3)/2)+1 = 3; cols floor((6+1-2)/2)+1 = 3, ceil mode 4 */
        int64_t OH = 3, OW = ceil_mode ? 4 : 3;
        assert_int_equal(zp_graph_output_size(g), C * OH * OW);
        float *x = mb_randv((size_t)(C * H * W), 9), y[64], want[64];
        for (int64_t c = 0; c < C; c++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    double s = 0, m = -INFINITY;
                    int cnt = 0, cntpad = 0;
                    for (int64_t ky = 0; ky < 3; ky++)
                        for (int64_t kx = 0; kx < 2; kx++) {
                            int64_t iy = oy * 2 + ky - pt, ix = ox * 2 + kx - pl;
                            if (iy >= -pt && iy < H + pb && ix >= -pl && ix < W + pr)
                                cntpad++; /* inside the padded frame */
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                continue;
                            float v = x[(c * H + iy) * W + ix];
                            s += v;
                            m = v > m ? v : m;
                            cnt++;
                        }
                    want[(c * OH + oy) * OW + ox] = (float)(maxpool ? m : s / (cip ? cntpad : cnt));
                }
        mb_run(g, x, 1, y, NULL);
        mb_assert_close(y, want, (size_t)(C * OH * OW), 1e-6);
        free(x);
        zp_graph_free(g);
    }
}

static void test_gap_flatten_softmax(void **state)
{
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 3, 2, 2};
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "GlobalAveragePool", "gap", "x", "g");
    mb_node(&b, "Flatten", "flat", "g", "f");
    mb_node(&b, "Identity", "id", "f", "i");
    mb_node(&b, "Dropout", "drop", "i", "d");
    mb_node(&b, "Softmax", "sm", "d", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    assert_int_equal(zp_graph_output_size(g), 3);
    float x[24], y[6], want[6];
    for (int i = 0; i < 24; i++)
        x[i] = (float)(i % 7) * 0.5f - 1.f;
    for (int n = 0; n < 2; n++) {
        double m[3], s = 0;
        for (int c = 0; c < 3; c++) {
            m[c] = 0;
            for (int k = 0; k < 4; k++)
                m[c] += x[(n * 3 + c) * 4 + k] / 4.0;
            s += exp(m[c]);
        }
        for (int c = 0; c < 3; c++)
            want[n * 3 + c] = (float)(exp(m[c]) / s);
    }
    mb_run(g, x, 2, y, NULL);
    mb_assert_close(y, want, 6, 1e-6);
    zp_graph_free(g);
}

static void test_reshape(void **state)
{
    /* [N,2,3,2] -> Reshape [0,-1,4] -> [N,3,4] -> Reshape [-1,12] -> MatMul with a
     * reversing permutation: the element order survives both reshapes */
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 2, 3, 2}, s1[3] = {0, -1, 4}, s2[2] = {-1, 12}, wd[2] = {12, 12};
    float eye[144] = {0};
    for (int i = 0; i < 12; i++)
        eye[i * 12 + (11 - i)] = 1.f; /* reverses the order */
    mb_input(&b, "x", 4, xd);
    mb_init_i64(&b, "s1", 3, s1);
    mb_init_i64(&b, "s2", 2, s2);
    mb_init_f(&b, "w", 2, wd, eye);
    mb_node(&b, "Reshape", "r1", "x,s1", "a");
    mb_node(&b, "Reshape", "r2", "a,s2", "b");
    mb_node(&b, "MatMul", "mm", "b,w", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    float *x = mb_randv(24, 10), y[24], want[24];
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < 12; i++)
            want[n * 12 + i] = x[n * 12 + 11 - i];
    mb_run(g, x, 2, y, NULL);
    mb_assert_close(y, want, 24, 1e-6);
    free(x);
    zp_graph_free(g);
}

/* BN after a Conv folds into it; BN after an Add stays a per-channel affine. Both
 * must equal conv -> (x - mean) / sqrt(var + eps) * scale + B. */
static void test_batchnorm(void **state)
{
    const int64_t C = 3, H = 4, W = 5;
    float scale[3] = {1.5f, -0.5f, 2.f}, bb[3] = {0.1f, 0.2f, -0.3f}, mean[3] = {0.3f, -0.2f, 0.f},
          var[3] = {0.5f, 2.f, 0.04f};
    const float eps = 1e-3f;
    for (int standalone = 0; standalone < 2; standalone++) {
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[4] = {1, C, H, W}, wd[4] = {C, C, 1, 1};
        float *w = mb_randv(9, 11);
        mb_input(&b, "x", 4, xd);
        mb_init_f(&b, "w", 4, wd, w);
        mb_init_f(&b, "s", 1, &C, scale);
        mb_init_f(&b, "bb", 1, &C, bb);
        mb_init_f(&b, "m", 1, &C, mean);
        mb_init_f(&b, "v", 1, &C, var);
        mb_node(&b, "Conv", "conv", "x,w", "c");
        if (standalone)
            mb_node(&b, "Add", "twice", "c,c", "c2");
        Onnx__NodeProto *n =
            mb_node(&b, "BatchNormalization", "bn", standalone ? "c2,s,bb,m,v" : "c,s,bb,m,v", "y");
        mb_attr_f(&b, n, "epsilon", eps);
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_ok(&b);
        const struct zp_layer_info *li = zp_graph_layer(g, 0);
        if (!standalone) { /* folded: weight scaled, bias created */
            assert_non_null(li->bias);
            double k0 = scale[0] / sqrt(var[0] + eps);
            assert_true(fabs(li->weight[0] - w[0] * k0) < 1e-5);
            assert_true(fabs(li->bias[0] - (bb[0] - mean[0] * k0)) < 1e-5);
        }
        float *x = mb_randv((size_t)(2 * C * H * W), 12), y[120], want[120];
        for (int64_t n2 = 0; n2 < 2; n2++)
            for (int64_t o = 0; o < C; o++)
                for (int64_t p = 0; p < H * W; p++) {
                    double acc = 0;
                    for (int64_t c = 0; c < C; c++)
                        acc += (double)w[o * C + c] * x[(n2 * C + c) * H * W + p];
                    if (standalone)
                        acc *= 2;
                    want[(n2 * C + o) * H * W + p] =
                        (float)((acc - mean[o]) / sqrt(var[o] + eps) * scale[o] + bb[o]);
                }
        mb_run(g, x, 2, y, NULL);
        mb_assert_close(y, want, 120, 1e-5);
        free(x);
        free(w);
        zp_graph_free(g);
    }
}

/* ---- hooks ------------------------------------------------------------------------ */

struct hook_log {
    int inputs, outputs;
    int in_parallel;     /* a callback ran inside an OpenMP parallel region */
    float min_pre;       /* smallest pre-activation output seen */
    float x0;            /* first input value seen by layer 0 */
};

static void h_in(void *ctx, int layer, float *x, int batch)
{
    struct hook_log *l = ctx;
    l->inputs++;
    l->in_parallel |= omp_in_parallel();
    if (layer == 0) {
        l->x0 = x[0];
        for (int i = 0; i < batch * 8; i++) /* writable copy: zero it */
            x[i] = 0.f;
    }
}

static void h_out(void *ctx, int layer, const float *y, int batch)
{
    struct hook_log *l = ctx;
    l->outputs++;
    l->in_parallel |= omp_in_parallel();
    for (int i = 0; i < batch * 4; i++)
        l->min_pre = y[i] < l->min_pre ? y[i] : l->min_pre;
}

static void h_in_nop(void *ctx, int layer, float *x, int batch) { (void)x; }

static void test_hooks(void **state)
{
    /* Gemm(8->4, bias) -> Relu; relu_after = 1; hooks see / change what they should */
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[2] = {1, 8}, wd[2] = {4, 8}, O = 4;
    float *w = mb_randv(32, 13), bias[4] = {-1.f, -2.f, 0.5f, 1.f};
    mb_input(&b, "x", 2, xd);
    mb_init_f(&b, "w", 2, wd, w);
    mb_init_f(&b, "b", 1, &O, bias);
    Onnx__NodeProto *n = mb_node(&b, "Gemm", "fc", "x,w,b", "z");
    mb_attr_i(&b, n, "transB", 1);
    mb_node(&b, "Relu", "act", "z", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    assert_int_equal(zp_graph_layer(g, 0)->relu_after, 1);
    float *x = mb_randv(16, 14), y[8];
    struct hook_log log = {0, 0, 0, 0.f, 0.f};
    struct zp_run_hooks h = {.ctx = &log, .layer_input = h_in, .layer_output = h_out};
    mb_run(g, x, 2, y, &h);
    assert_int_equal(log.inputs, 1);
    assert_int_equal(log.outputs, 1);
    /* callbacks may use OpenMP with the whole team (the harness's quantizers do) */
    assert_int_equal(log.in_parallel, 0);
    assert_true(log.x0 == x[0]);
    assert_true(log.min_pre <= -2.f + 1e-6f); /* zeroed input: pre-activation = bias, before Relu */
    for (int i = 0; i < 2; i++)
        for (int o = 0; o < 4; o++)
            assert_true(fabsf(y[i * 4 + o] - fmaxf(bias[o], 0.f)) < 1e-6f);
    /* the caller's input is untouched */
    float *x2 = mb_randv(16, 14);
    assert_memory_equal(x, x2, 16 * sizeof(float));
    /* replacement weights and bias: all-ones weight, zero bias -> sum of inputs */
    float ones[32], zeros[4] = {0};
    for (int i = 0; i < 32; i++)
        ones[i] = 1.f;
    const float *ws[1] = {ones}, *bs[1] = {zeros};
    struct zp_run_hooks r = {.weights = ws, .biases = bs};
    mb_run(g, x, 2, y, &r);
    for (int i = 0; i < 2; i++) {
        float s = 0;
        for (int k = 0; k < 8; k++)
            s += x[i * 8 + k];
        for (int o = 0; o < 4; o++)
            assert_true(fabsf(y[i * 4 + o] - fmaxf(s, 0.f)) < 1e-5f);
    }
    free(x);
    free(x2);
    free(w);
    zp_graph_free(g);
}

static void count_out(void *ctx, int layer, const float *y, int batch) { (*(int *)ctx)++; }

static void count_out_image(void *ctx, int layer, int image, int thread, const float *y)
{
#pragma omp atomic
    (*(int *)ctx)++;
}

/* Branches around fused activations: a Relu read by a Conv and an Add, a Clip at
 * the graph output. The node-by-node schedule (with layer_output, where the
 * activations are applied late) and the fast one with a per-image output hook
 * (each layer's activation applied after the hook) must agree with the fused
 * per-image one. */
static void test_hooked_schedule_matches_fast(void **state)
{
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 2, 5, 5}, wa[4] = {2, 2, 3, 3}, wb[4] = {2, 2, 1, 1}, wf[2] = {3, 50},
            pd[4] = {1, 1, 1, 1};
    float *a = mb_randv(36, 20), *bw = mb_randv(4, 21), *f = mb_randv(150, 22), lo = -0.1f, hi = 0.1f;
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "wa", 4, wa, a);
    mb_init_f(&b, "wb", 4, wb, bw);
    mb_init_f(&b, "wf", 2, wf, f);
    mb_init_f(&b, "lo", 0, NULL, &lo);
    mb_init_f(&b, "hi", 0, NULL, &hi);
    mb_attr_ints(&b, mb_node(&b, "Conv", "conv_a", "x,wa", "ca"), "pads", 4, pd);
    mb_node(&b, "Relu", "relu_a", "ca", "ra");
    mb_node(&b, "Conv", "conv_b", "ra,wb", "cb");
    mb_node(&b, "Add", "res", "ra,cb", "s");
    mb_node(&b, "Flatten", "flat", "s", "fl");
    mb_attr_i(&b, mb_node(&b, "Gemm", "fc", "fl,wf", "z"), "transB", 1);
    mb_node(&b, "Clip", "clip", "z,lo,hi", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    assert_int_equal(zp_graph_layer(g, 0)->relu_after, 1);
    assert_int_equal(zp_graph_layer(g, 1)->relu_after, 0);
    float *x = mb_randv(150, 23), fast[9], hooked[9], only_in[9];
    int calls = 0;
    mb_run(g, x, 3, fast, NULL);
    struct zp_run_hooks h = {.ctx = &calls, .layer_output = count_out};
    mb_run(g, x, 3, hooked, &h);
    assert_int_equal(calls, 3);
    struct zp_run_hooks hi2 = {.ctx = &calls, .layer_input = h_in_nop};
    mb_run(g, x, 3, only_in, &hi2);
    float per_image[9];
    calls = 0;
    struct zp_run_hooks hp = {.ctx = &calls, .layer_output_image = count_out_image};
    mb_run(g, x, 3, per_image, &hp);
    assert_int_equal(calls, 3 * 3);
    mb_assert_close(hooked, fast, 9, 1e-6);
    mb_assert_close(only_in, fast, 9, 1e-6);
    mb_assert_close(per_image, fast, 9, 1e-6);
    int clipped = 0;
    for (int i = 0; i < 9; i++) {
        assert_true(fast[i] >= -0.1f && fast[i] <= 0.1f);
        clipped += fast[i] == -0.1f || fast[i] == 0.1f;
    }
    assert_true(clipped > 0);
    free(a); free(bw); free(f); free(x);
    zp_graph_free(g);
}

/* ---- errors ------------------------------------------------------------------------ */

static void expect_error(struct mb *b, const char *needle)
{
    struct zp_graph *g = NULL;
    struct zp_err err = {0};
    assert_int_not_equal(mb_load(b, &g, &err), ZP_OK);
    assert_null(g);
    if (!strstr(err.msg, needle)) {
        print_error("message '%s' lacks '%s'\n", err.msg, needle);
        fail();
    }
}

static void test_errors(void **state)
{
    struct mb b;
    int64_t xd[4] = {1, 3, 4, 4}, wd[4] = {2, 3, 3, 3}, bad[4] = {2, 3, 3, 3};
    float w[54] = {0};

    mb_begin(&b, 13); /* unknown operator */
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Celu", "mystery_7", "x", "y");
    mb_output(&b, "y");
    expect_error(&b, "node 'mystery_7' (Celu): operator not supported");

    mb_begin(&b, 13); /* unknown attribute */
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "w", 4, wd, w);
    mb_attr_i(&b, mb_node(&b, "Conv", "conv_3", "x,w", "y"), "foo", 1);
    mb_output(&b, "y");
    expect_error(&b, "node 'conv_3' (Conv): attribute 'foo' not supported");

    mb_begin(&b, 13); /* undefined input */
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Relu", "r", "nowhere", "y");
    mb_output(&b, "y");
    expect_error(&b, "'nowhere' is not defined");

    mb_begin(&b, 13); /* a cycle: a reads b, b reads a */
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Add", "n1", "x,b", "a");
    mb_node(&b, "Relu", "n2", "a", "b");
    mb_output(&b, "b");
    expect_error(&b, "node 'n1' (Add): input 'b' is not defined");

    mb_begin(&b, 13); /* weight / channel mismatch */
    bad[1] = 2;
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "w", 4, bad, w);
    mb_node(&b, "Conv", "c", "x,w", "y");
    mb_output(&b, "y");
    expect_error(&b, "does not match 3 input channels");

    mb_begin(&b, 13); /* raw_data size disagrees with dims */
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "w", 4, wd, w); /* raw */
    b.inits[0]->dims[0] = 3;
    mb_node(&b, "Conv", "c", "x,w", "y");
    mb_output(&b, "y");
    expect_error(&b, "tensor 'w': raw_data has 216 bytes");

    mb_begin(&b, 13); /* negative dim */
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "w", 4, wd, w);
    b.inits[0]->dims[1] = -3;
    mb_node(&b, "Conv", "c", "x,w", "y");
    mb_output(&b, "y");
    expect_error(&b, "tensor 'w': dimensions");

    mb_begin(&b, 13); /* unsupported dtype */
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "w", 4, wd, w);
    b.inits[0]->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    mb_node(&b, "Conv", "c", "x,w", "y");
    mb_output(&b, "y");
    expect_error(&b, "data type 11 not supported");

    mb_begin(&b, 13); /* kernel larger than the input */
    int64_t big[4] = {2, 3, 7, 7};
    float wb[294] = {0};
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "w", 4, big, wb);
    mb_node(&b, "Conv", "c", "x,w", "y");
    mb_output(&b, "y");
    expect_error(&b, "does not fit");

    mb_begin(&b, 13); /* output never produced */
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Relu", "r", "x", "y");
    mb_output(&b, "z");
    expect_error(&b, "graph output 'z' is not produced");

    mb_begin(&b, 13); /* Clip attributes in a new opset */
    mb_input(&b, "x", 4, xd);
    mb_attr_f(&b, mb_node(&b, "Clip", "clip9", "x", "y"), "min", 0.f);
    mb_output(&b, "y");
    expect_error(&b, "node 'clip9' (Clip)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_mul_broadcast),
        cmocka_unit_test(test_relu_clip),
        cmocka_unit_test(test_pools),
        cmocka_unit_test(test_gap_flatten_softmax),
        cmocka_unit_test(test_reshape),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_hooks),
        cmocka_unit_test(test_hooked_schedule_matches_fast),
        cmocka_unit_test(test_errors),
    };
    return ZP_RUN_TESTS(tests);
}
