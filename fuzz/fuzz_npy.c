/* libFuzzer target: the .npy header parser (data/npy.c) on arbitrary bytes,
 * then every element converted through zp_npy_get: ASan flags any read past
 * what the header promised and the parser checked. */
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zp_npy npy;
    struct zp_err err = { 0 };
    if (zp_npy_parse(data, size, "fuzz.npy", &npy, &err) != ZP_OK) {
        ZP_ASSERT(err.status != ZP_OK && err.msg[0] != '\0');
        return 0;
    }
    ZP_ASSERT(npy.data >= data && npy.data + (size_t)npy.count * (size_t)npy.item_size <= data + size);
    double sum = 0;
    for (int64_t i = 0; i < npy.count; i++)
        sum += zp_npy_get(&npy, i);
    return (int)(sum != sum) & 0;
}
