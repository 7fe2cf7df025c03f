/* Loading external schemes from shared objects: the example ternary plugin
 * (plugins/ternary.c, built by the Makefile into $ZP_BUILD/plugins/) and small
 * broken plugins compiled here to exercise every rejection path. */
#include "tests/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schemes/granularity.h"
#include "schemes/scheme.h"

static const char *plugin_path(void)
{
    static char path[4096];
    const char *b = getenv("ZP_BUILD");
    snprintf(path, sizeof path, "%s/plugins/ternary.so", b && *b ? b : "build/release");
    return path;
}

/* TWN on {1, -0.8, 0.1, -0.05, 0, 0.6}: mean|x| = 2.55/6 = 0.425, threshold
 * 0.7 * 0.425 = 0.2975; above it 1, 0.8, 0.6 -> alpha = 0.8. */
static void test_ternary_loads_and_quantizes(void **state)
{
    (void)state;
    const char *path = plugin_path();
    if (access(path, R_OK) != 0)
        fail_msg("%s not built (make builds plugins before the unit tests)", path);
    int before = zp_scheme_count();
    struct zp_err err = {0};
    if (zp_scheme_load_plugin(path, &err) != ZP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(zp_scheme_count(), before + 1);
    const struct zp_scheme *s = zp_scheme_find("ternary");
    assert_non_null(s);
    assert_ptr_equal(zp_scheme_at(before), s);
    struct zp_scheme_config cfg;
    zp_scheme_config_defaults(&cfg, s);
    assert_int_equal(zp_scheme_config_check(&cfg, &err), ZP_OK);
    const float x[] = {1.0f, -0.8f, 0.1f, -0.05f, 0.0f, 0.6f};
    const float want[] = {0.8f, -0.8f, 0.0f, 0.0f, 0.0f, 0.8f};
    const int64_t shape[] = {6};
    float y[6];
    assert_int_equal(zp_fake_quant(&cfg, x, shape, 1, "w", y, NULL, &err), ZP_OK);
    for (int i = 0; i < 6; i++)
        assert_true(fabsf(y[i] - want[i]) < 1e-6f);
    struct zp_qparams p;
    assert_int_equal(s->fit(&cfg, x, 6, &p, &err), ZP_OK);
    assert_true(zp_qparams_decode_zero(s, &cfg, &p) == 0.0f);

    /* loading it again: duplicate name, message names the .so, nothing added */
    zp_err_clear(&err);
    assert_int_not_equal(zp_scheme_load_plugin(path, &err), ZP_OK);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "already registered"));
    assert_int_equal(zp_scheme_count(), before + 1);
}

static void test_bad_path_names_path(void **state)
{
    (void)state;
    const char *path = "/nonexistent/zp-plugins/missing-scheme.so";
    struct zp_err err = {0};
    assert_int_equal(zp_scheme_load_plugin(path, &err), ZP_EIO);
    assert_non_null(strstr(err.msg, path));
}

/* Compiles a one-file plugin; returns 0 (and the .so path) or -1 if no compiler. */
static int build_plugin(const char *dir, const char *name, const char *src, char *so, size_t n)
{
    char c[4096];
    snprintf(c, sizeof c, "%s/%s.c", dir, name);
    zp_test_write_file(c, src);
    snprintf(so, n, "%s/%s.so", dir, name);
    const char *cc = getenv("CC");
    char *out = NULL;
    int rc = zp_test_sh(&out, "%s -std=c11 -fPIC -shared -I. %s -o %s", cc && *cc ? cc : "cc", c,
                        so);
    if (rc != 0)
        print_message("plugin build failed: %s\n", out);
    free(out);
    return rc == 0 ? 0 : -1;
}

#define PLUGIN_HEAD                                                                          \
    "#include \"schemes/scheme.h\"\n"                                                         \
    "static enum zp_status fit(const struct zp_scheme_config *c, const float *x, size_t n,"   \
    " struct zp_qparams *p, struct zp_err *e) { (void)c; (void)x; (void)n; (void)e;"          \
    " p->scale = 1; return ZP_OK; }\n"                                                        \
    "static void qz(const struct zp_scheme_config *c, const struct zp_qparams *p,"            \
    " const float *x, int32_t *q, size_t n) { (void)c; (void)p; (void)x; (void)q; (void)n; }\n" \
    "static void dq(const struct zp_scheme_config *c, const struct zp_qparams *p,"            \
    " const int32_t *q, float *y, size_t n) { (void)c; (void)p; (void)q; (void)y; (void)n; }\n"

#define PLUGIN_DESC(abi, name, quant)                                                        \
    "static const struct zp_scheme s = { .abi = " abi ", .name = \"" name "\","               \
    " .min_bits = 2, .max_bits = 2, .default_bits = 2, .granularities = 1,"                   \
    " .fit = fit, .quantize = " quant ", .dequantize = dq };\n"                               \
    "enum zp_status zp_plugin_register(struct zp_err *e);\n"                                  \
    "enum zp_status zp_plugin_register(struct zp_err *e) { return zp_scheme_register(&s, e); }\n"

static void test_broken_plugins_rejected(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("plugin");
    const struct {
        const char *name, *src, *needle;
    } cases[] = {
        {"noentry", "int zp_not_the_entry(void);\nint zp_not_the_entry(void) { return 1; }\n",
         "no symbol 'zp_plugin_register'"},
        {"badabi", PLUGIN_HEAD PLUGIN_DESC("ZP_SCHEME_ABI + 1", "badabi", "qz"), "ABI mismatch"},
        {"nullfn", PLUGIN_HEAD PLUGIN_DESC("ZP_SCHEME_ABI", "nullfn", "0"), "quantize=NULL"},
        {"dup", PLUGIN_HEAD PLUGIN_DESC("ZP_SCHEME_ABI", "asymmetric", "qz"),
         "'asymmetric' is already registered"},
    };
    int before = zp_scheme_count();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char so[4200];
        if (build_plugin(dir, cases[i].name, cases[i].src, so, sizeof so) != 0)
            skip();
        struct zp_err err = {0};
        enum zp_status st = zp_scheme_load_plugin(so, &err);
        if (st == ZP_OK || !strstr(err.msg, so) || !strstr(err.msg, cases[i].needle))
            fail_msg("%s: expected an error naming %s and '%s', got %d '%s'", cases[i].name, so,
                     cases[i].needle, st, err.msg);
        assert_int_equal(zp_scheme_count(), before);
    }
    /* a good one registers */
    char so[4200];
    if (build_plugin(dir, "good",
                     PLUGIN_HEAD PLUGIN_DESC("ZP_SCHEME_ABI", "test-good", "qz"), so,
                     sizeof so) != 0)
        skip();
    struct zp_err err = {0};
    if (zp_scheme_load_plugin(so, &err) != ZP_OK)
        fail_msg("%s", err.msg);
    assert_non_null(zp_scheme_find("test-good"));
    assert_int_equal(zp_scheme_count(), before + 1);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_ternary_loads_and_quantizes),
        cmocka_unit_test(test_bad_path_names_path),
        cmocka_unit_test(test_broken_plugins_rejected),
    };
    return ZP_RUN_TESTS(t);
}
