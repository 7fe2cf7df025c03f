/* Training-runtime checks shared by the training tests: the finite-difference
 * gradient check of a whole small MobileNet (as a training graph), and the agreement of a shipped model's
 * ONNX file with the checkpoint it was exported from. */
#include "tests/train_checks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "config/train_config.h"
#include "data/dataset.h"
#include "model/graph.h"
#include "train/gtrain.h"
#include "train/onnx_export.h"
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

struct zp_gtrain *zp_test_graph_of(const struct zp_tnet *net, int max_batch)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    struct zp_err err;
    zp_err_clear(&err);
    assert_int_equal(zp_onnx_export_buffer(net, 1, "test", "test", &buf, &len, &err), ZP_OK);
    struct zp_gtrain *gt = NULL;
    enum zp_status st = zp_gtrain_open(buf, len, "test graph", max_batch, &gt, &err);
    if (st != ZP_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(st, ZP_OK);
    return gt;
}

/* The training graph's loss on (x, y) in training mode (batch statistics). */
static double graph_loss(struct zp_gtrain *gt, const float *x, const int32_t *y, int batch,
                         float *dlogits)
{
    struct zp_err err;
    const float *z = NULL;
    assert_int_equal(zp_tgraph_forward(gt->t, x, batch, 1, &z, &err), ZP_OK);
    return zp_loss_xent(z, y, batch, gt->n_classes, dlogits, NULL);
}

void zp_test_gradcheck_mobilenet(const struct zp_mobilenet_arch *a, float eps)
{
    static struct zp_train_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.model = ZP_MODEL_MOBILENET;
    cfg.mobilenet = *a;
    cfg.seed = 3;
    struct zp_gtrain *gt = NULL;
    struct zp_err err;
    zp_err_clear(&err);
    const int batch = 4;
    assert_int_equal(zp_gtrain_open_config(&cfg, batch, &gt, &err), ZP_OK);
    /* BN starts as gamma = 1, beta = 0, where ReLU6(gamma * xhat) followed by a
     * linear layer and BN is scale invariant: the true gradient of gamma is ~0 and
     * a relative error meaningless. Random affine parameters break that. */
    struct zp_rng prng;
    zp_rng_seed(&prng, 9);
    for (int i = 0; i < zp_tgraph_num_bn(gt->t); i++) {
        struct zp_bn_view v;
        zp_tgraph_bn(gt->t, i, &v);
        for (int64_t c = 0; c < v.channels; c++) {
            v.gamma[c] = (float)(1.0 + 0.5 * zp_rng_uniform(&prng));
            v.beta[c] = (float)(0.3 + 0.5 * zp_rng_gaussian(&prng));
        }
    }
    const size_t n_in = (size_t)batch * gt->in_size;
    float *x = malloc(n_in * sizeof(float));
    int32_t y[4] = {0, 2, 1, 2};
    struct zp_rng rng;
    zp_rng_seed(&rng, 5);
    for (size_t i = 0; i < n_in; i++)
        x[i] = (float)zp_rng_gaussian(&rng);
    zp_tgraph_zero_grad(gt->t);
    graph_loss(gt, x, y, batch, gt->dlogits);
    assert_int_equal(zp_tgraph_backward(gt->t, gt->dlogits, &err), ZP_OK);
    int checked = 0;
    for (int j = 0; j < gt->n_params; j++) {
        const struct zp_gparam *p = zp_tgraph_param(gt->t, j);
        double *pa = malloc(p->n * sizeof(double)), *pn = malloc(p->n * sizeof(double));
        for (size_t i = 0; i < p->n; i++) {
            float v = p->w[i];
            p->w[i] = v + eps;
            double lp = graph_loss(gt, x, y, batch, NULL);
            p->w[i] = v - eps;
            double lm = graph_loss(gt, x, y, batch, NULL);
            p->w[i] = v;
            pn[i] = (lp - lm) / (2.0 * eps);
            pa[i] = p->g[i];
        }
        double e = zp_test_rel_err(pa, pn, p->n);
        if (e > 5e-2)
            print_error("parameter %d (%s): relative error %g\n", j, p->name, e);
        assert_true(e <= 5e-2);
        checked++;
        free(pa);
        free(pn);
    }
    assert_true(checked >= 10);
    free(x);
    zp_gtrain_free(gt);
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
    struct zp_gtrain *gt = NULL;
    int epochs = 0;
    enum zp_status st = zp_gtrain_checkpoint_open(ckpt, 100, &gt, &epochs, &err);
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
    double top_train = 0.0;
    assert_int_equal(zp_gtrain_evaluate(gt, &ds, &top_train, &err), ZP_OK);
    if (fabs(top_graph - top_train) > 1.5 / (double)ds.n)
        print_error("%s: graph top1 %g, training runtime %g\n", onnx, top_graph, top_train);
    assert_true(fabs(top_graph - top_train) <= 1.5 / (double)ds.n);
    assert_true(top_graph > 0.8);
    free(z);
    zp_gtrain_free(gt);
    zp_graph_free(g);
    zp_dataset_free(&ds);
}

/* ---- the synthetic training task (train tests) ---- */

#define SIDE 8

static void put_be32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    fwrite(b, 1, 4, f);
}

static void write_idx(const char *dir, const char *name, int n, uint64_t seed)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s-images.idx", dir, name);
    FILE *fi = fopen(p, "wb");
    snprintf(p, sizeof p, "%s/%s-labels.idx", dir, name);
    FILE *fl = fopen(p, "wb");
    assert_non_null(fi);
    assert_non_null(fl);
    put_be32(fi, 0x803);
    put_be32(fi, (uint32_t)n);
    put_be32(fi, SIDE);
    put_be32(fi, SIDE);
    put_be32(fl, 0x801);
    put_be32(fl, (uint32_t)n);
    struct zp_rng r;
    zp_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int k = (int)zp_rng_below(&r, 4);
        unsigned char lab = (unsigned char)k;
        fwrite(&lab, 1, 1, fl);
        int ph = (int)zp_rng_below(&r, 2);
        for (int y = 0; y < SIDE; y++)
            for (int x = 0; x < SIDE; x++) {
                /* local textures (a global-pooling network sees them anywhere):
                 * horizontal stripes, vertical stripes, checkerboard, flat */
                double pat = k == 0 ? (y + ph) % 2 : k == 1 ? (x + ph) % 2
                           : k == 2 ? (x + y + ph) % 2 : 0.5;
                double v = 50.0 + 120.0 * pat + 60.0 * zp_rng_uniform(&r);
                unsigned char px = (unsigned char)v;
                fwrite(&px, 1, 1, fi);
            }
    }
    fclose(fi);
    fclose(fl);
}

/* A config for the synthetic data; `model` is the JSON of the model section. */
void zp_test_train_config(const char *path, const char *dir, const char *model, int epochs,
                         const char *extra)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"name\": \"t\", \"model\": %s,\n"
             " \"data\": {\"train_images\": \"%s/train-images.idx\", \"train_labels\": "
             "\"%s/train-labels.idx\", \"test_images\": \"%s/test-images.idx\", "
             "\"test_labels\": \"%s/test-labels.idx\", \"mean\": 100, \"std\": 60},\n"
             " \"epochs\": %d, \"batch\": 32, \"seed\": 3%s,\n"
             " \"optimizer\": {\"lr\": 0.05, \"momentum\": 0.9, \"weight_decay\": 0.0001},\n"
             " \"output\": \"%s/model.onnx\", \"checkpoint\": \"%s/model.ckpt\"}\n",
             model, dir, dir, dir, dir, epochs, extra ? extra : "", dir, dir);
    zp_test_write_file(path, text);
}

const char *zp_test_train_data(const char *tag)
{
    const char *dir = zp_test_tmpdir(tag);
    write_idx(dir, "train", 320, 1);
    write_idx(dir, "test", 96, 2);
    return dir;
}

int zp_test_files_equal(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    char *x = zp_test_read_file(a, &la), *y = zp_test_read_file(b, &lb);
    int eq = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return eq;
}

double zp_test_train_run(const char *cfgpath, int resume, int stop_after)
{
    static struct zp_train_config cfg;
    struct zp_err err;
    zp_err_clear(&err);
    enum zp_status st = zp_train_config_load(cfgpath, &cfg, &err);
    if (st != ZP_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(st, ZP_OK);
    struct zp_train_run run = {.resume = resume, .quiet = 1, .stop_after = stop_after};
    struct zp_train_summary sum;
    st = zp_train_run(&cfg, &run, &sum, &err);
    if (st != ZP_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(st, ZP_OK);
    return sum.test_top1;
}
