/* Dataset loaders: IDX, image folders (JPEG / PNG + labels CSV), .npy, the
 * Pillow-compatible antialiased bilinear resize and the torchvision crop
 * geometry. Every expected value is worked out here independently (by hand or
 * by a direct double-precision evaluation of the definition), never copied
 * from the code under test. Inputs are written by the tests themselves.
 *
 * This file: IDX and .npy files: round trips, every malformed header, the real Fashion-MNIST. */
#include "tests/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include "data/dataset.h"
#include "tests/data_files.h"

static void test_idx_roundtrip(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("idx");
    enum { N = 5, H = 3, W = 4 };
    uint8_t px[N * H * W], lab[N] = { 3, 0, 9, 1, 7 };
    for (int i = 0; i < N * H * W; i++)
        px[i] = (uint8_t)(i * 37 % 256);
    uint32_t di[3] = { N, H, W }, dl[1] = { N };
    zp_td_write_idx(zp_td_tpath(dir, "img.gz"), 3, di, px, sizeof px, 1);
    zp_td_write_idx(zp_td_tpath(dir, "lab"), 1, dl, lab, sizeof lab, 0); /* raw, not gzip */

    struct zp_dataset_spec s = zp_td_spec_default(ZP_DATA_IDX, zp_td_tpath(dir, "img.gz"), zp_td_tpath(dir, "lab"));
    s.mean[0] = 72.5f;
    s.std[0] = 2.0f;
    struct zp_dataset ds;
    struct zp_err err = { 0 };
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_OK);
    assert_int_equal(ds.n, N);
    assert_int_equal(ds.c, 1);
    assert_int_equal(ds.h, H);
    assert_int_equal(ds.w, W);
    assert_int_equal(ds.n_classes, 10);
    for (int i = 0; i < N; i++)
        assert_int_equal(ds.labels[i], lab[i]);
    for (int i = 0; i < N * H * W; i++)
        assert_float_equal(ds.x[i], (px[i] - 72.5) / 2.0, 1e-6);
    zp_dataset_free(&ds);

    /* channels = 3 replicates grey; limit takes the first examples. */
    s.channels = 3;
    s.mean[1] = s.mean[2] = 0.0f;
    s.std[1] = s.std[2] = 1.0f;
    s.limit = 2;
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_OK);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.c, 3);
    assert_int_equal(ds.n_classes, 4); /* labels 3, 0 */
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < H * W; k++) {
            const float *e = ds.x + (size_t)i * 3 * H * W;
            uint8_t p = px[i * H * W + k];
            assert_float_equal(e[k], (p - 72.5) / 2.0, 1e-6);
            assert_float_equal(e[H * W + k], p, 0);
            assert_float_equal(e[2 * H * W + k], p, 0);
        }
    zp_dataset_free(&ds);
}

static void test_idx_errors(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("idxerr");
    enum { N = 5, H = 2, W = 2 };
    uint8_t px[N * H * W] = { 0 }, lab[N] = { 0 };
    uint32_t di[3] = { N, H, W }, dl[1] = { N }, dl4[1] = { 4 };
    /* 3.5 images of data: record 3 (0-based) is the one cut short. */
    zp_td_write_idx(zp_td_tpath(dir, "short.gz"), 3, di, px, 14, 1);
    zp_td_write_idx(zp_td_tpath(dir, "lab"), 1, dl, lab, sizeof lab, 0);
    zp_td_write_idx(zp_td_tpath(dir, "lab4"), 1, dl4, lab, 4, 0);
    zp_td_write_idx(zp_td_tpath(dir, "img"), 3, di, px, sizeof px, 0);
    zp_td_write_bytes(zp_td_tpath(dir, "magic"), "\x00\x01\x08\x03", 4, 0);

    struct zp_dataset ds;
    struct zp_err err = { 0 };
    struct zp_dataset_spec s = zp_td_spec_default(ZP_DATA_IDX, zp_td_tpath(dir, "short.gz"), zp_td_tpath(dir, "lab"));
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    zp_td_assert_err_mentions(&err, "short.gz");
    zp_td_assert_err_mentions(&err, "record 3 of 5");
    assert_null(ds.x);

    zp_err_clear(&err);
    s.images = zp_td_tpath(dir, "img");
    s.labels = zp_td_tpath(dir, "lab4");
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    zp_td_assert_err_mentions(&err, "lab4");

    zp_err_clear(&err);
    s.images = zp_td_tpath(dir, "magic");
    s.labels = zp_td_tpath(dir, "lab");
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    zp_td_assert_err_mentions(&err, "magic");

    zp_err_clear(&err);
    s.images = zp_td_tpath(dir, "missing.gz");
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EIO);
    zp_td_assert_err_mentions(&err, "missing.gz");

    /* A gzip stream cut in the middle is a truncated file, not a short read. */
    uint8_t big[4096];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7919 % 251);
    uint32_t db[3] = { 4, 32, 32 };
    zp_td_write_idx(zp_td_tpath(dir, "big.gz"), 3, db, big, sizeof big, 1);
    size_t glen = 0;
    char *g = zp_test_read_file(zp_td_tpath(dir, "big.gz"), &glen);
    zp_td_write_bytes(zp_td_tpath(dir, "cut.gz"), g, glen / 2, 0);
    free(g);
    zp_err_clear(&err);
    s.images = zp_td_tpath(dir, "cut.gz");
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    zp_td_assert_err_mentions(&err, "cut.gz");

    /* Bytes after the gzip stream that are not another member: refused. */
    g = zp_test_read_file(zp_td_tpath(dir, "big.gz"), &glen);
    char *gt = malloc(glen + 3);
    memcpy(gt, g, glen);
    memcpy(gt + glen, "xyz", 3);
    zp_td_write_bytes(zp_td_tpath(dir, "trail.gz"), gt, glen + 3, 0);
    free(gt);
    free(g);
    /* Two members concatenated (as `cat a.gz b.gz`, or gzopen "ab") read as one
     * stream: header and first two images, then the last two. */
    uint8_t whole[16 + sizeof big];
    whole[0] = whole[1] = 0;
    whole[2] = 0x08;
    whole[3] = 3;
    for (int d = 0; d < 3; d++) {
        whole[4 + 4 * d] = whole[5 + 4 * d] = 0;
        whole[6 + 4 * d] = (uint8_t)(db[d] >> 8);
        whole[7 + 4 * d] = (uint8_t)db[d];
    }
    memcpy(whole + 16, big, sizeof big);
    for (int part = 0; part < 2; part++) {
        gzFile gf = gzopen(zp_td_tpath(dir, "two.gz"), part ? "ab" : "wb");
        assert_non_null(gf);
        size_t at = part ? 16 + sizeof big / 2 : 0, n = part ? sizeof big / 2 : 16 + sizeof big / 2;
        assert_int_equal(gzwrite(gf, whole + at, (unsigned)n), (int)n);
        gzclose(gf);
    }
    uint8_t lab4v[4] = { 1, 2, 3, 4 };
    uint32_t dl4b[1] = { 4 };
    zp_td_write_idx(zp_td_tpath(dir, "lab4b"), 1, dl4b, lab4v, 4, 0);
    zp_err_clear(&err);
    s.images = zp_td_tpath(dir, "two.gz");
    s.labels = zp_td_tpath(dir, "lab4b");
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_OK);
    assert_int_equal(ds.n, 4);
    assert_float_equal(ds.x[3 * 1024 + 1023], (float)big[3 * 1024 + 1023], 0);
    zp_dataset_free(&ds);
    s.labels = zp_td_tpath(dir, "lab");
    zp_err_clear(&err);
    s.images = zp_td_tpath(dir, "trail.gz");
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    zp_td_assert_err_mentions(&err, "trail.gz: 3 bytes of trailing data after the gzip stream");

    /* Issue 17 item 3: non-regular files are refused by name (a directory gave
     * "read error", /dev/zero was read until memory ran out). */
    zp_err_clear(&err);
    s.images = "/dev/zero";
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EIO);
    zp_td_assert_err_mentions(&err, "/dev/zero: not a regular file (a character device)");
    zp_err_clear(&err);
    s.images = zp_td_tpath(dir, "img");
    s.labels = dir;
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EIO);
    zp_td_assert_err_mentions(&err, "not a regular file (a directory)");
    zp_err_clear(&err);
    s.labels = zp_td_tpath(dir, "nolabels");
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EIO);
    zp_td_assert_err_mentions(&err, "nolabels: cannot open: No such file or directory");
    s.labels = zp_td_tpath(dir, "lab");

    /* Spec errors are config errors. */
    zp_err_clear(&err);
    s.images = zp_td_tpath(dir, "img");
    s.channels = 2;
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_ECONFIG);
    zp_td_assert_err_mentions(&err, "channels");
}

static void test_fashion_mnist(void **state)
{
    (void)state;
    const char *img = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    const char *lab = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
    struct stat st;
    if (stat(img, &st) != 0 || stat(lab, &st) != 0)
        skip();
    struct zp_dataset_spec s = zp_td_spec_default(ZP_DATA_IDX, img, lab);
    s.mean[0] = 0.0f;
    s.std[0] = 255.0f;
    struct zp_dataset ds;
    struct zp_err err = { 0 };
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_OK);
    assert_int_equal(ds.n, 10000);
    assert_int_equal(ds.c, 1);
    assert_int_equal(ds.h, 28);
    assert_int_equal(ds.w, 28);
    assert_int_equal(ds.n_classes, 10);
    assert_int_equal(ds.labels[0], 9); /* "Ankle boot" */
    int count[10] = { 0 };
    for (int64_t i = 0; i < ds.n; i++)
        count[ds.labels[i]]++;
    for (int k = 0; k < 10; k++)
        assert_int_equal(count[k], 1000); /* the test split is balanced */
    double mn = 1e9, mx = -1e9;
    for (size_t i = 0; i < (size_t)ds.n * 784; i++) {
        mn = fmin(mn, ds.x[i]);
        mx = fmax(mx, ds.x[i]);
    }
    assert_float_equal(mn, 0.0, 0);
    assert_float_equal(mx, 1.0, 1e-7);
    /* The last image, read straight from the gzip stream (16-byte header). */
    gzFile f = gzopen(img, "rb");
    assert_non_null(f);
    uint8_t head[16], last[784];
    assert_int_equal(gzread(f, head, 16), 16);
    assert_int_equal(gzseek(f, 16 + 9999L * 784, SEEK_SET), 16 + 9999L * 784);
    assert_int_equal(gzread(f, last, 784), 784);
    gzclose(f);
    for (int k = 0; k < 784; k++)
        assert_float_equal(ds.x[9999 * 784 + k] * 255.0, last[k], 1e-4);
    zp_dataset_free(&ds);
}

/* ----------------------------------------------------- decode: PNG/JPEG --- */

static void test_npy(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("npy");
    float x[2 * 3 * 2 * 2];
    for (int i = 0; i < 24; i++)
        x[i] = (float)i * 0.5f - 3.0f;
    int64_t l8[2] = { 4, 1 };
    zp_td_write_npy(zp_td_tpath(dir, "x.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 2, 2), }", x,
              sizeof x);
    zp_td_write_npy(zp_td_tpath(dir, "y.npy"), 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", l8,
              sizeof l8);
    struct zp_dataset_spec s = zp_td_spec_default(ZP_DATA_NPY, zp_td_tpath(dir, "x.npy"), zp_td_tpath(dir, "y.npy"));
    s.channels = 3;
    struct zp_dataset ds;
    struct zp_err err = { 0 };
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_OK);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.c, 3);
    assert_int_equal(ds.h, 2);
    assert_int_equal(ds.w, 2);
    assert_int_equal(ds.labels[0], 4);
    assert_int_equal(ds.labels[1], 1);
    assert_int_equal(ds.n_classes, 5);
    for (int i = 0; i < 24; i++)
        assert_float_equal(ds.x[i], x[i], 0);
    zp_dataset_free(&ds);

    /* Version 2.0, '<f8' [N, K], '<i4' labels, normalization with mean/std[0]. */
    double xd[3 * 2] = { 1, 2, 3, 4, 5, 6 };
    int32_t l4[3] = { 0, 2, 1 };
    zp_td_write_npy(zp_td_tpath(dir, "xd.npy"), 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", xd,
              sizeof xd);
    zp_td_write_npy(zp_td_tpath(dir, "y4.npy"), 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", l4,
              sizeof l4);
    s = zp_td_spec_default(ZP_DATA_NPY, zp_td_tpath(dir, "xd.npy"), zp_td_tpath(dir, "y4.npy"));
    s.channels = 0;
    s.mean[0] = 1.0f;
    s.std[0] = 2.0f;
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_OK);
    assert_int_equal(ds.n, 3);
    assert_int_equal(ds.c, 2);
    assert_int_equal(ds.h, 1);
    assert_int_equal(ds.w, 1);
    for (int i = 0; i < 6; i++)
        assert_float_equal(ds.x[i], (xd[i] - 1.0) / 2.0, 1e-7);
    assert_int_equal(ds.labels[1], 2);
    zp_dataset_free(&ds);

    /* '|u1' pixels with the ImageNet normalization. */
    uint8_t xu[4] = { 0, 127, 128, 255 };
    zp_td_write_npy(zp_td_tpath(dir, "xu.npy"), 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 2, 2), }", xu,
              sizeof xu);
    zp_td_write_npy(zp_td_tpath(dir, "y1.npy"), 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", l8, 8);
    s = zp_td_spec_default(ZP_DATA_NPY, zp_td_tpath(dir, "xu.npy"), zp_td_tpath(dir, "y1.npy"));
    s.mean[0] = 127.5f;
    s.std[0] = 127.5f;
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_OK);
    for (int i = 0; i < 4; i++)
        assert_float_equal(ds.x[i], xu[i] / 127.5 - 1.0, 1e-7);
    zp_dataset_free(&ds);
}

static void test_npy_errors(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("npyerr");
    float x[4] = { 0 };
    int64_t l[2] = { 0, 1 }, neg[2] = { 0, -1 };
    zp_td_write_npy(zp_td_tpath(dir, "y.npy"), 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", l, sizeof l);
    zp_td_write_npy(zp_td_tpath(dir, "neg.npy"), 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", neg,
              sizeof neg);
    zp_td_write_npy(zp_td_tpath(dir, "ok.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", x, sizeof x);
    struct {
        const char *file, *dict, *needle;
        size_t bytes;
    } bad[] = {
        { "noshape.npy", "{'descr': '<f4', 'fortran_order': False, }", "shape", 16 },
        { "fortran.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", "Fortran", 16 },
        { "short.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", "truncated", 12 },
        { "dtype.npy", "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 2), }", "dtype", 16 },
        { "nodict.npy", "descr", "dict", 16 },
        { "badshape.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", "shape", 16 },
        { "rank3.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 2), }", "dims", 16 },
        { "trail.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }", "8 bytes of trailing data after the 8", 16 },
    };
    struct zp_dataset ds;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        zp_td_write_npy(zp_td_tpath(dir, bad[i].file), 1, bad[i].dict, x, bad[i].bytes);
        struct zp_dataset_spec s = zp_td_spec_default(ZP_DATA_NPY, zp_td_tpath(dir, bad[i].file), zp_td_tpath(dir, "y.npy"));
        struct zp_err err = { 0 };
        assert_int_not_equal(zp_dataset_load(&s, &ds, &err), ZP_OK);
        zp_td_assert_err_mentions(&err, bad[i].file);
        zp_td_assert_err_mentions(&err, bad[i].needle);
    }
    zp_td_write_bytes(zp_td_tpath(dir, "magic.npy"), "\x93NUMPX\x01\x00\x00\x00", 10, 0);
    struct zp_dataset_spec s = zp_td_spec_default(ZP_DATA_NPY, zp_td_tpath(dir, "magic.npy"), zp_td_tpath(dir, "y.npy"));
    struct zp_err err = { 0 };
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    zp_td_assert_err_mentions(&err, "magic.npy");
    /* Negative label. */
    s.images = zp_td_tpath(dir, "ok.npy");
    s.labels = zp_td_tpath(dir, "neg.npy");
    zp_err_clear(&err);
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    zp_td_assert_err_mentions(&err, "neg.npy");
    zp_td_assert_err_mentions(&err, "label 1");
}

/* ------------------------------------------------------- image folders --- */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_roundtrip),
        cmocka_unit_test(test_idx_errors),
        cmocka_unit_test(test_fashion_mnist),
        cmocka_unit_test(test_npy),
        cmocka_unit_test(test_npy_errors),
    };
    return ZP_RUN_TESTS(tests);
}
