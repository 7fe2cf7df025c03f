/* Path helpers: the last component of a path, its name without extension, and
 * `mkdir -p`. No fixed-size buffers: paths of any length work. */
#ifndef ZP_COMMON_PATH_H
#define ZP_COMMON_PATH_H

#include <stddef.h>

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The part after the last '/' ("a/b/c.onnx" -> "c.onnx", "c.onnx" -> itself,
 * "a/b/" -> ""). Borrowed: points into path. Unlike POSIX basename() it never
 * modifies its argument. */
const char *zp_path_basename(const char *path);

/* The basename without its last extension ("a/b/c.onnx" -> "c", "a/.rc" ->
 * ".rc", "x.tar.gz" -> "x.tar") written to out (truncated to size - 1 bytes,
 * always NUL-terminated). Returns the full length the stem needs (like
 * snprintf), so a caller can detect truncation. */
size_t zp_path_stem(const char *path, char *out, size_t size);

/* Creates the directory and every missing parent (mode 0755 before umask), as
 * `mkdir -p`: an existing directory is fine, an existing non-directory is an
 * error. err names the component that failed and the errno text. */
enum zp_status zp_mkdir_p(const char *path, struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
