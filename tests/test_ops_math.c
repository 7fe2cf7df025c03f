/* The elementwise math ops (Sigmoid, HardSigmoid, HardSwish, Tanh, Erf, Gelu,
 * Exp, Log, Neg, Sqrt), LogSoftmax and the broadcasting binary ops (Sub, Div,
 * Max, Min, Pow): forward against the formulas evaluated here in double,
 * backward by finite differences (tests/onnx_builder.h mb_check_grads); a
 * squeeze-excite block and a MobileNetV3-style HardSwish block end to end; bad
 * attributes; zp_onnx_check listing every node that cannot be loaded; and
 * docs/ops.md against the importer's op table. */
#include "tests/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx.pb-c.h"

#include "model/graph.h"
#include "tests/onnx_builder.h"

/* ---- forward against double formulas ------------------------------------------- */

struct unary_case {
    const char *op;
    const char *gelu;       /* Gelu's approximate attribute, NULL: absent */
    float alpha, beta;      /* HardSigmoid, when alpha != 0 */
    int positive;           /* domain x > 0 */
};

static const struct unary_case unary_cases[] = {
    {"Sigmoid", NULL, 0, 0, 0},  {"HardSigmoid", NULL, 0.3f, 0.4f, 0},
    {"HardSigmoid", NULL, 0, 0, 0}, {"HardSwish", NULL, 0, 0, 0},
    {"Tanh", NULL, 0, 0, 0},     {"Erf", NULL, 0, 0, 0},
    {"Gelu", NULL, 0, 0, 0},     {"Gelu", "none", 0, 0, 0},
    {"Gelu", "tanh", 0, 0, 0},   {"Exp", NULL, 0, 0, 0},
    {"Log", NULL, 0, 0, 1},      {"Neg", NULL, 0, 0, 0},
    {"Sqrt", NULL, 0, 0, 1},
};

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

static double unary_ref(const struct unary_case *u, double x)
{
    const char *op = u->op;
    if (!strcmp(op, "Sigmoid"))
        return 1 / (1 + exp(-x));
    if (!strcmp(op, "HardSigmoid"))
        return u->alpha != 0 ? clamp01(u->alpha * x + u->beta) : clamp01(0.2 * x + 0.5);
    if (!strcmp(op, "HardSwish"))
        return x * clamp01(x / 6 + 0.5);
    if (!strcmp(op, "Tanh"))
        return tanh(x);
    if (!strcmp(op, "Erf"))
        return erf(x);
    if (!strcmp(op, "Gelu") && u->gelu && !strcmp(u->gelu, "tanh"))
        return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    if (!strcmp(op, "Gelu"))
        return 0.5 * x * (1 + erf(x / sqrt(2)));
    if (!strcmp(op, "Exp"))
        return exp(x);
    if (!strcmp(op, "Log"))
        return log(x);
    if (!strcmp(op, "Neg"))
        return -x;
    return sqrt(x);
}

static Onnx__NodeProto *unary_node(struct mb *b, const struct unary_case *u, const char *in,
                                   const char *out)
{
    Onnx__NodeProto *n = mb_node(b, u->op, "f", in, out);
    if (u->gelu)
        mb_attr_s(b, n, "approximate", u->gelu);
    if (u->alpha != 0) {
        mb_attr_f(b, n, "alpha", u->alpha);
        mb_attr_f(b, n, "beta", u->beta);
    }
    return n;
}

static void test_unary_forward(void **state)
{
    (void)state;
    enum { N = 40 };
    for (size_t k = 0; k < sizeof unary_cases / sizeof unary_cases[0]; k++) {
        const struct unary_case *u = &unary_cases[k];
        struct mb b;
        mb_begin(&b, 20);
        int64_t xd[2] = {1, N};
        mb_input(&b, "x", 2, xd);
        unary_node(&b, u, "x", "y");
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_ok(&b);
        float x[2 * N], y[2 * N];
        for (int i = 0; i < 2 * N; i++) /* -4.1 .. 4.2: both sides of every kink */
            x[i] = u->positive ? 0.05f + 0.11f * (float)i : -4.1f + 0.106f * (float)i;
        mb_run(g, x, 2, y, NULL);
        for (int i = 0; i < 2 * N; i++) {
            double want = unary_ref(u, x[i]);
            if (fabs(y[i] - want) > 3e-6 * (1 + fabs(want))) {
                print_error("%s (%s) at x = %g: got %.9g, want %.9g\n", u->op,
                            u->gelu ? u->gelu : "-", (double)x[i], (double)y[i], want);
                fail();
            }
        }
        zp_graph_free(g);
    }
}

static double binary_ref(const char *op, double a, double b)
{
    if (!strcmp(op, "Sub"))
        return a - b;
    if (!strcmp(op, "Div"))
        return a / b;
    if (!strcmp(op, "Max"))
        return a > b ? a : b;
    if (!strcmp(op, "Min"))
        return a < b ? a : b;
    return pow(a, b);
}

static const char *const binary_ops[] = {"Sub", "Div", "Max", "Min", "Pow"};

/* x [N, 2, 3, 4] (positive, so Pow and Div are defined) against a constant
 * [3, 1] on either side, and against its own channel means (an activation
 * [N, 2, 1, 1]); indices worked out here. */
static void test_binary_forward(void **state)
{
    (void)state;
    const float cv[3] = {0.7f, 1.9f, 0.45f};
    for (size_t k = 0; k < sizeof binary_ops / sizeof binary_ops[0]; k++)
        for (int form = 0; form < 3; form++) {
            const char *op = binary_ops[k];
            struct mb b;
            mb_begin(&b, 13);
            int64_t xd[4] = {1, 2, 3, 4}, cd[2] = {3, 1};
            mb_input(&b, "x", 4, xd);
            mb_init_f(&b, "c", 2, cd, cv);
            if (form == 0)
                mb_node(&b, op, "op", "x,c", "y");
            else if (form == 1)
                mb_node(&b, op, "op", "c,x", "y");
            else {
                mb_node(&b, "GlobalAveragePool", "gap", "x", "m");
                mb_node(&b, op, "op", "x,m", "y");
            }
            mb_output(&b, "y");
            struct zp_graph *g = mb_load_ok(&b);
            float x[48], y[48];
            for (int i = 0; i < 48; i++)
                x[i] = 0.2f + 0.037f * (float)((i * 17) % 48);
            mb_run(g, x, 2, y, NULL);
            for (int n = 0; n < 2; n++)
                for (int c = 0; c < 2; c++) {
                    double mean = 0;
                    for (int j = 0; j < 12; j++)
                        mean += x[n * 24 + c * 12 + j];
                    mean /= 12;
                    for (int h = 0; h < 3; h++)
                        for (int w = 0; w < 4; w++) {
                            int i = n * 24 + c * 12 + h * 4 + w;
                            double a = x[i], want = form == 0   ? binary_ref(op, a, cv[h])
                                                    : form == 1 ? binary_ref(op, cv[h], a)
                                                                : binary_ref(op, a, mean);
                            if (fabs(y[i] - want) > 2e-6 * (1 + fabs(want))) {
                                print_error("%s form %d at %d: got %.9g, want %.9g\n", op,
                                            form, i, (double)y[i], want);
                                fail();
                            }
                        }
                }
            zp_graph_free(g);
        }
}

/* Max / Min of three inputs (a constant among them) against fmax / fmin. */
static void test_max_min_variadic(void **state)
{
    (void)state;
    const float cv[4] = {0.1f, -0.2f, 0.3f, 0.f};
    for (int mx = 0; mx < 2; mx++) {
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[2] = {1, 4}, cd[1] = {4};
        mb_input(&b, "x", 2, xd);
        mb_init_f(&b, "c", 1, cd, cv);
        mb_node(&b, "Neg", "neg", "x", "nx");
        mb_node(&b, mx ? "Max" : "Min", "m", "x,c,nx", "y");
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_ok(&b);
        float *x = mb_randv(8, 21), y[8];
        mb_run(g, x, 2, y, NULL);
        for (int i = 0; i < 8; i++) {
            float a = x[i], c = cv[i % 4], n = -x[i];
            float want = mx ? fmaxf(fmaxf(a, c), n) : fminf(fminf(a, c), n);
            assert_true(y[i] == want);
        }
        free(x);
        zp_graph_free(g);
    }
}

static void test_logsoftmax_forward(void **state)
{
    (void)state;
    const int64_t axes[3] = {1, 2, -1};
    for (int k = 0; k < 3; k++) {
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[3] = {1, 3, 4};
        mb_input(&b, "x", 3, xd);
        Onnx__NodeProto *n = mb_node(&b, "LogSoftmax", "ls", "x", "y");
        mb_attr_i(&b, n, "axis", axes[k]);
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_ok(&b);
        float *x = mb_randv(24, 3 + (unsigned)k), y[24];
        x[5] = 30.f; /* large logits: the max shift must keep exp finite */
        mb_run(g, x, 2, y, NULL);
        for (int im = 0; im < 2; im++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 4; j++) {
                    const float *p = x + im * 12;
                    double s = 0;
                    int at = i * 4 + j;
                    for (int r = 0; r < (k == 0 ? 3 : 4); r++)
                        s += exp(k == 0 ? p[r * 4 + j] : p[i * 4 + r]);
                    double want = p[at] - log(s);
                    assert_true(fabs(y[im * 12 + at] - want) < 3e-6 * (1 + fabs(want)));
                }
        free(x);
        zp_graph_free(g);
    }
}

/* ---- backward by finite differences --------------------------------------------- */

static void test_unary_grads(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof unary_cases / sizeof unary_cases[0]; k++) {
        struct unary_case u = unary_cases[k];
        /* HardSigmoid at alpha 1, beta 1/2: kinks at +-0.5, which mb_kinkfree avoids */
        if (!strcmp(u.op, "HardSigmoid")) {
            u.alpha = 1.f;
            u.beta = 0.5f;
        }
        struct mb b;
        mb_begin(&b, 20);
        int64_t xd[3] = {1, 2, 12};
        mb_input(&b, "x", 3, xd);
        unary_node(&b, &u, "x", "y");
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_train_ok(&b);
        float *x = mb_kinkfree(48, 7); /* -0.72 .. 0.72 */
        for (int i = 0; i < 48; i++) {
            if (u.positive)
                x[i] = fabsf(x[i]) + 0.2f;
            else if (!strcmp(u.op, "HardSwish")) /* kinks at +-3: away by 0.12 */
                x[i] *= 6.f;
        }
        char what[48];
        snprintf(what, sizeof what, "%s %s", u.op, u.gelu ? u.gelu : "");
        mb_check_grads(g, x, 2, 1, what);
        free(x);
        zp_graph_free(g);
    }
}

static void test_binary_grads(void **state)
{
    (void)state;
    const float half = 0.5f, ex = 1.7f, base = 1.3f;
    for (size_t k = 0; k < sizeof binary_ops / sizeof binary_ops[0]; k++) {
        const char *op = binary_ops[k];
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[4] = {1, 2, 3, 4};
        mb_input(&b, "x", 4, xd);
        mb_init_f(&b, "half", 0, NULL, &half);
        mb_init_f(&b, "ex", 0, NULL, &ex);
        mb_init_f(&b, "base", 0, NULL, &base);
        /* positive operands (Exp) for Div and Pow; Max / Min against 0.5, away
         * from every input (mb_kinkfree), and against another activation */
        mb_node(&b, "Exp", "e", "x", "ex_x");
        mb_node(&b, "GlobalAveragePool", "gap", "ex_x", "m");
        if (!strcmp(op, "Max") || !strcmp(op, "Min")) {
            mb_node(&b, op, "op_c", "x,half", "a");
            mb_node(&b, "Neg", "neg", "x", "nx");
            mb_node(&b, "Mul", "shift", "nx,half", "nxh"); /* -x/2: ties only at 0 */
            mb_node(&b, op, "op_a", "x,nxh", "a2");
            mb_node(&b, op, "op_3", "a,nx,a2", "a3"); /* three inputs: a chain */
            mb_node(&b, op, "op_1", "a3", "a4");      /* one input: the identity */
            mb_node(&b, "Add", "sum", "a4,a2", "y");
        } else if (!strcmp(op, "Pow")) {
            mb_node(&b, "Pow", "pow_c", "ex_x,ex", "a");    /* base gradient */
            mb_node(&b, "Pow", "pow_b", "base,x", "a2");    /* exponent gradient */
            mb_node(&b, "Pow", "pow_a", "ex_x,m", "a3");    /* both, broadcast */
            mb_node(&b, "Add", "s1", "a,a2", "s");
            mb_node(&b, "Add", "s2", "s,a3", "y");
        } else {
            mb_node(&b, op, "op_a", "x,m", "a");     /* activation broadcast */
            mb_node(&b, op, "op_c", "half,ex_x", "a2"); /* constant first */
            mb_node(&b, "Add", "sum", "a,a2", "y");
        }
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_train_ok(&b);
        float *x = mb_kinkfree(48, 5);
        mb_check_grads(g, x, 2, 1, op);
        free(x);
        zp_graph_free(g);
    }
}

static void test_logsoftmax_grads(void **state)
{
    (void)state;
    for (int axis = 1; axis <= 2; axis++) {
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[3] = {1, 3, 4};
        mb_input(&b, "x", 3, xd);
        Onnx__NodeProto *n = mb_node(&b, "LogSoftmax", "ls", "x", "y");
        mb_attr_i(&b, n, "axis", axis);
        mb_output(&b, "y");
        struct zp_graph *g = mb_load_train_ok(&b);
        float *x = mb_randv(36, 8);
        mb_check_grads(g, x, 3, 1, axis == 1 ? "LogSoftmax axis 1" : "LogSoftmax axis 2");
        free(x);
        zp_graph_free(g);
    }
}

/* ---- blocks of real networks ------------------------------------------------------ */

/* Squeeze-excite: y = x * HardSigmoid(W2 Relu(W1 GAP(x) + b1) + b2), worked out
 * here in double for the forward; gradients of input and all four tensors. */
static void test_squeeze_excite(void **state)
{
    (void)state;
    enum { C = 4, R = 2, HW = 25 };
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, C, 5, 5};
    mb_input(&b, "x", 4, xd);
    mb_conv_init(&b, "w1", "b1", R, C, 1, 31);
    mb_conv_init(&b, "w2", "b2", C, R, 1, 32);
    mb_node(&b, "GlobalAveragePool", "se_gap", "x", "p");
    mb_node(&b, "Conv", "se_fc1", "p,w1,b1", "h");
    mb_node(&b, "Relu", "se_relu", "h", "hr");
    mb_node(&b, "Conv", "se_fc2", "hr,w2,b2", "s");
    mb_node(&b, "HardSigmoid", "se_gate", "s", "gate");
    mb_node(&b, "Mul", "se_scale", "x,gate", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_train_ok(&b);
    assert_int_equal(zp_graph_num_layers(g), 2);
    const struct zp_layer_info *l1 = zp_graph_layer(g, 0), *l2 = zp_graph_layer(g, 1);
    float *x = mb_randv(2 * C * HW, 33), y[2 * C * HW];
    mb_run(g, x, 2, y, NULL);
    for (int n = 0; n < 2; n++) {
        double p[C], h[R];
        for (int c = 0; c < C; c++) {
            p[c] = 0;
            for (int i = 0; i < HW; i++)
                p[c] += x[(n * C + c) * HW + i];
            p[c] /= HW;
        }
        for (int r = 0; r < R; r++) {
            h[r] = l1->bias[r];
            for (int c = 0; c < C; c++)
                h[r] += l1->weight[r * C + c] * p[c];
            h[r] = h[r] > 0 ? h[r] : 0;
        }
        for (int c = 0; c < C; c++) {
            double s = l2->bias[c];
            for (int r = 0; r < R; r++)
                s += l2->weight[c * R + r] * h[r];
            double gate = clamp01(0.2 * s + 0.5);
            for (int i = 0; i < HW; i++) {
                int at = (n * C + c) * HW + i;
                assert_true(fabs(y[at] - x[at] * gate) < 1e-5);
            }
        }
    }
    mb_check_grads(g, x, 2, 1, "squeeze-excite");
    free(x);
    zp_graph_free(g);
}

/* MobileNetV3-style inverted residual: 1x1 expand, HardSwish, 3x3 depthwise,
 * HardSwish, 1x1 project, residual Add. */
static void test_hardswish_block(void **state)
{
    (void)state;
    struct mb b;
    mb_begin(&b, 14);
    int64_t xd[4] = {1, 3, 5, 4}, pd[4] = {1, 1, 1, 1};
    mb_input(&b, "x", 4, xd);
    mb_conv_init(&b, "we", "be", 6, 3, 1, 41);
    mb_conv_init(&b, "wd", "bd", 6, 1, 3, 42);
    mb_conv_init(&b, "wp", NULL, 3, 6, 1, 43);
    mb_node(&b, "Conv", "expand", "x,we,be", "e");
    mb_node(&b, "HardSwish", "hs1", "e", "eh");
    Onnx__NodeProto *n = mb_node(&b, "Conv", "dw", "eh,wd,bd", "d");
    mb_attr_i(&b, n, "group", 6);
    mb_attr_ints(&b, n, "pads", 4, pd);
    mb_node(&b, "HardSwish", "hs2", "d", "dh");
    mb_node(&b, "Conv", "project", "dh,wp", "p");
    mb_node(&b, "Add", "residual", "p,x", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_train_ok(&b);
    assert_int_equal(zp_graph_num_layers(g), 3);
    float *x = mb_randv(2 * 60, 44);
    for (int i = 0; i < 120; i++)
        x[i] *= 4.f; /* reach both HardSwish saturations */
    float y[120];
    mb_run(g, x, 2, y, NULL);
    for (int i = 0; i < 120; i++)
        assert_true(isfinite(y[i]));
    mb_check_grads(g, x, 2, 1, "HardSwish block");
    free(x);
    zp_graph_free(g);
}

/* ---- errors ------------------------------------------------------------------------- */

static void test_bad_attributes(void **state)
{
    (void)state;
    int64_t xd[2] = {1, 8};
    for (int k = 0; k < 5; k++) {
        struct mb b;
        mb_begin(&b, 20);
        mb_input(&b, "x", 2, xd);
        Onnx__NodeProto *n;
        switch (k) {
        case 0:
            n = mb_node(&b, "HardSigmoid", "hs", "x", "y");
            mb_attr_f(&b, n, "alpha", NAN);
            mb_output(&b, "y");
            mb_expect_error(&b, ZP_EINVAL, "node 'hs' (HardSigmoid): alpha nan");
            break;
        case 1:
            n = mb_node(&b, "Gelu", "ge", "x", "y");
            mb_attr_s(&b, n, "approximate", "fast");
            mb_output(&b, "y");
            mb_expect_error(&b, ZP_EUNSUPPORTED, "node 'ge' (Gelu): approximate must be");
            break;
        case 2:
            n = mb_node(&b, "HardSigmoid", "hs", "x", "y");
            mb_attr_i(&b, n, "beta", 1);
            mb_output(&b, "y");
            mb_expect_error(&b, ZP_EFORMAT, "attribute 'beta' has type");
            break;
        case 3:
            mb_node(&b, "Sub", "sb", "x,x,x", "y");
            mb_output(&b, "y");
            mb_expect_error(&b, ZP_EFORMAT, "node 'sb' (Sub): 3 inputs, expected 2..2");
            break;
        default:
            n = mb_node(&b, "LogSoftmax", "ls", "x", "y");
            mb_attr_i(&b, n, "axis", 0);
            mb_output(&b, "y");
            mb_expect_error(&b, ZP_EUNSUPPORTED, "node 'ls' (LogSoftmax): axis 0 not supported");
            break;
        }
    }
}

struct reports {
    int n;
    char msg[8][256];
};

static void collect(void *ctx, const char *msg)
{
    struct reports *r = ctx;
    if (r->n < 8)
        snprintf(r->msg[r->n], sizeof r->msg[0], "%s", msg);
    r->n++;
}

/* Every problem is reported: an int32 graph input (the node reading it still
 * checked), an unknown operator, a bad attribute value, an attribute the op
 * does not have, and an unknown operator reading the output of a failed node;
 * known operators after a failed node are not (their input shapes are unknown). */
static void test_check_lists_all(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/bad.onnx", zp_test_tmpdir("ops_math"));
    struct mb b;
    mb_begin(&b, 20);
    int64_t xd[4] = {1, 2, 3, 3};
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "NonZero", "nonzero_of_x", "x", "s");
    mb_node(&b, "Sigmoid", "fine", "x", "a");
    Onnx__NodeProto *n = mb_node(&b, "Gelu", "gelu_fast", "a", "b");
    mb_attr_s(&b, n, "approximate", "fast");
    n = mb_node(&b, "HardSwish", "hswish_attr", "x", "c");
    mb_attr_f(&b, n, "alpha", 1.f);
    mb_node(&b, "Relu", "after_gelu", "b", "d");
    mb_node(&b, "Unique", "unknown_after", "d", "e");
    mb_node(&b, "Add", "join", "e,c", "f");
    mb_input(&b, "x2", 4, xd);
    b.ins[b.g.n_input - 1]->type->tensor_type->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
    mb_node(&b, "Mul", "second_input", "f,x2", "y");
    mb_output(&b, "y");
    mb_save(&b, path);
    struct reports r = {0};
    int bad = -1;
    struct zp_err err = {0};
    enum zp_status st = zp_onnx_check(path, collect, &r, &bad, &err);
    assert_int_equal(st, ZP_EUNSUPPORTED);
    assert_int_equal(bad, 5);
    assert_int_equal(r.n, 5);
    assert_non_null(strstr(r.msg[0], "input 'x2': element type 6, expected float32 or int64"));
    assert_non_null(strstr(r.msg[1], "node 'nonzero_of_x' (NonZero): operator not supported"));
    assert_non_null(strstr(r.msg[2], "node 'gelu_fast' (Gelu): approximate"));
    assert_non_null(strstr(r.msg[3], "node 'hswish_attr' (HardSwish): attribute 'alpha'"));
    assert_non_null(strstr(r.msg[4], "node 'unknown_after' (Unique): operator not supported"));
    assert_non_null(strstr(err.msg, "element type 6")); /* the first */
    /* the plain load stops at the first */
    struct zp_graph *g = NULL;
    zp_err_clear(&err);
    assert_int_equal(zp_onnx_load(path, &g, &err), ZP_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "element type 6"));
    assert_null(g);
    /* harness inspect: every problem, a count, exit code 1; --ops: the table */
    struct stat sb;
    if (stat(zp_test_harness(), &sb) == 0) {
        char *out = NULL;
        assert_int_equal(zp_test_sh(&out, "%s inspect %s", zp_test_harness(), path), 1);
        assert_non_null(strstr(out, "node 'gelu_fast' (Gelu)"));
        assert_non_null(strstr(out, "node 'unknown_after' (Unique)"));
        assert_non_null(strstr(out, "5 problems"));
        free(out);
        assert_int_equal(zp_test_sh(&out, "%s inspect --ops", zp_test_harness()), 0);
        assert_non_null(strstr(out, "| HardSwish | yes | yes | no |"));
        free(out);
        assert_int_equal(zp_test_sh(&out, "%s inspect --ops %s", zp_test_harness(), path), 2);
        free(out);
    } else {
        printf("harness binary not built: the CLI part is skipped\n");
    }

    /* a model that loads: nothing reported */
    mb_begin(&b, 20);
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Sigmoid", "fine", "x", "y");
    mb_output(&b, "y");
    mb_save(&b, path);
    r.n = 0;
    zp_err_clear(&err);
    assert_int_equal(zp_onnx_check(path, collect, &r, &bad, &err), ZP_OK);
    assert_int_equal(bad, 0);
    assert_int_equal(r.n, 0);
}

/* docs/ops.md holds the table zp_op_table_markdown prints, between its markers. */
static void test_doc_table(void **state)
{
    (void)state;
    char *doc = zp_test_read_file("docs/ops.md", NULL);
    assert_non_null(doc);
    const char *begin = "<!-- op table: harness inspect --ops -->\n", *end = "<!-- end op table -->";
    char *a = strstr(doc, begin), *e = a ? strstr(a, end) : NULL;
    assert_non_null(a);
    assert_non_null(e);
    a += strlen(begin);
    char *want = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&want, &len);
    zp_op_table_markdown(f);
    fclose(f);
    if ((size_t)(e - a) != len || memcmp(a, want, len) != 0) {
        print_error("docs/ops.md's op table differs from the importer's; regenerate it with "
                    "harness inspect --ops. Expected:\n%s", want);
        fail();
    }
    free(want);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary_forward),
        cmocka_unit_test(test_binary_forward),
        cmocka_unit_test(test_max_min_variadic),
        cmocka_unit_test(test_logsoftmax_forward),
        cmocka_unit_test(test_unary_grads),
        cmocka_unit_test(test_binary_grads),
        cmocka_unit_test(test_logsoftmax_grads),
        cmocka_unit_test(test_squeeze_excite),
        cmocka_unit_test(test_hardswish_block),
        cmocka_unit_test(test_bad_attributes),
        cmocka_unit_test(test_check_lists_all),
        cmocka_unit_test(test_doc_table),
    };
    return ZP_RUN_TESTS(tests);
}
