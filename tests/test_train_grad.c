/* Gradient checks of every training layer against central finite differences.
 *
 * For a layer f and a fixed random r, the scalar L = sum(r * f(x)) has
 * dL/dx = backward(dy = r) and dL/dparam = the accumulated parameter gradient.
 * Each is compared with (L(v + e) - L(v - e)) / 2e, L summed in double. The
 * comparison is on the whole gradient vector (relative L2 error), so a rare
 * element sitting on a ReLU kink within e cannot fail the test while a wrong
 * formula (a missing term, a wrong index) gives errors of order 1. */
#include "tests/util.h"
#include "tests/train_checks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "train/tnet.h"

#ifndef EPS
#define EPS 1e-2f /* float inputs of magnitude ~1: big enough for float sums */
#endif
#define TOL 2e-2    /* relative L2 error */
/* Smaller step through a whole network: several stacked kinks and BN make
 * the loss curve faster than one layer does. */
#define NET_EPS 2e-3f

static double loss_of(struct zp_tlayer *l, const float *x, float *y, const float *r, int batch,
                      size_t ny)
{
    zp_tlayer_forward(l, x, y, batch, 1);
    double s = 0.0;
    for (size_t i = 0; i < ny; i++)
        s += (double)r[i] * y[i];
    return s;
}


/* Checks one single-layer network built from spec on an input of the given shape. */
static void check_layer(struct zp_tlayer spec, int c, int h, int w, int batch, float x_offset)
{
    struct zp_tnet *net = NULL;
    struct zp_err err;
    zp_err_clear(&err);
    assert_int_equal(zp_tnet_build(&spec, 1, c, h, w, 7, &net, &err), ZP_OK);
    struct zp_tlayer *l = &net->L[0];
    if (l->kind == ZP_TL_BN) /* non-trivial affine part */
        for (int i = 0; i < l->c_in; i++) {
            l->p[0].w[i] = 1.5f + 0.25f * (float)i;
            l->p[1].w[i] = 0.5f - 0.3f * (float)i;
        }
    if (l->kind == ZP_TL_FC)
        for (int i = 0; i < l->c_out; i++)
            l->p[1].w[i] = 0.1f * (float)i;
    const size_t nx = (size_t)batch * c * h * w;
    const size_t ny = (size_t)batch * l->c_out * l->h_out * l->w_out;
    float *x = malloc(nx * sizeof(float)), *y = malloc(ny * sizeof(float));
    float *r = malloc(ny * sizeof(float)), *dx = malloc(nx * sizeof(float));
    struct zp_rng rng;
    zp_rng_seed(&rng, 11);
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)(x_offset + 2.0 * zp_rng_gaussian(&rng));
    for (size_t i = 0; i < ny; i++)
        r[i] = (float)zp_rng_gaussian(&rng);
    if (l->kind == ZP_TL_CONV && !(l->k == 1 && l->stride == 1 && l->pad == 0))
        l->col = malloc((size_t)c * l->k * l->k * batch * l->h_out * l->w_out * sizeof(float));

    /* analytic */
    for (int j = 0; j < l->n_params; j++)
        memset(l->p[j].g, 0, l->p[j].n * sizeof(float));
    loss_of(l, x, y, r, batch, ny);
    zp_tlayer_backward(l, x, r, dx, batch);

    /* numeric, w.r.t. the input */
    double *ga = malloc(nx * sizeof(double)), *gn = malloc(nx * sizeof(double));
    for (size_t i = 0; i < nx; i++) {
        float v = x[i];
        x[i] = v + EPS;
        double lp = loss_of(l, x, y, r, batch, ny);
        x[i] = v - EPS;
        double lm = loss_of(l, x, y, r, batch, ny);
        x[i] = v;
        gn[i] = (lp - lm) / (2.0 * EPS);
        ga[i] = dx[i];
    }
    double e = zp_test_rel_err(ga, gn, nx);
    if (e > TOL)
        print_error("layer kind %d: input gradient relative error %g\n", l->kind, e);
    assert_true(e <= TOL);
    free(ga);
    free(gn);

    /* numeric, w.r.t. each parameter */
    for (int j = 0; j < l->n_params; j++) {
        struct zp_tparam *p = &l->p[j];
        double *pa = malloc(p->n * sizeof(double)), *pn = malloc(p->n * sizeof(double));
        for (size_t i = 0; i < p->n; i++) {
            float v = p->w[i];
            p->w[i] = v + EPS;
            double lp = loss_of(l, x, y, r, batch, ny);
            p->w[i] = v - EPS;
            double lm = loss_of(l, x, y, r, batch, ny);
            p->w[i] = v;
            pn[i] = (lp - lm) / (2.0 * EPS);
            pa[i] = p->g[i];
        }
        double pe = zp_test_rel_err(pa, pn, p->n);
        if (pe > TOL)
            print_error("layer kind %d: parameter %d relative error %g\n", l->kind, j, pe);
        assert_true(pe <= TOL);
        free(pa);
        free(pn);
    }
    free(l->col);
    l->col = NULL;
    free(x);
    free(y);
    free(r);
    free(dx);
    zp_tnet_free(net);
}

static void test_conv3x3(void **state)
{
    (void)state;
    check_layer((struct zp_tlayer){.kind = ZP_TL_CONV, .k = 3, .stride = 1, .pad = 1, .c_out = 4},
                2, 5, 5, 2, 0.0f);
}

static void test_conv3x3_strided(void **state)
{
    (void)state;
    check_layer((struct zp_tlayer){.kind = ZP_TL_CONV, .k = 3, .stride = 2, .pad = 1, .c_out = 3},
                3, 6, 5, 2, 0.0f);
}

static void test_conv1x1(void **state)
{
    (void)state;
    check_layer((struct zp_tlayer){.kind = ZP_TL_CONV, .k = 1, .stride = 1, .pad = 0, .c_out = 5},
                4, 3, 3, 3, 0.0f);
}

static void test_depthwise(void **state)
{
    (void)state;
    check_layer((struct zp_tlayer){.kind = ZP_TL_DWCONV, .k = 3, .stride = 1, .pad = 1}, 3, 5, 4,
                2, 0.0f);
}

static void test_depthwise_strided(void **state)
{
    (void)state;
    check_layer((struct zp_tlayer){.kind = ZP_TL_DWCONV, .k = 3, .stride = 2, .pad = 1}, 3, 7, 6,
                2, 0.0f);
}

static void test_fc(void **state)
{
    (void)state;
    check_layer((struct zp_tlayer){.kind = ZP_TL_FC, .c_out = 4}, 6, 1, 1, 3, 0.0f);
}

static void test_bn_train(void **state)
{
    (void)state;
    check_layer((struct zp_tlayer){.kind = ZP_TL_BN}, 3, 4, 3, 3, 0.5f);
}

static void test_bn_relu6_train(void **state)
{
    (void)state;
    /* offset 2: most outputs inside (0, 6), some clipped at either end */
    check_layer((struct zp_tlayer){.kind = ZP_TL_BN, .act = 6}, 3, 4, 3, 3, 2.0f);
}

static void test_relu(void **state)
{
    (void)state;
    check_layer((struct zp_tlayer){.kind = ZP_TL_RELU}, 2, 3, 3, 2, 0.0f);
}

static void test_relu6(void **state)
{
    (void)state;
    check_layer((struct zp_tlayer){.kind = ZP_TL_RELU6}, 2, 3, 3, 2, 4.0f);
}

static void test_avgpool(void **state)
{
    (void)state;
    check_layer((struct zp_tlayer){.kind = ZP_TL_AVGPOOL, .k = 2, .stride = 2}, 2, 4, 6, 2, 0.0f);
}

static void test_gap_flatten(void **state)
{
    (void)state;
    check_layer((struct zp_tlayer){.kind = ZP_TL_GAP}, 3, 3, 4, 2, 0.0f);
    check_layer((struct zp_tlayer){.kind = ZP_TL_FLATTEN}, 3, 2, 2, 2, 0.0f);
}

/* End to end: a tiny MobileNet-shaped network with softmax cross-entropy. The
 * loss gradient of every parameter against finite differences of the mean loss. */
static void test_network_with_loss(void **state)
{
    (void)state;
    struct zp_mobilenet_arch a = {.in_c = 1, .in_h = 6, .in_w = 6, .n_classes = 3, .stem = 3,
                                  .stem_stride = 1, .n_blocks = 2,
                                  .block_out = {4, 4}, .block_stride = {2, 1}};
    zp_test_gradcheck_mobilenet(&a, NET_EPS);
}

/* The softmax cross-entropy value against a hand computation: logits (0, ln 3)
 * for one example of class 1 give p = (1/4, 3/4), loss = -ln(3/4). */
static void test_loss_value(void **state)
{
    (void)state;
    struct zp_tlayer spec = {.kind = ZP_TL_FLATTEN};
    struct zp_tnet *net = NULL;
    struct zp_err err;
    assert_int_equal(zp_tnet_build(&spec, 1, 2, 1, 1, 1, &net, &err), ZP_OK);
    assert_int_equal(zp_tnet_reserve(net, 1, &err), ZP_OK);
    float x[2] = {0.0f, logf(3.0f)};
    int32_t y = 1;
    int ok = 0;
    zp_tnet_forward(net, x, 1, 1);
    double loss = zp_tnet_loss(net, &y, 1, &ok);
    assert_true(fabs(loss + log(0.75)) < 1e-6);
    assert_int_equal(ok, 1);
    assert_true(fabs(net->g0[0] - 0.25) < 1e-6 && fabs(net->g0[1] - (0.75 - 1.0)) < 1e-6);
    zp_tnet_free(net);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_conv3x3),       cmocka_unit_test(test_conv3x3_strided),
        cmocka_unit_test(test_conv1x1),       cmocka_unit_test(test_depthwise),
        cmocka_unit_test(test_depthwise_strided), cmocka_unit_test(test_fc),
        cmocka_unit_test(test_bn_train),      cmocka_unit_test(test_bn_relu6_train),
        cmocka_unit_test(test_relu),          cmocka_unit_test(test_relu6),
        cmocka_unit_test(test_avgpool),       cmocka_unit_test(test_gap_flatten),
        cmocka_unit_test(test_network_with_loss), cmocka_unit_test(test_loss_value),
    };
    return ZP_RUN_TESTS(t);
}
