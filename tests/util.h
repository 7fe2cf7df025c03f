/* Helpers shared by the unit tests (cmocka). Every test file is its own program:
 *   int main(void) { const struct CMUnitTest t[] = {...}; return ZP_RUN_TESTS(t); }
 * tests/run.sh runs them all and prints the "N passed, N failed" summary. */
#ifndef ZP_TESTS_UTIL_H
#define ZP_TESTS_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define ZP_RUN_TESTS(tests) cmocka_run_group_tests_name(__FILE__, tests, NULL, NULL)

/* The shared real data (../shared/data next to the checkout, or $ZP_SHARED_DATA);
 * NULL when absent: tests that need it call skip(). */
const char *zp_test_shared_data(void);
/* A fresh temporary directory (removed by the OS's tmp cleaning, not by the test). */
const char *zp_test_tmpdir(const char *tag);
/* Path of the harness binary of this build mode ($ZP_HARNESS, default bin/harness). */
const char *zp_test_harness(void);
/* Runs a shell command; returns its exit status (0..255) and, if out is non-NULL,
 * its combined stdout+stderr (malloc'd, caller frees). */
int zp_test_sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads a whole file (malloc'd, NUL-terminated); NULL if missing. */
char *zp_test_read_file(const char *path, size_t *len);
/* Writes a file; asserts on failure. */
void zp_test_write_file(const char *path, const char *text);
/* Relative closeness |a-b| <= tol * max(|a|,|b|,tiny). */
int zp_test_close(double a, double b, double tol);

#endif
