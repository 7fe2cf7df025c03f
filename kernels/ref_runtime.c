/* The float runtime's kernels in plain C: the references the tests hold every
 * variant to (double accumulation), and the portable variants (isa "ref") that
 * dispatch falls back to, written so gcc vectorizes their pixel loops. */
#include "kernels/variants.h"

#include <assert.h>
#include <math.h>

#include "common/round.h"

#if defined(__clang__)
#define SIMD_LOOP
#else
#define SIMD_LOOP _Pragma("omp simd")
#endif

/* W[i][kk] of a conv call, plain rows or panels. */
static inline float w_at(const struct zp_f32_conv_call *c, int i, int kk)
{
    if (c->w_packed)
        return c->w[((size_t)(i / ZP_CONV_MR) * c->k + kk) * ZP_CONV_MR + i % ZP_CONV_MR];
    return c->w[(size_t)i * c->k + kk];
}

static inline float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

static void check_conv(const struct zp_f32_conv_call *c)
{
    assert(c && c->w && c->x && c->y && c->m >= 1 && c->n >= 1 && c->k >= 1);
    assert(c->ldx >= (size_t)c->n && c->ldy >= (size_t)c->n);
}

void zp_ref_f32_conv(const struct zp_f32_conv_call *c)
{
    check_conv(c);
    for (int i = 0; i < c->m; i++)
        for (int j = 0; j < c->n; j++) {
            double s = c->bias ? c->bias[i] : 0.0;
            for (int kk = 0; kk < c->k; kk++)
                s += (double)w_at(c, i, kk) * c->x[(size_t)kk * c->ldx + j];
            float v = (float)s;
            c->y[(size_t)i * c->ldy + j] = c->act ? clampf(v, c->lo, c->hi) : v;
        }
}

void zp_f32_conv_scalar(const struct zp_f32_conv_call *c)
{
    check_conv(c);
    const int n = c->n;
    const float lo = c->lo, hi = c->hi;
    for (int i = 0; i < c->m; i++) {
        float *restrict y = c->y + (size_t)i * c->ldy;
        const float b = c->bias ? c->bias[i] : 0.f;
        SIMD_LOOP
        for (int j = 0; j < n; j++)
            y[j] = b;
        for (int kk = 0; kk < c->k; kk++) {
            const float w = w_at(c, i, kk);
            const float *restrict x = c->x + (size_t)kk * c->ldx;
            SIMD_LOOP
            for (int j = 0; j < n; j++)
                y[j] += w * x[j];
        }
        if (c->act) {
            SIMD_LOOP
            for (int j = 0; j < n; j++)
                y[j] = clampf(y[j], lo, hi);
        }
    }
}

static void check_dwplane(const struct zp_f32_dwplane_call *c)
{
    assert(c && c->in && c->w && c->out && c->oh >= 1 && c->ow >= 1 && c->sh >= 1 &&
           (c->sw == 1 || c->sw == 2) && c->ldin >= (size_t)((c->ow - 1) * c->sw + 3));
}

void zp_ref_f32_dwplane(const struct zp_f32_dwplane_call *c)
{
    check_dwplane(c);
    for (int oy = 0; oy < c->oh; oy++)
        for (int ox = 0; ox < c->ow; ox++) {
            double s = c->bias;
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++)
                    s += (double)c->w[ky * 3 + kx] * c->in[(size_t)(oy * c->sh + ky) * c->ldin + ox * c->sw + kx];
            float v = (float)s;
            c->out[(size_t)oy * c->ow + ox] = c->act ? clampf(v, c->lo, c->hi) : v;
        }
}

void zp_f32_dwplane3x3_scalar(const struct zp_f32_dwplane_call *c)
{
    check_dwplane(c);
    const int ow = c->ow, sw = c->sw;
    const float lo = c->lo, hi = c->hi, *w = c->w;
    for (int oy = 0; oy < c->oh; oy++) {
        const float *base = c->in + (size_t)oy * c->sh * c->ldin;
        float *restrict row = c->out + (size_t)oy * ow;
        SIMD_LOOP
        for (int ox = 0; ox < ow; ox++) {
            float acc = c->bias;
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++)
                    acc += w[ky * 3 + kx] * base[(size_t)ky * c->ldin + ox * sw + kx];
            row[ox] = c->act ? clampf(acc, lo, hi) : acc;
        }
    }
}

void zp_f32_copy_s2_scalar(float *dst, const float *src, int64_t n)
{
    assert(dst && src && n >= 0);
    for (int64_t i = 0; i < n; i++)
        dst[i] = src[2 * i];
}

float zp_f32_fakequant_one(const struct zp_f32_fakequant_call *c, float x)
{
    const double z = c->zero_point, lo = c->qmin, hi = c->qmax;
    double xd = (double)x - c->offset;
    double q = zp_round_quot(xd * (1.0 / c->scale), xd, c->scale) + z;
    q = q < lo ? lo : q > hi ? hi : q;
    return (float)(c->offset + c->scale * (q - z));
}

int zp_fakequant_float_window(const struct zp_f32_fakequant_call *c, float *win)
{
    double a = fabs((double)c->qmin - c->zero_point), b = fabs((double)c->qmax - c->zero_point);
    double r = (a > b ? a : b) + 1.0;
    if (c->offset != 0.0 || r > 0x1p16 || (double)(float)c->scale != c->scale)
        return 0;
    *win = (float)(r * 0x1p-21);
    return 1;
}

void zp_f32_fakequant_scalar(const struct zp_f32_fakequant_call *c)
{
    assert(c->scale > 0 && c->qmin <= c->qmax);
    for (size_t i = 0; i < c->n; i++)
        c->y[i] = zp_f32_fakequant_one(c, c->x[i]);
}
