/* libFuzzer target: the token-window readers (data/tokens.c) on arbitrary
 * bytes. The first 4 bytes pick the format, window, stride and vocabulary
 * bound; the rest is the file. Every window read must lie inside the stream,
 * every id within the bound (ASan flags reads past the buffer). */
#include <stddef.h>
#include <stdint.h>

#include "data/tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    struct zp_tokens_spec s = { 0 };
    s.format = data[0] & 1 ? ZP_TOKENS_U16 : ZP_TOKENS_NPY;
    s.window = data[1] % 17;         /* 0 is refused for u16, "any" for npy */
    s.stride = (data[2] % 19) - 1;   /* -1 is refused */
    s.vocab = data[3] & 0x80 ? 0 : (int64_t)(data[3] & 0x7f) << (data[0] >> 4);
    s.limit = data[0] & 2 ? 3 : 0;
    struct zp_tokens tk;
    struct zp_err err = { 0 };
    if (zp_tokens_parse(&s, data + 4, size - 4, "fuzz.tok", &tk, &err) != ZP_OK) {
        ZP_ASSERT(err.status != ZP_OK && err.msg[0] != '\0' && !tk.ids);
        return 0;
    }
    ZP_ASSERT(tk.n >= 1 && tk.t >= 1 && (s.limit == 0 || tk.n <= s.limit));
    int64_t hi = s.vocab > 0 ? s.vocab : (int64_t)1 << 31;
    for (int64_t i = 0; i < tk.n * tk.t; i++)
        ZP_ASSERT(tk.ids[i] >= 0 && tk.ids[i] < hi);
    zp_tokens_free(&tk);
    return 0;
}
