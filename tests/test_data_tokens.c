/* Token windows (data/tokens.h): .npy [N, T] and raw uint16 streams cut into
 * windows, the vocabulary bound, and errors naming the file and the byte
 * offset. Expected windows are written out by hand from the stream; the real
 * TinyStories stream is checked against the .npy windows and targets shipped
 * beside it (made independently, by sentencepiece and numpy). */
#include "tests/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokens.h"
#include "tests/data_files.h"

static const char *write_stream(const char *dir, const char *name, const uint16_t *ids, size_t n)
{
    uint8_t *b = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) { /* little-endian whatever the host */
        b[2 * i] = (uint8_t)(ids[i] & 0xff);
        b[2 * i + 1] = (uint8_t)(ids[i] >> 8);
    }
    const char *p = zp_td_tpath(dir, name);
    zp_td_write_bytes(p, b, 2 * n, 0);
    free(b);
    return p;
}

static void expect_windows(const struct zp_tokens_spec *s, int64_t n, int64_t t, const int32_t *want)
{
    struct zp_tokens tk;
    struct zp_err err = { 0 };
    if (zp_tokens_load(s, &tk, &err) != ZP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(tk.n, n);
    assert_int_equal(tk.t, t);
    for (int64_t i = 0; i < n * t; i++)
        if (tk.ids[i] != want[i])
            fail_msg("element %lld: %d, want %d", (long long)i, tk.ids[i], want[i]);
    zp_tokens_free(&tk);
}

static void expect_error(const struct zp_tokens_spec *s, enum zp_status st, const char *m1,
                         const char *m2)
{
    struct zp_tokens tk;
    struct zp_err err = { 0 };
    assert_int_equal(zp_tokens_load(s, &tk, &err), st);
    assert_null(tk.ids);
    zp_td_assert_err_mentions(&err, m1);
    if (m2)
        zp_td_assert_err_mentions(&err, m2);
}

static void test_u16_windows(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("tok_u16");
    const uint16_t ids[] = { 1, 300, 2, 511, 0, 7, 9, 258 }; /* 8 tokens */
    const char *p = write_stream(dir, "s.bin", ids, 8);
    struct zp_tokens_spec s = { .format = ZP_TOKENS_U16, .path = p, .window = 3, .vocab = 512 };
    /* stride 0 = window: [0..2], [3..5]; tokens 6, 7 are in no window */
    expect_windows(&s, 2, 3, (const int32_t[]){ 1, 300, 2, 511, 0, 7 });
    s.stride = 2; /* overlapping: starts 0, 2, 4 */
    expect_windows(&s, 3, 3, (const int32_t[]){ 1, 300, 2, 2, 511, 0, 0, 7, 9 });
    s.stride = 5; /* gaps: starts 0, 5 */
    expect_windows(&s, 2, 3, (const int32_t[]){ 1, 300, 2, 7, 9, 258 });
    s.limit = 1;
    expect_windows(&s, 1, 3, (const int32_t[]){ 1, 300, 2 });
    s.limit = 0;
    s.skip = 1; /* skip counts windows, then limit: starts 5 only */
    expect_windows(&s, 1, 3, (const int32_t[]){ 7, 9, 258 });
    s.stride = 2; /* starts 2, 4 after skipping 0; limit 1: 2 */
    s.limit = 1;
    expect_windows(&s, 1, 3, (const int32_t[]){ 2, 511, 0 });
    s.limit = 0;
    s.skip = 3;
    expect_error(&s, ZP_EFORMAT, "skip 3 leaves none of the stream's 3 windows", NULL);
    s.skip = -1;
    expect_error(&s, ZP_ECONFIG, "skip", NULL);
    s.skip = 0;
    s.window = 8;
    s.stride = 0;
    expect_windows(&s, 1, 8, (const int32_t[]){ 1, 300, 2, 511, 0, 7, 9, 258 });
    struct zp_tokens tk;
    struct zp_err err = { 0 };
    assert_int_equal(zp_tokens_load(&s, &tk, &err), ZP_OK);
    assert_int_equal(tk.stream, 8);
    zp_tokens_free(&tk);

    /* errors: vocab bound (token 3 = 511 at byte offset 6), short stream, odd size */
    s.vocab = 511;
    expect_error(&s, ZP_EFORMAT, "s.bin: byte offset 6 (token 3)", "id 511, expected 0..510");
    s.vocab = 512;
    s.window = 9;
    expect_error(&s, ZP_EFORMAT, "s.bin: 8 tokens, fewer than one window of 9", NULL);
    s.window = 3;
    uint8_t odd[5] = { 1, 0, 2, 0, 3 };
    zp_td_write_bytes(zp_td_tpath(dir, "odd.bin"), odd, sizeof odd, 0);
    s.path = zp_td_tpath(dir, "odd.bin");
    expect_error(&s, ZP_EFORMAT, "odd.bin: 5 bytes", "offset 4");
    s.path = zp_td_tpath(dir, "none.bin");
    expect_error(&s, ZP_EIO, "none.bin", NULL);
    s.path = dir;
    expect_error(&s, ZP_EIO, "not a regular file", NULL);
    s.path = p;
    s.window = 0;
    expect_error(&s, ZP_ECONFIG, "window", NULL);
    s.window = 3;
    s.stride = -1;
    expect_error(&s, ZP_ECONFIG, "stride", NULL);
    /* a gzip-looking first id is a token, not a gzip header */
    const uint16_t gz[] = { 0x8b1f, 0x0008, 5 };
    s.path = write_stream(dir, "gz.bin", gz, 3);
    s.stride = 0;
    s.vocab = 0;
    expect_windows(&s, 1, 3, (const int32_t[]){ 0x8b1f, 8, 5 });
}

static void test_npy_windows(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("tok_npy");
    const int64_t w[6] = { 1, 5, 9, 2, 0, 511 };
    const char *p = zp_td_tpath(dir, "w.npy");
    zp_td_write_npy(p, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }", w, sizeof w);
    struct zp_tokens_spec s = { .format = ZP_TOKENS_NPY, .path = p, .vocab = 512 };
    expect_windows(&s, 2, 3, (const int32_t[]){ 1, 5, 9, 2, 0, 511 });
    s.window = 3;
    s.limit = 1;
    expect_windows(&s, 1, 3, (const int32_t[]){ 1, 5, 9 });
    s.limit = 0;
    s.skip = 1;
    expect_windows(&s, 1, 3, (const int32_t[]){ 2, 0, 511 });
    s.skip = 2;
    expect_error(&s, ZP_EFORMAT, "skip 2 leaves none of the file's 2 windows", NULL);
    s.skip = 0;
    s.window = 4;
    expect_error(&s, ZP_EFORMAT, "windows of 3 tokens, expected 4", NULL);
    s.window = 0;
    /* header 10 + 118 bytes (padded to 64), element 5 at 128 + 40 */
    s.vocab = 100;
    expect_error(&s, ZP_EFORMAT, "w.npy: byte offset 168 (token 5, window 1 position 2)",
                 "id 511, expected 0..99");
    s.vocab = 512;
    const int64_t neg[2] = { 3, -1 };
    s.path = zp_td_tpath(dir, "neg.npy");
    zp_td_write_npy(s.path, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), }", neg,
                    sizeof neg);
    expect_error(&s, ZP_EFORMAT, "byte offset 136 (token 1, window 0 position 1)", "id -1");
    const float f[2] = { 1, 2 };
    s.path = zp_td_tpath(dir, "f.npy");
    zp_td_write_npy(s.path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", f, sizeof f);
    expect_error(&s, ZP_EFORMAT, "f.npy: token ids: expected an integer array", NULL);
    const int32_t flat[3] = { 1, 2, 3 };
    s.path = zp_td_tpath(dir, "flat.npy");
    zp_td_write_npy(s.path, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", flat,
                    sizeof flat);
    expect_error(&s, ZP_EFORMAT, "flat.npy: token windows: expected a [N, T] array", NULL);
    s.path = zp_td_tpath(dir, "short.npy"); /* header promises more than the file holds */
    zp_td_write_npy(s.path, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }", w, 16);
    expect_error(&s, ZP_EFORMAT, "short.npy", NULL);
}

/* The shared TinyStories stream: window k = stream[513 k : 513 k + 513], so its
 * first 512 tokens are tokens.npy[k] and its last 512 targets.npy[k]
 * (tinystories/README.md). */
static void test_tinystories_stream(void **state)
{
    (void)state;
    const char *root = zp_test_shared_data();
    char bin[4096], tok[4096], tgt[4096];
    snprintf(bin, sizeof bin, "%s/tinystories/tinystories_val_tokens.bin", root ? root : "");
    snprintf(tok, sizeof tok, "%s/tinystories/tinystories_val_tokens.npy", root ? root : "");
    snprintf(tgt, sizeof tgt, "%s/tinystories/tinystories_val_targets.npy", root ? root : "");
    FILE *f = root ? fopen(bin, "rb") : NULL;
    if (!f) {
        print_message("skipped: %s not found (the shared TinyStories data is absent)\n",
                      root ? bin : "../shared/data");
        skip();
    }
    fclose(f);
    struct zp_tokens_spec s = { .format = ZP_TOKENS_U16, .path = bin, .window = 513, .vocab = 512 };
    struct zp_tokens st, in, out;
    struct zp_err err = { 0 };
    if (zp_tokens_load(&s, &st, &err) != ZP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(st.stream, 384958);
    assert_int_equal(st.n, 750);
    struct zp_tokens_spec sn = { .format = ZP_TOKENS_NPY, .path = tok, .window = 512, .vocab = 512 };
    if (zp_tokens_load(&sn, &in, &err) != ZP_OK)
        fail_msg("%s", err.msg);
    sn.path = tgt;
    if (zp_tokens_load(&sn, &out, &err) != ZP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(in.n, 750);
    assert_int_equal(out.n, 750);
    for (int64_t k = 0; k < 750; k++) {
        assert_memory_equal(in.ids + k * 512, st.ids + k * 513, 512 * sizeof(int32_t));
        assert_memory_equal(out.ids + k * 512, st.ids + k * 513 + 1, 512 * sizeof(int32_t));
    }
    /* vocab 300 must fail: byte-fallback ids reach 258, sentencepiece pieces beyond */
    s.vocab = 300;
    struct zp_tokens bad;
    assert_int_equal(zp_tokens_load(&s, &bad, &err), ZP_EFORMAT);
    zp_td_assert_err_mentions(&err, "tinystories_val_tokens.bin: byte offset");
    zp_tokens_free(&st);
    zp_tokens_free(&in);
    zp_tokens_free(&out);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_u16_windows),
        cmocka_unit_test(test_npy_windows),
        cmocka_unit_test(test_tinystories_stream),
    };
    return ZP_RUN_TESTS(t);
}
