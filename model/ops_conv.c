/* Convolution of one image (NCHW), three paths:
 *  - depthwise (one input channel per group): direct loops over a padded plane,
 *    written so that gcc vectorizes the row loop;
 *  - pointwise 1x1, stride 1, no padding: one sgemm per group on the input as is;
 *  - anything else: im2col (padding reads e->pad) then one sgemm per group.
 * sgemm is OpenBLAS, single-threaded: the executor runs images on separate threads. */
#include <cblas.h>
#include <string.h>

#include "kernels/kernels.h"
#include "model/graph_internal.h"

struct geom {
    int64_t C, H, W, O, OH, OW, Cg, Og, K, P;
};

static struct geom geometry(const struct zp_graph *g, const struct zp_node *n)
{
    const struct zp_tensor *X = &g->tensors[n->in[0]], *Y = &g->tensors[n->out];
    struct geom q;
    q.C = X->dims[1]; q.H = X->dims[2]; q.W = X->dims[3];
    q.O = Y->dims[1]; q.OH = Y->dims[2]; q.OW = Y->dims[3];
    q.Cg = q.C / n->group;
    q.Og = q.O / n->group;
    q.K = q.Cg * n->kh * n->kw;
    q.P = q.OH * q.OW;
    return q;
}

static int is_depthwise(const struct zp_node *n, const struct geom *q)
{
    return q->Cg == 1 && q->Og == 1;
}

static int is_pointwise(const struct zp_node *n)
{
    return n->kh == 1 && n->kw == 1 && n->sh == 1 && n->sw == 1 &&
           !(n->pads[0] | n->pads[1] | n->pads[2] | n->pads[3]);
}

/* im2col runs over bands of output rows whose columns fit in L2 (64 KiB), so
 * the GEMM reads them back from cache instead of memory. */
static int64_t band_rows(const struct geom *q)
{
    int64_t rows = (16384 + q->K * q->OW - 1) / (q->K * q->OW);
    return rows < 1 ? 1 : rows > q->OH ? q->OH : rows;
}

int64_t zp_op_conv_scratch(const struct zp_graph *g, const struct zp_node *n)
{
    struct geom q = geometry(g, n);
    if (is_depthwise(n, &q))
        return (q.H + n->pads[0] + n->pads[2]) * (q.W + n->pads[1] + n->pads[3]) + ZP_DW_SLACK;
    if (is_pointwise(n))
        return 0;
    return q.K * band_rows(&q) * q.OW;
}

int zp_model_portable_only;

/* The CPU question goes to kernels/cpu.c, the tree's one feature source, so the
 * ISA limit (ZP_ISA_LIMIT, zp_cpu_set_limit) caps the runtime as it caps the
 * kernels. ops_conv-avx512.c is built with the avx512 flags of mk/isa.mk
 * (F/BW/DQ/VL), which is the ZP_ISA_AVX512BW level. */
int zp_model_avx512(void)
{
    return zp_cpu_has(ZP_ISA_AVX512BW) && !zp_model_portable_only;
}

int zp_model_isa(void)
{
    return zp_model_avx512() ? ZP_ISA_AVX512BW : ZP_ISA_REF;
}

/* One output plane of a depthwise conv from a padded input plane p (Wp wide):
 * the taps accumulate in a register per output, bias first. */
static void dw_plane(const struct zp_node *n, const float *p, int64_t Wp, const float *w,
                     float bias, float *restrict row0, int64_t OH, int64_t OW,
                     const struct zp_exec *e)
{
    const int64_t kh = n->kh, kw = n->kw, sw = n->sw, dh = n->dh, dw = n->dw;
    const int act = e->act;
    const float lo = e->lo, hi = e->hi;
    for (int64_t oy = 0; oy < OH; oy++) {
        const float *base = p + oy * n->sh * Wp;
        float *restrict row = row0 + oy * OW;
ZP_SIMD
        for (int64_t ox = 0; ox < OW; ox++) {
            float acc = bias;
            for (int64_t ky = 0; ky < kh; ky++)
                for (int64_t kx = 0; kx < kw; kx++)
                    acc += w[ky * kw + kx] * base[ky * dh * Wp + ox * sw + kx * dw];
            if (act) {
                acc = acc < lo ? lo : acc;
                acc = acc > hi ? hi : acc;
            }
            row[ox] = acc;
        }
    }
}

/* Depthwise: each channel is copied into a padded plane filled with the pad value
 * (what the hooks say real 0.0 decodes to), then convolved without bounds checks. */
static void depthwise(const struct zp_node *n, const struct geom *q, const float *x, float *y,
                      const struct zp_exec *e)
{
    int64_t pt = n->pads[0], pl = n->pads[1];
    int64_t Hp = q->H + pt + n->pads[2], Wp = q->W + pl + n->pads[3];
    int fast = zp_model_avx512() && n->kh == 3 && n->kw == 3 && n->dh == 1 && n->dw == 1 &&
               (n->sw == 1 || n->sw == 2);
    float *restrict p = e->scratch;
    const float pad = e->pad;
    const int64_t np = Hp * Wp + ZP_DW_SLACK;
    ZP_SIMD
    for (int64_t i = 0; i < np; i++)
        p[i] = pad;
    for (int64_t c = 0; c < q->C; c++) {
        /* the border keeps the pad value from the fill above; only the interior changes */
        for (int64_t iy = 0; iy < q->H; iy++)
            memcpy(p + (iy + pt) * Wp + pl, x + (c * q->H + iy) * q->W,
                   (size_t)q->W * sizeof(float));
        const float *w = e->w + c * n->kh * n->kw;
        float b = e->b ? e->b[c] : 0.f;
        if (fast)
            zp_dw3x3_avx512(p, Wp, w, b, y + c * q->P, q->OH, q->OW, n->sh, n->sw, e->act, e->lo,
                            e->hi);
        else
            dw_plane(n, p, Wp, w, b, y + c * q->P, q->OH, q->OW, e);
    }
}

/* col[(c*kh + ky)*kw + kx][(oy - oy0)*OW + ox] = x[c][oy*sh + ky*dh - pt][ox*sw + kx*dw - pl],
 * the pad value outside the input. The in-bounds run of ox is computed once per
 * row so the inner copy has no branch. */
static void im2col(const struct zp_node *n, const struct geom *q, const float *x, float *col,
                   float pad, int64_t oy0, int64_t oy1)
{
    const int64_t Pb = (oy1 - oy0) * q->OW; /* pixels in this band */
    const int64_t sw = n->sw;
    const int simd2 = sw == 2 && zp_model_avx512();
    for (int64_t c = 0; c < q->Cg; c++)
        for (int64_t ky = 0; ky < n->kh; ky++)
            for (int64_t kx = 0; kx < n->kw; kx++) {
                float *dst = col + ((c * n->kh + ky) * n->kw + kx) * Pb - oy0 * q->OW;
                const float *plane = x + c * q->H * q->W;
                int64_t x0 = kx * n->dw - n->pads[1];
                /* ox in [lo, hi) reads inside the row: 0 <= x0 + ox*sw < W */
                int64_t lo = x0 >= 0 ? 0 : (-x0 + sw - 1) / sw;
                int64_t hi = x0 >= q->W ? 0 : (q->W - x0 + sw - 1) / sw;
                if (hi > q->OW)
                    hi = q->OW;
                if (lo > hi)
                    lo = hi;
                for (int64_t oy = oy0; oy < oy1; oy++) {
                    int64_t iy = oy * n->sh + ky * n->dh - n->pads[0];
                    float *d = dst + oy * q->OW;
                    if (iy < 0 || iy >= q->H) {
                        for (int64_t ox = 0; ox < q->OW; ox++)
                            d[ox] = pad;
                        continue;
                    }
                    const float *src = plane + iy * q->W + x0;
                    for (int64_t ox = 0; ox < lo; ox++)
                        d[ox] = pad;
                    if (sw == 1)
                        memcpy(d + lo, src + lo, (size_t)(hi - lo) * sizeof(float));
                    else if (simd2)
                        zp_copy_stride2_avx512(d + lo, src + 2 * lo, hi - lo);
                    else
                        for (int64_t ox = lo; ox < hi; ox++)
                            d[ox] = src[ox * sw];
                    for (int64_t ox = hi; ox < q->OW; ox++)
                        d[ox] = pad;
                }
            }
}

void zp_clamp(float *restrict y, int64_t n, float lo, float hi)
{
ZP_SIMD
    for (int64_t i = 0; i < n; i++) {
        float v = y[i];
        v = v < lo ? lo : v;
        y[i] = v > hi ? hi : v;
    }
}

/* bias per channel, then the fused activation (portable GEMM path; the AVX-512
 * GEMM and both depthwise kernels apply them themselves) */
static void epilogue(float *y, int64_t O, int64_t P, const struct zp_exec *e)
{
    if (!e->b && !e->act)
        return;
    for (int64_t o = 0; o < O; o++) {
        float *restrict r = y + o * P;
        const float bv = e->b ? e->b[o] : 0.f;
ZP_SIMD
        for (int64_t i = 0; i < P; i++)
            r[i] += bv;
        if (e->act)
            zp_clamp(r, P, e->lo, e->hi);
    }
}

void zp_op_conv(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y,
                const struct zp_exec *e)
{
    struct geom q = geometry(g, n);
    if (is_depthwise(n, &q)) {
        depthwise(n, &q, x, y, e);
        return;
    }
    const int pw = is_pointwise(n), simd = zp_model_avx512();
    const int64_t rows = pw ? q.OH : band_rows(&q);
    for (int64_t gi = 0; gi < n->group; gi++) {
        const float *xg = x + gi * q.Cg * q.H * q.W, *wg = e->w + gi * q.Og * q.K;
        const float *bg = e->b ? e->b + gi * q.Og : NULL;
        float *yg = y + gi * q.Og * q.P;
        for (int64_t oy0 = 0; oy0 < q.OH; oy0 += rows) {
            int64_t oy1 = oy0 + rows < q.OH ? oy0 + rows : q.OH, Pb = (oy1 - oy0) * q.OW;
            const float *col = xg; /* pointwise: the input is the column matrix */
            if (!pw) {
                im2col(n, &q, xg, e->scratch, e->pad, oy0, oy1);
                col = e->scratch;
            }
            if (simd) /* bias and activation fused in */
                zp_pw_avx512(wg, col, Pb, bg, yg + oy0 * q.OW, q.P, q.Og, q.K, Pb, e->act, e->lo,
                             e->hi);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)q.Og, (int)Pb, (int)q.K,
                            1.f, wg, (int)q.K, col, (int)Pb, 0.f, yg + oy0 * q.OW, (int)q.P);
        }
    }
    if (!zp_model_avx512())
        epilogue(y, q.O, q.P, e);
}
