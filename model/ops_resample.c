/* ZP_OP_RESAMPLE of one image (Pad, Resize): every output element combines
 * the input elements its per-axis taps select (model/graph_internal.h, struct
 * zp_resample), and the backward sends each output gradient back along the
 * same taps with the same weights: one walk, shared by both directions. */
#include <stdlib.h>
#include <string.h>

#include "model/graph_internal.h"

struct zp_resample *zp_resample_new(int nd, const int64_t *out_dims, const int *ntap)
{
    size_t taps = 0;
    for (int d = 0; d < nd; d++)
        taps += (size_t)(out_dims[d] * ntap[d]);
    const size_t head = (sizeof(struct zp_resample) + 15) & ~(size_t)15;
    struct zp_resample *r = calloc(1, head + taps * (sizeof(int64_t) + sizeof(float)));
    if (!r)
        return NULL;
    r->nd = nd;
    int64_t *s = (int64_t *)((char *)r + head);
    float *w = (float *)(s + taps);
    for (int d = 0; d < nd; d++) {
        r->out_dims[d] = out_dims[d];
        r->ntap[d] = ntap[d];
        r->src[d] = s;
        r->w[d] = w;
        s += out_dims[d] * ntap[d];
        w += out_dims[d] * ntap[d];
    }
    return r;
}

/* Calls visit(ctx, i, off, w) for every tap combination of output element i
 * (off the input offset, w the weight product), or visit(ctx, i, -1, 1) when
 * an axis selects the constant. */
typedef void visit_fn(void *ctx, int64_t i, int64_t off, float w);

static void walk(const struct zp_resample *r, int64_t total, visit_fn *visit, void *ctx)
{
    int64_t idx[ZP_MAXDIM] = {0};
    int two[ZP_MAXDIM], n2 = 0;
    for (int d = 0; d < r->nd; d++)
        if (r->ntap[d] == 2)
            two[n2++] = d;
    for (int64_t i = 0; i < total; i++) {
        for (int c = 0; c < (1 << n2); c++) {
            int64_t off = 0;
            float w = 1.f;
            int cst = 0;
            for (int d = 0, b = 0; d < r->nd; d++) {
                int t = 0;
                if (b < n2 && two[b] == d)
                    t = (c >> b++) & 1;
                const int64_t k = idx[d] * r->ntap[d] + t, s = r->src[d][k];
                cst |= s < 0;
                off += s;
                w *= r->w[d][k];
            }
            if (cst) {
                visit(ctx, i, -1, 1.f);
                break; /* one tap per axis when there is a constant (Pad) */
            }
            visit(ctx, i, off, w);
        }
        for (int d = r->nd - 1; d >= 0; d--) {
            if (++idx[d] < r->out_dims[d])
                break;
            idx[d] = 0;
        }
    }
}

struct fwd { const float *x; float *y; float value; };

static void fwd_visit(void *ctx, int64_t i, int64_t off, float w)
{
    struct fwd *f = ctx;
    f->y[i] += off < 0 ? f->value : w * f->x[off];
}

void zp_op_resample(const struct zp_node *n, const float *x, float *y)
{
    int64_t total = 1;
    for (int d = 0; d < n->rs->nd; d++)
        total *= n->rs->out_dims[d];
    memset(y, 0, (size_t)total * sizeof *y);
    struct fwd f = {x, y, n->rs->value};
    walk(n->rs, total, fwd_visit, &f);
}

struct bwd { const float *dy; float *dx; };

static void bwd_visit(void *ctx, int64_t i, int64_t off, float w)
{
    struct bwd *b = ctx;
    if (off >= 0)
        b->dx[off] += w * b->dy[i];
}

void zp_resample_back(const struct zp_node *n, const float *dy, float *dx)
{
    int64_t total = 1;
    for (int d = 0; d < n->rs->nd; d++)
        total *= n->rs->out_dims[d];
    struct bwd b = {dy, dx};
    walk(n->rs, total, bwd_visit, &b);
}
