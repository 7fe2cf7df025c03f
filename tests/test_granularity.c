/* Slicing a tensor by granularity (schemes/granularity.c) against slices cut by
 * hand with plain index arithmetic. */
#include "tests/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "schemes/granularity.h"
#include "schemes/scheme.h"

/* A value within the tie tolerance of a half step (4 float ulps of the code
 * span, < 2.5e-4 LSB at 8 bits: schemes/affine.c) counts as the tie and may
 * round to the far (even) side. */
#define ZP_TIE_LSB 2.5e-4

static struct zp_scheme_config cfg_of(const char *name, int bits, enum zp_granularity g,
                                      int axis, int group)
{
    struct zp_scheme_config cfg;
    const struct zp_scheme *s = zp_scheme_find(name);
    assert_non_null(s);
    zp_scheme_config_defaults(&cfg, s);
    if (bits > 0)
        cfg.bits = bits;
    cfg.granularity = g;
    cfg.axis = axis;
    cfg.group_size = group;
    return cfg;
}

static void fill(float *x, size_t n, uint64_t seed)
{
    struct zp_rng r;
    zp_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)zp_rng_laplace(&r, 1.0);
}

/* Manual reference: slice elements listed by flat index; fit + qdq that slice
 * and compare with what the tensor-level call wrote at those indices. */
static void check_slice(const struct zp_scheme_config *cfg, const float *x, const float *y,
                        const int32_t *codes, const struct zp_qparams *got, const size_t *idx,
                        size_t n)
{
    float *s = malloc(n * sizeof *s), *d = malloc(n * sizeof *d);
    int32_t *q = malloc(n * sizeof *q);
    for (size_t i = 0; i < n; i++)
        s[i] = x[idx[i]];
    struct zp_qparams p;
    struct zp_err err = {0};
    assert_int_equal(cfg->scheme->fit(cfg, s, n, &p, &err), ZP_OK);
    assert_true(p.scale == got->scale);
    assert_int_equal(p.zero_point, got->zero_point);
    assert_int_equal(p.n_levels, got->n_levels);
    for (int l = 0; l < p.n_levels; l++)
        assert_true(p.levels[l] == got->levels[l]);
    cfg->scheme->quantize(cfg, &p, s, q, n);
    cfg->scheme->dequantize(cfg, &p, q, d, n);
    for (size_t i = 0; i < n; i++) {
        if (y[idx[i]] != d[i])
            fail_msg("element %zu: tensor call gave %g, manual slice %g", idx[i], y[idx[i]], d[i]);
        if (codes)
            assert_int_equal(codes[idx[i]], q[i]);
    }
    free(s);
    free(d);
    free(q);
}

static const char *const schemes_under_test[] = {"asymmetric", "symmetric", "lut4", "binary"};

/* Per-channel on each axis of a [2, 3, 4] tensor: channel c of axis a is every
 * element whose a-th index is c. */
static void test_per_channel_any_axis(void **state)
{
    (void)state;
    const int64_t shape[] = {2, 3, 4};
    float x[24], y[24];
    int32_t codes[24];
    fill(x, 24, 1);
    for (size_t k = 0; k < 4; k++)
        for (int axis = -3; axis < 3; axis++) {
            int a = axis < 0 ? axis + 3 : axis;
            struct zp_scheme_config cfg =
                cfg_of(schemes_under_test[k], 0, ZP_PER_CHANNEL, axis, 0);
            struct zp_err err = {0};
            assert_int_equal(zp_slice_count(&cfg, shape, 3, &err), (size_t)shape[a]);
            struct zp_tensor_qparams qp;
            assert_int_equal(zp_tensor_fit(&cfg, x, shape, 3, "t", &qp, &err), ZP_OK);
            assert_int_equal(qp.n_slices, (size_t)shape[a]);
            zp_tensor_apply(&cfg, &qp, x, shape, 3, y, codes);
            for (int64_t c = 0; c < shape[a]; c++) {
                size_t idx[24], n = 0;
                for (int i0 = 0; i0 < 2; i0++)
                    for (int i1 = 0; i1 < 3; i1++)
                        for (int i2 = 0; i2 < 4; i2++) {
                            int id[3] = {i0, i1, i2};
                            if (id[a] == c)
                                idx[n++] = (size_t)(i0 * 12 + i1 * 4 + i2);
                        }
                check_slice(&cfg, x, y, codes, &qp.slice[c], idx, n);
            }
            zp_tensor_qparams_free(&qp);
        }
}

/* Per-group: channel elements in row-major order, chunks of group_size, the
 * last one shorter. [3, 2, 5] on axis 1: channel c = {x[o*10 + c*5 + i]}, 15
 * elements -> groups of 4, 4, 4, 3. */
static void test_per_group(void **state)
{
    (void)state;
    const int64_t shape[] = {3, 2, 5};
    float x[30], y[30];
    int32_t codes[30];
    fill(x, 30, 2);
    const char *names[] = {"asymmetric", "linear4", "lut4", "binary"};
    for (size_t k = 0; k < 4; k++) {
        struct zp_scheme_config cfg = cfg_of(names[k], 4, ZP_PER_GROUP, 1, 4);
        if (strcmp(names[k], "binary") == 0)
            cfg.bits = 1;
        struct zp_err err = {0};
        struct zp_tensor_qparams qp;
        assert_int_equal(zp_tensor_fit(&cfg, x, shape, 3, "t", &qp, &err), ZP_OK);
        assert_int_equal(qp.n_slices, 8);
        zp_tensor_apply(&cfg, &qp, x, shape, 3, y, codes);
        for (int c = 0; c < 2; c++) {
            size_t chan[15], n = 0;
            for (int o = 0; o < 3; o++)
                for (int i = 0; i < 5; i++)
                    chan[n++] = (size_t)(o * 10 + c * 5 + i);
            for (int g = 0; g < 4; g++)
                check_slice(&cfg, x, y, codes, &qp.slice[c * 4 + g], chan + g * 4,
                            g < 3 ? 4 : 3);
        }
        zp_tensor_qparams_free(&qp);
    }
    /* [2, 10] on axis 0, groups of 4: contiguous chunks 4, 4, 2 per row */
    const int64_t s2[] = {2, 10};
    struct zp_scheme_config cfg = cfg_of("asymmetric", 4, ZP_PER_GROUP, 0, 4);
    struct zp_err err = {0};
    assert_int_equal(zp_slice_count(&cfg, s2, 2, &err), 6);
    struct zp_tensor_qparams qp;
    assert_int_equal(zp_tensor_fit(&cfg, x, s2, 2, "t", &qp, &err), ZP_OK);
    zp_tensor_apply(&cfg, &qp, x, s2, 2, y, NULL);
    for (int s = 0; s < 6; s++) {
        size_t idx[4], b = (size_t)(s / 3) * 10 + (size_t)(s % 3) * 4;
        size_t n = s % 3 == 2 ? 2 : 4;
        for (size_t i = 0; i < n; i++)
            idx[i] = b + i;
        check_slice(&cfg, x, y, NULL, &qp.slice[s], idx, n);
    }
    zp_tensor_qparams_free(&qp);
}

static void test_per_tensor_and_in_place(void **state)
{
    (void)state;
    const int64_t shape[] = {3, 7};
    float x[21], y[21], z[21];
    fill(x, 21, 3);
    struct zp_scheme_config cfg = cfg_of("symmetric", 8, ZP_PER_TENSOR, 0, 0);
    struct zp_err err = {0};
    struct zp_tensor_qparams qp;
    assert_int_equal(zp_fake_quant(&cfg, x, shape, 2, "t", y, &qp, &err), ZP_OK);
    assert_int_equal(qp.n_slices, 1);
    size_t idx[21];
    for (size_t i = 0; i < 21; i++)
        idx[i] = i;
    check_slice(&cfg, x, y, NULL, &qp.slice[0], idx, 21);
    memcpy(z, x, sizeof z);
    zp_tensor_apply(&cfg, &qp, z, shape, 2, z, NULL); /* out == x */
    assert_memory_equal(z, y, sizeof z);
    zp_tensor_qparams_free(&qp);
    /* a scalar (rank 0) is one per-tensor slice */
    float one = 0.75f, out;
    assert_int_equal(zp_fake_quant(&cfg, &one, NULL, 0, "scalar", &out, NULL, &err), ZP_OK);
    assert_true(fabsf(out - 0.75f) <= 0.75f / 255.0f * 1.0001f);
}

static void test_layout_errors(void **state)
{
    (void)state;
    const int64_t shape[] = {2, 3, 4};
    float x[24] = {0}, y[24];
    struct zp_scheme_config cfg = cfg_of("asymmetric", 8, ZP_PER_CHANNEL, 3, 0);
    struct zp_err err = {0};
    assert_int_equal(zp_slice_count(&cfg, shape, 3, &err), 0);
    assert_non_null(strstr(err.msg, "axis 3 out of range"));
    zp_err_clear(&err);
    assert_int_not_equal(zp_fake_quant(&cfg, x, shape, 3, "conv2.weight", y, NULL, &err), ZP_OK);
    assert_non_null(strstr(err.msg, "conv2.weight"));
    assert_non_null(strstr(err.msg, "axis 3"));
    cfg.axis = -4;
    zp_err_clear(&err);
    assert_int_equal(zp_slice_count(&cfg, shape, 3, &err), 0);
    /* per-channel of a scalar has no axis */
    cfg.axis = 0;
    zp_err_clear(&err);
    assert_int_equal(zp_slice_count(&cfg, NULL, 0, &err), 0);
    /* an empty tensor */
    const int64_t empty[] = {4, 0};
    zp_err_clear(&err);
    assert_int_not_equal(zp_fake_quant(&cfg, x, empty, 2, "e", y, NULL, &err), ZP_OK);
    assert_non_null(strstr(err.msg, "empty"));
    /* group_size 0 */
    cfg = cfg_of("lut4", 4, ZP_PER_GROUP, 0, 0);
    zp_err_clear(&err);
    assert_int_not_equal(zp_fake_quant(&cfg, x, shape, 3, "g", y, NULL, &err), ZP_OK);
    assert_non_null(strstr(err.msg, "group_size"));
    /* per-group at 8 bits is refused with a message naming granularity */
    cfg = cfg_of("symmetric", 8, ZP_PER_GROUP, 0, 32);
    zp_err_clear(&err);
    assert_int_not_equal(zp_fake_quant(&cfg, x, shape, 3, "g8", y, NULL, &err), ZP_OK);
    assert_non_null(strstr(err.msg, "granularity"));
}

/* A 1M-element weight per channel on a non-leading axis and per group: the
 * threaded path, checked against the half-step bound rather than a manual
 * slicing (too slow to repeat here). */
static void test_large_tensor(void **state)
{
    (void)state;
    const int64_t shape[] = {64, 128, 128};
    size_t n = 64 * 128 * 128;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    fill(x, n, 4);
    x[123457] = NAN;
    struct zp_scheme_config cfg = cfg_of("asymmetric", 8, ZP_PER_CHANNEL, 1, 0);
    struct zp_err err = {0};
    assert_int_equal(zp_fake_quant(&cfg, x, shape, 3, "big", y, NULL, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "big: element 123457 is NaN"));
    x[123457] = 0.5f;
    struct zp_tensor_qparams qp;
    zp_err_clear(&err);
    assert_int_equal(zp_fake_quant(&cfg, x, shape, 3, "big", y, &qp, &err), ZP_OK);
    assert_int_equal(qp.n_slices, 128);
    for (size_t f = 0; f < n; f += 97) {
        size_t c = (f / 128) % 128;
        double s = qp.slice[c].scale;
        if (fabs((double)y[f] - x[f]) > (0.5 + ZP_TIE_LSB) * s + 1e-7)
            fail_msg("element %zu: %g -> %g (s %g)", f, x[f], y[f], s);
    }
    zp_tensor_qparams_free(&qp);
    cfg = cfg_of("linear4", 4, ZP_PER_GROUP, 0, 32);
    assert_int_equal(zp_fake_quant(&cfg, x, shape, 3, "big", y, &qp, &err), ZP_OK);
    assert_int_equal(qp.n_slices, n / 32);
    for (size_t f = 0; f < n; f += 101) {
        double s = qp.slice[f / 32].scale;
        if (fabs((double)y[f] - x[f]) > (0.5 + ZP_TIE_LSB) * s + 1e-7)
            fail_msg("element %zu: %g -> %g (s %g)", f, x[f], y[f], s);
    }
    zp_tensor_qparams_free(&qp);
    free(x);
    free(y);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_per_channel_any_axis),
        cmocka_unit_test(test_per_group),
        cmocka_unit_test(test_per_tensor_and_in_place),
        cmocka_unit_test(test_layout_errors),
        cmocka_unit_test(test_large_tensor),
    };
    return ZP_RUN_TESTS(t);
}
