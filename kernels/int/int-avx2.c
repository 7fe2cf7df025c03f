/* Integer inference kernels, AVX2: requantization (fixed point and float), the
 * depthwise convolution, channel sums, Add and the input quantization (4 doubles),
 * 8 int32 lanes at a time, each
 * bit-exact with its reference in requant.c / ops_ref.c (tails run the scalar
 * arithmetic of the reference). gemmlowp's SaturatingRoundingDoublingHighMul is
 * done on the 64-bit products of even and odd lanes: the truncating division by
 * 2^31 is a logical shift of (t + (t < 0 ? 2^31 - 1 : 0)), whose low 32 bits are
 * those of the arithmetic shift AVX2 lacks for 64-bit lanes. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#include "kernels/int/int_variants.h"

/* four 64-bit products t of one parity -> trunc((t + nudge) / 2^31) in the low halves */
static inline __m256i srdhm_half(__m256i t)
{
    const __m256i zero = _mm256_setzero_si256();
    const __m256i pos = _mm256_set1_epi64x((int64_t)1 << 30), neg = _mm256_set1_epi64x(1 - ((int64_t)1 << 30));
    const __m256i round_neg = _mm256_set1_epi64x(((int64_t)1 << 31) - 1);
    __m256i nudge = _mm256_blendv_epi8(pos, neg, _mm256_cmpgt_epi64(zero, t));
    __m256i t2 = _mm256_add_epi64(t, nudge);
    t2 = _mm256_add_epi64(t2, _mm256_and_si256(_mm256_cmpgt_epi64(zero, t2), round_neg));
    return _mm256_srli_epi64(t2, 31);
}

static inline __m256i srdhm8(__m256i a, __m256i b)
{
    __m256i even = srdhm_half(_mm256_mul_epi32(a, b));
    __m256i odd = srdhm_half(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(b, 32)));
    __m256i r = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    const __m256i mn = _mm256_set1_epi32(INT32_MIN);
    __m256i ovf = _mm256_and_si256(_mm256_cmpeq_epi32(a, mn), _mm256_cmpeq_epi32(b, mn));
    return _mm256_blendv_epi8(r, _mm256_set1_epi32(INT32_MAX), ovf);
}

static inline __m256i rdivpot8(__m256i x, __m256i e)
{
    const __m256i one = _mm256_set1_epi32(1);
    __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, e), one);
    __m256i rem = _mm256_and_si256(x, mask);
    __m256i thr = _mm256_add_epi32(_mm256_srli_epi32(mask, 1),
                                   _mm256_and_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), x), one));
    return _mm256_add_epi32(_mm256_srav_epi32(x, e), _mm256_and_si256(_mm256_cmpgt_epi32(rem, thr), one));
}

/* x M for per-lane (mult, shift) */
static inline __m256i mbqm8(__m256i x, __m256i m, __m256i shift)
{
    __m256i zero = _mm256_setzero_si256();
    __m256i left = _mm256_max_epi32(shift, zero), right = _mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero);
    return rdivpot8(srdhm8(_mm256_sllv_epi32(x, left), m), right);
}

static inline void store8(uint8_t *o, __m256i y)
{
    int32_t t[8];
    _mm256_storeu_si256((__m256i *)t, y);
    for (int k = 0; k < 8; k++)
        o[k] = (uint8_t)t[k];
}

static inline __m256i load8_codes(const uint8_t *x, int is_signed)
{
    __m128i b = _mm_loadl_epi64((const __m128i *)x);
    return is_signed ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
}

void zp_int_requant__avx2(const struct zp_rq_call *c)
{
    const __m256i zp = _mm256_set1_epi32(c->zp), lo = _mm256_set1_epi32(c->lo), hi = _mm256_set1_epi32(c->hi);
    const __m256 flim = _mm256_set1_ps(1e9f), nflim = _mm256_set1_ps(-1e9f);
    int n8 = c->n & ~7;
    for (int i = 0; i < c->rows; i++) {
        const int32_t *a = c->acc + (size_t)i * c->ld_acc;
        uint8_t *o = c->out + (size_t)i * c->ld_out;
        __m256i rs = _mm256_set1_epi32(c->rowsum ? c->rowsum[i] : 0);
        for (int j = 0; j < n8; j += 8) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(a + j));
            if (c->col_add)
                v = _mm256_add_epi32(v, _mm256_loadu_si256((const __m256i *)(c->col_add + j)));
            if (c->col_zb)
                v = _mm256_sub_epi32(v, _mm256_mullo_epi32(_mm256_loadu_si256((const __m256i *)(c->col_zb + j)), rs));
            __m256i y;
            if (c->fmult) {
                __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_loadu_ps(c->fmult + j));
                f = _mm256_round_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                f = _mm256_min_ps(_mm256_max_ps(f, nflim), flim);
                y = _mm256_cvtps_epi32(f);
            } else {
                __m256i sh = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(c->shift + j)));
                y = mbqm8(v, _mm256_loadu_si256((const __m256i *)(c->mult + j)), sh);
            }
            y = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(y, zp), lo), hi);
            store8(o + j, y);
        }
        if (n8 < c->n) { /* the tail through the reference's arithmetic */
            struct zp_rq_call t = *c;
            t.rows = 1;
            t.n = c->n - n8;
            t.acc = a + n8;
            t.col_add = c->col_add ? c->col_add + n8 : NULL;
            t.col_zb = c->col_zb ? c->col_zb + n8 : NULL;
            t.rowsum = c->rowsum ? c->rowsum + i : NULL;
            t.mult = c->mult ? c->mult + n8 : NULL;
            t.shift = c->shift ? c->shift + n8 : NULL;
            t.fmult = c->fmult ? c->fmult + n8 : NULL;
            t.out = o + n8;
            zp_ref_int_requant(&t);
        }
    }
}

void zp_int_dw__avx2(const struct zp_idw_call *c)
{
    const __m256i zx = _mm256_set1_epi32(c->zx);
    int c8 = c->c & ~7;
    for (int oy = 0; oy < c->oh; oy++)
        for (int ox = 0; ox < c->ow; ox++) {
            int32_t *acc = c->acc + ((size_t)oy * c->ow + ox) * c->c;
            for (int ch = 0; ch < c8; ch += 8) {
                __m256i s = _mm256_setzero_si256();
                for (int ky = 0; ky < c->kh; ky++) {
                    int iy = oy * c->sh - c->pt + ky;
                    if (iy < 0 || iy >= c->h)
                        continue;
                    for (int kx = 0; kx < c->kw; kx++) {
                        int ix = ox * c->sw - c->pl + kx;
                        if (ix < 0 || ix >= c->w)
                            continue;
                        __m256i xv = _mm256_sub_epi32(
                            load8_codes(c->x + ((size_t)iy * c->w + ix) * c->c + ch, c->x_signed), zx);
                        __m256i wv = _mm256_cvtepi16_epi32(
                            _mm_loadu_si128((const __m128i *)(c->wt + ((size_t)ky * c->kw + kx) * c->c + ch)));
                        s = _mm256_add_epi32(s, _mm256_mullo_epi32(xv, wv));
                    }
                }
                _mm256_storeu_si256((__m256i *)(acc + ch), s);
            }
            for (int ch = c8; ch < c->c; ch++)
                acc[ch] = zp_int_dw_one(c, oy, ox, ch);
        }
}

void zp_int_chansum__avx2(const uint8_t *x, int x_signed, int hw, int c, int32_t *sum)
{
    int c8 = c & ~7;
    for (int ch = 0; ch < c8; ch += 8) {
        __m256i s = _mm256_setzero_si256();
        for (int p = 0; p < hw; p++)
            s = _mm256_add_epi32(s, load8_codes(x + (size_t)p * c + ch, x_signed));
        _mm256_storeu_si256((__m256i *)(sum + ch), s);
    }
    for (int ch = c8; ch < c; ch++)
        sum[ch] = zp_int_chansum_one(x, x_signed, hw, c, ch);
}

void zp_int_add__avx2(const struct zp_iadd_params *p, const uint8_t *a, const uint8_t *b, int is_signed,
                      int64_t n, uint8_t *out)
{
    const __m256i za = _mm256_set1_epi32(p->za), zb = _mm256_set1_epi32(p->zb), zo = _mm256_set1_epi32(p->zo);
    const __m256i ma = _mm256_set1_epi32(p->ma), mb = _mm256_set1_epi32(p->mb), mo = _mm256_set1_epi32(p->mo);
    const __m256i sa = _mm256_set1_epi32(p->sa), sb = _mm256_set1_epi32(p->sb), so = _mm256_set1_epi32(p->so);
    const __m256i lo = _mm256_set1_epi32(p->lo), hi = _mm256_set1_epi32(p->hi);
    int64_t n8 = n & ~(int64_t)7;
    for (int64_t i = 0; i < n8; i += 8) {
        __m256i xa = _mm256_slli_epi32(_mm256_sub_epi32(load8_codes(a + i, is_signed), za), 20);
        __m256i xb = _mm256_slli_epi32(_mm256_sub_epi32(load8_codes(b + i, is_signed), zb), 20);
        __m256i s = _mm256_add_epi32(mbqm8(xa, ma, sa), mbqm8(xb, mb, sb));
        __m256i y = _mm256_add_epi32(mbqm8(s, mo, so), zo);
        store8(out + i, _mm256_min_epi32(_mm256_max_epi32(y, lo), hi));
    }
    if (n8 < n)
        zp_ref_int_add(p, a + n8, b + n8, is_signed, n - n8, out + n8);
}

/* one plane: n values to codes stride bytes apart */
static void quantize_plane(const struct zp_iquant_params *q, const float *x, int64_t n, uint8_t *out, size_t stride)
{
    const double inv = 1.0 / (double)q->scale;
    const __m256d vinv = _mm256_set1_pd(inv), half = _mm256_set1_pd(0.5), one = _mm256_set1_pd(1.0);
    const __m256d win = _mm256_set1_pd(ZP_TIE_WINDOW), big = _mm256_set1_pd(0x1p50);
    const __m256d sign = _mm256_set1_pd(-0.0);
    const __m256d lo = _mm256_set1_pd((double)(q->qmin - q->zp)), hi = _mm256_set1_pd((double)(q->qmax - q->zp));
    const __m128i zp = _mm_set1_epi32(q->zp);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d qv = _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i)), vinv);
        __m256d t = _mm256_round_pd(qv, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256d d = _mm256_andnot_pd(sign, _mm256_sub_pd(qv, t)), a = _mm256_andnot_pd(sign, qv);
        __m256d thr = _mm256_sub_pd(half, _mm256_mul_pd(win, _mm256_max_pd(a, one)));
        __m256d ok = _mm256_and_pd(_mm256_cmp_pd(d, thr, _CMP_LT_OQ), _mm256_cmp_pd(a, big, _CMP_LT_OQ));
        if (_mm256_movemask_pd(ok) != 0xf) { /* a near-tie (or a value beyond any code): the exact rule */
            for (int k = 0; k < 4; k++)
                out[(size_t)(i + k) * stride] = zp_int_quantize_one(q, inv, x[i + k]);
            continue;
        }
        t = _mm256_min_pd(_mm256_max_pd(t, lo), hi);
        int32_t v[4];
        _mm_storeu_si128((__m128i *)v, _mm_add_epi32(_mm256_cvtpd_epi32(t), zp));
        for (int k = 0; k < 4; k++)
            out[(size_t)(i + k) * stride] = (uint8_t)v[k];
    }
    for (; i < n; i++)
        out[(size_t)i * stride] = zp_int_quantize_one(q, inv, x[i]);
}

void zp_int_quantize__avx2(const struct zp_iquant_params *q, const float *x, int c, int64_t hw, uint8_t *out)
{
    for (int ch = 0; ch < c; ch++)
        quantize_plane(q, x + (size_t)ch * hw, hw, out + ch, (size_t)c);
}
#endif
