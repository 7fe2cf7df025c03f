/* Writing .npy files (NumPy format 1.0): a float32 matrix, little-endian, C
 * order, written atomically. data/npy.c reads the same format. */
#ifndef ZP_STORE_NPY_OUT_H
#define ZP_STORE_NPY_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Writes rows x cols float32 values to path (tmp + rename); errors name path. */
enum zp_status zp_npy_write_f32(const char *path, const float *data, int64_t rows, int64_t cols,
                                struct zp_err *err);

#endif
