/* The progress line fits the terminal, and the ETA follows what each class of
 * cell costs (common/progress.h). Times are set by hand: no sleeping. */
#include <string.h>

#include "common/progress.h"
#include "tests/util.h"

static void line_fits_the_terminal(void **state)
{
    (void)state;
    struct zp_progress p;
    zp_progress_init(&p, 1234, 1);
    p.done = 567;
    memset(p.what, 'x', sizeof p.what - 1);
    p.what[sizeof p.what - 1] = '\0';
    for (int cols = 10; cols <= 240; cols += 7) {
        char line[512];
        zp_progress_format(&p, p.start + 3600, cols, line, (int)sizeof line);
        assert_true((int)strlen(line) <= cols - 1);
        if (cols >= 60) /* room for the bar and the counts */
            assert_non_null(strstr(line, "567/1234"));
    }
    zp_progress_free(&p);
}

/* Two cells done: a class-0 cell that cost 1 s and a class-1 cell that cost 10 s.
 * Left: the current class-0 cell (just started), then one class-0 and one class-1
 * cell: 1 + 1 + 10 = 12 s, where a mean over all cells would say 3 x 5.5. */
static void eta_follows_class_costs(void **state)
{
    (void)state;
    struct zp_progress p;
    zp_progress_init(&p, 5, 1);
    const int cls[5] = {0, 1, 0, 0, 1};
    zp_progress_plan(&p, cls, 5);
    p.cost_sum[0] = 1;
    p.cost_n[0] = 1;
    p.cost_sum[1] = 10;
    p.cost_n[1] = 1;
    p.finished = p.done = 2;
    p.cell_start = 100;
    assert_true(zp_test_close(zp_progress_eta(&p, 100.0), 12.0, 1e-12));
    /* half a second into the current cell, 0.5 s of which was one-time work */
    p.cell_excluded = 0.5;
    assert_true(zp_test_close(zp_progress_eta(&p, 100.5), 12.0, 1e-12));
    p.cell_excluded = 0;
    assert_true(zp_test_close(zp_progress_eta(&p, 100.5), 11.5, 1e-12));
    zp_progress_free(&p);
}

/* Before any cell finished: extrapolated from the current cell's own fraction. */
static void eta_before_the_first_cell(void **state)
{
    (void)state;
    struct zp_progress p;
    zp_progress_init(&p, 4, 1);
    p.cell_start = 50;
    p.sub = 0.01;
    assert_true(zp_progress_eta(&p, 51) < 0); /* too early to say */
    p.sub = 0.25;
    /* 2 s for a quarter: 6 s more for this cell, 8 s for each of the 3 others */
    assert_true(zp_test_close(zp_progress_eta(&p, 52), 30.0, 1e-12));
    zp_progress_free(&p);
}

/* A resumed run: done counts cells of the earlier process, the plan only this
 * process's cells. */
static void eta_on_resume(void **state)
{
    (void)state;
    struct zp_progress p;
    zp_progress_init(&p, 10, 1);
    const int cls[2] = {3, 3};
    zp_progress_plan(&p, cls, 2);
    p.done = 8;
    p.cost_sum[3] = 4;
    p.cost_n[3] = 1;
    p.finished = 1;
    p.done = 9;
    p.cell_start = 10;
    assert_true(zp_test_close(zp_progress_eta(&p, 11), 3.0, 1e-12));
    zp_progress_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(line_fits_the_terminal),
        cmocka_unit_test(eta_follows_class_costs),
        cmocka_unit_test(eta_before_the_first_cell),
        cmocka_unit_test(eta_on_resume),
    };
    return ZP_RUN_TESTS(tests);
}
