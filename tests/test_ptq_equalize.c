/* Cross-layer equalization and high-bias absorption (ptq/): known answers on
 * small layers, equal per-channel ranges after equalization, and the float
 * network unchanged (to rounding) by both passes, on graphs built here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/graph.h"
#include "ptq/bias_absorb.h"
#include "ptq/equalize.h"
#include "tests/onnx_builder.h"
#include "tests/util.h"

static void assert_rel(double got, double want, double tol, const char *what)
{
    if (!zp_test_close(got, want, tol))
        fail_msg("%s: got %.9g, want %.9g", what, got, want);
}

/* Two 1x1 layers: a's channel ranges 4 and 1, b's input-channel ranges 1 and 4:
 * s = sqrt(r1 / r2) = 2 and 0.5, and both sides end at range 2. */
static void test_pair_known_answer(void **state)
{
    (void)state;
    float wa[4] = {4.f, -2.f, 0.5f, -1.f}, ba[2] = {8.f, 1.f};
    float wb[6] = {1.f, -4.f, 0.5f, 2.f, -0.25f, 1.f}; /* [3 out, 2 in] */
    struct zp_cle_layer a = {wa, ba, 2, 2, 1, 0, NULL}, b = {wb, NULL, 3, 2, 1, 0, NULL};
    float s[2], ra[2], rb[2];
    double change = zp_cle_pair(&a, &b, s);
    assert_rel(s[0], 2.0, 1e-6, "s[0]");
    assert_rel(s[1], 0.5, 1e-6, "s[1]");
    assert_rel(change, log(2.0), 1e-6, "largest |ln s|");
    zp_cle_out_ranges(&a, ra);
    zp_cle_in_ranges(&b, rb);
    for (int i = 0; i < 2; i++) {
        assert_rel(ra[i], 2.0, 1e-6, "a's range");
        assert_rel(rb[i], 2.0, 1e-6, "b's range");
    }
    assert_rel(ba[0], 4.0, 1e-6, "a's bias / s");
    assert_rel(ba[1], 2.0, 1e-6, "a's bias / s");
    assert_rel(wb[0], 2.0, 1e-6, "b's weight * s");
    assert_rel(wb[1], -2.0, 1e-6, "b's weight * s");
    /* equal already: nothing moves */
    assert_true(zp_cle_pair(&a, &b, s) < 1e-6);
}

/* A dead channel on one side (all-zero weights) leaves the other side free: it is
 * brought to the widest equalized range (2 here), the function unchanged. */
static void test_pair_dead_channel(void **state)
{
    (void)state;
    float wa[3] = {4.f, 0.f, 10.f}, ba[3] = {1.f, 3.f, 0.f};
    float wb[3] = {1.f, 8.f, 0.f}; /* [1 out, 3 in]: input 2 ignored */
    float hi[3] = {6.f, 6.f, 6.f};
    struct zp_cle_layer a = {wa, ba, 3, 1, 1, 0, hi}, b = {wb, NULL, 1, 3, 1, 0, NULL};
    float s[3];
    zp_cle_pair(&a, &b, s);
    assert_rel(s[0], 2.0, 1e-6, "live channel: sqrt(4 / 1)");
    assert_rel(s[1], 0.25, 1e-6, "dead in a: 2 / 8");
    assert_rel(s[2], 5.0, 1e-6, "ignored by b: 10 / 2");
    assert_rel(wb[1], 2.0, 1e-6, "b's input 1 at range 2");
    assert_rel(ba[1], 12.0, 1e-6, "a's constant output 3 / 0.25");
    assert_rel(wa[2], 2.0, 1e-6, "a's channel 2 at range 2");
    assert_rel(hi[0], 3.0, 1e-6, "the clamp moves with the channel: 6 / 2");
    assert_rel(hi[1], 24.0, 1e-6, "6 / 0.25");
    assert_true(wb[2] == 0.f);
}

static float *spread_channels(size_t n, int64_t per, unsigned seed)
{
    float *w = mb_randv(n, seed);
    for (size_t i = 0; i < n; i++) /* channel ranges over five decades */
        w[i] *= powf(10.f, (float)((i / (size_t)per) % 5) - 2.f);
    return w;
}

/* conv (5 -> 7, 3x3) -> depthwise (7, 3x3) -> conv (7 -> 4, 1x1), ragged sizes:
 * swept to convergence, the three ranges of every channel are equal. */
static void test_chain_ranges_equal(void **state)
{
    (void)state;
    enum { I = 5, C = 7, O = 4 };
    float *w0 = spread_channels(C * I * 9, I * 9, 1), *w1 = spread_channels(C * 9, 9, 2),
          *w2 = mb_randv(O * C, 3);
    struct zp_cle_layer L[3] = {{w0, NULL, C, I, 9, 0, NULL}, {w1, NULL, C, 1, 9, 1, NULL},
                                {w2, NULL, O, C, 1, 0, NULL}};
    int first[2] = {0, 1}, second[2] = {1, 2};
    double last;
    int sweeps = zp_cle_run(L, first, second, 2, 1e-7, 500, &last);
    assert_true(sweeps < 500);
    assert_true(last < 1e-7);
    float r0[C], r1[C], r1in[C], r2[C];
    zp_cle_out_ranges(&L[0], r0);
    zp_cle_out_ranges(&L[1], r1);
    zp_cle_in_ranges(&L[1], r1in);
    zp_cle_in_ranges(&L[2], r2);
    for (int c = 0; c < C; c++) {
        assert_rel(r0[c], r1in[c], 1e-5, "conv out vs depthwise in");
        assert_rel(r1[c], r2[c], 1e-5, "depthwise out vs conv in");
        assert_rel(r0[c], r2[c], 1e-5, "first vs last");
    }
    free(w0), free(w1), free(w2);
}

static void test_absorb_amounts(void **state)
{
    (void)state;
    double mean[3] = {5, 1, 4}, sd[3] = {1, 1, 0.5};
    float c[3];
    zp_hba_amounts(mean, sd, 3, c);
    assert_rel(c[0], 2.0, 1e-7, "5 - 3 x 1");
    assert_true(c[1] == 0.f); /* 1 - 3 < 0 */
    assert_rel(c[2], 2.5, 1e-7, "4 - 3 x 0.5");
    /* statistics of channel-major outputs */
    struct zp_hba_stats s;
    assert_true(zp_hba_stats_init(&s, 2));
    float y[6] = {1, 2, 3, -1, -1, -1};
    zp_hba_stats_add(&s, y, 3);
    double m[2], d[2];
    zp_hba_stats_result(&s, m, d);
    assert_rel(m[0], 2.0, 1e-12, "mean");
    assert_rel(d[0], sqrt(2.0 / 3.0), 1e-12, "std");
    assert_rel(m[1], -1.0, 1e-12, "mean");
    assert_true(d[1] < 1e-12);
    zp_hba_stats_free(&s);
}

/* A small network of every joint equalization crosses: conv 3x3 (3 -> 6) +
 * Clip(0, 6), depthwise 3x3 + Relu, conv 1x1 (6 -> 5) with no activation, conv 1x1
 * (5 -> 4) + Clip(0, 4) (not scale-free: no pair after it), conv 1x1 (4 -> 3),
 * global average pool. */
static struct zp_graph *small_net(float scale_first)
{
    enum { HW = 6 };
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 3, HW, HW}, p1[4] = {1, 1, 1, 1};
    float lo = 0.f, hi6 = 6.f, hi4 = 4.f;
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "lo", 0, NULL, &lo);
    mb_init_f(&b, "hi6", 0, NULL, &hi6);
    mb_init_f(&b, "hi4", 0, NULL, &hi4);
    float *w0 = spread_channels(6 * 3 * 9, 27, 11);
    for (int i = 0; i < 6 * 27; i++)
        w0[i] *= scale_first;
    int64_t wd0[4] = {6, 3, 3, 3}, nb = 6;
    mb_init_f(&b, "w0", 4, wd0, w0);
    float *b0 = mb_randv(6, 12);
    mb_init_f(&b, "b0", 1, &nb, b0);
    mb_attr_ints(&b, mb_node(&b, "Conv", "conv0", "x,w0,b0", "y0"), "pads", 4, p1);
    mb_node(&b, "Clip", "relu6", "y0,lo,hi6", "a0");
    mb_conv_init(&b, "w1", "b1", 6, 1, 3, 13);
    Onnx__NodeProto *n = mb_node(&b, "Conv", "dw", "a0,w1,b1", "y1");
    mb_attr_i(&b, n, "group", 6);
    mb_attr_ints(&b, n, "pads", 4, p1);
    mb_node(&b, "Relu", "relu", "y1", "a1");
    mb_conv_init(&b, "w2", "b2", 5, 6, 1, 14);
    mb_node(&b, "Conv", "project", "a1,w2,b2", "y2");
    mb_conv_init(&b, "w3", "b3", 4, 5, 1, 15);
    mb_node(&b, "Conv", "pw", "y2,w3,b3", "y3");
    mb_node(&b, "Clip", "clip4", "y3,lo,hi4", "a3");
    mb_conv_init(&b, "w4", "b4", 3, 4, 1, 16);
    mb_node(&b, "Conv", "last", "a3,w4,b4", "y4");
    mb_node(&b, "GlobalAveragePool", "gap", "y4", "y");
    mb_output(&b, "y");
    free(w0), free(b0);
    return mb_load_ok(&b);
}

/* Writable copies of every layer's weights and biases. */
static void copy_layers(const struct zp_graph *g, float **w, float **bias)
{
    for (int l = 0; l < zp_graph_num_layers(g); l++) {
        const struct zp_layer_info *li = zp_graph_layer(g, l);
        size_t n = (size_t)(li->wshape[0] * li->wshape[1] * li->wshape[2] * li->wshape[3]);
        w[l] = malloc(n * sizeof(float));
        memcpy(w[l], li->weight, n * sizeof(float));
        bias[l] = calloc((size_t)li->n_out, sizeof(float));
        if (li->bias)
            memcpy(bias[l], li->bias, (size_t)li->n_out * sizeof(float));
    }
}

static void free_layers(float **w, float **bias, int n)
{
    for (int l = 0; l < n; l++)
        free(w[l]), free(bias[l]);
}

static void test_graph_pairs(void **state)
{
    (void)state;
    struct zp_graph *g = small_net(1.f);
    assert_int_equal(zp_graph_num_layers(g), 5);
    assert_int_equal(zp_graph_layer_source(g, 0), -1); /* the graph input */
    assert_int_equal(zp_graph_layer_source(g, 1), 0);  /* through the ReLU6 */
    assert_int_equal(zp_graph_layer_source(g, 2), 1);  /* through the ReLU */
    assert_int_equal(zp_graph_layer_source(g, 3), 2);  /* nothing between */
    assert_int_equal(zp_graph_layer_source(g, 4), -1); /* Clip(0, 4) is not scale-free */
    zp_graph_free(g);
}

/* Equalized, the network computes what the model did, its ReLU6 clipping channel i
 * at 6 / s_i, and the pairs' ranges are equal. */
static void test_graph_output_unchanged(void **state)
{
    (void)state;
    struct zp_graph *g = small_net(3.f); /* conv0's outputs reach past 6 */
    enum { N = 3, L = 5 };
    float *x = mb_randv(N * 3 * 36, 21);
    float *w[L], *bias[L], *act_hi[L];
    copy_layers(g, w, bias);
    assert_true(zp_cle_relu6_clamps(g, act_hi));
    assert_true(act_hi[0] && !act_hi[1] && !act_hi[2] && !act_hi[3] && !act_hi[4]);
    struct zp_cle_report rep;
    struct zp_err err = {0};
    assert_int_equal(zp_cle_graph(g, w, bias, act_hi, &rep, &err), ZP_OK);
    assert_int_equal(rep.pairs, 3);
    assert_int_equal(rep.relu6_pairs, 1);
    assert_true(rep.last_change < 1e-6);
    int moved = 0;
    for (int c = 0; c < 6; c++)
        moved += fabsf(act_hi[0][c] - 6.f) > 0.1f;
    assert_true(moved > 0);
    float ref[N * 3], got[N * 3], fixed6[N * 3];
    struct zp_run_hooks h = {.act_hi = (const float *const *)act_hi,
        .weights = (const float *const *)w, .biases = (const float *const *)bias};
    mb_run(g, x, N, ref, NULL);
    mb_run(g, x, N, got, &h);
    mb_assert_close(got, ref, N * 3, 1e-4);
    /* with the clip left at 6 the equalized network would differ: the clamps matter */
    h.act_hi = NULL;
    mb_run(g, x, N, fixed6, &h);
    double diff = 0;
    for (int i = 0; i < N * 3; i++)
        diff = fmax(diff, fabs(fixed6[i] - ref[i]));
    assert_true(diff > 1e-3);
    /* the ranges of the depthwise layer's channels meet both neighbours' */
    struct zp_cle_layer c0, c1, c2;
    assert_true(zp_cle_layer_of(g, 0, w[0], bias[0], NULL, &c0) &&
                zp_cle_layer_of(g, 1, w[1], bias[1], NULL, &c1) &&
                zp_cle_layer_of(g, 2, w[2], bias[2], NULL, &c2));
    float r0[6], r1[6], r1o[6], r2[6];
    zp_cle_out_ranges(&c0, r0);
    zp_cle_in_ranges(&c1, r1);
    zp_cle_out_ranges(&c1, r1o);
    zp_cle_in_ranges(&c2, r2);
    for (int c = 0; c < 6; c++) {
        assert_rel(r0[c], r1[c], 1e-4, "conv0 out vs dw in");
        assert_rel(r1o[c], r2[c], 1e-4, "dw out vs project in");
    }
    free_layers(w, bias, L);
    for (int l = 0; l < L; l++)
        free(act_hi[l]);
    free(x);
    zp_graph_free(g);
}

/* Absorption into a 1x1 layer (no padding) where every pre-activation is above
 * c: the output is unchanged and the first layer's bias went down by c. */
static void test_absorb_output_unchanged(void **state)
{
    (void)state;
    enum { N = 4, C = 6, O = 3, HW = 5 };
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 2, HW, HW}, wd0[4] = {C, 2, 1, 1}, nc = C;
    mb_input(&b, "x", 4, xd);
    float w0[C * 2], b0[C];
    for (int i = 0; i < C; i++) {
        w0[2 * i] = 0.1f * (float)(i + 1);
        w0[2 * i + 1] = -0.05f * (float)i;
        b0[i] = 3.f + (float)i; /* inputs in [-1, 1]: pre-activations well above 0 */
    }
    mb_init_f(&b, "w0", 4, wd0, w0);
    mb_init_f(&b, "b0", 1, &nc, b0);
    mb_node(&b, "Conv", "a", "x,w0,b0", "y0");
    mb_node(&b, "Relu", "relu", "y0", "a0");
    mb_conv_init(&b, "w1", "b1", O, C, 1, 41);
    mb_node(&b, "Conv", "b", "a0,w1,b1", "y1");
    mb_node(&b, "GlobalAveragePool", "gap", "y1", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    float *x = mb_randv(N * 2 * HW * HW, 42);
    float *w[2], *bias[2];
    copy_layers(g, w, bias);
    /* the statistics of layer a's pre-activation, straight from its weights */
    struct zp_hba_stats s;
    assert_true(zp_hba_stats_init(&s, C));
    float y0[C * HW * HW];
    for (int n = 0; n < N; n++) {
        for (int c = 0; c < C; c++)
            for (int p = 0; p < HW * HW; p++) {
                const float *xi = x + n * 2 * HW * HW;
                y0[c * HW * HW + p] = w0[2 * c] * xi[p] + w0[2 * c + 1] * xi[HW * HW + p] + b0[c];
            }
        zp_hba_stats_add(&s, y0, HW * HW);
    }
    double mean[C], sd[C];
    float amt[C];
    zp_hba_stats_result(&s, mean, sd);
    zp_hba_amounts(mean, sd, C, amt);
    struct zp_cle_layer la, lb;
    assert_true(zp_cle_layer_of(g, 0, w[0], bias[0], NULL, &la) &&
                zp_cle_layer_of(g, 1, w[1], bias[1], NULL, &lb));
    zp_hba_absorb(&la, &lb, amt);
    for (int c = 0; c < C; c++) {
        assert_true(amt[c] > 1.f);
        assert_rel(bias[0][c], b0[c] - amt[c], 1e-6, "a's bias - c");
    }
    float ref[N * O], got[N * O];
    struct zp_run_hooks h = {.weights = (const float *const *)w, .biases = (const float *const *)bias};
    mb_run(g, x, N, ref, NULL);
    mb_run(g, x, N, got, &h);
    mb_assert_close(got, ref, N * O, 1e-5);
    zp_hba_stats_free(&s);
    free_layers(w, bias, 2);
    free(x);
    zp_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pair_known_answer),
        cmocka_unit_test(test_pair_dead_channel),
        cmocka_unit_test(test_chain_ranges_equal),
        cmocka_unit_test(test_absorb_amounts),
        cmocka_unit_test(test_graph_pairs),
        cmocka_unit_test(test_graph_output_unchanged),
        cmocka_unit_test(test_absorb_output_unchanged),
    };
    return ZP_RUN_TESTS(tests);
}
