/* The transformer operators on small graphs: Gather from a constant table with
 * int64 ids (repeated and negative ids, a rank-3 table, two Gathers sharing one
 * table), MatMul of rank-3 and rank-4 rows with a weight, and MatMul of two
 * activations (Q K^T then P V, one operand broadcast along a batch dim),
 * LayerNormalization and Expand.
 * Forward against loops written out here, backward by finite differences
 * (tests/onnx_builder.h mb_check_grads / mb_fd_compare), and the errors for
 * shapes the runtime does not take. */
#include "tests/util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#include "model/graph.h"
#include "model/graph_train.h"
#include "tests/onnx_builder.h"

static void check_close(const float *got, const float *want, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= 1e-5f * (1.f + fabsf(want[i])))) {
            print_error("%s at %d: got %.9g, want %.9g\n", what, i, (double)got[i],
                        (double)want[i]);
            fail();
        }
}

/* y = Gather(table [5, 2, 2], ids [N, 3]) -> [N, 3, 2, 2]; then the same rows
 * through a second Gather of the same table, added: one TABLE parameter whose
 * gradient is checked by finite differences. */
static void test_gather(void **state)
{
    (void)state;
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[2] = {1, 3}, td[3] = {5, 2, 2};
    float *table = mb_randv(20, 5);
    mb_input_i64(&b, "ids", 2, xd);
    mb_init_f(&b, "table", 3, td, table);
    mb_node(&b, "Gather", "g1", "table,ids", "a");
    mb_node(&b, "Gather", "g2", "table,ids", "c");
    mb_node(&b, "Mul", "m", "a,c", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_train_ok(&b);
    assert_true(zp_graph_input_is_index(g));
    assert_int_equal(zp_graph_output_size(g), 12);
    /* image 0: rows 4, 0, 4 (a repeat); image 1: -1 (= 4), 2, -5 (= 0) */
    float x[6] = {4, 0, 4, -1, 2, -5}, y[24], want[24];
    const int rows[6] = {4, 0, 4, 4, 2, 0};
    mb_run(g, x, 2, y, NULL);
    for (int r = 0; r < 6; r++)
        for (int k = 0; k < 4; k++)
            want[r * 4 + k] = table[rows[r] * 4 + k] * table[rows[r] * 4 + k];
    check_close(y, want, 24, "gather");

    struct zp_tgraph *t = mb_tgraph_new(g, 2);
    assert_int_equal(zp_tgraph_num_params(t), 1);
    const struct zp_gparam *p = zp_tgraph_param(t, 0);
    assert_int_equal(p->kind, ZP_GPARAM_TABLE);
    assert_int_equal(p->n, 20);
    assert_string_equal(p->name, "table");
    zp_tgraph_free(t);
    /* the input gradient is 0 (ids), the table's by finite differences; row 1 and
     * row 3 are read by no id: their gradient must come out exactly 0 */
    mb_check_grads(g, x, 2, 1, "gather");
    t = mb_tgraph_new(g, 2);
    float r[24];
    for (int i = 0; i < 24; i++)
        r[i] = 1.f;
    (void)mb_tforward(t, x, 2, 1);
    zp_tgraph_zero_grad(t);
    mb_tbackward(t, r);
    p = zp_tgraph_param(t, 0);
    for (int k = 0; k < 4; k++) {
        assert_true(p->g[1 * 4 + k] == 0.f && p->g[3 * 4 + k] == 0.f);
        /* row 4: read 3 times, d(t^2)/dt = 2t each */
        assert_true(fabsf(p->g[4 * 4 + k] - 6.f * table[16 + k]) <= 1e-5f);
    }
    zp_tgraph_free(t);

    /* ids outside the table or not integers: refused before the run */
    struct zp_err err = {0};
    float bad[3] = {0, 5, 1};
    assert_int_equal(zp_graph_run(g, bad, 1, y, NULL, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "element 1"));
    assert_non_null(strstr(err.msg, "outside table 'table'"));
    free(table);
    zp_graph_free(g);
}

/* Gather errors: data an activation, an axis other than 0. */
static void test_gather_errors(void **state)
{
    (void)state;
    struct mb b;
    int64_t xd[2] = {1, 3}, td[2] = {5, 2};
    float tv[10] = {0};
    mb_begin(&b, 13);
    mb_input(&b, "x", 2, xd);
    mb_init_i64(&b, "i", 1, (int64_t[]){0});
    mb_node(&b, "Gather", "ga", "x,i", "y");
    mb_output(&b, "y");
    mb_expect_error(&b, ZP_EUNSUPPORTED, "only a lookup in a constant table");

    mb_begin(&b, 13);
    mb_input_i64(&b, "ids", 2, xd);
    mb_init_f(&b, "table", 2, td, tv);
    Onnx__NodeProto *n = mb_node(&b, "Gather", "ga", "table,ids", "y");
    mb_attr_i(&b, n, "axis", 1);
    mb_output(&b, "y");
    mb_expect_error(&b, ZP_EUNSUPPORTED, "only axis 0");
}

/* want[r][o] = sum_k x[r][k] w[k][o] over R rows of K */
static void rows_ref(const float *x, const float *w, int64_t R, int64_t K, int64_t O, float *want)
{
    for (int64_t r = 0; r < R; r++)
        for (int64_t o = 0; o < O; o++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++)
                s += (double)x[r * K + k] * w[k * O + o];
            want[r * O + o] = (float)s;
        }
}

/* MatMul [N, 3, 7] x [7, 5] and [N, 2, 3, 7] x [7, 5] (ragged sizes): a layer
 * with channels last, rows checked against the loops, gradients of the input
 * and the weight (and of an Add bias constant: none, it is not a parameter). */
static void test_matmul_rows(void **state)
{
    (void)state;
    for (int rank = 3; rank <= 4; rank++) {
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[4] = {1, 2, 3, 7}, wd[2] = {7, 5};
        if (rank == 3) {
            xd[1] = 3;
            xd[2] = 7;
        }
        const int64_t R = rank == 3 ? 3 : 6, K = 7, O = 5;
        float *w = mb_randv(35, 7);
        mb_input(&b, "x", rank, xd);
        mb_init_f(&b, "w", 2, wd, w);
        mb_node(&b, "MatMul", "mm", "x,w", "y");
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_train_ok(&b);
        assert_int_equal(zp_graph_num_layers(g), 1);
        const struct zp_layer_info *li = zp_graph_layer(g, 0);
        assert_true(li->channels_last);
        assert_int_equal(li->n_out, O);
        assert_int_equal(li->wshape[0], O);
        assert_int_equal(li->wshape[1], K);
        assert_int_equal(li->out_ndim, rank - 1);
        assert_int_equal(li->out_shape[rank - 2], O);
        float *x = mb_randv((size_t)(3 * R * K), 8), y[90], want[90];
        mb_run(g, x, 3, y, NULL);
        rows_ref(x, w, 3 * R, K, O, want);
        check_close(y, want, (int)(3 * R * O), rank == 3 ? "matmul rows rank 3" : "rank 4");
        mb_check_grads(g, x, 3, 1, rank == 3 ? "matmul rows rank 3" : "matmul rows rank 4");
        free(x);
        free(w);
        zp_graph_free(g);
    }
}

/* Attention's pattern on x [N, 2, 3, 4]: s = x x^T [N, 2, 3, 3] (both operands
 * the same activation, through a Transpose), m = ReduceMean over axis 1
 * [N, 1, 3, 4], y = s m [N, 2, 3, 4] with m broadcast along axis 1. */
static void test_matmul_acts(void **state)
{
    (void)state;
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 2, 3, 4}, perm[4] = {0, 1, 3, 2}, ax = 1;
    mb_input(&b, "x", 4, xd);
    Onnx__NodeProto *tr = mb_node(&b, "Transpose", "t", "x", "xt");
    mb_attr_ints(&b, tr, "perm", 4, perm);
    mb_node(&b, "MatMul", "qk", "x,xt", "s");
    mb_init_i64(&b, "ax", 1, &ax);
    mb_node(&b, "ReduceMean", "rm", "x,ax", "m");
    mb_node(&b, "MatMul", "pv", "s,m", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_train_ok(&b);
    assert_int_equal(zp_graph_num_layers(g), 0);
    assert_int_equal(zp_graph_output_size(g), 24);
    float *x = mb_randv(48, 9), y[48], want[48];
    mb_run(g, x, 2, y, NULL);
    for (int im = 0; im < 2; im++) {
        const float *xi = x + im * 24;
        float m[12];
        for (int i = 0; i < 12; i++)
            m[i] = (xi[i] + xi[12 + i]) / 2;
        for (int h = 0; h < 2; h++) {
            const float *q = xi + h * 12;
            for (int i = 0; i < 3; i++)
                for (int d = 0; d < 4; d++) {
                    double acc = 0;
                    for (int j = 0; j < 3; j++) {
                        double sij = 0;
                        for (int k = 0; k < 4; k++)
                            sij += (double)q[i * 4 + k] * q[j * 4 + k];
                        acc += sij * m[j * 4 + d];
                    }
                    want[im * 24 + h * 12 + i * 4 + d] = (float)acc;
                }
        }
    }
    check_close(y, want, 48, "matmul of two activations");
    mb_check_grads(g, x, 2, 1, "matmul of two activations");
    free(x);
    zp_graph_free(g);
}

/* MatMul errors: ranks differ, rank 2 activations, inner dims, batch dims. */
static void test_matmul_errors(void **state)
{
    (void)state;
    static const struct {
        int64_t a[4], b[4];
        int na, nb;
        const char *needle;
    } cases[] = {
        {{1, 2, 3, 4}, {1, 4, 5}, 4, 3, "different ranks"},
        {{1, 4}, {1, 4}, 2, 2, "rank >= 3"},
        {{1, 3, 4}, {1, 3, 5}, 3, 3, "inner dimensions differ"},
        {{1, 2, 3, 4}, {1, 3, 4, 5}, 4, 4, "do not broadcast"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[4] = {1, 2, 3, 4};
        mb_input(&b, "x", 4, xd);
        /* two activations of the wanted shapes: the input flattened, repeated
         * three times (72 floats), sliced to each size and reshaped */
        int64_t sa = 1, sb = 1;
        for (int k = 1; k < cases[i].na; k++)
            sa *= cases[i].a[k];
        for (int k = 1; k < cases[i].nb; k++)
            sb *= cases[i].b[k];
        int64_t ra[4], rb[4];
        memcpy(ra, cases[i].a, sizeof ra);
        memcpy(rb, cases[i].b, sizeof rb);
        ra[0] = rb[0] = -1;
        int64_t fa[2] = {-1, 24}, st = 0;
        mb_init_i64(&b, "fa", 2, fa);
        mb_init_i64(&b, "ra", cases[i].na, ra);
        mb_init_i64(&b, "rb", cases[i].nb, rb);
        mb_init_i64(&b, "st", 1, &st);
        mb_init_i64(&b, "ea", 1, &sa);
        mb_init_i64(&b, "eb", 1, &sb);
        mb_init_i64(&b, "one", 1, (int64_t[]){1});
        mb_node(&b, "Reshape", "flat", "x,fa", "xf");
        mb_attr_i(&b, mb_node(&b, "Concat", "thrice", "xf,xf,xf", "x3"), "axis", 1);
        mb_node(&b, "Slice", "sla", "x3,st,ea,one", "a0");
        mb_node(&b, "Slice", "slb", "x3,st,eb,one", "b0");
        mb_node(&b, "Reshape", "ra_", "a0,ra", "a");
        mb_node(&b, "Reshape", "rb_", "b0,rb", "bb");
        mb_node(&b, "MatMul", "mm", "a,bb", "y");
        mb_output(&b, "y");
        mb_expect_error(&b, i == 2 || i == 3 ? ZP_EFORMAT : ZP_EUNSUPPORTED, cases[i].needle);
    }
}

/* LayerNormalization over the last axis (Scale, B of 5) and over the last two
 * (axis 1, no B): against the formula in double, gradients by finite
 * differences. */
static void test_layernorm(void **state)
{
    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        struct mb b;
        mb_begin(&b, 17);
        int64_t xd[3] = {1, 2, 5}, sd[2] = {2, 5};
        const int L = variant ? 10 : 5;
        float *sc = mb_randv((size_t)L, 11), *bi = mb_randv(5, 12);
        mb_input(&b, "x", 3, xd);
        mb_init_f(&b, "sc", variant ? 2 : 1, variant ? sd : xd + 2, sc);
        if (!variant)
            mb_init_f(&b, "bi", 1, xd + 2, bi);
        Onnx__NodeProto *n = mb_node(&b, "LayerNormalization", "ln", variant ? "x,sc" : "x,sc,bi", "y");
        mb_attr_i(&b, n, "axis", variant ? 1 : -1);
        mb_attr_f(&b, n, "epsilon", 1e-3f);
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_train_ok(&b);
        float *x = mb_randv(30, 13), y[30], want[30];
        mb_run(g, x, 3, y, NULL);
        for (int r = 0; r < 30 / L; r++) {
            const float *p = x + r * L;
            double m = 0, v = 0;
            for (int k = 0; k < L; k++)
                m += p[k] / (double)L;
            for (int k = 0; k < L; k++)
                v += (p[k] - m) * (p[k] - m) / L;
            for (int k = 0; k < L; k++)
                want[r * L + k] = (float)((p[k] - m) / sqrt(v + 1e-3) * sc[k] + (variant ? 0 : bi[k]));
        }
        check_close(y, want, 30, variant ? "layernorm axis 1" : "layernorm axis -1");
        mb_check_grads(g, x, 3, 1, variant ? "layernorm axis 1" : "layernorm axis -1");
        free(x);
        free(sc);
        free(bi);
        zp_graph_free(g);
    }
    struct mb b;
    mb_begin(&b, 17);
    int64_t xd[3] = {1, 2, 5};
    float sc[5] = {1, 1, 1, 1, 1};
    mb_input(&b, "x", 3, xd);
    mb_init_f(&b, "sc", 1, xd + 2, sc);
    mb_attr_i(&b, mb_node(&b, "LayerNormalization", "ln", "x,sc", "y"), "axis", 0);
    mb_output(&b, "y");
    mb_expect_error(&b, ZP_EUNSUPPORTED, "per-image ones");
}

/* Expand [N, 1, 3, 1] to the shape [2, 1, 4] (right-aligned: [N, 2, 3, 4]). */
static void test_expand(void **state)
{
    (void)state;
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 1, 3, 1}, sh[3] = {2, 1, 4};
    mb_input(&b, "x", 4, xd);
    mb_init_i64(&b, "sh", 3, sh);
    mb_node(&b, "Expand", "ex", "x,sh", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_train_ok(&b);
    assert_int_equal(zp_graph_output_size(g), 24);
    float *x = mb_randv(6, 14), y[48], want[48];
    mb_run(g, x, 2, y, NULL);
    for (int im = 0; im < 2; im++)
        for (int a = 0; a < 2; a++)
            for (int r = 0; r < 3; r++)
                for (int k = 0; k < 4; k++)
                    want[im * 24 + a * 12 + r * 4 + k] = x[im * 3 + r];
    check_close(y, want, 48, "expand");
    mb_check_grads(g, x, 2, 1, "expand");
    free(x);
    zp_graph_free(g);
    int64_t bad[2][5] = {{1, 2, 1, 3, 1}, {2, 1, 3, 1, 0}};
    const int nb[2] = {5, 4};
    const char *needle[2] = {"move the batch axis", "expands the batch axis"};
    for (int k = 0; k < 2; k++) {
        mb_begin(&b, 13);
        mb_input(&b, "x", 4, xd);
        mb_init_i64(&b, "sh", nb[k], bad[k]);
        mb_node(&b, "Expand", "ex", "x,sh", "y");
        mb_output(&b, "y");
        mb_expect_error(&b, ZP_EUNSUPPORTED, needle[k]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_gather_errors),
        cmocka_unit_test(test_matmul_rows),
        cmocka_unit_test(test_matmul_acts),
        cmocka_unit_test(test_matmul_errors),
        cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_expand),
    };
    return ZP_RUN_TESTS(tests);
}
