/* The runtime's depthwise 3x3 on one padded NCHW plane, AVX-512 (kernels/kernels.h,
 * kind dwplane). 16 outputs of a row stay in one zmm through all 9 taps (a
 * portable loop re-reads and re-writes the row for every tap); bias and the
 * fused clamp are applied before the single masked store. Loads are full
 * vectors: past the row end they read the caller's slack (ZP_DWPLANE_SLACK),
 * and those lanes are never stored. Stride 2 takes the even / odd lanes of two
 * loads with one vpermt2ps each. */
#include <assert.h>
#include <immintrin.h>

#include "kernels/variants.h"

static inline __mmask16 tail_mask(int rem) { return rem >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << rem) - 1u); }

void zp_f32_dwplane3x3_16__avx512(const struct zp_f32_dwplane_call *c)
{
    assert(c && c->in && c->w && c->out && c->oh >= 1 && c->ow >= 1 && c->sh >= 1 && (c->sw == 1 || c->sw == 2));
    __m512 k[9];
    for (int i = 0; i < 9; i++)
        k[i] = _mm512_set1_ps(c->w[i]);
    const __m512 vb = _mm512_set1_ps(c->bias), vlo = _mm512_set1_ps(c->lo), vhi = _mm512_set1_ps(c->hi);
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const size_t ld = c->ldin;
    const int OW = c->ow, sw = c->sw, act = c->act;
    for (int oy = 0; oy < c->oh; oy++) {
        const float *r0 = c->in + (size_t)oy * c->sh * ld;
        float *out = c->out + (size_t)oy * OW;
        for (int ox = 0; ox < OW; ox += 16) {
            __m512 acc = vb;
            for (int ky = 0; ky < 3; ky++) {
                const float *r = r0 + ky * ld;
                if (sw == 1) {
                    const float *s = r + ox;
                    acc = _mm512_fmadd_ps(k[3 * ky], _mm512_loadu_ps(s), acc);
                    acc = _mm512_fmadd_ps(k[3 * ky + 1], _mm512_loadu_ps(s + 1), acc);
                    acc = _mm512_fmadd_ps(k[3 * ky + 2], _mm512_loadu_ps(s + 2), acc);
                } else {
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
