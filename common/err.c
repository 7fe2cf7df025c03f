/* Error recording: see err.h. */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum zp_status zp_err_set(struct zp_err *err, enum zp_status st, const char *fmt, ...)
{
    if (!err || err->status != ZP_OK)
        return st;
    err->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return st;
}

void zp_err_prefix(struct zp_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3)
        n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof err->msg - n - 3;
    strncpy(err->msg + n + 2, old, rest);
    err->msg[sizeof err->msg - 1] = '\0';
}

void zp_err_clear(struct zp_err *err)
{
    if (!err)
        return;
    err->status = ZP_OK;
    err->msg[0] = '\0';
}

const char *zp_status_str(enum zp_status st)
{
    switch (st) {
    case ZP_OK: return "ok";
    case ZP_EINVAL: return "invalid input";
    case ZP_ENOMEM: return "out of memory";
    case ZP_EIO: return "i/o error";
    case ZP_ECONFIG: return "configuration error";
    case ZP_EUNSUPPORTED: return "unsupported";
    case ZP_EFORMAT: return "corrupt or truncated file";
    case ZP_EINTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

void zp_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "%s:%d: internal error: assertion '%s' failed\n", file, line, expr);
    abort();
}
