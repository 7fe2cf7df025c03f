/* `run` and `train` re-execute themselves once with OMP_WAIT_POLICY=PASSIVE
 * (harness/main.c). Where re-execution would break, under an explicit loader or
 * valgrind, they run as they are and say how to set the policy. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/util.h"

static const char *loader(void)
{
    static const char *cands[] = {"/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"};
    struct stat st;
    for (size_t i = 0; i < sizeof cands / sizeof *cands; i++)
        if (stat(cands[i], &st) == 0)
            return cands[i];
    return NULL;
}

static void runs_under_explicit_loader(void **state)
{
    (void)state;
    const char *ld = loader();
    if (!ld)
        skip();
    char *out = NULL;
    int rc = zp_test_sh(&out, "env -u OMP_WAIT_POLICY %s %s run --help 2>&1", ld, zp_test_harness());
    if (rc != 0)
        fail_msg("exit %d under %s:\n%s", rc, ld, out);
    assert_non_null(strstr(out, "usage: harness run CONFIG"));
    assert_non_null(strstr(out, "OMP_WAIT_POLICY=PASSIVE"));
    free(out);
}

/* Natively the policy reaches libgomp: GOMP_SPINCOUNT 0 is what PASSIVE means. */
static void passive_natively(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = zp_test_sh(&out, "env -u OMP_WAIT_POLICY OMP_DISPLAY_ENV=verbose %s run --help 2>&1",
                        zp_test_harness());
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "GOMP_SPINCOUNT = '0'"));
    free(out);
}

/* A policy the user chose is kept. */
static void user_policy_kept(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = zp_test_sh(&out, "OMP_WAIT_POLICY=ACTIVE OMP_DISPLAY_ENV=verbose %s run --help 2>&1",
                        zp_test_harness());
    assert_int_equal(rc, 0);
    assert_null(strstr(out, "GOMP_SPINCOUNT = '0'"));
    free(out);
}

static void runs_under_valgrind(void **state)
{
    (void)state;
#ifdef __SANITIZE_ADDRESS__
    skip(); /* the sanitizer build's binary does not run under valgrind */
#endif
    if (zp_test_sh(NULL, "command -v valgrind >/dev/null 2>&1") != 0)
        skip();
    char *out = NULL;
    int rc = zp_test_sh(&out, "env -u OMP_WAIT_POLICY valgrind -q --error-exitcode=99 %s run --help 2>&1",
                        zp_test_harness());
    if (rc != 0)
        fail_msg("exit %d under valgrind:\n%s", rc, out);
    assert_non_null(strstr(out, "OMP_WAIT_POLICY=PASSIVE"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(runs_under_explicit_loader),
        cmocka_unit_test(passive_natively),
        cmocka_unit_test(user_policy_kept),
        cmocka_unit_test(runs_under_valgrind),
    };
    return ZP_RUN_TESTS(tests);
}
