/* Whole-file reads, the one place that opens an input file by path.
 * Every reader refuses what is not a regular file (a directory, /dev/zero, a
 * FIFO) by name before reading a byte, reads exactly the size fstat reports,
 * and says why an open failed (the errno text). Messages start with the path:
 *   "m.onnx: cannot open: No such file or directory"
 *   "/dev/zero: not a regular file (a character device)"
 *   "big.onnx: 3221225472 bytes: larger than the 2048 MiB model file limit (ZP_MAX_MODEL_MB)" */
#ifndef ZP_COMMON_FILE_H
#define ZP_COMMON_FILE_H

#include <stddef.h>

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The model file limit: 2048 MiB by default (ONNX protobufs cannot be larger),
 * set with the environment variable ZP_MAX_MODEL_MB (a positive number of MiB).
 * A malformed value is ignored in favour of the default. */
#define ZP_MODEL_MAX_MB_DEFAULT 2048
size_t zp_file_model_max_bytes(void);

/* Reads the regular file at `path` into *buf (malloc'd, len + 1 bytes, NUL-
 * terminated so that text can be parsed in place; caller frees). `max_bytes`
 * caps the size (0: no cap); `what` ("model file", "image file") names the
 * limit in the error message and may be NULL. On error *buf is NULL and err
 * says which file and why: ZP_EIO (open, read, not a regular file), ZP_EFORMAT
 * (over the cap), ZP_ENOMEM. Files whose size fstat reports as 0 although
 * they have content (procfs) read as empty: inputs are never such files. */
enum zp_status zp_file_read(const char *path, size_t max_bytes, const char *what, char **buf,
                            size_t *len, struct zp_err *err);

/* zp_file_read without a cap, returning the text (NULL with err set): the form
 * the result files' readers use (CSV tables, fragments, run.json). */
char *zp_file_read_text(const char *path, size_t *len, struct zp_err *err);

/* Checks that `path` names a readable regular file (the same messages as
 * zp_file_read), without reading it; *size receives its size if non-NULL. */
enum zp_status zp_file_check_regular(const char *path, size_t *size, struct zp_err *err);

/* Opens `path` for reading (O_RDONLY | O_CLOEXEC) and refuses a non-regular
 * file; returns the descriptor (caller closes) or -1 with err set. st_size, if
 * non-NULL, receives the size. Used by readers that stream (zlib, libpng). */
int zp_file_open_regular(const char *path, size_t *size, struct zp_err *err);

/* "a directory", "a character device", "a FIFO", ... for an st_mode. */
const char *zp_file_kind(unsigned mode);

#ifdef __cplusplus
}
#endif
#endif
