/* The float runtime's kernels (kernels/kernels.h, kinds conv, dwplane, copy_s2,
 * fakequant):
 * every compiled variant the CPU has against the plain reference on ragged
 * shapes around each tile (pixels around 8/16/48, rows around the 8-row weight
 * panel, K around the 4-k unroll and 16/32-k vectors, n = 1 and its GEMV paths),
 * with panels and with plain rows, with and without bias and clamp, strided X and
 * Y whose padding must stay untouched. Float results must lie within the forward
 * error bound of a dot product: |y - ref| <= 4 (K + 1) eps (|bias| + sum |w x|).
 * dwplane and copy_s2 likewise (copy_s2 exact); fakequant bit for bit, against
 * the affine schemes' own quantize + dequantize too, on ties, near-ties, NaN and
 * Inf, in place and not. Variants the CPU lacks print SKIP;
 * run it under ZP_ISA_LIMIT=avx2 / ref too. */
#include "tests/util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "kernels/kernels.h"
#include "schemes/scheme.h"

static struct zp_rng rng;

static float urand(void) { return (float)(2 * zp_rng_uniform(&rng) - 1); }

static float *randv(size_t n)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = urand();
    return v;
}

#define SENTINEL 12345.f

/* Every variant of a kind the CPU has; prints SKIP for the others. */
static int variants(enum zp_rkind kind, const struct zp_rt_ukernel **out)
{
    size_t n;
    const struct zp_rt_ukernel *t = zp_rt_ukernels(&n);
    int c = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i].kind != kind)
            continue;
        if (!zp_cpu_has(t[i].isa)) {
            printf("SKIP %s (CPU or ISA limit lacks %s)\n", t[i].name, zp_isa_name(t[i].isa));
            continue;
        }
        out[c++] = &t[i];
    }
    return c;
}

/* |y - ref| within the dot-product bound, recomputed in double from the inputs */
static void check_conv_out(const char *name, const struct zp_f32_conv_call *c, const float *w_rows,
                           const float *ref)
{
    for (int i = 0; i < c->m; i++) {
        for (int j = 0; j < c->n; j++) {
            double mag = c->bias ? fabs(c->bias[i]) : 0;
            for (int kk = 0; kk < c->k; kk++)
                mag += fabs((double)w_rows[(size_t)i * c->k + kk] * c->x[(size_t)kk * c->ldx + j]);
            double tol = 4.0 * (c->k + 1) * FLT_EPSILON * mag + 1e-30;
            double got = c->y[(size_t)i * c->ldy + j], want = ref[(size_t)i * c->n + j];
            if (fabs(got - want) > tol)
                fail_msg("%s: m=%d n=%d k=%d packed=%d bias=%d act=%d at [%d][%d]: got %.9g, reference %.9g",
                         name, c->m, c->n, c->k, c->w_packed, c->bias != NULL, c->act, i, j, got, want);
        }
        for (size_t j = (size_t)c->n; j < c->ldy; j++)
            if (c->y[(size_t)i * c->ldy + j] != SENTINEL)
                fail_msg("%s: m=%d n=%d k=%d: wrote past row %d's n columns (column %zu)", name, c->m, c->n, c->k,
                         i, j);
    }
}

static void test_conv_variants(void **state)
{
    (void)state;
    const struct zp_rt_ukernel *v[8];
    const int nv = variants(ZP_RK_CONV, v);
    assert_true(nv >= 1); /* the portable one is always there */
    const int ms[] = {1, 3, 4, 7, 8, 9, 17}, ns[] = {1, 2, 7, 8, 15, 16, 17, 47, 48, 49, 100};
    const int ks[] = {1, 3, 5, 8, 31, 33, 64};
    int runs = 0;
    for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
        for (size_t b = 0; b < sizeof ns / sizeof *ns; b++)
            for (size_t d = 0; d < sizeof ks / sizeof *ks; d++) {
                const int M = ms[a], N = ns[b], K = ks[d];
                /* ldx = 1 is the Gemm's column; others are strided rows */
                const size_t ldx = N == 1 && d % 2 ? 1 : (size_t)N + 3, ldy = (size_t)N + (d % 3);
                float *w = randv((size_t)M * K), *x = randv((size_t)K * ldx), *bias = randv((size_t)M);
                float *y = malloc((size_t)M * ldy * sizeof *y), *ref = malloc((size_t)M * N * sizeof *ref);
                struct zp_f32_wpack wp;
                assert_int_equal(zp_f32_wpack_make(w, M, K, &wp, NULL), ZP_OK);
                for (int variant = 0; variant < 8; variant++) {
                    const int packed = variant & 1, with_bias = variant & 2, act = variant & 4;
                    struct zp_f32_conv_call c = {.m = M, .n = N, .k = K, .w = packed ? wp.data : w,
                                                 .w_packed = packed, .x = x, .ldx = ldx,
                                                 .bias = with_bias ? bias : NULL, .ldy = (size_t)N,
                                                 .act = act != 0, .lo = -0.3f, .hi = 0.4f};
                    c.y = ref;
                    zp_ref_f32_conv(&c);
                    c.ldy = ldy;
                    c.y = y;
                    for (int u = 0; u < nv; u++) {
                        for (size_t i = 0; i < (size_t)M * ldy; i++)
                            y[i] = SENTINEL;
                        zp_rt_conv(v[u], &c);
                        check_conv_out(v[u]->name, &c, w, ref);
                        runs++;
                    }
                }
                zp_f32_wpack_free(&wp);
                free(w); free(x); free(bias); free(y); free(ref);
            }
    printf("conv: %d runs over %d variants\n", runs, nv);
}

static void test_wpack(void **state)
{
    (void)state;
    float w[3 * 2] = {1, 2, 3, 4, 5, 6};
    struct zp_f32_wpack p;
    assert_int_equal(zp_f32_wpack_make(w, 3, 2, &p, NULL), ZP_OK);
    assert_int_equal(p.mp, ZP_CONV_MR);
    /* [k][8]: k = 0 holds rows 0..2 then zeros, k = 1 likewise */
    const float want[16] = {1, 3, 5, 0, 0, 0, 0, 0, 2, 4, 6, 0, 0, 0, 0, 0};
    for (int i = 0; i < 16; i++)
        assert_true(p.data[i] == want[i]);
    zp_f32_wpack_free(&p);
    zp_f32_wpack_free(NULL);
    struct zp_err err = {0};
    assert_int_equal(zp_f32_wpack_make(w, 0, 2, &p, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "conv weight panels"));
    assert_null(p.data);
}

static void test_dwplane_variants(void **state)
{
    (void)state;
    const struct zp_rt_ukernel *v[8];
    const int nv = variants(ZP_RK_DWPLANE, v);
    assert_true(nv >= 1);
    const int ohs[] = {1, 2, 5}, ows[] = {1, 2, 15, 16, 17, 33};
    int runs = 0;
    for (int sh = 1; sh <= 2; sh++)
        for (int sw = 1; sw <= 2; sw++)
            for (size_t a = 0; a < 3; a++)
                for (size_t b = 0; b < 6; b++) {
                    const int OH = ohs[a], OW = ows[b];
                    const size_t ld = (size_t)(OW - 1) * sw + 3 + b % 2; /* tight or one spare column */
                    const size_t rows = (size_t)(OH - 1) * sh + 3;
                    float *in = randv(rows * ld + ZP_DWPLANE_SLACK), *w = randv(9);
                    float *y = malloc(((size_t)OH * OW + 16) * sizeof *y), *ref = malloc((size_t)OH * OW * sizeof *ref);
                    for (int act = 0; act < 2; act++) {
                        struct zp_f32_dwplane_call c = {.in = in, .ldin = ld, .oh = OH, .ow = OW, .sh = sh, .sw = sw,
                                                        .w = w, .bias = 0.25f, .out = ref, .act = act,
                                                        .lo = -0.5f, .hi = 0.6f};
                        zp_ref_f32_dwplane(&c);
                        c.out = y;
                        for (int u = 0; u < nv; u++) {
                            for (size_t i = 0; i < (size_t)OH * OW + 16; i++)
                                y[i] = SENTINEL;
                            zp_rt_dwplane(v[u], &c);
                            for (int i = 0; i < OH * OW; i++) {
                                double mag = 0.25;
                                int oy = i / OW, ox = i % OW;
                                for (int t = 0; t < 9; t++)
                                    mag += fabs((double)w[t] * in[(size_t)(oy * sh + t / 3) * ld + ox * sw + t % 3]);
                                if (fabs((double)y[i] - ref[i]) > 40 * FLT_EPSILON * mag)
                                    fail_msg("%s: %dx%d stride %d,%d act %d at (%d, %d): got %.9g, reference %.9g",
                                             v[u]->name, OH, OW, sh, sw, act, oy, ox, y[i], ref[i]);
                            }
                            for (int i = OH * OW; i < OH * OW + 16; i++)
                                if (y[i] != SENTINEL)
                                    fail_msg("%s: %dx%d: wrote past the plane", v[u]->name, OH, OW);
                            runs++;
                        }
                    }
                    free(in); free(w); free(y); free(ref);
                }
    printf("dwplane: %d runs over %d variants\n", runs, nv);
}

static void test_copy_s2_variants(void **state)
{
    (void)state;
    const struct zp_rt_ukernel *v[8];
    const int nv = variants(ZP_RK_COPY_S2, v);
    assert_true(nv >= 1);
    const int64_t ns[] = {0, 1, 2, 15, 16, 17, 18, 31, 32, 33, 100};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
        const int64_t n = ns[a];
        /* exactly 2n - 1 source floats: the last one read is src[2n - 2] (ASan sees overreads) */
        float *src = randv(n ? (size_t)(2 * n - 1) : 1), *dst = malloc(((size_t)n + 16) * sizeof *dst);
        for (int u = 0; u < nv; u++) {
            for (int64_t i = 0; i < n + 16; i++)
                dst[i] = SENTINEL;
            zp_rt_copy_s2(v[u], dst, src, n);
            for (int64_t i = 0; i < n; i++)
                if (dst[i] != src[2 * i])
                    fail_msg("%s: n=%lld: dst[%lld] = %g, want src[%lld] = %g", v[u]->name, (long long)n,
                             (long long)i, dst[i], (long long)(2 * i), src[2 * i]);
            for (int64_t i = n; i < n + 16; i++)
                if (dst[i] != SENTINEL)
                    fail_msg("%s: n=%lld: wrote dst[%lld]", v[u]->name, (long long)n, (long long)i);
        }
        free(src);
        free(dst);
    }
}

/* Inputs that stress the rounding: uniform over a little more than the code range,
 * exact ties (k + 1/2) s where float holds them, their float neighbours, values
 * exactly on codes, 0, -0, NaN, +-Inf, and values far outside the range. */
static void fq_inputs(float *x, size_t n, double s, double off, int32_t zp, int32_t qmin, int32_t qmax)
{
    for (size_t i = 0; i < n; i++) {
        double k = qmin - zp + (double)zp_rng_below(&rng, (uint32_t)(qmax - qmin + 3)) - 1;
        float tie = (float)(off + (k + 0.5) * s);
        switch (zp_rng_below(&rng, 10)) {
        case 0: x[i] = tie; break;
        case 1: x[i] = nextafterf(tie, INFINITY); break;
        case 2: x[i] = nextafterf(tie, -INFINITY); break;
        case 3: x[i] = (float)(off + k * s); break;
        case 4: {
            static const float special[] = {0.0f, -0.0f, NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 3e-39f};
            x[i] = special[zp_rng_below(&rng, 8)];
            break;
        }
        default: x[i] = (float)(off + (qmin - zp - 2 + (qmax - qmin + 4) * zp_rng_uniform(&rng)) * s);
        }
    }
}

static void test_fakequant_variants(void **state)
{
    (void)state;
    const struct zp_rt_ukernel *v[8];
    const int nv = variants(ZP_RK_FAKEQUANT, v);
    assert_true(nv >= 1);
    struct {
        double s, off;
        int32_t zp, qmin, qmax;
    } q[] = {
        {6.0 / 255, 0, 0, 0, 255},              /* ReLU6 output, asymmetric u8 */
        {0.0123f, 0, 37, 0, 255},               /* asymmetric with a zero point */
        {0.5f / 127, 0, 0, -127, 127},          /* symmetric narrow (no-128) */
        {1.0f / 128, 0, 0, -128, 127},          /* symmetric full range */
        {0.25f, 0, 0, -8, 7},                   /* 4-bit */
        {0.0371f, -1.25f, 0, 0, 255},           /* naive asymmetric: an offset */
        {3.0f, 0, 0, 0, 1},                     /* 1-bit grid */
    };
    const size_t ns[] = {0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 1000};
    int runs = 0;
    for (size_t a = 0; a < sizeof q / sizeof *q; a++)
        for (size_t b = 0; b < sizeof ns / sizeof *ns; b++) {
            const size_t n = ns[b];
            float *x = malloc((n + 1) * sizeof *x), *ref = malloc((n + 1) * sizeof *ref),
                  *y = malloc((n + 16) * sizeof *y);
            int32_t *codes = malloc((n + 1) * sizeof *codes);
            fq_inputs(x, n, q[a].s, q[a].off, q[a].zp, q[a].qmin, q[a].qmax);
            /* the schemes' quantizer: codes, then decoded */
            struct zp_qparams p = {.scale = (float)q[a].s, .offset = (float)q[a].off, .zero_point = q[a].zp,
                                   .qmin = q[a].qmin, .qmax = q[a].qmax};
            zp_affine_quantize(NULL, &p, x, codes, n);
            zp_affine_dequantize(NULL, &p, codes, ref, n);
            struct zp_f32_fakequant_call c = {.x = x, .y = y, .n = n, .scale = p.scale, .offset = p.offset,
                                              .zero_point = p.zero_point, .qmin = p.qmin, .qmax = p.qmax};
            for (int u = 0; u < nv; u++) {
                for (size_t i = 0; i < n + 16; i++)
                    y[i] = SENTINEL;
                c.y = y;
                c.x = x;
                zp_rt_fakequant(v[u], &c);
                for (size_t i = 0; i < n; i++)
                    if (memcmp(&y[i], &ref[i], sizeof *y) != 0)
                        fail_msg("%s: case %zu n=%zu: x[%zu] = %.9g -> %.9g, schemes give %.9g", v[u]->name, a, n,
                                 i, x[i], y[i], ref[i]);
                for (size_t i = n; i < n + 16; i++)
                    if (y[i] != SENTINEL)
                        fail_msg("%s: n=%zu: wrote y[%zu]", v[u]->name, n, i);
                /* in place */
                float *xy = malloc((n + 1) * sizeof *xy);
                memcpy(xy, x, n * sizeof *xy);
                c.x = c.y = xy;
                zp_rt_fakequant(v[u], &c);
                if (n && memcmp(xy, ref, n * sizeof *xy) != 0)
                    fail_msg("%s: case %zu n=%zu: in place differs", v[u]->name, a, n);
                free(xy);
                runs++;
            }
            free(x);
            free(ref);
            free(y);
            free(codes);
        }
    printf("fakequant: %d runs over %d variants\n", runs, nv);
}

/* Selection follows the ISA limit; counters count calls through zp_rt_*. */
static void test_select_and_count(void **state)
{
    (void)state;
    const int saved = zp_cpu_limit();
    for (int k = 0; k < ZP_RK_COUNT; k++) {
        const struct zp_rt_ukernel *best = zp_rt_select((enum zp_rkind)k, -1);
        assert_non_null(best);
        assert_true(zp_cpu_has(best->isa));
        assert_int_equal(zp_cpu_set_limit(ZP_ISA_REF), 0);
        assert_int_equal(zp_rt_select((enum zp_rkind)k, -1)->isa, ZP_ISA_REF);
        assert_null(zp_rt_select((enum zp_rkind)k, ZP_ISA_AVX512BW));
        assert_int_equal(zp_cpu_set_limit(saved), 0);
    }
    const struct zp_rt_ukernel *s2 = zp_rt_select(ZP_RK_COPY_S2, -1);
    float src[5] = {1, 2, 3, 4, 5}, dst[3];
    zp_rt_calls_reset();
    assert_int_equal(zp_rt_calls(s2), 0);
    for (int i = 0; i < 3; i++)
        zp_rt_copy_s2(s2, dst, src, 3);
    assert_int_equal(zp_rt_calls(s2), 3);
    assert_true(dst[2] == 5);
    /* the row form: 3 rows of 2 from source rows 5 apart, one counted call */
    float rsrc[15], rdst[3 * 4];
    for (int i = 0; i < 15; i++)
        rsrc[i] = (float)i;
    for (int i = 0; i < 12; i++)
        rdst[i] = SENTINEL;
    zp_rt_copy_s2_rows(s2, rdst, 4, rsrc, 5, 2, 3);
    assert_int_equal(zp_rt_calls(s2), 4);
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < 4; i++)
            if (rdst[r * 4 + i] != (i < 2 ? rsrc[r * 5 + 2 * i] : SENTINEL))
                fail_msg("copy_s2_rows: row %d column %d = %g", r, i, rdst[r * 4 + i]);
}

int main(void)
{
    zp_rng_seed(&rng, 11);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wpack),
        cmocka_unit_test(test_conv_variants),
        cmocka_unit_test(test_dwplane_variants),
        cmocka_unit_test(test_copy_s2_variants),
        cmocka_unit_test(test_fakequant_variants),
        cmocka_unit_test(test_select_and_count),
    };
    return ZP_RUN_TESTS(tests);
}
