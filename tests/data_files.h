/* Helpers shared by the dataset tests (tests/test_data_*.c): the files they
 * write as inputs (IDX, PNG, JPEG, .npy, optionally gzip-compressed), a default
 * spec, and an error check. Every input is made by the tests themselves. */
#ifndef ZP_TESTS_DATA_FILES_H
#define ZP_TESTS_DATA_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "data/dataset.h"

char *zp_td_tpath(const char *dir, const char *name);
void zp_td_write_bytes(const char *path, const void *data, size_t n, int gz);
void zp_td_write_idx(const char *path, int ndim, const uint32_t *dims, const uint8_t *data, size_t payload,
                      int gz);
void zp_td_write_png(const char *path, int w, int h, int c, const uint8_t *px);
void zp_td_write_jpeg(const char *path, int w, int h, int c, const uint8_t *px, int quality);
void zp_td_assert_err_mentions(const struct zp_err *err, const char *needle);
struct zp_dataset_spec zp_td_spec_default(enum zp_dataset_format fmt, const char *images, const char *labels);
void zp_td_write_npy(const char *path, int major, const char *dict, const void *data, size_t n);

#endif
