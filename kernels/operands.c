/* Random plain GEMM operands of any format (tests, bench): see kernels.h. */
#include "kernels/kernels.h"

#include <math.h>
#include <string.h>

#include "common/mem.h"
#include "common/rng.h"
#include "kernels/minifloat.h"

void zp_gemm_operands_free(struct zp_gemm_operands *o)
{
    if (!o)
        return;
    zp_free(o->a);
    zp_free(o->b);
    zp_free(o->a_scale);
    zp_free(o->b_scale);
    memset(o, 0, sizeof *o);
}

/* A random E4M3 code that is not NaN. */
static uint8_t e4m3_code(struct zp_rng *r)
{
    uint8_t c;
    do
        c = (uint8_t)zp_rng_below(r, 256);
    while (zp_kd_e4m3_isnan(c));
    return c;
}

enum zp_status zp_gemm_operands_random(struct zp_gemm_problem *p, struct zp_gemm_operands *o, uint64_t seed,
                                       struct zp_err *err)
{
    memset(o, 0, sizeof *o);
    const struct zp_kfmt_traits *t = zp_kfmt_traits(p->fmt);
    if (!t || p->m < 1 || p->n < 1 || p->k < 1)
        return zp_err_set(err, ZP_EINVAL, "gemm operands: format %d, shape %dx%dx%d: expected a format and M, N, K >= 1",
                          (int)p->fmt, p->m, p->n, p->k);
    if (t->block && p->k % t->block)
        return zp_err_set(err, ZP_EINVAL, "gemm operands: %s K = %d is not a multiple of the block (%d)", t->name, p->k,
                          t->block);
    struct zp_rng r;
    zp_rng_seed(&r, seed);
    const size_t M = (size_t)p->m, N = (size_t)p->n, K = (size_t)p->k;
    const int fa = t->ain == ZP_AIN_F32, fb = t->pack == ZP_KP_F32 || t->pack == ZP_KP_BITS;
    const size_t nblk = t->block ? K / (size_t)t->block : 1;
    const size_t nsa = p->fmt == ZP_KF_FP8 ? M : t->block && !fa ? M * nblk : 0;
    const size_t nsb = p->fmt == ZP_KF_FP8 ? N : t->block ? nblk * N : 0;
    const size_t bsz = t->bscale == ZP_KS_F32 ? 4 : 1;
    o->a = zp_alloc(M * K * (fa ? 4 : 1));
    o->b = zp_alloc(K * N * (fb ? 4 : 1));
    o->a_scale = nsa ? zp_alloc(nsa * sizeof(float)) : NULL;
    o->b_scale = nsb ? zp_alloc(nsb * bsz) : NULL;
    if (!o->a || !o->b || (nsa && !o->a_scale) || (nsb && !o->b_scale)) {
        zp_gemm_operands_free(o);
        return zp_err_set(err, ZP_ENOMEM, "gemm operands: %s %dx%dx%d: out of memory", t->name, p->m, p->n, p->k);
    }
    for (size_t i = 0; i < M * K; i++) {
        if (fa)
            ((float *)o->a)[i] = (float)(2 * zp_rng_uniform(&r) - 1);
        else if (t->ain == ZP_AIN_E4M3)
            ((uint8_t *)o->a)[i] = e4m3_code(&r);
        else
            ((uint8_t *)o->a)[i] = (uint8_t)zp_rng_below(&r, 256); /* u8 or s8: every byte */
    }
    for (size_t i = 0; i < K * N; i++) {
        if (fb)
            ((float *)o->b)[i] = (float)(2 * zp_rng_uniform(&r) - 1);
        else if (p->fmt == ZP_KF_FP8)
            ((uint8_t *)o->b)[i] = e4m3_code(&r);
        else
            ((int8_t *)o->b)[i] =
                (int8_t)(t->code_min + (int)zp_rng_below(&r, (uint64_t)(t->code_max - t->code_min + 1)));
    }
    for (size_t i = 0; i < nsa; i++) /* 2^-8 .. 2^0 times 1..2: normal floats, products stay normal */
        o->a_scale[i] = ldexpf(1.0f + (float)zp_rng_uniform(&r), -(int)zp_rng_below(&r, 9));
    for (size_t i = 0; i < nsb; i++) {
        switch (t->bscale) {
        case ZP_KS_E8M0: ((uint8_t *)o->b_scale)[i] = (uint8_t)(120 + zp_rng_below(&r, 15)); break;
        case ZP_KS_E4M3: ((uint8_t *)o->b_scale)[i] = (uint8_t)(0x30 + zp_rng_below(&r, 0x77 - 0x30)); break;
        default: ((float *)o->b_scale)[i] = (float)(0.5 + 1.5 * zp_rng_uniform(&r)); break;
        }
    }
    for (int i = 0; i < 16; i++)
        o->codebook[i] = (int8_t)(-128 + (int)zp_rng_below(&r, 256));
    p->a = o->a;
    p->b = o->b;
    p->a_scale = o->a_scale;
    p->b_scale = o->b_scale;
    p->b_tensor_scale = 1.0f / 64;
    p->za = (int32_t)zp_rng_below(&r, 256);
    p->zb = (int32_t)zp_rng_below(&r, 256);
    p->codebook = o->codebook;
    return ZP_OK;
}
