/* The file-system helpers of store/: atomic whole-file writes, whole-file reads,
 * mkdir -p. They are here, in one place, until common/ has them (common/atomic.h,
 * common/file.h, common/path.h on branch h_robust); then this file becomes a few
 * forwarding lines or goes. */
#ifndef ZP_STORE_STORE_FS_H
#define ZP_STORE_STORE_FS_H

#include <stddef.h>

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes a whole file atomically: PATH.tmp.<pid>, write, fsync, rename over PATH,
 * fsync of the folder. A reader sees the old file or the new one, never a part;
 * on failure PATH is unchanged and the message names the step and the errno text
 * ("results/x/run.json.tmp.12: write failed: No space left on device"). */
enum zp_status zp_write_atomic(const char *path, const char *data, size_t len, struct zp_err *err);

/* Reads a whole regular file (NUL-terminated, *len without the NUL); NULL and err
 * set when it can't (the errno text named), or when it is not a regular file. */
char *zp_store_read_file(const char *path, size_t *len, struct zp_err *err);

/* mkdir -p; 0 or -1 with errno set. */
int zp_store_mkdir_p(const char *path);

#ifdef __cplusplus
}
#endif
#endif
