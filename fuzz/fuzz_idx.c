/* libFuzzer target: the IDX parser (data/idx.c) on arbitrary bytes. A parse
 * that succeeds must describe a payload that lies inside the buffer: every
 * byte it points to is read, so ASan flags any overrun. */
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zp_idx idx;
    struct zp_err err = { 0 };
    if (zp_idx_parse(data, size, "fuzz.idx", &idx, &err) != ZP_OK) {
        ZP_ASSERT(err.status != ZP_OK && err.msg[0] != '\0');
        return 0;
    }
    static const int esize[16] = { [0x08] = 1, [0x09] = 1, [0x0B] = 2, [0x0C] = 4, [0x0D] = 4, [0x0E] = 8 };
    ZP_ASSERT(idx.type < 16 && esize[idx.type] > 0);
    size_t bytes = (size_t)idx.count * (size_t)esize[idx.type];
    ZP_ASSERT(idx.data >= data && idx.data + bytes <= data + size);
    unsigned sum = 0;
    for (size_t i = 0; i < bytes; i++)
        sum += idx.data[i];
    return (int)(sum & 0);
}
