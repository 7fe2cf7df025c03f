/* Kernel tests: every compiled GEMM and depthwise variant the CPU supports against
 * the golden reference on many shapes (M, N, K around the tile sizes and ragged
 * edges, strided outputs), bit-exact for integer kernels; f32 within the forward
 * error bound |c - ref| <= 4 K eps sum_k |a_ik b_kj|. Variants the CPU lacks print
 * SKIP. Plus the narrow-range claims, and one run of `harness bench`. */
#include "tests/util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "experiment/bench.h"
#include "kernels/kernels.h"
#include "model/graph.h"
#include "schemes/scheme.h"

static struct zp_rng rng;

/* Value ranges of the generated data. */
struct ranges {
    int a_lo, a_hi; /* activations (int formats) */
    int w_lo, w_hi; /* weights */
};

static void fill_problem(struct zp_gemm_problem *p, const struct ranges *r, void **a, void **b,
                         int8_t *codebook)
{
    size_t na = (size_t)p->m * p->k, nb = (size_t)p->k * p->n;
    if (p->fmt == ZP_KF_F32 || p->fmt == ZP_KF_BIN) {
        float *fa = malloc(na * sizeof *fa), *fb = malloc(nb * sizeof *fb);
        for (size_t i = 0; i < na; i++)
            fa[i] = (float)(2 * zp_rng_uniform(&rng) - 1);
        for (size_t i = 0; i < nb; i++)
            fb[i] = (float)(2 * zp_rng_uniform(&rng) - 1);
        if (p->fmt == ZP_KF_BIN && na > 2)
            fa[1] = 0.0f; /* sign(0) = +1 must agree everywhere */
        *a = fa;
        *b = fb;
        return;
    }
    int8_t *ia = malloc(na), *ib = malloc(nb);
    for (size_t i = 0; i < na; i++)
        ia[i] = (int8_t)(r->a_lo + (int)zp_rng_below(&rng, (uint64_t)(r->a_hi - r->a_lo + 1)));
    for (size_t i = 0; i < nb; i++)
        ib[i] = (int8_t)(r->w_lo + (int)zp_rng_below(&rng, (uint64_t)(r->w_hi - r->w_lo + 1)));
    *a = ia;
    *b = ib;
    if (p->fmt == ZP_KF_U8) {
        p->za = (int32_t)zp_rng_below(&rng, 256);
        p->zb = (int32_t)zp_rng_below(&rng, 256);
    }
    if (p->fmt == ZP_KF_LUT4) {
        for (int i = 0; i < 16; i++)
            codebook[i] = (int8_t)(-128 + (int)zp_rng_below(&rng, 256));
        codebook[0] = -128;
        codebook[15] = 127;
        p->codebook = codebook;
    }
}

static struct ranges default_ranges(const struct zp_gemm_ukernel *uk)
{
    struct ranges r = {-128, 127, -128, 127};
    if (uk->fmt == ZP_KF_U8)
        r = (struct ranges){0, 255, 0, 255};
    if (uk->fmt == ZP_KF_Q4)
        r.w_lo = -8, r.w_hi = 7;
    if (uk->fmt == ZP_KF_LUT4)
        r.w_lo = 0, r.w_hi = 15;
    if (uk->fmt == ZP_KF_S8N || (uk->fmt == ZP_KF_S8 && uk->afmt == ZP_AF_S8SIGN))
        r.w_lo = -127; /* the vpmaddubsw paths are exact only without -128 */
    if (strcmp(uk->path, "i16") == 0)
        r.a_lo = -64, r.a_hi = 64; /* int16 sums of 4 products: 4*64*127 fits */
    return r;
}

/* Runs one variant on one shape; returns the number of mismatches (prints the first). */
static int check_gemm_t(const struct zp_gemm_ukernel *uk, int M, int N, int K, const struct ranges *r, int threads)
{
    struct zp_gemm_problem p = {.fmt = uk->fmt, .m = M, .n = N, .k = K};
    void *a, *b;
    int8_t cb[16];
    fill_problem(&p, r, &a, &b, cb);
    p.a = a;
    p.b = b;
    struct zp_packed_a pa;
    struct zp_packed_b pb;
    struct zp_err err = {0};
    assert_int_equal(zp_pack_b(&p, &pb, &err), ZP_OK);
    assert_int_equal(zp_pack_a(&p, uk->afmt, &pa, &err), ZP_OK);
    const size_t ldc = (size_t)N + 3; /* strided output: the 3 pad columns must stay untouched */
    const int is_float = uk->fmt == ZP_KF_F32 || uk->fmt == ZP_KF_BIN;
    float *ref = malloc((size_t)M * N * 4), *got = malloc((size_t)M * ldc * 4);
    memset(got, 0x5a, (size_t)M * ldc * 4);
    zp_ref_gemm(&p, ref);
    zp_gemm_run(uk, &(struct zp_gemm_call){.a = &pa, .b = &pb, .c = got, .ldc = ldc, .threads = threads});
    int bad = 0;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < (int)ldc; j++) {
            const uint32_t *gw = (const uint32_t *)got + (size_t)i * ldc + j;
            if (j >= N) {
                if (*gw != 0x5a5a5a5au && !bad++)
                    print_error("%s: wrote past N at i=%d j=%d (%dx%dx%d)\n", uk->name, i, j, M, N, K);
                continue;
            }
            int ok;
            double rv, gv;
            if (is_float) {
                rv = ref[(size_t)i * N + j];
                gv = got[(size_t)i * ldc + j];
                double tol;
                if (uk->fmt == ZP_KF_F32) {
                    double s = 0;
                    for (int k = 0; k < K; k++)
                        s += fabs((double)((float *)a)[(size_t)i * K + k] * ((float *)b)[(size_t)k * N + j]);
                    tol = 4.0 * K * FLT_EPSILON * s + 1e-30;
                } else {
                    tol = 1e-6 * fabs(rv) + 1e-30; /* binary: exact integer dot, one float rounding */
                }
                ok = fabs(rv - gv) <= tol;
            } else {
                rv = ((int32_t *)ref)[(size_t)i * N + j];
                gv = ((int32_t *)got)[(size_t)i * ldc + j];
                ok = rv == gv;
            }
            if (!ok && !bad++)
                print_error("%s: i=%d j=%d ref=%.9g got=%.9g (MxNxK %dx%dx%d)\n", uk->name, i, j, rv, gv, M, N, K);
        }
    }
    zp_packed_a_free(&pa);
    zp_packed_b_free(&pb);
    free(a);
    free(b);
    free(ref);
    free(got);
    return bad;
}

static int check_gemm(const struct zp_gemm_ukernel *uk, int M, int N, int K, const struct ranges *r)
{
    return check_gemm_t(uk, M, N, K, r, 1);
}

static void test_gemm_all_variants(void **state)
{
    (void)state;
    zp_rng_seed(&rng, 42);
    size_t n;
    const struct zp_gemm_ukernel *t = zp_gemm_ukernels(&n);
    int failures = 0, ran = 0;
    for (size_t v = 0; v < n; v++) {
        const struct zp_gemm_ukernel *uk = &t[v];
        if (zp_kfmt_traits(uk->fmt)->bscale != ZP_KS_NONE)
            continue; /* block-scaled and FP8 formats: tests/test_kernels_blocked.c */
        if (!zp_cpu_has(uk->isa)) {
            printf("SKIP %s (CPU lacks %s)\n", uk->name, zp_isa_name(uk->isa));
            continue;
        }
        struct ranges r = default_ranges(uk);
        const int ms[] = {1, uk->mr - 1, uk->mr, uk->mr + 1, 17, 67};
        const int ns[] = {1, 15, 16, 17, 31, 32, 33, 67};
        const int ks[] = {1, 3, 4, 5, 8, 9, 17, 63, 64, 65, 67, 130};
        for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
            for (size_t j = 0; j < sizeof ns / sizeof *ns; j++)
                for (size_t k = 0; k < sizeof ks / sizeof *ks; k++) {
                    if (ms[i] < 1)
                        continue;
                    failures += check_gemm(uk, ms[i], ns[j], ks[k], &r) != 0;
                    ran++;
                }
        /* one shape deeper than the f32 K block (256) and the int8 M block (64) */
        failures += check_gemm(uk, 70, 40, 300, &r) != 0;
        /* the OpenMP split of M: 3 threads over ragged row blocks must give the same result */
        failures += check_gemm_t(uk, 150, 70, 300, &r, 3) != 0;
    }
    printf("gemm: %d shape x variant runs, %d failed\n", ran, failures);
    assert_int_equal(failures, 0);
}

/* The dispatcher's pick for every format is a variant that exists and the CPU has. */
static void test_dispatch(void **state)
{
    (void)state;
    for (int f = 0; f < ZP_KF_COUNT; f++) {
        const struct zp_gemm_ukernel *uk = zp_gemm_select((enum zp_kfmt)f, -1);
        assert_non_null(uk);
        assert_true(zp_cpu_has(uk->isa));
        assert_int_equal(uk->fmt, f);
        assert_non_null(zp_gemm_select((enum zp_kfmt)f, ZP_ISA_REF));
        assert_int_equal(zp_kfmt_find(zp_kfmt_name((enum zp_kfmt)f)), f);
        const struct zp_kfmt_traits *tr = zp_kfmt_traits((enum zp_kfmt)f);
        assert_non_null(tr);
        assert_int_equal(tr->fmt, f); /* the table's rows are in enum order */
        assert_true(tr->code_min <= tr->code_max);
    }
    assert_int_equal(zp_isa_parse("avx512bw"), ZP_ISA_AVX512BW);
    assert_int_equal(zp_isa_parse("nope"), -1);
    assert_null(zp_gemm_select(ZP_KF_F32, ZP_ISA_AMX));
    assert_null(zp_kfmt_traits(ZP_KF_COUNT));
    assert_int_equal(zp_kfmt_find("symmetric"), -1); /* scheme names are not format names */
    /* every table entry is complete */
    size_t n;
    const struct zp_gemm_ukernel *t = zp_gemm_ukernels(&n);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(t[i].block);
        assert_true(t[i].mc >= t[i].mr && t[i].kc >= 0);
    }
    /* every scheme's kernel_family is a format name of the traits table */
    for (int i = 0; i < zp_scheme_count(); i++) {
        const struct zp_scheme *s = zp_scheme_at(i);
        if (s->kernel_family && zp_kfmt_find(s->kernel_family) < 0)
            fail_msg("scheme %s: kernel_family '%s' is not a kernels/formats.c name", s->name, s->kernel_family);
    }
}

/* The ISA limit caps what the CPU reports (and so dispatch). */
static void test_isa_limit(void **state)
{
    (void)state;
    int before = zp_cpu_limit();
    assert_int_equal(zp_cpu_set_limit(ZP_ISA_COUNT), -1);
    assert_int_equal(zp_cpu_set_limit(ZP_ISA_REF), 0);
    assert_int_equal(zp_cpu_best(), ZP_ISA_REF);
    assert_int_equal(zp_cpu_isa_mask(), 1u);
    assert_int_equal(zp_gemm_select(ZP_KF_S8, -1)->isa, ZP_ISA_REF);
    assert_int_equal(zp_model_isa(), ZP_ISA_REF); /* the float runtime obeys the same limit */
    assert_int_equal(zp_cpu_set_limit(before), 0);
    assert_int_equal(zp_cpu_limit(), before);
    assert_true(zp_cpu_has(zp_cpu_best()));
    assert_int_equal(zp_model_isa(), zp_cpu_has(ZP_ISA_AVX512BW) ? ZP_ISA_AVX512BW
                                     : zp_cpu_has(ZP_ISA_AVX2)   ? ZP_ISA_AVX2
                                                                 : ZP_ISA_REF);
}

/* One GEMM row: 1 x 1 x K with chosen values, through a given variant. */
static int32_t run_one(const struct zp_gemm_ukernel *uk, const int8_t *a, const int8_t *w, int K)
{
    struct zp_gemm_problem p = {.fmt = uk->fmt, .m = 1, .n = 1, .k = K, .a = a, .b = w};
    struct zp_packed_a pa;
    struct zp_packed_b pb;
    assert_int_equal(zp_pack_b(&p, &pb, NULL), ZP_OK);
    assert_int_equal(zp_pack_a(&p, uk->afmt, &pa, NULL), ZP_OK);
    int32_t c = 0;
    zp_gemm_run(uk, &(struct zp_gemm_call){.a = &pa, .b = &pb, .c = &c, .ldc = 1, .threads = 1});
    zp_packed_a_free(&pa);
    zp_packed_b_free(&pb);
    return c;
}

/* vpmaddubsw pair sums are exact for weights in [-127, 127] (2*128*127 = 32512 fits
 * int16) and go wrong with -128: |a|=128 against -w = 128 (which wraps to -128 when
 * negated) gives a wrong sign and a pair of 32768 saturates. */
static void test_narrow_range_claims(void **state)
{
    (void)state;
    const struct zp_isa_pair { enum zp_isa isa; } isas[] = {{ZP_ISA_AVX512BW}, {ZP_ISA_AVX2}};
    for (size_t v = 0; v < 2; v++) {
        enum zp_isa isa = isas[v].isa;
        if (!zp_cpu_has(isa)) {
            printf("SKIP narrow-range claims on %s\n", zp_isa_name(isa));
            continue;
        }
        const struct zp_gemm_ukernel *op3 = zp_gemm_select(ZP_KF_S8, isa);
        const struct zp_gemm_ukernel *i16 = zp_gemm_select(ZP_KF_S8N, isa);
        assert_non_null(op3);
        assert_non_null(i16);
        assert_string_equal(op3->path, "3op");
        assert_string_equal(i16->path, "i16");
        /* worst narrow case: every product at the narrow extreme, 8 k */
        int8_t a[8], w[8];
        for (int k = 0; k < 8; k++)
            a[k] = -128, w[k] = -127;
        assert_int_equal(run_one(op3, a, w, 8), 8 * 128 * 127);
        /* -128 weights against -128 activations: true sum 8 * 16384 = 131072 */
        for (int k = 0; k < 8; k++)
            w[k] = -128;
        int32_t got3 = run_one(op3, a, w, 8);
        printf("%s 3op with w=-128, a=-128: got %d, exact 131072\n", zp_isa_name(isa), got3);
        assert_int_not_equal(got3, 131072);
        /* the int16 (vpaddsw) path: exact for narrow weights while 4-product sums fit
         * (|a| <= 64), saturates beyond */
        for (int k = 0; k < 8; k++)
            a[k] = 64, w[k] = 127;
        assert_int_equal(run_one(i16, a, w, 8), 8 * 64 * 127);
        for (int k = 0; k < 8; k++)
            a[k] = 127;
        int32_t got16 = run_one(i16, a, w, 8);
        printf("%s i16 with a=127, w=127: got %d, exact %d (int16 saturation)\n", zp_isa_name(isa), got16,
               8 * 127 * 127);
        assert_int_equal(got16, 2 * 32767);
        /* a single -128 weight breaks even the i16 path's pair stage */
        for (int k = 0; k < 8; k++)
            a[k] = -3, w[k] = 0;
        w[0] = -128;
        assert_int_not_equal(run_one(i16, a, w, 8), 384);
        /* VNNI (if present) is exact for all of them */
        const struct zp_gemm_ukernel *vnni = zp_gemm_select(ZP_KF_S8, ZP_ISA_AVX512VNNI);
        if (vnni)
            assert_int_equal(run_one(vnni, a, w, 8), 384);
    }
}

static void test_dw_variants(void **state)
{
    (void)state;
    zp_rng_seed(&rng, 7);
    size_t n;
    const struct zp_dw_ukernel *t = zp_dw_ukernels(&n);
    const int hs[] = {1, 2, 5, 8}, cs[] = {1, 15, 16, 17, 40};
    for (size_t v = 0; v < n; v++) {
        if (!zp_cpu_has(t[v].isa)) {
            printf("SKIP %s\n", t[v].name);
            continue;
        }
        for (size_t hi = 0; hi < 4; hi++)
            for (size_t ci = 0; ci < 5; ci++)
                for (int s = 1; s <= 2; s++) {
                    int H = hs[hi], W = hs[(hi + 1) % 4], C = cs[ci];
                    int Ho = zp_dw_out_dim(H, s), Wo = zp_dw_out_dim(W, s);
                    size_t ni = (size_t)H * W * C, no = (size_t)Ho * Wo * C;
                    float *in = malloc(ni * 4), *wt = malloc(9 * (size_t)C * 4);
                    float *ref = malloc(no * 4), *got = malloc(no * 4);
                    for (size_t i = 0; i < ni; i++) {
                        if (t[v].fmt == ZP_KF_F32)
                            in[i] = (float)zp_rng_gaussian(&rng);
                        else
                            ((int8_t *)in)[i] = (int8_t)zp_rng_below(&rng, 256);
                    }
                    for (size_t i = 0; i < 9 * (size_t)C; i++) {
                        if (t[v].fmt == ZP_KF_F32)
                            wt[i] = (float)zp_rng_gaussian(&rng);
                        else
                            ((int8_t *)wt)[i] = (int8_t)zp_rng_below(&rng, 256);
                    }
                    struct zp_dw_problem p = {t[v].fmt, H, W, C, s, in, wt, ref};
                    zp_ref_dw3x3(&p);
                    p.out = got;
                    t[v].run(&p);
                    for (size_t i = 0; i < no; i++) {
                        if (t[v].fmt == ZP_KF_F32) {
                            if (fabsf(ref[i] - got[i]) > 1e-5f * (1.0f + fabsf(ref[i])))
                                fail_msg("%s: %zu ref %g got %g (H%d W%d C%d s%d)", t[v].name, i, ref[i], got[i], H, W, C, s);
                        } else if (((int32_t *)ref)[i] != ((int32_t *)got)[i]) {
                            fail_msg("%s: %zu ref %d got %d (H%d W%d C%d s%d)", t[v].name, i, ((int32_t *)ref)[i],
                                     ((int32_t *)got)[i], H, W, C, s);
                        }
                    }
                    free(in);
                    free(wt);
                    free(ref);
                    free(got);
                }
    }
}

static void test_pack_rejects_bad_shape(void **state)
{
    (void)state;
    struct zp_gemm_problem p = {.fmt = ZP_KF_S8, .m = 0, .n = 4, .k = 4};
    struct zp_packed_b pb;
    struct zp_err err = {0};
    assert_int_equal(zp_pack_b(&p, &pb, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "0x4x4"));
    zp_packed_b_free(&pb);
    zp_packed_b_free(NULL);
}

/* The string value of "key" at or after p in printed JSON (any spacing), into buf. */
static const char *json_str_after(const char *p, const char *key, char *buf, size_t n)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *s = strstr(p, k);
    buf[0] = 0;
    if (!s)
        return buf;
    s = strchr(s + strlen(k), '"');
    const char *e = s ? strchr(s + 1, '"') : NULL;
    if (e)
        snprintf(buf, n, "%.*s", (int)(e - s - 1), s + 1);
    return buf;
}

/* harness bench on the tiny config: kernels.csv with the contract's columns and
 * positive throughput, the Google Benchmark JSON beside it, peaks.csv, and plots. */
static void test_bench_quick(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("bench");
    char *out = NULL;
    int rc = zp_test_sh(&out, "%s bench configs/bench_quick.json --out %s --quiet", zp_test_harness(), dir);
    if (rc != 0)
        print_error("%s\n", out ? out : "");
    free(out);
    assert_int_equal(rc, 0);
    char path[4200], path2[4200], *csv2;
    snprintf(path, sizeof path, "%s/kernels.csv", dir);
    snprintf(path2, sizeof path2, "%s", path);
    char *csv = zp_test_read_file(path, NULL);
    assert_non_null(csv);
    const char *header =
        "kernel,scheme,isa,m,n,k,threads,gops,ns_per_call,speedup_vs_f32,vs_anchor,anchor,peak_fraction,anchor_core\n";
    assert_memory_equal(csv, header, strlen(header));
    int rows = 0, float_rows = 0;
    for (char *line = strchr(csv, '\n') + 1; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        char kernel[128], scheme[32];
        double gops;
        int m, nn, k, th;
        char isa[32];
        int got = sscanf(line, "%127[^,],%31[^,],%31[^,],%d,%d,%d,%d,%lf", kernel, scheme, isa, &m, &nn, &k, &th, &gops);
        assert_int_equal(got, 8);
        assert_true(gops > 0);
        assert_true(m > 0 && nn > 0 && k > 0 && th >= 1);
        float_rows += strcmp(scheme, "float") == 0;
        rows++;
    }
    assert_true(rows >= 3);
    assert_true(float_rows >= 1);
    free(csv);
    snprintf(path, sizeof path, "%s/kernels_gbench.json", dir);
    char *js = zp_test_read_file(path, NULL);
    assert_non_null(js);
    assert_non_null(strstr(js, "\"benchmarks\""));
    free(js);
    snprintf(path, sizeof path, "%s/run.json", dir);
    char *rj = zp_test_read_file(path, NULL);
    assert_non_null(rj);
    assert_non_null(strstr(rj, "cpu_isa_levels"));
    /* the core OpenBLAS really ran, and the environment that chose it (never changed here) */
    struct zp_bench_blas blas;
    zp_anchor_blas_info(&blas);
    char want[256];
    const char *ob = strstr(rj, "\"openblas\":");
    assert_non_null(ob);
    assert_string_equal(json_str_after(ob, "core", want, sizeof want), blas.core);
    const char *env = getenv("OPENBLAS_CORETYPE");
    assert_string_equal(json_str_after(ob, "coretype_env", want, sizeof want), env ? env : "unset");
    free(rj);
    /* the openblas_sgemm comparison rows name that core */
    snprintf(want, sizeof want, ",openblas_sgemm,");
    char *row = strstr(csv2 = zp_test_read_file(path2, NULL), want);
    assert_non_null(row);
    char *eol = strchr(row, '\n');
    assert_non_null(eol);
    *eol = 0;
    assert_string_equal(strrchr(row, ',') + 1, blas.core);
    free(csv2);
    snprintf(path, sizeof path, "%s/peaks.csv", dir);
    char *pk = zp_test_read_file(path, NULL);
    assert_non_null(pk);
    assert_memory_equal(pk, "class,isa,gops_per_core", 23);
    free(pk);
    snprintf(path, sizeof path, "%s/plots/kernel_throughput.gp", dir);
    char *gp = zp_test_read_file(path, NULL);
    assert_non_null(gp);
    assert_non_null(strstr(gp, "kernels.csv"));
    free(gp);
}

/* A generic OpenBLAS core is flagged only on a CPU that has AVX2 (case as OpenBLAS spells it). */
static void test_anchor_core_generic(void **state)
{
    (void)state;
    assert_true(zp_anchor_core_generic("Prescott", 1));
    assert_true(zp_anchor_core_generic("Core2", 1));
    assert_true(zp_anchor_core_generic("Katmai", 1));
    assert_true(zp_anchor_core_generic("Sandybridge", 1));
    assert_false(zp_anchor_core_generic("Prescott", 0));
    assert_false(zp_anchor_core_generic("Haswell", 1));
    assert_false(zp_anchor_core_generic("SkylakeX", 1));
    assert_false(zp_anchor_core_generic("ZEN", 1));
    assert_false(zp_anchor_core_generic("cooperlake", 1));
    struct zp_bench_blas b;
    zp_anchor_blas_info(&b);
    assert_true(b.core[0] != 0);
    int avx2 = zp_cpu_has(ZP_ISA_AVX2) || zp_cpu_has(ZP_ISA_AVX512BW);
    assert_int_equal(b.warning[0] != 0, zp_anchor_core_generic(b.core, avx2));
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_isa_limit),
        cmocka_unit_test(test_gemm_all_variants),
        cmocka_unit_test(test_narrow_range_claims),
        cmocka_unit_test(test_dw_variants),
        cmocka_unit_test(test_pack_rejects_bad_shape),
        cmocka_unit_test(test_bench_quick),
        cmocka_unit_test(test_anchor_core_generic),
    };
    return ZP_RUN_TESTS(t);
}
