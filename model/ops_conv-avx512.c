/* AVX-512 kernels of the float runtime (this file gets AVX-512 flags from
 * mk/isa.mk; callers check the CPU first, see zp_model_avx512() in ops_conv.c).
 *
 * Depthwise 3x3 keeps 16 outputs of a row in one register through all 9 taps
 * (the portable loop re-reads and re-writes the row for every tap), reads the
 * padded plane that ops_conv.c prepared (with slack after it, so full-width loads
 * past the row end stay inside the buffer; those lanes are never stored), and
 * applies bias and the fused Relu/Clip before the single masked store. */
#include <immintrin.h>

#include "model/graph_internal.h"

static inline __mmask16 tail_mask(int64_t rem)
{
    return rem >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << rem) - 1u);
}

void zp_dw3x3_avx512(const float *p, int64_t Wp, const float *w, float bias, float *y,
                     int64_t OH, int64_t OW, int64_t sh, int64_t sw, int act, float lo, float hi)
{
    __m512 k[9];
    for (int i = 0; i < 9; i++)
        k[i] = _mm512_set1_ps(w[i]);
    const __m512 vb = _mm512_set1_ps(bias), vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    const __m512i even =
        _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    for (int64_t oy = 0; oy < OH; oy++) {
        const float *r0 = p + oy * sh * Wp;
        float *out = y + oy * OW;
        for (int64_t ox = 0; ox < OW; ox += 16) {
            __m512 acc = vb;
            for (int ky = 0; ky < 3; ky++) {
                const float *r = r0 + ky * Wp;
                if (sw == 1) {
                    const float *s = r + ox;
                    acc = _mm512_fmadd_ps(k[3 * ky], _mm512_loadu_ps(s), acc);
                    acc = _mm512_fmadd_ps(k[3 * ky + 1], _mm512_loadu_ps(s + 1), acc);
                    acc = _mm512_fmadd_ps(k[3 * ky + 2], _mm512_loadu_ps(s + 2), acc);
                } else { /* sw == 2: even / odd lanes of two loads */
                    const float *s = r + 2 * ox;
                    __m512 a = _mm512_loadu_ps(s), b = _mm512_loadu_ps(s + 16);
                    __m512 a2 = _mm512_loadu_ps(s + 2), b2 = _mm512_loadu_ps(s + 18);
                    acc = _mm512_fmadd_ps(k[3 * ky], _mm512_permutex2var_ps(a, even, b), acc);
                    acc = _mm512_fmadd_ps(k[3 * ky + 1], _mm512_permutex2var_ps(a, odd, b), acc);
                    acc = _mm512_fmadd_ps(k[3 * ky + 2], _mm512_permutex2var_ps(a2, even, b2), acc);
                }
            }
            if (act)
                acc = _mm512_min_ps(_mm512_max_ps(acc, vlo), vhi);
            _mm512_mask_storeu_ps(out + ox, tail_mask(OW - ox), acc);
        }
    }
}

/* Y[O, P] = W[O, K] X[K, P] + bias (X rows ldx apart, Y rows ldy apart), then the fused activation:
 * the GEMM of a pointwise (or im2col'd) convolution in NCHW. Register block: 8 output channels x 48
 * pixels (24 accumulators); X rows are contiguous along pixels, so no packing is needed, and each
 * weight is broadcast from memory. Pixel blocks are the outer loop so one X panel serves every
 * output channel while it is in cache. */
static inline __attribute__((always_inline)) void
pw_block(const int mr, const int nv, __mmask16 lastm, const float *w, int64_t K, const float *x,
         int64_t ldx, const float *bias, float *y, int64_t ldy, int act, __m512 vlo, __m512 vhi)
{
    __m512 acc[8][3];
    #pragma GCC unroll 8
    for (int i = 0; i < mr; i++)
        #pragma GCC unroll 8
        for (int v = 0; v < nv; v++)
            acc[i][v] = _mm512_set1_ps(bias ? bias[i] : 0.f);
    for (int64_t k = 0; k < K; k++) {
        __m512 xv[3];
        const float *xr = x + k * ldx;
        #pragma GCC unroll 8
        for (int v = 0; v < nv; v++)
            xv[v] = v == nv - 1 ? _mm512_maskz_loadu_ps(lastm, xr + 16 * v)
                                : _mm512_loadu_ps(xr + 16 * v);
        #pragma GCC unroll 8
        for (int i = 0; i < mr; i++) {
            __m512 wb = _mm512_set1_ps(w[i * K + k]);
            #pragma GCC unroll 8
            for (int v = 0; v < nv; v++)
                acc[i][v] = _mm512_fmadd_ps(wb, xv[v], acc[i][v]);
        }
    }
    #pragma GCC unroll 8
    for (int i = 0; i < mr; i++)
        #pragma GCC unroll 8
        for (int v = 0; v < nv; v++) {
            __m512 r = acc[i][v];
            if (act)
                r = _mm512_min_ps(_mm512_max_ps(r, vlo), vhi);
            if (v == nv - 1)
                _mm512_mask_storeu_ps(y + i * ldy + 16 * v, lastm, r);
            else
                _mm512_storeu_ps(y + i * ldy + 16 * v, r);
        }
}

#define PW_NV(MR)                                                                                  \
    switch (nv) {                                                                                  \
    case 1:                                                                                        \
        pw_block(MR, 1, m, wo, K, xp, ldx, bo, yo, ldy, act, vlo, vhi);                            \
        break;                                                                                     \
    case 2:                                                                                        \
        pw_block(MR, 2, m, wo, K, xp, ldx, bo, yo, ldy, act, vlo, vhi);                            \
        break;                                                                                     \
    default:                                                                                       \
        pw_block(MR, 3, m, wo, K, xp, ldx, bo, yo, ldy, act, vlo, vhi);                            \
        break;                                                                                     \
    }

void zp_pw_avx512(const float *w, const float *x, int64_t ldx, const float *bias, float *y,
                  int64_t ldy, int64_t O, int64_t K, int64_t P, int act, float lo, float hi)
{
    const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    for (int64_t p = 0; p < P; p += 48) {
        int64_t rem = P - p < 48 ? P - p : 48;
        int nv = (int)((rem + 15) / 16);
        __mmask16 m = tail_mask(rem - 16 * (nv - 1));
        const float *xp = x + p;
        for (int64_t o = 0; o < O; o += 8) {
            const float *wo = w + o * K, *bo = bias ? bias + o : NULL;
            float *yo = y + o * ldy + p;
            switch (O - o < 8 ? O - o : 8) {
            case 1: PW_NV(1) break;
            case 2: PW_NV(2) break;
            case 3: PW_NV(3) break;
            case 4: PW_NV(4) break;
            case 5: PW_NV(5) break;
            case 6: PW_NV(6) break;
            case 7: PW_NV(7) break;
            default: PW_NV(8) break;
            }
        }
    }
}

/* dst[i] = src[2 i] for i < n (im2col of stride-2 convolutions): even lanes of two
 * loads. The vector loop stops while a full pair of loads stays below src[2 n - 2],
 * the last element the caller vouches for; the rest is scalar. */
void zp_copy_stride2_avx512(float *dst, const float *src, int64_t n)
{
    const __m512i even =
        _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    int64_t i = 0;
    for (; i + 16 < n; i += 16) {
        __m512 a = _mm512_loadu_ps(src + 2 * i), b = _mm512_loadu_ps(src + 2 * i + 16);
        _mm512_storeu_ps(dst + i, _mm512_permutex2var_ps(a, even, b));
    }
    for (; i < n; i++)
        dst[i] = src[2 * i];
}
