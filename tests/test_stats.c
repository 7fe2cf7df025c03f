/* stats/: the exact McNemar test and the paired bootstrap against values worked out
 * independently (tests/data/stats_ref.txt, made by tests/data/stats_ref.py with exact
 * rational arithmetic and a reimplementation of the same xoshiro256** stream), hand
 * cases, determinism (seed, thread count), and the summary rows of summary.csv. */
#include "tests/util.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/rng.h"
#include "stats/bootstrap.h"
#include "stats/mcnemar.h"
#include "stats/summary.h"

#define REF_FILE "tests/data/stats_ref.txt"

/* ---- the reference file: "keyword numbers..." lines, vectors by name ------------ */

enum { MAX_VECS = 40, MAX_LINES = 80 };
struct ref_line {
    char key[32], a1[32], a2[32]; /* keyword, and for boot lines the column names */
    size_t n;
    double *v;
};
struct ref {
    char *text;
    size_t nl;
    struct ref_line line[MAX_LINES];
};
static struct ref R;

static void ref_load(void)
{
    if (R.text)
        return;
    R.text = zp_test_read_file(REF_FILE, NULL);
    assert_non_null(R.text);
    char *save = NULL;
    for (char *ln = strtok_r(R.text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        if (ln[0] == '#')
            continue;
        assert_true(R.nl < MAX_LINES);
        struct ref_line *l = &R.line[R.nl++];
        l->v = calloc(strlen(ln) / 2 + 1, sizeof *l->v);
        assert_non_null(l->v);
        char *s2 = NULL;
        int field = 0;
        for (char *tok = strtok_r(ln, " ", &s2); tok; tok = strtok_r(NULL, " ", &s2), field++) {
            int named = !strcmp(l->key, "vec") || !strcmp(l->key, "boot");
            if (field == 0)
                snprintf(l->key, sizeof l->key, "%s", tok);
            else if (field == 1 && named)
                snprintf(l->a1, sizeof l->a1, "%s", tok);
            else if (field == 2 && !strcmp(l->key, "boot"))
                snprintf(l->a2, sizeof l->a2, "%s", tok);
            else {
                char *end;
                l->v[l->n++] = strtod(tok, &end);
                assert_true(*end == '\0');
            }
        }
    }
    assert_true(R.nl > 10);
}

static const struct ref_line *ref_vec(const char *name)
{
    for (size_t i = 0; i < R.nl; i++)
        if (!strcmp(R.line[i].key, "vec") && !strcmp(R.line[i].a1, name))
            return &R.line[i];
    fail_msg("reference vector '%s' missing from %s", name, REF_FILE);
    return NULL;
}

static const struct ref_line *ref_key(const char *key)
{
    for (size_t i = 0; i < R.nl; i++)
        if (!strcmp(R.line[i].key, key))
            return &R.line[i];
    fail_msg("reference line '%s' missing from %s", key, REF_FILE);
    return NULL;
}

static int32_t *ivec(const char *name, size_t *n)
{
    const struct ref_line *l = ref_vec(name);
    int32_t *v = malloc(l->n * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < l->n; i++)
        v[i] = (int32_t)l->v[i];
    *n = l->n;
    return v;
}

/* The C and Python computations do the same float operations in the same order, so
 * they agree to rounding; 1e-12 leaves room only for a libm difference. */
static void near(double got, double want, const char *what, size_t i)
{
    if (isnan(want)) {
        if (!isnan(got))
            fail_msg("%s[%zu]: got %.17g, want NaN", what, i, got);
        return;
    }
    if (!(fabs(got - want) <= 1e-12 * fmax(fabs(want), 1.0) || zp_test_close(got, want, 1e-12)))
        fail_msg("%s[%zu]: got %.17g, want %.17g", what, i, got, want);
}

/* ---- McNemar ------------------------------------------------------------------ */

static void test_mcnemar_hand(void **state)
{
    (void)state;
    assert_true(zp_mcnemar_exact(0, 0) == 1.0);
    assert_true(zp_mcnemar_exact(0, 5) == 0.0625);            /* 2 / 2^5 */
    assert_true(zp_mcnemar_exact(5, 0) == 0.0625);
    assert_true(zp_mcnemar_exact(7, 7) == 1.0);
    assert_true(fabs(zp_mcnemar_exact(3, 7) - 352.0 / 1024) < 1e-15); /* 2 (1+10+45+120)/2^10 */
    assert_true(fabs(zp_mcnemar_midp(0, 5) - 1.0 / 32) < 1e-17);      /* 2 P(X<0) + P(X=0) */
    assert_true(zp_mcnemar_midp(0, 0) == 1.0);
    /* Binomial building blocks: the pmf sums to 1; cdf(n) = 1; cdf(n/2) = (1 + pmf)/2. */
    double s = 0;
    for (uint64_t k = 0; k <= 61; k++)
        s += zp_binom_half_pmf(k, 61);
    assert_true(fabs(s - 1.0) < 1e-14);
    assert_true(zp_binom_half_cdf(40, 40) == 1.0);
    assert_true(fabs(zp_binom_half_cdf(20, 40) - 0.5 * (1 + zp_binom_half_pmf(20, 40))) < 1e-15);
    assert_true(fabs(zp_binom_half_cdf(30, 40) + zp_binom_half_cdf(9, 40) - 1.0) < 1e-15);
    /* More discordance in one direction never raises p; p stays in [0, 1] at 10^7. */
    double prev = 1.0;
    for (uint64_t c = 10; c <= 40; c++) {
        double p = zp_mcnemar_exact(10, c);
        assert_true(p <= prev && p >= 0.0);
        prev = p;
    }
    double big = zp_mcnemar_exact(4998000, 5002000); /* z = 1.265: p ~ 0.206 */
    assert_true(big > 0.20 && big < 0.21);
}

static void test_mcnemar_reference(void **state)
{
    (void)state;
    ref_load();
    int seen = 0;
    for (size_t i = 0; i < R.nl; i++) {
        const struct ref_line *l = &R.line[i];
        if (strcmp(l->key, "mcnemar"))
            continue;
        assert_int_equal(l->n, 4);
        uint64_t b = (uint64_t)l->v[0], c = (uint64_t)l->v[1];
        double p = zp_mcnemar_exact(b, c), m = zp_mcnemar_midp(b, c);
        if (!zp_test_close(p, l->v[2], 1e-11) || !zp_test_close(m, l->v[3], 1e-11))
            fail_msg("mcnemar(%llu, %llu): exact %.17g (want %.17g), mid-p %.17g (want %.17g)",
                     (unsigned long long)b, (unsigned long long)c, p, l->v[2], m, l->v[3]);
        seen++;
    }
    assert_true(seen >= 20);
}

static void test_mcnemar_counts(void **state)
{
    (void)state;
    const uint8_t a[] = {1, 1, 0, 0, 1, 0, 1}, b[] = {1, 0, 1, 0, 0, 0, 1};
    uint64_t nb, nc;
    struct zp_err err = {0};
    assert_int_equal(zp_mcnemar_counts(a, b, 7, &nb, &nc, &err), ZP_OK);
    assert_int_equal(nb, 2);
    assert_int_equal(nc, 1);
    const uint8_t bad[] = {1, 0, 2};
    assert_int_equal(zp_mcnemar_counts(a, bad, 3, &nb, &nc, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "example 2"));
}

/* ---- bootstrap ---------------------------------------------------------------- */

static void test_boot_indices(void **state)
{
    (void)state;
    ref_load();
    int seen = 0;
    for (size_t i = 0; i < R.nl; i++) {
        const struct ref_line *l = &R.line[i];
        if (strcmp(l->key, "indices"))
            continue;
        /* seed 2^64 - 3 does not survive a trip through double: it is rebuilt here. */
        uint64_t seed = l->v[0] > 1e19 ? UINT64_MAX - 2 : (uint64_t)l->v[0];
        uint32_t j = (uint32_t)l->v[1];
        size_t n = (size_t)l->v[2];
        assert_int_equal(l->n, 3 + n);
        uint32_t idx[64];
        zp_boot_indices(seed, j, n, idx);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(idx[k], (uint32_t)l->v[3 + k]);
        seen++;
    }
    assert_int_equal(seen, 3);
}

static void test_boot_reference(void **state)
{
    (void)state;
    ref_load();
    int seen = 0;
    for (size_t i = 0; i < R.nl; i++) {
        const struct ref_line *l = &R.line[i];
        if (strcmp(l->key, "boot"))
            continue;
        const struct ref_line *s = ref_vec(l->a1), *w = strcmp(l->a2, "-") ? ref_vec(l->a2) : NULL;
        struct zp_boot_col col = {s->v, w ? w->v : NULL};
        struct zp_boot_opts o = {(uint64_t)l->v[0], (uint32_t)l->v[1], l->v[2]};
        struct zp_interval iv;
        struct zp_err err = {0};
        assert_int_equal(zp_bootstrap(&col, 1, s->n, &o, &iv, &err), ZP_OK);
        near(iv.point, l->v[3], l->a1, 0);
        near(iv.lo, l->v[4], l->a1, 1);
        near(iv.hi, l->v[5], l->a1, 2);
        assert_true(iv.lo <= iv.point && iv.point <= iv.hi);
        seen++;
    }
    assert_int_equal(seen, 6);
}

/* Columns resampled together use the same indices: each column's interval is the
 * one it gets alone, and the paired difference's interval is narrower than the
 * unpaired spread of two correlated vectors. */
static void test_boot_paired(void **state)
{
    (void)state;
    ref_load();
    const struct ref_line *a = ref_vec("a"), *b = ref_vec("b"), *d = ref_vec("diff");
    struct zp_boot_col cols[3] = {{a->v, NULL}, {b->v, NULL}, {d->v, NULL}};
    struct zp_boot_opts o;
    zp_boot_opts_default(&o);
    struct zp_interval all[3], one;
    struct zp_err err = {0};
    assert_int_equal(zp_bootstrap(cols, 3, a->n, &o, all, &err), ZP_OK);
    for (int c = 0; c < 3; c++) {
        assert_int_equal(zp_bootstrap(&cols[c], 1, a->n, &o, &one, &err), ZP_OK);
        assert_true(one.lo == all[c].lo && one.hi == all[c].hi && one.point == all[c].point);
    }
    near(all[2].point, all[0].point - all[1].point, "paired point", 0);
    /* a and b agree on most examples. Resampled with shared indices, the
     * difference's interval is much narrower than resampling them independently
     * would give (widths adding in quadrature). */
    double wa = all[0].hi - all[0].lo, wb = all[1].hi - all[1].lo, wd = all[2].hi - all[2].lo;
    assert_true(wd < 0.8 * sqrt(wa * wa + wb * wb));
}

static void test_boot_determinism(void **state)
{
    (void)state;
    size_t n = 5000; /* n x B = 10^7: the parallel path */
    double *x = malloc(n * sizeof *x);
    assert_non_null(x);
    struct zp_rng r;
    zp_rng_seed(&r, 77);
    for (size_t i = 0; i < n; i++)
        x[i] = zp_rng_uniform(&r) < 0.9 ? 1.0 : 0.0;
    struct zp_boot_col col = {x, NULL};
    struct zp_boot_opts o;
    zp_boot_opts_default(&o);
    struct zp_interval a, b, c;
    struct zp_err err = {0};
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    assert_int_equal(zp_bootstrap(&col, 1, n, &o, &a, &err), ZP_OK);
    omp_set_num_threads(threads > 1 ? threads : 2);
    assert_int_equal(zp_bootstrap(&col, 1, n, &o, &b, &err), ZP_OK);
    omp_set_num_threads(threads);
    assert_true(a.lo == b.lo && a.hi == b.hi && a.point == b.point);
    o.seed++;
    assert_int_equal(zp_bootstrap(&col, 1, n, &o, &c, &err), ZP_OK);
    assert_true(c.lo != a.lo || c.hi != a.hi);
    /* Contains the estimate, and is about +-1.96 binomial standard errors wide. */
    assert_true(a.lo < a.point && a.point < a.hi);
    double se = sqrt(a.point * (1 - a.point) / (double)n);
    assert_true(fabs((a.hi - a.lo) / (2 * 1.96 * se) - 1.0) < 0.1);
    free(x);
}

static void test_boot_errors(void **state)
{
    (void)state;
    double s[3] = {1, 2, NAN}, w[3] = {1, -1, 1}, z[3] = {0, 0, 0};
    struct zp_boot_col col = {s, NULL};
    struct zp_boot_opts o;
    zp_boot_opts_default(&o);
    struct zp_interval iv;
    struct zp_err err = {0};
    assert_int_equal(zp_bootstrap(&col, 1, 3, &o, &iv, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "example 2"));
    s[2] = 3;
    col.w = w;
    zp_err_clear(&err);
    assert_int_equal(zp_bootstrap(&col, 1, 3, &o, &iv, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "weight"));
    col.w = z;
    zp_err_clear(&err);
    assert_int_equal(zp_bootstrap(&col, 1, 3, &o, &iv, &err), ZP_EINVAL);
    col.w = NULL;
    o.resamples = 1;
    zp_err_clear(&err);
    assert_int_equal(zp_bootstrap(&col, 1, 3, &o, &iv, &err), ZP_EINVAL);
    o.resamples = 100;
    o.level = 1.0;
    zp_err_clear(&err);
    assert_int_equal(zp_bootstrap(&col, 1, 3, &o, &iv, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "level"));
    o.level = 0.95;
    zp_err_clear(&err);
    assert_int_equal(zp_bootstrap(&col, 1, 0, &o, &iv, &err), ZP_EINVAL);
}

static void test_mean_std_quantile(void **state)
{
    (void)state;
    double x[] = {1, 2, 3, 4}, m, s;
    zp_mean_std(x, 4, &m, &s);
    assert_true(m == 2.5);
    assert_true(fabs(s - sqrt(5.0 / 3.0)) < 1e-15);
    zp_mean_std(x, 1, &m, &s);
    assert_true(m == 1.0 && isnan(s));
    double q[] = {1, 2, 3, 4, 5};
    assert_true(zp_quantile_sorted(q, 5, 0.25) == 2.0);
    assert_true(fabs(zp_quantile_sorted(q, 5, 0.1) - 1.4) < 1e-15);
    assert_true(zp_quantile_sorted(q, 5, 1.0) == 5.0);
    assert_true(zp_quantile_sorted(q, 5, 0.0) == 1.0);
}

/* ---- summary rows --------------------------------------------------------------- */

static const struct zp_field *field(const struct zp_field *f, size_t nf, const char *name)
{
    for (size_t i = 0; i < nf; i++)
        if (!strcmp(f[i].name, name))
            return &f[i];
    fail_msg("no column '%s'", name);
    return NULL;
}

/* Checks row fields named in order against the values of a reference line. */
static void check_fields(const struct zp_field *f, size_t nf, const void *row,
                         const char *const *names, const struct ref_line *l, size_t first)
{
    for (size_t i = 0; names[i]; i++) {
        assert_true(first + i < l->n);
        near(zp_field_value(field(f, nf, names[i]), row), l->v[first + i], names[i], i);
    }
}

struct cls_fixture {
    size_t n;
    int32_t *label, *fpred, *pred[3], *qpred[3];
    struct zp_preds f, p[3], q[3];
    struct zp_cell_preds flt, cell, qcell;
};

static void cls_load(struct cls_fixture *x)
{
    ref_load();
    size_t n;
    x->label = ivec("label", &x->n);
    x->fpred = ivec("fpred", &n);
    assert_int_equal(n, x->n);
    x->f = (struct zp_preds){.n = x->n, .label = x->label, .predicted = x->fpred};
    for (int r = 0; r < 3; r++) {
        char nm[16];
        snprintf(nm, sizeof nm, "pred%d", r);
        x->pred[r] = ivec(nm, &n);
        snprintf(nm, sizeof nm, "qpred%d", r);
        x->qpred[r] = ivec(nm, &n);
        x->p[r] = (struct zp_preds){.n = x->n, .label = x->label, .predicted = x->pred[r]};
        x->q[r] = (struct zp_preds){.n = x->n, .label = x->label, .predicted = x->qpred[r]};
    }
    x->flt = (struct zp_cell_preds){"float", 1, &x->f};
    x->cell = (struct zp_cell_preds){"sym8", 3, x->p};
    x->qcell = (struct zp_cell_preds){"lin4", 3, x->q};
}

static void cls_free(struct cls_fixture *x)
{
    free(x->label);
    free(x->fpred);
    for (int r = 0; r < 3; r++) {
        free(x->pred[r]);
        free(x->qpred[r]);
    }
}

static const char *const CELL_COLS[] = {
    "top1_mean", "top1_std", "top1_lo", "top1_hi", "drop_mean", "drop_std", "drop_lo",
    "drop_hi", "agreement_mean", "agreement_std", "agreement_lo", "agreement_hi", "mcnemar_p",
    "mcnemar_p_min", "discordant_b", "discordant_c", "significant", NULL};

static void test_summary_cell(void **state)
{
    (void)state;
    struct cls_fixture x;
    cls_load(&x);
    const char *keys[] = {"summary", "summary_q"};
    const struct zp_cell_preds *cells[] = {&x.cell, &x.qcell};
    int sig[2];
    for (int c = 0; c < 2; c++) {
        const struct ref_line *l = ref_key(keys[c]);
        struct zp_boot_opts o = {(uint64_t)l->v[0], (uint32_t)l->v[1], l->v[2]};
        struct zp_summary_row row;
        struct zp_err err = {0};
        assert_int_equal(zp_summary_cell(cells[c], &x.flt, &o, &row, &err), ZP_OK);
        assert_int_equal(row.n, x.n);
        assert_int_equal(row.replicates, 3);
        check_fields(zp_summary_fields, zp_summary_n_fields, &row, CELL_COLS, l, 3);
        assert_true(isnan(row.nll.mean) && isnan(row.kld.lo)); /* a classifier */
        assert_true(row.top1.lo <= row.top1.mean && row.top1.mean <= row.top1.hi);
        assert_true(row.drop.lo <= row.drop.mean && row.drop.mean <= row.drop.hi);
        sig[c] = row.significant;
    }
    /* The fixture makes the 30 %-noise cell worse than float beyond doubt. */
    assert_int_equal(sig[1], 1);
    (void)sig[0];

    /* The float model against itself: no drop, full agreement, p = 1. */
    struct zp_summary_row self;
    struct zp_err err = {0};
    assert_int_equal(zp_summary_cell(&x.flt, &x.flt, NULL, &self, &err), ZP_OK);
    assert_true(self.drop.mean == 0 && self.drop.lo == 0 && self.drop.hi == 0);
    assert_true(self.agreement.mean == 1 && self.mcnemar_p == 1 && !self.significant);
    assert_true(isnan(self.top1.std));
    cls_free(&x);
}

static void test_summary_pair(void **state)
{
    (void)state;
    struct cls_fixture x;
    cls_load(&x);
    const struct ref_line *l = ref_key("pair");
    struct zp_boot_opts o = {(uint64_t)l->v[0], (uint32_t)l->v[1], l->v[2]};
    struct zp_pair_row row;
    struct zp_err err = {0};
    assert_int_equal(zp_summary_pair(&x.cell, &x.qcell, &o, &row, &err), ZP_OK);
    static const char *const cols[] = {"delta_top1_mean", "delta_top1_std", "delta_top1_lo",
                                       "delta_top1_hi", "mcnemar_p", "mcnemar_p_min",
                                       "discordant_b", "discordant_c", "significant", NULL};
    check_fields(zp_pair_fields, zp_pair_n_fields, &row, cols, l, 3);
    /* A pair against a one-run side pairs it with every replicate: vs float it is
     * the cell row's drop with the sign turned (B - A instead of float - cell). */
    struct zp_pair_row vf;
    struct zp_summary_row cr;
    assert_int_equal(zp_summary_pair(&x.cell, &x.flt, &o, &vf, &err), ZP_OK);
    assert_int_equal(zp_summary_cell(&x.cell, &x.flt, &o, &cr, &err), ZP_OK);
    assert_int_equal(vf.replicates, 3);
    near(vf.delta_top1.mean, -cr.drop.mean, "pair vs float", 0);
    near(vf.delta_top1.lo, -cr.drop.hi, "pair vs float lo", 0);
    near(vf.mcnemar_p, cr.mcnemar_p, "pair vs float p", 0);
    near(vf.discordant_b, cr.discordant_c, "pair vs float b", 0);
    /* 3 vs 2 replicates cannot be paired. */
    struct zp_cell_preds two = {"two", 2, x.q};
    assert_int_equal(zp_summary_pair(&x.cell, &two, &o, &vf, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "3 and 2 replicates"));
    cls_free(&x);
}

static void test_summary_lm(void **state)
{
    (void)state;
    ref_load();
    const struct ref_line *t = ref_vec("tok"), *fn = ref_vec("fnll");
    struct zp_preds f = {.n = t->n, .tokens = t->v, .nll = fn->v}, p[2];
    for (int r = 0; r < 2; r++) {
        char a[8], b[8];
        snprintf(a, sizeof a, "nll%d", r);
        snprintf(b, sizeof b, "kld%d", r);
        p[r] = (struct zp_preds){.n = t->n, .tokens = t->v, .nll = ref_vec(a)->v,
                                 .kld = ref_vec(b)->v};
    }
    struct zp_cell_preds flt = {"float", 1, &f}, cell = {"lm-int8", 2, p};
    const struct ref_line *l = ref_key("summary_lm");
    struct zp_boot_opts o = {(uint64_t)l->v[0], (uint32_t)l->v[1], l->v[2]};
    struct zp_summary_row row;
    struct zp_err err = {0};
    assert_int_equal(zp_summary_cell(&cell, &flt, &o, &row, &err), ZP_OK);
    static const char *const cols[] = {
        "nll_mean", "nll_std", "nll_lo", "nll_hi", "kld_mean", "kld_std", "kld_lo", "kld_hi",
        "nll_delta_mean", "nll_delta_std", "nll_delta_lo", "nll_delta_hi", "significant", NULL};
    check_fields(zp_summary_fields, zp_summary_n_fields, &row, cols, l, 3);
    assert_true(isnan(row.top1.mean) && isnan(row.mcnemar_p));
}

static void test_summary_errors(void **state)
{
    (void)state;
    struct cls_fixture x;
    cls_load(&x);
    struct zp_summary_row row;
    struct zp_err err = {0};
    /* A record set in another order is caught at the first differing label. */
    int32_t *lab = malloc(x.n * sizeof *lab);
    assert_non_null(lab);
    memcpy(lab, x.label, x.n * sizeof *lab);
    size_t bad = 0;
    while (lab[bad] == lab[bad + 1])
        bad++;
    int32_t tmp = lab[bad];
    lab[bad] = lab[bad + 1];
    lab[bad + 1] = tmp;
    x.p[1].label = lab;
    assert_int_equal(zp_summary_cell(&x.cell, &x.flt, NULL, &row, &err), ZP_EINVAL);
    char want[64];
    snprintf(want, sizeof want, "replicate 1, example %zu", bad);
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, "sym8"));
    x.p[1].label = x.label;
    /* Different example counts. */
    x.p[2].n = x.n - 1;
    zp_err_clear(&err);
    assert_int_equal(zp_summary_cell(&x.cell, &x.flt, NULL, &row, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "examples"));
    x.p[2].n = x.n;
    /* A float "cell" with several runs is refused rather than silently using one. */
    zp_err_clear(&err);
    assert_int_equal(zp_summary_cell(&x.cell, &x.cell, NULL, &row, &err), ZP_EINVAL);
    /* LM record without tokens. */
    double nll[2] = {1, 2};
    struct zp_preds lm = {.n = 2, .nll = nll};
    zp_err_clear(&err);
    assert_int_equal(zp_preds_check(&lm, "lm", &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "tokens"));
    free(lab);
    cls_free(&x);
}

static void test_field_tables(void **state)
{
    (void)state;
    /* Names unique, and every double member of the row reachable by name. */
    for (size_t i = 0; i < zp_summary_n_fields; i++)
        for (size_t j = i + 1; j < zp_summary_n_fields; j++)
            assert_string_not_equal(zp_summary_fields[i].name, zp_summary_fields[j].name);
    assert_int_equal(zp_summary_n_fields, 2 + 6 * 4 + 5);
    assert_int_equal(zp_pair_n_fields, 2 + 2 * 4 + 5);
    struct zp_summary_row row = {.n = 12, .replicates = 3, .significant = 1};
    row.kld.hi = 0.25;
    assert_true(zp_field_value(field(zp_summary_fields, zp_summary_n_fields, "n_eval"), &row) == 12);
    assert_true(zp_field_value(field(zp_summary_fields, zp_summary_n_fields, "kld_hi"), &row) == 0.25);
    assert_true(zp_field_value(field(zp_summary_fields, zp_summary_n_fields, "significant"), &row) == 1);
    assert_string_equal(zp_pred_columns_classifier[4], "correct");
    assert_int_equal(zp_pred_n_columns_lm, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mcnemar_hand),
        cmocka_unit_test(test_mcnemar_reference),
        cmocka_unit_test(test_mcnemar_counts),
        cmocka_unit_test(test_boot_indices),
        cmocka_unit_test(test_boot_reference),
        cmocka_unit_test(test_boot_paired),
        cmocka_unit_test(test_boot_determinism),
        cmocka_unit_test(test_boot_errors),
        cmocka_unit_test(test_mean_std_quantile),
        cmocka_unit_test(test_summary_cell),
        cmocka_unit_test(test_summary_pair),
        cmocka_unit_test(test_summary_lm),
        cmocka_unit_test(test_summary_errors),
        cmocka_unit_test(test_field_tables),
    };
    return ZP_RUN_TESTS(tests);
}
