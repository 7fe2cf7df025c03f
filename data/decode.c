/* JPEG (libjpeg-turbo) and PNG (libpng) decoding to 8-bit grey or RGB, the way
 * PIL.Image.open(f).convert("RGB" | "L") sees the file. Both libraries report
 * fatal errors by longjmp: each setjmp lives in a small function whose locals
 * do not change after it, and every buffer is owned by the caller, so a corrupt
 * file unwinds into a clean error naming the file. */
#include "data/dataset.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "common/file.h"
#include "common/mem.h"

/* Larger images are rejected, as Pillow's DecompressionBombError does (twice
 * its MAX_IMAGE_PIXELS): a 158-byte progressive JPEG can declare 195 Mpixels. */
/* Image files above 1 GiB are refused before reading: no JPEG or PNG within
 * the pixel limit below needs that much. */
#define ZP_IMAGE_MAX_FILE ((size_t)1 << 30)

#define ZP_IMAGE_MAX_PIXELS ((int64_t)2 * (1024 * 1024 * 1024 / 4 / 3))

static enum zp_status check_dims(const char *name, int64_t w, int64_t h, struct zp_err *err)
{
    if (w <= 0 || h <= 0 || w > 65535 || h > 65535 || w * h > ZP_IMAGE_MAX_PIXELS)
        return zp_err_set(err, ZP_EFORMAT, "%s: image size %lldx%lld: expected 1..65535 per side and at "
                          "most %lld pixels (a decompression bomb?)", name, (long long)w, (long long)h,
                          (long long)ZP_IMAGE_MAX_PIXELS);
    return ZP_OK;
}

/* Pillow's convert("L") from RGB. */
static void rgb_to_grey(const uint8_t *rgb, uint8_t *grey, size_t n)
{
    for (size_t i = 0; i < n; i++, rgb += 3)
        grey[i] = (uint8_t)((rgb[0] * 19595 + rgb[1] * 38470 + rgb[2] * 7471 + 0x8000) >> 16);
}

/* ---------------------------------------------------------------- JPEG --- */

struct jpeg_fail {
    struct jpeg_error_mgr mgr;
    jmp_buf jmp;
    int truncated;       /* libjpeg hit the end of data and padded with grey */
    char msg[JMSG_LENGTH_MAX];
};

static void jpeg_fail_exit(j_common_ptr cinfo)
{
    struct jpeg_fail *f = (struct jpeg_fail *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, f->msg);
    longjmp(f->jmp, 1);
}

static void jpeg_fail_emit(j_common_ptr cinfo, int level)
{
    struct jpeg_fail *f = (struct jpeg_fail *)cinfo->err;
    /* Pillow fails on a truncated JPEG ("image file is truncated") but lets
     * other warnings (extraneous bytes, ...) pass: do the same. */
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
        f->truncated = 1;
}

static void jpeg_fail_output(j_common_ptr cinfo)
{
    (void)cinfo;
}

/* Reads the header; returns 0 or -1 with f->msg set. */
static int jpeg_head(struct jpeg_decompress_struct *ci, struct jpeg_fail *f, const uint8_t *buf,
                     size_t len)
{
    if (setjmp(f->jmp))
        return -1;
    jpeg_create_decompress(ci);
    jpeg_mem_src(ci, buf, (unsigned long)len);
    jpeg_read_header(ci, TRUE);
    /* Pillow's defaults: islow DCT, fancy upsampling; CMYK comes out as CMYK. */
    ci->dct_method = JDCT_ISLOW;
    ci->do_fancy_upsampling = TRUE;
    if (ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK)
        ci->out_color_space = JCS_CMYK;
    else if (ci->jpeg_color_space == JCS_GRAYSCALE)
        ci->out_color_space = JCS_GRAYSCALE;
    else
        ci->out_color_space = JCS_RGB;
    jpeg_calc_output_dimensions(ci);
    return 0;
}

static int jpeg_body(struct jpeg_decompress_struct *ci, struct jpeg_fail *f, uint8_t *px)
{
    if (setjmp(f->jmp))
        return -1;
    jpeg_start_decompress(ci);
    size_t stride = (size_t)ci->output_width * ci->output_components;
    while (ci->output_scanline < ci->output_height) {
        JSAMPROW row = px + (size_t)ci->output_scanline * stride;
        jpeg_read_scanlines(ci, &row, 1);
    }
    jpeg_finish_decompress(ci);
    return 0;
}

static enum zp_status decode_jpeg(const uint8_t *buf, size_t len, const char *name, int channels,
                                  struct zp_image *img, struct zp_err *err)
{
    struct jpeg_decompress_struct ci;
    struct jpeg_fail f;
    memset(&ci, 0, sizeof ci);
    memset(&f, 0, sizeof f);
    ci.err = jpeg_std_error(&f.mgr);
    f.mgr.error_exit = jpeg_fail_exit;
    f.mgr.emit_message = jpeg_fail_emit;
    f.mgr.output_message = jpeg_fail_output;
    uint8_t *raw = NULL;
    enum zp_status st = ZP_OK;
    if (jpeg_head(&ci, &f, buf, len) != 0) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: corrupt JPEG: %s", name, f.msg);
        goto out_destroy;
    }
    st = check_dims(name, ci.output_width, ci.output_height, err);
    if (st != ZP_OK)
        goto out_destroy;
    int comps = ci.output_components;
    size_t npx = (size_t)ci.output_width * ci.output_height;
    raw = zp_alloc(npx * (size_t)comps);
    if (!raw) {
        st = zp_err_set(err, ZP_ENOMEM, "%s: out of memory for a %ux%u image", name, ci.output_width,
                        ci.output_height);
        goto out_destroy;
    }
    if (jpeg_body(&ci, &f, raw) != 0) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: corrupt JPEG: %s", name, f.msg);
        goto out_destroy;
    }
    if (f.truncated) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: truncated JPEG: the data ends before the last scanline",
                        name);
        goto out_destroy;
    }
    if (comps == 4) {
        /* Adobe CMYK JPEGs store inverted ink; Pillow reads them as "CMYK;I"
         * and converts with r = (255 - c') * (255 - k') / 255 on the true ink,
         * i.e. r = raw_c * raw_k / 255 on the inverted samples. */
        int inv = ci.saw_Adobe_marker;
        for (size_t i = 0; i < npx; i++) {
            uint8_t *p = raw + i * 4;
            int k = inv ? p[3] : 255 - p[3];
            for (int ch = 0; ch < 3; ch++) {
                int v = inv ? p[ch] : 255 - p[ch];
                int t = v * k + 128;
                raw[i * 3 + ch] = (uint8_t)((t + (t >> 8)) >> 8);
            }
        }
        comps = 3;
    }
    img->w = (int)ci.output_width;
    img->h = (int)ci.output_height;
    if (comps == channels) {
        img->px = raw;
        raw = NULL;
    } else {
        img->px = zp_alloc(npx * (size_t)channels);
        if (!img->px) {
            st = zp_err_set(err, ZP_ENOMEM, "%s: out of memory", name);
            goto out_destroy;
        }
        if (channels == 3)
            for (size_t i = 0; i < npx; i++)
                img->px[3 * i] = img->px[3 * i + 1] = img->px[3 * i + 2] = raw[i];
        else
            rgb_to_grey(raw, img->px, npx);
    }
    img->c = channels;
out_destroy:
    jpeg_destroy_decompress(&ci);
    zp_free(raw);
    return st;
}

/* ----------------------------------------------------------------- PNG --- */

struct png_src {
    const uint8_t *buf;
    size_t len, pos;
    char msg[256];
};

static void png_read_mem(png_structp png, png_bytep out, size_t n)
{
    struct png_src *s = png_get_io_ptr(png);
    if (s->len - s->pos < n)
        png_error(png, "unexpected end of file (truncated PNG)");
    memcpy(out, s->buf + s->pos, n);
    s->pos += n;
}

static void png_fail(png_structp png, png_const_charp msg)
{
    struct png_src *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Reads the header and sets the transforms to 8-bit grey or RGB, no alpha. */
static int png_head(png_structp png, png_infop info, uint32_t *w, uint32_t *h, int *comps)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_read_info(png, info);
    int depth = png_get_bit_depth(png, info);
    int type = png_get_color_type(png, info);
    if (type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16)
        png_set_strip_16(png); /* Pillow keeps the high byte */
    /* convert("RGB") drops alpha (also a palette's tRNS) rather than
     * compositing it. */
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    *w = png_get_image_width(png, info);
    *h = png_get_image_height(png, info);
    *comps = png_get_channels(png, info);
    return 0;
}

static int png_body(png_structp png, png_bytep *rows)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    return 0;
}

static enum zp_status decode_png(const uint8_t *buf, size_t len, const char *name, int channels,
                                 struct zp_image *img, struct zp_err *err)
{
    struct png_src src = { .buf = buf, .len = len, .pos = 0, .msg = "" };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_fail, png_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    uint8_t *raw = NULL;
    png_bytep *rows = NULL;
    enum zp_status st = ZP_OK;
    if (!png || !info) {
        st = zp_err_set(err, ZP_ENOMEM, "%s: out of memory", name);
        goto out_destroy;
    }
    png_set_read_fn(png, &src, png_read_mem);
    /* Refuse huge images before libpng allocates anything for them. */
    png_set_user_limits(png, 65535, 65535);
    uint32_t w = 0, h = 0;
    int comps = 0;
    if (png_head(png, info, &w, &h, &comps) != 0) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: corrupt PNG: %s", name, src.msg);
        goto out_destroy;
    }
    st = check_dims(name, w, h, err);
    if (st != ZP_OK)
        goto out_destroy;
    if (comps != 1 && comps != 3) {
        st = zp_err_set(err, ZP_EUNSUPPORTED, "%s: PNG decodes to %d channels, expected 1 or 3", name, comps);
        goto out_destroy;
    }
    size_t npx = (size_t)w * h;
    raw = zp_alloc(npx * (size_t)comps);
    rows = malloc(sizeof *rows * h);
    if (!raw || !rows) {
        st = zp_err_set(err, ZP_ENOMEM, "%s: out of memory for a %ux%u image", name, w, h);
        goto out_destroy;
    }
    for (uint32_t y = 0; y < h; y++)
        rows[y] = raw + (size_t)y * w * comps;
    if (png_body(png, rows) != 0) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: corrupt PNG: %s", name, src.msg);
        goto out_destroy;
    }
    img->w = (int)w;
    img->h = (int)h;
    if (comps == channels) {
        img->px = raw;
        raw = NULL;
    } else {
        img->px = zp_alloc(npx * (size_t)channels);
        if (!img->px) {
            st = zp_err_set(err, ZP_ENOMEM, "%s: out of memory", name);
            goto out_destroy;
        }
        if (channels == 3)
            for (size_t i = 0; i < npx; i++)
                img->px[3 * i] = img->px[3 * i + 1] = img->px[3 * i + 2] = raw[i];
        else
            rgb_to_grey(raw, img->px, npx);
    }
    img->c = channels;
out_destroy:
    png_destroy_read_struct(png ? &png : NULL, info ? &info : NULL, NULL);
    free(rows);
    zp_free(raw);
    return st;
}

/* ----------------------------------------------------------------------- */

enum zp_status zp_image_decode_mem(const uint8_t *buf, size_t len, const char *name, int channels,
                                   struct zp_image *img, struct zp_err *err)
{
    memset(img, 0, sizeof *img);
    if (channels != 1 && channels != 3)
        return zp_err_set(err, ZP_EINVAL, "%s: channels: expected 1 or 3, got %d", name, channels);
    static const uint8_t png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    if (len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
        return decode_jpeg(buf, len, name, channels, img, err);
    if (len >= 8 && memcmp(buf, png_magic, 8) == 0)
        return decode_png(buf, len, name, channels, img, err);
    return zp_err_set(err, ZP_EUNSUPPORTED, "%s: not a JPEG or PNG file (%zu bytes, starts %02x %02x %02x)",
                      name, len, len > 0 ? buf[0] : 0, len > 1 ? buf[1] : 0, len > 2 ? buf[2] : 0);
}

enum zp_status zp_image_decode_file(const char *path, int channels, struct zp_image *img,
                                    struct zp_err *err)
{
    memset(img, 0, sizeof *img);
    char *buf = NULL;
    size_t n = 0;
    enum zp_status st = zp_file_read(path, ZP_IMAGE_MAX_FILE, "image file", &buf, &n, err);
    if (st != ZP_OK)
        return st;
    st = zp_image_decode_mem((const uint8_t *)buf, n, path, channels, img, err);
    free(buf);
    return st;
}
