/* Dataset loaders: IDX, image folders (JPEG / PNG + labels CSV), .npy, the
 * Pillow-compatible antialiased bilinear resize and the torchvision crop
 * geometry. Every expected value is worked out here independently (by hand or
 * by a direct double-precision evaluation of the definition), never copied
 * from the code under test. Inputs are written by the tests themselves.
 *
 * This file: Loading a subset (decode only what is used), torchvision's exact scale, exact input codes. */
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

static void expect_subset_matches(struct zp_dataset_spec s, const int64_t *sel, int64_t nsel)
{
    struct zp_dataset full, sub;
    struct zp_err err = { 0 };
    s.n_select = 0;
    s.select = NULL;
    assert_int_equal(zp_dataset_load(&s, &full, &err), ZP_OK);
    int64_t count = -1;
    assert_int_equal(zp_dataset_count(&s, &count, &err), ZP_OK);
    assert_int_equal(count, full.n);
    s.select = sel;
    s.n_select = nsel;
    s.keep_source = 1;
    if (zp_dataset_load(&s, &sub, &err) != ZP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(sub.n, nsel);
    assert_int_equal(sub.c, full.c);
    assert_int_equal(sub.h, full.h);
    assert_int_equal(sub.w, full.w);
    size_t ex = zp_dataset_example_size(&full);
    for (int64_t i = 0; i < nsel; i++) {
        assert_int_equal(sub.labels[i], full.labels[sel[i]]);
        assert_memory_equal(sub.x + (size_t)i * ex, full.x + (size_t)sel[i] * ex, ex * sizeof(float));
    }
    assert_non_null(sub.src);
    size_t plane = (size_t)(sub.h * sub.w);
    for (size_t k = 0; k < (size_t)nsel * ex; k++) {
        int ch = (int)(k % ex / plane);
        float want = zp_dataset_normalize(&s, s.channels == 3 || sub.c == 3 ? ch : 0, sub.src[k]);
        if (memcmp(&want, &sub.x[k], sizeof want) != 0)
            fail_msg("element %zu: x %g, from source %d %g", k, (double)sub.x[k], sub.src[k], (double)want);
    }
    zp_dataset_free(&full);
    zp_dataset_free(&sub);
}

static void test_subset_idx_images_npy(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("subset");
    enum { N = 9, H = 6, W = 5 };
    uint8_t px[N * H * W], lab[N];
    for (int i = 0; i < N * H * W; i++)
        px[i] = (uint8_t)(i * 37 % 256);
    for (int i = 0; i < N; i++)
        lab[i] = (uint8_t)(i * 3 % 7);
    uint32_t di[3] = { N, H, W }, dl[1] = { N };
    zp_td_write_idx(zp_td_tpath(dir, "img.gz"), 3, di, px, sizeof px, 1);
    zp_td_write_idx(zp_td_tpath(dir, "lab"), 1, dl, lab, sizeof lab, 0);
    const int64_t sel[] = { 7, 0, 7, 3, 8 }; /* out of order, a repeat, the last */
    struct zp_dataset_spec s = zp_td_spec_default(ZP_DATA_IDX, zp_td_tpath(dir, "img.gz"), zp_td_tpath(dir, "lab"));
    s.mean[0] = 33.0f;
    s.std[0] = 7.0f;
    expect_subset_matches(s, sel, 5);
    s.channels = 3;  /* grey replicated */
    s.size = 4;      /* and through the resize + crop path */
    s.resize = 4;
    s.resize_mode = ZP_RESIZE_CROP;
    for (int ch = 0; ch < 3; ch++) {
        s.mean[ch] = 0.485f - 0.03f * ch;
        s.std[ch] = 0.229f + 0.01f * ch;
    }
    s.scale = 1.0 / 255.0;
    expect_subset_matches(s, sel, 5);
    int64_t pn = 0, pshape[3];
    struct zp_err perr = { 0 };
    assert_int_equal(zp_dataset_probe(&s, &pn, pshape, &perr), ZP_OK);
    assert_int_equal(pn, N);
    assert_int_equal(pshape[0], 3);
    assert_int_equal(pshape[1], 4);
    assert_int_equal(pshape[2], 4);
    s.limit = 8; /* indices count after limit: 8 is now out of range */
    struct zp_dataset ds;
    struct zp_err err = { 0 };
    s.select = sel;
    s.n_select = 5;
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EINVAL);
    zp_td_assert_err_mentions(&err, "selected example 4 is index 8, the file has 8 examples");
    assert_null(ds.x);

    /* Image folder: only the selected files are opened (a missing file that is
     * not selected does no harm). */
    uint8_t a[4 * 3 * 3], b[5 * 4 * 3];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = (uint8_t)(i * 11);
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (uint8_t)(250 - i * 3);
    zp_td_write_png(zp_td_tpath(dir, "a.png"), 4, 3, 3, a);
    zp_td_write_png(zp_td_tpath(dir, "b.png"), 5, 4, 3, b);
    zp_test_write_file(zp_td_tpath(dir, "labels.csv"), "file,class_index\na.png,1\nb.png,4\na.png,2\n");
    s = zp_td_spec_default(ZP_DATA_IMAGES, dir, zp_td_tpath(dir, "labels.csv"));
    s.channels = 3;
    s.size = 3;
    s.resize = 3;
    s.resize_mode = ZP_RESIZE_CROP;
    for (int ch = 0; ch < 3; ch++)
        s.mean[ch] = s.std[ch] = 127.5f;
    const int64_t sel2[] = { 2, 1 };
    expect_subset_matches(s, sel2, 2);
    zp_test_write_file(zp_td_tpath(dir, "gone.csv"), "file,class_index\na.png,1\nnot_here.png,4\nb.png,2\n");
    s.labels = zp_td_tpath(dir, "gone.csv");
    const int64_t sel3[] = { 2, 0 };
    s.select = sel3;
    s.n_select = 2;
    zp_err_clear(&err);
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_OK);
    assert_int_equal(ds.labels[0], 2);
    zp_dataset_free(&ds);
    int64_t count = 0;
    assert_int_equal(zp_dataset_count(&s, &count, &err), ZP_OK);
    assert_int_equal(count, 3);
    /* The probe finds the missing file (CSV row 2) without decoding anything
     * but example 0; with the file present it gives the load's shape. */
    int64_t shape[3];
    s.select = NULL;
    s.n_select = 0;
    assert_int_equal(zp_dataset_probe(&s, &count, shape, &err), ZP_EIO);
    zp_td_assert_err_mentions(&err, "gone.csv: row 2: ");
    zp_td_assert_err_mentions(&err, "not_here.png: cannot open: No such file or directory");
    zp_err_clear(&err);
    s.labels = zp_td_tpath(dir, "labels.csv");
    assert_int_equal(zp_dataset_probe(&s, &count, shape, &err), ZP_OK);
    assert_int_equal(count, 3);
    assert_int_equal(shape[0], 3);
    assert_int_equal(shape[1], 3);
    assert_int_equal(shape[2], 3);

    /* u1 .npy keeps its source; f4 .npy has none. */
    uint8_t xu[4 * 2 * 2];
    for (int i = 0; i < 16; i++)
        xu[i] = (uint8_t)(i * 17);
    int64_t l8[4] = { 0, 1, 2, 3 };
    zp_td_write_npy(zp_td_tpath(dir, "xu.npy"), 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4, 1, 2, 2), }",
              xu, sizeof xu);
    zp_td_write_npy(zp_td_tpath(dir, "y.npy"), 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", l8,
              sizeof l8);
    s = zp_td_spec_default(ZP_DATA_NPY, zp_td_tpath(dir, "xu.npy"), zp_td_tpath(dir, "y.npy"));
    s.channels = 0;
    s.mean[0] = s.std[0] = 127.5f;
    const int64_t sel4[] = { 3, 1 };
    expect_subset_matches(s, sel4, 2);
}

/* Issue 17 item 17: scale = 1/255 reproduces torchvision's ToTensor + Normalize,
 * fl(fl(fl(p / 255) - mean) / std) in float32, for every pixel value; scaling by
 * the float nearest 1/255 instead differs for some pixels, so the division is
 * what is used. Any other scale multiplies. */
static void test_scale_torchvision(void **state)
{
    (void)state;
    struct zp_dataset_spec s = zp_td_spec_default(ZP_DATA_IDX, "x", "y");
    s.channels = 3;
    const float mean[3] = { 0.485f, 0.456f, 0.406f }, std[3] = { 0.229f, 0.224f, 0.225f };
    for (int ch = 0; ch < 3; ch++) {
        s.mean[ch] = mean[ch];
        s.std[ch] = std[ch];
    }
    s.scale = 0.00392156862745098; /* 1/255 as a config would write it */
    int differs = 0;
    for (int ch = 0; ch < 3; ch++)
        for (int p = 0; p < 256; p++) {
            volatile float t = (float)p / 255.0f; /* volatile: one rounding per step */
            volatile float u = t - mean[ch];
            volatile float wv = u / std[ch];
            float want = wv, got = zp_dataset_normalize(&s, ch, (float)p);
            if (memcmp(&got, &want, sizeof got) != 0)
                fail_msg("channel %d pixel %d: %.9g, torchvision %.9g", ch, p, (double)got, (double)want);
            volatile float m = (float)p * (float)(1.0 / 255.0);
            differs += m != t;
        }
    assert_true(differs > 0);
    /* Without std (no normalization) the scale alone applies; 0 means 1. */
    struct zp_dataset_spec s2 = zp_td_spec_default(ZP_DATA_IDX, "x", "y");
    s2.scale = 0.5;
    assert_float_equal(zp_dataset_normalize(&s2, 0, 255.0f), 127.5f, 0);
    s2.scale = 0;
    assert_float_equal(zp_dataset_normalize(&s2, 0, 255.0f), 255.0f, 0);
    s2.scale = 2.0; /* > 1: a plain multiplier */
    assert_float_equal(zp_dataset_normalize(&s2, 0, 3.0f), 6.0f, 0);
    /* A bad scale is a config error naming the key. */
    struct zp_dataset ds;
    struct zp_err err = { 0 };
    s2.scale = -1;
    assert_int_equal(zp_dataset_load(&s2, &ds, &err), ZP_ECONFIG);
    zp_td_assert_err_mentions(&err, "scale");
    zp_err_clear(&err);
    s2.scale = NAN;
    assert_int_equal(zp_dataset_load(&s2, &ds, &err), ZP_ECONFIG);
}

/* Issue 17 item 8: u8/127.5 - 1 against s = 2/255 is p - 127.5 in exact
 * arithmetic, a tie for every pixel; half to even picks whichever of p - 128
 * and p - 127 is even, so with zero point 128 the code is p for even p and
 * p + 1 for odd p (255 clamps to 255). The same inputs written as torchvision
 * would (scale 1/255, mean = std = 0.5) give the same codes. */
static void test_exact_input_codes(void **state)
{
    (void)state;
    struct zp_dataset_spec s = zp_td_spec_default(ZP_DATA_IDX, "x", "y");
    s.mean[0] = s.std[0] = 127.5f;
    int32_t codes[256], codes2[256];
    struct zp_err err = { 0 };
    assert_int_equal(zp_dataset_exact_codes(&s, 0, -1.0f, 1.0f, 255, 128, 0, 255, codes, &err), ZP_OK);
    for (int p = 0; p < 256; p++) {
        int want = p % 2 == 0 ? p : p + 1;
        if (want > 255)
            want = 255;
        if (codes[p] != want)
            fail_msg("pixel %d: code %d, expected %d", p, codes[p], want);
    }
    struct zp_dataset_spec t = zp_td_spec_default(ZP_DATA_IDX, "x", "y");
    t.scale = 0.00392156862745098;
    t.mean[0] = t.std[0] = 0.5f;
    assert_int_equal(zp_dataset_exact_codes(&t, 0, -1.0f, 1.0f, 255, 128, 0, 255, codes2, &err), ZP_OK);
    assert_memory_equal(codes, codes2, sizeof codes);
    /* The float computation does not see these ties: it rounds some pixels
     * the other way (which is why the table exists). */
    float sf = 2.0f / 255.0f;
    int differ = 0;
    for (int p = 0; p < 256; p++) {
        float x = zp_dataset_normalize(&s, 0, (float)p);
        double q = rint((double)(x / sf)) + 128;
        differ += (int)(q > 255 ? 255 : q) != codes[p];
    }
    print_message("exact input codes: float rounding differs on %d of 256 pixels\n", differ);
    /* No normalization, s = 1 (range 0..255 over 255 levels): code = p. A
     * symmetric signed quantizer over [-4, 4] with 8 levels of 1: the pixels
     * clamp at 4 (qmax) with zero point 0. */
    struct zp_dataset_spec u = zp_td_spec_default(ZP_DATA_IDX, "x", "y");
    assert_int_equal(zp_dataset_exact_codes(&u, 0, 0.0f, 255.0f, 255, 0, 0, 255, codes, &err), ZP_OK);
    for (int p = 0; p < 256; p++)
        assert_int_equal(codes[p], p);
    assert_int_equal(zp_dataset_exact_codes(&u, 0, -4.0f, 4.0f, 8, 0, -4, 4, codes, &err), ZP_OK);
    assert_int_equal(codes[0], 0);
    assert_int_equal(codes[3], 3);
    assert_int_equal(codes[200], 4);
    /* A non-tie that float gets right too: mean 72.94, std 90 (Fashion-MNIST),
     * s = 0.01: the exact code is the nearest integer of the real quotient. */
    struct zp_dataset_spec f = zp_td_spec_default(ZP_DATA_IDX, "x", "y");
    f.mean[0] = 72.94f;
    f.std[0] = 90.0f;
    assert_int_equal(zp_dataset_exact_codes(&f, 0, -1.0f, 1.56f, 256, 100, -1000, 1000, codes, &err), ZP_OK);
    for (int p = 0; p < 256; p += 17) {
        long double x = ((long double)p - (long double)72.94f) / 90.0L;
        long double q = x / (((long double)1.56f - (long double)-1.0f) / 256.0L);
        /* long double is close enough away from ties */
        assert_int_equal(codes[p], (int)llrintl(q) + 100);
    }
    /* Bad quantizers are refused. */
    assert_int_equal(zp_dataset_exact_codes(&u, 0, 1.0f, 1.0f, 255, 0, 0, 255, codes, &err), ZP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subset_idx_images_npy),
        cmocka_unit_test(test_scale_torchvision),
        cmocka_unit_test(test_exact_input_codes),
    };
    return ZP_RUN_TESTS(tests);
}
