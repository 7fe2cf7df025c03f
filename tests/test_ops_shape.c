/* The shape operators: Transpose, Slice, Split, Squeeze / Unsqueeze, ReduceSum /
 * ReduceMean / ReduceMax and Concat. Forward against index arithmetic written
 * out here (the Slice indices worked out by hand from the ONNX clamping rules),
 * backward by finite differences (tests/onnx_builder.h mb_check_grads), Split,
 * a
 * squeeze-excite block pooled by ReduceMean, and the errors for what would
 * touch the batch axis. */
#include "tests/util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#include "model/graph.h"
#include "tests/onnx_builder.h"

static void check_close(const float *got, const float *want, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        if (fabsf(got[i] - want[i]) > 1e-5f * (1.f + fabsf(want[i]))) {
            print_error("%s at %d: got %.9g, want %.9g\n", what, i, (double)got[i],
                        (double)want[i]);
            fail();
        }
}

static void test_transpose(void **state)
{
    (void)state;
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 2, 3, 4}, perm[4] = {0, 2, 3, 1};
    mb_input(&b, "x", 4, xd);
    Onnx__NodeProto *n = mb_node(&b, "Transpose", "t", "x", "y");
    mb_attr_ints(&b, n, "perm", 4, perm);
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_train_ok(&b);
    float *x = mb_randv(48, 1), y[48], want[48];
    mb_run(g, x, 2, y, NULL);
    for (int im = 0; im < 2; im++)
        for (int c = 0; c < 2; c++)
            for (int h = 0; h < 3; h++)
                for (int w = 0; w < 4; w++) /* y[h][w][c] = x[c][h][w] */
                    want[im * 24 + (h * 4 + w) * 2 + c] = x[im * 24 + c * 12 + h * 4 + w];
    check_close(y, want, 48, "transpose");
    mb_check_grads(g, x, 2, 1, "transpose");
    free(x);
    zp_graph_free(g);
}

static void test_slice(void **state)
{
    (void)state;
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 3, 5, 6};
    /* axis 0 whole; axis 1: 1..2; axis 2 from -1 (4) down to -6 (before 0) by
     * -2: 4, 2, 0; axis 3: 0..5 by 2: 0, 2, 4 */
    int64_t st[4] = {0, 1, -1, 0}, en[4] = {INT64_MAX, 3, -6, 6}, ax[4] = {0, 1, 2, 3},
            sp[4] = {1, 1, -2, 2};
    mb_input(&b, "x", 4, xd);
    mb_init_i64(&b, "st", 4, st);
    mb_init_i64(&b, "en", 4, en);
    mb_init_i64(&b, "ax", 4, ax);
    mb_init_i64(&b, "sp", 4, sp);
    mb_node(&b, "Slice", "s", "x,st,en,ax,sp", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_train_ok(&b);
    assert_int_equal(zp_graph_output_size(g), 2 * 3 * 3);
    const int i1[2] = {1, 2}, i2[3] = {4, 2, 0}, i3[3] = {0, 2, 4};
    float *x = mb_randv(180, 2), y[36], want[36];
    mb_run(g, x, 2, y, NULL);
    int k = 0;
    for (int im = 0; im < 2; im++)
        for (int a = 0; a < 2; a++)
            for (int c = 0; c < 3; c++)
                for (int d = 0; d < 3; d++)
                    want[k++] = x[im * 90 + i1[a] * 30 + i2[c] * 6 + i3[d]];
    check_close(y, want, 36, "slice");
    mb_check_grads(g, x, 2, 1, "slice");
    free(x);
    zp_graph_free(g);
}

/* Squeeze then Unsqueeze (axes as inputs, opset 13, and as an attribute,
 * opset 11): the values are unchanged, the shapes are the expected ones. */
static void test_squeeze_unsqueeze(void **state)
{
    (void)state;
    for (int opset = 11; opset <= 13; opset += 2) {
        struct mb b;
        mb_begin(&b, opset);
        int64_t xd[4] = {1, 2, 1, 3}, a2 = 2, am1 = -1;
        mb_input(&b, "x", 4, xd);
        Onnx__NodeProto *s, *u;
        if (opset == 13) {
            mb_init_i64(&b, "a2", 1, &a2);
            mb_init_i64(&b, "am1", 1, &am1);
            s = mb_node(&b, "Squeeze", "sq", "x,a2", "s");
            u = mb_node(&b, "Unsqueeze", "us", "s,am1", "u");
        } else {
            s = mb_node(&b, "Squeeze", "sq", "x", "s");
            mb_attr_ints(&b, s, "axes", 1, &a2);
            u = mb_node(&b, "Unsqueeze", "us", "s", "u");
            mb_attr_ints(&b, u, "axes", 1, &am1);
        }
        int64_t one = 1;
        mb_init_i64(&b, "r1", 1, &one);
        Onnx__NodeProto *r = mb_node(&b, "ReduceSum", "sum_c", opset == 13 ? "u,r1" : "u", "y");
        if (opset != 13)
            mb_attr_ints(&b, r, "axes", 1, &one);
        mb_attr_i(&b, r, "keepdims", 0);
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_train_ok(&b);
        assert_int_equal(zp_graph_output_size(g), 3); /* [N, 2, 3, 1] summed over axis 1 */
        float *x = mb_randv(12, 3), y[6];
        mb_run(g, x, 2, y, NULL);
        for (int im = 0; im < 2; im++)
            for (int j = 0; j < 3; j++)
                assert_true(fabsf(y[im * 3 + j] - (x[im * 6 + j] + x[im * 6 + 3 + j])) < 1e-6f);
        mb_check_grads(g, x, 2, 1, "squeeze / unsqueeze");
        free(x);
        zp_graph_free(g);
    }
}

static void test_reduce(void **state)
{
    (void)state;
    /* x [N, 3, 4, 5]: Mean over (2, 3) kept, Sum over 1 dropped, Max over (1, 3) dropped */
    const char *ops[3] = {"ReduceMean", "ReduceSum", "ReduceMax"};
    const int64_t axes[3][2] = {{2, 3}, {1, 0}, {1, -1}};
    const int nax[3] = {2, 1, 2}, keep[3] = {1, 0, 0}, out[3] = {3, 20, 4};
    for (int k = 0; k < 3; k++) {
        struct mb b;
        mb_begin(&b, 18);
        int64_t xd[4] = {1, 3, 4, 5};
        mb_input(&b, "x", 4, xd);
        mb_init_i64(&b, "axes", nax[k], axes[k]);
        Onnx__NodeProto *n = mb_node(&b, ops[k], "r", "x,axes", "y");
        mb_attr_i(&b, n, "keepdims", keep[k]);
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_train_ok(&b);
        assert_int_equal(zp_graph_output_size(g), out[k]);
        float *x = mb_kinkfree(120, 4 + (unsigned)k), y[40], want[40];
        mb_run(g, x, 2, y, NULL);
        for (int im = 0; im < 2; im++) {
            const float *p = x + im * 60;
            float *q = want + im * out[k];
            if (k == 0)
                for (int c = 0; c < 3; c++) {
                    double s = 0;
                    for (int j = 0; j < 20; j++)
                        s += p[c * 20 + j];
                    q[c] = (float)(s / 20);
                }
            else if (k == 1)
                for (int j = 0; j < 20; j++)
                    q[j] = p[j] + p[20 + j] + p[40 + j];
            else
                for (int h = 0; h < 4; h++) {
                    float m = -INFINITY;
                    for (int c = 0; c < 3; c++)
                        for (int w = 0; w < 5; w++)
                            m = fmaxf(m, p[c * 20 + h * 5 + w]);
                    q[h] = m;
                }
        }
        check_close(y, want, 2 * out[k], ops[k]);
        mb_check_grads(g, x, 2, 1, ops[k]);
        free(x);
        zp_graph_free(g);
    }
}

/* Concat of an activation and a constant, then of two activations, on axis 2,
 * then of three inputs. */
static void test_concat(void **state)
{
    (void)state;
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 2, 3, 4}, cd[4] = {1, 2, 1, 4};
    float *cv = mb_randv(8, 9);
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "c", 4, cd, cv);
    Onnx__NodeProto *n = mb_node(&b, "Concat", "cat1", "x,c", "t");
    mb_attr_i(&b, n, "axis", 2);
    mb_node(&b, "Sigmoid", "sig", "x", "s");
    n = mb_node(&b, "Concat", "cat2", "s,t", "y2");
    mb_attr_i(&b, n, "axis", -2);
    /* three inputs (a chain of two nodes), x twice, on axis 1 */
    n = mb_node(&b, "Concat", "cat3", "x,y2,x", "y3");
    mb_attr_i(&b, n, "axis", 2);
    mb_node(&b, "Neg", "neg", "y3", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_train_ok(&b);
    assert_int_equal(zp_graph_output_size(g), 2 * 13 * 4);
    float *x = mb_randv(48, 10), y3[208], y[112], want[112];
    mb_run(g, x, 2, y3, NULL);
    /* y3 = -[x | y2 | x] along H: check the x parts here, y2 below */
    for (int im = 0; im < 2; im++)
        for (int c = 0; c < 2; c++)
            for (int h = 0; h < 13; h++)
                for (int w = 0; w < 4; w++) {
                    float v = -y3[im * 104 + c * 52 + h * 4 + w];
                    if (h < 3 || h >= 10)
                        assert_true(v == x[im * 24 + c * 12 + (h < 3 ? h : h - 10) * 4 + w]);
                    else
                        y[im * 56 + c * 28 + (h - 3) * 4 + w] = v;
                }
    for (int im = 0; im < 2; im++)
        for (int c = 0; c < 2; c++)
            for (int h = 0; h < 7; h++)
                for (int w = 0; w < 4; w++) {
                    const float *p = x + im * 24 + c * 12;
                    float v = h < 3 ? 1.f / (1.f + expf(-p[h * 4 + w]))
                              : h < 6 ? p[(h - 3) * 4 + w] : cv[c * 4 + w];
                    want[im * 56 + c * 28 + h * 4 + w] = v;
                }
    check_close(y, want, 112, "concat");
    mb_check_grads(g, x, 2, 1, "concat");
    free(x);
    free(cv);
    zp_graph_free(g);
}

/* Split by sizes (opset 13, an input) joined back in the other order, and into
 * equal parts (opset 11) summed. */
static void test_split(void **state)
{
    (void)state;
    for (int form = 0; form < 2; form++) {
        struct mb b;
        mb_begin(&b, form ? 11 : 13);
        int64_t xd[4] = {1, 2, 5, 3}, sz[2] = {2, 3};
        mb_input(&b, "x", 4, xd);
        Onnx__NodeProto *n;
        if (!form) {
            mb_init_i64(&b, "sz", 2, sz);
            n = mb_node(&b, "Split", "split", "x,sz", "a,b");
            mb_attr_i(&b, n, "axis", 2);
            mb_node(&b, "Sigmoid", "sig", "a", "sa");
            n = mb_node(&b, "Concat", "cat", "b,sa", "y");
            mb_attr_i(&b, n, "axis", 2);
        } else {
            n = mb_node(&b, "Split", "split", "x", "p,q,r");
            mb_attr_i(&b, n, "axis", -1);
            mb_node(&b, "Add", "s1", "p,q", "pq");
            mb_node(&b, "Mul", "s2", "pq,r", "y");
        }
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_train_ok(&b);
        float *x = mb_randv(60, 12 + (unsigned)form), y[60], want[60];
        mb_run(g, x, 2, y, NULL);
        int k = 0;
        for (int im = 0; im < 2; im++)
            for (int c = 0; c < 2; c++) {
                const float *p = x + im * 30 + c * 15;
                for (int h = 0; h < 5; h++)
                    if (!form)
                        for (int w = 0; w < 3; w++) /* rows 2..4, then sigmoid of rows 0..1 */
                            want[k++] = h < 3 ? p[(h + 2) * 3 + w]
                                              : 1.f / (1.f + expf(-p[(h - 3) * 3 + w]));
                    else
                        want[k++] = (p[h * 3] + p[h * 3 + 1]) * p[h * 3 + 2];
            }
        assert_int_equal(zp_graph_output_size(g) * 2, k);
        check_close(y, want, k, form ? "split equal" : "split sizes");
        mb_check_grads(g, x, 2, 1, form ? "split equal" : "split sizes");
        free(x);
        zp_graph_free(g);
    }
}

/* Squeeze-excite as many exporters write it: ReduceMean over H, W (kept). */
static void test_se_reducemean(void **state)
{
    (void)state;
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 4, 3, 3}, hw[2] = {2, 3};
    mb_input(&b, "x", 4, xd);
    mb_conv_init(&b, "w1", "b1", 2, 4, 1, 51);
    mb_conv_init(&b, "w2", "b2", 4, 2, 1, 52);
    Onnx__NodeProto *n = mb_node(&b, "ReduceMean", "pool", "x", "p");
    mb_attr_ints(&b, n, "axes", 2, hw);
    mb_node(&b, "Conv", "fc1", "p,w1,b1", "h");
    mb_node(&b, "Relu", "relu", "h", "hr");
    mb_node(&b, "Conv", "fc2", "hr,w2,b2", "s");
    mb_node(&b, "Sigmoid", "gate", "s", "gt");
    mb_node(&b, "Mul", "scale", "x,gt", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_train_ok(&b);
    float *x = mb_randv(72, 53);
    mb_check_grads(g, x, 2, 1, "SE with ReduceMean");
    free(x);
    zp_graph_free(g);
}

static void test_errors(void **state)
{
    (void)state;
    int64_t xd[4] = {1, 2, 3, 4};
    for (int k = 0; k < 9; k++) {
        struct mb b;
        mb_begin(&b, 13);
        mb_input(&b, "x", 4, xd);
        Onnx__NodeProto *n;
        int64_t v[4] = {1, 0, 2, 3}, z = 0, one = 1;
        switch (k) {
        case 0:
            n = mb_node(&b, "Transpose", "t", "x", "y");
            mb_attr_ints(&b, n, "perm", 4, v);
            mb_output(&b, "y");
            mb_expect_error(&b, ZP_EUNSUPPORTED, "node 't' (Transpose): perm moves the batch axis");
            break;
        case 1: {
            int64_t cd[4] = {1, 2, 3, 5};
            float cv[30] = {0};
            mb_init_f(&b, "c", 4, cd, cv);
            n = mb_node(&b, "Concat", "cat", "x,x,c", "y");
            mb_attr_i(&b, n, "axis", 1);
            mb_output(&b, "y");
            mb_expect_error(&b, ZP_EFORMAT, "node 'cat' (Concat): inputs 'y#concat1' and 'c' "
                            "differ at axis 3 (4 vs 5)");
            break;
        }
        case 2:
            n = mb_node(&b, "ReduceMean", "rm", "x", "y");
            mb_attr_ints(&b, n, "axes", 1, &z);
            mb_output(&b, "y");
            mb_expect_error(&b, ZP_EUNSUPPORTED, "node 'rm' (ReduceMean): axis 0 is the batch axis");
            break;
        case 3:
            mb_init_i64(&b, "s", 1, &z);
            mb_init_i64(&b, "e", 1, &one);
            mb_init_i64(&b, "a", 1, &one);
            mb_init_i64(&b, "p", 1, &z);
            mb_node(&b, "Slice", "sl", "x,s,e,a,p", "y");
            mb_output(&b, "y");
            mb_expect_error(&b, ZP_EFORMAT, "node 'sl' (Slice): step 0 at axis 1");
            break;
        case 4:
            mb_init_i64(&b, "a", 1, &one);
            mb_node(&b, "Squeeze", "sq", "x,a", "y");
            mb_output(&b, "y");
            mb_expect_error(&b, ZP_EFORMAT, "node 'sq' (Squeeze): axis 1 has size 2, not 1");
            break;
        case 5:
            mb_node(&b, "ReduceSum", "rs", "x", "y");
            mb_output(&b, "y");
            mb_expect_error(&b, ZP_EUNSUPPORTED, "node 'rs' (ReduceSum): no axes");
            break;
        case 7:
            n = mb_node(&b, "Split", "sp", "x", "y,z");
            mb_attr_i(&b, n, "axis", 2);
            mb_output(&b, "y");
            mb_expect_error(&b, ZP_EFORMAT, "node 'sp' (Split): axis 2 of size 3 does not split "
                            "evenly into 2");
            break;
        case 8:
            mb_init_i64(&b, "sz", 1, v + 2);
            n = mb_node(&b, "Split", "sp", "x,sz", "y,z");
            mb_attr_i(&b, n, "axis", 2);
            mb_output(&b, "y");
            mb_expect_error(&b, ZP_EFORMAT, "node 'sp' (Split): split has 1 sizes for 2 outputs");
            break;
        default:
            n = mb_node(&b, "Concat", "cat", "x,x", "y");
            mb_output(&b, "y");
            mb_expect_error(&b, ZP_EFORMAT, "node 'cat' (Concat): attribute 'axis' is required");
            break;
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_squeeze_unsqueeze),
        cmocka_unit_test(test_reduce),
        cmocka_unit_test(test_concat),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_se_reducemean),
        cmocka_unit_test(test_errors),
    };
    return ZP_RUN_TESTS(tests);
}
