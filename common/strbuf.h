/* A growable string (or byte buffer). Appends never fail loudly: an allocation
 * failure sets `oom`, later appends are no-ops, and the owner checks `oom` once
 * at the end (so building code stays linear). The text is always NUL-
 * terminated once anything was appended; s is NULL for an empty buffer.
 * Initialise with `struct zp_strbuf b = {0};`, release with zp_strbuf_free. */
#ifndef ZP_COMMON_STRBUF_H
#define ZP_COMMON_STRBUF_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct zp_strbuf {
    char *s;       /* len bytes + NUL; owned */
    size_t len;    /* bytes used, without the NUL */
    size_t cap;    /* bytes allocated */
    int oom;       /* an allocation failed: the content is incomplete */
};

void zp_strbuf_append(struct zp_strbuf *b, const void *data, size_t n);
void zp_strbuf_puts(struct zp_strbuf *b, const char *s);
void zp_strbuf_putc(struct zp_strbuf *b, char c);
void zp_strbuf_printf(struct zp_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties the buffer, keeping its memory (and clearing oom). */
void zp_strbuf_reset(struct zp_strbuf *b);
/* Hands the text to the caller (malloc'd, "" for an empty buffer; NULL on oom)
 * and leaves b empty. */
char *zp_strbuf_take(struct zp_strbuf *b);
void zp_strbuf_free(struct zp_strbuf *b);

#ifdef __cplusplus
}
#endif
#endif
