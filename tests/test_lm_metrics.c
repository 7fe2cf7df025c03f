/* experiment/lm_metrics.c against values worked out by hand and against
 * tests/data/lm_metrics_ref.txt (tests/data/lm_metrics_ref.py: the definitions
 * written again in Python, exact sums, no shared code). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/lm_metrics.h"
#include "experiment/metrics.h"
#include "tests/util.h"

#define REF_FILE "tests/data/lm_metrics_ref.txt"

/* p = (1/2, 1/2), q = (3/4, 1/4), target 0: every number has a closed form. */
static void test_hand(void **state)
{
    (void)state;
    const float f[2] = {0, 0}, q[2] = {(float)log(3.0), 0};
    const int32_t t[1] = {0};
    struct zp_lm_acc a = {0};
    struct zp_lm_metrics m;
    assert_int_equal(zp_lm_acc_add(&a, f, q, t, 1, 2), 0);
    zp_lm_acc_finish(&a, &m);
    double q0 = 1.0 / (1.0 + exp(-(double)q[0])); /* 3/4 up to float(log 3) */
    assert_int_equal(m.n, 1);
    assert_true(fabs(m.nll + log(q0)) < 1e-12);
    assert_true(fabs(m.nll - log(4.0 / 3.0)) < 1e-7);
    assert_true(fabs(m.float_nll - log(2.0)) < 1e-12);
    assert_true(fabs(m.ppl - 4.0 / 3.0) < 1e-7);
    /* KL = 1/2 log(1/2 / 3/4) + 1/2 log(1/2 / 1/4) = 1/2 log(4/3) */
    assert_true(fabs(m.kld_mean - 0.5 * log(4.0 / 3.0)) < 1e-7);
    assert_true(m.kld_p99 == m.kld_mean && m.kld_max == m.kld_mean);
    assert_true(fabs(m.mean_abs_dp - 0.25) < 1e-7);
    /* argmax: float row ties (first index, 0), quantized row 0: agree */
    assert_true(m.top1_agreement == 1.0);
    /* target 1 instead: nll = log 4, and the same KL */
    const int32_t t1[1] = {1};
    assert_int_equal(zp_lm_acc_add(&a, f, q, t1, 1, 2), 0);
    zp_lm_acc_finish(&a, &m);
    assert_true(fabs(m.nll - 0.5 * (log(4.0 / 3.0) + log(4.0))) < 1e-7);
    /* two KLDs equal: type-7 p99 of {k, k} is k */
    assert_true(fabs(m.kld_p99 - 0.5 * log(4.0 / 3.0)) < 1e-7);
    zp_lm_acc_free(&a);
    assert_true(fabs(zp_lm_mean_nll(f, t, 1, 2) - log(2.0)) < 1e-15);
}

/* The empty accumulator: NaN everywhere, no crash. */
static void test_empty(void **state)
{
    (void)state;
    struct zp_lm_acc a = {0};
    struct zp_lm_metrics m;
    zp_lm_acc_finish(&a, &m);
    assert_int_equal(m.n, 0);
    assert_true(isnan(m.nll) && isnan(m.kld_p99) && isnan(m.top1_agreement));
    assert_true(isnan(zp_lm_mean_nll(NULL, NULL, 0, 5)));
    zp_lm_acc_free(&a);
}

struct ref_case {
    char name[32];
    int n, v;
    float *f, *q;
    int32_t *t;
    double want[8];
};

/* Reads the next case of the reference file at *p; 0 at the end. */
static int next_case(char **p, struct ref_case *c)
{
    char *s = strstr(*p, "case ");
    if (!s)
        return 0;
    int used = 0;
    assert_int_equal(sscanf(s, "case %31s %d %d%n", c->name, &c->n, &c->v, &used), 3);
    s += used;
    c->f = malloc((size_t)c->n * (size_t)c->v * sizeof(float));
    c->q = malloc((size_t)c->n * (size_t)c->v * sizeof(float));
    c->t = malloc((size_t)c->n * sizeof(int32_t));
    assert_non_null(c->f);
    assert_non_null(c->q);
    assert_non_null(c->t);
    for (int side = 0; side < 2; side++)
        for (int i = 0; i < c->n; i++) {
            s = strchr(s, side ? 'q' : 'f');
            assert_non_null(s);
            s++;
            for (int k = 0; k < c->v; k++)
                (side ? c->q : c->f)[(size_t)i * (size_t)c->v + (size_t)k] = strtof(s, &s);
        }
    s = strstr(s, "\nt ");
    assert_non_null(s);
    s += 3;
    for (int i = 0; i < c->n; i++)
        c->t[i] = (int32_t)strtol(s, &s, 10);
    s = strstr(s, "want ");
    assert_non_null(s);
    s += 5;
    for (int k = 0; k < 8; k++)
        c->want[k] = strtod(s, &s);
    *p = s;
    return 1;
}

static void check_case(const struct ref_case *c, const struct zp_lm_metrics *m)
{
    const double got[8] = {m->nll, m->ppl, m->float_nll, m->kld_mean, m->kld_p99, m->kld_max,
                           m->top1_agreement, m->mean_abs_dp};
    static const char *names[8] = {"nll", "ppl", "float_nll", "kld_mean", "kld_p99", "kld_max",
                                   "top1_agreement", "mean_abs_dp"};
    for (int k = 0; k < 8; k++) {
        /* double sums in another order and another softmax: agreement to ~1e-12
         * relative; a KLD of exactly 0 (equal rows) must come out as 0 */
        double tol = 1e-10 * fmax(1.0, fabs(c->want[k]));
        if (fabs(got[k] - c->want[k]) > tol)
            fail_msg("case %s: %s = %.17g, reference %.17g", c->name, names[k], got[k], c->want[k]);
    }
}

static void test_reference(void **state)
{
    (void)state;
    char *text = zp_test_read_file(REF_FILE, NULL);
    assert_non_null(text);
    char *p = text;
    struct ref_case c;
    int cases = 0;
    while (next_case(&p, &c)) {
        struct zp_lm_acc a = {0}, b = {0};
        struct zp_lm_metrics m, mb;
        assert_int_equal(zp_lm_acc_add(&a, c.f, c.q, c.t, c.n, c.v), 0);
        zp_lm_acc_finish(&a, &m);
        check_case(&c, &m);
        /* the same predictions in ragged batches give the same numbers bit for bit */
        for (int i0 = 0, step = 1; i0 < c.n; i0 += step, step = step * 2 + 1) {
            int k = c.n - i0 < step ? c.n - i0 : step;
            assert_int_equal(zp_lm_acc_add(&b, c.f + (size_t)i0 * (size_t)c.v, c.q + (size_t)i0 * (size_t)c.v,
                                           c.t + i0, k, c.v), 0);
        }
        zp_lm_acc_finish(&b, &mb);
        assert_true(memcmp(&m, &mb, sizeof m) == 0);
        /* the float side alone */
        double fn = zp_lm_mean_nll(c.f, c.t, c.n, c.v);
        assert_true(fabs(fn - c.want[2]) <= 1e-10 * fmax(1.0, c.want[2]));
        if (strcmp(c.name, "equal") == 0)
            assert_true(m.kld_max == 0 && m.mean_abs_dp == 0 && m.nll == m.float_nll);
        zp_lm_acc_free(&a);
        zp_lm_acc_free(&b);
        free(c.f);
        free(c.q);
        free(c.t);
        cases++;
    }
    assert_int_equal(cases, 3);
    free(text);
}

/* A transformer layer's output [rows, channels] (channels last) gives the
 * per-channel sums of its transpose [channels, rows] read channels first. */
static void test_layer_acc_channels_last(void **state)
{
    (void)state;
    enum { R = 7, C = 5 };
    float y[R * C], yq[R * C], yt[R * C], yqt[R * C];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            y[r * C + c] = (float)(r * 0.37 - c * 1.1 + (r * c % 3));
            yq[r * C + c] = y[r * C + c] + (float)((r + 2 * c) % 5 - 2) * 0.01f;
            yt[c * R + r] = y[r * C + c];
            yqt[c * R + r] = yq[r * C + c];
        }
    double a[C * ZP_LAYER_PARTS], b[C * ZP_LAYER_PARTS];
    zp_layer_acc_image_last(C, y, yq, R, a);
    zp_layer_acc_image(C, yt, yqt, R, b);
    for (int i = 0; i < C * ZP_LAYER_PARTS; i++)
        assert_true(fabs(a[i] - b[i]) <= 1e-12 * fmax(1.0, fabs(b[i])));
    /* and the channel sums are those of each column */
    double se = 0;
    for (int r = 0; r < R; r++)
        se += (double)yq[r * C + 3] - y[r * C + 3];
    assert_true(fabs(a[3 * ZP_LAYER_PARTS] - se) < 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_reference),
        cmocka_unit_test(test_layer_acc_channels_last),
    };
    return ZP_RUN_TESTS(tests);
}
