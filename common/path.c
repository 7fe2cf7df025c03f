/* Path helpers: see path.h. */
#include "common/path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *zp_path_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

size_t zp_path_stem(const char *path, char *out, size_t size)
{
    const char *b = zp_path_basename(path);
    const char *dot = strrchr(b, '.');
    size_t n = (dot && dot != b) ? (size_t)(dot - b) : strlen(b);
    if (size) {
        size_t c = n < size - 1 ? n : size - 1;
        memcpy(out, b, c);
        out[c] = '\0';
    }
    return n;
}

static enum zp_status make_one(const char *dir, struct zp_err *err)
{
    if (mkdir(dir, 0755) == 0)
        return ZP_OK;
    int e = errno;
    struct stat st;
    if (e == EEXIST) {
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            return ZP_OK;
        return zp_err_set(err, ZP_EIO, "%s: cannot create directory: exists and is not a directory", dir);
    }
    return zp_err_set(err, ZP_EIO, "%s: cannot create directory: %s", dir, strerror(e));
}

enum zp_status zp_mkdir_p(const char *path, struct zp_err *err)
{
    if (!path || !*path)
        return zp_err_set(err, ZP_EINVAL, "cannot create a directory with an empty name");
    size_t n = strlen(path);
    char *buf = malloc(n + 1);
    if (!buf)
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
    memcpy(buf, path, n + 1);
    while (n > 1 && buf[n - 1] == '/') /* "a/b/" is "a/b" */
        buf[--n] = '\0';
    enum zp_status st = ZP_OK;
    for (char *p = buf + 1; *p && st == ZP_OK; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        st = make_one(buf, err);
        *p = '/';
    }
    if (st == ZP_OK)
        st = make_one(buf, err);
    free(buf);
    return st;
}
