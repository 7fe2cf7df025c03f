/* Packing of weights (once) and activations (per call site) into the layouts of
 * kernels/internal.h, with the zero-point and shift corrections precomputed
 * (gemmlowp: row sums of A and column sums of B are taken while packing). */
#include "kernels/internal.h"

#include <math.h>
#include <string.h>

#include "common/mem.h"

static int round_up(int x, int m) { return (x + m - 1) / m * m; }

void zp_packed_a_free(struct zp_packed_a *a)
{
    if (!a)
        return;
    zp_free(a->data);
    zp_free(a->sign);
    zp_free(a->rowsum);
    zp_free(a->alpha);
    zp_free(a->scale);
    memset(a, 0, sizeof *a);
}

void zp_packed_b_free(struct zp_packed_b *b)
{
    if (!b)
        return;
    zp_free(b->data);
    zp_free(b->col_corr);
    zp_free(b->alpha);
    zp_free(b->scale);
    zp_free(b->blk_corr);
    memset(b, 0, sizeof *b);
}

static enum zp_status check_problem(const struct zp_gemm_problem *p, struct zp_err *err)
{
    if (p->m < 1 || p->n < 1 || p->k < 1)
        return zp_err_set(err, ZP_EINVAL, "gemm: shape %dx%dx%d: expected M, N, K >= 1", p->m, p->n, p->k);
    if (p->fmt < 0 || p->fmt >= ZP_KF_COUNT)
        return zp_err_set(err, ZP_EINVAL, "gemm: unknown format %d", (int)p->fmt);
    if (p->fmt == ZP_KF_LUT4 && !p->codebook)
        return zp_err_set(err, ZP_EINVAL, "gemm: lut4 needs a 16-entry codebook");
    return ZP_OK;
}

/* Codes narrower than a byte would be cut silently by the nibble packing, so they
 * must lie in the format's code range. (Byte codes are stored as given: a -128
 * in s8-narrow is packed as is, and tests show what the int16 paths make of it.) */
static enum zp_status check_codes(const struct zp_gemm_problem *p, struct zp_err *err)
{
    const struct zp_kfmt_traits *t = zp_kfmt_traits(p->fmt);
    if (t->pack == ZP_KP_F32 || t->pack == ZP_KP_BITS || t->code_bits >= 8)
        return ZP_OK;
    for (size_t i = 0; i < (size_t)p->k * p->n; i++) {
        int v = t->code_min < 0 ? ((const int8_t *)p->b)[i] : ((const uint8_t *)p->b)[i];
        if (v < t->code_min || v > t->code_max)
            return zp_err_set(err, ZP_EINVAL, "gemm: %s weight B[%zu][%zu] = %d outside the format's codes [%d, %d]",
                              t->name, i / (size_t)p->n, i % (size_t)p->n, v, t->code_min, t->code_max);
    }
    return ZP_OK;
}

enum zp_status zp_pack_b(const struct zp_gemm_problem *p, struct zp_packed_b *out, struct zp_err *err)
{
    memset(out, 0, sizeof *out);
    if (check_problem(p, err))
        return err ? err->status : ZP_EINVAL;
    if (!p->b)
        return zp_err_set(err, ZP_EINVAL, "gemm: packing B of %s %dx%dx%d: no weights given", zp_kfmt_name(p->fmt),
                          p->m, p->n, p->k);
    if (check_codes(p, err))
        return err ? err->status : ZP_EINVAL;
    const int K = p->k, N = p->n;
    out->fmt = p->fmt;
    out->k = K;
    out->n = N;
    out->np = round_up(N, ZP_NR);
    if (zp_kfmt_traits(p->fmt)->bscale != ZP_KS_NONE) {
        enum zp_status st = zp_pack_b_blocked(p, out, err);
        if (st)
            zp_packed_b_free(out);
        return st;
    }
    out->kp = p->fmt == ZP_KF_F32 ? K : p->fmt == ZP_KF_BIN ? (K + 63) / 64 : round_up(K, ZP_KPAD);
    const int kp = out->kp, npan = out->np / ZP_NR;
    size_t pb = zp_panel_bytes(p->fmt, kp);
    out->data = zp_calloc((size_t)npan, pb);
    out->col_corr = zp_calloc((size_t)out->np, sizeof(int32_t));
    if (p->fmt == ZP_KF_BIN)
        out->alpha = zp_calloc((size_t)out->np, sizeof(float));
    if (!out->data || !out->col_corr || (p->fmt == ZP_KF_BIN && !out->alpha)) {
        zp_packed_b_free(out);
        return zp_err_set(err, ZP_ENOMEM, "gemm: packing B (%dx%d): out of memory", K, N);
    }
    if (p->fmt == ZP_KF_LUT4)
        memcpy(out->codebook, p->codebook, 16);

    for (int j = 0; j < N; j++) {
        uint8_t *panel = (uint8_t *)out->data + (size_t)(j / ZP_NR) * pb;
        int c = j % ZP_NR;
        int64_t colsum = 0; /* of the values the kernel multiplies */
        double asum = 0;
        for (int k = 0; k < K; k++) {
            size_t idx = (size_t)k * N + j;
            switch (p->fmt) {
            case ZP_KF_F32:
                ((float *)panel)[(size_t)k * ZP_NR + c] = ((const float *)p->b)[idx];
                break;
            case ZP_KF_U8: {
                uint8_t v = ((const uint8_t *)p->b)[idx];
                panel[(size_t)(k / 4) * 128 + c * 4 + k % 4] = (uint8_t)(v ^ 0x80); /* v - 128 */
                colsum += v;
                break;
            }
            case ZP_KF_S8:
            case ZP_KF_S8N: {
                int8_t v = ((const int8_t *)p->b)[idx];
                panel[(size_t)(k / 4) * 128 + c * 4 + k % 4] = (uint8_t)v;
                colsum += v;
                break;
            }
            case ZP_KF_Q4:
            case ZP_KF_LUT4: {
                uint8_t nib = p->fmt == ZP_KF_Q4 ? (uint8_t)((((const int8_t *)p->b)[idx] + 8) & 15)
                                                 : (uint8_t)(((const uint8_t *)p->b)[idx] & 15);
                int g = k / 4;
                uint8_t *byte = &panel[(size_t)(g / 2) * 128 + c * 4 + k % 4];
                *byte |= (uint8_t)(g % 2 ? nib << 4 : nib);
                colsum += p->fmt == ZP_KF_Q4 ? nib : p->codebook[nib];
                break;
            }
            case ZP_KF_BIN: {
                float v = ((const float *)p->b)[idx];
                asum += fabs((double)v);
                if (v < 0.0f)
                    ((uint64_t *)panel)[(size_t)(k / 64) * ZP_NR + c] |= 1ull << (k % 64);
                break;
            }
            default: break;
            }
        }
        switch (p->fmt) {
        case ZP_KF_U8:
            /* sum (a-za)(b-zb) = sum a(b-128) + (128-zb) sum a - za sum b + K za zb */
            out->col_corr[j] = (int32_t)(-(int64_t)p->za * colsum + (int64_t)K * p->za * p->zb);
            break;
        case ZP_KF_S8:
        case ZP_KF_S8N:
        case ZP_KF_LUT4:
        case ZP_KF_Q4:
            /* A is stored as a + 128: remove 128 * column sum */
            out->col_corr[j] = (int32_t)(-128 * colsum);
            break;
        case ZP_KF_BIN:
            out->alpha[j] = (float)(asum / K);
            break;
        default: break;
        }
    }
    /* Q4 stores w + 8: sum a w = sum a u - 8 sum a. */
    out->row_mult = p->fmt == ZP_KF_U8 ? 128 - p->zb : p->fmt == ZP_KF_Q4 ? -8 : 0;
    return ZP_OK;
}

enum zp_status zp_pack_a(const struct zp_gemm_problem *p, enum zp_afmt fmt, struct zp_packed_a *out,
                         struct zp_err *err)
{
    memset(out, 0, sizeof *out);
    if (check_problem(p, err))
        return err ? err->status : ZP_EINVAL;
    if (!p->a)
        return zp_err_set(err, ZP_EINVAL, "gemm: packing A of %s %dx%dx%d: no activations given",
                          zp_kfmt_name(p->fmt), p->m, p->n, p->k);
    const int M = p->m, K = p->k;
    out->fmt = fmt;
    out->m = M;
    out->k = K;
    if (zp_kfmt_traits(p->fmt)->bscale != ZP_KS_NONE) { /* scales (and FP8's decoded rows) */
        enum zp_status st = zp_pack_a_blocked(p, fmt, out, err);
        if (st || p->fmt == ZP_KF_FP8) {
            if (st)
                zp_packed_a_free(out);
            return st;
        }
    }
    if (fmt == ZP_AF_F32) {
        out->f32 = p->a;
        out->lda = (size_t)K;
        out->kp = K;
        return ZP_OK;
    }
    out->kp = fmt == ZP_AF_BITS ? (K + 63) / 64 : round_up(K, ZP_KPAD);
    const int kp = out->kp;
    size_t esz = fmt == ZP_AF_BITS ? sizeof(uint64_t) : 1;
    /* + 64 bytes: vector loads of the last row's tail groups stay in bounds */
    out->data = zp_calloc((size_t)M * kp * esz + 64, 1);
    out->rowsum = zp_calloc((size_t)M, sizeof(int32_t));
    if (fmt == ZP_AF_S8SIGN)
        out->sign = zp_calloc((size_t)M * kp + 64, 1);
    if (fmt == ZP_AF_BITS)
        out->alpha = zp_calloc((size_t)M, sizeof(float));
    if (!out->data || !out->rowsum || (fmt == ZP_AF_S8SIGN && !out->sign) || (fmt == ZP_AF_BITS && !out->alpha)) {
        zp_packed_a_free(out);
        return zp_err_set(err, ZP_ENOMEM, "gemm: packing A (%dx%d): out of memory", M, K);
    }
    for (int i = 0; i < M; i++) {
        int64_t s = 0;
        double asum = 0;
        for (int k = 0; k < K; k++) {
            size_t idx = (size_t)i * K + k, o = (size_t)i * kp + k;
            switch (fmt) {
            case ZP_AF_U8: {
                uint8_t v = ((const uint8_t *)p->a)[idx];
                ((uint8_t *)out->data)[o] = v;
                s += v;
                break;
            }
            case ZP_AF_S8SHIFT: {
                int8_t v = ((const int8_t *)p->a)[idx];
                ((uint8_t *)out->data)[o] = (uint8_t)(v + 128);
                s += v;
                break;
            }
            case ZP_AF_S8SIGN: {
                int8_t v = ((const int8_t *)p->a)[idx];
                ((uint8_t *)out->data)[o] = (uint8_t)(v < 0 ? -v : v); /* |-128| = 128 fits u8 */
                out->sign[o] = v;
                s += v;
                break;
            }
            case ZP_AF_BITS: {
                float v = ((const float *)p->a)[idx];
                asum += fabs((double)v);
                if (v < 0.0f)
                    ((uint64_t *)out->data)[(size_t)i * kp + k / 64] |= 1ull << (k % 64);
                break;
            }
            default: break;
            }
        }
        out->rowsum[i] = (int32_t)s;
        if (fmt == ZP_AF_BITS)
            out->alpha[i] = (float)(asum / K);
    }
    return ZP_OK;
}
