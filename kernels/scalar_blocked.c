/* Portable variants (isa "ref") of the block-scaled and FP8 formats on their
 * packed layouts, in the accumulation order of kernels/ref_blocked.c (so they
 * are bit-exact with it). Not tuned. */
#include "kernels/variants.h"

#include <assert.h>
#include <math.h>

#include "kernels/internal.h"
#include "kernels/minifloat.h"

#define CHECK_BLOCK() assert(0 <= i0 && i0 < i1 && i1 <= call->a->m && k0 == 0 && k1 == call->b->k)

/* int8 value of weight (k, j) of a packed MXINT8 / MXFP4 / NVFP4 B. */
static int32_t packed_w8(const struct zp_packed_b *b, int k, int j)
{
    const uint8_t *panel = (const uint8_t *)b->data + (size_t)(j / ZP_NR) * zp_panel_bytes(b->fmt, b->kp);
    int c = j % ZP_NR, g = k / 4;
    if (b->fmt == ZP_KF_MXINT8)
        return (int8_t)panel[(size_t)g * 128 + c * 4 + k % 4];
    uint8_t byte = panel[(size_t)(g / 2) * 128 + c * 4 + k % 4];
    return zp_kd_e2m1_x2[g % 2 ? byte >> 4 : byte & 15];
}

void zp_mx_gemm_scalar(const struct zp_gemm_call *call, int i0, int i1, int k0, int k1)
{
    CHECK_BLOCK();
    const struct zp_packed_a *a = call->a;
    const struct zp_packed_b *b = call->b;
    const int N = b->n, bs = zp_kfmt_traits(b->fmt)->block, nblk = b->k / bs;
    float *c = call->c;
    for (int i = i0; i < i1; i++)
        for (int j = 0; j < N; j++) {
            const uint8_t *row = (const uint8_t *)a->data + (size_t)i * a->kp;
            float acc = 0.0f;
            for (int kb = 0; kb < nblk; kb++) {
                int32_t d = b->blk_corr[(size_t)kb * b->np + j];
                for (int k = kb * bs; k < (kb + 1) * bs; k++)
                    d += (int32_t)row[k] * packed_w8(b, k, j);
                acc = fmaf((float)d, a->scale[(size_t)i * nblk + kb] * b->scale[(size_t)kb * b->np + j], acc);
            }
            c[(size_t)i * call->ldc + j] = acc;
        }
}

void zp_nf4_gemm_scalar(const struct zp_gemm_call *call, int i0, int i1, int k0, int k1)
{
    CHECK_BLOCK();
    const struct zp_packed_a *a = call->a;
    const struct zp_packed_b *b = call->b;
    const int N = b->n, bs = zp_kfmt_traits(b->fmt)->block, nblk = b->k / bs;
    const size_t pb = zp_panel_bytes(b->fmt, b->kp);
    float *c = call->c;
    for (int i = i0; i < i1; i++)
        for (int j = 0; j < N; j++) {
            const uint8_t *panel = (const uint8_t *)b->data + (size_t)(j / ZP_NR) * pb;
            const float *row = a->f32 + (size_t)i * a->lda;
            float acc = 0.0f;
            for (int kb = 0; kb < nblk; kb++)
                for (int k = kb * bs; k < (kb + 1) * bs; k++) {
                    uint8_t byte = panel[(size_t)(k / 2) * ZP_NR + j % ZP_NR];
                    float w = zp_kd_nf4[k % 2 ? byte >> 4 : byte & 15] * b->scale[(size_t)kb * b->np + j];
                    acc = fmaf(row[k], w, acc);
                }
            c[(size_t)i * call->ldc + j] = acc;
        }
}

void zp_fp8_gemm_scalar(const struct zp_gemm_call *call, int i0, int i1, int k0, int k1)
{
    CHECK_BLOCK();
    const struct zp_packed_a *a = call->a;
    const struct zp_packed_b *b = call->b;
    const int N = b->n, K = b->k;
    const size_t pb = zp_panel_bytes(b->fmt, b->kp);
    float *c = call->c;
    for (int i = i0; i < i1; i++)
        for (int j = 0; j < N; j++) {
            const uint8_t *panel = (const uint8_t *)b->data + (size_t)(j / ZP_NR) * pb;
            const float *row = (const float *)a->data + (size_t)i * a->kp;
            float acc = 0.0f;
            for (int k = 0; k < K; k++)
                acc = fmaf(row[k], zp_kd_e4m3(panel[(size_t)k * ZP_NR + j % ZP_NR]), acc);
            c[(size_t)i * call->ldc + j] = acc * (a->scale[i] * b->scale[j]);
        }
}
