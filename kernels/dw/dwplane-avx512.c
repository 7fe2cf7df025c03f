/* The runtime's depthwise 3x3 on one padded NCHW plane, AVX-512 (kernels/kernels.h,
 * kind dwplane). 16 outputs of a row stay in one zmm through all 9 taps (a
 * portable loop re-reads and re-writes the row for every tap); bias and the
 * fused clamp are applied before the single masked store. Two output rows are
 * computed together: their accumulators are independent chains (one chain of 9
 * dependent FMAs alone leaves the FMA unit idle for its latency), and the input
 * rows they share (two at stride 1, one at stride 2) are loaded once. Loads are
 * full vectors: past the row end they read the caller's slack
 * (ZP_DWPLANE_SLACK), and those lanes are never stored. Stride 2 takes the even /
 * odd lanes of two loads with one vpermt2ps each; stride 1 and 2 are separate
 * instances so the inner loop has no branch on the stride. */
#include <assert.h>
#include <immintrin.h>

#include "kernels/variants.h"

static inline __mmask16 tail_mask(int rem) { return rem >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << rem) - 1u); }

/* The three taps of kernel row ky on input row r for 16 outputs from column ox. */
static inline __attribute__((always_inline)) __m512 taps(const int sw, const float *r, int ox, const __m512 *k,
                                                         __m512 acc)
{
    if (sw == 1) {
        const float *s = r + ox;
        acc = _mm512_fmadd_ps(k[0], _mm512_loadu_ps(s), acc);
        acc = _mm512_fmadd_ps(k[1], _mm512_loadu_ps(s + 1), acc);
        return _mm512_fmadd_ps(k[2], _mm512_loadu_ps(s + 2), acc);
    }
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const float *s = r + 2 * ox;
    __m512 a = _mm512_loadu_ps(s), b = _mm512_loadu_ps(s + 16);
    __m512 a2 = _mm512_loadu_ps(s + 2), b2 = _mm512_loadu_ps(s + 18);
    acc = _mm512_fmadd_ps(k[0], _mm512_permutex2var_ps(a, even, b), acc);
    acc = _mm512_fmadd_ps(k[1], _mm512_permutex2var_ps(a, odd, b), acc);
    return _mm512_fmadd_ps(k[2], _mm512_permutex2var_ps(a2, even, b2), acc);
}

static inline __attribute__((always_inline)) void plane(const struct zp_f32_dwplane_call *c, const int sw)
{
    __m512 k[9];
    for (int i = 0; i < 9; i++)
        k[i] = _mm512_set1_ps(c->w[i]);
    const __m512 vb = _mm512_set1_ps(c->bias), vlo = _mm512_set1_ps(c->lo), vhi = _mm512_set1_ps(c->hi);
    const size_t ld = c->ldin, step = (size_t)c->sh * ld;
    const int OW = c->ow, act = c->act;
    int oy = 0;
    for (; oy + 2 <= c->oh; oy += 2) {
        const float *r0 = c->in + (size_t)oy * step, *q0 = r0 + step; /* first input row of each output row */
        float *out = c->out + (size_t)oy * OW;
        for (int ox = 0; ox < OW; ox += 16) {
            __m512 a = vb, b = vb;
            for (int ky = 0; ky < 3; ky++) {
                a = taps(sw, r0 + ky * ld, ox, k + 3 * ky, a);
                b = taps(sw, q0 + ky * ld, ox, k + 3 * ky, b);
            }
            if (act) {
                a = _mm512_min_ps(_mm512_max_ps(a, vlo), vhi);
                b = _mm512_min_ps(_mm512_max_ps(b, vlo), vhi);
            }
            const __mmask16 m = tail_mask(OW - ox);
            _mm512_mask_storeu_ps(out + ox, m, a);
            _mm512_mask_storeu_ps(out + OW + ox, m, b);
        }
    }
    if (oy < c->oh) { /* the last row of an odd height */
        const float *r0 = c->in + (size_t)oy * step;
        float *out = c->out + (size_t)oy * OW;
        for (int ox = 0; ox < OW; ox += 16) {
            __m512 a = vb;
            for (int ky = 0; ky < 3; ky++)
                a = taps(sw, r0 + ky * ld, ox, k + 3 * ky, a);
            if (act)
                a = _mm512_min_ps(_mm512_max_ps(a, vlo), vhi);
            _mm512_mask_storeu_ps(out + ox, tail_mask(OW - ox), a);
        }
    }
}

void zp_f32_dwplane3x3_16__avx512(const struct zp_f32_dwplane_call *c)
{
    assert(c && c->in && c->w && c->out && c->oh >= 1 && c->ow >= 1 && c->sh >= 1 && (c->sw == 1 || c->sw == 2));
    if (c->sw == 1)
        plane(c, 1);
    else
        plane(c, 2);
}
