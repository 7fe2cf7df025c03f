/* The exact input table (experiment/input_exact.h). */
#include "experiment/input_exact.h"

#include <math.h>
#include <string.h>

/* The step the range gives for the two affine fits (asymmetric on [min(lo,0),
 * max(hi,0)], symmetric on [-M, M]), levels = qmax - qmin in both; the one whose
 * float (either rounding) is the fitted scale is the quantizer's. */
static int range_of(const struct zp_qparams *p, float lo, float hi, float *rlo, float *rhi)
{
    double levels = (double)p->qmax - (double)p->qmin;
    float m = fmaxf(fabsf(lo), fabsf(hi));
    float cand[2][2] = {{fminf(lo, 0.0f), fmaxf(hi, 0.0f)}, {-m, m}};
    for (int k = 0; k < 2; k++) {
        double s = ((double)cand[k][1] - (double)cand[k][0]) / levels;
        float f = (float)s, g = (double)f > s ? nextafterf(f, 0.0f) : nextafterf(f, INFINITY);
        if (f == p->scale || g == p->scale) {
            *rlo = cand[k][0];
            *rhi = cand[k][1];
            return 1;
        }
    }
    return 0;
}

enum zp_status zp_input_exact_build(struct zp_input_exact *t, const struct zp_dataset_spec *spec, int channels,
                                    int64_t plane, const struct zp_scheme_config *c, const struct zp_qparams *p,
                                    float lo, float hi, struct zp_err *err)
{
    memset(t, 0, sizeof *t);
    float rlo, rhi;
    if (spec->format == ZP_DATA_NPY || channels < 1 || channels > 3 || plane < 1 || !c->scheme->fit_range ||
        c->granularity != ZP_PER_TENSOR || p->n_levels > 0 || p->offset != 0.0f || !range_of(p, lo, hi, &rlo, &rhi))
        return ZP_OK;
    for (int ch = 0; ch < channels; ch++) {
        int32_t codes[256];
        struct zp_err e = {0};
        enum zp_status st = zp_dataset_exact_codes(spec, ch, rlo, rhi, p->qmax - p->qmin, p->zero_point, p->qmin,
                                                   p->qmax, codes, &e);
        if (st == ZP_EUNSUPPORTED)
            return ZP_OK; /* the float path stays */
        if (st)
            return zp_err_set(err, st, "exact input codes: %s", e.msg);
        /* insertion sort of the 256 (value, decoded) pairs by value */
        for (int px = 0; px < 256; px++) {
            float v = zp_dataset_normalize(spec, ch, (float)px), d;
            c->scheme->dequantize(c, p, &codes[px], &d, 1);
            int j = px;
            while (j > 0 && t->val[ch][j - 1] > v) {
                t->val[ch][j] = t->val[ch][j - 1];
                t->deq[ch][j] = t->deq[ch][j - 1];
                j--;
            }
            t->val[ch][j] = v;
            t->deq[ch][j] = d;
        }
    }
    t->c = c;
    t->p = p;
    t->channels = channels;
    t->plane = plane;
    t->on = 1;
    return ZP_OK;
}

/* Index of x in the ascending v[256] (the first of equal entries, as a binary
 * search finds it), or -1. The values are an affine image of the pixels 0..255, so
 * interpolating between the ends lands on or beside the entry: the search is the
 * fallback, not the rule (it ran per input value before, 13 % of a cell). */
static int find_pixel(const float *v, float x, float lo, float inv_step)
{
    float g = (x - lo) * inv_step;
    int i = !(g > 0) ? 0 : g > 255 ? 255 : (int)(g + 0.5f);
    if (v[i] != x && i > 0 && v[i - 1] == x)
        i--;
    else if (v[i] != x && i < 255 && v[i + 1] == x)
        i++;
    else if (v[i] != x) { /* not on or beside the guess */
        int a = 0, b = 255;
        while (a < b) { /* first entry >= x */
            int mid = (a + b) / 2;
            if (v[mid] < x)
                a = mid + 1;
            else
                b = mid;
        }
        return v[a] == x ? a : -1;
    }
    while (i > 0 && v[i - 1] == x)
        i--;
    return i;
}

size_t zp_input_exact_apply(const struct zp_input_exact *t, float *x, size_t n, size_t first)
{
    size_t missed = 0, ex = (size_t)t->channels * (size_t)t->plane;
    for (size_t i = 0; i < n;) {
        size_t e = (first + i) % ex, in_plane = e % (size_t)t->plane;
        size_t run = (size_t)t->plane - in_plane < n - i ? (size_t)t->plane - in_plane : n - i;
        int ch = (int)(e / (size_t)t->plane);
        const float *v = t->val[ch];
        float span = v[255] - v[0], inv = span > 0 ? 255.0f / span : 0.0f;
        for (size_t k = i; k < i + run; k++) {
            int a = find_pixel(v, x[k], v[0], inv);
            if (a >= 0) {
                x[k] = t->deq[ch][a];
            } else {
                int32_t q;
                t->c->scheme->quantize(t->c, t->p, &x[k], &q, 1);
                t->c->scheme->dequantize(t->c, t->p, &q, &x[k], 1);
                missed++;
            }
        }
        i += run;
    }
    return missed;
}
