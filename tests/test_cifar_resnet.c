/* The CIFAR-10 ResNet-20 of ../shared/data/cifar10 on a class-balanced slice of
 * the test JPEGs, loaded as a native-size image folder (32x32, no resize) with
 * the split the config uses (split.every / part).
 *
 * What the float top-1 is checked against, and why it is honest:
 * - PROVENANCE.md gives 81.03 % on all 10,000 images from an independent
 *   PyTorch evaluation of the original checkpoint. On a slice of 200 the count
 *   of correct images is then Binomial(200, 0.8103) to a good approximation
 *   (sd 5.5 images): a count outside mean +- 4 sd (146..178) means the
 *   preprocessing or the network is wrong, not bad luck (p < 1e-4).
 * - EXPECT_SLICE is this harness's count on the slice, taken from the build
 *   whose count on all 10,000 images is 8103, exactly PROVENANCE's 81.03 %
 *   (bin/harness run on the whole set, size 0, resize_mode none, the mean and
 *   std below). It pins the result bit for bit; it is a regression value, not
 *   an independent one.
 * Without ../shared/data the test skips and says so. */
#include "tests/util.h"

#include <stdio.h>
#include <stdlib.h>

#include "data/dataset.h"
#include "model/graph.h"

#define NCLS 10
#define EVERY 50 /* every 50th of 10,000 images: 200, 20 per class (the CSV is sorted by class) */
#define EXPECT_N 200
#define EXPECT_SLICE 166

static void test_resnet20_slice(void **state)
{
    (void)state;
    const char *root = zp_test_shared_data();
    char model[4096], images[4096], labels[4096];
    if (root) {
        snprintf(model, sizeof model, "%s/cifar10/models/resnet20_cifar10.onnx", root);
        snprintf(images, sizeof images, "%s/cifar10/test", root);
        snprintf(labels, sizeof labels, "%s/cifar10/test_labels.csv", root);
    }
    FILE *probe = root ? fopen(model, "rb") : NULL;
    if (!probe) {
        print_message("skipped: %s not found (the shared CIFAR-10 data is absent)\n",
                      root ? model : "../shared/data");
        skip();
    }
    fclose(probe);
    /* PROVENANCE.md's preprocessing in pixel units: x = (pixel - mean) / std */
    struct zp_dataset_spec s = { .format = ZP_DATA_IMAGES, .images = images, .labels = labels,
                                 .channels = 3, .size = 0, .resize_mode = ZP_RESIZE_NONE,
                                 .mean = { 123.675f, 116.28f, 103.53f },
                                 .std = { 58.395f, 57.12f, 57.375f },
                                 .split_every = EVERY, .split_offset = 0, .split_rest = 0 };
    struct zp_dataset ds;
    struct zp_err err = { 0 };
    if (zp_dataset_load(&s, &ds, &err) != ZP_OK) {
        print_error("%s\n", err.msg);
        fail();
    }
    assert_int_equal(ds.n, EXPECT_N);
    assert_int_equal(ds.c, 3);
    assert_int_equal(ds.h, 32);
    assert_int_equal(ds.w, 32);
    int per_class[NCLS] = { 0 };
    for (int64_t i = 0; i < ds.n; i++)
        per_class[ds.labels[i]]++;
    for (int k = 0; k < NCLS; k++)
        assert_int_equal(per_class[k], EXPECT_N / NCLS);

    struct zp_graph *g = NULL;
    if (zp_onnx_load(model, &g, &err) != ZP_OK) {
        print_error("%s\n", err.msg);
        fail();
    }
    int64_t shape[4];
    assert_int_equal(zp_graph_input_shape(g, shape), 3);
    assert_int_equal(zp_graph_output_size(g), NCLS);
    float *logits = malloc((size_t)ds.n * NCLS * sizeof *logits);
    assert_non_null(logits);
    const int batch = 50;
    size_t ex = zp_dataset_example_size(&ds);
    for (int64_t b = 0; b < ds.n; b += batch) {
        int bn = (int)(ds.n - b < batch ? ds.n - b : batch);
        assert_int_equal(zp_graph_run(g, ds.x + (size_t)b * ex, bn, logits + b * NCLS, NULL, &err),
                         ZP_OK);
    }
    int correct = 0;
    for (int64_t i = 0; i < ds.n; i++) {
        int best = 0;
        for (int k = 1; k < NCLS; k++)
            if (logits[i * NCLS + k] > logits[i * NCLS + best])
                best = k;
        correct += best == ds.labels[i];
    }
    print_message("ResNet-20 float top-1 on %lld images: %d correct (%.1f %%)\n", (long long)ds.n,
                  correct, 100.0 * correct / (double)ds.n);
    assert_in_range(correct, 146, 178); /* PROVENANCE's 81.03 % +- 4 binomial sd */
    assert_int_equal(correct, EXPECT_SLICE);
    free(logits);
    zp_graph_free(g);
    zp_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_resnet20_slice),
    };
    return ZP_RUN_TESTS(t);
}
