/* Dataset loaders: IDX, image folders (JPEG / PNG + labels CSV), .npy, the
 * Pillow-compatible antialiased bilinear resize and the torchvision crop
 * geometry. Every expected value is worked out here independently (by hand or
 * by a direct double-precision evaluation of the definition), never copied
 * from the code under test. Inputs are written by the tests themselves.
 *
 * This file: The Pillow-compatible antialiased bilinear resize and the torchvision crop geometry. */
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

static int ref_resize_1d(const double *in, int n_in, int n_out, double *out)
{
    double scale = (double)n_in / n_out, fs = scale > 1 ? scale : 1;
    int ambiguous = 0;
    for (int i = 0; i < n_out; i++) {
        double c = (i + 0.5) * scale, sum = 0, wsum = 0;
        for (int j = 0; j < n_in; j++) {
            /* Pillow's tap window: [trunc(c - fs + 0.5), trunc(c + fs + 0.5)). */
            if (j < (int)(c - fs + 0.5) || j >= (int)(c + fs + 0.5))
                continue;
            double w = 1 - fabs(j + 0.5 - c) / fs;
            if (w < 0)
                w = 0;
            sum += w * in[j];
            wsum += w;
        }
        double v = sum / wsum;
        double r = floor(v + 0.5);
        if (fabs(v + 0.5 - r) < 0.002 || fabs(v + 0.5 - r - 1) < 0.002)
            ambiguous++;
        out[i] = r < 0 ? 0 : r > 255 ? 255 : r;
    }
    return ambiguous;
}

static void test_resize_hand(void **state)
{
    (void)state;
    struct zp_err err = { 0 };
    /* 4 -> 2 along one axis: scale 2, support 2: output 0 (centre 1.0) sees
     * inputs 0, 1, 2 at distances 0.5, 0.5, 1.5 -> weights 0.75, 0.75, 0.25,
     * i.e. 3/7, 3/7, 1/7 (not a plain pair average). Row [70 70 0 140]:
     * out0 = (3*70 + 3*70 + 0)/7 = 60, out1 = (70 + 0 + 3*140)/7 = 70. */
    uint8_t row[4] = { 70, 70, 0, 140 };
    struct zp_image in = { .w = 4, .h = 1, .c = 1, .px = row }, out;
    assert_int_equal(zp_image_resize(&in, 2, 1, &out, &err), ZP_OK);
    assert_int_equal(out.px[0], 60);
    assert_int_equal(out.px[1], 70);
    zp_image_free(&out);

    /* 4x4 -> 2x2 of a 2x2 checkerboard of flat blocks with equal rows:
     * horizontal pass gives 3/7 a + 3/7 a + 1/7 b per output. Blocks a=14, b=140:
     * (6*14 + 140)/7 = 32 and (14 + 6*140)/7 = 122; then vertically each column
     * is constant so stays. */
    uint8_t sq[16];
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            sq[y * 4 + x] = x < 2 ? 14 : 140;
    in = (struct zp_image){ .w = 4, .h = 4, .c = 1, .px = sq };
    assert_int_equal(zp_image_resize(&in, 2, 2, &out, &err), ZP_OK);
    assert_int_equal(out.px[0], 32);
    assert_int_equal(out.px[1], 122);
    assert_int_equal(out.px[2], 32);
    assert_int_equal(out.px[3], 122);
    zp_image_free(&out);

    /* 6 -> 4: scale 1.5. Output 0: centre 0.75, taps 0..1 (window [0, 2)),
     * weights 1 - 0.25/1.5 = 5/6 and 1 - 0.75/1.5 = 1/2 -> 5/8, 3/8.
     * Row [0 80 ...]: 3/8 * 80 = 30. Output 1: centre 2.25,
     * window [1, 4): inputs 1, 2, 3 at 0.75, 0.25, 1.25 -> 1/2, 5/6, 1/6,
     * normalized 1/3, 5/9, 1/9. */
    uint8_t r6[6] = { 0, 80, 160, 40, 200, 8 };
    in = (struct zp_image){ .w = 6, .h = 1, .c = 1, .px = r6 };
    assert_int_equal(zp_image_resize(&in, 4, 1, &out, &err), ZP_OK);
    assert_int_equal(out.px[0], 30);                       /* 3/8 * 80 */
    assert_int_equal(out.px[1], 120); /* (3*80 + 5*160 + 40) / 9 = 1080 / 9 */
    zp_image_free(&out);

    /* Upscaling 2 -> 4: scale 0.5, fs 1, support 1: output 0 centre 0.25 sees
     * input 0 only (window [0, 1)); output 1 centre 0.75: inputs 0, 1 at 0.25,
     * 0.75 -> 0.75, 0.25: 0.75 * 0 + 0.25 * 200 = 50. */
    uint8_t r2[2] = { 0, 200 };
    in = (struct zp_image){ .w = 2, .h = 1, .c = 1, .px = r2 };
    assert_int_equal(zp_image_resize(&in, 4, 1, &out, &err), ZP_OK);
    assert_int_equal(out.px[0], 0);
    assert_int_equal(out.px[1], 50);
    assert_int_equal(out.px[2], 150);
    assert_int_equal(out.px[3], 200);
    zp_image_free(&out);
}

/* Random images, several shapes, 3 channels, against the double reference of
 * the two passes. */
static void test_resize_reference(void **state)
{
    (void)state;
    const int shapes[][4] = { { 37, 23, 16, 11 }, { 50, 40, 50, 17 }, { 9, 31, 20, 31 },
                              { 64, 48, 21, 13 }, { 13, 17, 29, 5 } };
    uint32_t seed = 12345;
    int total = 0, mismatched = 0;
    for (size_t t = 0; t < sizeof shapes / sizeof *shapes; t++) {
        int iw = shapes[t][0], ih = shapes[t][1], ow = shapes[t][2], oh = shapes[t][3];
        uint8_t *px = malloc((size_t)iw * ih * 3);
        for (int i = 0; i < iw * ih * 3; i++) {
            seed = seed * 1664525u + 1013904223u;
            px[i] = (uint8_t)(seed >> 24);
        }
        struct zp_image in = { .w = iw, .h = ih, .c = 3, .px = px }, out;
        struct zp_err err = { 0 };
        assert_int_equal(zp_image_resize(&in, ow, oh, &out, &err), ZP_OK);
        double *tmp = malloc(sizeof(double) * (size_t)ow * ih), *a = malloc(sizeof(double) * 64),
               *b = malloc(sizeof(double) * 64);
        for (int ch = 0; ch < 3; ch++) {
            for (int y = 0; y < ih; y++) {
                for (int x = 0; x < iw; x++)
                    a[x] = px[(y * iw + x) * 3 + ch];
                if (ow == iw)
                    memcpy(b, a, sizeof(double) * iw);
                else
                    ref_resize_1d(a, iw, ow, b);
                for (int x = 0; x < ow; x++)
                    tmp[y * ow + x] = b[x];
            }
            for (int x = 0; x < ow; x++) {
                for (int y = 0; y < ih; y++)
                    a[y] = tmp[y * ow + x];
                int amb = oh == ih ? 0 : ref_resize_1d(a, ih, oh, b);
                if (oh == ih)
                    memcpy(b, a, sizeof(double) * ih);
                for (int y = 0; y < oh; y++) {
                    int got = out.px[(y * ow + x) * 3 + ch];
                    total++;
                    if (got != (int)b[y]) {
                        mismatched++;
                        /* Only a near-tie (or a horizontal near-tie upstream) may differ, by 1. */
                        assert_in_range(got, (int)b[y] - 1, (int)b[y] + 1);
                    }
                }
                (void)amb;
            }
        }
        free(tmp);
        free(a);
        free(b);
        free(px);
        zp_image_free(&out);
    }
    /* Near-ties are rare: fixed-point rounding may move at most a handful. */
    assert_true(mismatched * 200 <= total);
}

static void test_crop_geometry(void **state)
{
    (void)state;
    int rw, rh, top, left;
    /* 500x375 landscape: short side 375 -> 256, long int(256*500/375) = 341;
     * left = round((341 - 224) / 2) = round(58.5) = 58 (half to even). */
    zp_image_crop_geometry(500, 375, 256, 224, ZP_CROP_TORCHVISION, &rw, &rh, &top, &left);
    assert_int_equal(rw, 341);
    assert_int_equal(rh, 256);
    assert_int_equal(top, 16);
    assert_int_equal(left, 58);
    /* Portrait is the transpose. */
    zp_image_crop_geometry(375, 500, 256, 224, ZP_CROP_TORCHVISION, &rw, &rh, &top, &left);
    assert_int_equal(rw, 256);
    assert_int_equal(rh, 341);
    assert_int_equal(top, 58);
    assert_int_equal(left, 16);
    /* 343 long: round(59.5) = 60 (even). 500x333: int(384.38) = 384, left 80. */
    zp_image_crop_geometry(343, 256, 256, 224, ZP_CROP_TORCHVISION, &rw, &rh, &top, &left);
    assert_int_equal(rw, 343);
    assert_int_equal(left, 60);
    zp_image_crop_geometry(500, 333, 256, 224, ZP_CROP_TORCHVISION, &rw, &rh, &top, &left);
    assert_int_equal(rw, 384);
    assert_int_equal(left, 80);
    /* Square: both sides 256, both offsets 16. */
    zp_image_crop_geometry(300, 300, 256, 224, ZP_CROP_TORCHVISION, &rw, &rh, &top, &left);
    assert_int_equal(rw, 256);
    assert_int_equal(rh, 256);
    assert_int_equal(top, 16);
    assert_int_equal(left, 16);

    /* ROUND_FLOOR: long side rounded, offsets floored. 640x427: 256*640/427 =
     * 383.7 -> 384 (torchvision 383), left (384 - 224) // 2 = 80 (torchvision
     * round(79.5) = 80 too); 343x256: left 119 // 2 = 59 (torchvision 60). */
    zp_image_crop_geometry(640, 427, 256, 224, ZP_CROP_TORCHVISION, &rw, &rh, &top, &left);
    assert_int_equal(rw, 383);
    assert_int_equal(left, 80);
    zp_image_crop_geometry(640, 427, 256, 224, ZP_CROP_ROUND_FLOOR, &rw, &rh, &top, &left);
    assert_int_equal(rw, 384);
    assert_int_equal(rh, 256);
    assert_int_equal(left, 80);
    assert_int_equal(top, 16);
    zp_image_crop_geometry(256, 343, 256, 224, ZP_CROP_ROUND_FLOOR, &rw, &rh, &top, &left);
    assert_int_equal(rh, 343);
    assert_int_equal(top, 59);
    assert_int_equal(left, 16);
    /* 500x375 agrees in both: 341.33 -> 341, round(58.5) = 58 = 117 // 2. */
    zp_image_crop_geometry(500, 375, 256, 224, ZP_CROP_ROUND_FLOOR, &rw, &rh, &top, &left);
    assert_int_equal(rw, 341);
    assert_int_equal(left, 58);
}

/* Preprocess with CROP: the crop must be the centre window of the resized
 * image, pixel for pixel, and the normalization (p - mean) / std per channel. */
static void test_preprocess_crop(void **state)
{
    (void)state;
    enum { IW = 30, IH = 20 };
    uint8_t px[IW * IH * 3];
    for (int i = 0; i < IW * IH * 3; i++)
        px[i] = (uint8_t)((i * 97) % 256);
    struct zp_image in = { .w = IW, .h = IH, .c = 3, .px = px }, r;
    struct zp_dataset_spec s = zp_td_spec_default(ZP_DATA_IMAGES, "x", "y");
    s.channels = 3;
    s.resize = 12;
    s.size = 9;
    s.resize_mode = ZP_RESIZE_CROP;
    const float mean[3] = { 10, 20, 30 }, sd[3] = { 2, 4, 8 };
    memcpy(s.mean, mean, sizeof mean);
    memcpy(s.std, sd, sizeof sd);
    float out[3 * 9 * 9];
    struct zp_err err = { 0 };
    assert_int_equal(zp_image_preprocess(&in, &s, 9, 9, out, "t", &err), ZP_OK);
    /* 30x20 -> short 20 -> 12, long int(12*30/20) = 18; top round(1.5) = 2, left round(4.5) = 4. */
    assert_int_equal(zp_image_resize(&in, 18, 12, &r, &err), ZP_OK);
    for (int ch = 0; ch < 3; ch++)
        for (int y = 0; y < 9; y++)
            for (int x = 0; x < 9; x++) {
                uint8_t p = r.px[((y + 2) * 18 + x + 4) * 3 + ch];
                assert_float_equal(out[(ch * 9 + y) * 9 + x], (p - mean[ch]) / sd[ch], 1e-6);
            }
    zp_image_free(&r);

    /* An image already at the output size is still scaled to `resize` and
     * cropped back (torchvision does): 9x9 -> 12x12, offsets round(1.5) = 2. */
    struct zp_image sq = { .w = 9, .h = 9, .c = 3, .px = px };
    assert_int_equal(zp_image_preprocess(&sq, &s, 9, 9, out, "t", &err), ZP_OK);
    assert_int_equal(zp_image_resize(&sq, 12, 12, &r, &err), ZP_OK);
    for (int ch = 0; ch < 3; ch++)
        for (int y = 0; y < 9; y++)
            for (int x = 0; x < 9; x++) {
                uint8_t p = r.px[((y + 2) * 12 + x + 2) * 3 + ch];
                assert_float_equal(out[(ch * 9 + y) * 9 + x], (p - mean[ch]) / sd[ch], 1e-6);
            }
    zp_image_free(&r);

    /* A 5000x1 strip would become 1280000x256 pixels: refused, not allocated. */
    uint8_t *strip = calloc(5000 * 3, 1);
    struct zp_image st = { .w = 5000, .h = 1, .c = 3, .px = strip };
    s.resize = 256;
    s.size = 224;
    float *big = malloc(sizeof(float) * 3 * 224 * 224);
    assert_int_equal(zp_image_preprocess(&st, &s, 224, 224, big, "strip", &err), ZP_EFORMAT);
    zp_td_assert_err_mentions(&err, "strip");
    free(big);
    free(strip);
}

/* Bit-exact against Pillow: tests/data/pil_resize.bin holds random images and
 * PIL.Image.resize(..., BILINEAR) results made by tests/data/gen_pil_resize.py. */
static void test_resize_vs_pillow(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *b = (uint8_t *)zp_test_read_file("tests/data/pil_resize.bin", &len);
    if (!b)
        skip();
    size_t pos = 0;
    int cases = 0;
    while (pos + 20 <= len) {
        uint32_t h[5];
        memcpy(h, b + pos, sizeof h); /* little-endian u32: iw ih c ow oh */
        pos += 20;
        size_t ni = (size_t)h[0] * h[1] * h[2], no = (size_t)h[3] * h[4] * h[2];
        assert_true(pos + ni + no <= len);
        struct zp_image in = { .w = (int)h[0], .h = (int)h[1], .c = (int)h[2], .px = b + pos }, out;
        struct zp_err err = { 0 };
        assert_int_equal(zp_image_resize(&in, (int)h[3], (int)h[4], &out, &err), ZP_OK);
        if (memcmp(out.px, b + pos + ni, no) != 0) {
            for (size_t i = 0; i < no; i++)
                if (out.px[i] != b[pos + ni + i]) {
                    fprintf(stderr, "case %d (%ux%u -> %ux%u): byte %zu: got %d, Pillow %d\n", cases, h[0],
                            h[1], h[3], h[4], i, out.px[i], b[pos + ni + i]);
                    break;
                }
            fail();
        }
        zp_image_free(&out);
        pos += ni + no;
        cases++;
    }
    assert_true(cases > 0);
    free(b);
}

/* ---------------------------------------------------------------- npy --- */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resize_hand),
        cmocka_unit_test(test_resize_reference),
        cmocka_unit_test(test_crop_geometry),
        cmocka_unit_test(test_preprocess_crop),
        cmocka_unit_test(test_resize_vs_pillow),
    };
    return ZP_RUN_TESTS(tests);
}
