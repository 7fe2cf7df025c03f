/* libFuzzer target: the image decoders (data/decode.c: JPEG through libjpeg,
 * PNG through libpng, recognised by content) and what follows them in a
 * dataset load: the Pillow-compatible resize, the centre crop and the
 * normalisation (data/resize.c). The first input byte picks the channels,
 * resize mode, crop recipe, sizes and scale, so every path is reached; the
 * rest is the file. A decode that succeeds must give dimensions within the
 * documented limits, every pixel is read, and every output value is finite. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t pick = data[0];
    data++;
    size--;
    int channels = pick & 1 ? 3 : 1;
    struct zp_image img;
    struct zp_err err = { 0 };
    if (zp_image_decode_mem(data, size, "fuzz.img", channels, &img, &err) != ZP_OK) {
        ZP_ASSERT(err.status != ZP_OK && err.msg[0] != '\0');
        ZP_ASSERT(img.px == NULL);
        return 0;
    }
    ZP_ASSERT(img.w > 0 && img.h > 0 && img.c == channels && img.px);
    unsigned sum = 0;
    for (size_t i = 0; i < (size_t)img.w * img.h * img.c; i++)
        sum += img.px[i];
    /* Keep the resize affordable: large decoded images only go through NONE. */
    int64_t pixels = (int64_t)img.w * img.h;
    struct zp_dataset_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.format = ZP_DATA_IMAGES;
    spec.channels = channels;
    spec.resize_mode = pixels > 1 << 20 ? ZP_RESIZE_NONE : (enum zp_resize_mode)((pick >> 1) % 3);
    spec.crop_recipe = (enum zp_crop_recipe)((pick >> 3) & 1);
    int out = 1 + (pick >> 4); /* 1..16 */
    spec.size = out;
    spec.resize = spec.resize_mode == ZP_RESIZE_CROP ? out + (pick & 2 ? 3 : 0) : 0;
    spec.scale = pick & 4 ? 1.0 / 255.0 : 0.0;
    for (int ch = 0; ch < 3; ch++) {
        spec.mean[ch] = pick & 4 ? 0.5f : 127.5f;
        spec.std[ch] = pick & 4 ? 0.25f : 127.5f;
    }
    int oh = out, ow = out;
    if (spec.resize_mode == ZP_RESIZE_NONE) {
        oh = img.h;
        ow = img.w;
    }
    size_t n = (size_t)channels * oh * ow;
    float *x = malloc(n * sizeof *x);
    uint8_t *src = malloc(n);
    ZP_ASSERT(x && src);
    if (zp_image_preprocess_src(&img, &spec, oh, ow, x, src, "fuzz.img", &err) == ZP_OK) {
        size_t plane = (size_t)oh * ow;
        for (size_t i = 0; i < n; i++) {
            ZP_ASSERT(isfinite(x[i]));
            float want = zp_dataset_normalize(&spec, (int)(i / plane), src[i]);
            ZP_ASSERT(memcmp(&want, &x[i], sizeof want) == 0);
        }
    } else {
        ZP_ASSERT(err.msg[0] != '\0');
    }
    free(x);
    free(src);
    zp_image_free(&img);
    return (int)(sum & 0);
}
