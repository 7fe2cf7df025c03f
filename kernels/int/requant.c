/* Integer requantization, reference: gemmlowp's fixed-point multiplier and shift
 * (QuantizeMultiplier, SaturatingRoundingDoublingHighMul, RoundingDivideByPOT,
 * as TFLite's kernels/internal/common.h has them) and the output stage that turns
 * int32 accumulators into 8-bit codes. The vector variants (int-avx2.c) must give
 * the same bytes: tests/test_int_kernels.c checks them on ragged shapes. */
#include <math.h>

#include "kernels/kernels.h"

enum zp_status zp_quantize_multiplier(double m, int32_t *mult, int *shift, struct zp_err *err)
{
    *mult = 0;
    *shift = 0;
    if (!(m >= 0) || !isfinite(m) || m >= 2147483648.0)
        return zp_err_set(err, ZP_EINVAL, "requantization multiplier %g: expected a finite value in [0, 2^31)", m);
    if (m == 0)
        return ZP_OK;
    int e;
    double q = frexp(m, &e); /* m = q 2^e, q in [0.5, 1) */
    int64_t qf = llround(q * 2147483648.0);
    if (qf == ((int64_t)1 << 31)) { /* q rounded up to 1.0 */
        qf /= 2;
        e++;
    }
    if (e < -31) { /* below what a 31-bit right shift can reach: the product is 0 */
        qf = 0;
        e = 0;
    }
    *mult = (int32_t)qf;
    *shift = e;
    return ZP_OK;
}

int32_t zp_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    /* C division truncates toward zero, as gemmlowp's does */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

int32_t zp_rdivpot(int32_t x, int exponent)
{
    int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0);
    return (x >> exponent) + (remainder > threshold);
}

int32_t zp_mul_by_qm(int32_t x, int32_t mult, int shift)
{
    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    /* the left shift wraps as gemmlowp's int32 multiply does (two's complement) */
    int32_t xl = (int32_t)((uint32_t)x << left);
    return zp_rdivpot(zp_srdhm(xl, mult), right);
}

void zp_ref_int_requant(const struct zp_rq_call *c)
{
    for (int i = 0; i < c->rows; i++) {
        const int32_t *a = c->acc + (size_t)i * c->ld_acc;
        uint8_t *o = c->out + (size_t)i * c->ld_out;
        int32_t rs = c->rowsum ? c->rowsum[i] : 0;
        for (int j = 0; j < c->n; j++) {
            /* wrapping int32 sums, as the vector variants add */
            uint32_t v = (uint32_t)a[j];
            if (c->col_add)
                v += (uint32_t)c->col_add[j];
            if (c->col_zb)
                v -= (uint32_t)c->col_zb[j] * (uint32_t)rs;
            int32_t y;
            if (c->fmult) { /* bounded before the conversion, as the vector variants do */
                float f = nearbyintf((float)(int32_t)v * c->fmult[j]);
                f = f < -1e9f ? -1e9f : f > 1e9f ? 1e9f : f;
                y = c->zp + (int32_t)f;
            } else
                y = c->zp + zp_mul_by_qm((int32_t)v, c->mult[j], c->shift[j]);
            y = y < c->lo ? c->lo : y > c->hi ? c->hi : y;
            o[j] = (uint8_t)y;
        }
    }
}

enum zp_status zp_add_params(double scale_a, double scale_b, double scale_out, struct zp_iadd_params *p,
                             struct zp_err *err)
{
    if (!(scale_a > 0) || !(scale_b > 0) || !(scale_out > 0))
        return zp_err_set(err, ZP_EINVAL, "integer Add: scales %g, %g -> %g must be positive", scale_a, scale_b,
                          scale_out);
    /* TFLite's PrepareGeneralSubOp / add.cc: left shift 20, inputs to twice the larger scale */
    double twice_max = 2.0 * (scale_a > scale_b ? scale_a : scale_b);
    double out_m = twice_max / ((double)(1 << 20) * scale_out);
    if (zp_quantize_multiplier(scale_a / twice_max, &p->ma, &p->sa, err) ||
        zp_quantize_multiplier(scale_b / twice_max, &p->mb, &p->sb, err) ||
        zp_quantize_multiplier(out_m, &p->mo, &p->so, err))
        return err->status;
    return ZP_OK;
}
