/* scripts/check_layers.sh (make check-layers): it passes on the repository and
 * fails, naming the file and line, on a scratch tree with a wrong include of each
 * kind: a lower layer including a higher one, two siblings including each other,
 * a confined library used outside its folders, figures including the runtime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/util.h"

static void repository_passes(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = zp_test_sh(&out, "sh scripts/check_layers.sh . 2>&1");
    if (rc != 0)
        fail_msg("check-layers fails on the repository:\n%s", out);
    free(out);
}

/* A scratch tree with one good file per layer and the given bad line in file. */
static int check_tree(const char *tag, const char *file, const char *line, char **out)
{
    const char *d = zp_test_tmpdir(tag);
    const char *dirs[] = {"common", "kernels", "model", "experiment", "plots", "store"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", d, dirs[i]);
        mkdir(p, 0755);
    }
    char p[512];
    snprintf(p, sizeof p, "%s/common/err.h", d);
    zp_test_write_file(p, "/* fine */\n");
    snprintf(p, sizeof p, "%s/model/graph.c", d);
    zp_test_write_file(p, "#include \"common/err.h\"\n#include \"kernels/kernels.h\"\n");
    snprintf(p, sizeof p, "%s/%s", d, file);
    char text[512];
    snprintf(text, sizeof text, "#include <stdio.h>\n#include \"common/err.h\"\n%s\n", line);
    zp_test_write_file(p, text);
    return zp_test_sh(out, "sh scripts/check_layers.sh %s 2>&1", d);
}

static void good_tree_passes(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(check_tree("layers_good", "experiment/run.c", "#include \"model/graph.h\"", &out), 0);
    free(out);
}

static void upward_include_fails(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(check_tree("layers_up", "kernels/gemm.c", "#include \"model/graph.h\"", &out), 1);
    assert_non_null(strstr(out, "kernels/gemm.c:3:"));
    assert_non_null(strstr(out, "dependencies point down"));
    free(out);
}

static void sibling_include_fails(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(check_tree("layers_sib", "experiment/run.c", "#include \"plots/plot.h\"", &out), 1);
    assert_non_null(strstr(out, "experiment/run.c:3:"));
    free(out);
}

static void confined_library_fails(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(check_tree("layers_lib", "model/json.c", "#include <cjson/cJSON.h>", &out), 1);
    assert_non_null(strstr(out, "model/json.c:3:"));
    free(out);
    assert_int_equal(check_tree("layers_lib_ok", "store/json.c", "#include <cjson/cJSON.h>", &out), 0);
    free(out);
    assert_int_equal(check_tree("layers_csv", "plots/csv.c", "#include <csv.h>", &out), 1);
    free(out);
}

static void figures_never_include_runtime(void **state)
{
    (void)state;
    char *out = NULL;
    /* plots is above model by layer, yet the edge is forbidden. */
    assert_int_equal(check_tree("layers_fig", "plots/fig.c", "#include \"model/graph.h\"", &out), 1);
    assert_non_null(strstr(out, "plots/fig.c:3:"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(repository_passes),
        cmocka_unit_test(good_tree_passes),
        cmocka_unit_test(upward_include_fails),
        cmocka_unit_test(sibling_include_fails),
        cmocka_unit_test(confined_library_fails),
        cmocka_unit_test(figures_never_include_runtime),
    };
    return ZP_RUN_TESTS(tests);
}
