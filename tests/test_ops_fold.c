/* Load-time folding (model/onnx_nodes_fold.c): Shape, ConstantOfShape and
 * Range, and the shape arithmetic on constants around them (Gather, Unsqueeze,
 * Concat, Slice, Cast, Mul, Div), in the chains exports write: the folded
 * constants must drive Reshape / Mul / Add to the values written out here, and
 * the graphs still train (finite differences through them). */
#include "tests/util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#include "model/graph.h"
#include "tests/onnx_builder.h"

/* A scalar int64 initializer (rank 0). */
static void init_scalar_i64(struct mb *b, const char *name, int64_t v)
{
    Onnx__TensorProto *t = mb_tensor(b, name, 0, NULL);
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    int64_t *c = mb_alloc(b, sizeof *c);
    *c = v;
    t->n_int64_data = 1;
    t->int64_data = c;
    b->inits[b->g.n_initializer++] = t;
}

/* x [N, 2, 3, 4] -> Reshape(x, Concat([1], Unsqueeze(Gather(Shape(x), 1)), [-1]))
 * = [N, 2, 12]; a second branch Slice(Shape(x), 2, 4) * 2 / 2 -> [3, 4], Cast to
 * float and back, feeds ConstantOfShape(Concat([1, 1], that)) of 0.5: y =
 * reshaped x * 0.5 reshaped again. */
static void test_shape_chain(void **state)
{
    (void)state;
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 2, 3, 4}, one = 1, m1 = -1, zero = 0, two = 2, four = 4, ones[2] = {1, 1};
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Shape", "shape", "x", "s");
    init_scalar_i64(&b, "i1", 1);
    mb_node(&b, "Gather", "dim1", "s,i1", "d1");
    mb_init_i64(&b, "ax0", 1, &zero);
    mb_node(&b, "Unsqueeze", "u", "d1,ax0", "u1");
    mb_init_i64(&b, "c1", 1, &one);
    mb_init_i64(&b, "cm1", 1, &m1);
    mb_attr_i(&b, mb_node(&b, "Concat", "cat", "c1,u1,cm1", "shp"), "axis", 0);
    mb_node(&b, "Reshape", "rs", "x,shp", "r");
    /* the second branch */
    mb_init_i64(&b, "st", 1, &two);
    mb_init_i64(&b, "en", 1, &four);
    mb_node(&b, "Slice", "sl", "s,st,en", "hw");
    mb_init_i64(&b, "k2", 1, &two);
    mb_node(&b, "Mul", "mul2", "hw,k2", "hw2");
    mb_node(&b, "Div", "div2", "hw2,k2", "hw3");
    mb_attr_i(&b, mb_node(&b, "Cast", "tof", "hw3", "hwf"), "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
    mb_attr_i(&b, mb_node(&b, "Cast", "toi", "hwf", "hwi"), "to", ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
    mb_init_i64(&b, "c11", 2, ones);
    mb_attr_i(&b, mb_node(&b, "Concat", "cat2", "c11,hwi", "shp2"), "axis", 0);
    Onnx__NodeProto *k = mb_node(&b, "ConstantOfShape", "half", "shp2", "h");
    Onnx__AttributeProto *a = mb_attr(&b, k, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = mb_tensor(&b, "v", 1, &one);
    a->t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    float *half = mb_alloc(&b, sizeof *half);
    *half = 0.5f;
    a->t->n_float_data = 1;
    a->t->float_data = half;
    mb_node(&b, "Mul", "scale", "x,h", "xs");
    mb_init_i64(&b, "shp3", 3, (int64_t[]){-1, 2, 12});
    mb_node(&b, "Reshape", "rs2", "xs,shp3", "r2");
    mb_node(&b, "Add", "sum", "r,r2", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_train_ok(&b);
    int64_t shape[4];
    assert_int_equal(zp_graph_input_shape(g, shape), 3);
    assert_int_equal(zp_graph_output_size(g), 24);
    float *x = mb_randv(48, 41), y[48], want[48];
    mb_run(g, x, 2, y, NULL);
    for (int i = 0; i < 48; i++)
        want[i] = x[i] + 0.5f * x[i];
    mb_assert_close(y, want, 48, 1e-6);
    mb_check_grads(g, x, 2, 1, "shape chain");
    free(x);
    zp_graph_free(g);
}

/* Range (float) added along the last axis, Shape with start / end (opset 15). */
static void test_range_shape_attrs(void **state)
{
    (void)state;
    struct mb b;
    mb_begin(&b, 15);
    int64_t xd[3] = {1, 2, 4};
    const float r0 = 0.5f, r1 = 2.5f, rd = 0.5f;
    int64_t one = 1;
    mb_input(&b, "x", 3, xd);
    mb_init_f(&b, "r0", 0, &one, &r0);
    mb_init_f(&b, "r1", 0, &one, &r1);
    mb_init_f(&b, "rd", 0, &one, &rd);
    mb_node(&b, "Range", "rng", "r0,r1,rd", "ramp"); /* 0.5, 1, 1.5, 2 */
    mb_node(&b, "Add", "add", "x,ramp", "a");
    Onnx__NodeProto *sn = mb_node(&b, "Shape", "shape", "x", "s");
    mb_attr_i(&b, sn, "start", -2);
    mb_attr_i(&b, sn, "end", -1); /* [2] */
    mb_init_i64(&b, "c1", 1, &one);
    mb_init_i64(&b, "c4", 1, (int64_t[]){4});
    mb_attr_i(&b, mb_node(&b, "Concat", "cat", "c1,s,c4", "shp"), "axis", 0);
    mb_node(&b, "Reshape", "rs", "a,shp", "y");
    mb_output(&b, "y");
    struct zp_graph *g = mb_load_ok(&b);
    float *x = mb_randv(8, 42), y[8], want[8];
    mb_run(g, x, 1, y, NULL);
    for (int i = 0; i < 8; i++)
        want[i] = x[i] + 0.5f * (float)(i % 4 + 1);
    mb_assert_close(y, want, 8, 1e-6);
    free(x);
    zp_graph_free(g);
    /* a Range bound from the input is not static */
    mb_begin(&b, 13);
    mb_input(&b, "x", 3, xd);
    mb_init_f(&b, "r1", 0, &one, &r1);
    mb_init_f(&b, "rd", 0, &one, &rd);
    mb_node(&b, "Range", "rng", "x,r1,rd", "y");
    mb_output(&b, "y");
    mb_expect_error(&b, ZP_EUNSUPPORTED, "only constant inputs are folded");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_chain),
        cmocka_unit_test(test_range_shape_attrs),
    };
    return ZP_RUN_TESTS(tests);
}
