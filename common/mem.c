#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

void *zp_alloc(size_t bytes)
{
    if (bytes == 0)
        bytes = 64;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes)
        return NULL;
    return aligned_alloc(64, rounded);
}

void *zp_calloc(size_t count, size_t size)
{
    if (size && count > (size_t)-1 / size)
        return NULL;
    void *p = zp_alloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void zp_free(void *p) { free(p); }
