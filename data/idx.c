/* IDX files (MNIST, Fashion-MNIST): magic 00 00 <type> <ndim>, then ndim
 * big-endian uint32 dims, then the payload in C order. Images are ubyte
 * [N, H, W]; labels ubyte [N]. */
#include "data/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

static int idx_type_size(int type)
{
    switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    }
    return 0;
}

enum zp_status zp_idx_parse(const uint8_t *buf, size_t len, const char *name, struct zp_idx *idx,
                            struct zp_err *err)
{
    memset(idx, 0, sizeof *idx);
    if (len < 4)
        return zp_err_set(err, ZP_EFORMAT, "%s: not an IDX file: expected a 4-byte magic, file has %zu bytes",
                          name, len);
    if (buf[0] != 0 || buf[1] != 0)
        return zp_err_set(err, ZP_EFORMAT,
                          "%s: not an IDX file: magic expected 00 00 <type> <ndim>, got %02x %02x %02x %02x",
                          name, buf[0], buf[1], buf[2], buf[3]);
    int esize = idx_type_size(buf[2]);
    if (!esize)
        return zp_err_set(err, ZP_EFORMAT,
                          "%s: IDX type byte: expected 08 09 0b 0c 0d or 0e, got %02x", name, buf[2]);
    int ndim = buf[3];
    if (ndim < 1 || ndim > 4)
        return zp_err_set(err, ZP_EUNSUPPORTED, "%s: IDX dimensions: expected 1..4, got %d", name, ndim);
    if (len < 4 + 4 * (size_t)ndim)
        return zp_err_set(err, ZP_EFORMAT, "%s: truncated IDX header: %d dims need %d bytes, file has %zu",
                          name, ndim, 4 + 4 * ndim, len);
    int64_t count = 1;
    for (int d = 0; d < ndim; d++) {
        const uint8_t *p = buf + 4 + 4 * d;
        uint32_t v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (v == 0 || v > (1u << 30))
            return zp_err_set(err, ZP_EFORMAT, "%s: IDX dimension %d: expected 1..2^30, got %u", name, d, v);
        idx->dims[d] = v;
        if (count > ((int64_t)1 << 40) / (int64_t)v)
            return zp_err_set(err, ZP_EFORMAT, "%s: IDX dimensions multiply to more than 2^40 elements",
                              name);
        count *= v;
    }
    size_t head = 4 + 4 * (size_t)ndim;
    size_t need = (size_t)count * (size_t)esize;
    size_t have = len - head;
    if (have < need) {
        /* Name the record (the slice along the first axis) that is cut short. */
        int64_t rec_bytes = (int64_t)(need / (size_t)idx->dims[0]);
        return zp_err_set(err, ZP_EFORMAT,
                          "%s: truncated: record %lld of %lld is incomplete (expected %zu data bytes, "
                          "file has %zu)",
                          name, (long long)((int64_t)have / rec_bytes), (long long)idx->dims[0], need, have);
    }
    if (have > need)
        return zp_err_set(err, ZP_EFORMAT,
                          "%s: %zu bytes of trailing data after the %zu the IDX header announces", name,
                          have - need, need);
    idx->type = buf[2];
    idx->ndim = ndim;
    idx->count = count;
    idx->data = buf + head;
    return ZP_OK;
}

enum zp_status zp_dataset_load_idx(const struct zp_dataset_spec *spec, struct zp_dataset *ds,
                                   struct zp_err *err)
{
    uint8_t *ibuf = NULL, *lbuf = NULL;
    size_t ilen = 0, llen = 0;
    struct zp_idx im, lb;
    enum zp_status st = zp_data_read_file(spec->images, &ibuf, &ilen, err);
    if (st != ZP_OK)
        goto out;
    st = zp_data_read_file(spec->labels, &lbuf, &llen, err);
    if (st != ZP_OK)
        goto out;
    st = zp_idx_parse(ibuf, ilen, spec->images, &im, err);
    if (st != ZP_OK)
        goto out;
    st = zp_idx_parse(lbuf, llen, spec->labels, &lb, err);
    if (st != ZP_OK)
        goto out;
    if (im.type != 0x08 || im.ndim != 3) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: IDX images: expected ubyte [N, H, W], got type %02x with %d dims",
                        spec->images, im.type, im.ndim);
        goto out;
    }
    if (lb.type != 0x08 || lb.ndim != 1) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: IDX labels: expected ubyte [N], got type %02x with %d dims",
                        spec->labels, lb.type, lb.ndim);
        goto out;
    }
    if (lb.dims[0] != im.dims[0]) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: %lld labels, but %s has %lld images", spec->labels,
                        (long long)lb.dims[0], spec->images, (long long)im.dims[0]);
        goto out;
    }
    int64_t n = 0;
    st = zp_dataset_rows(spec, im.dims[0], spec->images, &n, err);
    if (st != ZP_OK)
        goto out;
    int ih = (int)im.dims[1], iw = (int)im.dims[2];
    int oh = ih, ow = iw;
    if (spec->size > 0 && spec->resize_mode != ZP_RESIZE_NONE)
        oh = ow = spec->size;
    else if (spec->size > 0 && (spec->size != ih || spec->size != iw)) {
        st = zp_err_set(err, ZP_ECONFIG, "%s: images are %dx%d but size is %d and resize_mode is none",
                        spec->images, iw, ih, spec->size);
        goto out;
    }
    int c = spec->channels;
    size_t ex = (size_t)c * (size_t)oh * (size_t)ow;
    ds->x = zp_alloc((size_t)n * ex * sizeof(float));
    ds->labels = zp_alloc((size_t)n * sizeof(int32_t));
    if (spec->keep_source)
        ds->src = zp_alloc((size_t)n * ex);
    if (!ds->x || !ds->labels || (spec->keep_source && !ds->src)) {
        st = zp_err_set(err, ZP_ENOMEM, "%s: out of memory for %lld examples", spec->images, (long long)n);
        goto out;
    }
    ds->n = n;
    ds->c = c;
    ds->h = oh;
    ds->w = ow;
    for (int64_t i = 0; i < n; i++)
        ds->labels[i] = lb.data[zp_dataset_row(spec, i)];
    st = zp_dataset_check_labels(ds, spec->labels, err);
    if (st != ZP_OK)
        goto out;
    /* A crop whose shorter side is resized to another size than the file's
     * resamples even when the output size equals the input size. */
    int short_side = ih < iw ? ih : iw;
    int crop_resamples = spec->resize_mode == ZP_RESIZE_CROP && spec->resize > 0 &&
                         spec->resize != short_side;
    size_t plane = (size_t)ih * (size_t)iw;
    if (oh == ih && ow == iw && !crop_resamples) {
        /* The common case: no resize, the grey pixel replicated into each channel. */
        float lut[3][256];
        for (int ch = 0; ch < c; ch++)
            zp_dataset_pixel_lut(spec, ch, lut[ch]);
        for (int64_t i = 0; i < n; i++) {
            const uint8_t *px = im.data + (size_t)zp_dataset_row(spec, i) * plane;
            float *dst = ds->x + (size_t)i * ex;
            for (int ch = 0; ch < c; ch++)
                for (size_t k = 0; k < plane; k++)
                    dst[(size_t)ch * plane + k] = lut[ch][px[k]];
            for (int ch = 0; ds->src && ch < c; ch++)
                memcpy(ds->src + (size_t)i * ex + (size_t)ch * plane, px, plane);
        }
    } else {
        for (int64_t i = 0; i < n && st == ZP_OK; i++) {
            int64_t row = zp_dataset_row(spec, i);
            struct zp_image g = { .w = iw, .h = ih, .c = 1,
                                  .px = (uint8_t *)(uintptr_t)(im.data + (size_t)row * plane) };
            char what[64];
            snprintf(what, sizeof what, "image %lld", (long long)row);
            st = zp_image_preprocess_src(&g, spec, oh, ow, ds->x + (size_t)i * ex,
                                         ds->src ? ds->src + (size_t)i * ex : NULL, what, err);
        }
        if (st != ZP_OK)
            zp_err_prefix(err, "%s", spec->images);
    }
out:
    free(ibuf);
    free(lbuf);
    return st;
}
