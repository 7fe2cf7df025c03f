/* dst[i] = src[2 i] on AVX2 (kernels/kernels.h, kind copy_s2): the even lanes of
 * two loads (vshufps within 128-bit lanes, vpermpd to order the halves). The
 * vector loop stops while both loads stay at or below src[2 n - 2], the last
 * element the caller vouches for; the rest is scalar. */
#include <assert.h>
#include <immintrin.h>

#include "kernels/variants.h"

void zp_f32_copy_s2_8__avx2(float *dst, const float *src, int64_t n)
{
    assert(dst && src && n >= 0);
    int64_t i = 0;
    for (; i + 8 < n; i += 8) {
        __m256 a = _mm256_loadu_ps(src + 2 * i), b = _mm256_loadu_ps(src + 2 * i + 8);
        __m256 s = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
        _mm256_storeu_ps(dst + i, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), _MM_SHUFFLE(3, 1, 2, 0))));
    }
    for (; i < n; i++)
        dst[i] = src[2 * i];
}
