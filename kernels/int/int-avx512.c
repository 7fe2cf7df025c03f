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

/* The output stage of 16 accumulators v (col_add added, col_zb term taken):
 * the multiplier (fixed point or float), zero point, clamp; 16 int32 codes. */
static inline __m512i rq16(__m512i v, const struct zp_rq_call *c, __m512i mu, __m512i sh, __m512 fm)
{
    __m512i y;
    if (c->fmult) {
        __m512 f = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(v), fm),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        y = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(f, _mm512_set1_ps(-1e9f)), _mm512_set1_ps(1e9f)));
    } else {
        y = mbqm16(v, mu, sh);
    }
    y = _mm512_add_epi32(y, _mm512_set1_epi32(c->zp));
    return _mm512_min_epi32(_mm512_max_epi32(y, _mm512_set1_epi32(c->lo)), _mm512_set1_epi32(c->hi));
}

/* 16 codes to bytes: a plain 16-byte store for a full vector (the masked form of
 * vpmovdb to memory is the slow one) */
static inline void store16(uint8_t *o, __mmask16 m, __m512i y)
{
    __m128i b = _mm512_cvtepi32_epi8(y);
    if (m == 0xffff)
        _mm_storeu_si128((__m128i *)o, b);
    else
        _mm_mask_storeu_epi8(o, m, b);
}

/* 16 accumulators of row i's columns [j, j + 16) under mask m, with the column
 * term added and the zero points' row term taken (rs: the row sum, broadcast). */
static inline __m512i acc16(const struct zp_rq_call *c, const int32_t *a, int j, __mmask16 m, __m512i rs)
{
    __m512i v = _mm512_maskz_loadu_epi32(m, a + j);
    if (c->col_add)
        v = _mm512_add_epi32(v, _mm512_maskz_loadu_epi32(m, c->col_add + j));
    if (c->col_zb)
        v = _mm512_sub_epi32(v, _mm512_mullo_epi32(_mm512_maskz_loadu_epi32(m, c->col_zb + j), rs));
    return v;
}

/* Fewer than 16 channels that divide 16, rows packed (ld = n), no row term: the
 * matrix as one run of values whose column parameters repeat every n lanes. */
static void requant_narrow(const struct zp_rq_call *c)
{
    __attribute__((aligned(64))) int32_t ca[16], mu[16];
    __attribute__((aligned(64))) float fm[16];
    __attribute__((aligned(64))) int32_t sh[16];
    for (int l = 0; l < 16; l++) {
        int j = l % c->n;
        ca[l] = c->col_add ? c->col_add[j] : 0;
        mu[l] = c->fmult ? 0 : c->mult[j];
        sh[l] = c->fmult ? 0 : c->shift[j];
        fm[l] = c->fmult ? c->fmult[j] : 0.f;
    }
    const __m512i vca = _mm512_load_si512(ca), vmu = _mm512_load_si512(mu), vsh = _mm512_load_si512(sh);
    const __m512 vfm = _mm512_load_ps(fm);
    const int64_t total = (int64_t)c->rows * c->n;
    const int32_t *a = c->acc;
    uint8_t *o = c->out;
    for (int64_t i = 0; i < total; i += 16) {
        __mmask16 m = tail16((int)(total - i < 16 ? total - i : 16));
        __m512i v = _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, a + i), vca);
        store16(o + i, m, rq16(v, c, vmu, vsh, vfm));
    }
}

/* The fixed-point path with both of gemmlowp's roundings in one 64-bit shift.
 * With t = x mult (64-bit) and r the right shift, SaturatingRoundingDoublingHigh-
 * Mul is y = floor((t + 2^30) / 2^31) (srdhm_half) and RoundingDivideByPOT is
 * floor((y + 2^(r-1)) / 2^r) for y >= 0 and floor((y + 2^(r-1) - 1) / 2^r) for
 * y < 0 (r >= 1; y itself for r = 0). Nested floors of integer divisions merge,
 * floor((floor(a / b) + c) / d) = floor((a + c b) / (b d)), so
 *   x M = (t + 2^30 + 2^(30+r) - [t < -2^30] 2^31) >> (31 + r)  (r >= 1),
 * exactly gemmlowp's double rounding (y < 0 exactly when t < -2^30), within
 * int64 (|t| < 2^62, r <= 31). Each column's shift and two offsets are taken
 * once per call, split into the even and odd 32-bit lanes that vpmuldq reads;
 * no left shift when no column has one (multipliers below 1, the usual case). */
#define RQ_PRE_MAX 1024
static void requant_fixed_pre(const struct zp_rq_call *c)
{
    __attribute__((aligned(64))) int32_t left[RQ_PRE_MAX];
    __attribute__((aligned(64))) int64_t sh64[2][RQ_PRE_MAX / 2], npos[2][RQ_PRE_MAX / 2], nneg[2][RQ_PRE_MAX / 2];
    const int n = c->n, n16 = (n + 15) / 16 * 16;
    int any_left = 0;
    for (int j = 0; j < n16; j++) {
        int sh = j < n ? c->shift[j] : 0, r = sh > 0 ? 0 : -sh;
        int half = j % 2, k = j / 16 * 8 + j % 16 / 2; /* lane k of the even / odd half */
        if (j < n)
            left[j] = sh > 0 ? sh : 0;
        any_left |= sh > 0;
        sh64[half][k] = 31 + r;
        npos[half][k] = ((int64_t)1 << 30) + (r ? (int64_t)1 << (30 + r) : 0);
        nneg[half][k] = npos[half][k] - (r ? (int64_t)1 << 31 : 0);
    }
    const int32_t *mult = c->mult, *rowsum = c->rowsum;
    const __m512i zp = _mm512_set1_epi32(c->zp), lo = _mm512_set1_epi32(c->lo), hi = _mm512_set1_epi32(c->hi);
    const __m512i neg_lim = _mm512_set1_epi64(-((int64_t)1 << 30));
    for (int i = 0; i < c->rows; i++) {
        const int32_t *a = c->acc + (size_t)i * c->ld_acc;
        uint8_t *o = c->out + (size_t)i * c->ld_out;
        __m512i rs = _mm512_set1_epi32(rowsum ? rowsum[i] : 0);
        for (int j = 0; j < n; j += 16) {
            __mmask16 m = tail16(n - j);
            __m512i v = acc16(c, a, j, m, rs);
            if (any_left)
                v = _mm512_sllv_epi32(v, _mm512_maskz_loadu_epi32(m, left + j));
            __m512i mu = _mm512_maskz_loadu_epi32(m, mult + j);
            __m512i y[2];
            for (int h = 0; h < 2; h++) {
                __m512i t = h ? _mm512_mul_epi32(_mm512_srli_epi64(v, 32), _mm512_srli_epi64(mu, 32))
                              : _mm512_mul_epi32(v, mu);
                __mmask8 neg = _mm512_cmplt_epi64_mask(t, neg_lim);
                t = _mm512_add_epi64(t, _mm512_mask_blend_epi64(neg, _mm512_load_si512(&npos[h][j / 2]),
                                                                _mm512_load_si512(&nneg[h][j / 2])));
                y[h] = _mm512_srav_epi64(t, _mm512_load_si512(&sh64[h][j / 2]));
            }
            __m512i q = _mm512_mask_blend_epi32(0xAAAA, y[0], _mm512_slli_epi64(y[1], 32));
            q = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, zp), lo), hi);
            store16(o + j, m, q);
        }
    }
}

void zp_int_requant__avx512(const struct zp_rq_call *c)
{
    const int n = c->n;
    if (n < 16 && 16 % n == 0 && !c->col_zb && c->ld_acc == (size_t)n && c->ld_out == (size_t)n) {
        requant_narrow(c);
        return;
    }
    if (!c->fmult && n <= RQ_PRE_MAX) {
        requant_fixed_pre(c);
        return;
    }
    const int32_t *mult = c->mult, *rowsum = c->rowsum;
    const int8_t *shift = c->shift;
    const float *fmult = c->fmult;
    for (int i = 0; i < c->rows; i++) {
        const int32_t *a = c->acc + (size_t)i * c->ld_acc;
        uint8_t *o = c->out + (size_t)i * c->ld_out;
        __m512i rs = _mm512_set1_epi32(rowsum ? rowsum[i] : 0);
        for (int j = 0; j < n; j += 16) {
            __mmask16 m = tail16(n - j);
            __m512i v = acc16(c, a, j, m, rs);
            __m512i mu = _mm512_setzero_si512(), sh = _mm512_setzero_si512();
            __m512 fm = _mm512_setzero_ps();
            if (fmult)
                fm = _mm512_maskz_loadu_ps(m, fmult + j);
            else {
                mu = _mm512_maskz_loadu_epi32(m, mult + j);
                sh = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, shift + j));
            }
            store16(o + j, m, rq16(v, c, mu, sh, fm));
        }
    }
}

/* The depthwise convolution: kernels/int/dw_avx512.inc, each tap's multiply-add as
 * vpmaddwd then vpaddd (the VNNI set, int-avx512vnni.c, fuses the two). */
#define ZP_DW_FN zp_int_dw__avx512
#define ZP_DW_DOT(s, x, w) _mm512_add_epi32(s, _mm512_madd_epi16(x, w))
#include "kernels/int/dw_avx512.inc"

/* 16 values of one plane to codes in float: q = x (1 / scale) is within a
 * relative 2^-23 of x / scale (two float roundings), so below |q| = 1024 a q
 * farther than 2^-12 from a half step rounds as x / scale does, and beyond 1024
 * the code is clamped either way (codes span at most 255 steps from the zero
 * point). Groups with a value near a half step (or NaN) take the reference's
 * exact rule. */
static inline __m128i quantize16(const struct zp_iquant_params *q, double inv, const float *x)
{
    const __m512 vinv = _mm512_set1_ps((float)inv), big = _mm512_set1_ps(1024.f);
    const __m512 thr = _mm512_set1_ps(0.5f - 0x1p-12f);
    __m512 qv = _mm512_mul_ps(_mm512_loadu_ps(x), vinv);
    __m512 t = _mm512_roundscale_ps(qv, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 d = _mm512_abs_ps(_mm512_sub_ps(qv, t)), a = _mm512_abs_ps(qv);
    __mmask16 ok = _mm512_cmp_ps_mask(d, thr, _CMP_LT_OQ) | _mm512_cmp_ps_mask(a, big, _CMP_GE_OQ);
    if (ok != 0xffff) {
        __attribute__((aligned(16))) uint8_t b[16];
        for (int k = 0; k < 16; k++)
            b[k] = zp_int_quantize_one(q, inv, x[k]);
        return _mm_load_si128((const __m128i *)b);
    }
    t = _mm512_min_ps(_mm512_max_ps(t, _mm512_set1_ps((float)(q->qmin - q->zp))),
                      _mm512_set1_ps((float)(q->qmax - q->zp)));
    return _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(t), _mm512_set1_epi32(q->zp)));
}

/* Three planes (an RGB image): 16 pixels of each quantized, then interleaved into
 * 48 NHWC bytes by byte shuffles (each output vector takes its bytes from the
 * three planes' vectors). Other channel counts: plane by plane, strided stores. */
void zp_int_quantize__avx512(const struct zp_iquant_params *q, const float *x, int c, int64_t hw, uint8_t *out)
{
    const double inv = 1.0 / (double)q->scale;
    int64_t done = 0;
    if (c == 3) {
        __attribute__((aligned(16))) uint8_t sel[3][3][16];
        for (int k = 0; k < 3; k++)
            for (int ch = 0; ch < 3; ch++)
                for (int j = 0; j < 16; j++)
                    sel[k][ch][j] = (uint8_t)((16 * k + j) % 3 == ch ? (16 * k + j) / 3 : 0x80);
        for (; done + 16 <= hw; done += 16) {
            __m128i v[3];
            for (int ch = 0; ch < 3; ch++)
                v[ch] = quantize16(q, inv, x + (size_t)ch * hw + done);
            for (int k = 0; k < 3; k++) {
                __m128i o = _mm_or_si128(
                    _mm_or_si128(_mm_shuffle_epi8(v[0], _mm_load_si128((const __m128i *)sel[k][0])),
                                 _mm_shuffle_epi8(v[1], _mm_load_si128((const __m128i *)sel[k][1]))),
                    _mm_shuffle_epi8(v[2], _mm_load_si128((const __m128i *)sel[k][2])));
                _mm_storeu_si128((__m128i *)(out + (size_t)done * 3 + 16 * k), o);
            }
        }
    } else {
        for (; done + 16 <= hw; done += 16)
            for (int ch = 0; ch < c; ch++) {
                __attribute__((aligned(16))) uint8_t b[16];
                _mm_store_si128((__m128i *)b, quantize16(q, inv, x + (size_t)ch * hw + done));
                for (int k = 0; k < 16; k++)
                    out[(size_t)(done + k) * c + ch] = b[k];
            }
    }
    for (int ch = 0; ch < c; ch++) /* the last hw % 16 pixels */
        for (int64_t i = done; i < hw; i++)
            out[(size_t)i * c + ch] = zp_int_quantize_one(q, inv, x[(size_t)ch * hw + i]);
}
#endif
