/* Depthwise 3x3 convolution (pad 1, stride 1 or 2, NHWC) on AVX-512: 16 channels
 * per zmm, the block's 9 weight vectors held in registers while the output pixels
 * of that block are swept; for stride 1 inside the image, 4 outputs at a time share
 * their input columns. int8: inputs and weights widened to int32 (vpmovsxbd),
 * vpmulld + vpaddd, exact. Ragged channel counts use masked loads/stores. */
#include <assert.h>
#include <immintrin.h>

#include "kernels/internal.h"
#include "kernels/variants.h"

static inline __mmask16 cmask(int left) { return left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1); }

/* One output pixel with bounds checks (borders, stride 2, narrow images). */
static inline __m512 px_f32(const float *in, int H, int W, int C, int s, int oy, int ox, int c0, __mmask16 m,
                            const __m512 *wv)
{
    __m512 acc = _mm512_setzero_ps();
    for (int ky = 0; ky < 3; ky++) {
        int y = oy * s + ky - 1;
        if (y < 0 || y >= H)
            continue;
        for (int kx = 0; kx < 3; kx++) {
            int x = ox * s + kx - 1;
            if (x < 0 || x >= W)
                continue;
            __m512 v = _mm512_maskz_loadu_ps(m, in + ((size_t)y * W + x) * C + c0);
            acc = _mm512_fmadd_ps(v, wv[ky * 3 + kx], acc);
        }
    }
    return acc;
}

void zp_f32_dw3x3__avx512(const struct zp_dw_problem *p)
{
    assert(p && p->fmt == ZP_KF_F32 && p->in && p->weight && p->out && p->h >= 1 && p->w >= 1 && p->c >= 1 &&
           (p->stride == 1 || p->stride == 2));
    const int H = p->h, W = p->w, C = p->c, s = p->stride;
    const int Ho = zp_dw_out_dim(H, s), Wo = zp_dw_out_dim(W, s);
    const float *in = p->in, *wt = p->weight;
    float *out = p->out;
    const size_t rs = (size_t)W * C; /* input row stride */
    for (int c0 = 0; c0 < C; c0 += 16) {
        __mmask16 m = cmask(C - c0);
        __m512 wv[9];
        for (int t = 0; t < 9; t++)
            wv[t] = _mm512_maskz_loadu_ps(m, wt + (size_t)t * C + c0);
        for (int oy = 0; oy < Ho; oy++) {
            float *orow = out + (size_t)oy * Wo * C + c0;
            const int interior_y = oy * s - 1 >= 0 && oy * s + 1 < H;
            int ox = 0;
            if (interior_y && s == 1) {
                /* stride 1, rows fully inside: 4 outputs at a time share 6 input
                 * columns per row (18 loads for 36 FMAs), no bounds checks */
                const float *r0 = in + (size_t)(oy - 1) * rs + c0;
                _mm512_mask_storeu_ps(orow, m, px_f32(in, H, W, C, s, oy, 0, c0, m, wv));
                ox = 1;
                for (; ox + 4 <= Wo - 1; ox += 4) {
                    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
                    for (int ky = 0; ky < 3; ky++) {
                        const float *row = r0 + (size_t)ky * rs + (size_t)(ox - 1) * C;
                        __m512 x0 = _mm512_maskz_loadu_ps(m, row), x1 = _mm512_maskz_loadu_ps(m, row + C);
                        __m512 x2 = _mm512_maskz_loadu_ps(m, row + 2 * (size_t)C);
                        __m512 x3 = _mm512_maskz_loadu_ps(m, row + 3 * (size_t)C);
                        __m512 x4 = _mm512_maskz_loadu_ps(m, row + 4 * (size_t)C);
                        __m512 x5 = _mm512_maskz_loadu_ps(m, row + 5 * (size_t)C);
                        __m512 w0 = wv[ky * 3], w1 = wv[ky * 3 + 1], w2 = wv[ky * 3 + 2];
                        a0 = _mm512_fmadd_ps(x0, w0, a0);
                        a1 = _mm512_fmadd_ps(x1, w0, a1);
                        a2 = _mm512_fmadd_ps(x2, w0, a2);
                        a3 = _mm512_fmadd_ps(x3, w0, a3);
                        a0 = _mm512_fmadd_ps(x1, w1, a0);
                        a1 = _mm512_fmadd_ps(x2, w1, a1);
                        a2 = _mm512_fmadd_ps(x3, w1, a2);
                        a3 = _mm512_fmadd_ps(x4, w1, a3);
                        a0 = _mm512_fmadd_ps(x2, w2, a0);
                        a1 = _mm512_fmadd_ps(x3, w2, a1);
                        a2 = _mm512_fmadd_ps(x4, w2, a2);
                        a3 = _mm512_fmadd_ps(x5, w2, a3);
                    }
                    _mm512_mask_storeu_ps(orow + (size_t)ox * C, m, a0);
                    _mm512_mask_storeu_ps(orow + (size_t)(ox + 1) * C, m, a1);
                    _mm512_mask_storeu_ps(orow + (size_t)(ox + 2) * C, m, a2);
                    _mm512_mask_storeu_ps(orow + (size_t)(ox + 3) * C, m, a3);
                }
            }
            for (; ox < Wo; ox++)
                _mm512_mask_storeu_ps(orow + (size_t)ox * C, m, px_f32(in, H, W, C, s, oy, ox, c0, m, wv));
        }
    }
}

/* One int8 output pixel with bounds checks. */
static inline __m512i px_s8(const int8_t *in, int H, int W, int C, int s, int oy, int ox, int c0, __mmask16 m,
                            const __m512i *wv)
{
    __m512i acc = _mm512_setzero_si512();
    for (int ky = 0; ky < 3; ky++) {
        int y = oy * s + ky - 1;
        if (y < 0 || y >= H)
            continue;
        for (int kx = 0; kx < 3; kx++) {
            int x = ox * s + kx - 1;
            if (x < 0 || x >= W)
                continue;
            __m512i v = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, in + ((size_t)y * W + x) * C + c0));
            acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(v, wv[ky * 3 + kx]));
        }
    }
    return acc;
}

static inline __m512i ld_s8(const int8_t *p, __mmask16 m)
{
    return _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p));
}

#define MAC(a, x, w) a = _mm512_add_epi32(a, _mm512_mullo_epi32(x, w))

void zp_s8_dw3x3__avx512(const struct zp_dw_problem *p)
{
    assert(p && p->fmt == ZP_KF_S8 && p->in && p->weight && p->out && p->h >= 1 && p->w >= 1 && p->c >= 1 &&
           (p->stride == 1 || p->stride == 2));
    const int H = p->h, W = p->w, C = p->c, s = p->stride;
    const int Ho = zp_dw_out_dim(H, s), Wo = zp_dw_out_dim(W, s);
    const int8_t *in = p->in, *wt = p->weight;
    int32_t *out = p->out;
    const size_t rs = (size_t)W * C;
    for (int c0 = 0; c0 < C; c0 += 16) {
        __mmask16 m = cmask(C - c0);
        __m512i wv[9];
        for (int t = 0; t < 9; t++)
            wv[t] = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, wt + (size_t)t * C + c0));
        for (int oy = 0; oy < Ho; oy++) {
            int32_t *orow = out + (size_t)oy * Wo * C + c0;
            const int interior_y = oy * s - 1 >= 0 && oy * s + 1 < H;
            int ox = 0;
            if (interior_y && s == 1) {
                /* as the f32 kernel: 4 outputs share 6 widened input columns per row */
                const int8_t *r0 = in + (size_t)(oy - 1) * rs + c0;
                _mm512_mask_storeu_epi32(orow, m, px_s8(in, H, W, C, s, oy, 0, c0, m, wv));
                ox = 1;
                for (; ox + 4 <= Wo - 1; ox += 4) {
                    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
                    for (int ky = 0; ky < 3; ky++) {
                        const int8_t *row = r0 + (size_t)ky * rs + (size_t)(ox - 1) * C;
                        __m512i x0 = ld_s8(row, m), x1 = ld_s8(row + C, m), x2 = ld_s8(row + 2 * (size_t)C, m);
                        __m512i x3 = ld_s8(row + 3 * (size_t)C, m), x4 = ld_s8(row + 4 * (size_t)C, m);
                        __m512i x5 = ld_s8(row + 5 * (size_t)C, m);
                        __m512i w0 = wv[ky * 3], w1 = wv[ky * 3 + 1], w2 = wv[ky * 3 + 2];
                        MAC(a0, x0, w0); MAC(a1, x1, w0); MAC(a2, x2, w0); MAC(a3, x3, w0);
                        MAC(a0, x1, w1); MAC(a1, x2, w1); MAC(a2, x3, w1); MAC(a3, x4, w1);
                        MAC(a0, x2, w2); MAC(a1, x3, w2); MAC(a2, x4, w2); MAC(a3, x5, w2);
                    }
                    _mm512_mask_storeu_epi32(orow + (size_t)ox * C, m, a0);
                    _mm512_mask_storeu_epi32(orow + (size_t)(ox + 1) * C, m, a1);
                    _mm512_mask_storeu_epi32(orow + (size_t)(ox + 2) * C, m, a2);
                    _mm512_mask_storeu_epi32(orow + (size_t)(ox + 3) * C, m, a3);
                }
            }
            for (; ox < Wo; ox++)
                _mm512_mask_storeu_epi32(orow + (size_t)ox * C, m, px_s8(in, H, W, C, s, oy, ox, c0, m, wv));
        }
    }
}
