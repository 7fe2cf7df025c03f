/* NumPy .npy files: magic "\x93NUMPY", version byte pair, header length
 * (uint16 for 1.0, uint32 for 2.0/3.0), then a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (N, C, H, W), } padded
 * with spaces to a multiple of 16/64, then the raw C-order data. */
#include "data/dataset.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Finds 'key' followed by ':' in the header and returns the value's start. */
static const char *find_key(const char *h, const char *end, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = h; p + kl + 2 <= end; p++) {
        if ((*p == '\'' || *p == '"') && (size_t)(end - p) > kl + 1 && memcmp(p + 1, key, kl) == 0 &&
            p[kl + 1] == *p) {
            const char *q = skip_ws(p + kl + 2, end);
            if (q < end && *q == ':') {
                q = skip_ws(q + 1, end);
                return q < end ? q : NULL;
            }
        }
    }
    return NULL;
}

static enum zp_status parse_header(const char *h, size_t hl, const char *name, struct zp_npy *npy,
                                   struct zp_err *err)
{
    const char *end = h + hl;
    const char *p = skip_ws(h, end);
    if (p >= end || *p != '{')
        return zp_err_set(err, ZP_EFORMAT, "%s: .npy header: expected a '{' dict, got '%.*s'", name,
                          (int)(hl < 20 ? hl : 20), h);
    /* descr */
    const char *d = find_key(h, end, "descr");
    if (!d || (*d != '\'' && *d != '"'))
        return zp_err_set(err, ZP_EFORMAT, "%s: .npy header: no 'descr' string", name);
    char q = *d++;
    const char *de = memchr(d, q, (size_t)(end - d));
    if (!de || de - d < 3 || de - d > 4)
        return zp_err_set(err, ZP_EFORMAT, "%s: .npy header: descr: expected like '<f4', got %.*s", name,
                          (int)(end - d < 12 ? end - d + 1 : 12), d - 1);
    char order = d[0];
    npy->kind = d[1];
    int size = 0;
    for (const char *c = d + 2; c < de; c++) {
        if (!isdigit((unsigned char)*c))
            return zp_err_set(err, ZP_EFORMAT, "%s: .npy header: descr '%.*s': bad item size", name,
                              (int)(de - d), d);
        size = size * 10 + (*c - '0');
    }
    npy->item_size = size;
    int ok_kind = (npy->kind == 'f' && (size == 4 || size == 8)) ||
                  ((npy->kind == 'i' || npy->kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
                  (npy->kind == 'b' && size == 1);
    if (!ok_kind || (order != '<' && order != '>' && order != '|' && order != '='))
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "%s: .npy dtype '%.*s': expected f4/f8, i1..i8, u1..u8 or b1 with <, >, | or =",
                          name, (int)(de - d), d);
    npy->big_endian = order == '>' && size > 1;
    /* fortran_order */
    const char *f = find_key(h, end, "fortran_order");
    if (!f)
        return zp_err_set(err, ZP_EFORMAT, "%s: .npy header: no 'fortran_order'", name);
    if ((size_t)(end - f) >= 4 && memcmp(f, "True", 4) == 0)
        return zp_err_set(err, ZP_EUNSUPPORTED, "%s: .npy: Fortran order: expected C order", name);
    if ((size_t)(end - f) < 5 || memcmp(f, "False", 5) != 0)
        return zp_err_set(err, ZP_EFORMAT, "%s: .npy header: fortran_order: expected True or False", name);
    /* shape */
    const char *s = find_key(h, end, "shape");
    if (!s || *s != '(')
        return zp_err_set(err, ZP_EFORMAT, "%s: .npy header: no 'shape' tuple", name);
    s++;
    npy->ndim = 0;
    npy->count = 1;
    for (;;) {
        s = skip_ws(s, end);
        if (s >= end)
            return zp_err_set(err, ZP_EFORMAT, "%s: .npy header: shape: unterminated tuple", name);
        if (*s == ')')
            break;
        if (!isdigit((unsigned char)*s))
            return zp_err_set(err, ZP_EFORMAT, "%s: .npy header: shape: expected an integer, got '%c'", name, *s);
        int64_t v = 0;
        while (s < end && isdigit((unsigned char)*s)) {
            v = v * 10 + (*s - '0');
            if (v > ((int64_t)1 << 40))
                return zp_err_set(err, ZP_EFORMAT, "%s: .npy shape: dimension %d too large", name, npy->ndim);
            s++;
        }
        if (npy->ndim >= 8)
            return zp_err_set(err, ZP_EUNSUPPORTED, "%s: .npy shape: more than 8 dimensions", name);
        npy->dims[npy->ndim++] = v;
        if (v != 0 && npy->count > ((int64_t)1 << 40) / v)
            return zp_err_set(err, ZP_EFORMAT, "%s: .npy shape: more than 2^40 elements", name);
        npy->count *= v;
        s = skip_ws(s, end);
        if (s < end && *s == ',')
            s++;
        else if (s < end && *s != ')')
            return zp_err_set(err, ZP_EFORMAT, "%s: .npy header: shape: expected ',' or ')', got '%c'", name, *s);
    }
    return ZP_OK;
}

enum zp_status zp_npy_parse(const uint8_t *buf, size_t len, const char *name, struct zp_npy *npy,
                            struct zp_err *err)
{
    memset(npy, 0, sizeof *npy);
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return zp_err_set(err, ZP_EFORMAT, "%s: not a .npy file: expected the magic \\x93NUMPY", name);
    int major = buf[6];
    size_t hl, head;
    if (major == 1) {
        hl = (size_t)buf[8] | (size_t)buf[9] << 8;
        head = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return zp_err_set(err, ZP_EFORMAT, "%s: truncated .npy header", name);
        hl = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        head = 12;
    } else {
        return zp_err_set(err, ZP_EUNSUPPORTED, "%s: .npy version %d.%d: expected 1.0, 2.0 or 3.0", name,
                          major, buf[7]);
    }
    if (hl > len - head)
        return zp_err_set(err, ZP_EFORMAT, "%s: truncated .npy header: %zu bytes announced, %zu present",
                          name, hl, len - head);
    enum zp_status st = parse_header((const char *)buf + head, hl, name, npy, err);
    if (st != ZP_OK)
        return st;
    size_t need = (size_t)npy->count * (size_t)npy->item_size;
    size_t have = len - head - hl;
    if (have < need)
        return zp_err_set(err, ZP_EFORMAT,
                          "%s: truncated .npy data: shape needs %zu bytes, file has %zu", name, need, have);
    /* numpy itself would ignore extra bytes, but they mean the header's shape
     * is not the array's (a wrong shape, or two arrays in one file). */
    if (have > need)
        return zp_err_set(err, ZP_EFORMAT,
                          "%s: %zu bytes of trailing data after the %zu the .npy header's shape needs",
                          name, have - need, need);
    npy->data = buf + head + hl;
    return ZP_OK;
}

double zp_npy_get(const struct zp_npy *npy, int64_t i)
{
    uint8_t b[8];
    const uint8_t *p = npy->data + (size_t)i * (size_t)npy->item_size;
    int n = npy->item_size;
    /* Assemble little-endian bytes into host order portably. */
    uint64_t u = 0;
    for (int k = 0; k < n; k++)
        b[k] = npy->big_endian ? p[n - 1 - k] : p[k];
    for (int k = n - 1; k >= 0; k--)
        u = u << 8 | b[k];
    switch (npy->kind) {
    case 'f':
        if (n == 4) {
            uint32_t u32 = (uint32_t)u;
            float fv;
            memcpy(&fv, &u32, 4);
            return fv;
        } else {
            double dv;
            memcpy(&dv, &u, 8);
            return dv;
        }
    case 'i': {
        /* Sign-extend from n bytes. */
        int shift = 64 - 8 * n;
        return (double)((int64_t)(u << shift) >> shift);
    }
    default:
        return (double)u;
    }
}

enum zp_status zp_dataset_load_npy(const struct zp_dataset_spec *spec, struct zp_dataset *ds,
                                   struct zp_err *err)
{
    uint8_t *xbuf = NULL, *lbuf = NULL;
    size_t xlen = 0, llen = 0;
    struct zp_npy xa, la;
    enum zp_status st = zp_data_read_file(spec->images, &xbuf, &xlen, err);
    if (st != ZP_OK)
        goto out;
    st = zp_data_read_file(spec->labels, &lbuf, &llen, err);
    if (st != ZP_OK)
        goto out;
    st = zp_npy_parse(xbuf, xlen, spec->images, &xa, err);
    if (st != ZP_OK)
        goto out;
    st = zp_npy_parse(lbuf, llen, spec->labels, &la, err);
    if (st != ZP_OK)
        goto out;
    if (xa.ndim != 4 && xa.ndim != 2) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: inputs: expected shape [N, C, H, W] or [N, K], got %d dims",
                        spec->images, xa.ndim);
        goto out;
    }
    if (xa.kind == 'b' || xa.kind == 'i' || (xa.kind == 'u' && xa.item_size != 1)) {
        st = zp_err_set(err, ZP_EUNSUPPORTED, "%s: inputs: dtype %c%d: expected f4, f8 or u1", spec->images,
                        xa.kind, xa.item_size);
        goto out;
    }
    if (la.ndim != 1 || (la.kind != 'i' && la.kind != 'u')) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: labels: expected a 1-d integer array (<i8, <i4), got %d dims of %c%d",
                        spec->labels, la.ndim, la.kind, la.item_size);
        goto out;
    }
    if (la.dims[0] != xa.dims[0]) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: %lld labels, but %s has %lld examples", spec->labels,
                        (long long)la.dims[0], spec->images, (long long)xa.dims[0]);
        goto out;
    }
    int64_t n = xa.dims[0];
    if (n <= 0 || xa.count == 0) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: no examples (shape has a 0)", spec->images);
        goto out;
    }
    st = zp_dataset_rows(spec, n, spec->images, &n, err);
    if (st != ZP_OK)
        goto out;
    int64_t c = xa.dims[1], h = xa.ndim == 4 ? xa.dims[2] : 1, w = xa.ndim == 4 ? xa.dims[3] : 1;
    if (xa.ndim == 4 && spec->channels > 0 && c != spec->channels) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: inputs have %lld channels, spec says %d", spec->images,
                        (long long)c, spec->channels);
        goto out;
    }
    if (xa.ndim == 4 && spec->size > 0 && (h != spec->size || w != spec->size)) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: inputs are %lldx%lld, spec size is %d (.npy is not resized)",
                        spec->images, (long long)w, (long long)h, spec->size);
        goto out;
    }
    size_t ex = (size_t)(c * h * w);
    ds->x = zp_alloc((size_t)n * ex * sizeof(float));
    ds->labels = zp_alloc((size_t)n * sizeof(int32_t));
    int u8 = xa.kind == 'u' && xa.item_size == 1;
    if (spec->keep_source && u8)
        ds->src = zp_alloc((size_t)n * ex);
    if (!ds->x || !ds->labels || (spec->keep_source && u8 && !ds->src)) {
        st = zp_err_set(err, ZP_ENOMEM, "%s: out of memory for %lld examples", spec->images, (long long)n);
        goto out;
    }
    ds->n = n;
    ds->c = c;
    ds->h = h;
    ds->w = w;
    for (int64_t i = 0; i < n; i++) {
        int64_t row = zp_dataset_row(spec, i);
        double l = zp_npy_get(&la, row);
        if (l < 0 || l > 2147483647.0) {
            st = zp_err_set(err, ZP_EFORMAT, "%s: label %lld: expected >= 0, got %.0f", spec->labels,
                            (long long)row, l);
            goto out;
        }
        ds->labels[i] = (int32_t)l;
    }
    st = zp_dataset_check_labels(ds, spec->labels, err);
    if (st != ZP_OK)
        goto out;
    size_t plane = (size_t)(h * w);
    for (int64_t i = 0; i < n; i++) {
        int64_t row = zp_dataset_row(spec, i);
        for (size_t k = 0; k < ex; k++) {
            int64_t idx = i * (int64_t)ex + (int64_t)k;
            double v = zp_npy_get(&xa, row * (int64_t)ex + (int64_t)k);
            if (!(v == v) || v > 3.4e38 || v < -3.4e38) {
                st = zp_err_set(err, ZP_EINVAL, "%s: example %lld, element %zu: not a finite float (%g)",
                                spec->images, (long long)row, k, v);
                goto out;
            }
            /* Channel for the per-channel normalization: only [N, 3, H, W] has one. */
            int ch = (xa.ndim == 4 && c == 3) ? (int)(k / plane) : 0;
            ds->x[idx] = zp_dataset_normalize(spec, ch, (float)v);
            if (ds->src)
                ds->src[idx] = (uint8_t)v;
        }
    }
out:
    free(xbuf);
    free(lbuf);
    return st;
}
