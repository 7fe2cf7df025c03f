/* The runtime's f32 conv GEMM on AVX-512 (kernels/kernels.h, kind conv):
 * Y[m][n] = W[m][k] X[k][n] + bias, clamp. Register tile: 8 output channels x 48
 * pixels (24 zmm accumulators, 3 X vectors, 1 broadcast weight). X rows are
 * contiguous along pixels, so X needs no packing; pixel blocks are the outer loop
 * so one K x 48 slice of X serves every weight panel while it is in cache. W comes
 * as panels (8 weights of one k adjacent: one cache line per 2 k) or plain rows
 * (8 row streams, for weights a hook replaced). Bias, clamp and the ragged pixel
 * tail (masked loads/stores) are in the tile, so Y is written once.
 * n = 1 (a Gemm, or a 1x1 output) has GEMV paths of its own (kernels/f32/conv-avx2.c,
 * memory-bound, so ymm suffice): the tile would use one lane of 16. */
#include <assert.h>
#include <immintrin.h>

#include "kernels/internal.h"
#include "kernels/variants.h"

#define MR ZP_CONV_MR
#define NV 3 /* zmm per pixel block: 48 pixels */

static inline __mmask16 tail_mask(int rem) { return rem >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << rem) - 1u); }

/* mr x (16 nv) outputs; W(i, kk) = w[i rs + kk cs] with (rs, cs) = (1, 8) for
 * panels and (k, 1) for rows; both are compile-time after inlining. */
static inline __attribute__((always_inline)) void
tile(const int mr, const int nv, const int packed, __mmask16 lastm, const float *w, int K,
     const float *x, size_t ldx, const float *bias, float *y, size_t ldy, int act, __m512 vlo, __m512 vhi)
{
    const size_t rs = packed ? 1 : (size_t)K, cs = packed ? MR : 1;
    __m512 acc[MR][NV];
#pragma GCC unroll 8
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++)
            acc[i][v] = _mm512_set1_ps(bias ? bias[i] : 0.f);
    for (int kk = 0; kk < K; kk++) {
        __m512 xv[NV];
        const float *xr = x + (size_t)kk * ldx;
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++)
            xv[v] = v == nv - 1 ? _mm512_maskz_loadu_ps(lastm, xr + 16 * v) : _mm512_loadu_ps(xr + 16 * v);
        const float *wk = w + (size_t)kk * cs;
#pragma GCC unroll 8
        for (int i = 0; i < mr; i++) {
            __m512 wb = _mm512_set1_ps(wk[(size_t)i * rs]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++)
                acc[i][v] = _mm512_fmadd_ps(wb, xv[v], acc[i][v]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            __m512 r = acc[i][v];
            if (act)
                r = _mm512_min_ps(_mm512_max_ps(r, vlo), vhi);
            if (v == nv - 1)
                _mm512_mask_storeu_ps(y + (size_t)i * ldy + 16 * v, lastm, r);
            else
                _mm512_storeu_ps(y + (size_t)i * ldy + 16 * v, r);
        }
}

#define TILE_NV(MRV, PK)                                                                                         \
    switch (nv) {                                                                                                \
    case 1: tile(MRV, 1, PK, m, wp, K, xp, ldx, bp, yp, ldy, act, vlo, vhi); break;                              \
    case 2: tile(MRV, 2, PK, m, wp, K, xp, ldx, bp, yp, ldy, act, vlo, vhi); break;                              \
    default: tile(MRV, 3, PK, m, wp, K, xp, ldx, bp, yp, ldy, act, vlo, vhi); break;                             \
    }
#define TILE_MR(PK)                                                                                              \
    switch (mr) {                                                                                                \
    case 1: TILE_NV(1, PK) break;                                                                                \
    case 2: TILE_NV(2, PK) break;                                                                                \
    case 3: TILE_NV(3, PK) break;                                                                                \
    case 4: TILE_NV(4, PK) break;                                                                                \
    case 5: TILE_NV(5, PK) break;                                                                                \
    case 6: TILE_NV(6, PK) break;                                                                                \
    case 7: TILE_NV(7, PK) break;                                                                                \
    default: TILE_NV(8, PK) break;                                                                               \
    }

void zp_f32_conv_8x48__avx512(const struct zp_f32_conv_call *c)
{
    assert(c && c->w && c->x && c->y && c->m >= 1 && c->n >= 1 && c->k >= 1);
    assert(c->ldx >= (size_t)c->n && c->ldy >= (size_t)c->n);
    if (c->n == 1 && c->w_packed) {
        zp_f32_gemv_panels__avx2(c);
        return;
    }
    if (c->n == 1 && c->ldx == 1) {
        zp_f32_gemv_rows__avx2(c);
        return;
    }
    const int K = c->k, act = c->act;
    const size_t ldx = c->ldx, ldy = c->ldy;
    const __m512 vlo = _mm512_set1_ps(c->lo), vhi = _mm512_set1_ps(c->hi);
    for (int j = 0; j < c->n; j += 16 * NV) {
        const int rem = c->n - j < 16 * NV ? c->n - j : 16 * NV;
        const int nv = (rem + 15) / 16;
        const __mmask16 m = tail_mask(rem - 16 * (nv - 1));
        const float *xp = c->x + j;
        for (int o = 0; o < c->m; o += MR) {
            const int mr = c->m - o < MR ? c->m - o : MR;
            const float *wp = c->w + (size_t)o * K; /* panel o / 8 or row o: the same offset */
            const float *bp = c->bias ? c->bias + o : NULL;
            float *yp = c->y + (size_t)o * ldy + j;
            if (c->w_packed) {
                TILE_MR(1)
            } else {
                TILE_MR(0)
            }
        }
    }
}
