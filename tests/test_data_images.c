/* Dataset loaders: IDX, image folders (JPEG / PNG + labels CSV), .npy, the
 * Pillow-compatible antialiased bilinear resize and the torchvision crop
 * geometry. Every expected value is worked out here independently (by hand or
 * by a direct double-precision evaluation of the definition), never copied
 * from the code under test. Inputs are written by the tests themselves.
 *
 * This file: Image folders: PNG and JPEG decoding, corrupt images, the labels CSV, the ImageNet sample. */
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

static void test_png_decode(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("png");
    const uint8_t rgb[2 * 3 * 3] = { 255, 0, 0, 0, 255, 0, 0, 0, 255,
                                     10, 20, 30, 200, 100, 50, 0, 0, 0 };
    zp_td_write_png(zp_td_tpath(dir, "rgb.png"), 3, 2, 3, rgb);
    struct zp_image im;
    struct zp_err err = { 0 };
    assert_int_equal(zp_image_decode_file(zp_td_tpath(dir, "rgb.png"), 3, &im, &err), ZP_OK);
    assert_int_equal(im.w, 3);
    assert_int_equal(im.h, 2);
    assert_int_equal(im.c, 3);
    assert_memory_equal(im.px, rgb, sizeof rgb);
    zp_image_free(&im);

    /* RGB -> grey: ITU-R 601-2 luma 0.299 R + 0.587 G + 0.114 B, rounded. */
    assert_int_equal(zp_image_decode_file(zp_td_tpath(dir, "rgb.png"), 1, &im, &err), ZP_OK);
    assert_int_equal(im.c, 1);
    for (int i = 0; i < 6; i++) {
        double l = 0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2];
        assert_int_equal(im.px[i], (int)floor(l + 0.5));
    }
    zp_image_free(&im);

    /* grey -> RGB replicates; RGBA drops alpha. */
    const uint8_t grey[4] = { 0, 64, 128, 255 };
    zp_td_write_png(zp_td_tpath(dir, "grey.png"), 2, 2, 1, grey);
    assert_int_equal(zp_image_decode_file(zp_td_tpath(dir, "grey.png"), 3, &im, &err), ZP_OK);
    for (int i = 0; i < 4; i++)
        for (int ch = 0; ch < 3; ch++)
            assert_int_equal(im.px[3 * i + ch], grey[i]);
    zp_image_free(&im);
    const uint8_t rgba[4] = { 1, 2, 3, 0 };
    zp_td_write_png(zp_td_tpath(dir, "rgba.png"), 1, 1, 4, rgba);
    assert_int_equal(zp_image_decode_file(zp_td_tpath(dir, "rgba.png"), 3, &im, &err), ZP_OK);
    assert_memory_equal(im.px, rgba, 3);
    zp_image_free(&im);
}

static void test_jpeg_decode(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("jpeg");
    /* Flat 8x8 blocks survive JPEG (quality 100, no chroma subsampling at that
     * quality? not guaranteed: allow a small error). */
    enum { W = 16, H = 16 };
    uint8_t px[W * H * 3];
    const uint8_t col[4][3] = { { 200, 30, 40 }, { 20, 180, 60 }, { 40, 50, 220 }, { 128, 128, 128 } };
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            memcpy(px + (y * W + x) * 3, col[(y / 8) * 2 + x / 8], 3);
    zp_td_write_jpeg(zp_td_tpath(dir, "a.jpg"), W, H, 3, px, 100);
    struct zp_image im;
    struct zp_err err = { 0 };
    assert_int_equal(zp_image_decode_file(zp_td_tpath(dir, "a.jpg"), 3, &im, &err), ZP_OK);
    assert_int_equal(im.w, W);
    assert_int_equal(im.h, H);
    assert_int_equal(im.c, 3);
    /* Block centres are far from the colour edges that chroma subsampling blurs. */
    for (int b = 0; b < 4; b++) {
        int x = (b % 2) * 8 + 3, y = (b / 2) * 8 + 3;
        for (int ch = 0; ch < 3; ch++)
            assert_in_range(im.px[(y * W + x) * 3 + ch], col[b][ch] - 6, col[b][ch] + 6);
    }
    zp_image_free(&im);

    uint8_t g[W * H];
    for (int i = 0; i < W * H; i++)
        g[i] = (uint8_t)(i < W * H / 2 ? 60 : 190);
    zp_td_write_jpeg(zp_td_tpath(dir, "g.jpg"), W, H, 1, g, 95);
    assert_int_equal(zp_image_decode_file(zp_td_tpath(dir, "g.jpg"), 3, &im, &err), ZP_OK);
    assert_int_equal(im.c, 3);
    for (int ch = 0; ch < 3; ch++) {
        assert_in_range(im.px[(2 * W + 2) * 3 + ch], 58, 62);
        assert_in_range(im.px[(13 * W + 2) * 3 + ch], 188, 192);
        assert_int_equal(im.px[(5 * W + 5) * 3 + ch], im.px[(5 * W + 5) * 3]); /* replicated */
    }
    zp_image_free(&im);
}

static void test_corrupt_images(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("corrupt");
    uint8_t px[32 * 32 * 3];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 31 % 253);
    zp_td_write_jpeg(zp_td_tpath(dir, "full.jpg"), 32, 32, 3, px, 90);
    zp_td_write_png(zp_td_tpath(dir, "full.png"), 32, 32, 3, px);
    size_t jl = 0, pl = 0;
    char *j = zp_test_read_file(zp_td_tpath(dir, "full.jpg"), &jl);
    char *p = zp_test_read_file(zp_td_tpath(dir, "full.png"), &pl);
    zp_td_write_bytes(zp_td_tpath(dir, "cut.jpg"), j, jl / 2, 0);
    zp_td_write_bytes(zp_td_tpath(dir, "cut.png"), p, pl / 2, 0);
    /* Valid signatures followed by garbage (past the JPEG APP0 segment). */
    memset(j + 20, 0x41, 64);
    zp_td_write_bytes(zp_td_tpath(dir, "junk.jpg"), j, jl, 0);
    memset(p + 8, 0x41, 64);
    zp_td_write_bytes(zp_td_tpath(dir, "junk.png"), p, pl, 0);
    zp_td_write_bytes(zp_td_tpath(dir, "text.jpg"), "hello", 5, 0);
    /* The intact JPEG with its frame header claiming 20000x10000 pixels: more
     * than Pillow's decompression-bomb limit, refused before decoding. */
    char *j2 = zp_test_read_file(zp_td_tpath(dir, "full.jpg"), NULL);
    for (size_t i = 0; i + 8 < jl; i++)
        if ((uint8_t)j2[i] == 0xFF && (uint8_t)j2[i + 1] == 0xC0) { /* SOF0 */
            j2[i + 5] = (char)(10000 >> 8);
            j2[i + 6] = (char)(10000 & 255);
            j2[i + 7] = (char)(20000 >> 8);
            j2[i + 8] = (char)(20000 & 255);
            break;
        }
    zp_td_write_bytes(zp_td_tpath(dir, "bomb.jpg"), j2, jl, 0);
    free(j2);
    free(j);
    free(p);

    const char *bad[] = { "cut.jpg", "cut.png", "junk.jpg", "junk.png", "text.jpg", "nonexistent.png",
                          "bomb.jpg" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct zp_image im;
        struct zp_err err = { 0 };
        enum zp_status st = zp_image_decode_file(zp_td_tpath(dir, bad[i]), 3, &im, &err);
        assert_int_not_equal(st, ZP_OK);
        assert_null(im.px);
        zp_td_assert_err_mentions(&err, bad[i]);
        if (strcmp(bad[i], "bomb.jpg") == 0)
            zp_td_assert_err_mentions(&err, "20000x10000");
    }
}

/* ------------------------------------------------------------- resize --- */

/* Pillow's BILINEAR resize evaluated straight from its definition in double:
 * output sample i has centre (i + 0.5) * scale; input sample j (centre j + 0.5)
 * gets weight max(0, 1 - |j + 0.5 - centre| / fs), fs = max(scale, 1), over the
 * inputs inside the support, normalized; each pass is rounded to uint8. The
 * code under test uses 22-bit fixed-point weights, so a sum within 0.002 of a
 * rounding boundary may land either side: those are counted, not failed. */
static void test_image_folder(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("folder");
    /* Three flat-colour images of different sizes and formats: after a stretch
     * to 4x4 a flat image stays flat whatever the filter. */
    uint8_t a[6 * 5 * 3], b[7 * 9], c[10 * 3 * 3];
    for (int i = 0; i < 30; i++)
        memcpy(a + 3 * i, (uint8_t[3]){ 255, 0, 51 }, 3);
    memset(b, 102, sizeof b);
    for (int i = 0; i < 30; i++)
        memcpy(c + 3 * i, (uint8_t[3]){ 0, 153, 204 }, 3);
    zp_td_write_png(zp_td_tpath(dir, "a.png"), 6, 5, 3, a);
    zp_td_write_png(zp_td_tpath(dir, "b b.png"), 7, 9, 1, b);
    zp_td_write_png(zp_td_tpath(dir, "c.png"), 10, 3, 3, c);
    zp_test_write_file(zp_td_tpath(dir, "labels.csv"),
                       "file,class_index,wnid,class_name\r\n"
                       "a.png,2,n1,\"red, sort of\"\r\n"
                       "\"b b.png\",0,n2,grey\r\n"
                       "c.png,7,n3,\"cyan \"\"ish\"\"\"\r\n");
    struct zp_dataset_spec s = zp_td_spec_default(ZP_DATA_IMAGES, dir, zp_td_tpath(dir, "labels.csv"));
    s.channels = 3;
    s.size = 4;
    s.resize_mode = ZP_RESIZE_STRETCH;
    for (int ch = 0; ch < 3; ch++)
        s.mean[ch] = s.std[ch] = 127.5f;
    struct zp_dataset ds;
    struct zp_err err = { 0 };
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_OK);
    assert_int_equal(ds.n, 3);
    assert_int_equal(ds.c, 3);
    assert_int_equal(ds.h, 4);
    assert_int_equal(ds.w, 4);
    assert_int_equal(ds.labels[0], 2);
    assert_int_equal(ds.labels[1], 0);
    assert_int_equal(ds.labels[2], 7);
    assert_int_equal(ds.n_classes, 8);
    const uint8_t expect[3][3] = { { 255, 0, 51 }, { 102, 102, 102 }, { 0, 153, 204 } };
    for (int i = 0; i < 3; i++)
        for (int ch = 0; ch < 3; ch++)
            for (int k = 0; k < 16; k++)
                assert_float_equal(ds.x[(size_t)i * 48 + ch * 16 + k], expect[i][ch] / 127.5 - 1.0, 1e-6);
    zp_dataset_free(&ds);

    /* CROP at 2/2 from 6x5: resize short side 5 -> 2, crop 2x2: flat still. */
    s.resize_mode = ZP_RESIZE_CROP;
    s.resize = 2;
    s.size = 2;
    s.limit = 1;
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_OK);
    assert_int_equal(ds.n, 1);
    assert_float_equal(ds.x[0], 1.0, 1e-6);
    zp_dataset_free(&ds);

    /* Errors name the file: a missing image, a corrupt one, a bad label, a bad header. */
    s.limit = 0;
    zp_test_write_file(zp_td_tpath(dir, "missing.csv"), "file,class_index\na.png,1\nnothere.png,2\n");
    s.labels = zp_td_tpath(dir, "missing.csv");
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EIO);
    zp_td_assert_err_mentions(&err, "nothere.png");
    assert_null(ds.x);

    zp_td_write_bytes(zp_td_tpath(dir, "bad.png"), "\x89PNG\r\n\x1a\nxxxxxxxxxxxxxxxxxxxx", 28, 0);
    zp_test_write_file(zp_td_tpath(dir, "corrupt.csv"), "file,class_index\nbad.png,1\n");
    s.labels = zp_td_tpath(dir, "corrupt.csv");
    zp_err_clear(&err);
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    zp_td_assert_err_mentions(&err, "bad.png");

    /* Blank lines count: the bad row is line 3 of the file. */
    zp_test_write_file(zp_td_tpath(dir, "label.csv"), "file,class_index\n\na.png,-3\n");
    s.labels = zp_td_tpath(dir, "label.csv");
    zp_err_clear(&err);
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    zp_td_assert_err_mentions(&err, "label.csv");
    zp_td_assert_err_mentions(&err, "line 3");

    zp_test_write_file(zp_td_tpath(dir, "header.csv"), "name,label\na.png,1\n");
    s.labels = zp_td_tpath(dir, "header.csv");
    zp_err_clear(&err);
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    zp_td_assert_err_mentions(&err, "header.csv");
    zp_td_assert_err_mentions(&err, "class_index");
}

/* Pillow's results for the first shared ImageNet images, by an independent
 * Python computation: CRC-32 of the 3x224x224 uint8 CHW input under each recipe. */
static const struct {
    const char *file;
    uint32_t crc[3]; /* torchvision crop, round-floor crop, stretch */
} imagenet_pil_crc[] = {
    /* file, crc32 of crop, round_floor, stretch (tests/data/imagenet_pil_crc.py) */
    {"n01440764_tench.JPEG", {0x580efbddu, 0x580efbddu, 0xa3c83b0fu}},
    {"n01443537_goldfish.JPEG", {0x028bcd63u, 0xe4cbbabfu, 0xaa16e335u}},
    {"n01484850_great_white_shark.JPEG", {0x042cde98u, 0x042cde98u, 0x3d04818cu}},
    {"n01491361_tiger_shark.JPEG", {0xb18cdb50u, 0xcd42c825u, 0x7b1d4f3du}},
    {"n01494475_hammerhead.JPEG", {0x23c3855au, 0x23c3855au, 0x0826ed2eu}},
    {"n01496331_electric_ray.JPEG", {0x3f32c950u, 0xb45f65c7u, 0x6558b06du}},
    {"n01498041_stingray.JPEG", {0x0291119bu, 0x0291119bu, 0xae7e799cu}},
    {"n01514668_cock.JPEG", {0xe94eafbdu, 0xcf9bd132u, 0x2bd6cef8u}},
};

/* CRC-32 of example i after undoing the (p - 127.5) / 127.5 normalization. */
static uint32_t example_crc(const struct zp_dataset *ds, int64_t i)
{
    size_t ex = zp_dataset_example_size(ds);
    uint8_t *u = malloc(ex);
    for (size_t k = 0; k < ex; k++)
        u[k] = (uint8_t)lrint(ds->x[(size_t)i * ex + k] * 127.5 + 127.5);
    uint32_t crc = (uint32_t)crc32(0L, u, (uInt)ex);
    free(u);
    return crc;
}

/* The shared ImageNet sample: 1000 JPEGs, CROP 256/224, mean = std = 127.5. */
static void test_imagenet_1k(void **state)
{
    (void)state;
    const char *root = zp_test_shared_data();
    if (!root)
        skip();
    char dir[4096], csv[4096];
    snprintf(dir, sizeof dir, "%s/imagenet/imagenet_sample_train_1k", root);
    snprintf(csv, sizeof csv, "%s/imagenet/labels/sample_train_1k.csv", root);
    struct stat st;
    if (stat(dir, &st) != 0 || stat(csv, &st) != 0)
        skip();
    struct zp_dataset_spec s = zp_td_spec_default(ZP_DATA_IMAGES, dir, csv);
    s.channels = 3;
    s.resize = 256;
    s.size = 224;
    s.resize_mode = ZP_RESIZE_CROP;
    for (int ch = 0; ch < 3; ch++)
        s.mean[ch] = s.std[ch] = 127.5f;
    struct zp_dataset ds;
    struct zp_err err = { 0 };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    enum zp_status rc = zp_dataset_load(&s, &ds, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc != ZP_OK)
        fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, ZP_OK);
    fprintf(stderr, "imagenet 1k: loaded in %.2f s\n",
            (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    assert_int_equal(ds.n, 1000);
    assert_int_equal(ds.c, 3);
    assert_int_equal(ds.h, 224);
    assert_int_equal(ds.w, 224);
    assert_int_equal(ds.n_classes, 1000);
    /* Labels against the CSV read independently: the second field of each row. */
    char *text = zp_test_read_file(csv, NULL);
    assert_non_null(text);
    char *line = strchr(text, '\n') + 1;
    for (int i = 0; i < 1000; i++) {
        char *comma = strchr(line, ',');
        assert_non_null(comma);
        assert_int_equal(ds.labels[i], atoi(comma + 1));
        line = strchr(line, '\n');
        if (line)
            line++;
        else
            assert_int_equal(i, 999);
    }
    free(text);
    /* Every value is a normalized uint8: (p - 127.5) / 127.5 in [-1, 1], on the grid. */
    for (size_t i = 0; i < (size_t)ds.n * 3 * 224 * 224; i += 997) {
        float v = ds.x[i];
        assert_true(v >= -1.0f && v <= 1.0f);
        double p = v * 127.5 + 127.5;
        assert_float_equal(p, floor(p + 0.5), 1e-3);
    }
    /* Pixel-exact with Pillow, in all three recipes (the other two on a few images). */
    const int n_crc = (int)(sizeof imagenet_pil_crc / sizeof *imagenet_pil_crc);
    for (int i = 0; i < n_crc; i++)
        assert_int_equal(example_crc(&ds, i), imagenet_pil_crc[i].crc[0]);
    zp_dataset_free(&ds);
    for (int r = 1; r < 3; r++) {
        s.limit = n_crc;
        s.crop_recipe = r == 1 ? ZP_CROP_ROUND_FLOOR : ZP_CROP_TORCHVISION;
        s.resize_mode = r == 1 ? ZP_RESIZE_CROP : ZP_RESIZE_STRETCH;
        assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_OK);
        assert_int_equal(ds.n, n_crc);
        for (int i = 0; i < n_crc; i++)
            assert_int_equal(example_crc(&ds, i), imagenet_pil_crc[i].crc[r]);
        zp_dataset_free(&ds);
    }
}

/* ------------------------------------------------- subsets and sources --- */

/* Example i of a subset load equals example select[i] of the full load, bit for
 * bit, for one spec; labels too; and the kept source maps to x through the LUT. */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_decode),
        cmocka_unit_test(test_jpeg_decode),
        cmocka_unit_test(test_corrupt_images),
        cmocka_unit_test(test_image_folder),
        cmocka_unit_test(test_imagenet_1k),
    };
    return ZP_RUN_TESTS(tests);
}
