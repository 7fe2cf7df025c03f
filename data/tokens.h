/* Token datasets for language models: windows of token ids, from a .npy int
 * array [N, T] or a raw little-endian uint16 token stream cut into windows of a
 * given length and stride (llama2.c's pretokenized .bin files). Every id is
 * checked against the vocabulary size; errors name the file and the byte
 * offset of the bad element. The language-model cells (experiment/lm_data.c)
 * read their datasets through it. */
#ifndef ZP_DATA_TOKENS_H
#define ZP_DATA_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

enum zp_tokens_format { ZP_TOKENS_NPY, ZP_TOKENS_U16 };

struct zp_tokens_spec {
    enum zp_tokens_format format;
    const char *path;
    int64_t window;  /* u16: tokens per window (required, >= 1); npy: 0 or T */
    int64_t stride;  /* u16: window k starts at token k * stride; 0 means window
                        (non-overlapping). npy: ignored */
    int64_t vocab;   /* > 0: every id must be < vocab; 0: only 0 <= id < 2^31 */
    int64_t skip;    /* the file's first skip windows are left out (before limit):
                        two parts of one file, e.g. calibration windows apart from
                        the evaluated ones */
    int64_t limit;   /* at most this many windows (0: all), in file order */
};

struct zp_tokens {
    int64_t n, t;    /* n windows of t tokens */
    int32_t *ids;    /* n * t, row-major; owned */
    int64_t stream;  /* u16: tokens in the stream (those past the last window
                        are not in any window); npy: n * t */
};

/* Reads spec.path (a regular file) and cuts it into windows. */
enum zp_status zp_tokens_load(const struct zp_tokens_spec *spec, struct zp_tokens *tk,
                              struct zp_err *err);
void zp_tokens_free(struct zp_tokens *tk);

/* The same on bytes held in memory; name is used in messages only (fuzzing,
 * tests). spec.path is ignored. */
enum zp_status zp_tokens_parse(const struct zp_tokens_spec *spec, const uint8_t *buf, size_t len,
                               const char *name, struct zp_tokens *tk, struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
