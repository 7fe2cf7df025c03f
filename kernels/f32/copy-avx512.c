/* dst[i] = src[2 i] on AVX-512 (kernels/kernels.h, kind copy_s2: the im2col row
 * gather of stride-2 convolutions): even lanes of two loads, one vpermt2ps. The
 * vector loop stops while both loads stay at or below src[2 n - 2], the last
 * element the caller vouches for; the rest is scalar. */
#include <assert.h>
#include <immintrin.h>

#include "kernels/variants.h"

void zp_f32_copy_s2_16__avx512(float *dst, const float *src, int64_t n)
{
    assert(dst && src && n >= 0);
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    int64_t i = 0;
    for (; i + 16 < n; i += 16) {
        __m512 a = _mm512_loadu_ps(src + 2 * i), b = _mm512_loadu_ps(src + 2 * i + 16);
        _mm512_storeu_ps(dst + i, _mm512_permutex2var_ps(a, even, b));
    }
    for (; i < n; i++)
        dst[i] = src[2 * i];
}
