/* Aligned allocation (64 bytes: one cache line, one zmm register). */
#ifndef ZP_COMMON_MEM_H
#define ZP_COMMON_MEM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Returns NULL on failure or overflow; release with zp_free (NULL is a no-op). */
void *zp_alloc(size_t bytes);
void *zp_calloc(size_t count, size_t size);
void zp_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
