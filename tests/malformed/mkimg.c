/* Writes a small valid image for the malformed-input catalogue and the fuzz
 * seeds: mkimg FORMAT W H C OUT, FORMAT one of png, png16 (16-bit), pngpal
 * (palette), jpeg, jpegprog (progressive), jpeggrey. The pixels are a fixed
 * gradient, so the files are reproducible byte for byte. Built and run by
 * tests/malformed/make_cases.sh; not part of the library. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

static int write_png(const char *out, int w, int h, int c, int depth, int palette)
{
    FILE *f = fopen(out, "wb");
    if (!f)
        return 1;
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(p);
    if (setjmp(png_jmpbuf(p))) {
        fclose(f);
        return 1;
    }
    png_init_io(p, f);
    int type = palette ? PNG_COLOR_TYPE_PALETTE : c == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY;
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, depth, type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette) {
        png_color pal[4] = { { 0, 0, 0 }, { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 } };
        png_set_PLTE(p, info, pal, 4);
    }
    png_write_info(p, info);
    int bpp = palette ? 1 : c * depth / 8;
    unsigned char *row = malloc((size_t)w * bpp);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w * bpp; x++)
            row[x] = palette ? (unsigned char)((x + y) % 4) : (unsigned char)(x * 7 + y * 13);
        png_write_row(p, row);
    }
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    free(row);
    return fclose(f) != 0;
}

static int write_jpeg(const char *out, int w, int h, int c, int progressive)
{
    FILE *f = fopen(out, "wb");
    if (!f)
        return 1;
    struct jpeg_compress_struct j;
    struct jpeg_error_mgr e;
    j.err = jpeg_std_error(&e);
    jpeg_create_compress(&j);
    jpeg_stdio_dest(&j, f);
    j.image_width = (JDIMENSION)w;
    j.image_height = (JDIMENSION)h;
    j.input_components = c;
    j.in_color_space = c == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&j);
    jpeg_set_quality(&j, 80, TRUE);
    if (progressive)
        jpeg_simple_progression(&j);
    jpeg_start_compress(&j, TRUE);
    unsigned char *row = malloc((size_t)w * c);
    while (j.next_scanline < j.image_height) {
        for (int x = 0; x < w * c; x++)
            row[x] = (unsigned char)(x * 5 + (int)j.next_scanline * 11);
        JSAMPROW r = row;
        jpeg_write_scanlines(&j, &r, 1);
    }
    jpeg_finish_compress(&j);
    jpeg_destroy_compress(&j);
    free(row);
    return fclose(f) != 0;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: mkimg png|png16|pngpal|jpeg|jpegprog|jpeggrey W H C OUT\n");
        return 2;
    }
    const char *fmt = argv[1], *out = argv[5];
    int w = atoi(argv[2]), h = atoi(argv[3]), c = atoi(argv[4]);
    if (strcmp(fmt, "png") == 0)
        return write_png(out, w, h, c, 8, 0);
    if (strcmp(fmt, "png16") == 0)
        return write_png(out, w, h, c, 16, 0);
    if (strcmp(fmt, "pngpal") == 0)
        return write_png(out, w, h, 1, 8, 1);
    if (strcmp(fmt, "jpeg") == 0)
        return write_jpeg(out, w, h, c, 0);
    if (strcmp(fmt, "jpegprog") == 0)
        return write_jpeg(out, w, h, c, 1);
    if (strcmp(fmt, "jpeggrey") == 0)
        return write_jpeg(out, w, h, 1, 0);
    fprintf(stderr, "mkimg: unknown format %s\n", fmt);
    return 2;
}
