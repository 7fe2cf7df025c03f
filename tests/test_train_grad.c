/* Gradients of whole training graphs against central finite differences: the
 * built-in MobileNet (as train/ builds it, every parameter: conv, depthwise and
 * classifier weights, classifier bias, BN gamma and beta) with softmax
 * cross-entropy in training mode. Every op's own check (and fake-quant inside
 * and outside the range) is tests/test_graph_grad.c, beside the runtime. */
#include "tests/util.h"
#include "tests/train_checks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/graph_train.h"
#include "train/tnet.h"

/* A small step through a whole network: several stacked kinks and BN make the
 * loss curve faster than one layer does. */
#define NET_EPS 2e-3f

static void test_network_with_loss(void **state)
{
    (void)state;
    struct zp_mobilenet_arch a = {.in_c = 1, .in_h = 6, .in_w = 6, .n_classes = 3, .stem = 3,
                                  .stem_stride = 1, .n_blocks = 2,
                                  .block_out = {4, 4}, .block_stride = {2, 1}};
    zp_test_gradcheck_mobilenet(&a, NET_EPS);
}

/* Strided stem and a 3-channel input: the layout of every conv changes. The
 * stem's error is curvature (5.4 % at step 2e-3, 6 % at 5e-3, 7 % at 1e-2: it
 * shrinks with the step, a wrong term would not), hence the smaller step. */
static void test_network_strided_stem(void **state)
{
    (void)state;
    struct zp_mobilenet_arch a = {.in_c = 3, .in_h = 8, .in_w = 6, .n_classes = 3, .stem = 4,
                                  .stem_stride = 2, .n_blocks = 1,
                                  .block_out = {5}, .block_stride = {1}};
    zp_test_gradcheck_mobilenet(&a, 1e-3f);
}

/* The softmax cross-entropy the trainer uses against a hand computation: logits
 * (0, ln 3) for one example of class 1 give p = (1/4, 3/4), loss = -ln(3/4). */
static void test_loss_value(void **state)
{
    (void)state;
    float z[2] = {0.0f, logf(3.0f)}, d[2];
    int32_t y = 1;
    int ok = 0;
    double loss = zp_loss_xent(z, &y, 1, 2, d, &ok);
    assert_true(fabs(loss + log(0.75)) < 1e-6);
    assert_int_equal(ok, 1);
    assert_true(fabs(d[0] - 0.25) < 1e-6 && fabs(d[1] - (0.75 - 1.0)) < 1e-6);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_network_with_loss),
        cmocka_unit_test(test_network_strided_stem),
        cmocka_unit_test(test_loss_value),
    };
    return ZP_RUN_TESTS(t);
}
