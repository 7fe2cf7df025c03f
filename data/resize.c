/* Pillow's antialiased BILINEAR resize (libImaging/Resample.c semantics) and the
 * torchvision Resize + CenterCrop geometry, so that our inputs are the ones the
 * reference accuracy was measured on, pixel for pixel.
 *
 * Pillow convolves each axis with a triangle filter stretched by the reduction
 * factor (support = scale when scale > 1), normalizes the weights, converts them
 * to fixed point with 22 fractional bits, runs the horizontal pass first, and
 * rounds to uint8 after each pass ((acc + 2^21) >> 22, clamped). */
#include "data/dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

#define PRECISION_BITS (32 - 8 - 2)

/* GCC at -O2 vectorizes the row loops only when told to; clang vectorizes them
 * by itself and, under sanitizers, turns a refused "omp simd" into an error. */
#if defined(__GNUC__) && !defined(__clang__)
#define ZP_SIMD _Pragma("omp simd")
#else
#define ZP_SIMD
#endif

struct coeffs {
    int ksize;   /* taps per output sample */
    int *bounds; /* [2 * out]: first input index, number of taps */
    int32_t *k;  /* [out * ksize] fixed-point weights */
};

static double triangle(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Weights of output samples 0..out-1 over input samples 0..in-1. */
static int precompute(int in, int out, struct coeffs *c)
{
    double scale = (double)in / out;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    double *w = malloc(sizeof(double) * (size_t)ksize);
    c->ksize = ksize;
    c->bounds = malloc(sizeof(int) * 2 * (size_t)out);
    c->k = malloc(sizeof(int32_t) * (size_t)out * (size_t)ksize);
    if (!w || !c->bounds || !c->k) {
        free(w);
        return -1;
    }
    for (int xx = 0; xx < out; xx++) {
        double center = (xx + 0.5) * scale;
        double ww = 0.0, ss = 1.0 / filterscale;
        /* (int) truncates toward zero, as Pillow's cast does. */
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0)
            xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in)
            xmax = in;
        xmax -= xmin;
        int x;
        for (x = 0; x < xmax; x++) {
            w[x] = triangle((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        for (x = 0; x < xmax; x++)
            if (ww != 0.0)
                w[x] /= ww;
        int32_t *k = c->k + (size_t)xx * ksize;
        for (x = 0; x < xmax; x++)
            k[x] = w[x] < 0 ? (int32_t)(-0.5 + w[x] * (1 << PRECISION_BITS))
                            : (int32_t)(0.5 + w[x] * (1 << PRECISION_BITS));
        for (; x < ksize; x++)
            k[x] = 0;
        c->bounds[2 * xx] = xmin;
        c->bounds[2 * xx + 1] = xmax;
    }
    free(w);
    return 0;
}

static void coeffs_free(struct coeffs *c)
{
    free(c->bounds);
    free(c->k);
}

static inline uint8_t clip8(int32_t acc)
{
    int32_t v = acc >> PRECISION_BITS;
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

/* Rows [y0, y0 + rows) of in, horizontally resampled into out (rows x ow).
 * Integer sums are exact, so the loop order does not change the result. */
static void pass_h(const uint8_t *in, int iw, int c, int y0, int rows, const struct coeffs *k,
                   int ow, uint8_t *out)
{
    const int32_t half = 1 << (PRECISION_BITS - 1);
    for (int y = 0; y < rows; y++) {
        const uint8_t *src = in + (size_t)(y0 + y) * iw * c;
        uint8_t *dst = out + (size_t)y * ow * c;
        for (int x = 0; x < ow; x++) {
            int xmin = k->bounds[2 * x], n = k->bounds[2 * x + 1];
            const int32_t *w = k->k + (size_t)x * k->ksize;
            const uint8_t *p = src + (size_t)xmin * c;
            if (c == 3) { /* RGB: the three sums share one walk over the taps */
                int32_t a0 = half, a1 = half, a2 = half;
                for (int t = 0; t < n; t++, p += 3) {
                    a0 += p[0] * w[t];
                    a1 += p[1] * w[t];
                    a2 += p[2] * w[t];
                }
                dst[3 * x] = clip8(a0);
                dst[3 * x + 1] = clip8(a1);
                dst[3 * x + 2] = clip8(a2);
                continue;
            }
            for (int ch = 0; ch < c; ch++) {
                int32_t acc = half;
                for (int t = 0; t < n; t++)
                    acc += p[(size_t)t * c + ch] * w[t];
                dst[(size_t)x * c + ch] = clip8(acc);
            }
        }
    }
}

/* Vertical pass; the bounds are relative to row 0 of in. Whole rows are
 * accumulated at once (acc: one int32 per byte of a row) so memory is read
 * sequentially. */
static void pass_v(const uint8_t *in, int w, int c, const struct coeffs *k, int oh, uint8_t *out,
                   int32_t *restrict acc)
{
    size_t stride = (size_t)w * c;
    for (int y = 0; y < oh; y++) {
        int ymin = k->bounds[2 * y], n = k->bounds[2 * y + 1];
        const int32_t *wt = k->k + (size_t)y * k->ksize;
        for (size_t i = 0; i < stride; i++)
            acc[i] = 1 << (PRECISION_BITS - 1);
        for (int t = 0; t < n; t++) {
            const uint8_t *restrict row = in + (size_t)(ymin + t) * stride;
            int32_t wv = wt[t];
            ZP_SIMD
            for (size_t i = 0; i < stride; i++)
                acc[i] += row[i] * wv;
        }
        uint8_t *restrict o = out + (size_t)y * stride;
        ZP_SIMD
        for (size_t i = 0; i < stride; i++)
            o[i] = clip8(acc[i]);
    }
}

void zp_image_free(struct zp_image *img)
{
    if (!img)
        return;
    zp_free(img->px);
    img->px = NULL;
}

enum zp_status zp_image_resize(const struct zp_image *in, int out_w, int out_h, struct zp_image *out,
                               struct zp_err *err)
{
    memset(out, 0, sizeof *out);
    if (in->w <= 0 || in->h <= 0 || out_w <= 0 || out_h <= 0 || in->c < 1 || in->c > 4)
        return zp_err_set(err, ZP_EINVAL, "resize: %dx%dx%d -> %dx%d: sizes must be positive", in->w,
                          in->h, in->c, out_w, out_h);
    struct coeffs kh = { 0 }, kv = { 0 };
    uint8_t *tmp = NULL;
    enum zp_status st = ZP_OK;
    out->px = zp_alloc((size_t)out_w * out_h * in->c);
    int32_t *acc = zp_alloc(sizeof(int32_t) * (size_t)out_w * in->c);
    if (!out->px || !acc || precompute(in->w, out_w, &kh) || precompute(in->h, out_h, &kv)) {
        st = zp_err_set(err, ZP_ENOMEM, "resize: out of memory for %dx%d -> %dx%d", in->w, in->h, out_w,
                        out_h);
        goto out_free;
    }
    out->w = out_w;
    out->h = out_h;
    out->c = in->c;
    /* Pillow skips a pass whose axis keeps its size; the identity weights would
     * give the same pixels, skipping is only faster. */
    if (out_w == in->w && out_h == in->h) {
        memcpy(out->px, in->px, (size_t)in->w * in->h * in->c);
    } else if (out_w == in->w) {
        pass_v(in->px, in->w, in->c, &kv, out_h, out->px, acc);
    } else if (out_h == in->h) {
        pass_h(in->px, in->w, in->c, 0, in->h, &kh, out_w, out->px);
    } else {
        /* Horizontal pass only over the rows the vertical pass reads. */
        int first = kv.bounds[0];
        int last = kv.bounds[2 * out_h - 2] + kv.bounds[2 * out_h - 1];
        tmp = zp_alloc((size_t)out_w * (last - first) * in->c);
        if (!tmp) {
            st = zp_err_set(err, ZP_ENOMEM, "resize: out of memory");
            goto out_free;
        }
        for (int y = 0; y < out_h; y++)
            kv.bounds[2 * y] -= first;
        pass_h(in->px, in->w, in->c, first, last - first, &kh, out_w, tmp);
        pass_v(tmp, out_w, in->c, &kv, out_h, out->px, acc);
    }
out_free:
    zp_free(acc);
    zp_free(tmp);
    coeffs_free(&kh);
    coeffs_free(&kv);
    if (st != ZP_OK)
        zp_image_free(out);
    return st;
}

/* Python's round(d / 2.0) for an integer d >= 0: half to even. */
static int half_round_even(int d)
{
    int q = d / 2;
    if (d % 2 != 0 && q % 2 != 0)
        q += 1;
    return q;
}

/* resize * long / short, truncated or rounded half up, in exact integers. */
static int scale_long(int resize, int lng, int shrt, int round_up)
{
    int64_t num = (int64_t)resize * lng;
    return (int)(round_up ? (2 * num + shrt) / (2 * (int64_t)shrt) : num / shrt);
}

void zp_image_crop_geometry(int w, int h, int resize, int size, enum zp_crop_recipe recipe, int *rw,
                            int *rh, int *top, int *left)
{
    /* torchvision: new_long = int(resize * long / short), a truncation of the
     * float quotient; the floor of the exact integer quotient is the same. */
    int rnd = recipe == ZP_CROP_ROUND_FLOOR;
    if (w <= h) {
        *rw = resize;
        *rh = scale_long(resize, h, w, rnd);
    } else {
        *rh = resize;
        *rw = scale_long(resize, w, h, rnd);
    }
    if (rnd) {
        *top = (*rh - size) / 2;
        *left = (*rw - size) / 2;
    } else {
        *top = half_round_even(*rh - size);
        *left = half_round_even(*rw - size);
    }
}

/* Pillow's convert("L"): ITU-R 601-2 luma in 16-bit fixed point, rounded. */
static inline uint8_t luma(const uint8_t *p)
{
    return (uint8_t)((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
}

enum zp_status zp_image_preprocess(const struct zp_image *in, const struct zp_dataset_spec *spec,
                                   int out_h, int out_w, float *out, const char *name,
                                   struct zp_err *err)
{
    return zp_image_preprocess_src(in, spec, out_h, out_w, out, NULL, name, err);
}

enum zp_status zp_image_preprocess_src(const struct zp_image *in, const struct zp_dataset_spec *spec,
                                       int out_h, int out_w, float *out, uint8_t *src_out,
                                       const char *name, struct zp_err *err)
{
    struct zp_image r = { 0 };
    const struct zp_image *src = in;
    int top = 0, left = 0;
    enum zp_status st = ZP_OK;
    if (in->c != 1 && in->c != 3)
        return zp_err_set(err, ZP_EINVAL, "%s: %d channels, expected 1 or 3", name, in->c);
    if (spec->resize_mode == ZP_RESIZE_CROP) {
        /* Always through the geometry: a 224x224 image with resize 256 is
         * scaled up to 256 and cropped back, as torchvision does. */
        int rw, rh, resize = spec->resize > 0 ? spec->resize : out_h;
        if (out_w != out_h)
            return zp_err_set(err, ZP_EINVAL, "%s: a centre crop needs a square output, got %dx%d", name,
                              out_w, out_h);
        zp_image_crop_geometry(in->w, in->h, resize, out_h, spec->crop_recipe, &rw, &rh, &top, &left);
        if ((int64_t)rw * rh > ((int64_t)1 << 28))
            return zp_err_set(err, ZP_EFORMAT,
                              "%s: %dx%d image: aspect ratio too extreme (resized to %dx%d)", name,
                              in->w, in->h, rw, rh);
        if (rw < out_w || rh < out_h)
            return zp_err_set(err, ZP_EFORMAT,
                              "%s: %dx%d image resized to %dx%d is smaller than the %dx%d crop", name,
                              in->w, in->h, rw, rh, out_w, out_h);
        if (rw != in->w || rh != in->h) {
            st = zp_image_resize(in, rw, rh, &r, err);
            src = &r;
        }
    } else if (spec->resize_mode == ZP_RESIZE_STRETCH && (in->w != out_w || in->h != out_h)) {
        st = zp_image_resize(in, out_w, out_h, &r, err);
        src = &r;
    } else if (in->w != out_w || in->h != out_h) {
        return zp_err_set(err, ZP_EFORMAT, "%s: image is %dx%d, expected %dx%d (resize_mode none)", name,
                          in->w, in->h, out_w, out_h);
    }
    if (st != ZP_OK) {
        zp_err_prefix(err, "%s", name);
        return st;
    }
    int c = spec->channels;
    size_t plane = (size_t)out_h * out_w;
    /* 256 possible pixel values: normalize each once. */
    float lut[3][256];
    for (int ch = 0; ch < c; ch++)
        zp_dataset_pixel_lut(spec, ch, lut[ch]);
    for (int y = 0; y < out_h; y++) {
        const uint8_t *row = src->px + ((size_t)(top + y) * src->w + left) * src->c;
        for (int x = 0; x < out_w; x++) {
            const uint8_t *p = row + (size_t)x * src->c;
            size_t o = (size_t)y * out_w + x;
            uint8_t v[3];
            if (c == src->c) {
                for (int ch = 0; ch < c; ch++)
                    v[ch] = p[ch];
            } else if (c == 3) { /* grey -> RGB */
                v[0] = v[1] = v[2] = p[0];
            } else { /* RGB -> grey */
                v[0] = luma(p);
            }
            for (int ch = 0; ch < c; ch++)
                out[ch * plane + o] = lut[ch][v[ch]];
            for (int ch = 0; src_out && ch < c; ch++)
                src_out[ch * plane + o] = v[ch];
        }
    }
    zp_image_free(&r);
    return ZP_OK;
}
