/* Pad and Resize (ZP_OP_RESAMPLE). Forward against values worked out by hand
 * from the ONNX operator definitions (the Pad cases are the reflect / edge /
 * constant example of the ONNX Pad page; the Resize ones its upsample and
 * downsample examples, linear and nearest), backward by finite differences
 * (tests/onnx_builder.h mb_check_grads), and the errors for what touches the
 * batch axis or a mode the runtime does not have. */
#include "tests/util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#include "model/graph.h"
#include "tests/onnx_builder.h"

static const float px[6] = {1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f}; /* [3, 2] */

/* Pad of x [N, 3, 2] with pads (begin then end, 3 axes), mode, constant value. */
static struct zp_graph *pad_graph(const char *mode, const int64_t *pads, float value, int train)
{
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[3] = {1, 3, 2};
    mb_input(&b, "x", 3, xd);
    mb_init_i64(&b, "pads", 6, pads);
    int64_t one = 1;
    mb_init_f(&b, "cv", 0, &one, &value);
    Onnx__NodeProto *n = mb_node(&b, "Pad", "pad", "x,pads,cv", "y");
    mb_attr_s(&b, n, "mode", mode);
    mb_output(&b, "y");
    return train ? mb_load_train_ok(&b) : mb_load_ok(&b);
}

static void test_pad(void **state)
{
    (void)state;
    static const int64_t left2[6] = {0, 0, 2, 0, 0, 0};
    static const struct {
        const char *mode;
        float want[12];
    } cases[] = {
        {"constant", {0, 0, 1.0f, 1.2f, 0, 0, 2.3f, 3.4f, 0, 0, 4.5f, 5.7f}},
        {"reflect", {1.0f, 1.2f, 1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f, 4.5f, 5.7f}},
        {"edge", {1.0f, 1.0f, 1.0f, 1.2f, 2.3f, 2.3f, 2.3f, 3.4f, 4.5f, 4.5f, 4.5f, 5.7f}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct zp_graph *g = pad_graph(cases[k].mode, left2, 0.f, 1);
        assert_int_equal(zp_graph_output_size(g), 12);
        float y[12];
        mb_run(g, px, 1, y, NULL);
        mb_assert_close(y, cases[k].want, 12, 1e-5);
        float *x = mb_randv(12, 21);
        mb_check_grads(g, x, 2, 1, cases[k].mode);
        free(x);
        zp_graph_free(g);
    }
    /* wrap: one column each side, [1.2, 1.0, 1.2, 1.0] per row */
    static const int64_t wrap1[6] = {0, 0, 1, 0, 0, 1};
    struct zp_graph *g = pad_graph("wrap", wrap1, 0.f, 0);
    float y[12], want[12];
    mb_run(g, px, 1, y, NULL);
    for (int r = 0; r < 3; r++) {
        want[r * 4] = want[r * 4 + 2] = px[r * 2 + 1];
        want[r * 4 + 1] = want[r * 4 + 3] = px[r * 2];
    }
    mb_assert_close(y, want, 12, 1e-5);
    zp_graph_free(g);
    /* constant 2.5 with a negative pad (a crop): a row before, the first column cut,
     * a column after: [[v, v], [1.2, v], [3.4, v], [5.7, v]] */
    static const int64_t crop[6] = {0, 1, -1, 0, 0, 1};
    g = pad_graph("constant", crop, 2.5f, 1);
    float y2[8], want2[8] = {2.5f, 2.5f, 1.2f, 2.5f, 3.4f, 2.5f, 5.7f, 2.5f};
    assert_int_equal(zp_graph_output_size(g), 8);
    mb_run(g, px, 1, y2, NULL);
    mb_assert_close(y2, want2, 8, 1e-5);
    float *x = mb_randv(12, 22);
    mb_check_grads(g, x, 2, 1, "constant crop");
    free(x);
    zp_graph_free(g);
}

static void test_pad_errors(void **state)
{
    (void)state;
    static const struct {
        const char *mode;
        int64_t pads[6];
        const char *needle;
    } cases[] = {
        {"constant", {1, 0, 0, 0, 0, 0}, "batch axis"},
        {"reflect", {0, 0, -1, 0, 0, 0}, "negative pads"},
        {"mirror", {0, 0, 1, 0, 0, 0}, "mode 'mirror' not supported"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct mb b;
        mb_begin(&b, 13);
        int64_t xd[3] = {1, 3, 2};
        mb_input(&b, "x", 3, xd);
        mb_init_i64(&b, "pads", 6, cases[k].pads);
        mb_attr_s(&b, mb_node(&b, "Pad", "pad", "x,pads", "y"), "mode", cases[k].mode);
        mb_output(&b, "y");
        mb_expect_error(&b, ZP_EUNSUPPORTED, cases[k].needle);
    }
}

/* Resize of x [N, 1, H, W] by scales (float, 4) or sizes (int64, 4). */
static struct zp_graph *resize_graph(int64_t H, int64_t W, const char *mode, const char *ct,
                                     const float *scales, const int64_t *sizes, int train)
{
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 1, H, W}, four = 4;
    mb_input(&b, "x", 4, xd);
    if (scales)
        mb_init_f(&b, "sc", 1, &four, scales);
    else
        mb_init_i64(&b, "sz", 4, sizes);
    Onnx__NodeProto *n = mb_node(&b, "Resize", "rs", scales ? "x,,sc" : "x,,,sz", "y");
    mb_attr_s(&b, n, "mode", mode);
    if (ct)
        mb_attr_s(&b, n, "coordinate_transformation_mode", ct);
    mb_output(&b, "y");
    return train ? mb_load_train_ok(&b) : mb_load_ok(&b);
}

static void test_resize(void **state)
{
    (void)state;
    const float x22[4] = {1, 2, 3, 4}, x24[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const float up2[4] = {1, 1, 2, 2}, up23[4] = {1, 1, 2, 3}, down[4] = {1, 1, 0.6f, 0.6f};
    const int64_t s44[4] = {1, 1, 4, 4};
    float y[24];
    /* linear, half_pixel, x2 */
    const float lin[16] = {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f,
                           2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4};
    struct zp_graph *g = resize_graph(2, 2, "linear", NULL, up2, NULL, 1);
    mb_run(g, x22, 1, y, NULL);
    mb_assert_close(y, lin, 16, 1e-5);
    float *x = mb_randv(8, 23);
    mb_check_grads(g, x, 2, 1, "linear half_pixel");
    free(x);
    zp_graph_free(g);
    /* linear, align_corners, to 4 x 4 (sizes): thirds */
    float ac[16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            ac[i * 4 + j] = 1.f + 2.f * (float)i / 3.f + (float)j / 3.f;
    g = resize_graph(2, 2, "linear", "align_corners", NULL, s44, 0);
    mb_run(g, x22, 1, y, NULL);
    mb_assert_close(y, ac, 16, 1e-5);
    zp_graph_free(g);
    /* nearest x (2, 3): each value a 2 x 3 block */
    float nn[24];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 6; j++)
            nn[i * 6 + j] = x22[(i / 2) * 2 + j / 3];
    g = resize_graph(2, 2, "nearest", NULL, up23, NULL, 1);
    mb_run(g, x22, 1, y, NULL);
    mb_assert_close(y, nn, 24, 1e-5);
    x = mb_randv(8, 24);
    mb_check_grads(g, x, 2, 1, "nearest");
    free(x);
    zp_graph_free(g);
    /* downsample by 0.6: nearest [[1, 3]], linear [[2.6666665, 4.3333331]] */
    const float dn[2] = {1, 3}, dl[2] = {2.6666665f, 4.3333331f};
    g = resize_graph(2, 4, "nearest", NULL, down, NULL, 0);
    assert_int_equal(zp_graph_output_size(g), 2);
    mb_run(g, x24, 1, y, NULL);
    mb_assert_close(y, dn, 2, 1e-5);
    zp_graph_free(g);
    g = resize_graph(2, 4, "linear", NULL, down, NULL, 1);
    mb_run(g, x24, 1, y, NULL);
    mb_assert_close(y, dl, 2, 1e-5);
    x = mb_randv(16, 25);
    mb_check_grads(g, x, 2, 1, "linear downsample");
    free(x);
    zp_graph_free(g);
}

static void test_resize_errors(void **state)
{
    (void)state;
    const float batch2[4] = {2, 1, 2, 2}, up2[4] = {1, 1, 2, 2};
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 1, 2, 2}, four = 4;
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "sc", 1, &four, batch2);
    mb_attr_s(&b, mb_node(&b, "Resize", "rs", "x,,sc", "y"), "mode", "linear");
    mb_output(&b, "y");
    mb_expect_error(&b, ZP_EUNSUPPORTED, "batch axis");
    mb_begin(&b, 13);
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "sc", 1, &four, up2);
    mb_attr_s(&b, mb_node(&b, "Resize", "rs", "x,,sc", "y"), "mode", "cubic");
    mb_output(&b, "y");
    mb_expect_error(&b, ZP_EUNSUPPORTED, "mode 'cubic' not supported");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pad),
        cmocka_unit_test(test_pad_errors),
        cmocka_unit_test(test_resize),
        cmocka_unit_test(test_resize_errors),
    };
    return ZP_RUN_TESTS(tests);
}
