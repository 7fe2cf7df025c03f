/* Sweep expansion (config/sweep.c): the cartesian product of swept keys in order,
 * and a repeated label found however many variants came before it (the hash set
 * that keeps expansion linear; 27k variants parse in about half a second). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "tests/util.h"

static char *big_config(int with_duplicate)
{
    size_t cap = 1 << 16, n = 0;
    char *t = malloc(cap);
    n += (size_t)snprintf(t + n, cap - n,
                          "{\"name\": \"sweep\", \"schemes\": [{\"scheme\": \"lut4\", \"bits\": [2, 3, 4], "
                          "\"codebook\": [\"kmeans\", \"normal\"], \"iterations\": [");
    for (int i = 0; i <= 1000; i++)
        n += (size_t)snprintf(t + n, cap - n, "%s%d", i ? ", " : "", i);
    n += (size_t)snprintf(t + n, cap - n, "]}%s], \"tensors\": {\"synthetic\": [{\"distribution\": "
                                          "\"gaussian\", \"n\": 1024, \"channels\": 4, \"seed\": 1}]}}",
                          with_duplicate ? ", {\"scheme\": \"lut4\", \"bits\": 3, \"codebook\": \"normal\", "
                                           "\"iterations\": 777}"
                                         : "");
    return t;
}

static void large_sweep_in_order(void **state)
{
    (void)state;
    char *text = big_config(0);
    struct zp_config cfg;
    struct zp_err err = {0};
    struct zp_config_env env = {0};
    if (zp_config_parse(text, "sweep.json", &env, &cfg, &err) != ZP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg.n_variants, 3 * 2 * 1001);
    /* the last key varies fastest */
    assert_string_equal(cfg.variants[0].label, "lut4 2b per-tensor codebook=kmeans;iterations=0");
    assert_string_equal(cfg.variants[1].label, "lut4 2b per-tensor codebook=kmeans;iterations=1");
    assert_string_equal(cfg.variants[1001].label, "lut4 2b per-tensor codebook=normal;iterations=0");
    assert_string_equal(cfg.variants[6005].label, "lut4 4b per-tensor codebook=normal;iterations=1000");
    zp_config_free(&cfg);
    free(text);
}

static void duplicate_after_many(void **state)
{
    (void)state;
    char *text = big_config(1);
    struct zp_config cfg;
    struct zp_err err = {0};
    struct zp_config_env env = {0};
    assert_int_equal(zp_config_parse(text, "sweep.json", &env, &cfg, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "schemes[1]"));
    assert_non_null(strstr(err.msg, "'lut4 3b per-tensor codebook=normal;iterations=777' repeats schemes[0]"));
    free(text);
}

/* equalize / bias_absorption: booleans, swept like any key, named in the label;
 * anything else is an error naming the key. */
static void ptq_keys(void **state)
{
    (void)state;
    const char *text = "{\"name\": \"p\", \"schemes\": [{\"scheme\": \"asymmetric\", \"bits\": 8, "
                       "\"equalize\": [false, true], \"bias_absorption\": true}], \"tensors\": "
                       "{\"synthetic\": [{\"distribution\": \"gaussian\", \"n\": 64, \"channels\": 4, "
                       "\"seed\": 1}]}}";
    struct zp_config cfg;
    struct zp_err err = {0};
    struct zp_config_env env = {0};
    if (zp_config_parse(text, "p.json", &env, &cfg, &err) != ZP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg.n_variants, 2);
    assert_int_equal(cfg.variants[0].equalize, 0);
    assert_int_equal(cfg.variants[1].equalize, 1);
    assert_int_equal(cfg.variants[0].bias_absorption, 1);
    assert_non_null(strstr(cfg.variants[1].label, " cle hba"));
    assert_null(strstr(cfg.variants[0].label, "cle"));
    zp_config_free(&cfg);
    const char *bad = "{\"name\": \"p\", \"schemes\": [{\"scheme\": \"asymmetric\", "
                      "\"equalize\": \"yes\"}], \"tensors\": {\"synthetic\": [{\"distribution\": "
                      "\"gaussian\", \"n\": 64, \"channels\": 4, \"seed\": 1}]}}";
    assert_int_equal(zp_config_parse(bad, "p.json", &env, &cfg, &err), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "schemes[0].equalize"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(large_sweep_in_order),
        cmocka_unit_test(duplicate_after_many),
        cmocka_unit_test(ptq_keys),
    };
    return ZP_RUN_TESTS(tests);
}
