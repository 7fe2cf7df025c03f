/* The outputs researchers read beside the accuracy table: the float model's own
 * accuracy row (mode float, first per model, with float top-5), the weight
 * histogram's per-channel levels fitted on a real channel (levels.csv channel),
 * and figures that never count the float row as a scheme. One small run of the
 * real binary on the shipped Fashion MLP. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <dirent.h>

#include "data/dataset.h"
#include "store/table.h"
#include "tests/util.h"

#define IDX "/usr/share/datasets/fashion-mnist/"

static char run_dir[4200];

static int have_fashion(void)
{
    struct stat st;
    return stat(IDX "t10k-images-idx3-ubyte.gz", &st) == 0;
}

static int setup(void **state)
{
    (void)state;
    if (!have_fashion()) {
        printf("skip: %s absent\n", IDX);
        return 0;
    }
    const char *d = zp_test_tmpdir("outputs");
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "%s/outputs.json", d);
    snprintf(run_dir, sizeof run_dir, "%s/run", d);
    zp_test_write_file(cfg,
                       "{\"name\": \"outputs\", \"seed\": 1,\n"
                       " \"schemes\": [{\"scheme\": \"symmetric\", \"bits\": 8,\n"
                       "               \"granularity\": [\"per-tensor\", \"per-channel\"]},\n"
                       "              {\"scheme\": \"linear4\", \"granularity\": \"per-channel\"}],\n"
                       " \"datasets\": {\"test\": {\"format\": \"idx\",\n"
                       "   \"images\": \"" IDX "t10k-images-idx3-ubyte.gz\",\n"
                       "   \"labels\": \"" IDX "t10k-labels-idx1-ubyte.gz\", \"mean\": [72.94], \"std\": [90.0]}},\n"
                       " \"models\": [{\"name\": \"mlp\", \"path\": \"models/fashion_mlp.onnx\", \"eval\": \"test\",\n"
                       "   \"modes\": [\"weights\"], \"batch\": 50}]}\n");
    char *log = NULL;
    int rc = zp_test_sh(&log, "%s run %s --out %s --limit 100 --quiet --save-logits 2>&1", zp_test_harness(), cfg, run_dir);
    if (rc != 0)
        printf("harness run failed (%d): %s\n", rc, log ? log : "");
    free(log);
    return rc == 0 ? 0 : -1;
}

static void load(const char *file, struct zp_table *t)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", run_dir, file);
    struct zp_err err = {0};
    if (zp_table_read(path, t, &err))
        fail_msg("%s", err.msg);
}

/* accuracy.csv: the float row first, mode float, drop 0, agreement 1, and the
 * float top-5 on every row equal to the float row's top-5. */
static void float_row_first(void **state)
{
    (void)state;
    if (!have_fashion())
        skip();
    struct zp_table t;
    load("accuracy.csv", &t);
    int cs = zp_table_col(&t, "scheme"), cm = zp_table_col(&t, "mode"), cd = zp_table_col(&t, "drop");
    int ca = zp_table_col(&t, "agreement"), c1 = zp_table_col(&t, "top1"), cf1 = zp_table_col(&t, "float_top1");
    int c5 = zp_table_col(&t, "top5"), cf5 = zp_table_col(&t, "float_top5");
    assert_true(cs >= 0 && cm >= 0 && cf5 >= 0);
    assert_true(cf5 > zp_table_col(&t, "weight_calibration"));
    assert_int_equal(t.nrows, 4); /* float + 3 variants x weights */
    assert_string_equal(zp_table_str(&t, 0, cs), "float");
    assert_string_equal(zp_table_str(&t, 0, cm), "float");
    assert_true(zp_table_num(&t, 0, cd) == 0.0);
    assert_true(zp_table_num(&t, 0, ca) == 1.0);
    assert_true(zp_table_num(&t, 0, c1) == zp_table_num(&t, 0, cf1));
    double f5 = zp_table_num(&t, 0, c5);
    assert_true(f5 > 0.5 && f5 <= 1.0);
    assert_true(f5 >= zp_table_num(&t, 0, c1));
    for (size_t i = 0; i < t.nrows; i++) {
        assert_true(zp_table_num(&t, i, cf5) == f5);
        if (i > 0)
            assert_string_not_equal(zp_table_str(&t, i, cm), "float");
    }
    zp_table_free(&t);
}

/* levels.csv: per-tensor rows have an empty channel; per-channel rows name the
 * channel with the largest max|w|, and their levels differ from the per-tensor
 * fit whenever that channel is narrower than the tensor (linear4 here spans the
 * channel's own range, so its top level is that channel's max|w|). */
static void hist_per_channel(void **state)
{
    (void)state;
    if (!have_fashion())
        skip();
    struct zp_table t;
    load("levels.csv", &t);
    int cl = zp_table_col(&t, "label"), cc = zp_table_col(&t, "channel"), cv = zp_table_col(&t, "level");
    assert_true(cc == (int)t.ncols - 1);
    int per_tensor = 0, per_channel = 0;
    long ch = -1;
    for (size_t i = 0; i < t.nrows; i++) {
        const char *label = zp_table_str(&t, i, cl), *c = zp_table_str(&t, i, cc);
        if (strstr(label, "per-tensor")) {
            assert_string_equal(c, "");
            per_tensor++;
        } else {
            assert_true(c[0] != 0);
            long v = strtol(c, NULL, 10);
            assert_true(ch < 0 || v == ch); /* one channel for the layer */
            ch = v;
            per_channel++;
        }
        assert_true(isfinite(zp_table_num(&t, i, cv)));
    }
    assert_true(per_tensor > 0 && per_channel > 0);
    zp_table_free(&t);
}

/* plots/ never draws the float row as a scheme: no bar labelled float. */
static void figures_skip_float(void **state)
{
    (void)state;
    if (!have_fashion())
        skip();
    char path[4400];
    snprintf(path, sizeof path, "%s/plots/accuracy_top1.dat", run_dir);
    char *dat = zp_test_read_file(path, NULL);
    assert_non_null(dat);
    assert_null(strstr(dat, "\"float\""));
    free(dat);
    snprintf(path, sizeof path, "%s/report.md", run_dir);
    char *md = zp_test_read_file(path, NULL);
    assert_non_null(md);
    assert_non_null(strstr(md, "The float model"));
    free(md);
}

/* --save-logits: one float32 [n_eval, classes] .npy per model cell, readable by
 * data/npy.c, whose argmax reproduces the cell's top-1 in accuracy.csv. */
static void logits_saved(void **state)
{
    (void)state;
    if (!have_fashion())
        skip();
    struct zp_dataset_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.format = ZP_DATA_IDX;
    sp.images = IDX "t10k-images-idx3-ubyte.gz";
    sp.labels = IDX "t10k-labels-idx1-ubyte.gz";
    sp.channels = 1;
    sp.mean[0] = 72.94f;
    sp.std[0] = 90.0f;
    sp.limit = 100;
    struct zp_dataset ds;
    struct zp_err err = {0};
    assert_int_equal(zp_dataset_load(&sp, &ds, &err), ZP_OK);
    struct zp_table t;
    load("accuracy.csv", &t);
    int cm = zp_table_col(&t, "mode"), c1 = zp_table_col(&t, "top1");
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/logits", run_dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int files = 0;
    double top1s[8];
    for (struct dirent *e; (e = readdir(d));) {
        if (!strstr(e->d_name, ".npy"))
            continue;
        char path[4800];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        char *buf = zp_test_read_file(path, &len);
        assert_non_null(buf);
        struct zp_npy npy;
        assert_int_equal(zp_npy_parse((const uint8_t *)buf, len, path, &npy, &err), ZP_OK);
        assert_int_equal(npy.kind, 'f');
        assert_int_equal(npy.item_size, 4);
        assert_int_equal(npy.ndim, 2);
        assert_int_equal(npy.dims[0], 100);
        assert_int_equal(npy.dims[1], 10);
        int hit = 0;
        for (int i = 0; i < 100; i++) {
            int best = 0;
            float v[10];
            memcpy(v, npy.data + (size_t)i * 40, 40);
            for (int k = 1; k < 10; k++)
                best = v[k] > v[best] ? k : best;
            hit += best == ds.labels[i];
        }
        assert_true(files < 8);
        top1s[files++] = hit / 100.0;
        free(buf);
    }
    closedir(d);
    assert_int_equal(files, 3); /* one per quantized cell */
    /* each file's top-1 is one of the cells' (ids are opaque: match as a multiset) */
    for (int f = 0; f < files; f++) {
        int found = 0;
        for (size_t i = 0; i < t.nrows; i++)
            found |= strcmp(zp_table_str(&t, i, cm), "float") != 0 && zp_table_num(&t, i, c1) == top1s[f];
        assert_true(found);
    }
    zp_table_free(&t);
    zp_dataset_free(&ds);
}

/* qparams.csv: every cell's quantizers, slice by slice: per-tensor weights one
 * slice per layer, per-channel one per output channel, linear4's levels empty
 * (an integer grid), and the scale of each row positive. Its cell ids are the
 * logits files' names. */
static void qparams_written(void **state)
{
    (void)state;
    if (!have_fashion())
        skip();
    struct zp_table t;
    load("qparams.csv", &t);
    int cl = zp_table_col(&t, "label"), ct = zp_table_col(&t, "tensor"), cs = zp_table_col(&t, "slice");
    int csc = zp_table_col(&t, "scale"), cc = zp_table_col(&t, "cell"), cli = zp_table_col(&t, "layer_index");
    assert_true(cl >= 0 && ct >= 0 && cs >= 0 && csc >= 0 && cc >= 0 && cli >= 0);
    long pt_w = 0, pc_w = 0, pc_layers = 0;
    for (size_t i = 0; i < t.nrows; i++) {
        const char *label = zp_table_str(&t, i, cl);
        assert_string_equal(zp_table_str(&t, i, ct), "weight"); /* mode weights only */
        assert_true(zp_table_num(&t, i, csc) > 0);
        if (strstr(label, "symmetric 8b per-tensor"))
            pt_w++;
        else if (strstr(label, "symmetric 8b per-channel")) {
            pc_w++;
            pc_layers += zp_table_num(&t, i, cs) == 0;
        }
        char path[4800];
        snprintf(path, sizeof path, "%s/logits/%s.npy", run_dir, zp_table_str(&t, i, cc));
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
    }
    assert_true(pt_w >= 2);                 /* one slice per layer */
    assert_int_equal(pc_layers, pt_w);      /* same layers */
    assert_true(pc_w > 4 * pt_w);           /* one slice per output channel */
    zp_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(float_row_first),
        cmocka_unit_test(hist_per_channel),
        cmocka_unit_test(figures_skip_float),
        cmocka_unit_test(logits_saved),
        cmocka_unit_test(qparams_written),
    };
    return cmocka_run_group_tests(t, setup, NULL);
}
