/* Kernel tests of the block-scaled and FP8 formats (MXINT8, MXFP4, NVFP4, NF4,
 * FP8 E4M3): the element and scale decodes against independent computations
 * (bit formulas, the inverse normal CDF for NF4), every variant the CPU has
 * against the plain reference on ragged shapes (M, N around the tiles, K a few
 * blocks) with strided outputs and 1 or 3 threads, and the packing errors.
 * Bit-exact everywhere except the bf16 FP8 path, which must stay within the
 * float dot-product bound 4 K eps sum |a b| |sa sb|. */
#include "store/table.h"
#include "tests/util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/minifloat.h"

static int blocked(enum zp_kfmt f) { return zp_kfmt_traits(f)->bscale != ZP_KS_NONE; }

/* ---- decode tables ---------------------------------------------------------- */

/* IEEE half bits -> double, written out (no F16C in the test). */
static double half_value(uint16_t h)
{
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e ? ldexp(1.0 + m / 1024.0, e - 15) : ldexp((double)m, -24);
    return s ? -v : v;
}

static void test_decode_tables(void **state)
{
    (void)state;
    /* E2M1 (OCP MX v1.0): S EE M, bias 1; E = 0 is subnormal: M x 0.5 */
    for (int c = 0; c < 16; c++) {
        int s = c >> 3, e = (c >> 1) & 3, m = c & 1;
        double v = e ? ldexp(1.0 + m / 2.0, e - 1) : 0.5 * m;
        if (s)
            v = -v;
        assert_true(zp_kd_e2m1[c] == (float)v);
        assert_int_equal(zp_kd_e2m1_x2[c], (int)(2 * v));
    }
    assert_true(zp_kd_e2m1[7] == 6.0f && zp_kd_e2m1[15] == -6.0f && zp_kd_e2m1[1] == 0.5f);
    /* E4M3 "FN" (OCP 8-bit FP v1.0): value = (8 + M) 2^(E-10), subnormal M 2^-9,
     * in integers; and the kernels' half-precision decode times 256 */
    int nan = 0;
    for (int c = 0; c < 256; c++) {
        int s = c >> 7, e = (c >> 3) & 15, m = c & 7;
        float got = zp_kd_e4m3((uint8_t)c);
        if (e == 15 && m == 7) {
            assert_true(isnan(got));
            assert_true(zp_kd_e4m3_isnan((uint8_t)c));
            nan++;
            continue;
        }
        double v = e ? ldexp(8.0 + m, e - 10) : ldexp((double)m, -9);
        if (s)
            v = -v;
        assert_true(got == (float)v);
        assert_true((signbit(got) != 0) == (s != 0));
        assert_true(half_value(zp_kd_e4m3_f16_div256((uint8_t)c)) * 256.0 == v);
    }
    assert_int_equal(nan, 2);
    assert_true(zp_kd_e4m3(0x7e) == 448.0f && zp_kd_e4m3(0x01) == ldexpf(1, -9) && zp_kd_e4m3(0x08) == ldexpf(1, -6));
    /* E8M0: 2^(e - 127), 0xff NaN */
    assert_true(zp_kd_e8m0(127) == 1.0f && zp_kd_e8m0(0) == ldexpf(1, -127) && zp_kd_e8m0(254) == ldexpf(1, 127));
    assert_true(isnan(zp_kd_e8m0(255)));
}

/* Inverse of the standard normal CDF by bisection on erfc (independent of the table). */
static double ppf(double p)
{
    double lo = -10, hi = 10;
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(-mid / sqrt(2.0)) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* QLoRA's construction (bitsandbytes create_normal_map, offset 0.9677083): 8
 * positive quantiles of linspace(offset, 0.5, 9), 7 negative of linspace(offset,
 * 0.5, 8), an exact 0, sorted and divided by the largest. */
static void test_nf4_levels(void **state)
{
    (void)state;
    const double off = 0.9677083;
    double v[16];
    int n = 0;
    for (int i = 0; i < 8; i++)
        v[n++] = ppf(off + (0.5 - off) * i / 8.0);
    for (int i = 0; i < 7; i++)
        v[n++] = -ppf(off + (0.5 - off) * i / 7.0);
    v[n++] = 0.0;
    for (int i = 0; i < 16; i++) /* insertion sort */
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    for (int i = 0; i < 16; i++) {
        double want = v[i] / v[15];
        if (fabs(zp_kd_nf4[i] - want) > 1e-6)
            fail_msg("nf4 level %d: table %.9g, QLoRA construction %.9g", i, zp_kd_nf4[i], want);
    }
    assert_true(zp_kd_nf4[7] == 0.0f && zp_kd_nf4[0] == -1.0f && zp_kd_nf4[15] == 1.0f);
}

/* ---- variants against the reference --------------------------------------------- */

/* sum_k |a b| |sa sb| of FP8 output (i, j): the float dot-product error scale. */
static double fp8_abs_dot(const struct zp_gemm_problem *p, int i, int j)
{
    double s = 0;
    for (int k = 0; k < p->k; k++)
        s += fabs((double)zp_kd_e4m3(((const uint8_t *)p->a)[(size_t)i * p->k + k]) *
                  zp_kd_e4m3(((const uint8_t *)p->b)[(size_t)k * p->n + j]));
    return s * fabs((double)p->a_scale[i] * ((const float *)p->b_scale)[j]);
}

static int check(const struct zp_gemm_ukernel *uk, int M, int N, int K, int threads, uint64_t seed)
{
    struct zp_gemm_problem p = {.fmt = uk->fmt, .m = M, .n = N, .k = K};
    struct zp_gemm_operands o;
    struct zp_err err = {0};
    assert_int_equal(zp_gemm_operands_random(&p, &o, seed, &err), ZP_OK);
    struct zp_packed_a pa;
    struct zp_packed_b pb;
    if (zp_pack_b(&p, &pb, &err) || zp_pack_a(&p, uk->afmt, &pa, &err))
        fail_msg("%s %dx%dx%d: packing: %s", uk->name, M, N, K, err.msg);
    const size_t ldc = (size_t)N + 3; /* the 3 pad columns must stay untouched */
    float *ref = malloc((size_t)M * N * 4), *got = malloc((size_t)M * ldc * 4);
    memset(got, 0x5a, (size_t)M * ldc * 4);
    zp_ref_gemm(&p, ref);
    zp_gemm_run(uk, &(struct zp_gemm_call){.a = &pa, .b = &pb, .c = got, .ldc = ldc, .threads = threads});
    const int exact = strcmp(uk->path, "bf16") != 0;
    int bad = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < (int)ldc; j++) {
            float g = got[(size_t)i * ldc + j];
            uint32_t gw;
            memcpy(&gw, &g, 4);
            if (j >= N) {
                if (gw != 0x5a5a5a5au && !bad++)
                    print_error("%s: wrote past N at i=%d j=%d (%dx%dx%d)\n", uk->name, i, j, M, N, K);
                continue;
            }
            float r = ref[(size_t)i * N + j];
            int ok = exact ? memcmp(&r, &g, 4) == 0
                           : fabs((double)r - g) <= 4.0 * K * FLT_EPSILON * fp8_abs_dot(&p, i, j) + 1e-30;
            if (!ok && !bad++)
                print_error("%s: i=%d j=%d ref=%.9g got=%.9g (MxNxK %dx%dx%d, %d threads)\n", uk->name, i, j, r, g, M,
                            N, K, threads);
        }
    zp_packed_a_free(&pa);
    zp_packed_b_free(&pb);
    zp_gemm_operands_free(&o);
    free(ref);
    free(got);
    return bad;
}

static void test_blocked_variants(void **state)
{
    (void)state;
    size_t n;
    const struct zp_gemm_ukernel *t = zp_gemm_ukernels(&n);
    int runs = 0, failures = 0, variants = 0;
    uint64_t seed = 1;
    for (size_t v = 0; v < n; v++) {
        const struct zp_gemm_ukernel *uk = &t[v];
        if (!blocked(uk->fmt))
            continue;
        if (!zp_cpu_has(uk->isa)) {
            printf("SKIP %s (CPU lacks %s)\n", uk->name, zp_isa_name(uk->isa));
            continue;
        }
        variants++;
        const int bs = zp_kfmt_traits(uk->fmt)->block;
        const int ms[] = {1, uk->mr - 1, uk->mr, uk->mr + 1, 17, 67};
        const int ns[] = {1, 15, 16, 17, 31, 32, 33, 67};
        const int kb[] = {1, 2, 3, 5}, kf[] = {1, 2, 3, 17, 64, 67}; /* blocks of K; FP8: K itself */
        const int nk = bs ? 4 : 6;
        for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
            for (size_t j = 0; j < sizeof ns / sizeof *ns; j++)
                for (int k = 0; k < nk; k++) {
                    if (ms[i] < 1)
                        continue;
                    failures += check(uk, ms[i], ns[j], bs ? kb[k] * bs : kf[k], 1, seed++) != 0;
                    runs++;
                }
        /* deeper K, and the OpenMP split over ragged row blocks */
        failures += check(uk, 70, 40, bs ? 10 * bs : 300, 1, seed++) != 0;
        failures += check(uk, 150, 70, bs ? 6 * bs : 301, 3, seed++) != 0;
        runs += 2;
    }
    printf("blocked gemm: %d variants, %d runs, %d failed\n", variants, runs, failures);
    assert_true(variants >= 5); /* the scalar variant of every format at least */
    assert_int_equal(failures, 0);
}

/* Exact products at the ends of E4M3's range through every FP8 variant:
 * 448 x 2^-9 (max normal x min subnormal) and -448 x 448. */
static void test_fp8_extremes(void **state)
{
    (void)state;
    size_t n;
    const struct zp_gemm_ukernel *t = zp_gemm_ukernels(&n);
    for (size_t v = 0; v < n; v++) {
        const struct zp_gemm_ukernel *uk = &t[v];
        if (uk->fmt != ZP_KF_FP8 || !zp_cpu_has(uk->isa))
            continue;
        const uint8_t a[2] = {0x7e, 0xfe}, b[2] = {0x01, 0x7e};
        const float sa = 1.0f, sb = 1.0f;
        struct zp_gemm_problem p = {.fmt = ZP_KF_FP8, .m = 1, .n = 1, .k = 1, .a = a, .b = b, .a_scale = &sa,
                                    .b_scale = &sb};
        for (int c = 0; c < 2; c++) {
            p.a = a + c;
            p.b = b + c;
            struct zp_packed_a pa;
            struct zp_packed_b pb;
            assert_int_equal(zp_pack_b(&p, &pb, NULL), ZP_OK);
            assert_int_equal(zp_pack_a(&p, uk->afmt, &pa, NULL), ZP_OK);
            float out = 0;
            zp_gemm_run(uk, &(struct zp_gemm_call){.a = &pa, .b = &pb, .c = &out, .ldc = 1, .threads = 1});
            assert_true(out == (c == 0 ? 448.0f / 512.0f : -448.0f * 448.0f));
            zp_packed_a_free(&pa);
            zp_packed_b_free(&pb);
        }
    }
}

static void test_blocked_errors(void **state)
{
    (void)state;
    struct zp_err err = {0};
    struct zp_gemm_operands o;
    struct zp_gemm_problem p = {.fmt = ZP_KF_MXFP4, .m = 2, .n = 3, .k = 64};
    assert_int_equal(zp_gemm_operands_random(&p, &o, 9, &err), ZP_OK);
    struct zp_packed_b pb;
    struct zp_packed_a pa;
    /* K not a multiple of the block */
    p.k = 48;
    assert_int_equal(zp_pack_b(&p, &pb, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "not a multiple of the format's block (32)"));
    zp_err_clear(&err);
    assert_int_equal(zp_pack_a(&p, ZP_AF_S8SHIFT, &pa, &err), ZP_EINVAL);
    zp_err_clear(&err);
    p.k = 64;
    /* the E8M0 NaN scale */
    ((uint8_t *)o.b_scale)[4] = 0xff;
    assert_int_equal(zp_pack_b(&p, &pb, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "block 1, column 1"));
    zp_err_clear(&err);
    /* a 4-bit code out of range */
    ((uint8_t *)o.b_scale)[4] = 127;
    ((uint8_t *)o.b)[5] = 16;
    assert_int_equal(zp_pack_b(&p, &pb, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "B[1][2] = 16"));
    zp_err_clear(&err);
    ((uint8_t *)o.b)[5] = 3;
    assert_int_equal(zp_pack_b(&p, &pb, &err), ZP_OK);
    zp_packed_b_free(&pb);
    /* missing activation scales */
    p.a_scale = NULL;
    assert_int_equal(zp_pack_a(&p, ZP_AF_S8SHIFT, &pa, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "no activation scales"));
    zp_err_clear(&err);
    zp_gemm_operands_free(&o);
    /* FP8 NaN codes in A and in B */
    p = (struct zp_gemm_problem){.fmt = ZP_KF_FP8, .m = 2, .n = 2, .k = 5};
    assert_int_equal(zp_gemm_operands_random(&p, &o, 10, &err), ZP_OK);
    ((uint8_t *)o.b)[7] = 0xff;
    assert_int_equal(zp_pack_b(&p, &pb, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "B[3][1] is a NaN code 0xff"));
    zp_err_clear(&err);
    ((uint8_t *)o.a)[6] = 0x7f;
    assert_int_equal(zp_pack_a(&p, ZP_AF_F32DEC, &pa, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "A[1][1] is a NaN code 0x7f"));
    zp_gemm_operands_free(&o);
}

/* harness bench runs the new formats: a row per format with positive throughput,
 * a speedup over our float kernel and, for the SIMD variants, a peak fraction. */
static void test_bench_formats(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("bench_formats");
    char cfg[4200], out_dir[4200];
    snprintf(cfg, sizeof cfg, "%s/formats.json", dir);
    snprintf(out_dir, sizeof out_dir, "%s/out", dir);
    zp_test_write_file(cfg, "{\"name\": \"formats\", \"shapes\": [{\"m\": 20, \"n\": 40, \"k\": 128}],"
                            " \"schemes\": [\"float\", \"mxint8\", \"mxfp4\", \"nvfp4\", \"nf4\", \"fp8-e4m3\"],"
                            " \"isa\": [\"best\"], \"anchors\": [], \"threads\": [1], \"repetitions\": 1,"
                            " \"min_time\": 0.002}");
    char *out = NULL;
    int rc = zp_test_sh(&out, "%s bench %s --out %s --quiet", zp_test_harness(), cfg, out_dir);
    if (rc != 0)
        print_error("%s\n", out ? out : "");
    free(out);
    assert_int_equal(rc, 0);
    char path[4300];
    snprintf(path, sizeof path, "%s/kernels.csv", out_dir);
    /* columns by name (store/table.h): tables gain columns at their end */
    struct zp_table t = {0};
    struct zp_err terr = {0};
    if (zp_table_read(path, &t, &terr) != ZP_OK)
        fail_msg("%s", terr.msg);
    int c_scheme = zp_table_col(&t, "scheme"), c_isa = zp_table_col(&t, "isa"), c_gops = zp_table_col(&t, "gops"),
        c_speed = zp_table_col(&t, "speedup_vs_f32"), c_peak = zp_table_col(&t, "peak_fraction");
    assert_true(c_scheme >= 0 && c_isa >= 0 && c_gops >= 0 && c_speed >= 0 && c_peak >= 0);
    const char *names[] = {"mxint8", "mxfp4", "nvfp4", "nf4", "fp8-e4m3"};
    for (size_t f = 0; f < sizeof names / sizeof *names; f++) {
        int found = 0;
        for (size_t i = 0; i < t.nrows; i++) {
            if (strcmp(zp_table_str(&t, i, c_scheme), names[f]) != 0)
                continue;
            found = 1;
            assert_true(zp_table_num(&t, i, c_gops) > 0 && zp_table_num(&t, i, c_speed) > 0);
            if (strcmp(zp_table_str(&t, i, c_isa), "ref") != 0)
                assert_true(zp_table_num(&t, i, c_peak) > 0);
        }
        if (!found) {
            zp_table_free(&t);
            fail_msg("kernels.csv has no %s row", names[f]);
        }
    }
    zp_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_decode_tables),
        cmocka_unit_test(test_nf4_levels),
        cmocka_unit_test(test_blocked_variants),
        cmocka_unit_test(test_fp8_extremes),
        cmocka_unit_test(test_blocked_errors),
        cmocka_unit_test(test_bench_formats),
    };
    return ZP_RUN_TESTS(t);
}
