/* The real model: MobileNet v1 0.25 (ImageNet) from /work/shared/data/imagenet.
 * Our float logits on the 9 golden inputs must match the logits an independent
 * numpy interpreter produced (golden_logits_f32_9x1000.bin) within 1e-3, through
 * both schedules of the executor (fast, with or without per-image hooks, and
 * node-by-node with batch hooks). */
#include "tests/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/graph.h"

#define NIMG 9
#define NCLS 1000
#define SIDE 224

struct fixture {
    struct zp_graph *g;
    float *x, *golden;
};

static int load(struct fixture *f)
{
    const char *root = zp_test_shared_data();
    if (!root)
        return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/imagenet/models/mobilenet_v1_0.25_224.onnx", root);
    struct zp_err err = {0};
    if (zp_onnx_load(path, &f->g, &err) != ZP_OK) {
        print_error("%s\n", err.msg);
        fail();
    }
    size_t n;
    snprintf(path, sizeof path, "%s/imagenet/golden/golden_input_u8_nhwc_9x224x224x3.bin", root);
    unsigned char *u8 = (unsigned char *)zp_test_read_file(path, &n);
    assert_non_null(u8);
    assert_int_equal(n, (size_t)NIMG * SIDE * SIDE * 3);
    snprintf(path, sizeof path, "%s/imagenet/golden/golden_logits_f32_9x1000.bin", root);
    f->golden = (float *)zp_test_read_file(path, &n);
    assert_non_null(f->golden);
    assert_int_equal(n, (size_t)NIMG * NCLS * sizeof(float));
    /* u8 NHWC RGB -> x = u8/127.5 - 1, NCHW */
    f->x = malloc((size_t)NIMG * 3 * SIDE * SIDE * sizeof(float));
    for (int i = 0; i < NIMG; i++)
        for (int y = 0; y < SIDE; y++)
            for (int x = 0; x < SIDE; x++)
                for (int c = 0; c < 3; c++)
                    f->x[((i * 3 + c) * SIDE + y) * SIDE + x] =
                        u8[((i * SIDE + y) * SIDE + x) * 3 + c] / 127.5f - 1.f;
    free(u8);
    return 1;
}

static void check(const float *logits, const float *golden)
{
    double worst = 0;
    for (int i = 0; i < NIMG * NCLS; i++) {
        double d = fabs((double)logits[i] - golden[i]);
        worst = d > worst ? d : worst;
    }
    print_message("max |logit - golden| = %.3g\n", worst);
    assert_true(worst < 1e-3);
}

static void drop(struct fixture *f)
{
    zp_graph_free(f->g);
    free(f->x);
    free(f->golden);
}

static void test_shapes(void **state)
{
    struct fixture f = {0};
    if (!load(&f))
        skip();
    int64_t s[4];
    assert_int_equal(zp_graph_input_shape(f.g, s), 3);
    assert_int_equal(s[0], 3);
    assert_int_equal(s[1], SIDE);
    assert_int_equal(zp_graph_output_size(f.g), NCLS);
    /* 27 convolutions + the classifier (models/mobilenet_v1_0.25_224.json) */
    assert_int_equal(zp_graph_num_layers(f.g), 28);
    const struct zp_layer_info *l0 = zp_graph_layer(f.g, 0), *l1 = zp_graph_layer(f.g, 1);
    assert_int_equal(l0->pads[0], 0); /* conv1: TF SAME, stride 2: pads [0,0,1,1] */
    assert_int_equal(l0->pads[2], 1);
    assert_int_equal(l0->out_shape[1], 112);
    assert_int_equal(l0->relu_after, 6);
    assert_true(l1->depthwise);
    const struct zp_layer_info *fc = zp_graph_layer(f.g, 27);
    assert_string_equal(fc->op, "Gemm");
    assert_int_equal(fc->wshape[0], NCLS); /* [O, I] even though the file has transB=0 */
    assert_int_equal(fc->wshape[1], 256);
    assert_int_equal(fc->relu_after, 0);
    drop(&f);
}

static void test_golden_fast(void **state)
{
    struct fixture f = {0};
    if (!load(&f))
        skip();
    float *logits = malloc(NIMG * NCLS * sizeof(float));
    struct zp_err err = {0};
    assert_int_equal(zp_graph_run(f.g, f.x, NIMG, logits, NULL, &err), ZP_OK);
    check(logits, f.golden);
    free(logits);
    drop(&f);
}

static void on_input(void *ctx, int layer, float *x, int batch) { (*(int *)ctx)++; }
static void on_output(void *ctx, int layer, const float *y, int batch) { (*(int *)ctx)++; }

static const struct zp_graph *G; /* the graph on_input_image copies the layer inputs of */

static void on_input_image(void *ctx, int layer, int image, int thread, const float *x, float *out)
{
    const struct zp_layer_info *li = zp_graph_layer(G, layer);
    size_t n = 1;
    for (int d = 0; d < li->in_ndim; d++)
        n *= (size_t)li->in_shape[d];
    memcpy(out, x, n * sizeof *out);
#pragma omp atomic
    (*(int *)ctx)++;
}

static void on_output_image(void *ctx, int layer, int image, int thread, const float *y)
{
#pragma omp atomic
    (*(int *)ctx)++;
}

static void test_golden_hooked(void **state)
{
    struct fixture f = {0};
    if (!load(&f))
        skip();
    float *logits = malloc(NIMG * NCLS * sizeof(float));
    struct zp_err err = {0};
    int calls = 0;
    struct zp_run_hooks h = {.ctx = &calls, .layer_input = on_input, .layer_output = on_output};
    assert_int_equal(zp_graph_run(f.g, f.x, NIMG, logits, &h, &err), ZP_OK);
    assert_int_equal(calls, 2 * 28);
    check(logits, f.golden);
    /* layer_input only: activations fused into the layers again */
    calls = 0;
    struct zp_run_hooks hi = {.ctx = &calls, .layer_input = on_input};
    assert_int_equal(zp_graph_run(f.g, f.x, NIMG, logits, &hi, &err), ZP_OK);
    assert_int_equal(calls, 28);
    check(logits, f.golden);
    /* per-image hooks, inside the fast schedule: with an output hook every layer's
     * Relu6 is applied after the hook instead of inside the kernel */
    calls = 0;
    G = f.g;
    struct zp_run_hooks hp = {.ctx = &calls, .layer_input_image = on_input_image,
                              .layer_output_image = on_output_image};
    assert_int_equal(zp_graph_run(f.g, f.x, NIMG, logits, &hp, &err), ZP_OK);
    assert_int_equal(calls, 2 * 28 * NIMG);
    check(logits, f.golden);
    free(logits);
    drop(&f);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_golden_fast),
        cmocka_unit_test(test_golden_hooked),
    };
    return ZP_RUN_TESTS(t);
}
