/* The common/ utilities: whole-file read (regular files only, size from fstat,
 * caps, errno text), basename and stem, mkdir -p, the growable string, choice
 * lists and atomic replacement. Inputs are made by the tests themselves. */
#include "tests/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomic.h"
#include "common/choice.h"
#include "common/file.h"
#include "common/path.h"
#include "common/shared_object.h"
#include "common/strbuf.h"

static char *tpath(const char *dir, const char *name)
{
    static char buf[8][4096];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

static void expect_msg(const struct zp_err *err, const char *want)
{
    if (!strstr(err->msg, want))
        fail_msg("message \"%s\" lacks \"%s\"", err->msg, want);
}

/* ------------------------------------------------------------ file read --- */

static void test_read_regular(void **state)
{
    (void)state;
    const char *d = zp_test_tmpdir("common_read");
    const char *p = tpath(d, "a.bin");
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    const char data[] = {'a', 0, 'b', '\n', (char)0xff};
    assert_int_equal(fwrite(data, 1, sizeof data, f), sizeof data);
    fclose(f);
    struct zp_err err = {0};
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(zp_file_read(p, 0, NULL, &buf, &len, &err), ZP_OK);
    assert_int_equal(len, sizeof data);
    assert_memory_equal(buf, data, sizeof data);
    assert_int_equal(buf[len], '\0'); /* always terminated */
    free(buf);
    /* An empty file reads as zero bytes, still a valid string. */
    zp_test_write_file(tpath(d, "empty"), "");
    assert_int_equal(zp_file_read(tpath(d, "empty"), 0, NULL, &buf, &len, &err), ZP_OK);
    assert_int_equal(len, 0);
    assert_string_equal(buf, "");
    free(buf);
    size_t sz = 0;
    assert_int_equal(zp_file_check_regular(p, &sz, &err), ZP_OK);
    assert_int_equal(sz, sizeof data);
}

static void test_read_missing_names_errno(void **state)
{
    (void)state;
    struct zp_err err = {0};
    char *buf = (char *)1;
    assert_int_equal(zp_file_read("/nonexistent/m.onnx", 0, NULL, &buf, NULL, &err), ZP_EIO);
    assert_null(buf);
    expect_msg(&err, "/nonexistent/m.onnx: cannot open: ");
    expect_msg(&err, strerror(ENOENT));
    zp_err_clear(&err);
    assert_int_equal(zp_file_read("", 0, NULL, &buf, NULL, &err), ZP_EIO);
    expect_msg(&err, "empty name");
}

static void test_read_refuses_non_regular(void **state)
{
    (void)state;
    struct zp_err err = {0};
    char *buf = NULL;
    /* /dev/zero would otherwise be read until memory runs out. */
    assert_int_equal(zp_file_read("/dev/zero", 0, NULL, &buf, NULL, &err), ZP_EIO);
    assert_null(buf);
    expect_msg(&err, "/dev/zero: not a regular file (a character device)");
    zp_err_clear(&err);
    const char *d = zp_test_tmpdir("common_dir");
    assert_int_equal(zp_file_read(d, 0, NULL, &buf, NULL, &err), ZP_EIO);
    expect_msg(&err, d);
    expect_msg(&err, "not a regular file (a directory)");
    /* A FIFO without a writer: refused at once instead of blocking forever. */
    const char *fifo = tpath(d, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    zp_err_clear(&err);
    assert_int_equal(zp_file_check_regular(fifo, NULL, &err), ZP_EIO);
    expect_msg(&err, "not a regular file (a FIFO)");
}

static void test_read_cap(void **state)
{
    (void)state;
    const char *d = zp_test_tmpdir("common_cap");
    const char *p = tpath(d, "ten");
    zp_test_write_file(p, "0123456789");
    struct zp_err err = {0};
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(zp_file_read(p, 10, "test file", &buf, &len, &err), ZP_OK); /* at the cap */
    free(buf);
    assert_int_equal(zp_file_read(p, 9, "test file", &buf, &len, &err), ZP_EFORMAT);
    assert_null(buf);
    expect_msg(&err, "10 bytes: larger than the 9-byte test file limit");
}

static void test_model_cap_env(void **state)
{
    (void)state;
    unsetenv("ZP_MAX_MODEL_MB");
    assert_int_equal(zp_file_model_max_bytes(), (size_t)ZP_MODEL_MAX_MB_DEFAULT << 20);
    setenv("ZP_MAX_MODEL_MB", "3", 1);
    assert_int_equal(zp_file_model_max_bytes(), (size_t)3 << 20);
    setenv("ZP_MAX_MODEL_MB", "-1", 1);
    assert_int_equal(zp_file_model_max_bytes(), (size_t)ZP_MODEL_MAX_MB_DEFAULT << 20);
    setenv("ZP_MAX_MODEL_MB", "12x", 1);
    assert_int_equal(zp_file_model_max_bytes(), (size_t)ZP_MODEL_MAX_MB_DEFAULT << 20);
    setenv("ZP_MAX_MODEL_MB", "0", 1);
    assert_int_equal(zp_file_model_max_bytes(), (size_t)ZP_MODEL_MAX_MB_DEFAULT << 20);
    unsetenv("ZP_MAX_MODEL_MB");
}

/* ------------------------------------------------------------ paths --- */

static void test_basename_stem(void **state)
{
    (void)state;
    assert_string_equal(zp_path_basename("a/b/c.onnx"), "c.onnx");
    assert_string_equal(zp_path_basename("c.onnx"), "c.onnx");
    assert_string_equal(zp_path_basename("/c"), "c");
    assert_string_equal(zp_path_basename("a/b/"), "");
    char s[8];
    assert_int_equal(zp_path_stem("models/fashion.onnx", s, sizeof s), 7);
    assert_string_equal(s, "fashion");
    assert_int_equal(zp_path_stem("x.tar.gz", s, sizeof s), 5);
    assert_string_equal(s, "x.tar");
    assert_int_equal(zp_path_stem("dir.d/.rc", s, sizeof s), 3); /* a leading dot is no extension */
    assert_string_equal(s, ".rc");
    assert_int_equal(zp_path_stem("dir.d/noext", s, sizeof s), 5);
    assert_string_equal(s, "noext");
    /* Truncated, terminated, and the return says how long it should be. */
    assert_int_equal(zp_path_stem("a/mobilenet_v1.onnx", s, sizeof s), 12);
    assert_string_equal(s, "mobilen");
}

static void test_mkdir_p(void **state)
{
    (void)state;
    const char *d = zp_test_tmpdir("common_mkdir");
    struct zp_err err = {0};
    const char *deep = tpath(d, "a/b//c/");
    assert_int_equal(zp_mkdir_p(deep, &err), ZP_OK);
    struct stat st;
    assert_int_equal(stat(tpath(d, "a/b/c"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(zp_mkdir_p(deep, &err), ZP_OK); /* existing: fine */
    /* A path longer than any fixed buffer the old copies had (1024 bytes). */
    char *longp = malloc(3000);
    int n = snprintf(longp, 3000, "%s", d);
    while (n < 2000)
        n += snprintf(longp + n, 3000 - (size_t)n, "/%s", "abcdefghijklmnopqrstuvwxyz0123456789");
    assert_int_equal(zp_mkdir_p(longp, &err), ZP_OK);
    assert_int_equal(stat(longp, &st), 0);
    free(longp);
    /* A file in the way is an error naming it. */
    zp_test_write_file(tpath(d, "file"), "x");
    assert_int_equal(zp_mkdir_p(tpath(d, "file/sub"), &err), ZP_EIO);
    expect_msg(&err, "/file: cannot create directory: exists and is not a directory"); /* the part at fault */
    zp_err_clear(&err);
    assert_int_equal(zp_mkdir_p(tpath(d, "file"), &err), ZP_EIO);
    expect_msg(&err, "exists and is not a directory");
}

/* ------------------------------------------------------------ strbuf --- */

static void test_strbuf(void **state)
{
    (void)state;
    struct zp_strbuf b = {0};
    char *e = zp_strbuf_take(&b);
    assert_string_equal(e, ""); /* an empty buffer is "", not NULL */
    free(e);
    zp_strbuf_puts(&b, "x=");
    zp_strbuf_printf(&b, "%d,%s", 42, "y");
    zp_strbuf_putc(&b, '!');
    zp_strbuf_append(&b, "\0z", 2); /* bytes, NUL included */
    assert_int_equal(b.len, 9);
    assert_memory_equal(b.s, "x=42,y!\0z", 9);
    assert_int_equal(b.s[b.len], '\0');
    /* Grows past many doublings with the content intact. */
    zp_strbuf_reset(&b);
    assert_int_equal(b.len, 0);
    for (int i = 0; i < 20000; i++)
        zp_strbuf_printf(&b, "%05d", i);
    assert_false(b.oom);
    assert_int_equal(b.len, 100000);
    assert_memory_equal(b.s + 5 * 12345, "12345", 5);
    char *t = zp_strbuf_take(&b);
    assert_null(b.s);
    assert_int_equal(b.len, 0);
    assert_int_equal(strlen(t), 100000);
    free(t);
    zp_strbuf_free(&b);
}

/* ------------------------------------------------------------ choices --- */

static void test_choices(void **state)
{
    (void)state;
    const char *c = "minmax|percentile|mse";
    assert_int_equal(zp_choice_find(c, "minmax"), 0);
    assert_int_equal(zp_choice_find(c, "mse"), 2);
    assert_int_equal(zp_choice_find(c, "ms"), -1);  /* prefixes are not matches */
    assert_int_equal(zp_choice_find(c, "mse2"), -1);
    assert_int_equal(zp_choice_find(c, ""), -1);
    assert_int_equal(zp_choice_find(NULL, "x"), -1);
    assert_int_equal(zp_choice_find("a||b", ""), 1);
    assert_int_equal(zp_choice_count(c), 3);
    assert_int_equal(zp_choice_count("one"), 1);
    assert_int_equal(zp_choice_count(NULL), 0);
    char w[8];
    assert_int_equal(zp_choice_name(c, 1, w, sizeof w), 0);
    assert_string_equal(w, "percent"); /* truncated to the buffer */
    assert_int_equal(zp_choice_name(c, 2, w, sizeof w), 0);
    assert_string_equal(w, "mse");
    assert_int_equal(zp_choice_name(c, 3, w, sizeof w), -1);
    assert_string_equal(w, "");
    char list[64];
    zp_choice_join(c, ", ", list, sizeof list);
    assert_string_equal(list, "minmax, percentile, mse");
    zp_choice_join(c, ", ", list, 10);
    assert_string_equal(list, "minmax, p");
}

/* ------------------------------------------------------------ atomic --- */

static int count_entries(const char *dir)
{
    char *out = NULL;
    zp_test_sh(&out, "ls -A '%s' | wc -l", dir);
    int n = atoi(out);
    free(out);
    return n;
}

static void test_atomic_write(void **state)
{
    (void)state;
    const char *d = zp_test_tmpdir("common_atomic");
    const char *p = tpath(d, "out.csv");
    struct zp_err err = {0};
    assert_int_equal(zp_file_write_atomic(p, "old\n", 4, &err), ZP_OK);
    assert_int_equal(zp_file_write_atomic(p, "new,1\n", 6, &err), ZP_OK);
    char *t = zp_test_read_file(p, NULL);
    assert_string_equal(t, "new,1\n");
    free(t);
    assert_int_equal(count_entries(d), 1); /* no temporary left behind */
    /* Streaming form; abort leaves the old file as it was. */
    struct zp_atomic_file af;
    assert_int_equal(zp_atomic_open(&af, p, &err), ZP_OK);
    fprintf(af.f, "partial");
    zp_atomic_abort(&af);
    t = zp_test_read_file(p, NULL);
    assert_string_equal(t, "new,1\n");
    free(t);
    assert_int_equal(count_entries(d), 1);
    assert_int_equal(zp_atomic_open(&af, p, &err), ZP_OK);
    fprintf(af.f, "%d\n", 7);
    assert_int_equal(zp_atomic_commit(&af, &err), ZP_OK);
    t = zp_test_read_file(p, NULL);
    assert_string_equal(t, "7\n");
    free(t);
    /* A missing folder: the error names the temporary and the errno text. */
    assert_int_equal(zp_file_write_atomic(tpath(d, "no/such.csv"), "x", 1, &err), ZP_EIO);
    expect_msg(&err, "no/such.csv.tmp.");
    expect_msg(&err, strerror(ENOENT));
    /* Replacing a directory fails at the rename, and the temporary is removed. */
    assert_int_equal(mkdir(tpath(d, "adir"), 0755), 0);
    zp_err_clear(&err);
    assert_int_equal(zp_file_write_atomic(tpath(d, "adir"), "x", 1, &err), ZP_EIO);
    expect_msg(&err, "adir: cannot replace: ");
    assert_int_equal(count_entries(d), 2);
}

static void test_atomic_full_disk(void **state)
{
    (void)state;
    /* /dev/full cannot hold a temporary file, but a write error must surface
     * through ferror/fflush: simulate with a stream whose writes fail by
     * committing after the descriptor was closed underneath. */
    const char *d = zp_test_tmpdir("common_atomic_full");
    const char *p = tpath(d, "r.md");
    struct zp_err err = {0};
    struct zp_atomic_file af;
    assert_int_equal(zp_atomic_open(&af, p, &err), ZP_OK);
    fprintf(af.f, "some text that stays buffered");
    close(fileno(af.f)); /* every later write(2) fails with EBADF */
    assert_int_equal(zp_atomic_commit(&af, &err), ZP_EIO);
    expect_msg(&err, "write failed: ");
    assert_int_equal(access(p, F_OK), -1); /* nothing at the final name */
    assert_int_equal(count_entries(d), 0); /* and no temporary */
}

/* ------------------------------------------------------- shared objects --- */

static void test_shared_object_check(void **state)
{
    (void)state;
    const char *d = zp_test_tmpdir("common_so");
    struct zp_err err = {0};
    /* A real shared object of this machine passes: the C library. */
    char *out = NULL;
    zp_test_sh(&out, "%s", "ldd /bin/sh | sed -n 's/.*=> \\(.*libc\\.so[^ ]*\\) .*/\\1/p' | head -1");
    out[strcspn(out, "\n")] = '\0';
    assert_true(out[0] == '/');
    if (zp_shared_object_check(out, &err) != ZP_OK)
        fail_msg("%s: %s", out, err.msg);
    /* The same file cut to a third: dlopen would die of SIGBUS on it. */
    size_t len = 0;
    char *so = zp_test_read_file(out, &len);
    assert_non_null(so);
    const char *cut = tpath(d, "cut.so");
    FILE *f = fopen(cut, "wb");
    assert_int_equal(fwrite(so, 1, len / 3, f), len / 3);
    fclose(f);
    free(so);
    free(out);
    assert_int_equal(zp_shared_object_check(cut, &err), ZP_EFORMAT);
    expect_msg(&err, "cut.so: truncated");
    /* Text, an empty file, an executable that is not a shared object. */
    zp_test_write_file(tpath(d, "text.so"), "not a shared object\n");
    zp_err_clear(&err);
    assert_int_equal(zp_shared_object_check(tpath(d, "text.so"), &err), ZP_EFORMAT);
    expect_msg(&err, "text.so: not a shared object (starts 6e 6f 74 20, not an ELF file)");
    zp_test_write_file(tpath(d, "empty.so"), "");
    zp_err_clear(&err);
    assert_int_equal(zp_shared_object_check(tpath(d, "empty.so"), &err), ZP_EFORMAT);
    expect_msg(&err, "empty.so: not a shared object (0 bytes");
    zp_err_clear(&err);
    assert_int_equal(zp_shared_object_check(d, &err), ZP_EIO);
    expect_msg(&err, "not a regular file (a directory)");
    zp_err_clear(&err);
    assert_int_equal(zp_shared_object_check(tpath(d, "missing.so"), &err), ZP_EIO);
    expect_msg(&err, "missing.so: cannot open: ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_regular),
        cmocka_unit_test(test_read_missing_names_errno),
        cmocka_unit_test(test_read_refuses_non_regular),
        cmocka_unit_test(test_read_cap),
        cmocka_unit_test(test_model_cap_env),
        cmocka_unit_test(test_basename_stem),
        cmocka_unit_test(test_mkdir_p),
        cmocka_unit_test(test_strbuf),
        cmocka_unit_test(test_choices),
        cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_atomic_full_disk),
        cmocka_unit_test(test_shared_object_check),
    };
    return ZP_RUN_TESTS(tests);
}
