/* The f32 GEMM with transposes (kernels/kernels.h, zp_f32_gemm_t) through every
 * f32 GEMM variant the CPU has, against the plain reference: M, N, K around the
 * register tiles (6/12 rows, 16/32 columns), the row block (48) and the reduction
 * block (256), all four transpose combinations, beta 0, 1 and 0.5, alpha 1 and
 * not, leading dimensions wider than the rows, one thread and two, workspace
 * given and not. Results must lie within the forward error bound of a dot product
 * |c - ref| <= 4 (K + 2) eps (|alpha| sum |a b| + |beta c|); the padding of C
 * past n must stay untouched; beta 0 must not read C (NaN there is overwritten).
 * Bad arguments fail naming what, with C untouched; calls are counted per variant.
 * Variants the CPU lacks print SKIP; run it under ZP_ISA_LIMIT=avx2 / ref too. */
#include "tests/util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "kernels/kernels.h"

static struct zp_rng rng;

#define SENTINEL 12345.f
#define PAD 3 /* extra floats per row of every matrix */

static float *randv(size_t n)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(2 * zp_rng_uniform(&rng) - 1);
    return v;
}

/* Every f32 GEMM variant the CPU has; prints SKIP for the others. */
static int variants(const struct zp_gemm_ukernel **out)
{
    size_t n;
    const struct zp_gemm_ukernel *t = zp_gemm_ukernels(&n);
    int c = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i].fmt != ZP_KF_F32)
            continue;
        if (!zp_cpu_has(t[i].isa)) {
            printf("SKIP %s (CPU or ISA limit lacks %s)\n", t[i].name, zp_isa_name(t[i].isa));
            continue;
        }
        out[c++] = &t[i];
    }
    return c;
}

static float at_a(const struct zp_f32_gemm_t_call *c, int i, int kk)
{
    return c->ta ? c->a[(size_t)kk * c->lda + i] : c->a[(size_t)i * c->lda + kk];
}

static float at_b(const struct zp_f32_gemm_t_call *c, int kk, int j)
{
    return c->tb ? c->b[(size_t)j * c->ldb + kk] : c->b[(size_t)kk * c->ldb + j];
}

/* One problem through variant uk; c0 is C before the call (also the reference's input). */
static void check_one(const struct zp_gemm_ukernel *uk, int ta, int tb, int m, int n, int k, float alpha, float beta,
                      int threads, int own_ws)
{
    const int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
    struct zp_f32_gemm_t_call c = {.ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = alpha, .beta = beta,
                                   .lda = (size_t)ac + PAD, .ldb = (size_t)bc + PAD, .ldc = (size_t)n + PAD,
                                   .threads = threads};
    float *a = randv((size_t)ar * c.lda), *b = randv((size_t)br * c.ldb);
    float *y = randv((size_t)m * c.ldc), *want = malloc((size_t)m * c.ldc * sizeof(float));
    for (int i = 0; i < m; i++)
        for (size_t j = (size_t)n; j < c.ldc; j++)
            y[(size_t)i * c.ldc + j] = SENTINEL;
    if (beta == 0.f)
        y[0] = NAN; /* must not leak into the result */
    c.a = a;
    c.b = b;
    c.c = want;
    memcpy(want, y, (size_t)m * c.ldc * sizeof(float));
    float *c0 = malloc((size_t)m * c.ldc * sizeof(float));
    memcpy(c0, y, (size_t)m * c.ldc * sizeof(float));
    zp_ref_f32_gemm_t(&c);
    float *ws = own_ws ? malloc((zp_f32_gemm_t_ws(&c) + 1) * sizeof(float)) : NULL;
    c.c = y;
    c.ws = ws ? ws + 1 : NULL; /* deliberately not 64-byte aligned */
    struct zp_err err = {0};
    if (zp_f32_gemm_t(uk, &c, &err) != ZP_OK)
        fail_msg("%s: %s", uk->name, err.msg);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double mag = 0;
            for (int kk = 0; kk < k; kk++)
                mag += fabs((double)at_a(&c, i, kk) * at_b(&c, kk, j));
            mag = fabs(alpha) * mag + (beta != 0.f ? fabs(beta * c0[(size_t)i * c.ldc + j]) : 0);
            const double got = y[(size_t)i * c.ldc + j], ref = want[(size_t)i * c.ldc + j];
            const double tol = 4.0 * (k + 2) * FLT_EPSILON * mag + 1e-30;
            if (!(fabs(got - ref) <= tol))
                fail_msg("%s: ta=%d tb=%d m=%d n=%d k=%d alpha=%g beta=%g threads=%d ws=%d at [%d][%d]: got %.9g, "
                         "reference %.9g",
                         uk->name, ta, tb, m, n, k, alpha, beta, threads, own_ws, i, j, got, ref);
        }
        for (size_t j = (size_t)n; j < c.ldc; j++)
            if (y[(size_t)i * c.ldc + j] != SENTINEL)
                fail_msg("%s: ta=%d tb=%d m=%d n=%d k=%d: wrote past row %d's n columns (column %zu)", uk->name, ta,
                         tb, m, n, k, i, j);
    }
    free(a);
    free(b);
    free(y);
    free(want);
    free(c0);
    free(ws);
}

static void test_against_reference(void **state)
{
    (void)state;
    const struct zp_gemm_ukernel *v[8];
    const int nv = variants(v);
    assert_true(nv >= 1); /* the portable one is always there */
    /* rows around 6/12 and the 48-row block, columns around 16/32, K around the 256 block */
    static const int shapes[][3] = {{1, 1, 1},   {5, 31, 7},   {13, 33, 1},  {12, 32, 16}, {47, 17, 255},
                                    {49, 65, 257}, {6, 100, 3}, {97, 15, 300}, {2, 1, 40},  {70, 47, 33}};
    static const float betas[] = {0.f, 1.f, 0.5f};
    for (int u = 0; u < nv; u++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int tt = 0; tt < 4; tt++)
                for (int bi = 0; bi < 3; bi++) {
                    const int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                    const int threads = 1 + (int)((s + (size_t)tt) % 2), own = (int)((s + (size_t)bi) % 2);
                    check_one(v[u], tt & 1, tt >> 1, m, n, k, bi == 2 ? -0.75f : 1.f, betas[bi], threads, own);
                }
}

/* Bad arguments: non-zero status naming the argument, C untouched. */
static void test_bad_arguments(void **state)
{
    (void)state;
    const struct zp_gemm_ukernel *uk = zp_gemm_select(ZP_KF_F32, -1);
    assert_non_null(uk);
    float a[12] = {0}, b[12] = {0}, y[12];
    for (int i = 0; i < 12; i++)
        y[i] = SENTINEL;
    const struct zp_f32_gemm_t_call good = {.m = 2, .n = 3, .k = 4, .alpha = 1, .a = a, .lda = 4, .b = b, .ldb = 3,
                                            .c = y, .ldc = 3};
    struct zp_err err = {0};
    struct zp_f32_gemm_t_call c = good;
    c.lda = 3;
    assert_int_equal(zp_f32_gemm_t(uk, &c, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "leading dimension of A"));
    c = good;
    zp_err_clear(&err);
    c.tb = 1; /* B is then n x k: ldb 3 < k */
    assert_int_equal(zp_f32_gemm_t(uk, &c, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "leading dimension of B"));
    c = good;
    zp_err_clear(&err);
    c.k = 0;
    assert_int_equal(zp_f32_gemm_t(uk, &c, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "k=0"));
    c = good;
    zp_err_clear(&err);
    c.c = NULL;
    assert_int_equal(zp_f32_gemm_t(uk, &c, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "matrix C"));
    zp_err_clear(&err);
    const struct zp_gemm_ukernel *s8 = zp_gemm_select(ZP_KF_S8, -1);
    assert_int_equal(zp_f32_gemm_t(s8, &good, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, s8->name));
    for (int i = 0; i < 12; i++)
        assert_true(y[i] == SENTINEL);
}

/* Selection follows the ISA limit; each successful call is counted for its variant. */
static void test_select_and_count(void **state)
{
    (void)state;
    const int saved = zp_cpu_limit();
    assert_int_equal(zp_cpu_set_limit(ZP_ISA_REF), 0);
    const struct zp_gemm_ukernel *ref = zp_gemm_select(ZP_KF_F32, -1);
    assert_int_equal(ref->isa, ZP_ISA_REF);
    assert_int_equal(zp_cpu_set_limit(saved), 0);
    const struct zp_gemm_ukernel *best = zp_gemm_select(ZP_KF_F32, -1);
    float a[4] = {1, 2, 3, 4}, b[4] = {1, 0, 0, 1}, y[4];
    const struct zp_f32_gemm_t_call c = {.m = 2, .n = 2, .k = 2, .alpha = 1, .a = a, .lda = 2, .b = b, .ldb = 2,
                                         .c = y, .ldc = 2, .ta = 1};
    struct zp_err err = {0};
    zp_f32_gemm_t_calls_reset();
    for (int i = 0; i < 3; i++)
        assert_int_equal(zp_f32_gemm_t(best, &c, &err), ZP_OK);
    struct zp_f32_gemm_t_call bad = c;
    bad.lda = 1;
    assert_int_equal(zp_f32_gemm_t(best, &bad, &err), ZP_EINVAL);
    assert_int_equal(zp_f32_gemm_t_calls(best), 3);
    if (best != ref)
        assert_int_equal(zp_f32_gemm_t_calls(ref), 0);
    /* A^T B with B = I: y = A^T */
    assert_true(y[0] == 1 && y[1] == 3 && y[2] == 2 && y[3] == 4);
}

int main(void)
{
    zp_rng_seed(&rng, 23);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_select_and_count),
    };
    return ZP_RUN_TESTS(tests);
}
