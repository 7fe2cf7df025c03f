/* Portable variants (isa "ref") on the packed layouts: what dispatch falls back to
 * on any CPU, and a check that packing plus corrections are right independently of
 * any SIMD code. Not tuned. */
#include "kernels/variants.h"

#include <assert.h>

#include "kernels/internal.h"

/* Every block function: a valid row block, all of K (kc 0 in kernels/variants.inc). */
#define CHECK_BLOCK() assert(0 <= i0 && i0 < i1 && i1 <= call->a->m && k0 == 0 && k1 == call->b->k)

void zp_f32_gemm_scalar(const struct zp_gemm_call *call, int i0, int i1, int k0, int k1)
{
    CHECK_BLOCK();
    const struct zp_packed_a *a = call->a;
    const struct zp_packed_b *b = call->b;
    float *c = call->c;
    const int N = b->n, K = b->k;
    for (int i = i0; i < i1; i++)
        for (int j = 0; j < N; j++) {
            const float *panel = (const float *)b->data + (size_t)(j / ZP_NR) * K * ZP_NR;
            float s = 0;
            for (int k = 0; k < K; k++)
                s += a->f32[(size_t)i * a->lda + k] * panel[(size_t)k * ZP_NR + j % ZP_NR];
            c[(size_t)i * call->ldc + j] = s;
        }
}

/* Weight value the integer kernels multiply, from the packed B. */
static int32_t packed_w(const struct zp_packed_b *b, int k, int j)
{
    const uint8_t *panel = (const uint8_t *)b->data + (size_t)(j / ZP_NR) * zp_panel_bytes(b->fmt, b->kp);
    int c = j % ZP_NR, g = k / 4;
    if (b->fmt == ZP_KF_Q4 || b->fmt == ZP_KF_LUT4) {
        uint8_t byte = panel[(size_t)(g / 2) * 128 + c * 4 + k % 4];
        int nib = g % 2 ? byte >> 4 : byte & 15;
        return b->fmt == ZP_KF_Q4 ? nib : b->codebook[nib];
    }
    return (int8_t)panel[(size_t)g * 128 + c * 4 + k % 4];
}

void zp_int_gemm_scalar(const struct zp_gemm_call *call, int i0, int i1, int k0, int k1)
{
    CHECK_BLOCK();
    const struct zp_packed_a *a = call->a;
    const struct zp_packed_b *b = call->b;
    int32_t *c = call->c;
    const int N = b->n;
    for (int i = i0; i < i1; i++)
        for (int j = 0; j < N; j++) {
            const uint8_t *row = (const uint8_t *)a->data + (size_t)i * a->kp;
            int32_t s = 0;
            for (int k = 0; k < a->kp; k++)
                s += (int32_t)row[k] * packed_w(b, k, j);
            c[(size_t)i * call->ldc + j] = zp_out_i32(s, a, b, i, j);
        }
}

void zp_bin_gemm_scalar(const struct zp_gemm_call *call, int i0, int i1, int k0, int k1)
{
    CHECK_BLOCK();
    const struct zp_packed_a *a = call->a;
    const struct zp_packed_b *b = call->b;
    float *c = call->c;
    const int N = b->n, kw = b->kp;
    for (int i = i0; i < i1; i++)
        for (int j = 0; j < N; j++) {
            const uint64_t *row = (const uint64_t *)a->data + (size_t)i * kw;
            const uint64_t *panel = (const uint64_t *)b->data + (size_t)(j / ZP_NR) * kw * ZP_NR;
            int pop = 0;
            for (int w = 0; w < kw; w++)
                pop += __builtin_popcountll(row[w] ^ panel[(size_t)w * ZP_NR + j % ZP_NR]);
            c[(size_t)i * call->ldc + j] = a->alpha[i] * b->alpha[j] * (float)(b->k - 2 * pop);
        }
}

void zp_dw3x3_scalar(const struct zp_dw_problem *p)
{
    assert(p && p->in && p->weight && p->out && (p->stride == 1 || p->stride == 2));
    zp_ref_dw3x3(p);
}
