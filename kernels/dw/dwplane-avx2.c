/* The runtime's depthwise 3x3 on one padded NCHW plane, AVX2 + FMA (kernels/kernels.h,
 * kind dwplane): the AVX-512 variant's scheme on ymm. The 9 taps stay broadcast
 * in registers; each step computes 16 outputs of a row in two independent
 * accumulators (one chain of 9 dependent FMAs alone would leave the FMA units
 * idle for its latency), then a masked 8-wide step for the rest. Loads are full
 * vectors into the caller's slack (ZP_DWPLANE_SLACK); lanes past the row are
 * never stored. Stride 2 splits two loads into even and odd lanes (vshufps within
 * 128-bit lanes, then vpermpd to put the halves in order). */
#include <assert.h>
#include <immintrin.h>

#include "kernels/variants.h"

static inline __m256 even_lanes(__m256 a, __m256 b)
{
    __m256 s = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), _MM_SHUFFLE(3, 1, 2, 0)));
}

static inline __m256 odd_lanes(__m256 a, __m256 b)
{
    __m256 s = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* 8 outputs starting at column ox of the row whose windows start at r0. */
static inline __attribute__((always_inline)) __m256 out8(const float *r0, size_t ld, int ox, int sw, const __m256 *k,
                                                         __m256 acc)
{
    for (int ky = 0; ky < 3; ky++) {
        const float *r = r0 + ky * ld;
        if (sw == 1) {
            const float *s = r + ox;
            acc = _mm256_fmadd_ps(k[3 * ky], _mm256_loadu_ps(s), acc);
            acc = _mm256_fmadd_ps(k[3 * ky + 1], _mm256_loadu_ps(s + 1), acc);
            acc = _mm256_fmadd_ps(k[3 * ky + 2], _mm256_loadu_ps(s + 2), acc);
        } else {
            const float *s = r + 2 * ox;
            __m256 a = _mm256_loadu_ps(s), b = _mm256_loadu_ps(s + 8);
            __m256 a2 = _mm256_loadu_ps(s + 2), b2 = _mm256_loadu_ps(s + 10);
            acc = _mm256_fmadd_ps(k[3 * ky], even_lanes(a, b), acc);
            acc = _mm256_fmadd_ps(k[3 * ky + 1], odd_lanes(a, b), acc);
            acc = _mm256_fmadd_ps(k[3 * ky + 2], even_lanes(a2, b2), acc);
        }
    }
    return acc;
}

static inline __m256i lane_mask(int rem)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline __attribute__((always_inline)) void plane(const struct zp_f32_dwplane_call *c, const int sw)
{
    __m256 k[9];
    for (int i = 0; i < 9; i++)
        k[i] = _mm256_set1_ps(c->w[i]);
    const __m256 vb = _mm256_set1_ps(c->bias), vlo = _mm256_set1_ps(c->lo), vhi = _mm256_set1_ps(c->hi);
    const size_t ld = c->ldin;
    const int OW = c->ow, act = c->act;
    for (int oy = 0; oy < c->oh; oy++) {
        const float *r0 = c->in + (size_t)oy * c->sh * ld;
        float *out = c->out + (size_t)oy * OW;
        int ox = 0;
        for (; ox + 16 <= OW; ox += 16) {
            __m256 a0 = out8(r0, ld, ox, sw, k, vb), a1 = out8(r0, ld, ox + 8, sw, k, vb);
            if (act) {
                a0 = _mm256_min_ps(_mm256_max_ps(a0, vlo), vhi);
                a1 = _mm256_min_ps(_mm256_max_ps(a1, vlo), vhi);
            }
            _mm256_storeu_ps(out + ox, a0);
            _mm256_storeu_ps(out + ox + 8, a1);
        }
        for (; ox < OW; ox += 8) {
            __m256 a0 = out8(r0, ld, ox, sw, k, vb);
            if (act)
                a0 = _mm256_min_ps(_mm256_max_ps(a0, vlo), vhi);
            if (OW - ox >= 8)
                _mm256_storeu_ps(out + ox, a0);
            else
                _mm256_maskstore_ps(out + ox, lane_mask(OW - ox), a0);
        }
    }
}

void zp_f32_dwplane3x3_16__avx2(const struct zp_f32_dwplane_call *c)
{
    assert(c && c->in && c->w && c->out && c->oh >= 1 && c->ow >= 1 && c->sh >= 1 && (c->sw == 1 || c->sw == 2));
    if (c->sw == 1)
        plane(c, 1);
    else
        plane(c, 2);
}
