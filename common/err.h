/* Status codes and error messages shared by every module.
 * Functions that can fail on user input return enum zp_status and fill a
 * struct zp_err whose message names the file, JSON path or tensor at fault.
 * Only harness/main.c prints errors or decides exit codes. */
#ifndef ZP_COMMON_ERR_H
#define ZP_COMMON_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

enum zp_status {
    ZP_OK = 0,
    ZP_EINVAL,       /* bad argument or bad numeric input (NaN, Inf, empty) */
    ZP_ENOMEM,       /* allocation failed */
    ZP_EIO,          /* a file could not be read or written */
    ZP_ECONFIG,      /* a config or command-line value is wrong: exit code 2 */
    ZP_EUNSUPPORTED, /* valid input the harness does not handle (an ONNX op, an ISA) */
    ZP_EFORMAT,      /* a file is truncated or corrupt */
    ZP_EINTERRUPTED, /* stopped by SIGINT / SIGTERM; finished work is kept (exit code 1) */
};

struct zp_err {
    enum zp_status status;
    char msg[1024];
};

/* Records the first error: a later call does not overwrite an earlier message,
 * so the innermost (most specific) cause survives. Returns st. err may be NULL. */
enum zp_status zp_err_set(struct zp_err *err, enum zp_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (adds context while unwinding). */
void zp_err_prefix(struct zp_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void zp_err_clear(struct zp_err *err);
const char *zp_status_str(enum zp_status st);

/* Aborts with file:line on a programmer error; stays on in release builds. */
#define ZP_ASSERT(x) \
    ((x) ? (void)0 : zp_assert_fail(#x, __FILE__, __LINE__))
void zp_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif
#endif
