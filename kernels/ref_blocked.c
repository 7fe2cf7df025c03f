/* Golden references of the block-scaled and FP8 formats on the plain problem,
 * from the true element values (kernels/minifloat.h), not from any packed form.
 * The accumulation order is fixed and every variant follows it, so the tests
 * can ask for bit-exact results:
 *   MXINT8, MXFP4, NVFP4  c = 0; per block of K: c = fma((float) d, sa * sb, c)
 *                         with d = sum a w exact (|d| < 2^24 fits a float), sa
 *                         the activation block's scale, sb the weight block's;
 *   NF4                   c = 0; per k: c = fma(a, level x absmax, c), the
 *                         weight rounded once (float product);
 *   FP8                   s = 0; per k: s = fma(a, w, s); c = s * (sa * sb). */
#include "kernels/internal.h"

#include <math.h>

#include "kernels/minifloat.h"

static float b_scale(const struct zp_gemm_problem *p, size_t idx)
{
    switch (zp_kfmt_traits(p->fmt)->bscale) {
    case ZP_KS_E8M0: return zp_kd_e8m0(((const uint8_t *)p->b_scale)[idx]);
    case ZP_KS_E4M3: return zp_kd_e4m3(((const uint8_t *)p->b_scale)[idx]) * p->b_tensor_scale;
    default: return ((const float *)p->b_scale)[idx];
    }
}

void zp_ref_gemm_blocked(const struct zp_gemm_problem *p, float *c)
{
    const int M = p->m, N = p->n, K = p->k, bs = zp_kfmt_traits(p->fmt)->block;
    const uint8_t *b = p->b;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float acc = 0.0f;
            if (p->fmt == ZP_KF_FP8) {
                const uint8_t *a = p->a;
                for (int k = 0; k < K; k++)
                    acc = fmaf(zp_kd_e4m3(a[(size_t)i * K + k]), zp_kd_e4m3(b[(size_t)k * N + j]), acc);
                acc *= p->a_scale[i] * ((const float *)p->b_scale)[j];
            } else if (p->fmt == ZP_KF_NF4) {
                const float *a = p->a;
                for (int k = 0; k < K; k++) {
                    float w = zp_kd_nf4[b[(size_t)k * N + j] & 15] * b_scale(p, (size_t)(k / bs) * N + j);
                    acc = fmaf(a[(size_t)i * K + k], w, acc);
                }
            } else {
                const int8_t *a = p->a;
                for (int kb = 0; kb < K / bs; kb++) {
                    double d = 0; /* exact: integers or halves, |d| < 2^24 */
                    for (int k = kb * bs; k < (kb + 1) * bs; k++) {
                        uint8_t w = b[(size_t)k * N + j];
                        double wv = p->fmt == ZP_KF_MXINT8 ? (double)(int8_t)w : (double)zp_kd_e2m1[w & 15];
                        d += (double)a[(size_t)i * K + k] * wv;
                    }
                    float sa = p->a_scale[(size_t)i * (K / bs) + kb];
                    acc = fmaf((float)d, sa * b_scale(p, (size_t)kb * N + j), acc);
                }
            }
            c[(size_t)i * N + j] = acc;
        }
}
