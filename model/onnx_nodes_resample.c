/* ONNX import of Pad and Resize as ZP_OP_RESAMPLE (model/ops_resample.c): the
 * index arithmetic of each mode becomes per-axis taps, worked out here once at
 * load, so the kernel and its backward know no modes at all. The batch axis is
 * never padded or resized. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/onnx_load_internal.h"

/* The index of STRING attribute `name` in choices (NULL-terminated); absent:
 * dflt. An unknown value is an error naming it. */
static enum zp_status str_choice(struct nctx *c, const char *name, const char *const *choices,
                                 int dflt, int *out)
{
    const Onnx__AttributeProto *a = ol_attr(c, name);
    *out = dflt;
    if (!a || !a->has_s)
        return ZP_OK;
    for (int i = 0; choices[i]; i++)
        if (ol_attr_str_is(c, name, choices[i], ""))
            return (*out = i, ZP_OK);
    return NERR(c, ZP_EUNSUPPORTED, "%s '%.*s' not supported", name,
                (int)(a->s.len > 40 ? 40 : a->s.len), (const char *)a->s.data);
}

/* Per-image row-major strides of X's axes 1..nd-1 into st[0..nd-2]. */
static void in_strides(const struct zp_tensor *X, int64_t *st)
{
    int64_t s = 1;
    for (int k = X->ndim - 1; k >= 1; k--) {
        st[k - 1] = s;
        s *= X->dims[k];
    }
}

static enum zp_status resample_out(struct nctx *c, struct zp_node *n, int x, const int64_t *od,
                                   const int *ntap)
{
    const struct zp_tensor *X = ol_T(c, x);
    int64_t dims[ZP_MAXDIM];
    dims[0] = 1;
    memcpy(dims + 1, od, (size_t)(X->ndim - 1) * sizeof *dims);
    enum zp_status st = ol_add_output(c, n, X->ndim, dims);
    if (st)
        return st;
    n->op = ZP_OP_RESAMPLE;
    n->in[0] = x;
    n->n_in = 1;
    if (!(n->rs = zp_resample_new(X->ndim - 1, od, ntap)))
        return NERR(c, ZP_ENOMEM, "out of memory");
    return ZP_OK;
}

/* ---- Pad ---------------------------------------------------------------------- */

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

/* The input index output position j - (pad before) reads along an axis of n. */
static int64_t pad_src(int mode, int64_t j, int64_t n)
{
    switch (mode) {
    case PAD_CONSTANT: return j >= 0 && j < n ? j : -1;
    case PAD_EDGE: return j < 0 ? 0 : j >= n ? n - 1 : j;
    case PAD_WRAP: return ((j % n) + n) % n;
    default: /* reflect about the end elements (not repeating them) */
        if (n == 1)
            return 0;
        j = j % (2 * (n - 1));
        j = j < 0 ? -j : j;
        return j < n ? j : 2 * (n - 1) - j;
    }
}

enum zp_status ol_pad_node(struct nctx *c, struct zp_node *n, int arg)
{
    (void)arg;
    static const char *const an[] = {"mode", "pads", "value", NULL};
    static const int at[] = {AS, AIS, AF};
    static const char *const modes[] = {"constant", "reflect", "edge", "wrap", NULL};
    enum zp_status st;
    int x, mode;
    if ((st = ol_need_inputs(c, 1, 4)) || (st = ol_check_attrs(c, an, at)) ||
        (st = ol_input_at(c, 0, &x)) || (st = ol_need_act(c, x, "data", 2, ZP_MAXDIM)) ||
        (st = str_choice(c, "mode", modes, PAD_CONSTANT, &mode)))
        return st;
    const struct zp_tensor *X = ol_T(c, x);
    const int nd = X->ndim;
    int64_t pads[2 * ZP_MAXDIM] = {0}, axes[ZP_MAXDIM];
    int na = nd, np_given = 0, t;
    float value = 0.f;
    for (int k = 0; k < nd; k++)
        axes[k] = k;
    if (c->L->g->opset < 11) {
        const Onnx__AttributeProto *a = ol_attr(c, "pads");
        if (!a || a->n_ints != (size_t)(2 * nd))
            return NERR(c, ZP_EFORMAT, "attribute pads needs %d values", 2 * nd);
        memcpy(pads, a->ints, a->n_ints * sizeof *pads);
        value = ol_attr_f(c, "value", 0.f);
        np_given = 2 * nd;
    } else {
        if (c->np->n_attribute > (size_t)(ol_attr(c, "mode") != NULL))
            return NERR(c, ZP_EFORMAT, "pads / value are inputs from opset 11 on");
        if ((st = ol_input_at(c, 1, &t)) || (st = ol_need_const(c, t, "pads", 0)))
            return st;
        np_given = (int)ol_T(c, t)->size;
        if (np_given > 2 * ZP_MAXDIM || np_given % 2)
            return NERR(c, ZP_EFORMAT, "pads '%s' has %d values", ol_T(c, t)->name, np_given);
        memcpy(pads, ol_T(c, t)->idata, (size_t)np_given * sizeof *pads);
        if ((st = ol_input_at(c, 2, &t)))
            return st;
        if (t >= 0) {
            if ((st = ol_need_const(c, t, "constant_value", 1)))
                return st;
            if (ol_T(c, t)->size != 1)
                return NERR(c, ZP_EFORMAT, "constant_value '%s' must be a scalar", ol_T(c, t)->name);
            value = ol_T(c, t)->data[0];
        }
        if ((st = ol_input_at(c, 3, &t)))
            return st;
        if (t >= 0) { /* opset 18: the axes the pads are for */
            if ((st = ol_need_const(c, t, "axes", 0)))
                return st;
            na = (int)ol_T(c, t)->size;
            for (int k = 0; k < na && k < ZP_MAXDIM; k++) {
                int64_t a = ol_T(c, t)->idata[k];
                axes[k] = a < 0 ? a + nd : a;
                if (axes[k] < 0 || axes[k] >= nd)
                    return NERR(c, ZP_EFORMAT, "axes value %lld out of range", (long long)a);
            }
        }
    }
    if (np_given != 2 * na || na > nd)
        return NERR(c, ZP_EFORMAT, "pads has %d values for %d axes", np_given, na);
    int64_t lo[ZP_MAXDIM] = {0}, hi[ZP_MAXDIM] = {0}, od[ZP_MAXDIM];
    for (int k = 0; k < na; k++) {
        lo[axes[k]] = pads[k];
        hi[axes[k]] = pads[na + k];
    }
    if (lo[0] || hi[0])
        return NERR(c, ZP_EUNSUPPORTED, "pads the batch axis 0");
    int ntap[ZP_MAXDIM];
    for (int k = 1; k < nd; k++) {
        od[k - 1] = X->dims[k] + lo[k] + hi[k];
        ntap[k - 1] = 1;
        if (od[k - 1] < 1)
            return NERR(c, ZP_EFORMAT, "axis %d: pads %lld, %lld leave no elements", k,
                        (long long)lo[k], (long long)hi[k]);
        if (mode != PAD_CONSTANT && (lo[k] < 0 || hi[k] < 0))
            return NERR(c, ZP_EUNSUPPORTED, "negative pads in mode '%s'", modes[mode]);
    }
    if ((st = resample_out(c, n, x, od, ntap)))
        return st;
    int64_t is[ZP_MAXDIM];
    in_strides(X, is);
    n->rs->value = value;
    for (int d = 0; d < nd - 1; d++)
        for (int64_t o = 0; o < od[d]; o++) {
            const int64_t s = pad_src(mode, o - lo[d + 1], X->dims[d + 1]);
            n->rs->src[d][o] = s < 0 ? -1 : s * is[d];
            n->rs->w[d][o] = 1.f;
        }
    return ZP_OK;
}

/* ---- Resize ------------------------------------------------------------------- */

enum { CT_HALF_PIXEL, CT_ASYMMETRIC, CT_ALIGN_CORNERS, CT_PYTORCH_HALF_PIXEL };
enum { NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL };

/* The input coordinate output position o maps to along an axis (ONNX's
 * coordinate_transformation_mode), scale = out / in as the model gives it. */
static double in_coord(int ct, int64_t o, double scale, int64_t in, int64_t out)
{
    switch (ct) {
    case CT_ASYMMETRIC: return o / scale;
    case CT_ALIGN_CORNERS: return out == 1 ? 0.0 : (double)o * (double)(in - 1) / (double)(out - 1);
    case CT_PYTORCH_HALF_PIXEL: return out > 1 ? (o + 0.5) / scale - 0.5 : 0.0;
    default: return (o + 0.5) / scale - 0.5;
    }
}

static int64_t nearest(int nm, double v)
{
    const double f = floor(v);
    switch (nm) {
    case NM_FLOOR: return (int64_t)f;
    case NM_CEIL: return (int64_t)ceil(v);
    case NM_ROUND_PREFER_CEIL: return (int64_t)(v - f >= 0.5 ? f + 1 : f);
    default: return (int64_t)(v - f > 0.5 ? f + 1 : f);
    }
}

enum zp_status ol_resize_node(struct nctx *c, struct zp_node *n, int arg)
{
    (void)arg;
    static const char *const an[] = {"mode", "coordinate_transformation_mode", "nearest_mode",
                                     "cubic_coeff_a", "exclude_outside", "extrapolation_value",
                                     "antialias", NULL};
    static const int at[] = {AS, AS, AS, AF, AI, AF, AI};
    static const char *const modes[] = {"nearest", "linear", NULL};
    static const char *const cts[] = {"half_pixel", "asymmetric", "align_corners",
                                      "pytorch_half_pixel", NULL};
    static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil",
                                      NULL};
    const int v10 = c->L->g->opset < 11;
    enum zp_status st;
    int x, linear, ct, nm, ts = -1, tz = -1;
    if ((st = ol_need_inputs(c, 2, v10 ? 2 : 4)) || (st = ol_check_attrs(c, an, at)) ||
        (st = ol_input_at(c, 0, &x)) || (st = ol_need_act(c, x, "X", 2, ZP_MAXDIM)) ||
        (st = str_choice(c, "mode", modes, 0, &linear)) ||
        (st = str_choice(c, "coordinate_transformation_mode", cts,
                         v10 ? CT_ASYMMETRIC : CT_HALF_PIXEL, &ct)) ||
        (st = str_choice(c, "nearest_mode", nms, v10 ? NM_FLOOR : NM_ROUND_PREFER_FLOOR, &nm)) ||
        (st = ol_input_at(c, v10 ? 1 : 2, &ts)) || (!v10 && (st = ol_input_at(c, 3, &tz))))
        return st;
    if (ol_attr_i(c, "antialias", 0) || ol_attr_i(c, "exclude_outside", 0))
        return NERR(c, ZP_EUNSUPPORTED, "antialias / exclude_outside not supported");
    const struct zp_tensor *X = ol_T(c, x);
    const int nd = X->ndim;
    /* scales or sizes: whichever is a non-empty constant */
    if (ts >= 0 && ol_T(c, ts)->size == 0)
        ts = -1;
    if (tz >= 0 && ol_T(c, tz)->size == 0)
        tz = -1;
    if ((ts >= 0) == (tz >= 0))
        return NERR(c, ZP_EFORMAT, "exactly one of scales and sizes must be given");
    if ((ts >= 0 && (st = ol_need_const(c, ts, "scales", 1))) ||
        (tz >= 0 && (st = ol_need_const(c, tz, "sizes", 0))))
        return st;
    const struct zp_tensor *S = ol_T(c, ts >= 0 ? ts : tz);
    if (S->size != nd)
        return NERR(c, ZP_EFORMAT, "%s '%s' has %lld values for rank %d", ts >= 0 ? "scales" :
                    "sizes", S->name, (long long)S->size, nd);
    int64_t od[ZP_MAXDIM];
    double scale[ZP_MAXDIM];
    int ntap[ZP_MAXDIM];
    for (int k = 0; k < nd; k++) {
        const int64_t in = k ? X->dims[k] : 1;
        if (ts >= 0) {
            scale[k] = S->data[k];
            od[k] = (int64_t)floor(in * scale[k]);
        } else {
            od[k] = k ? S->idata[k] : 1;
            scale[k] = (double)od[k] / (double)in;
        }
        if (k == 0 && (ts >= 0 ? S->data[0] != 1.f : S->idata[0] != 1 && S->idata[0] != -1))
            return NERR(c, ZP_EUNSUPPORTED, "resizes the batch axis 0");
        if (!(scale[k] > 0) || od[k] < 1 || od[k] > ZP_MAX_ELEMS)
            return NERR(c, ZP_EFORMAT, "axis %d: scale %g gives %lld elements", k, scale[k],
                        (long long)od[k]);
        if (k)
            ntap[k - 1] = linear && od[k] != in ? 2 : 1;
    }
    if ((st = resample_out(c, n, x, od + 1, ntap)))
        return st;
    int64_t is[ZP_MAXDIM];
    in_strides(X, is);
    for (int d = 0; d < nd - 1; d++) {
        const int64_t in = X->dims[d + 1], out = od[d + 1];
        for (int64_t o = 0; o < out; o++) {
            double v = in_coord(ct, o, scale[d + 1], in, out);
            int64_t *s = n->rs->src[d] + o * ntap[d];
            float *w = n->rs->w[d] + o * ntap[d];
            if (ntap[d] == 1) {
                int64_t i = linear ? o : nearest(nm, v); /* linear, same size: the identity */
                i = i < 0 ? 0 : i >= in ? in - 1 : i;
                s[0] = i * is[d];
                w[0] = 1.f;
                continue;
            }
            v = v < 0 ? 0 : v > in - 1 ? (double)(in - 1) : v;
            const int64_t i0 = (int64_t)floor(v), i1 = i0 + 1 < in ? i0 + 1 : in - 1;
            s[0] = i0 * is[d];
            s[1] = i1 * is[d];
            w[1] = (float)(v - (double)i0);
            w[0] = (float)(1.0 - (v - (double)i0));
        }
    }
    return ZP_OK;
}
