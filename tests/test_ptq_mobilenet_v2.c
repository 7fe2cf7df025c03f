/* Cross-layer equalization on the real MobileNet v2 1.0 (_ptq variant, from the
 * shared data; skipped when absent): on the 9 golden ImageNet inputs the
 * equalized network (its ReLU6 clamps per channel) gives the model's logits to
 * float rounding, every pair's ranges meet, and the widest channel of the first
 * depthwise layer (35x its median, the one that sets a per-tensor grid) comes
 * within a few times the median. */
#include "tests/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/graph.h"
#include "ptq/equalize.h"

#define NCLS 1000
/* all 9 golden inputs in release; 2 under ASan, where a MobileNet v2 run of 9
 * images takes about 30 s on the shared 2-core machine */
#ifdef __SANITIZE_ADDRESS__
#define NIMG 2
#else
#define NIMG 9
#endif
#define SIDE 224

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* max / median of a layer's output-channel ranges */
static double spread(const struct zp_cle_layer *L)
{
    float *r = malloc((size_t)L->out * sizeof *r);
    zp_cle_out_ranges(L, r);
    qsort(r, (size_t)L->out, sizeof *r, cmp_float);
    double s = r[L->out - 1] / r[L->out / 2];
    free(r);
    return s;
}

static void test_equalized_logits(void **state)
{
    (void)state;
    const char *root = zp_test_shared_data();
    if (!root)
        skip();
    char path[4096];
    snprintf(path, sizeof path, "%s/imagenet/models/mobilenet_v2_1.0_224_ptq.onnx", root);
    struct zp_graph *g;
    struct zp_err err = {0};
    if (zp_onnx_load(path, &g, &err) != ZP_OK)
        fail_msg("%s", err.msg);
    size_t n;
    snprintf(path, sizeof path, "%s/imagenet/golden/golden_input_u8_nhwc_9x224x224x3.bin", root);
    unsigned char *u8 = (unsigned char *)zp_test_read_file(path, &n);
    assert_non_null(u8);
    assert_int_equal(n, (size_t)9 * SIDE * SIDE * 3);
    float *x = malloc((size_t)NIMG * 3 * SIDE * SIDE * sizeof *x);
    for (int i = 0; i < NIMG; i++) /* the model's input: u8 / 127.5 - 1, NCHW */
        for (int p = 0; p < SIDE * SIDE; p++)
            for (int c = 0; c < 3; c++)
                x[(i * 3 + c) * SIDE * SIDE + p] = u8[(i * SIDE * SIDE + p) * 3 + c] / 127.5f - 1.f;
    free(u8);

    const int L = zp_graph_num_layers(g);
    float **w = calloc((size_t)L, sizeof *w), **b = calloc((size_t)L, sizeof *b),
          **hi = calloc((size_t)L, sizeof *hi);
    for (int l = 0; l < L; l++) {
        const struct zp_layer_info *li = zp_graph_layer(g, l);
        size_t wn = 1;
        for (int d = 0; d < li->wndim; d++)
            wn *= (size_t)li->wshape[d];
        w[l] = malloc(wn * sizeof(float));
        memcpy(w[l], li->weight, wn * sizeof(float));
        b[l] = calloc((size_t)li->n_out, sizeof(float));
        if (li->bias)
            memcpy(b[l], li->bias, (size_t)li->n_out * sizeof(float));
    }
    struct zp_cle_layer dw1;
    assert_true(zp_cle_layer_of(g, 1, w[1], b[1], NULL, &dw1) && dw1.depthwise);
    double before = spread(&dw1);
    assert_true(zp_cle_relu6_clamps(g, hi));
    struct zp_cle_report rep;
    assert_int_equal(zp_cle_graph(g, w, b, hi, &rep, &err), ZP_OK);
    print_message("MobileNet v2: %d pairs (%d through ReLU6), %d sweeps; first depthwise layer "
                  "max/median range %.1f -> %.2f\n",
                  rep.pairs, rep.relu6_pairs, rep.sweeps, before, spread(&dw1));
    assert_int_equal(rep.pairs, 36);
    assert_int_equal(rep.relu6_pairs, 34);
    assert_true(before > 30 && spread(&dw1) < 3);
    /* every pair: the channels live on both sides have equal ranges */
    int checked = 0;
    for (int l = 0; l < L; l++) {
        int s = zp_graph_layer_source(g, l);
        struct zp_cle_layer a, c;
        if (s < 0 || !zp_cle_layer_of(g, s, w[s], b[s], NULL, &a) ||
            !zp_cle_layer_of(g, l, w[l], b[l], NULL, &c))
            continue;
        float *ra = malloc((size_t)a.out * 2 * sizeof *ra), *rc = ra + a.out;
        zp_cle_out_ranges(&a, ra);
        zp_cle_in_ranges(&c, rc);
        for (int64_t i = 0; i < a.out; i++)
            if (ra[i] > 0 && rc[i] > 0 && !zp_test_close(ra[i], rc[i], 1e-4))
                fail_msg("layers %d -> %d, channel %lld: ranges %g and %g", s, l, (long long)i, ra[i], rc[i]);
        free(ra);
        checked++;
    }
    assert_int_equal(checked, 36);

    float *ref = malloc((size_t)NIMG * NCLS * sizeof *ref), *got = malloc((size_t)NIMG * NCLS * sizeof *got);
    assert_int_equal(zp_graph_run(g, x, NIMG, ref, NULL, &err), ZP_OK);
    struct zp_run_hooks h = {.weights = (const float *const *)w, .biases = (const float *const *)b,
                             .act_hi = (const float *const *)hi};
    assert_int_equal(zp_graph_run(g, x, NIMG, got, &h, &err), ZP_OK);
    double worst = 0, top = 0;
    for (int i = 0; i < NIMG * NCLS; i++) {
        worst = fmax(worst, fabs((double)got[i] - ref[i]));
        top = fmax(top, fabs((double)ref[i]));
    }
    print_message("max |logit change| %.3g (largest |logit| %.3g)\n", worst, top);
    assert_true(worst < 1e-4 * top);
    /* the same weights with the model's clip at 6 would not be the same network */
    h.act_hi = NULL;
    assert_int_equal(zp_graph_run(g, x, NIMG, got, &h, &err), ZP_OK);
    double off = 0;
    for (int i = 0; i < NIMG * NCLS; i++)
        off = fmax(off, fabs((double)got[i] - ref[i]));
    assert_true(off > 100 * worst);

    for (int l = 0; l < L; l++)
        free(w[l]), free(b[l]), free(hi[l]);
    free(w), free(b), free(hi), free(x), free(ref), free(got);
    zp_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equalized_logits),
    };
    return ZP_RUN_TESTS(tests);
}
