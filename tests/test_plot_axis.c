/* The tick generator of symlog bar axes (round values only, whatever the
 * threshold) and the x label helpers: words common to every bar removed, labels
 * wrapped at spaces. */
#include "tests/util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plots/plot_int.h"

static void expect_ticks(double c, double lo, double hi, const double *want, size_t nwant)
{
    double t[64];
    size_t n = zp_plot_symlog_ticks(c, lo, hi, t, 64);
    if (n != nwant) {
        char got[512] = "";
        for (size_t i = 0; i < n; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), " %g", t[i]);
        fail_msg("c %g [%g, %g]: %zu ticks (%s), want %zu", c, lo, hi, n, got, nwant);
    }
    for (size_t i = 0; i < n; i++) {
        if (fabs(t[i] - want[i]) > 1e-12 * fmax(1, fabs(want[i])))
            fail_msg("c %g [%g, %g]: tick %zu is %.17g, want %g", c, lo, hi, i, t[i], want[i]);
        /* printed with %g, a tick reads as a round number: one significant digit */
        char s[32];
        snprintf(s, sizeof s, "%g", fabs(t[i]));
        size_t digits = 0;
        for (const char *p = s; *p; p++)
            digits += *p >= '1' && *p <= '9';
        assert_true(digits <= 1);
    }
}

static void test_symlog_ticks(void **state)
{
    (void)state;
    /* the drop axis of the nudge figure: -0.15 .. 62.8 points, threshold 0.01; the
     * negative side spans under two decades, so it gets 1-3-10 */
    const double nudge[] = {-0.1, -0.03, -0.01, 0, 0.01, 0.1, 1, 10};
    expect_ticks(0.01, -0.15, 62.8, nudge, 8);
    /* a non-round threshold still gets round ticks (0.006783 -> from 0.01) */
    expect_ticks(0.006783, -0.15, 62.8, nudge, 8);
    /* up to 100 exactly: the end counts */
    const double hundred[] = {0, 0.1, 1, 10, 100};
    expect_ticks(0.1, 0, 100, hundred, 5);
    /* less than two decades beyond c: 1-3-10 */
    const double short_side[] = {0, 0.1, 0.3, 1, 3};
    expect_ticks(0.1, 0, 5, short_side, 5);
    /* negative only: ascending, 0 at the top */
    const double neg[] = {-10, -1, -0.1, 0};
    expect_ticks(0.1, -20, 0, neg, 4);
    /* nothing sensible: no ticks */
    double t[4];
    assert_int_equal(zp_plot_symlog_ticks(0, 0, 1, t, 4), 0);
    assert_int_equal(zp_plot_symlog_ticks(0.1, NAN, 1, t, 4), 0);
    /* cap respected */
    assert_int_equal(zp_plot_symlog_ticks(0.001, -1000, 1000, t, 4), 4);
}

static void test_label_shorten(void **state)
{
    (void)state;
    const char *in[] = {
        "inputs: A8: asymmetric 8b per-channel",
        "inputs: A8: asymmetric 8b per-channel bc",
        "linear_bottleneck: A4: asymmetric 8b per-channel",
        "conv_outputs: A4: asymmetric 8b per-channel bc",
    };
    char out[4][96], common[128];
    assert_int_equal(zp_plot_label_shorten(in, 4, &out[0][0], 96, common, sizeof common), 1);
    assert_string_equal(common, "asymmetric 8b per-channel");
    assert_string_equal(out[0], "inputs: A8");
    assert_string_equal(out[1], "inputs: A8: bc");
    assert_string_equal(out[2], "linear_bottleneck: A4");
    assert_string_equal(out[3], "conv_outputs: A4: bc");

    /* a label that would become empty: nothing is shortened */
    const char *sub[] = {"s8 per-tensor", "s8 per-tensor bc"};
    assert_int_equal(zp_plot_label_shorten(sub, 2, &out[0][0], 96, common, sizeof common), 0);
    assert_string_equal(out[0], "s8 per-tensor");
    assert_string_equal(out[1], "s8 per-tensor bc");
    assert_string_equal(common, "");

    /* nothing shared: unchanged */
    const char *apart[] = {"symmetric 8b", "binary 1b"};
    assert_int_equal(zp_plot_label_shorten(apart, 2, &out[0][0], 96, common, sizeof common), 0);
    assert_string_equal(out[1], "binary 1b");

    /* a repeated word counts once per label: "8b" twice in one, once in the other */
    const char *rep[] = {"8b W 8b A", "8b W 4b A"};
    assert_int_equal(zp_plot_label_shorten(rep, 2, &out[0][0], 96, common, sizeof common), 1);
    assert_string_equal(common, "8b W A");
    assert_string_equal(out[0], "8b");
    assert_string_equal(out[1], "4b");

    /* one group: nothing to compare against */
    assert_int_equal(zp_plot_label_shorten(in, 1, &out[0][0], 96, common, sizeof common), 0);
    assert_string_equal(out[0], in[0]);
}

static void test_label_wrap(void **state)
{
    (void)state;
    char w[128];
    assert_int_equal(zp_plot_label_wrap("linear_bottleneck: A4: bc", 10, w, sizeof w), 2);
    assert_string_equal(w, "linear_bottleneck:\nA4: bc");
    assert_int_equal(zp_plot_label_wrap("inputs: A8", 10, w, sizeof w), 1);
    assert_string_equal(w, "inputs: A8");
    assert_int_equal(zp_plot_label_wrap("a b c d e f", 3, w, sizeof w), 3);
    assert_string_equal(w, "a b\nc d\ne f");
    struct zp_strbuf b = {0};
    zp_plot_dquote(&b, "say \"hi\"\nback\\slash");
    assert_string_equal(b.s, "\"say \\\"hi\\\"\\nback\\\\slash\"");
    zp_strbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symlog_ticks),
        cmocka_unit_test(test_label_shorten),
        cmocka_unit_test(test_label_wrap),
    };
    return ZP_RUN_TESTS(tests);
}
