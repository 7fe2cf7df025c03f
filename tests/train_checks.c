/* Training-runtime checks shared by the training tests: the finite-difference
 * gradient check of a whole small MobileNet, and the agreement of a shipped model's
 * ONNX file with the checkpoint it was exported from. */
#include "tests/train_checks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/rng.h"
#include "data/dataset.h"
#include "model/graph.h"
#include "train/tnet.h"
#include "train/trainer.h"
#include "tests/util.h"

double zp_test_rel_err(const double *a, const double *b, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return sqrt(num) / (sqrt(den) + 1e-12);
}

void zp_test_gradcheck_mobilenet(const struct zp_mobilenet_arch *a, float eps)
{
    struct zp_tnet *net = NULL;
    struct zp_err err;
    zp_err_clear(&err);
    assert_int_equal(zp_tnet_mobilenet(a, 3, &net, &err), ZP_OK);
    const int batch = 4;
    assert_int_equal(zp_tnet_reserve(net, batch, &err), ZP_OK);
    /* BN starts as gamma = 1, beta = 0, where ReLU6(gamma * xhat) followed by a
     * linear layer and BN is scale invariant: the true gradient of gamma is ~0 and
     * a relative error meaningless. Random affine parameters break that. */
    struct zp_rng prng;
    zp_rng_seed(&prng, 9);
    for (int li = 0; li < net->n_layers; li++)
        if (net->L[li].kind == ZP_TL_BN)
            for (int c = 0; c < net->L[li].c_in; c++) {
                net->L[li].p[0].w[c] = (float)(1.0 + 0.5 * zp_rng_uniform(&prng));
                net->L[li].p[1].w[c] = (float)(0.3 + 0.5 * zp_rng_gaussian(&prng));
            }
    float x[4 * 36];
    int32_t y[4] = {0, 2, 1, 2};
    struct zp_rng rng;
    zp_rng_seed(&rng, 5);
    for (int i = 0; i < 4 * 36; i++)
        x[i] = (float)zp_rng_gaussian(&rng);
    zp_tnet_forward(net, x, batch, 1);
    zp_tnet_loss(net, y, batch, NULL);
    zp_tnet_zero_grad(net);
    zp_tnet_backward(net, batch);
    int checked = 0;
    for (int li = 0; li < net->n_layers; li++)
        for (int j = 0; j < net->L[li].n_params; j++) {
            struct zp_tparam *p = &net->L[li].p[j];
            double *pa = malloc(p->n * sizeof(double)), *pn = malloc(p->n * sizeof(double));
            for (size_t i = 0; i < p->n; i++) {
                float v = p->w[i];
                p->w[i] = v + eps;
                zp_tnet_forward(net, x, batch, 1);
                double lp = zp_tnet_loss(net, y, batch, NULL);
                p->w[i] = v - eps;
                zp_tnet_forward(net, x, batch, 1);
                double lm = zp_tnet_loss(net, y, batch, NULL);
                p->w[i] = v;
                pn[i] = (lp - lm) / (2.0 * eps);
                pa[i] = p->g[i];
            }
            double e = zp_test_rel_err(pa, pn, p->n);
            if (e > 5e-2)
                print_error("layer %d param %d: relative error %g\n", li, j, e);
            assert_true(e <= 5e-2);
            checked++;
            free(pa);
            free(pn);
        }
    assert_true(checked >= 10);
    zp_tnet_free(net);
}

/* The shipped models: the ONNX file through the inference runtime and the
 * checkpoint it was exported from through the training runtime agree on the
 * first 500 Fashion-MNIST test images (two independent implementations of the
 * same network), and both are well above chance. Skipped without the data. */
void zp_test_check_shipped(const char *onnx, const char *ckpt)
{
    const char *img = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    const char *lab = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
    FILE *f1 = fopen(onnx, "rb"), *f2 = fopen(ckpt, "rb"), *f3 = fopen(img, "rb");
    int have = f1 && f2 && f3;
    if (f1)
        fclose(f1);
    if (f2)
        fclose(f2);
    if (f3)
        fclose(f3);
    if (!have)
        skip();
    struct zp_dataset_spec sp = {.format = ZP_DATA_IDX, .images = img, .labels = lab,
                                 .channels = 1, .resize_mode = ZP_RESIZE_NONE,
                                 .mean = {72.94f}, .std = {90.0f}, .limit = 500};
    struct zp_dataset ds;
    struct zp_err err;
    zp_err_clear(&err);
    assert_int_equal(zp_dataset_load(&sp, &ds, &err), ZP_OK);
    struct zp_graph *g = NULL;
    assert_int_equal(zp_onnx_load(onnx, &g, &err), ZP_OK);
    struct zp_tnet *net = NULL;
    int epochs = 0;
    enum zp_status st = zp_checkpoint_open(ckpt, &net, &epochs, &err);
    if (st != ZP_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(st, ZP_OK);
    const int64_t K = zp_graph_output_size(g);
    float *z = malloc(sizeof(float) * (size_t)K * (size_t)ds.n);
    assert_int_equal(zp_graph_run(g, ds.x, (int)ds.n, z, NULL, &err), ZP_OK);
    long ok_graph = 0;
    for (int64_t i = 0; i < ds.n; i++) {
        int a = 0;
        for (int k = 1; k < K; k++)
            if (z[i * K + k] > z[i * K + a])
                a = k;
        ok_graph += a == ds.labels[i];
    }
    double top_graph = (double)ok_graph / (double)ds.n;
    double top_train = zp_train_evaluate(net, &ds, 100);
    if (fabs(top_graph - top_train) > 1.5 / (double)ds.n)
        print_error("%s: graph top1 %g, training runtime %g\n", onnx, top_graph, top_train);
    assert_true(fabs(top_graph - top_train) <= 1.5 / (double)ds.n);
    assert_true(top_graph > 0.8);
    free(z);
    zp_tnet_free(net);
    zp_graph_free(g);
    zp_dataset_free(&ds);
}
