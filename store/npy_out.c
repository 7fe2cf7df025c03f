/* .npy writer (store/npy_out.h). Format 1.0: magic "\x93NUMPY", version 1 0, a
 * little-endian u16 header length, then an ASCII dict padded with spaces and a
 * newline so that the data starts at a multiple of 64 bytes. */
#include "store/npy_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomic.h"

enum zp_status zp_npy_write_f32(const char *path, const float *data, int64_t rows, int64_t cols,
                                struct zp_err *err)
{
    if (rows < 0 || cols < 0)
        return zp_err_set(err, ZP_EINVAL, "%s: bad shape %lld x %lld", path, (long long)rows, (long long)cols);
    char dict[128];
    int dl = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %lld), }",
                      (long long)rows, (long long)cols);
    size_t head = 10 + (size_t)dl + 1; /* magic, version, length, dict, '\n' */
    size_t pad = (64 - head % 64) % 64, hl = (size_t)dl + pad + 1;
    size_t nbytes = (size_t)rows * (size_t)cols * 4;
    uint8_t *buf = malloc(10 + hl + nbytes);
    if (!buf)
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)(hl & 0xff);
    buf[9] = (uint8_t)(hl >> 8);
    memcpy(buf + 10, dict, (size_t)dl);
    memset(buf + 10 + dl, ' ', pad);
    buf[10 + hl - 1] = '\n';
    uint8_t *d = buf + 10 + hl;
    for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++) { /* little-endian whatever the host */
        uint32_t u;
        memcpy(&u, &data[i], 4);
        d[4 * i] = (uint8_t)u;
        d[4 * i + 1] = (uint8_t)(u >> 8);
        d[4 * i + 2] = (uint8_t)(u >> 16);
        d[4 * i + 3] = (uint8_t)(u >> 24);
    }
    enum zp_status st = zp_file_write_atomic(path, buf, 10 + hl + nbytes, err);
    free(buf);
    return st;
}
