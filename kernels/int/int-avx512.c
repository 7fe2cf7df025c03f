/* Integer inference kernels, AVX-512 (F/BW): requantization, the depthwise
 * convolution and the input quantization, 16 int32 lanes (8 doubles) at a time,
 * each bit-exact with its reference in requant.c / ops_ref.c. Channel tails run
 * the same arithmetic under a lane mask (masked loads read only the selected
 * lanes, masked stores write only them), so no scalar tail is needed; the
 * quantization's rare near-tie groups go through the reference's scalar rule.
 * gemmlowp's SaturatingRoundingDoublingHighMul is done on the 64-bit products of
 * even and odd lanes with AVX-512's arithmetic 64-bit shift; the multipliers are
 * zp_quantize_multiplier's, in [0, 2^31), as kernels.h states. Channel sums and Add
 * stay with the AVX2 set (kernels/int/select.c). */
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/int/int_variants.h"

/* eight 64-bit products t = a b -> gemmlowp's trunc((t + nudge) / 2^31), nudge
 * 2^30 for t >= 0 and 1 - 2^30 below: for t < 0 the truncation toward zero is
 * floor((t + 1 - 2^30 + 2^31 - 1) / 2^31), so both are floor((t + 2^30) / 2^31),
 * one add and one arithmetic shift */
static inline __m512i srdhm_half(__m512i t)
{
    return _mm512_srai_epi64(_mm512_add_epi64(t, _mm512_set1_epi64((int64_t)1 << 30)), 31);
}

/* SaturatingRoundingDoublingHighMul for b a multiplier in [0, 2^31) (never
 * INT32_MIN, so the one saturating case a = b = INT32_MIN cannot occur) */
static inline __m512i srdhm16(__m512i a, __m512i b)
{
    __m512i even = srdhm_half(_mm512_mul_epi32(a, b));
    __m512i odd = srdhm_half(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), _mm512_srli_epi64(b, 32)));
    return _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

static inline __m512i rdivpot16(__m512i x, __m512i e)
{
    const __m512i one = _mm512_set1_epi32(1), zero = _mm512_setzero_si512();
    __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, e), one);
    __m512i rem = _mm512_and_si512(x, mask);
    __m512i thr = _mm512_srli_epi32(mask, 1);
    thr = _mm512_mask_add_epi32(thr, _mm512_cmplt_epi32_mask(x, zero), thr, one);
    __m512i q = _mm512_srav_epi32(x, e);
    return _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(rem, thr), q, one);
}

/* x M for per-lane (mult, shift) */
static inline __m512i mbqm16(__m512i x, __m512i m, __m512i shift)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i left = _mm512_max_epi32(shift, zero), right = _mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero);
    return rdivpot16(srdhm16(_mm512_sllv_epi32(x, left), m), right);
}

static inline __mmask16 tail16(int left) { return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1); }

void zp_int_requant__avx512(const struct zp_rq_call *c)
{
    const __m512i zp = _mm512_set1_epi32(c->zp), lo = _mm512_set1_epi32(c->lo), hi = _mm512_set1_epi32(c->hi);
    const __m512 flim = _mm512_set1_ps(1e9f), nflim = _mm512_set1_ps(-1e9f);
    for (int i = 0; i < c->rows; i++) {
        const int32_t *a = c->acc + (size_t)i * c->ld_acc;
        uint8_t *o = c->out + (size_t)i * c->ld_out;
        __m512i rs = _mm512_set1_epi32(c->rowsum ? c->rowsum[i] : 0);
        for (int j = 0; j < c->n; j += 16) {
            __mmask16 m = tail16(c->n - j);
            __m512i v = _mm512_maskz_loadu_epi32(m, a + j);
            if (c->col_add)
                v = _mm512_add_epi32(v, _mm512_maskz_loadu_epi32(m, c->col_add + j));
            if (c->col_zb)
                v = _mm512_sub_epi32(v, _mm512_mullo_epi32(_mm512_maskz_loadu_epi32(m, c->col_zb + j), rs));
            __m512i y;
            if (c->fmult) {
                __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_maskz_loadu_ps(m, c->fmult + j));
                f = _mm512_roundscale_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                f = _mm512_min_ps(_mm512_max_ps(f, nflim), flim);
                y = _mm512_cvtps_epi32(f);
            } else {
                __m512i sh = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, c->shift + j));
                y = mbqm16(v, _mm512_maskz_loadu_epi32(m, c->mult + j), sh);
            }
            y = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(y, zp), lo), hi);
            _mm_mask_storeu_epi8(o + j, m, _mm512_cvtepi32_epi8(y));
        }
    }
}

/* 16 channels of one output pixel: (x - zx) w as vpmaddwd of the difference (an
 * int16 in the low half of each int32 lane, its sign in the high half) with the
 * weight zero-extended (high half 0), so each lane's pair sum is the one product. */
void zp_int_dw__avx512(const struct zp_idw_call *c)
{
    const __m512i zx = _mm512_set1_epi32(c->zx);
    for (int oy = 0; oy < c->oh; oy++) {
        int iy0 = oy * c->sh - c->pt;
        int ky0 = iy0 < 0 ? -iy0 : 0, ky1 = c->h - iy0 < c->kh ? c->h - iy0 : c->kh;
        for (int ox = 0; ox < c->ow; ox++) {
            int ix0 = ox * c->sw - c->pl;
            int kx0 = ix0 < 0 ? -ix0 : 0, kx1 = c->w - ix0 < c->kw ? c->w - ix0 : c->kw;
            int32_t *acc = c->acc + ((size_t)oy * c->ow + ox) * c->c;
            for (int ch = 0; ch < c->c; ch += 16) {
                __mmask16 m = tail16(c->c - ch);
                __m512i s = _mm512_setzero_si512();
                for (int ky = ky0; ky < ky1; ky++) {
                    const uint8_t *xr = c->x + ((size_t)(iy0 + ky) * c->w + ix0) * c->c + ch;
                    const int16_t *wr = c->wt + (size_t)ky * c->kw * c->c + ch;
                    for (int kx = kx0; kx < kx1; kx++) {
                        __m128i xb = _mm_maskz_loadu_epi8(m, xr + (size_t)kx * c->c);
                        __m512i xv = c->x_signed ? _mm512_cvtepi8_epi32(xb) : _mm512_cvtepu8_epi32(xb);
                        __m512i wv = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, wr + (size_t)kx * c->c));
                        s = _mm512_add_epi32(s, _mm512_madd_epi16(_mm512_sub_epi32(xv, zx), wv));
                    }
                }
                _mm512_mask_storeu_epi32(acc + ch, m, s);
            }
        }
    }
}

void zp_int_quantize__avx512(const struct zp_iquant_params *q, const float *x, int64_t n, uint8_t *out,
                             size_t stride)
{
    const double inv = 1.0 / (double)q->scale;
    const __m512d vinv = _mm512_set1_pd(inv), half = _mm512_set1_pd(0.5), one = _mm512_set1_pd(1.0);
    const __m512d win = _mm512_set1_pd(ZP_TIE_WINDOW), big = _mm512_set1_pd(0x1p50);
    const __m512d lo = _mm512_set1_pd((double)(q->qmin - q->zp)), hi = _mm512_set1_pd((double)(q->qmax - q->zp));
    const __m256i zp = _mm256_set1_epi32(q->zp);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512d xd = _mm512_cvtps_pd(_mm256_loadu_ps(x + i));
        __m512d qv = _mm512_mul_pd(xd, vinv);
        __m512d t = _mm512_roundscale_pd(qv, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m512d d = _mm512_abs_pd(_mm512_sub_pd(qv, t)), a = _mm512_abs_pd(qv);
        __m512d thr = _mm512_sub_pd(half, _mm512_mul_pd(win, _mm512_max_pd(a, one)));
        __mmask8 ok = _mm512_cmp_pd_mask(d, thr, _CMP_LT_OQ) & _mm512_cmp_pd_mask(a, big, _CMP_LT_OQ);
        if (ok != 0xff) { /* a near-tie (or a value beyond any code): the exact rule */
            for (int k = 0; k < 8; k++)
                out[(size_t)(i + k) * stride] = zp_int_quantize_one(q, inv, x[i + k]);
            continue;
        }
        t = _mm512_min_pd(_mm512_max_pd(t, lo), hi);
        int32_t v[8];
        _mm256_storeu_si256((__m256i *)v, _mm256_add_epi32(_mm512_cvtpd_epi32(t), zp));
        for (int k = 0; k < 8; k++)
            out[(size_t)(i + k) * stride] = (uint8_t)v[k];
    }
    for (; i < n; i++)
        out[(size_t)i * stride] = zp_int_quantize_one(q, inv, x[i]);
}
#endif
