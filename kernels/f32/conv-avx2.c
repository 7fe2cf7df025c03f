/* The runtime's f32 conv GEMM on AVX2 + FMA (kernels/kernels.h, kind conv): the
 * AVX-512 variant's scheme on 16 ymm registers. Tile: 4 output channels (half a
 * weight panel) x 24 pixels = 12 accumulators (enough to cover the FMA latency
 * on two FMA pipes), 3 X vectors, 1 broadcast. Ragged pixels use vmaskmovps.
 * Measured on this machine's Zen (1 thread, MobileNet v1 0.25 pointwise shapes):
 * 4x24 ran 3-8% above 4x16, and the 128-row reduction block lifted the
 * 256x49x256 layer from 50 to 67-70 GF/s (other shapes unchanged). */
#include <assert.h>
#include <immintrin.h>

#include "kernels/internal.h"
#include "kernels/variants.h"

#define MR ZP_CONV_MR
#define HR 4 /* rows per tile: half a panel */
/* Reduction block: a 16-pixel X slice of KC rows touches up to 2 KC cache lines
 * (rows are rarely line-aligned), which must stay in L1 beside the weights. */
#define NVM 3 /* ymm per pixel block */
#ifndef KC
#define KC 128
#endif

static inline __m256i lane_mask(int rem)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(rem), idx);
}

/* Rows k0..k1 of the reduction: the first block starts from the bias, later ones
 * from what Y holds; only the last block clamps. */
static inline __attribute__((always_inline)) void
tile(const int mr, const int nv, const int packed, int full, __m256i lastm, const float *w, int K, int k0, int k1,
     const float *x, size_t ldx, const float *bias, float *y, size_t ldy, int act, __m256 vlo, __m256 vhi)
{
    const size_t rs = packed ? 1 : (size_t)K, cs = packed ? MR : 1;
    __m256 acc[HR][NVM];
#pragma GCC unroll 4
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++) {
            float *yp = y + (size_t)i * ldy + 8 * v;
            acc[i][v] = k0 > 0 ? (v == nv - 1 && !full ? _mm256_maskload_ps(yp, lastm) : _mm256_loadu_ps(yp))
                               : _mm256_set1_ps(bias ? bias[i] : 0.f);
        }
    for (int kk = k0; kk < k1; kk++) {
        __m256 xv[NVM];
        const float *xr = x + (size_t)kk * ldx;
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++)
            xv[v] = v == nv - 1 && !full ? _mm256_maskload_ps(xr + 8 * v, lastm) : _mm256_loadu_ps(xr + 8 * v);
        const float *wk = w + (size_t)kk * cs;
#pragma GCC unroll 4
        for (int i = 0; i < mr; i++) {
            __m256 wb = _mm256_broadcast_ss(wk + (size_t)i * rs);
#pragma GCC unroll 3
            for (int v = 0; v < nv; v++)
                acc[i][v] = _mm256_fmadd_ps(wb, xv[v], acc[i][v]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++) {
            __m256 r = acc[i][v];
            if (act && k1 == K)
                r = _mm256_min_ps(_mm256_max_ps(r, vlo), vhi);
            if (v == nv - 1 && !full)
                _mm256_maskstore_ps(y + (size_t)i * ldy + 8 * v, lastm, r);
            else
                _mm256_storeu_ps(y + (size_t)i * ldy + 8 * v, r);
        }
}

#define TILE_NV(MRV, PK)                                                                                         \
    if (nv == 1)                                                                                                 \
        tile(MRV, 1, PK, full, m, wp, K, k0, k1, xp, ldx, bp, yp, ldy, act, vlo, vhi);                           \
    else if (nv == 2)                                                                                            \
        tile(MRV, 2, PK, full, m, wp, K, k0, k1, xp, ldx, bp, yp, ldy, act, vlo, vhi);                           \
    else                                                                                                         \
        tile(MRV, 3, PK, full, m, wp, K, k0, k1, xp, ldx, bp, yp, ldy, act, vlo, vhi);
#define TILE_MR(PK)                                                                                              \
    switch (mr) {                                                                                                \
    case 1: TILE_NV(1, PK) break;                                                                                \
    case 2: TILE_NV(2, PK) break;                                                                                \
    case 3: TILE_NV(3, PK) break;                                                                                \
    default: TILE_NV(4, PK) break;                                                                               \
    }

static inline float clampf(float v, int act, float lo, float hi) { return !act ? v : v < lo ? lo : v > hi ? hi : v; }

void zp_f32_gemv_panels__avx2(const struct zp_f32_conv_call *c)
{
    assert(c->n == 1 && c->w_packed);
    const int K = c->k;
    const size_t ldx = c->ldx;
    for (int p = 0; p * MR < c->m; p++) {
        const float *w = c->w + (size_t)p * K * MR;
        __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        int kk = 0;
        for (; kk + 4 <= K; kk += 4)
#pragma GCC unroll 4
            for (int u = 0; u < 4; u++)
                a[u] = _mm256_fmadd_ps(_mm256_loadu_ps(w + (size_t)(kk + u) * MR),
                                       _mm256_set1_ps(c->x[(size_t)(kk + u) * ldx]), a[u]);
        for (; kk < K; kk++)
            a[0] = _mm256_fmadd_ps(_mm256_loadu_ps(w + (size_t)kk * MR), _mm256_set1_ps(c->x[(size_t)kk * ldx]), a[0]);
        float r[MR];
        _mm256_storeu_ps(r, _mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3])));
        for (int i = 0; i < MR && p * MR + i < c->m; i++) {
            const int o = p * MR + i;
            c->y[(size_t)o * c->ldy] = clampf(r[i] + (c->bias ? c->bias[o] : 0.f), c->act, c->lo, c->hi);
        }
    }
}

void zp_f32_gemv_rows__avx2(const struct zp_f32_conv_call *c)
{
    assert(c->n == 1 && !c->w_packed && c->ldx == 1);
    const int K = c->k;
    const __m256i tail = lane_mask(K % 8);
    for (int o = 0; o < c->m; o++) {
        const float *w = c->w + (size_t)o * K;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;
        int kk = 0;
        for (; kk + 16 <= K; kk += 16) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + kk), _mm256_loadu_ps(c->x + kk), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + kk + 8), _mm256_loadu_ps(c->x + kk + 8), a1);
        }
        if (kk + 8 <= K) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + kk), _mm256_loadu_ps(c->x + kk), a0);
            kk += 8;
        }
        if (kk < K)
            a1 = _mm256_fmadd_ps(_mm256_maskload_ps(w + kk, tail), _mm256_maskload_ps(c->x + kk, tail), a1);
        __m256 s8 = _mm256_add_ps(a0, a1);
        __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
        s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
        s4 = _mm_add_ss(s4, _mm_movehdup_ps(s4));
        c->y[(size_t)o * c->ldy] = clampf(_mm_cvtss_f32(s4) + (c->bias ? c->bias[o] : 0.f), c->act, c->lo, c->hi);
    }
}

void zp_f32_conv_4x24__avx2(const struct zp_f32_conv_call *c)
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
    const __m256 vlo = _mm256_set1_ps(c->lo), vhi = _mm256_set1_ps(c->hi);
    for (int j = 0; j < c->n; j += 8 * NVM) {
        const int rem = c->n - j < 8 * NVM ? c->n - j : 8 * NVM;
        const int nv = (rem + 7) / 8, full = rem % 8 == 0;
        const __m256i m = lane_mask(rem - 8 * (nv - 1));
        const float *xp = c->x + j;
        for (int k0 = 0; k0 < K; k0 += KC) {
            const int k1 = K - k0 < KC ? K : k0 + KC;
            for (int o = 0; o < c->m; o += HR) {
                const int mr = c->m - o < HR ? c->m - o : HR;
                /* rows o..o+3: in the panel o / 8 at row o % 8, or the plain rows */
                const float *wp = c->w_packed ? c->w + (size_t)(o / MR) * K * MR + o % MR : c->w + (size_t)o * K;
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
}
