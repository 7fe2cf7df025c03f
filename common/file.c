/* Whole-file reads: see file.h. Reading with the size from fstat (instead of
 * reading until EOF) is what makes /dev/zero or a growing file harmless, and
 * checking S_ISREG first is what keeps a FIFO without a writer from hanging. */
#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

size_t zp_file_model_max_bytes(void)
{
    size_t def = (size_t)ZP_MODEL_MAX_MB_DEFAULT << 20;
    const char *s = getenv("ZP_MAX_MODEL_MB");
    if (!s || !*s)
        return def;
    char *end = NULL;
    errno = 0;
    unsigned long long mb = strtoull(s, &end, 10);
    if (errno || *end || mb == 0 || s[0] == '-' || mb > (SIZE_MAX >> 20))
        return def;
    return (size_t)mb << 20;
}

const char *zp_file_kind(unsigned mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a file";
}

int zp_file_open_regular(const char *path, size_t *size, struct zp_err *err)
{
    if (!path || !*path) {
        zp_err_set(err, ZP_EIO, "cannot open a file with an empty name");
        return -1;
    }
    /* O_NONBLOCK: opening a FIFO without a writer returns at once (then the
     * fstat check refuses it) instead of blocking forever. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        zp_err_set(err, ZP_EIO, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        zp_err_set(err, ZP_EIO, "%s: cannot stat: %s", path, strerror(e));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        zp_err_set(err, ZP_EIO, "%s: not a regular file (%s)", path, zp_file_kind(st.st_mode));
        return -1;
    }
    /* Back to blocking reads for a regular file (O_NONBLOCK has no effect on
     * them on Linux, but a reader should not depend on that). */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if (size)
        *size = (size_t)st.st_size;
    return fd;
}

enum zp_status zp_file_check_regular(const char *path, size_t *size, struct zp_err *err)
{
    int fd = zp_file_open_regular(path, size, err);
    if (fd < 0)
        return err ? err->status : ZP_EIO;
    close(fd);
    return ZP_OK;
}

enum zp_status zp_file_read(const char *path, size_t max_bytes, const char *what, char **buf,
                            size_t *len, struct zp_err *err)
{
    *buf = NULL;
    if (len)
        *len = 0;
    size_t n = 0;
    int fd = zp_file_open_regular(path, &n, err);
    if (fd < 0)
        return err && err->status ? err->status : ZP_EIO;
    if (max_bytes && n > max_bytes) {
        close(fd);
        if (max_bytes >= ((size_t)1 << 20))
            return zp_err_set(err, ZP_EFORMAT, "%s: %zu bytes: larger than the %zu MiB %s limit", path,
                              n, max_bytes >> 20, what ? what : "file");
        return zp_err_set(err, ZP_EFORMAT, "%s: %zu bytes: larger than the %zu-byte %s limit", path, n,
                          max_bytes, what ? what : "file");
    }
    char *b = malloc(n + 1);
    if (!b) {
        close(fd);
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory (%zu bytes)", path, n + 1);
    }
    size_t off = 0;
    while (off < n) {
        size_t want = n - off;
        if (want > ((size_t)1 << 30))
            want = (size_t)1 << 30;
        ssize_t r = read(fd, b + off, want);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(b);
            close(fd);
            return zp_err_set(err, ZP_EIO, "%s: read error after %zu bytes: %s", path, off, strerror(e));
        }
        if (r == 0) {
            free(b);
            close(fd);
            return zp_err_set(err, ZP_EIO, "%s: file shrank while being read (%zu of %zu bytes)", path,
                              off, n);
        }
        off += (size_t)r;
    }
    close(fd);
    b[n] = '\0';
    *buf = b;
    if (len)
        *len = n;
    return ZP_OK;
}

char *zp_file_read_text(const char *path, size_t *len, struct zp_err *err)
{
    char *buf = NULL;
    size_t n = 0;
    if (zp_file_read(path, 0, NULL, &buf, &n, err) != ZP_OK)
        return NULL;
    if (len)
        *len = n;
    return buf;
}
