/* The input files the dataset tests write (tests/data_files.h). */
#include "tests/data_files.h"
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

char *zp_td_tpath(const char *dir, const char *name)
{
    static char buf[8][4096];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

void zp_td_write_bytes(const char *path, const void *data, size_t n, int gz)
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
void zp_td_write_idx(const char *path, int ndim, const uint32_t *dims, const uint8_t *data, size_t payload,
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
    zp_td_write_bytes(path, b, 4 + 4 * (size_t)ndim + payload, gz);
    free(b);
}

void zp_td_write_png(const char *path, int w, int h, int c, const uint8_t *px)
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

void zp_td_write_jpeg(const char *path, int w, int h, int c, const uint8_t *px, int quality)
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

void zp_td_assert_err_mentions(const struct zp_err *err, const char *needle)
{
    if (!strstr(err->msg, needle)) {
        fprintf(stderr, "error message '%s' does not mention '%s'\n", err->msg, needle);
        fail();
    }
}

struct zp_dataset_spec zp_td_spec_default(enum zp_dataset_format fmt, const char *images, const char *labels)
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

void zp_td_write_npy(const char *path, int major, const char *dict, const void *data, size_t n)
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
    zp_td_write_bytes(path, b, pre + hl + n, 0);
    free(b);
}
