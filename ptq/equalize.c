/* Cross-layer equalization: see equalize.h. */
#include "ptq/equalize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/graph.h"

int64_t zp_cle_in_channels(const struct zp_cle_layer *b)
{
    return b->depthwise ? b->out : b->in;
}

void zp_cle_out_ranges(const struct zp_cle_layer *a, float *r)
{
    const int64_t per = a->in * a->k;
    for (int64_t i = 0; i < a->out; i++) {
        float m = 0.f;
        for (int64_t j = 0; j < per; j++)
            m = fmaxf(m, fabsf(a->w[i * per + j]));
        r[i] = m;
    }
}

void zp_cle_in_ranges(const struct zp_cle_layer *b, float *r)
{
    if (b->depthwise) { /* input channel c is output channel c */
        zp_cle_out_ranges(b, r);
        return;
    }
    for (int64_t c = 0; c < b->in; c++)
        r[c] = 0.f;
    for (int64_t o = 0; o < b->out; o++)
        for (int64_t c = 0; c < b->in; c++) {
            const float *w = b->w + (o * b->in + c) * b->k;
            for (int64_t j = 0; j < b->k; j++)
                r[c] = fmaxf(r[c], fabsf(w[j]));
        }
}

/* b's input channel c multiplied by s. */
static void scale_in_channel(struct zp_cle_layer *b, int64_t c, float s)
{
    if (b->depthwise) {
        for (int64_t j = 0; j < b->in * b->k; j++)
            b->w[c * b->in * b->k + j] *= s;
        return;
    }
    for (int64_t o = 0; o < b->out; o++) {
        float *w = b->w + (o * b->in + c) * b->k;
        for (int64_t j = 0; j < b->k; j++)
            w[j] *= s;
    }
}

double zp_cle_pair(struct zp_cle_layer *a, struct zp_cle_layer *b, float *scale)
{
    const int64_t C = a->out, per = a->in * a->k;
    float *r = malloc((size_t)C * 2 * sizeof *r);
    if (!r)
        return NAN;
    float *r2 = r + C;
    zp_cle_out_ranges(a, r);
    zp_cle_in_ranges(b, r2);
    /* A channel that is all zeros on one side (a dead output of a, or an input b
     * ignores) leaves its other side free: any s keeps the function. It is brought
     * to the widest range the live channels end at, so that it no longer sets the
     * grid of its layer (folded batch norm leaves such channels with huge weights:
     * 35x the median in MobileNet v2's first depthwise layer). */
    double target = 0;
    for (int64_t i = 0; i < C; i++)
        if (r[i] > 0.f && r2[i] > 0.f)
            target = fmax(target, sqrt((double)r[i] * (double)r2[i]));
    double change = 0;
    for (int64_t i = 0; i < C; i++) {
        /* in double: a range ratio of a folded layer can be 1e6 */
        double s = 1.0;
        if (r[i] > 0.f && r2[i] > 0.f)
            s = sqrt((double)r[i] / (double)r2[i]);
        else if (r[i] > 0.f && target > 0)
            s = r[i] / target;
        else if (r2[i] > 0.f && target > 0)
            s = target / r2[i];
        if (scale)
            scale[i] = (float)s;
        if (s == 1.0)
            continue;
        change = fmax(change, fabs(log(s)));
        const float inv = (float)(1.0 / s);
        for (int64_t j = 0; j < per; j++)
            a->w[i * per + j] *= inv;
        if (a->b)
            a->b[i] *= inv;
        if (a->act_hi)
            a->act_hi[i] = (float)(a->act_hi[i] / s);
        scale_in_channel(b, i, (float)s);
    }
    free(r);
    return change;
}

int zp_cle_run(struct zp_cle_layer *layers, const int *first, const int *second, int n_pairs,
               double tol, int max_sweeps, double *last_change)
{
    int sweeps = 0;
    double change = 0;
    while (sweeps < max_sweeps) {
        change = 0;
        for (int p = 0; p < n_pairs; p++)
            change = fmax(change, zp_cle_pair(&layers[first[p]], &layers[second[p]], NULL));
        sweeps++;
        if (change < tol)
            break;
    }
    if (last_change)
        *last_change = change;
    return sweeps;
}

int zp_cle_layer_of(const struct zp_graph *g, int l, float *w, float *b, float *act_hi,
                    struct zp_cle_layer *out)
{
    const struct zp_layer_info *li = zp_graph_layer(g, l);
    if (!li || strcmp(li->op, "Conv") != 0 || (li->group != 1 && !li->depthwise) || li->wndim != 4)
        return 0;
    *out = (struct zp_cle_layer){.w = w, .b = b, .out = li->wshape[0], .in = li->wshape[1],
                                 .k = li->wshape[2] * li->wshape[3], .depthwise = li->depthwise,
                                 .act_hi = act_hi};
    return 1;
}

int zp_cle_relu6_clamps(const struct zp_graph *g, float **act_hi)
{
    const int n = zp_graph_num_layers(g);
    for (int l = 0; l < n; l++) {
        const struct zp_layer_info *li = zp_graph_layer(g, l);
        act_hi[l] = NULL;
        if (li->relu_after != 6)
            continue;
        if (!(act_hi[l] = malloc((size_t)li->n_out * sizeof(float)))) {
            for (int k = 0; k < l; k++) {
                free(act_hi[k]);
                act_hi[k] = NULL;
            }
            return 0;
        }
        for (int64_t c = 0; c < li->n_out; c++)
            act_hi[l][c] = 6.f;
    }
    return 1;
}

enum zp_status zp_cle_graph(const struct zp_graph *g, float **w, float **b, float **act_hi,
                            struct zp_cle_report *rep, struct zp_err *err)
{
    const int n = zp_graph_num_layers(g);
    struct zp_cle_layer *L = calloc((size_t)n, sizeof *L);
    int *ok = calloc((size_t)n, sizeof *ok), *first = malloc((size_t)n * sizeof *first),
        *second = malloc((size_t)n * sizeof *second);
    if (!L || !ok || !first || !second) {
        free(L), free(ok), free(first), free(second);
        return zp_err_set(err, ZP_ENOMEM, "cross-layer equalization: out of memory");
    }
    for (int l = 0; l < n; l++)
        ok[l] = zp_cle_layer_of(g, l, w[l], b[l], act_hi[l], &L[l]);
    memset(rep, 0, sizeof *rep);
    int np = 0;
    for (int l = 0; l < n; l++) {
        int s = zp_graph_layer_source(g, l);
        if (s < 0 || !ok[s] || !ok[l] || zp_cle_in_channels(&L[l]) != L[s].out)
            continue;
        int relu6 = zp_graph_layer(g, s)->relu_after == 6;
        if (relu6 && !act_hi[s]) /* its clip could not move with the channels */
            continue;
        rep->relu6_pairs += relu6;
        first[np] = s;
        second[np++] = l;
    }
    rep->pairs = np;
    rep->sweeps = zp_cle_run(L, first, second, np, 1e-6, 200, &rep->last_change);
    free(L), free(ok), free(first), free(second);
    if (isnan(rep->last_change))
        return zp_err_set(err, ZP_ENOMEM, "cross-layer equalization: out of memory");
    return ZP_OK;
}
