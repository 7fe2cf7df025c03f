/* Whole-file reads for the dataset loaders. zlib's gzread reads gzip streams
 * and passes any other file through unchanged, so one reader serves
 * "train-images-idx3-ubyte.gz", a raw IDX file and a .npy alike. */
#include "data/dataset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Largest file a loader accepts: far above ImageNet-val-sized .npy tensors, and
 * a guard against a gzip bomb filling the memory. */
#define ZP_DATA_MAX_FILE ((size_t)16 << 30)

enum zp_status zp_data_read_file(const char *path, uint8_t **buf, size_t *len, struct zp_err *err)
{
    *buf = NULL;
    *len = 0;
    gzFile f = gzopen(path, "rb");
    if (!f)
        return zp_err_set(err, ZP_EIO, "%s: cannot open: %s", path,
                          errno ? strerror(errno) : "out of memory");
    gzbuffer(f, 1 << 17);
    size_t cap = 1 << 20, n = 0;
    uint8_t *b = malloc(cap);
    if (!b) {
        gzclose(f);
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (cap - n < (1u << 20)) {
            if (cap >= ZP_DATA_MAX_FILE) {
                free(b);
                gzclose(f);
                return zp_err_set(err, ZP_EFORMAT, "%s: larger than the %zu GiB limit", path,
                                  ZP_DATA_MAX_FILE >> 30);
            }
            uint8_t *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                gzclose(f);
                return zp_err_set(err, ZP_ENOMEM, "%s: out of memory (%zu bytes)", path, cap * 2);
            }
            b = nb;
            cap *= 2;
        }
        size_t want = cap - n;
        if (want > (1u << 30))
            want = 1u << 30;
        int got = gzread(f, b + n, (unsigned)want);
        if (got < 0) {
            int zerr = 0;
            const char *msg = gzerror(f, &zerr);
            enum zp_status st = zerr == Z_ERRNO ? ZP_EIO : ZP_EFORMAT;
            zp_err_set(err, st, "%s: read error: %s", path, zerr == Z_ERRNO ? strerror(errno) : msg);
            free(b);
            gzclose(f);
            return st;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    /* A gzip stream cut short reads as EOF with Z_BUF_ERROR: a truncated file. */
    int zerr = 0;
    const char *msg = gzerror(f, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        zp_err_set(err, ZP_EFORMAT, "%s: corrupt or truncated gzip stream after %zu bytes: %s", path,
                   n, msg);
        free(b);
        gzclose(f);
        return ZP_EFORMAT;
    }
    gzclose(f);
    *buf = b;
    *len = n;
    return ZP_OK;
}
