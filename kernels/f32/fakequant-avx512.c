/* fakequant on AVX-512 (kernels/kernels.h). Without an offset (every quantizer but
 * the naive asymmetric one) 16 floats per step in float arithmetic, see
 * zp_fakequant_float_window; otherwise 8 floats widened to doubles per step,
 * the quotient clamped one step outside the code range (the codes clamp to it
 * anyway; it bounds the quotient and maps NaN to the zero point's code, as
 * zp_round_quot does), rounded half to even by adding and subtracting 1.5 * 2^52
 * (exact in round-to-nearest; no FMA contraction under -std=c11). A step in which
 * some quotient lies within common/round.h's tie window of a half step is redone
 * element by element by zp_f32_fakequant_one, which decides the tie exactly; so
 * the output is the scalar variant's bit for bit. */
#include <immintrin.h>

#include "common/round.h"
#include "kernels/variants.h"

static inline __m256 step8(const struct zp_f32_fakequant_call *c, __m256 xf, __mmask8 *near)
{
    const double z = c->zero_point;
    const __m512d off = _mm512_set1_pd(c->offset), inv = _mm512_set1_pd(1.0 / c->scale),
                  s = _mm512_set1_pd(c->scale), vz = _mm512_set1_pd(z),
                  qlo = _mm512_set1_pd(c->qmin - z - 1.0), qhi = _mm512_set1_pd(c->qmax - z + 1.0),
                  lo = _mm512_set1_pd(c->qmin), hi = _mm512_set1_pd(c->qmax),
                  magic = _mm512_set1_pd(ZP_ROUND_MAGIC), one = _mm512_set1_pd(1.0),
                  half = _mm512_set1_pd(0.5), win = _mm512_set1_pd(ZP_TIE_WINDOW);
    __m512d r = _mm512_mul_pd(_mm512_sub_pd(_mm512_cvtps_pd(xf), off), inv);
    r = _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(r, r, _CMP_ORD_Q), r); /* NaN -> 0 */
    r = _mm512_min_pd(_mm512_max_pd(r, qlo), qhi);
    __m512d t = _mm512_sub_pd(_mm512_add_pd(r, magic), magic);
    __m512d d = _mm512_abs_pd(_mm512_sub_pd(r, t));
    __m512d a = _mm512_max_pd(_mm512_abs_pd(r), one);
    *near |= _mm512_cmp_pd_mask(d, _mm512_sub_pd(half, _mm512_mul_pd(win, a)), _CMP_GE_OQ);
    __m512d q = _mm512_min_pd(_mm512_max_pd(_mm512_add_pd(t, vz), lo), hi);
    return _mm512_cvtpd_ps(_mm512_add_pd(off, _mm512_mul_pd(s, _mm512_sub_pd(q, vz))));
}

/* The float path: x (1/s) rounded twice in float errs from x/s by under 2^-22.9
 * relative, so a quotient more than the window away from a half step rounds as the
 * exact one does. The quotient is clamped to the code range shifted by the zero
 * point, [qmin - z, qmax - z]: integers, which rounding leaves in place, so the
 * rounded value t is the code minus z already (no second clamp) and the decoded
 * value is s t, exact in double and in float rounded once either way: the double
 * arithmetic's bit for bit. */
static size_t float_path(const struct zp_f32_fakequant_call *c, float win_f)
{
    const float z = (float)c->zero_point;
    const __m512 inv = _mm512_set1_ps((float)(1.0 / c->scale)), s = _mm512_set1_ps((float)c->scale),
                 qlo = _mm512_set1_ps((float)c->qmin - z), qhi = _mm512_set1_ps((float)c->qmax - z),
                 magic = _mm512_set1_ps(0x1.8p23f), lim = _mm512_set1_ps(0.5f - win_f);
    size_t i = 0;
    for (; i + 16 <= c->n; i += 16) {
        __m512 x = _mm512_loadu_ps(c->x + i);
        __m512 r = _mm512_mul_ps(x, inv);
        r = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(r, r, _CMP_ORD_Q), r); /* NaN -> 0 */
        r = _mm512_min_ps(_mm512_max_ps(r, qlo), qhi);
        __m512 t = _mm512_sub_ps(_mm512_add_ps(r, magic), magic);
        if (_mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(r, t)), lim, _CMP_GE_OQ)) {
            for (size_t k = 0; k < 16; k++) /* x is still whole here even when y is x */
                c->y[i + k] = zp_f32_fakequant_one(c, c->x[i + k]);
            continue;
        }
        _mm512_storeu_ps(c->y + i, _mm512_mul_ps(s, t));
    }
    return i;
}

void zp_f32_fakequant_8__avx512(const struct zp_f32_fakequant_call *c)
{
    float win_f;
    size_t i = zp_fakequant_float_window(c, &win_f) ? float_path(c, win_f) : 0;
    for (; i + 8 <= c->n; i += 8) {
        __mmask8 near = 0;
        __m256 y = step8(c, _mm256_loadu_ps(c->x + i), &near);
        if (near) /* x is still whole here even when y is x */
            for (size_t k = 0; k < 8; k++)
                c->y[i + k] = zp_f32_fakequant_one(c, c->x[i + k]);
        else
            _mm256_storeu_ps(c->y + i, y);
    }
    for (; i < c->n; i++)
        c->y[i] = zp_f32_fakequant_one(c, c->x[i]);
}
