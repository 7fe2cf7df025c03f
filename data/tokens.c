/* Token windows (data/tokens.h). The raw stream is read as it is, never
 * gunzipped: a stream whose first id is 0x8b1f would look like gzip. A .npy
 * goes through the .npy parser (data/npy.c) and must be an integer [N, T]. */
#include "data/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "data/dataset.h"

/* ids above this are a misread file whatever the vocabulary (int32 storage) */
#define ZP_TOKENS_MAX_ID 2147483647LL

static enum zp_status check_spec(const struct zp_tokens_spec *s, const char *name, struct zp_err *err)
{
    if (s->format != ZP_TOKENS_NPY && s->format != ZP_TOKENS_U16)
        return zp_err_set(err, ZP_ECONFIG, "%s: tokens: unknown format %d", name, (int)s->format);
    if (s->vocab < 0 || s->vocab > ZP_TOKENS_MAX_ID)
        return zp_err_set(err, ZP_ECONFIG, "%s: tokens: vocab: expected 0..%lld, got %lld", name,
                          ZP_TOKENS_MAX_ID, (long long)s->vocab);
    if (s->limit < 0)
        return zp_err_set(err, ZP_ECONFIG, "%s: tokens: limit: expected >= 0, got %lld", name,
                          (long long)s->limit);
    if (s->skip < 0)
        return zp_err_set(err, ZP_ECONFIG, "%s: tokens: skip: expected >= 0, got %lld", name,
                          (long long)s->skip);
    if (s->format == ZP_TOKENS_U16 && (s->window < 1 || s->window > ((int64_t)1 << 30)))
        return zp_err_set(err, ZP_ECONFIG, "%s: tokens: window: expected 1..%lld tokens, got %lld",
                          name, (long long)1 << 30, (long long)s->window);
    if (s->format == ZP_TOKENS_U16 && (s->stride < 0 || s->stride > ((int64_t)1 << 30)))
        return zp_err_set(err, ZP_ECONFIG, "%s: tokens: stride: expected 0..%lld tokens, got %lld",
                          name, (long long)1 << 30, (long long)s->stride);
    if (s->format == ZP_TOKENS_NPY && s->window < 0)
        return zp_err_set(err, ZP_ECONFIG, "%s: tokens: window: expected >= 0, got %lld", name,
                          (long long)s->window);
    return ZP_OK;
}

/* One id checked against the vocabulary; off is its byte offset in the file. */
static enum zp_status check_id(const struct zp_tokens_spec *s, double v, const char *name,
                               size_t off, int64_t elem, int64_t t, struct zp_err *err)
{
    int64_t hi = s->vocab > 0 ? s->vocab - 1 : ZP_TOKENS_MAX_ID;
    if (v >= 0 && v <= (double)hi)
        return ZP_OK;
    char where[96] = "";
    if (t > 0)
        snprintf(where, sizeof where, ", window %lld position %lld", (long long)(elem / t),
                 (long long)(elem % t));
    return zp_err_set(err, ZP_EFORMAT, "%s: byte offset %zu (token %lld%s): id %.0f, expected 0..%lld%s",
                      name, off, (long long)elem, where, v, (long long)hi,
                      s->vocab > 0 ? " (vocab size)" : "");
}

static enum zp_status parse_u16(const struct zp_tokens_spec *s, const uint8_t *buf, size_t len,
                                const char *name, struct zp_tokens *tk, struct zp_err *err)
{
    if (len % 2)
        return zp_err_set(err, ZP_EFORMAT,
                          "%s: %zu bytes: a uint16 token stream has an even size (a stray byte at "
                          "offset %zu)", name, len, len - 1);
    int64_t count = (int64_t)(len / 2), w = s->window, stride = s->stride ? s->stride : s->window;
    /* Every id of the stream is checked, in or out of a window: one out of range
     * means the file is not what the spec says. */
    for (int64_t i = 0; i < count; i++) {
        unsigned v = (unsigned)buf[2 * i] | (unsigned)buf[2 * i + 1] << 8;
        if (check_id(s, (double)v, name, (size_t)(2 * i), i, 0, err))
            return err->status;
    }
    if (count < w)
        return zp_err_set(err, ZP_EFORMAT, "%s: %lld tokens, fewer than one window of %lld", name,
                          (long long)count, (long long)w);
    int64_t n = (count - w) / stride + 1;
    if (s->skip >= n)
        return zp_err_set(err, ZP_EFORMAT, "%s: skip %lld leaves none of the stream's %lld windows", name,
                          (long long)s->skip, (long long)n);
    n -= s->skip;
    if (s->limit > 0 && s->limit < n)
        n = s->limit;
    tk->ids = zp_alloc((size_t)n * (size_t)w * sizeof *tk->ids);
    if (!tk->ids)
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory for %lld windows of %lld tokens", name,
                          (long long)n, (long long)w);
    for (int64_t k = 0; k < n; k++)
        for (int64_t j = 0; j < w; j++) {
            size_t e = (size_t)((k + s->skip) * stride + j);
            tk->ids[k * w + j] = (int32_t)((unsigned)buf[2 * e] | (unsigned)buf[2 * e + 1] << 8);
        }
    tk->n = n;
    tk->t = w;
    tk->stream = count;
    return ZP_OK;
}

static enum zp_status parse_npy(const struct zp_tokens_spec *s, const uint8_t *buf, size_t len,
                                const char *name, struct zp_tokens *tk, struct zp_err *err)
{
    struct zp_npy a;
    if (zp_npy_parse(buf, len, name, &a, err))
        return err->status;
    if (a.kind != 'i' && a.kind != 'u')
        return zp_err_set(err, ZP_EFORMAT, "%s: token ids: expected an integer array, got dtype '%c%d'",
                          name, a.kind, a.item_size);
    if (a.ndim != 2 || a.dims[0] < 1 || a.dims[1] < 1)
        return zp_err_set(err, ZP_EFORMAT, "%s: token windows: expected a [N, T] array with N, T >= 1, "
                          "got %d dims%s", name, a.ndim, a.ndim == 2 ? " with a 0" : "");
    if (s->window > 0 && a.dims[1] != s->window)
        return zp_err_set(err, ZP_EFORMAT, "%s: windows of %lld tokens, expected %lld", name,
                          (long long)a.dims[1], (long long)s->window);
    int64_t t = a.dims[1], n = a.dims[0];
    size_t base = (size_t)(a.data - buf);
    for (int64_t i = 0; i < a.count; i++)
        if (check_id(s, zp_npy_get(&a, i), name, base + (size_t)i * (size_t)a.item_size, i, t, err))
            return err->status;
    if (s->skip >= n)
        return zp_err_set(err, ZP_EFORMAT, "%s: skip %lld leaves none of the file's %lld windows", name,
                          (long long)s->skip, (long long)n);
    n -= s->skip;
    if (s->limit > 0 && s->limit < n)
        n = s->limit;
    tk->ids = zp_alloc((size_t)n * (size_t)t * sizeof *tk->ids);
    if (!tk->ids)
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory for %lld windows of %lld tokens", name,
                          (long long)n, (long long)t);
    for (int64_t i = 0; i < n * t; i++)
        tk->ids[i] = (int32_t)zp_npy_get(&a, s->skip * t + i);
    tk->n = n;
    tk->t = t;
    tk->stream = a.count;
    return ZP_OK;
}

enum zp_status zp_tokens_parse(const struct zp_tokens_spec *spec, const uint8_t *buf, size_t len,
                               const char *name, struct zp_tokens *tk, struct zp_err *err)
{
    memset(tk, 0, sizeof *tk);
    if (check_spec(spec, name, err))
        return err->status;
    enum zp_status st = spec->format == ZP_TOKENS_U16 ? parse_u16(spec, buf, len, name, tk, err)
                                                      : parse_npy(spec, buf, len, name, tk, err);
    if (st != ZP_OK)
        zp_tokens_free(tk);
    return st;
}

enum zp_status zp_tokens_load(const struct zp_tokens_spec *spec, struct zp_tokens *tk,
                              struct zp_err *err)
{
    memset(tk, 0, sizeof *tk);
    if (!spec || !spec->path || !*spec->path)
        return zp_err_set(err, ZP_ECONFIG, "tokens: a path is required");
    char *buf = NULL;
    size_t len = 0;
    if (zp_file_read(spec->path, 0, NULL, &buf, &len, err))
        return err->status;
    enum zp_status st = zp_tokens_parse(spec, (const uint8_t *)buf, len, spec->path, tk, err);
    free(buf);
    return st;
}

void zp_tokens_free(struct zp_tokens *tk)
{
    if (!tk)
        return;
    zp_free(tk->ids);
    memset(tk, 0, sizeof *tk);
}
