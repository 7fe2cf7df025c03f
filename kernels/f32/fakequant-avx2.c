/* fakequant on AVX2 (kernels/kernels.h): the AVX-512 variant's two paths on 8
 * floats and 4 doubles (see kernels/f32/fakequant-avx512.c for the why of each);
 * bit for bit the scalar variant's output. */
#include <immintrin.h>

#include "common/round.h"
#include "kernels/variants.h"

static size_t float_path(const struct zp_f32_fakequant_call *c, float win_f)
{
    const float z = (float)c->zero_point;
    /* clamped to [qmin - z, qmax - z] (integers): t is the code minus z, s t the
     * decoded value (fakequant-avx512.c) */
    const __m256 inv = _mm256_set1_ps((float)(1.0 / c->scale)), s = _mm256_set1_ps((float)c->scale),
                 qlo = _mm256_set1_ps((float)c->qmin - z), qhi = _mm256_set1_ps((float)c->qmax - z),
                 magic = _mm256_set1_ps(0x1.8p23f), lim = _mm256_set1_ps(0.5f - win_f),
                 sign = _mm256_set1_ps(-0.0f);
    size_t i = 0;
    for (; i + 8 <= c->n; i += 8) {
        __m256 r = _mm256_mul_ps(_mm256_loadu_ps(c->x + i), inv);
        r = _mm256_and_ps(r, _mm256_cmp_ps(r, r, _CMP_ORD_Q)); /* NaN -> 0 */
        r = _mm256_min_ps(_mm256_max_ps(r, qlo), qhi);
        __m256 t = _mm256_sub_ps(_mm256_add_ps(r, magic), magic);
        if (_mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(r, t)), lim, _CMP_GE_OQ))) {
            for (size_t k = 0; k < 8; k++) /* x is still whole here even when y is x */
                c->y[i + k] = zp_f32_fakequant_one(c, c->x[i + k]);
            continue;
        }
        _mm256_storeu_ps(c->y + i, _mm256_mul_ps(s, t));
    }
    return i;
}

void zp_f32_fakequant_4__avx2(const struct zp_f32_fakequant_call *c)
{
    float win_f;
    size_t i0 = zp_fakequant_float_window(c, &win_f) ? float_path(c, win_f) : 0;
    const double z = c->zero_point;
    const __m256d off = _mm256_set1_pd(c->offset), inv = _mm256_set1_pd(1.0 / c->scale),
                  s = _mm256_set1_pd(c->scale), vz = _mm256_set1_pd(z),
                  qlo = _mm256_set1_pd(c->qmin - z - 1.0), qhi = _mm256_set1_pd(c->qmax - z + 1.0),
                  lo = _mm256_set1_pd(c->qmin), hi = _mm256_set1_pd(c->qmax),
                  magic = _mm256_set1_pd(ZP_ROUND_MAGIC), one = _mm256_set1_pd(1.0),
                  half = _mm256_set1_pd(0.5), win = _mm256_set1_pd(ZP_TIE_WINDOW),
                  sign = _mm256_set1_pd(-0.0);
    size_t i = i0;
    for (; i + 4 <= c->n; i += 4) {
        __m256d r = _mm256_mul_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(c->x + i)), off), inv);
        r = _mm256_and_pd(r, _mm256_cmp_pd(r, r, _CMP_ORD_Q)); /* NaN -> 0 */
        r = _mm256_min_pd(_mm256_max_pd(r, qlo), qhi);
        __m256d t = _mm256_sub_pd(_mm256_add_pd(r, magic), magic);
        __m256d d = _mm256_andnot_pd(sign, _mm256_sub_pd(r, t));
        __m256d a = _mm256_max_pd(_mm256_andnot_pd(sign, r), one);
        __m256d near = _mm256_cmp_pd(d, _mm256_sub_pd(half, _mm256_mul_pd(win, a)), _CMP_GE_OQ);
        if (_mm256_movemask_pd(near)) { /* x is still whole here even when y is x */
            for (size_t k = 0; k < 4; k++)
                c->y[i + k] = zp_f32_fakequant_one(c, c->x[i + k]);
            continue;
        }
        __m256d q = _mm256_min_pd(_mm256_max_pd(_mm256_add_pd(t, vz), lo), hi);
        _mm_storeu_ps(c->y + i, _mm256_cvtpd_ps(_mm256_add_pd(off, _mm256_mul_pd(s, _mm256_sub_pd(q, vz)))));
    }
    for (; i < c->n; i++)
        c->y[i] = zp_f32_fakequant_one(c, c->x[i]);
}
