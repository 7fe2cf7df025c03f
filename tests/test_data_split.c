/* Dataset splits (split.every / offset / part) and native-size image folders.
 * Expected rows are enumerated directly from the definition (r % every ==
 * offset, or not), never from the closed forms under test. Inputs are written
 * by the tests themselves. */
#include "tests/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"
#include "tests/data_files.h"

/* The closed forms against a direct enumeration, for every small case. */
static void test_split_rows_enumerated(void **state)
{
    (void)state;
    for (int every = 2; every <= 7; every++)
        for (int off = 0; off < every; off++)
            for (int rest = 0; rest <= 1; rest++)
                for (int64_t rows = 0; rows <= 30; rows++) {
                    struct zp_dataset_spec s = { .split_every = every, .split_offset = off,
                                                 .split_rest = rest };
                    int64_t j = 0;
                    for (int64_t r = 0; r < rows; r++) {
                        int held = r % every == off;
                        if (held == !rest) {
                            if (zp_dataset_split_row(&s, j) != r)
                                fail_msg("every %d offset %d rest %d: row %lld is %lld, want %lld",
                                         every, off, rest, (long long)j,
                                         (long long)zp_dataset_split_row(&s, j), (long long)r);
                            j++;
                        }
                    }
                    assert_int_equal(zp_dataset_split_count(&s, rows), j);
                }
    struct zp_dataset_spec none = { 0 };
    assert_int_equal(zp_dataset_split_count(&none, 17), 17);
    assert_int_equal(zp_dataset_split_row(&none, 5), 5);
}

/* Seven flat grey 3x2 PNGs, image r of value 10 r + 5 and label r. */
static const char *write_folder(const char *tag)
{
    const char *dir = zp_test_tmpdir(tag);
    char csv[1024] = "file,class_index\n";
    for (int r = 0; r < 7; r++) {
        uint8_t px[6];
        memset(px, 10 * r + 5, sizeof px);
        char name[32];
        snprintf(name, sizeof name, "im%d.png", r);
        zp_td_write_png(zp_td_tpath(dir, name), 3, 2, 1, px);
        size_t l = strlen(csv);
        snprintf(csv + l, sizeof csv - l, "%s,%d\n", name, r);
    }
    zp_test_write_file(zp_td_tpath(dir, "labels.csv"), csv);
    return dir;
}

static void expect_rows(struct zp_dataset_spec s, const int *rows, int n)
{
    struct zp_dataset ds;
    struct zp_err err = { 0 };
    if (zp_dataset_load(&s, &ds, &err) != ZP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(ds.n, n);
    assert_int_equal(ds.h, 2);
    assert_int_equal(ds.w, 3);
    for (int i = 0; i < n; i++) {
        assert_int_equal(ds.labels[i], rows[i]);
        for (int k = 0; k < 6; k++) /* std 0: the pixel itself */
            assert_true(ds.x[i * 6 + k] == (float)(10 * rows[i] + 5));
    }
    int64_t count = -1, shape[3];
    if (s.n_select == 0) {
        assert_int_equal(zp_dataset_count(&s, &count, &err), ZP_OK);
        assert_int_equal(count, n);
        assert_int_equal(zp_dataset_probe(&s, &count, shape, &err), ZP_OK);
        assert_int_equal(count, n);
    }
    zp_dataset_free(&ds);
}

static void test_split_image_folder(void **state)
{
    (void)state;
    const char *dir = write_folder("split");
    struct zp_dataset_spec s = zp_td_spec_default(ZP_DATA_IMAGES, dir, zp_td_tpath(dir, "labels.csv"));
    s.channels = 1;
    s.size = 0;
    s.resize_mode = ZP_RESIZE_NONE;
    s.mean[0] = s.std[0] = 0.0f;
    s.split_every = 3;
    s.split_offset = 1;
    expect_rows(s, (const int[]){ 1, 4 }, 2);
    s.split_rest = 1;
    expect_rows(s, (const int[]){ 0, 2, 3, 5, 6 }, 5);
    s.limit = 2; /* limit counts the split's rows */
    expect_rows(s, (const int[]){ 0, 2 }, 2);
    s.limit = 0;
    const int64_t sel[] = { 4, 0, 4 }; /* select indexes the split's rows */
    s.select = sel;
    s.n_select = 3;
    expect_rows(s, (const int[]){ 6, 0, 6 }, 3);
    s.select = NULL;
    s.n_select = 0;

    /* A file missing from the held-out part fails that part only, naming its CSV row. */
    unlink(zp_td_tpath(dir, "im4.png"));
    expect_rows(s, (const int[]){ 0, 2, 3, 5, 6 }, 5);
    s.split_rest = 0;
    struct zp_dataset ds;
    struct zp_err err = { 0 };
    int64_t n, shape[3];
    assert_int_not_equal(zp_dataset_probe(&s, &n, shape, &err), ZP_OK);
    zp_td_assert_err_mentions(&err, "im4.png");
    zp_td_assert_err_mentions(&err, "row 5");
    assert_int_not_equal(zp_dataset_load(&s, &ds, &err), ZP_OK);
    zp_td_assert_err_mentions(&err, "im4.png");

    /* Bad splits are config errors naming the key. */
    s.split_every = 1;
    memset(&err, 0, sizeof err);
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_ECONFIG);
    zp_td_assert_err_mentions(&err, "split.every");
    s.split_every = 3;
    s.split_offset = 3;
    memset(&err, 0, sizeof err);
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_ECONFIG);
    zp_td_assert_err_mentions(&err, "split.offset");
}

static void test_split_npy(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("split_npy");
    float x[5 * 2];
    int64_t lab[5];
    for (int r = 0; r < 5; r++) {
        x[2 * r] = (float)r;
        x[2 * r + 1] = -(float)r;
        lab[r] = r;
    }
    zp_td_write_npy(zp_td_tpath(dir, "x.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 2), }",
                    x, sizeof x);
    zp_td_write_npy(zp_td_tpath(dir, "y.npy"), 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }",
                    lab, sizeof lab);
    struct zp_dataset_spec s = zp_td_spec_default(ZP_DATA_NPY, zp_td_tpath(dir, "x.npy"),
                                                  zp_td_tpath(dir, "y.npy"));
    s.split_every = 2;
    s.split_offset = 0;
    struct zp_dataset ds;
    struct zp_err err = { 0 };
    for (int rest = 0; rest <= 1; rest++) {
        s.split_rest = rest;
        if (zp_dataset_load(&s, &ds, &err) != ZP_OK)
            fail_msg("%s", err.msg);
        assert_int_equal(ds.n, rest ? 2 : 3);
        for (int i = 0; i < ds.n; i++) {
            int r = 2 * i + rest;
            assert_int_equal(ds.labels[i], r);
            assert_true(ds.x[2 * i] == (float)r && ds.x[2 * i + 1] == -(float)r);
        }
        int64_t count = -1;
        assert_int_equal(zp_dataset_count(&s, &count, &err), ZP_OK);
        assert_int_equal(count, ds.n);
        zp_dataset_free(&ds);
    }
}

/* Native size (size 0, resize_mode none): the first image sets the size, and
 * an image of another size is refused naming it and the first image. */
static void test_native_size_mismatch(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("native");
    uint8_t px[32 * 32 * 3];
    memset(px, 77, sizeof px);
    zp_td_write_png(zp_td_tpath(dir, "first.png"), 32, 32, 3, px);
    zp_td_write_jpeg(zp_td_tpath(dir, "second.jpg"), 32, 32, 3, px, 90);
    zp_td_write_png(zp_td_tpath(dir, "odd.png"), 32, 31, 3, px);
    zp_test_write_file(zp_td_tpath(dir, "ok.csv"), "file,class_index\nfirst.png,0\nsecond.jpg,1\n");
    zp_test_write_file(zp_td_tpath(dir, "bad.csv"),
                       "file,class_index\nfirst.png,0\nsecond.jpg,1\nodd.png,2\n");
    struct zp_dataset_spec s = zp_td_spec_default(ZP_DATA_IMAGES, dir, zp_td_tpath(dir, "ok.csv"));
    s.channels = 3;
    s.size = 0;
    s.resize_mode = ZP_RESIZE_NONE;
    struct zp_dataset ds;
    struct zp_err err = { 0 };
    if (zp_dataset_load(&s, &ds, &err) != ZP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.h, 32);
    assert_int_equal(ds.w, 32);
    zp_dataset_free(&ds);
    s.labels = zp_td_tpath(dir, "bad.csv");
    memset(&err, 0, sizeof err);
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    zp_td_assert_err_mentions(&err, "odd.png");
    zp_td_assert_err_mentions(&err, "32x31");
    zp_td_assert_err_mentions(&err, "first.png");
    zp_td_assert_err_mentions(&err, "row 3");
    /* A given size is the size every image must have. */
    s.size = 31;
    s.labels = zp_td_tpath(dir, "ok.csv");
    memset(&err, 0, sizeof err);
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    zp_td_assert_err_mentions(&err, "first.png");
    zp_td_assert_err_mentions(&err, "resize_mode none");
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_split_rows_enumerated),
        cmocka_unit_test(test_split_image_folder),
        cmocka_unit_test(test_split_npy),
        cmocka_unit_test(test_native_size_mismatch),
    };
    return ZP_RUN_TESTS(t);
}
