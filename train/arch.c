/* The built-in architectures as layer lists (see train/tnet.h): shape
 * propagation and He initialization. */
#include "train/tnet.h"

#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/rng.h"

static enum zp_status alloc_param(struct zp_tparam *p, size_t n, int decay)
{
    p->n = n;
    p->decay = decay;
    p->w = zp_calloc(n, sizeof(float));
    return p->w ? ZP_OK : ZP_ENOMEM;
}

static void he_init(struct zp_rng *r, float *w, size_t n, double fan_in)
{
    double sd = sqrt(2.0 / fan_in);
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(sd * zp_rng_gaussian(r));
}

enum zp_status zp_tnet_build(const struct zp_tlayer *spec, int n, int in_c, int in_h, int in_w,
                             uint64_t seed, struct zp_tnet **out, struct zp_err *err)
{
    *out = NULL;
    struct zp_tnet *net = calloc(1, sizeof *net);
    if (!net || !(net->L = calloc((size_t)n, sizeof *net->L))) {
        free(net);
        return zp_err_set(err, ZP_ENOMEM, "train: out of memory building the network");
    }
    net->n_layers = n;
    net->in_c = in_c;
    net->in_h = in_h;
    net->in_w = in_w;
    struct zp_rng rng;
    zp_rng_seed(&rng, seed);
    int c = in_c, h = in_h, w = in_w;
    enum zp_status st = ZP_OK;
    for (int i = 0; i < n && st == ZP_OK; i++) {
        struct zp_tlayer *l = &net->L[i];
        l->kind = spec[i].kind;
        l->act = spec[i].act;
        l->k = spec[i].k;
        l->stride = spec[i].stride;
        l->pad = spec[i].pad;
        l->c_in = c;
        l->h_in = h;
        l->w_in = w;
        l->c_out = c;
        l->h_out = h;
        l->w_out = w;
        switch (l->kind) {
        case ZP_TL_CONV:
        case ZP_TL_DWCONV:
        case ZP_TL_AVGPOOL:
            if (l->k < 1 || l->k > 7 || l->stride < 1 || l->pad < 0 ||
                h + 2 * l->pad < l->k || w + 2 * l->pad < l->k) {
                st = zp_err_set(err, ZP_EINVAL,
                                "train: layer %d: kernel %d stride %d pad %d does not fit a %dx%d "
                                "input (kernel 1..7 expected)",
                                i, l->k, l->stride, l->pad, h, w);
                break;
            }
            l->h_out = (h + 2 * l->pad - l->k) / l->stride + 1;
            l->w_out = (w + 2 * l->pad - l->k) / l->stride + 1;
            if (l->kind == ZP_TL_CONV) {
                l->c_out = spec[i].c_out;
                size_t nw = (size_t)l->c_out * c * l->k * l->k;
                if (alloc_param(&l->p[0], nw, 1) != ZP_OK)
                    st = ZP_ENOMEM;
                else
                    he_init(&rng, l->p[0].w, nw, (double)c * l->k * l->k);
                l->n_params = 1;
            } else if (l->kind == ZP_TL_DWCONV) {
                size_t nw = (size_t)c * l->k * l->k;
                if (alloc_param(&l->p[0], nw, 1) != ZP_OK)
                    st = ZP_ENOMEM;
                else
                    he_init(&rng, l->p[0].w, nw, (double)l->k * l->k);
                l->n_params = 1;
            }
            break;
        case ZP_TL_BN:
            l->eps = 1e-5f;
            l->n_params = 2;
            if (alloc_param(&l->p[0], (size_t)c, 0) != ZP_OK ||
                alloc_param(&l->p[1], (size_t)c, 0) != ZP_OK ||
                !(l->run_mean = zp_calloc((size_t)c, sizeof(float))) ||
                !(l->run_var = zp_calloc((size_t)c, sizeof(float)))) {
                st = ZP_ENOMEM;
                break;
            }
            for (int j = 0; j < c; j++) {
                l->p[0].w[j] = 1.0f;
                l->run_var[j] = 1.0f;
            }
            break;
        case ZP_TL_RELU:
        case ZP_TL_RELU6:
            break;
        case ZP_TL_GAP:
            l->h_out = l->w_out = 1;
            break;
        case ZP_TL_FLATTEN:
            l->c_out = c * h * w;
            l->h_out = l->w_out = 1;
            break;
        case ZP_TL_FC:
            if (h != 1 || w != 1) {
                st = zp_err_set(err, ZP_EINVAL,
                                "train: layer %d: fully connected needs a flat input, got %dx%dx%d",
                                i, c, h, w);
                break;
            }
            l->c_out = spec[i].c_out;
            l->n_params = 2;
            if (alloc_param(&l->p[0], (size_t)l->c_out * c, 1) != ZP_OK ||
                alloc_param(&l->p[1], (size_t)l->c_out, 0) != ZP_OK) {
                st = ZP_ENOMEM;
                break;
            }
            he_init(&rng, l->p[0].w, (size_t)l->c_out * c, (double)c);
            break;
        }
        if (st == ZP_OK && (l->c_out < 1 || l->h_out < 1 || l->w_out < 1))
            st = zp_err_set(err, ZP_EINVAL, "train: layer %d: empty output", i);
        c = l->c_out;
        h = l->h_out;
        w = l->w_out;
    }
    if (st == ZP_ENOMEM)
        zp_err_set(err, ZP_ENOMEM, "train: out of memory building the network");
    if (st != ZP_OK) {
        zp_tnet_free(net);
        return st;
    }
    net->n_classes = c;
    *out = net;
    return ZP_OK;
}

enum zp_status zp_tnet_mobilenet(const struct zp_mobilenet_arch *a, uint64_t seed,
                                 struct zp_tnet **out, struct zp_err *err)
{
    struct zp_tlayer spec[2 + 4 * ZP_TNET_MAX_BLOCKS + 3];
    memset(spec, 0, sizeof spec);
    int n = 0;
    if (a->n_blocks < 0 || a->n_blocks > ZP_TNET_MAX_BLOCKS)
        return zp_err_set(err, ZP_EINVAL, "train: mobilenet: %d blocks, expected 0..%d",
                          a->n_blocks, ZP_TNET_MAX_BLOCKS);
    spec[n++] = (struct zp_tlayer){.kind = ZP_TL_CONV, .k = 3, .stride = a->stem_stride, .pad = 1,
                                   .c_out = a->stem};
    spec[n++] = (struct zp_tlayer){.kind = ZP_TL_BN, .act = 6};
    for (int b = 0; b < a->n_blocks; b++) {
        spec[n++] = (struct zp_tlayer){.kind = ZP_TL_DWCONV, .k = 3, .stride = a->block_stride[b],
                                       .pad = 1};
        spec[n++] = (struct zp_tlayer){.kind = ZP_TL_BN, .act = 6};
        spec[n++] = (struct zp_tlayer){.kind = ZP_TL_CONV, .k = 1, .stride = 1, .pad = 0,
                                       .c_out = a->block_out[b]};
        spec[n++] = (struct zp_tlayer){.kind = ZP_TL_BN, .act = a->block_linear[b] ? 0 : 6};
    }
    spec[n++] = (struct zp_tlayer){.kind = ZP_TL_GAP};
    spec[n++] = (struct zp_tlayer){.kind = ZP_TL_FLATTEN};
    spec[n++] = (struct zp_tlayer){.kind = ZP_TL_FC, .c_out = a->n_classes};
    return zp_tnet_build(spec, n, a->in_c, a->in_h, a->in_w, seed, out, err);
}

enum zp_status zp_tnet_mlp(const struct zp_mlp_arch *a, uint64_t seed, struct zp_tnet **out,
                           struct zp_err *err)
{
    struct zp_tlayer spec[1 + 2 * ZP_TNET_MAX_BLOCKS + 1];
    memset(spec, 0, sizeof spec);
    int n = 0;
    if (a->n_hidden < 0 || a->n_hidden > ZP_TNET_MAX_BLOCKS)
        return zp_err_set(err, ZP_EINVAL, "train: mlp: %d hidden layers, expected 0..%d",
                          a->n_hidden, ZP_TNET_MAX_BLOCKS);
    spec[n++] = (struct zp_tlayer){.kind = ZP_TL_FLATTEN};
    for (int i = 0; i < a->n_hidden; i++) {
        spec[n++] = (struct zp_tlayer){.kind = ZP_TL_FC, .c_out = a->hidden[i]};
        spec[n++] = (struct zp_tlayer){.kind = ZP_TL_RELU};
    }
    spec[n++] = (struct zp_tlayer){.kind = ZP_TL_FC, .c_out = a->n_classes};
    return zp_tnet_build(spec, n, a->in_c, a->in_h, a->in_w, seed, out, err);
}


void zp_tnet_free(struct zp_tnet *net)
{
    if (!net)
        return;
    for (int i = 0; i < net->n_layers; i++) {
        struct zp_tlayer *l = &net->L[i];
        zp_free(l->p[0].w);
        zp_free(l->p[1].w);
        zp_free(l->run_mean);
        zp_free(l->run_var);
    }
    free(net->L);
    free(net);
}

void zp_train_flush_denormals(void)
{
#if defined(__SSE__) || defined(__x86_64__)
    _mm_setcsr(_mm_getcsr() | 0x8040); /* FTZ | DAZ */
#pragma omp parallel
    _mm_setcsr(_mm_getcsr() | 0x8040);
#endif
}
