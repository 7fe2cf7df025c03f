/* Atomic file replacement: a reader (or a crash, or a full disk) sees either
 * the old file or the complete new one, never a prefix. The data goes to a
 * temporary name in the same folder ("PATH.tmp.PID", same file system so the
 * rename is atomic), is flushed and fsync'ed, then renamed over PATH. Every
 * failure removes the temporary file and names the errno text. */
#ifndef ZP_COMMON_ATOMIC_H
#define ZP_COMMON_ATOMIC_H

#include <stddef.h>
#include <stdio.h>

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes len bytes to path atomically. */
enum zp_status zp_file_write_atomic(const char *path, const void *data, size_t len,
                                    struct zp_err *err);

/* The streaming form, for writers that fprintf:
 *   struct zp_atomic_file af;
 *   if (zp_atomic_open(&af, path, err)) return err->status;
 *   fprintf(af.f, ...);
 *   return zp_atomic_commit(&af, err);     (or zp_atomic_abort(&af) to give up)
 * commit checks ferror, fflush, fsync, fclose and rename; either call frees
 * the temporary name and leaves PATH untouched on failure. */
struct zp_atomic_file {
    FILE *f;       /* write here */
    char *path;    /* final name; owned */
    char *tmp;     /* temporary name; owned */
};
enum zp_status zp_atomic_open(struct zp_atomic_file *af, const char *path, struct zp_err *err);
enum zp_status zp_atomic_commit(struct zp_atomic_file *af, struct zp_err *err);
void zp_atomic_abort(struct zp_atomic_file *af);

#ifdef __cplusplus
}
#endif
#endif
