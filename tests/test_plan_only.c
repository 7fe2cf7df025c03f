/* --only: a name selects variants by label, by the label of the config entry they
 * were expanded from, or by scheme name; a name that matches nothing is a usage
 * error that lists the schemes and labels the config has. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/util.h"

static const char *config(void)
{
    static char path[512];
    const char *d = zp_test_tmpdir("plan_only");
    snprintf(path, sizeof path, "%s/c.json", d);
    zp_test_write_file(path,
                       "{\"name\": \"only\", \"seed\": 1,\n"
                       " \"schemes\": [\n"
                       "  {\"scheme\": \"symmetric\", \"bits\": [8, 6], \"label\": \"S\"},\n"
                       "  {\"scheme\": \"asymmetric\", \"bits\": 8, \"label\": \"A\"},\n"
                       "  {\"scheme\": \"linear4\"}],\n"
                       " \"tensors\": {\"synthetic\": [{\"distribution\": \"gaussian\", \"n\": 1024, \"channels\": 4, \"seed\": 1}]}}\n");
    return path;
}

static int rows_with(const char *csv, const char *needle)
{
    int n = 0;
    for (const char *p = csv; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void entry_label_selects_its_sweep(void **state)
{
    (void)state;
    const char *cfg = config();
    char out[600], *log = NULL;
    snprintf(out, sizeof out, "%s.out", cfg);
    int rc = zp_test_sh(&log, "%s run %s --only S,linear4 --out %s --quiet --no-plots 2>&1",
                        zp_test_harness(), cfg, out);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, log);
    char p[700];
    snprintf(p, sizeof p, "%s/tensors.csv", out);
    char *csv = zp_test_read_file(p, NULL);
    assert_non_null(csv);
    assert_int_equal(rows_with(csv, ",S: symmetric"), 2); /* both bit widths */
    assert_int_equal(rows_with(csv, "asymmetric"), 0);
    assert_true(rows_with(csv, "linear4") >= 1);
    free(csv);
    free(log);
}

static void unknown_name_lists_the_choices(void **state)
{
    (void)state;
    const char *cfg = config();
    char out[600], *log = NULL;
    snprintf(out, sizeof out, "%s.out2", cfg);
    int rc = zp_test_sh(&log, "%s run %s --only S,typo --out %s --quiet 2>&1", zp_test_harness(), cfg, out);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(log, "'typo'"));
    assert_non_null(strstr(log, "schemes: symmetric, asymmetric, linear4"));
    assert_non_null(strstr(log, "labels: S, A,"));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(entry_label_selects_its_sweep),
        cmocka_unit_test(unknown_name_lists_the_choices),
    };
    return ZP_RUN_TESTS(tests);
}
