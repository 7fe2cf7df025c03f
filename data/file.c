/* Whole-file reads for the dataset loaders. The file is read by common/file.c
 * (regular files only, size from fstat, errno text); when it starts with the
 * gzip magic it is inflated in memory, so one reader serves
 * "train-images-idx3-ubyte.gz", a raw IDX file and a .npy alike. */
#include "data/dataset.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/file.h"

/* Largest file a loader accepts, compressed or inflated: far above ImageNet-
 * val-sized .npy tensors, and a guard against a gzip bomb filling the memory. */
#define ZP_DATA_MAX_FILE ((size_t)16 << 30)

/* Inflates every gzip member of src (gzip allows several, concatenated). */
static enum zp_status gunzip(const char *path, const uint8_t *src, size_t n, uint8_t **buf,
                             size_t *len, struct zp_err *err)
{
    /* The trailer's ISIZE (size mod 2^32 of the last member) is a good first guess. */
    size_t cap = n >= 18 ? (size_t)src[n - 4] | (size_t)src[n - 3] << 8 | (size_t)src[n - 2] << 16 |
                               (size_t)src[n - 1] << 24
                         : 0;
    /* A forged trailer must not make us allocate gigabytes up front: deflate
     * cannot expand more than 1032:1. */
    if (cap / 1032 > n)
        cap = n * 1032;
    if (cap < n)
        cap = n;
    if (cap < 4096)
        cap = 4096;
    if (cap > ZP_DATA_MAX_FILE)
        cap = ZP_DATA_MAX_FILE;
    uint8_t *out = malloc(cap);
    if (!out)
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory (%zu bytes)", path, cap);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK) {
        free(out);
        return zp_err_set(err, ZP_ENOMEM, "%s: cannot start zlib", path);
    }
    size_t in_off = 0, out_len = 0;
    enum zp_status st = ZP_OK;
    for (;;) {
        if (out_len == cap) {
            if (cap >= ZP_DATA_MAX_FILE) {
                st = zp_err_set(err, ZP_EFORMAT, "%s: inflates to more than the %zu GiB limit", path,
                                ZP_DATA_MAX_FILE >> 30);
                break;
            }
            size_t nc = cap * 2 > ZP_DATA_MAX_FILE ? ZP_DATA_MAX_FILE : cap * 2;
            uint8_t *nb = realloc(out, nc);
            if (!nb) {
                st = zp_err_set(err, ZP_ENOMEM, "%s: out of memory (%zu bytes)", path, nc);
                break;
            }
            out = nb;
            cap = nc;
        }
        size_t in_chunk = n - in_off > (1u << 30) ? (1u << 30) : n - in_off;
        size_t out_chunk = cap - out_len > (1u << 30) ? (1u << 30) : cap - out_len;
        z.next_in = (Bytef *)(uintptr_t)(src + in_off);
        z.avail_in = (uInt)in_chunk;
        z.next_out = out + out_len;
        z.avail_out = (uInt)out_chunk;
        int r = inflate(&z, Z_NO_FLUSH);
        in_off += in_chunk - z.avail_in;
        out_len += out_chunk - z.avail_out;
        if (r == Z_STREAM_END) {
            if (in_off == n)
                break;
            if (n - in_off >= 2 && src[in_off] == 0x1f && src[in_off + 1] == 0x8b) {
                inflateReset(&z); /* the next member */
                continue;
            }
            st = zp_err_set(err, ZP_EFORMAT, "%s: %zu bytes of trailing data after the gzip stream", path,
                            n - in_off);
            break;
        }
        if (r == Z_OK || (r == Z_BUF_ERROR && z.avail_out == 0))
            continue;
        if (r == Z_BUF_ERROR) /* no progress possible: the input ended mid-stream */
            st = zp_err_set(err, ZP_EFORMAT, "%s: truncated gzip stream after %zu inflated bytes", path,
                            out_len);
        else
            st = zp_err_set(err, ZP_EFORMAT, "%s: corrupt gzip stream after %zu inflated bytes: %s", path,
                            out_len, z.msg ? z.msg : "inflate error");
        break;
    }
    inflateEnd(&z);
    if (st != ZP_OK) {
        free(out);
        return st;
    }
    *buf = out;
    *len = out_len;
    return ZP_OK;
}

enum zp_status zp_data_read_file(const char *path, uint8_t **buf, size_t *len, struct zp_err *err)
{
    *buf = NULL;
    *len = 0;
    char *raw = NULL;
    size_t n = 0;
    enum zp_status st = zp_file_read(path, ZP_DATA_MAX_FILE, "data file", &raw, &n, err);
    if (st != ZP_OK)
        return st;
    if (n >= 2 && (uint8_t)raw[0] == 0x1f && (uint8_t)raw[1] == 0x8b) {
        st = gunzip(path, (const uint8_t *)raw, n, buf, len, err);
        free(raw);
        return st;
    }
    *buf = (uint8_t *)raw;
    *len = n;
    return ZP_OK;
}
