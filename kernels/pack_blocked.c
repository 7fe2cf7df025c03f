/* Packing of the block-scaled and FP8 formats (MXINT8, MXFP4, NVFP4, NF4, FP8
 * E4M3) into the layouts of kernels/internal.h, called from kernels/pack.c.
 * Scales are decoded to float here, once: E8M0 -> 2^(e-127), E4M3 x the FP32
 * tensor scale (NVFP4). MXFP4 / NVFP4 codes become 2 x E2M1 in int8 (exact), so
 * their scales are stored halved; the int8-activation formats also get the
 * -128 x column sum of each block (A is stored as a + 128, for vpdpbusd). */
#include "kernels/internal.h"

#include <math.h>
#include <string.h>

#include "common/mem.h"
#include "kernels/minifloat.h"

static int round_up(int x, int m) { return (x + m - 1) / m * m; }

/* The float scale of block kb, column j of B (halved for the E2M1 formats). */
static enum zp_status b_scale_at(const struct zp_gemm_problem *p, const struct zp_kfmt_traits *t, int kb, int j,
                                 float *out, struct zp_err *err)
{
    size_t idx = (size_t)kb * p->n + j;
    float s;
    switch (t->bscale) {
    case ZP_KS_E8M0: {
        uint8_t c = ((const uint8_t *)p->b_scale)[idx];
        if (c == 0xff)
            return zp_err_set(err, ZP_EINVAL, "gemm: %s scale of block %d, column %d is the E8M0 NaN code 0xff",
                              t->name, kb, j);
        s = zp_kd_e8m0(c);
        break;
    }
    case ZP_KS_E4M3: {
        uint8_t c = ((const uint8_t *)p->b_scale)[idx];
        if (zp_kd_e4m3_isnan(c))
            return zp_err_set(err, ZP_EINVAL, "gemm: %s scale of block %d, column %d is an E4M3 NaN code 0x%02x",
                              t->name, kb, j, c);
        s = zp_kd_e4m3(c) * p->b_tensor_scale;
        break;
    }
    default:
        s = ((const float *)p->b_scale)[idx];
        break;
    }
    if (!isfinite(s))
        return zp_err_set(err, ZP_EINVAL, "gemm: %s scale of block %d, column %d is not finite", t->name, kb, j);
    *out = p->fmt == ZP_KF_MXFP4 || p->fmt == ZP_KF_NVFP4 ? s * 0.5f : s;
    return ZP_OK;
}

enum zp_status zp_pack_b_blocked(const struct zp_gemm_problem *p, struct zp_packed_b *out, struct zp_err *err)
{
    const struct zp_kfmt_traits *t = zp_kfmt_traits(p->fmt);
    const int K = p->k, N = p->n, bs = t->block;
    if (bs && K % bs)
        return zp_err_set(err, ZP_EINVAL, "gemm: %s K = %d is not a multiple of the format's block (%d)", t->name, K,
                          bs);
    if (!p->b_scale)
        return zp_err_set(err, ZP_EINVAL, "gemm: %s %dx%dx%d: no weight scales given", t->name, p->m, N, K);
    out->kp = p->fmt == ZP_KF_FP8 ? round_up(K, 2) : K;
    const int kp = out->kp, npan = out->np / ZP_NR, nblk = bs ? K / bs : 1, np = out->np;
    const int int_a = t->ain == ZP_AIN_S8;
    size_t pb = zp_panel_bytes(p->fmt, kp);
    out->data = zp_calloc((size_t)npan, pb);
    out->col_corr = zp_calloc((size_t)np, sizeof(int32_t));
    out->scale = zp_calloc((size_t)nblk * np, sizeof(float));
    if (int_a)
        out->blk_corr = zp_calloc((size_t)nblk * np, sizeof(int32_t));
    if (!out->data || !out->col_corr || !out->scale || (int_a && !out->blk_corr))
        return zp_err_set(err, ZP_ENOMEM, "gemm: packing %s B (%dx%d): out of memory", t->name, K, N);
    for (int j = 0; j < N; j++) {
        uint8_t *panel = (uint8_t *)out->data + (size_t)(j / ZP_NR) * pb;
        const int c = j % ZP_NR;
        for (int kb = 0; kb < nblk; kb++) {
            enum zp_status st = b_scale_at(p, t, kb, j, &out->scale[(size_t)kb * np + j], err);
            if (st)
                return st;
        }
        int64_t colsum = 0; /* of the int8 values the kernel multiplies, per block */
        for (int k = 0; k < K; k++) {
            size_t idx = (size_t)k * N + j;
            uint8_t code = ((const uint8_t *)p->b)[idx];
            int g = k / 4;
            switch (p->fmt) {
            case ZP_KF_MXINT8:
                panel[(size_t)g * 128 + c * 4 + k % 4] = code;
                colsum += (int8_t)code;
                break;
            case ZP_KF_MXFP4:
            case ZP_KF_NVFP4:
                panel[(size_t)(g / 2) * 128 + c * 4 + k % 4] |= (uint8_t)(g % 2 ? code << 4 : code);
                colsum += zp_kd_e2m1_x2[code];
                break;
            case ZP_KF_NF4:
                panel[(size_t)(k / 2) * ZP_NR + c] |= (uint8_t)(k % 2 ? code << 4 : code);
                break;
            default: /* FP8 */
                if (zp_kd_e4m3_isnan(code))
                    return zp_err_set(err, ZP_EINVAL, "gemm: fp8-e4m3 weight B[%d][%d] is a NaN code 0x%02x", k, j,
                                      code);
                panel[(size_t)k * ZP_NR + c] = code;
                break;
            }
            if (int_a && (k + 1) % bs == 0) {
                out->blk_corr[(size_t)(k / bs) * np + j] = (int32_t)(-128 * colsum);
                colsum = 0;
            }
        }
    }
    return ZP_OK;
}

enum zp_status zp_pack_a_blocked(const struct zp_gemm_problem *p, enum zp_afmt fmt, struct zp_packed_a *out,
                                 struct zp_err *err)
{
    const struct zp_kfmt_traits *t = zp_kfmt_traits(p->fmt);
    const int M = p->m, K = p->k, bs = t->block;
    if (bs && K % bs)
        return zp_err_set(err, ZP_EINVAL, "gemm: %s K = %d is not a multiple of the format's block (%d)", t->name, K,
                          bs);
    if (p->fmt == ZP_KF_NF4)
        return ZP_OK; /* F32: borrowed, set up by zp_pack_a */
    if (!p->a_scale)
        return zp_err_set(err, ZP_EINVAL, "gemm: %s %dx%dx%d: no activation scales given", t->name, M, p->n, K);
    const int nsc = p->fmt == ZP_KF_FP8 ? 1 : K / bs;
    out->scale = zp_alloc((size_t)M * nsc * sizeof(float));
    if (!out->scale)
        return zp_err_set(err, ZP_ENOMEM, "gemm: packing %s A (%dx%d): out of memory", t->name, M, K);
    for (size_t i = 0; i < (size_t)M * nsc; i++) {
        if (!isfinite(p->a_scale[i]))
            return zp_err_set(err, ZP_EINVAL, "gemm: %s activation scale %zu (row %zu) is not finite", t->name, i,
                              i / (size_t)nsc);
        out->scale[i] = p->a_scale[i];
    }
    if (p->fmt != ZP_KF_FP8)
        return ZP_OK; /* S8SHIFT bytes: zp_pack_a */
    if (fmt != ZP_AF_F32DEC && fmt != ZP_AF_BF16)
        return zp_err_set(err, ZP_EINVAL, "gemm: fp8-e4m3 activations pack as f32 or bf16, not format %d", (int)fmt);
    out->kp = fmt == ZP_AF_BF16 ? round_up(K, 2) : K;
    const int kp = out->kp;
    /* + 64 bytes: vector loads of the last row's tail stay in bounds */
    out->data = zp_calloc((size_t)M * kp * (fmt == ZP_AF_BF16 ? 2 : 4) + 64, 1);
    if (!out->data)
        return zp_err_set(err, ZP_ENOMEM, "gemm: packing %s A (%dx%d): out of memory", t->name, M, K);
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) {
            uint8_t code = ((const uint8_t *)p->a)[(size_t)i * K + k];
            if (zp_kd_e4m3_isnan(code))
                return zp_err_set(err, ZP_EINVAL, "gemm: fp8-e4m3 activation A[%d][%d] is a NaN code 0x%02x", i, k,
                                  code);
            float v = zp_kd_e4m3(code);
            if (fmt == ZP_AF_F32DEC) {
                ((float *)out->data)[(size_t)i * kp + k] = v;
            } else { /* bf16 = the upper half of the float: exact, E4M3 has 3 mantissa bits */
                uint32_t bits;
                memcpy(&bits, &v, 4);
                ((uint16_t *)out->data)[(size_t)i * kp + k] = (uint16_t)(bits >> 16);
            }
        }
    return ZP_OK;
}
