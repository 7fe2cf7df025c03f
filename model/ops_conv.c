/* Convolution of one image (NCHW), three paths, all through the kernels/ float
 * runtime kernels (kernels/kernels.h; the variant is chosen per call by
 * zp_rt_select, so the ISA limit applies as it does to every kernel):
 *  - depthwise (one input channel per group): each channel is copied into a padded
 *    plane, then the dwplane kernel for 3x3 (dilation 1, stride-2 columns at most);
 *    other windows run the direct loop here;
 *  - pointwise 1x1, stride 1, no padding: one conv GEMM per group on the input as is;
 *  - anything else: im2col (padding reads e->pad) then one conv GEMM per group.
 * The GEMM reads the layer's weights as panels packed at first use and cached on
 * the graph (zp_layer_panels); weights a hook replaced are read as plain rows.
 * Nothing here is threaded: the executor runs images on separate threads. */
#include <stdlib.h>
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
        return (q.H + n->pads[0] + n->pads[2]) * (q.W + n->pads[1] + n->pads[3]) + ZP_DWPLANE_SLACK;
    if (is_pointwise(n))
        return 0;
    return q.K * band_rows(&q) * q.OW;
}

/* The CPU question goes to kernels/cpu.c through the kernels' own dispatch, so
 * the ISA limit (ZP_ISA_LIMIT, zp_cpu_set_limit) caps the runtime as it caps the
 * kernels: the level reported is that of the conv GEMM variant that runs. */
int zp_model_isa(void)
{
    return (int)zp_rt_select(ZP_RK_CONV, -1)->isa;
}

int zp_model_avx512(void)
{
    return zp_model_isa() >= ZP_ISA_AVX512BW;
}

/* ---- weight panels, packed once per layer ------------------------------------------ */

/* One layer's panels, one zp_f32_wpack per group. */
struct zp_layer_panels {
    int groups;
    struct zp_f32_wpack p[];
};

static void panels_free(struct zp_layer_panels *lp)
{
    if (!lp)
        return;
    for (int i = 0; i < lp->groups; i++)
        zp_f32_wpack_free(&lp->p[i]);
    free(lp);
}

static struct zp_layer_panels *panels_make(const float *w, int64_t groups, int64_t Og, int64_t K)
{
    struct zp_layer_panels *lp = calloc(1, sizeof *lp + (size_t)groups * sizeof lp->p[0]);
    if (!lp)
        return NULL;
    lp->groups = (int)groups;
    for (int64_t gi = 0; gi < groups; gi++)
        if (zp_f32_wpack_make(w + gi * Og * K, (int)Og, (int)K, &lp->p[gi], NULL)) {
            panels_free(lp);
            return NULL;
        }
    return lp;
}

/* The cache is logically mutable state of a graph the kernels see as const (like
 * a C++ `mutable` member): slots are filled at first use with compare-and-swap,
 * so threads running the same layer at once agree on one copy (a thread that
 * loses the race frees its own). It packs only the graph's own weights, which
 * are read-only after loading; code that edits g->layer_w in place must call
 * zp_layer_panels_forget first. Out of memory is no error: the GEMM then reads
 * the plain rows. */
const struct zp_f32_wpack *zp_layer_panels(const struct zp_graph *g, const struct zp_node *n, const float *w,
                                           int64_t gi, int64_t groups, int64_t Og, int64_t K)
{
    const int l = n->layer;
    if (l < 0 || w != g->layer_w[l] || Og > INT32_MAX || K > INT32_MAX)
        return NULL;
    struct zp_graph *gm = (struct zp_graph *)g;
    struct zp_layer_panels **slots = __atomic_load_n(&gm->panels, __ATOMIC_ACQUIRE);
    if (!slots) {
        struct zp_layer_panels **fresh = calloc((size_t)g->n_layers, sizeof *fresh);
        if (!fresh)
            return NULL;
        slots = NULL;
        if (__atomic_compare_exchange_n(&gm->panels, &slots, fresh, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            slots = fresh;
        else
            free(fresh);
    }
    struct zp_layer_panels *lp = __atomic_load_n(&slots[l], __ATOMIC_ACQUIRE);
    if (!lp) {
        struct zp_layer_panels *mine = panels_make(w, groups, Og, K);
        if (!mine)
            return NULL;
        if (__atomic_compare_exchange_n(&slots[l], &lp, mine, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            lp = mine;
        else
            panels_free(mine);
    }
    return &lp->p[gi];
}

void zp_layer_panels_forget(struct zp_graph *g, int layer)
{
    if (g->panels && layer >= 0 && layer < g->n_layers) {
        panels_free(g->panels[layer]);
        g->panels[layer] = NULL;
    }
}

void zp_layer_panels_free(struct zp_graph *g)
{
    for (int l = 0; g->panels && l < g->n_layers; l++)
        panels_free(g->panels[l]);
    free(g->panels);
    g->panels = NULL;
}

/* ---- the three paths ----------------------------------------------------------------- */

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
 * (what the hooks say real 0.0 decodes to), then convolved without bounds checks:
 * 3x3 windows by the dwplane kernel, others by dw_plane above. */
static void depthwise(const struct zp_node *n, const struct geom *q, const float *x, float *y,
                      const struct zp_exec *e)
{
    int64_t pt = n->pads[0], pl = n->pads[1];
    int64_t Hp = q->H + pt + n->pads[2], Wp = q->W + pl + n->pads[3];
    const struct zp_rt_ukernel *uk =
        n->kh == 3 && n->kw == 3 && n->dh == 1 && n->dw == 1 && (n->sw == 1 || n->sw == 2)
            ? zp_rt_select(ZP_RK_DWPLANE, -1)
            : NULL;
    float *restrict p = e->scratch;
    const float pad = e->pad;
    const int64_t np = Hp * Wp + ZP_DWPLANE_SLACK;
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
        if (uk) {
            struct zp_f32_dwplane_call dc = {
                .in = p, .ldin = (size_t)Wp, .oh = (int)q->OH, .ow = (int)q->OW, .sh = (int)n->sh,
                .sw = (int)n->sw, .w = w, .bias = b, .out = y + c * q->P, .act = e->act, .lo = e->lo,
                .hi = e->hi};
            zp_rt_dwplane(uk, &dc);
        } else {
            dw_plane(n, p, Wp, w, b, y + c * q->P, q->OH, q->OW, e);
        }
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
    const struct zp_rt_ukernel *s2 = sw == 2 ? zp_rt_select(ZP_RK_COPY_S2, -1) : NULL;
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
                /* rows oy in [ya, yb) read input rows inside the plane */
                const int64_t off = ky * n->dh - n->pads[0];
                int64_t ya = off >= 0 ? 0 : (-off + n->sh - 1) / n->sh;
                int64_t yb = off >= q->H ? 0 : (q->H - off + n->sh - 1) / n->sh;
                ya = ya < oy0 ? oy0 : ya > oy1 ? oy1 : ya;
                yb = yb > oy1 ? oy1 : yb < ya ? ya : yb;
                for (int64_t oy = oy0; oy < oy1; oy++) {
                    float *d = dst + oy * q->OW;
                    if (oy < ya || oy >= yb) {
                        for (int64_t ox = 0; ox < q->OW; ox++)
                            d[ox] = pad;
                        continue;
                    }
                    const float *src = plane + (oy * n->sh + off) * q->W + x0;
                    for (int64_t ox = 0; ox < lo; ox++)
                        d[ox] = pad;
                    if (sw == 1)
                        memcpy(d + lo, src + lo, (size_t)(hi - lo) * sizeof(float));
                    else if (!s2)
                        for (int64_t ox = lo; ox < hi; ox++)
                            d[ox] = src[ox * sw];
                    for (int64_t ox = hi; ox < q->OW; ox++)
                        d[ox] = pad;
                }
                /* stride 2: the in-bounds runs of all rows in one counted call */
                if (sw == 2 && s2 && yb > ya && hi > lo)
                    zp_rt_copy_s2_rows(s2, dst + ya * q->OW + lo, (size_t)q->OW,
                                       plane + (ya * n->sh + off) * q->W + x0 + 2 * lo, (size_t)(n->sh * q->W),
                                       hi - lo, yb - ya);
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

void zp_op_conv(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y,
                const struct zp_exec *e)
{
    struct geom q = geometry(g, n);
    if (is_depthwise(n, &q)) {
        depthwise(n, &q, x, y, e);
        return;
    }
    const struct zp_rt_ukernel *uk = zp_rt_select(ZP_RK_CONV, -1);
    const int pw = is_pointwise(n);
    const int64_t rows = pw ? q.OH : band_rows(&q);
    for (int64_t gi = 0; gi < n->group; gi++) {
        const struct zp_f32_wpack *wp = zp_layer_panels(g, n, e->w, gi, n->group, q.Og, q.K);
        const float *xg = x + gi * q.Cg * q.H * q.W;
        struct zp_f32_conv_call c = {
            .m = (int)q.Og, .k = (int)q.K, .w = wp ? wp->data : e->w + gi * q.Og * q.K, .w_packed = wp != NULL,
            .bias = e->b ? e->b + gi * q.Og : NULL, .ldy = (size_t)q.P, .act = e->act, .lo = e->lo, .hi = e->hi};
        float *yg = y + gi * q.Og * q.P;
        for (int64_t oy0 = 0; oy0 < q.OH; oy0 += rows) {
            int64_t oy1 = oy0 + rows < q.OH ? oy0 + rows : q.OH, Pb = (oy1 - oy0) * q.OW;
            c.x = xg; /* pointwise: the input is the column matrix */
            if (!pw) {
                im2col(n, &q, xg, e->scratch, e->pad, oy0, oy1);
                c.x = e->scratch;
            }
            c.n = (int)Pb;
            c.ldx = (size_t)Pb;
            c.y = yg + oy0 * q.OW;
            zp_rt_conv(uk, &c);
        }
    }
}
