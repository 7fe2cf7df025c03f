/* Depthwise 3x3 convolution (pad 1, stride 1 or 2, NHWC) on AVX-512: 16 channels
 * per zmm, the block's 9 weight vectors held in registers while the output pixels
 * of that block are swept. int8: inputs and weights widened to int32 (vpmovsxbd),
 * vpmulld + vpaddd, exact. Ragged channel counts use masked loads/stores. */
#include <immintrin.h>

#include "kernels/internal.h"
#include "kernels/scalar.h"

static inline __mmask16 cmask(int left) { return left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1); }

void zp_f32_dw3x3__avx512(const struct zp_dw_problem *p)
{
    const int H = p->h, W = p->w, C = p->c, s = p->stride;
    const int Ho = zp_dw_out_dim(H, s), Wo = zp_dw_out_dim(W, s);
    const float *in = p->in, *wt = p->weight;
    float *out = p->out;
    for (int c0 = 0; c0 < C; c0 += 16) {
        __mmask16 m = cmask(C - c0);
        __m512 wv[9];
        for (int t = 0; t < 9; t++)
            wv[t] = _mm512_maskz_loadu_ps(m, wt + (size_t)t * C + c0);
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
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
                _mm512_mask_storeu_ps(out + ((size_t)oy * Wo + ox) * C + c0, m, acc);
            }
    }
}

void zp_s8_dw3x3__avx512(const struct zp_dw_problem *p)
{
    const int H = p->h, W = p->w, C = p->c, s = p->stride;
    const int Ho = zp_dw_out_dim(H, s), Wo = zp_dw_out_dim(W, s);
    const int8_t *in = p->in, *wt = p->weight;
    int32_t *out = p->out;
    for (int c0 = 0; c0 < C; c0 += 16) {
        __mmask16 m = cmask(C - c0);
        __m512i wv[9];
        for (int t = 0; t < 9; t++)
            wv[t] = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, wt + (size_t)t * C + c0));
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
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
                _mm512_mask_storeu_epi32(out + ((size_t)oy * Wo + ox) * C + c0, m, acc);
            }
    }
}
