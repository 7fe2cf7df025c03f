/* Integer depthwise convolution, channel sums (global average pooling), Add and
 * the input quantization: plain references, element by element, for int-avx2.c
 * and int-avx512.c to be tested against. */
#include "kernels/int/int_variants.h"

void zp_ref_int_dw(const struct zp_idw_call *c)
{
    for (int oy = 0; oy < c->oh; oy++)
        for (int ox = 0; ox < c->ow; ox++)
            for (int ch = 0; ch < c->c; ch++)
                c->acc[((size_t)oy * c->ow + ox) * c->c + ch] = zp_int_dw_one(c, oy, ox, ch);
}

void zp_ref_int_chansum(const uint8_t *x, int x_signed, int hw, int c, int32_t *sum)
{
    for (int ch = 0; ch < c; ch++)
        sum[ch] = zp_int_chansum_one(x, x_signed, hw, c, ch);
}

void zp_ref_int_add(const struct zp_iadd_params *p, const uint8_t *a, const uint8_t *b, int is_signed,
                    int64_t n, uint8_t *out)
{
    for (int64_t i = 0; i < n; i++) {
        int32_t xa = (zp_int_code(a, is_signed, (size_t)i) - p->za) * (1 << 20);
        int32_t xb = (zp_int_code(b, is_signed, (size_t)i) - p->zb) * (1 << 20);
        int32_t s = zp_mul_by_qm(xa, p->ma, p->sa) + zp_mul_by_qm(xb, p->mb, p->sb);
        int32_t y = p->zo + zp_mul_by_qm(s, p->mo, p->so);
        y = y < p->lo ? p->lo : y > p->hi ? p->hi : y;
        out[i] = (uint8_t)y;
    }
}

void zp_ref_int_quantize(const struct zp_iquant_params *q, const float *x, int c, int64_t hw, uint8_t *out)
{
    const double inv = 1.0 / (double)q->scale;
    for (int ch = 0; ch < c; ch++)
        for (int64_t i = 0; i < hw; i++)
            out[(size_t)i * c + ch] = zp_int_quantize_one(q, inv, x[(size_t)ch * hw + i]);
}
