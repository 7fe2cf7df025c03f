/* Dataset loaders: IDX, image folders (JPEG / PNG + labels CSV), .npy, the
 * Pillow-compatible antialiased bilinear resize and the torchvision crop
 * geometry. Every expected value is worked out here independently (by hand or
 * by a direct double-precision evaluation of the definition), never copied
 * from the code under test. Inputs are written by the tests themselves. */
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

/* ------------------------------------------------------------ helpers --- */

static char *tpath(const char *dir, const char *name)
{
    static char buf[8][4096];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, data, (unsigned)n), (int)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, n, f), n);
        fclose(f);
    }
}

/* IDX ubyte file with the given dims; `payload` bytes of data (may be short). */
static void write_idx(const char *path, int ndim, const uint32_t *dims, const uint8_t *data, size_t payload,
                      int gz)
{
    uint8_t *b = malloc(4 + 4 * (size_t)ndim + payload);
    b[0] = b[1] = 0;
    b[2] = 0x08;
    b[3] = (uint8_t)ndim;
    for (int d = 0; d < ndim; d++) {
        b[4 + 4 * d] = (uint8_t)(dims[d] >> 24);
        b[5 + 4 * d] = (uint8_t)(dims[d] >> 16);
        b[6 + 4 * d] = (uint8_t)(dims[d] >> 8);
        b[7 + 4 * d] = (uint8_t)dims[d];
    }
    memcpy(b + 4 + 4 * ndim, data, payload);
    write_bytes(path, b, 4 + 4 * (size_t)ndim + payload, gz);
    free(b);
}

static void write_png(const char *path, int w, int h, int c, const uint8_t *px)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(png);
    assert_non_null(info);
    png_init_io(png, f);
    int type = c == 1 ? PNG_COLOR_TYPE_GRAY : c == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGB_ALPHA;
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++)
        png_write_row(png, (png_const_bytep)(px + (size_t)y * w * c));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

static void write_jpeg(const char *path, int w, int h, int c, const uint8_t *px, int quality)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = c;
    ci.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, quality, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)ci.next_scanline * w * c);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    fclose(f);
}

static void assert_err_mentions(const struct zp_err *err, const char *needle)
{
    if (!strstr(err->msg, needle)) {
        fprintf(stderr, "error message '%s' does not mention '%s'\n", err->msg, needle);
        fail();
    }
}

static struct zp_dataset_spec spec_default(enum zp_dataset_format fmt, const char *images, const char *labels)
{
    struct zp_dataset_spec s;
    memset(&s, 0, sizeof s);
    s.format = fmt;
    s.images = images;
    s.labels = labels;
    s.channels = 1;
    s.resize_mode = ZP_RESIZE_NONE;
    return s;
}

/* ---------------------------------------------------------------- IDX --- */

static void test_idx_roundtrip(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("idx");
    enum { N = 5, H = 3, W = 4 };
    uint8_t px[N * H * W], lab[N] = { 3, 0, 9, 1, 7 };
    for (int i = 0; i < N * H * W; i++)
        px[i] = (uint8_t)(i * 37 % 256);
    uint32_t di[3] = { N, H, W }, dl[1] = { N };
    write_idx(tpath(dir, "img.gz"), 3, di, px, sizeof px, 1);
    write_idx(tpath(dir, "lab"), 1, dl, lab, sizeof lab, 0); /* raw, not gzip */

    struct zp_dataset_spec s = spec_default(ZP_DATA_IDX, tpath(dir, "img.gz"), tpath(dir, "lab"));
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
    write_idx(tpath(dir, "short.gz"), 3, di, px, 14, 1);
    write_idx(tpath(dir, "lab"), 1, dl, lab, sizeof lab, 0);
    write_idx(tpath(dir, "lab4"), 1, dl4, lab, 4, 0);
    write_idx(tpath(dir, "img"), 3, di, px, sizeof px, 0);
    write_bytes(tpath(dir, "magic"), "\x00\x01\x08\x03", 4, 0);

    struct zp_dataset ds;
    struct zp_err err = { 0 };
    struct zp_dataset_spec s = spec_default(ZP_DATA_IDX, tpath(dir, "short.gz"), tpath(dir, "lab"));
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    assert_err_mentions(&err, "short.gz");
    assert_err_mentions(&err, "record 3 of 5");
    assert_null(ds.x);

    zp_err_clear(&err);
    s.images = tpath(dir, "img");
    s.labels = tpath(dir, "lab4");
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    assert_err_mentions(&err, "lab4");

    zp_err_clear(&err);
    s.images = tpath(dir, "magic");
    s.labels = tpath(dir, "lab");
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    assert_err_mentions(&err, "magic");

    zp_err_clear(&err);
    s.images = tpath(dir, "missing.gz");
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EIO);
    assert_err_mentions(&err, "missing.gz");

    /* A gzip stream cut in the middle is a truncated file, not a short read. */
    uint8_t big[4096];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7919 % 251);
    uint32_t db[3] = { 4, 32, 32 };
    write_idx(tpath(dir, "big.gz"), 3, db, big, sizeof big, 1);
    size_t glen = 0;
    char *g = zp_test_read_file(tpath(dir, "big.gz"), &glen);
    write_bytes(tpath(dir, "cut.gz"), g, glen / 2, 0);
    free(g);
    zp_err_clear(&err);
    s.images = tpath(dir, "cut.gz");
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    assert_err_mentions(&err, "cut.gz");

    /* Bytes after the gzip stream that are not another member: refused. */
    g = zp_test_read_file(tpath(dir, "big.gz"), &glen);
    char *gt = malloc(glen + 3);
    memcpy(gt, g, glen);
    memcpy(gt + glen, "xyz", 3);
    write_bytes(tpath(dir, "trail.gz"), gt, glen + 3, 0);
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
        gzFile gf = gzopen(tpath(dir, "two.gz"), part ? "ab" : "wb");
        assert_non_null(gf);
        size_t at = part ? 16 + sizeof big / 2 : 0, n = part ? sizeof big / 2 : 16 + sizeof big / 2;
        assert_int_equal(gzwrite(gf, whole + at, (unsigned)n), (int)n);
        gzclose(gf);
    }
    uint8_t lab4v[4] = { 1, 2, 3, 4 };
    uint32_t dl4b[1] = { 4 };
    write_idx(tpath(dir, "lab4b"), 1, dl4b, lab4v, 4, 0);
    zp_err_clear(&err);
    s.images = tpath(dir, "two.gz");
    s.labels = tpath(dir, "lab4b");
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_OK);
    assert_int_equal(ds.n, 4);
    assert_float_equal(ds.x[3 * 1024 + 1023], (float)big[3 * 1024 + 1023], 0);
    zp_dataset_free(&ds);
    s.labels = tpath(dir, "lab");
    zp_err_clear(&err);
    s.images = tpath(dir, "trail.gz");
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    assert_err_mentions(&err, "trail.gz: 3 bytes of trailing data after the gzip stream");

    /* Issue 17 item 3: non-regular files are refused by name (a directory gave
     * "read error", /dev/zero was read until memory ran out). */
    zp_err_clear(&err);
    s.images = "/dev/zero";
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EIO);
    assert_err_mentions(&err, "/dev/zero: not a regular file (a character device)");
    zp_err_clear(&err);
    s.images = tpath(dir, "img");
    s.labels = dir;
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EIO);
    assert_err_mentions(&err, "not a regular file (a directory)");
    zp_err_clear(&err);
    s.labels = tpath(dir, "nolabels");
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EIO);
    assert_err_mentions(&err, "nolabels: cannot open: No such file or directory");
    s.labels = tpath(dir, "lab");

    /* Spec errors are config errors. */
    zp_err_clear(&err);
    s.images = tpath(dir, "img");
    s.channels = 2;
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_ECONFIG);
    assert_err_mentions(&err, "channels");
}

static void test_fashion_mnist(void **state)
{
    (void)state;
    const char *img = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    const char *lab = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
    struct stat st;
    if (stat(img, &st) != 0 || stat(lab, &st) != 0)
        skip();
    struct zp_dataset_spec s = spec_default(ZP_DATA_IDX, img, lab);
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

static void test_png_decode(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("png");
    const uint8_t rgb[2 * 3 * 3] = { 255, 0, 0, 0, 255, 0, 0, 0, 255,
                                     10, 20, 30, 200, 100, 50, 0, 0, 0 };
    write_png(tpath(dir, "rgb.png"), 3, 2, 3, rgb);
    struct zp_image im;
    struct zp_err err = { 0 };
    assert_int_equal(zp_image_decode_file(tpath(dir, "rgb.png"), 3, &im, &err), ZP_OK);
    assert_int_equal(im.w, 3);
    assert_int_equal(im.h, 2);
    assert_int_equal(im.c, 3);
    assert_memory_equal(im.px, rgb, sizeof rgb);
    zp_image_free(&im);

    /* RGB -> grey: ITU-R 601-2 luma 0.299 R + 0.587 G + 0.114 B, rounded. */
    assert_int_equal(zp_image_decode_file(tpath(dir, "rgb.png"), 1, &im, &err), ZP_OK);
    assert_int_equal(im.c, 1);
    for (int i = 0; i < 6; i++) {
        double l = 0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2];
        assert_int_equal(im.px[i], (int)floor(l + 0.5));
    }
    zp_image_free(&im);

    /* grey -> RGB replicates; RGBA drops alpha. */
    const uint8_t grey[4] = { 0, 64, 128, 255 };
    write_png(tpath(dir, "grey.png"), 2, 2, 1, grey);
    assert_int_equal(zp_image_decode_file(tpath(dir, "grey.png"), 3, &im, &err), ZP_OK);
    for (int i = 0; i < 4; i++)
        for (int ch = 0; ch < 3; ch++)
            assert_int_equal(im.px[3 * i + ch], grey[i]);
    zp_image_free(&im);
    const uint8_t rgba[4] = { 1, 2, 3, 0 };
    write_png(tpath(dir, "rgba.png"), 1, 1, 4, rgba);
    assert_int_equal(zp_image_decode_file(tpath(dir, "rgba.png"), 3, &im, &err), ZP_OK);
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
    write_jpeg(tpath(dir, "a.jpg"), W, H, 3, px, 100);
    struct zp_image im;
    struct zp_err err = { 0 };
    assert_int_equal(zp_image_decode_file(tpath(dir, "a.jpg"), 3, &im, &err), ZP_OK);
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
    write_jpeg(tpath(dir, "g.jpg"), W, H, 1, g, 95);
    assert_int_equal(zp_image_decode_file(tpath(dir, "g.jpg"), 3, &im, &err), ZP_OK);
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
    write_jpeg(tpath(dir, "full.jpg"), 32, 32, 3, px, 90);
    write_png(tpath(dir, "full.png"), 32, 32, 3, px);
    size_t jl = 0, pl = 0;
    char *j = zp_test_read_file(tpath(dir, "full.jpg"), &jl);
    char *p = zp_test_read_file(tpath(dir, "full.png"), &pl);
    write_bytes(tpath(dir, "cut.jpg"), j, jl / 2, 0);
    write_bytes(tpath(dir, "cut.png"), p, pl / 2, 0);
    /* Valid signatures followed by garbage (past the JPEG APP0 segment). */
    memset(j + 20, 0x41, 64);
    write_bytes(tpath(dir, "junk.jpg"), j, jl, 0);
    memset(p + 8, 0x41, 64);
    write_bytes(tpath(dir, "junk.png"), p, pl, 0);
    write_bytes(tpath(dir, "text.jpg"), "hello", 5, 0);
    /* The intact JPEG with its frame header claiming 20000x10000 pixels: more
     * than Pillow's decompression-bomb limit, refused before decoding. */
    char *j2 = zp_test_read_file(tpath(dir, "full.jpg"), NULL);
    for (size_t i = 0; i + 8 < jl; i++)
        if ((uint8_t)j2[i] == 0xFF && (uint8_t)j2[i + 1] == 0xC0) { /* SOF0 */
            j2[i + 5] = (char)(10000 >> 8);
            j2[i + 6] = (char)(10000 & 255);
            j2[i + 7] = (char)(20000 >> 8);
            j2[i + 8] = (char)(20000 & 255);
            break;
        }
    write_bytes(tpath(dir, "bomb.jpg"), j2, jl, 0);
    free(j2);
    free(j);
    free(p);

    const char *bad[] = { "cut.jpg", "cut.png", "junk.jpg", "junk.png", "text.jpg", "nonexistent.png",
                          "bomb.jpg" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct zp_image im;
        struct zp_err err = { 0 };
        enum zp_status st = zp_image_decode_file(tpath(dir, bad[i]), 3, &im, &err);
        assert_int_not_equal(st, ZP_OK);
        assert_null(im.px);
        assert_err_mentions(&err, bad[i]);
        if (strcmp(bad[i], "bomb.jpg") == 0)
            assert_err_mentions(&err, "20000x10000");
    }
}

/* ------------------------------------------------------------- resize --- */

/* Pillow's BILINEAR resize evaluated straight from its definition in double:
 * output sample i has centre (i + 0.5) * scale; input sample j (centre j + 0.5)
 * gets weight max(0, 1 - |j + 0.5 - centre| / fs), fs = max(scale, 1), over the
 * inputs inside the support, normalized; each pass is rounded to uint8. The
 * code under test uses 22-bit fixed-point weights, so a sum within 0.002 of a
 * rounding boundary may land either side: those are counted, not failed. */
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
    struct zp_dataset_spec s = spec_default(ZP_DATA_IMAGES, "x", "y");
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
    assert_err_mentions(&err, "strip");
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

static void write_npy(const char *path, int major, const char *dict, const void *data, size_t n)
{
    size_t dl = strlen(dict), pre = major == 1 ? 10 : 12;
    size_t hl = (pre + dl + 1 + 63) / 64 * 64 - pre; /* pad with spaces, end with \n */
    uint8_t *b = calloc(1, pre + hl + n);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (uint8_t)major;
    b[7] = 0;
    b[8] = (uint8_t)hl;
    b[9] = (uint8_t)(hl >> 8);
    memset(b + pre, ' ', hl);
    memcpy(b + pre, dict, dl);
    b[pre + hl - 1] = '\n';
    memcpy(b + pre + hl, data, n);
    write_bytes(path, b, pre + hl + n, 0);
    free(b);
}

static void test_npy(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("npy");
    float x[2 * 3 * 2 * 2];
    for (int i = 0; i < 24; i++)
        x[i] = (float)i * 0.5f - 3.0f;
    int64_t l8[2] = { 4, 1 };
    write_npy(tpath(dir, "x.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 2, 2), }", x,
              sizeof x);
    write_npy(tpath(dir, "y.npy"), 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", l8,
              sizeof l8);
    struct zp_dataset_spec s = spec_default(ZP_DATA_NPY, tpath(dir, "x.npy"), tpath(dir, "y.npy"));
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
    write_npy(tpath(dir, "xd.npy"), 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", xd,
              sizeof xd);
    write_npy(tpath(dir, "y4.npy"), 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", l4,
              sizeof l4);
    s = spec_default(ZP_DATA_NPY, tpath(dir, "xd.npy"), tpath(dir, "y4.npy"));
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
    write_npy(tpath(dir, "xu.npy"), 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 2, 2), }", xu,
              sizeof xu);
    write_npy(tpath(dir, "y1.npy"), 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", l8, 8);
    s = spec_default(ZP_DATA_NPY, tpath(dir, "xu.npy"), tpath(dir, "y1.npy"));
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
    write_npy(tpath(dir, "y.npy"), 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", l, sizeof l);
    write_npy(tpath(dir, "neg.npy"), 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", neg,
              sizeof neg);
    write_npy(tpath(dir, "ok.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", x, sizeof x);
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
        write_npy(tpath(dir, bad[i].file), 1, bad[i].dict, x, bad[i].bytes);
        struct zp_dataset_spec s = spec_default(ZP_DATA_NPY, tpath(dir, bad[i].file), tpath(dir, "y.npy"));
        struct zp_err err = { 0 };
        assert_int_not_equal(zp_dataset_load(&s, &ds, &err), ZP_OK);
        assert_err_mentions(&err, bad[i].file);
        assert_err_mentions(&err, bad[i].needle);
    }
    write_bytes(tpath(dir, "magic.npy"), "\x93NUMPX\x01\x00\x00\x00", 10, 0);
    struct zp_dataset_spec s = spec_default(ZP_DATA_NPY, tpath(dir, "magic.npy"), tpath(dir, "y.npy"));
    struct zp_err err = { 0 };
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    assert_err_mentions(&err, "magic.npy");
    /* Negative label. */
    s.images = tpath(dir, "ok.npy");
    s.labels = tpath(dir, "neg.npy");
    zp_err_clear(&err);
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    assert_err_mentions(&err, "neg.npy");
    assert_err_mentions(&err, "label 1");
}

/* ------------------------------------------------------- image folders --- */

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
    write_png(tpath(dir, "a.png"), 6, 5, 3, a);
    write_png(tpath(dir, "b b.png"), 7, 9, 1, b);
    write_png(tpath(dir, "c.png"), 10, 3, 3, c);
    zp_test_write_file(tpath(dir, "labels.csv"),
                       "file,class_index,wnid,class_name\r\n"
                       "a.png,2,n1,\"red, sort of\"\r\n"
                       "\"b b.png\",0,n2,grey\r\n"
                       "c.png,7,n3,\"cyan \"\"ish\"\"\"\r\n");
    struct zp_dataset_spec s = spec_default(ZP_DATA_IMAGES, dir, tpath(dir, "labels.csv"));
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
    zp_test_write_file(tpath(dir, "missing.csv"), "file,class_index\na.png,1\nnothere.png,2\n");
    s.labels = tpath(dir, "missing.csv");
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EIO);
    assert_err_mentions(&err, "nothere.png");
    assert_null(ds.x);

    write_bytes(tpath(dir, "bad.png"), "\x89PNG\r\n\x1a\nxxxxxxxxxxxxxxxxxxxx", 28, 0);
    zp_test_write_file(tpath(dir, "corrupt.csv"), "file,class_index\nbad.png,1\n");
    s.labels = tpath(dir, "corrupt.csv");
    zp_err_clear(&err);
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    assert_err_mentions(&err, "bad.png");

    /* Blank lines count: the bad row is line 3 of the file. */
    zp_test_write_file(tpath(dir, "label.csv"), "file,class_index\n\na.png,-3\n");
    s.labels = tpath(dir, "label.csv");
    zp_err_clear(&err);
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    assert_err_mentions(&err, "label.csv");
    assert_err_mentions(&err, "line 3");

    zp_test_write_file(tpath(dir, "header.csv"), "name,label\na.png,1\n");
    s.labels = tpath(dir, "header.csv");
    zp_err_clear(&err);
    assert_int_equal(zp_dataset_load(&s, &ds, &err), ZP_EFORMAT);
    assert_err_mentions(&err, "header.csv");
    assert_err_mentions(&err, "class_index");
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
    struct zp_dataset_spec s = spec_default(ZP_DATA_IMAGES, dir, csv);
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
    write_idx(tpath(dir, "img.gz"), 3, di, px, sizeof px, 1);
    write_idx(tpath(dir, "lab"), 1, dl, lab, sizeof lab, 0);
    const int64_t sel[] = { 7, 0, 7, 3, 8 }; /* out of order, a repeat, the last */
    struct zp_dataset_spec s = spec_default(ZP_DATA_IDX, tpath(dir, "img.gz"), tpath(dir, "lab"));
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
    assert_err_mentions(&err, "selected example 4 is index 8, the file has 8 examples");
    assert_null(ds.x);

    /* Image folder: only the selected files are opened (a missing file that is
     * not selected does no harm). */
    uint8_t a[4 * 3 * 3], b[5 * 4 * 3];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = (uint8_t)(i * 11);
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (uint8_t)(250 - i * 3);
    write_png(tpath(dir, "a.png"), 4, 3, 3, a);
    write_png(tpath(dir, "b.png"), 5, 4, 3, b);
    zp_test_write_file(tpath(dir, "labels.csv"), "file,class_index\na.png,1\nb.png,4\na.png,2\n");
    s = spec_default(ZP_DATA_IMAGES, dir, tpath(dir, "labels.csv"));
    s.channels = 3;
    s.size = 3;
    s.resize = 3;
    s.resize_mode = ZP_RESIZE_CROP;
    for (int ch = 0; ch < 3; ch++)
        s.mean[ch] = s.std[ch] = 127.5f;
    const int64_t sel2[] = { 2, 1 };
    expect_subset_matches(s, sel2, 2);
    zp_test_write_file(tpath(dir, "gone.csv"), "file,class_index\na.png,1\nnot_here.png,4\nb.png,2\n");
    s.labels = tpath(dir, "gone.csv");
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
    assert_err_mentions(&err, "gone.csv: row 2: ");
    assert_err_mentions(&err, "not_here.png: cannot open: No such file or directory");
    zp_err_clear(&err);
    s.labels = tpath(dir, "labels.csv");
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
    write_npy(tpath(dir, "xu.npy"), 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4, 1, 2, 2), }",
              xu, sizeof xu);
    write_npy(tpath(dir, "y.npy"), 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", l8,
              sizeof l8);
    s = spec_default(ZP_DATA_NPY, tpath(dir, "xu.npy"), tpath(dir, "y.npy"));
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
    struct zp_dataset_spec s = spec_default(ZP_DATA_IDX, "x", "y");
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
    struct zp_dataset_spec s2 = spec_default(ZP_DATA_IDX, "x", "y");
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
    assert_err_mentions(&err, "scale");
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
    struct zp_dataset_spec s = spec_default(ZP_DATA_IDX, "x", "y");
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
    struct zp_dataset_spec t = spec_default(ZP_DATA_IDX, "x", "y");
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
    struct zp_dataset_spec u = spec_default(ZP_DATA_IDX, "x", "y");
    assert_int_equal(zp_dataset_exact_codes(&u, 0, 0.0f, 255.0f, 255, 0, 0, 255, codes, &err), ZP_OK);
    for (int p = 0; p < 256; p++)
        assert_int_equal(codes[p], p);
    assert_int_equal(zp_dataset_exact_codes(&u, 0, -4.0f, 4.0f, 8, 0, -4, 4, codes, &err), ZP_OK);
    assert_int_equal(codes[0], 0);
    assert_int_equal(codes[3], 3);
    assert_int_equal(codes[200], 4);
    /* A non-tie that float gets right too: mean 72.94, std 90 (Fashion-MNIST),
     * s = 0.01: the exact code is the nearest integer of the real quotient. */
    struct zp_dataset_spec f = spec_default(ZP_DATA_IDX, "x", "y");
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
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_idx_roundtrip),    cmocka_unit_test(test_idx_errors),
        cmocka_unit_test(test_fashion_mnist),    cmocka_unit_test(test_png_decode),
        cmocka_unit_test(test_jpeg_decode),      cmocka_unit_test(test_corrupt_images),
        cmocka_unit_test(test_resize_hand),      cmocka_unit_test(test_resize_reference),
        cmocka_unit_test(test_crop_geometry),    cmocka_unit_test(test_preprocess_crop),
        cmocka_unit_test(test_resize_vs_pillow), cmocka_unit_test(test_npy),
        cmocka_unit_test(test_npy_errors),       cmocka_unit_test(test_image_folder),
        cmocka_unit_test(test_imagenet_1k),      cmocka_unit_test(test_subset_idx_images_npy),
        cmocka_unit_test(test_scale_torchvision), cmocka_unit_test(test_exact_input_codes),
    };
    return ZP_RUN_TESTS(t);
}
