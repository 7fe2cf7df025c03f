/* Atomic file replacement: see atomic.h. */
#include "common/atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void release(struct zp_atomic_file *af)
{
    free(af->path);
    free(af->tmp);
    af->path = af->tmp = NULL;
    af->f = NULL;
}

enum zp_status zp_atomic_open(struct zp_atomic_file *af, const char *path, struct zp_err *err)
{
    memset(af, 0, sizeof *af);
    size_t n = strlen(path);
    af->path = malloc(n + 1);
    af->tmp = malloc(n + 32);
    if (!af->path || !af->tmp) {
        release(af);
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
    }
    memcpy(af->path, path, n + 1);
    snprintf(af->tmp, n + 32, "%s.tmp.%d", path, (int)getpid());
    af->f = fopen(af->tmp, "wb");
    if (!af->f) {
        int e = errno;
        zp_err_set(err, ZP_EIO, "%s: cannot create: %s", af->tmp, strerror(e));
        release(af);
        return ZP_EIO;
    }
    return ZP_OK;
}

void zp_atomic_abort(struct zp_atomic_file *af)
{
    if (af->f)
        fclose(af->f);
    if (af->tmp)
        unlink(af->tmp);
    release(af);
}

/* fsync of the folder holding path, so that the rename itself survives a crash
 * (best effort: some file systems refuse fsync on a folder). */
static void sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

enum zp_status zp_atomic_commit(struct zp_atomic_file *af, struct zp_err *err)
{
    if (!af->f)
        return zp_err_set(err, ZP_EINVAL, "atomic write committed twice or never opened");
    /* ferror first: a failed fprintf (ENOSPC) sets it and the errno may be stale
     * by now, so fflush's errno is the one reported when it fails too. */
    int bad = ferror(af->f);
    errno = 0;
    if (fflush(af->f) != 0 || bad) {
        int e = errno ? errno : EIO;
        zp_err_set(err, ZP_EIO, "%s: write failed: %s", af->tmp, strerror(e));
        zp_atomic_abort(af);
        return ZP_EIO;
    }
    if (fsync(fileno(af->f)) != 0) {
        int e = errno;
        zp_err_set(err, ZP_EIO, "%s: cannot flush to disk: %s", af->tmp, strerror(e));
        zp_atomic_abort(af);
        return ZP_EIO;
    }
    FILE *f = af->f;
    af->f = NULL;
    if (fclose(f) != 0) {
        int e = errno;
        zp_err_set(err, ZP_EIO, "%s: cannot close: %s", af->tmp, strerror(e));
        zp_atomic_abort(af);
        return ZP_EIO;
    }
    if (rename(af->tmp, af->path) != 0) {
        int e = errno;
        zp_err_set(err, ZP_EIO, "%s: cannot replace: %s", af->path, strerror(e));
        zp_atomic_abort(af);
        return ZP_EIO;
    }
    sync_parent(af->path);
    release(af);
    return ZP_OK;
}

enum zp_status zp_file_write_atomic(const char *path, const void *data, size_t len, struct zp_err *err)
{
    struct zp_atomic_file af;
    enum zp_status st = zp_atomic_open(&af, path, err);
    if (st)
        return st;
    if (len && fwrite(data, 1, len, af.f) != len) {
        int e = errno ? errno : EIO;
        zp_err_set(err, ZP_EIO, "%s: write failed: %s", af.tmp, strerror(e));
        zp_atomic_abort(&af);
        return ZP_EIO;
    }
    return zp_atomic_commit(&af, err);
}
