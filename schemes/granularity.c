/* Tensor-level quantization (schemes/granularity.h): cuts a tensor into slices
 * by granularity and runs a scheme over each.
 *
 * A tensor of shape [..outer.., C, ..inner..] with the channel axis of extent C
 * has, for channel c, the elements x[(o*C + c)*inner + i]; the channel's own
 * row-major order is e = o*inner + i, and per-group cuts that order into chunks
 * of group_size. Fitting needs a slice contiguous, so a channel of a non-leading
 * axis is gathered into a per-thread buffer; quantize and dequantize are
 * elementwise given the slice parameters, so apply walks the tensor in place,
 * run by run, with no buffer. Both are parallel (OpenMP) for large tensors. */
#include "schemes/granularity.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "common/mem.h"

/* Below this many elements threading costs more than it saves. */
#define ZP_PAR_MIN_ELEMS 32768
/* Elements per work item of apply, and per stack code buffer. */
#define ZP_APPLY_CHUNK 4096

struct layout {
    size_t n;        /* elements in the tensor */
    size_t outer;    /* product of dims before the axis */
    size_t C;        /* channels (extent of the axis); 1 per-tensor */
    size_t inner;    /* product of dims after the axis */
    size_t chan_len; /* elements per channel = outer * inner */
    size_t gsize;    /* elements per group (chan_len when not per-group) */
    size_t groups;   /* groups per channel */
    size_t n_slices; /* C * groups */
};

static enum zp_status make_layout(const struct zp_scheme_config *cfg, const int64_t *shape,
                                  int ndim, const char *what, struct layout *L,
                                  struct zp_err *err)
{
    const struct zp_scheme *s = cfg->scheme;
    if (!s)
        return zp_err_set(err, ZP_ECONFIG, "%s: no scheme", what);
    if ((unsigned)cfg->granularity > ZP_PER_GROUP ||
        !(s->granularities & ZP_GRAN_BIT(cfg->granularity)))
        return zp_err_set(err, ZP_ECONFIG, "%s: scheme %s does not support granularity %s", what,
                          s->name, zp_granularity_name(cfg->granularity));
    if (ndim < 0 || ndim > ZP_MAX_DIMS || (ndim > 0 && !shape))
        return zp_err_set(err, ZP_EINVAL, "%s: rank %d not supported (expected 0..%d)", what,
                          ndim, ZP_MAX_DIMS);
    size_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            return zp_err_set(err, ZP_EINVAL, "%s: dimension %d is negative (%lld)", what, d,
                              (long long)shape[d]);
        if (shape[d] > 0 && n > SIZE_MAX / 16 / (size_t)shape[d])
            return zp_err_set(err, ZP_EINVAL, "%s: element count overflows", what);
        n *= (size_t)shape[d];
    }
    if (n == 0)
        return zp_err_set(err, ZP_EINVAL, "%s: tensor is empty (a dimension is 0)", what);
    memset(L, 0, sizeof *L);
    L->n = n;
    if (cfg->granularity == ZP_PER_TENSOR) {
        L->outer = 1;
        L->C = 1;
        L->inner = n;
    } else {
        /* Negative axes count from the end, as in ONNX. */
        int a = cfg->axis < 0 ? cfg->axis + ndim : cfg->axis;
        if (a < 0 || a >= ndim)
            return zp_err_set(err, ZP_ECONFIG,
                              "%s: axis %d out of range for a %d-D tensor (expected %d..%d)", what,
                              cfg->axis, ndim, -ndim, ndim - 1);
        L->outer = 1;
        L->inner = 1;
        for (int d = 0; d < a; d++)
            L->outer *= (size_t)shape[d];
        for (int d = a + 1; d < ndim; d++)
            L->inner *= (size_t)shape[d];
        L->C = (size_t)shape[a];
    }
    L->chan_len = L->outer * L->inner;
    if (cfg->granularity == ZP_PER_GROUP) {
        if (cfg->group_size < 1)
            return zp_err_set(err, ZP_ECONFIG, "%s: group_size must be >= 1, got %d", what,
                              cfg->group_size);
        L->gsize = (size_t)cfg->group_size;
        L->groups = (L->chan_len + L->gsize - 1) / L->gsize;
    } else {
        L->gsize = L->chan_len;
        L->groups = 1;
    }
    L->n_slices = L->C * L->groups;
    return ZP_OK;
}

size_t zp_slice_count(const struct zp_scheme_config *cfg, const int64_t *shape, int ndim,
                      struct zp_err *err)
{
    struct layout L;
    if (make_layout(cfg, shape, ndim, "tensor", &L, err) != ZP_OK)
        return 0;
    return L.n_slices;
}

static enum zp_status check_finite(const float *x, size_t n, const char *what,
                                   struct zp_err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            return zp_err_set(err, ZP_EINVAL, "%s: element %zu is %s", what, i,
                              isnan(x[i]) ? "NaN" : x[i] > 0 ? "+Inf" : "-Inf");
    }
    return ZP_OK;
}

/* Fits the groups of channel c, whose elements (in channel order) are at ch. */
static enum zp_status fit_channel(const struct zp_scheme_config *cfg, const struct layout *L,
                                  size_t c, const float *ch, struct zp_qparams *slices,
                                  const char *what, struct zp_err *err)
{
    for (size_t g = 0; g < L->groups; g++) {
        size_t b = g * L->gsize;
        size_t len = L->chan_len - b < L->gsize ? L->chan_len - b : L->gsize;
        struct zp_qparams *p = &slices[c * L->groups + g];
        struct zp_err local = {0};
        enum zp_status st = cfg->scheme->fit(cfg, ch + b, len, p, &local);
        if (st != ZP_OK) {
            if (local.status == ZP_OK)
                zp_err_set(&local, st, "%s: fit failed", cfg->scheme->name);
            if (cfg->granularity == ZP_PER_TENSOR)
                return zp_err_set(err, st, "%s: %s", what, local.msg);
            if (cfg->granularity == ZP_PER_CHANNEL)
                return zp_err_set(err, st, "%s: channel %zu: %s", what, c, local.msg);
            return zp_err_set(err, st, "%s: channel %zu group %zu: %s", what, c, g, local.msg);
        }
    }
    return ZP_OK;
}

enum zp_status zp_tensor_fit(const struct zp_scheme_config *cfg, const float *x,
                             const int64_t *shape, int ndim, const char *what,
                             struct zp_tensor_qparams *out, struct zp_err *err)
{
    out->n_slices = 0;
    out->slice = NULL;
    if (!what)
        what = "tensor";
    struct zp_err cerr = {0};
    enum zp_status st = zp_scheme_config_check(cfg, &cerr);
    if (st != ZP_OK)
        return zp_err_set(err, st, "%s: %s", what, cerr.msg);
    struct layout L;
    st = make_layout(cfg, shape, ndim, what, &L, err);
    if (st != ZP_OK)
        return st;
    st = check_finite(x, L.n, what, err);
    if (st != ZP_OK)
        return st;
    struct zp_qparams *slices = zp_calloc(L.n_slices, sizeof *slices);
    if (!slices)
        return zp_err_set(err, ZP_ENOMEM, "%s: cannot allocate parameters of %zu slices", what,
                          L.n_slices);

    size_t first_bad = SIZE_MAX; /* lowest failing channel: deterministic message */
    struct zp_err bad = {0};
    int par = L.C > 1 && L.n >= ZP_PAR_MIN_ELEMS;
#pragma omp parallel if (par)
    {
        float *buf = NULL;
        struct zp_err local = {0};
        int ok = 1;
        if (L.outer > 1) {
            buf = zp_alloc(L.chan_len * sizeof *buf);
            if (!buf) {
                ok = 0;
                zp_err_set(&local, ZP_ENOMEM, "%s: cannot allocate a %zu-element channel buffer",
                           what, L.chan_len);
#pragma omp critical(zp_fit_err)
                if (first_bad == SIZE_MAX) {
                    first_bad = 0;
                    bad = local;
                }
            }
        }
#pragma omp for schedule(dynamic, 4)
        for (size_t c = 0; c < L.C; c++) {
            if (!ok)
                continue;
            const float *ch = x + c * L.inner;
            if (L.outer > 1) {
                for (size_t o = 0; o < L.outer; o++)
                    memcpy(buf + o * L.inner, x + (o * L.C + c) * L.inner,
                           L.inner * sizeof *buf);
                ch = buf;
            }
            zp_err_clear(&local);
            if (fit_channel(cfg, &L, c, ch, slices, what, &local) != ZP_OK) {
#pragma omp critical(zp_fit_err)
                if (c < first_bad) {
                    first_bad = c;
                    bad = local;
                }
            }
        }
        zp_free(buf);
    }
    if (first_bad != SIZE_MAX) {
        zp_free(slices);
        return zp_err_set(err, bad.status, "%s", bad.msg);
    }
    if (cfg->scheme->fit_tensor) {
        struct zp_err local = {0};
        st = cfg->scheme->fit_tensor(cfg, slices, L.n_slices, &local);
        if (st != ZP_OK) {
            zp_free(slices);
            if (local.status == ZP_OK)
                zp_err_set(&local, st, "%s: fit_tensor failed", cfg->scheme->name);
            return zp_err_set(err, st, "%s: %s", what, local.msg);
        }
    }
    out->n_slices = L.n_slices;
    out->slice = slices;
    return ZP_OK;
}

void zp_fake_quant_run(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                       const float *x, float *out, size_t n, int32_t *codes)
{
    const struct zp_scheme *s = cfg->scheme;
    int32_t qbuf[ZP_APPLY_CHUNK];
    for (size_t i0 = 0; i0 < n; i0 += ZP_APPLY_CHUNK) {
        size_t len = n - i0 < ZP_APPLY_CHUNK ? n - i0 : ZP_APPLY_CHUNK;
        int32_t *q = codes ? codes + i0 : qbuf;
        s->quantize(cfg, p, x + i0, q, len);
        s->dequantize(cfg, p, q, out + i0, len);
    }
}

void zp_tensor_apply(const struct zp_scheme_config *cfg, const struct zp_tensor_qparams *qp,
                     const float *x, const int64_t *shape, int ndim, float *out, int32_t *codes)
{
    struct layout L;
    struct zp_err err = {0};
    ZP_ASSERT(make_layout(cfg, shape, ndim, "tensor", &L, &err) == ZP_OK);
    ZP_ASSERT(qp && qp->n_slices == L.n_slices && qp->slice);
    size_t n_chunks = (L.n + ZP_APPLY_CHUNK - 1) / ZP_APPLY_CHUNK;
    int par = L.n >= ZP_PAR_MIN_ELEMS;
#pragma omp parallel for schedule(static) if (par)
    for (size_t k = 0; k < n_chunks; k++) {
        size_t f = k * ZP_APPLY_CHUNK;
        size_t end = f + ZP_APPLY_CHUNK < L.n ? f + ZP_APPLY_CHUNK : L.n;
        while (f < end) {
            /* Decompose the flat index, then extend the run while the slice is
             * the same: to the end of this inner row and of this group. */
            size_t i = f % L.inner, t = f / L.inner;
            size_t c = t % L.C, o = t / L.C;
            size_t e = o * L.inner + i;
            size_t g = e / L.gsize;
            size_t len = end - f;
            if (L.inner - i < len)
                len = L.inner - i;
            if (L.gsize - e % L.gsize < len)
                len = L.gsize - e % L.gsize;
            zp_fake_quant_run(cfg, &qp->slice[c * L.groups + g], x + f, out + f, len,
                              codes ? codes + f : NULL);
            f += len;
        }
    }
}

enum zp_status zp_fake_quant(const struct zp_scheme_config *cfg, const float *x,
                             const int64_t *shape, int ndim, const char *what, float *out,
                             struct zp_tensor_qparams *qp_out, struct zp_err *err)
{
    struct zp_tensor_qparams qp;
    enum zp_status st = zp_tensor_fit(cfg, x, shape, ndim, what, &qp, err);
    if (st != ZP_OK) {
        if (qp_out) {
            qp_out->n_slices = 0;
            qp_out->slice = NULL;
        }
        return st;
    }
    zp_tensor_apply(cfg, &qp, x, shape, ndim, out, NULL);
    if (qp_out)
        *qp_out = qp;
    else
        zp_tensor_qparams_free(&qp);
    return ZP_OK;
}

void zp_tensor_qparams_free(struct zp_tensor_qparams *qp)
{
    if (!qp)
        return;
    zp_free(qp->slice);
    qp->slice = NULL;
    qp->n_slices = 0;
}

double zp_bits_per_weight(const struct zp_scheme_config *cfg, const int64_t *shape, int ndim,
                          struct zp_err *err)
{
    struct layout L;
    if (make_layout(cfg, shape, ndim, "tensor", &L, err) != ZP_OK)
        return -1.0;
    if (cfg->scheme->bits_per_weight)
        return cfg->scheme->bits_per_weight(cfg, L.n, L.n_slices);
    return cfg->bits + 32.0 * (double)L.n_slices / (double)L.n;
}

enum zp_status zp_tensor_clip_count(const struct zp_scheme_config *cfg,
                                    const struct zp_tensor_qparams *qp, const float *x,
                                    const int64_t *shape, int ndim, size_t *n_clipped,
                                    struct zp_err *err)
{
    struct layout L;
    *n_clipped = 0;
    enum zp_status st = make_layout(cfg, shape, ndim, "tensor", &L, err);
    if (st != ZP_OK)
        return st;
    if (!qp || qp->n_slices != L.n_slices || !qp->slice)
        return zp_err_set(err, ZP_EINVAL,
                          "clip count: parameters of %zu slices do not match the %zu slices of "
                          "this shape and granularity",
                          qp ? qp->n_slices : 0, L.n_slices);
    unsigned char *clips = zp_calloc(L.n_slices, 1);
    if (!clips)
        return zp_err_set(err, ZP_ENOMEM, "clip count: cannot allocate %zu flags", L.n_slices);
    /* Walk the slices run by run, as zp_tensor_apply does. */
    for (size_t f = 0; f < L.n;) {
        size_t i = f % L.inner, t = f / L.inner;
        size_t c = t % L.C, o = t / L.C;
        size_t e = o * L.inner + i;
        size_t g = e / L.gsize;
        size_t len = L.n - f;
        if (L.inner - i < len)
            len = L.inner - i;
        if (L.gsize - e % L.gsize < len)
            len = L.gsize - e % L.gsize;
        size_t sl = c * L.groups + g;
        float lo, hi;
        const struct zp_qparams *p = &qp->slice[sl];
        if (cfg->scheme->clip_range)
            cfg->scheme->clip_range(cfg, p, &lo, &hi);
        else if (p->n_levels > 0)
            zp_lut_clip_range(cfg, p, &lo, &hi);
        else
            zp_affine_clip_range(cfg, p, &lo, &hi);
        /* 4 float ulps of slack: a level computed as scale * max can land an ulp
         * below the slice maximum it was fitted to, which is rounding, not clipping. */
        lo -= 4.0f * FLT_EPSILON * fabsf(lo);
        hi += 4.0f * FLT_EPSILON * fabsf(hi);
        for (size_t k = 0; k < len && !clips[sl]; k++)
            if (x[f + k] < lo || x[f + k] > hi)
                clips[sl] = 1;
        f += len;
    }
    size_t n_clip = 0;
    for (size_t k = 0; k < L.n_slices; k++)
        n_clip += clips[k];
    zp_free(clips);
    *n_clipped = n_clip;
    return ZP_OK;
}
