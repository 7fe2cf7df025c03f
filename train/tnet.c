/* The sequential training network: building (shape propagation, He init),
 * buffers, and the whole-network forward, loss and backward passes. */
#include "train/tnet.h"

#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/rng.h"
#include "train/layers.h"

static enum zp_status alloc_param(struct zp_tparam *p, size_t n, int decay)
{
    p->n = n;
    p->decay = decay;
    p->w = zp_calloc(n, sizeof(float));
    p->g = zp_calloc(n, sizeof(float));
    p->m = zp_calloc(n, sizeof(float));
    return (p->w && p->g && p->m) ? ZP_OK : ZP_ENOMEM;
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
    size_t max_act = (size_t)c * h * w;
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
                !(l->run_var = zp_calloc((size_t)c, sizeof(float))) ||
                !(l->bmean = zp_calloc((size_t)c, sizeof(float))) ||
                !(l->binvstd = zp_calloc((size_t)c, sizeof(float)))) {
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
        size_t a = (size_t)c * h * w;
        if (a > max_act)
            max_act = a;
    }
    if (st == ZP_ENOMEM)
        zp_err_set(err, ZP_ENOMEM, "train: out of memory building the network");
    if (st != ZP_OK) {
        zp_tnet_free(net);
        return st;
    }
    net->n_classes = c;
    net->max_act = max_act;
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

static void free_param(struct zp_tparam *p)
{
    zp_free(p->w);
    zp_free(p->g);
    zp_free(p->m);
}

void zp_tnet_free(struct zp_tnet *net)
{
    if (!net)
        return;
    for (int i = 0; i < net->n_layers; i++) {
        struct zp_tlayer *l = &net->L[i];
        free_param(&l->p[0]);
        free_param(&l->p[1]);
        zp_free(l->run_mean);
        zp_free(l->run_var);
        zp_free(l->bmean);
        zp_free(l->binvstd);
        zp_free(l->col);
    }
    if (net->act)
        for (int i = 0; i <= net->n_layers; i++)
            zp_free(net->act[i]);
    free(net->act);
    zp_free(net->g0);
    zp_free(net->g1);
    free(net->L);
    free(net);
}

static size_t layer_in_size(const struct zp_tlayer *l)
{
    return (size_t)l->c_in * l->h_in * l->w_in;
}

enum zp_status zp_tnet_reserve(struct zp_tnet *net, int batch, struct zp_err *err)
{
    if (batch <= net->cap)
        return ZP_OK;
    if (!net->act && !(net->act = calloc((size_t)net->n_layers + 1, sizeof(float *))))
        return zp_err_set(err, ZP_ENOMEM, "train: out of memory");
    for (int i = 0; i <= net->n_layers; i++) {
        size_t per = i < net->n_layers ? layer_in_size(&net->L[i])
                                       : (size_t)net->n_classes;
        zp_free(net->act[i]);
        if (!(net->act[i] = zp_alloc(per * (size_t)batch * sizeof(float))))
            return zp_err_set(err, ZP_ENOMEM, "train: out of memory for a batch of %d", batch);
    }
    for (int i = 0; i < net->n_layers; i++) {
        struct zp_tlayer *l = &net->L[i];
        if (l->kind == ZP_TL_CONV && !(l->k == 1 && l->stride == 1 && l->pad == 0)) {
            size_t rows = (size_t)l->c_in * l->k * l->k;
            size_t cols = (size_t)batch * l->h_out * l->w_out;
            /* also holds the input gradient's columns in backward */
            zp_free(l->col);
            if (!(l->col = zp_alloc(rows * cols * sizeof(float))))
                return zp_err_set(err, ZP_ENOMEM, "train: out of memory for im2col");
        }
    }
    zp_free(net->g0);
    zp_free(net->g1);
    net->g0 = zp_alloc(net->max_act * (size_t)batch * sizeof(float));
    net->g1 = zp_alloc(net->max_act * (size_t)batch * sizeof(float));
    if (!net->g0 || !net->g1)
        return zp_err_set(err, ZP_ENOMEM, "train: out of memory for a batch of %d", batch);
    net->cap = batch;
    return ZP_OK;
}

void zp_tlayer_forward(struct zp_tlayer *l, const float *x, float *y, int batch, int train)
{
    switch (l->kind) {
    case ZP_TL_CONV: zp_conv_forward(l, x, y, batch); break;
    case ZP_TL_DWCONV: zp_dwconv_forward(l, x, y, batch); break;
    case ZP_TL_FC: zp_fc_forward(l, x, y, batch); break;
    case ZP_TL_BN: zp_bn_forward(l, x, y, batch, train); break;
    case ZP_TL_RELU:
    case ZP_TL_RELU6: zp_act_forward(l, x, y, batch); break;
    case ZP_TL_AVGPOOL:
    case ZP_TL_GAP:
    case ZP_TL_FLATTEN: zp_pool_forward(l, x, y, batch); break;
    }
}

void zp_tlayer_backward(struct zp_tlayer *l, const float *x, const float *dy, float *dx,
                        int batch)
{
    switch (l->kind) {
    case ZP_TL_CONV: zp_conv_backward(l, x, dy, dx, batch); break;
    case ZP_TL_DWCONV: zp_dwconv_backward(l, x, dy, dx, batch); break;
    case ZP_TL_FC: zp_fc_backward(l, x, dy, dx, batch); break;
    case ZP_TL_BN: zp_bn_backward(l, x, dy, dx, batch); break;
    case ZP_TL_RELU:
    case ZP_TL_RELU6:
        if (dx)
            zp_act_backward(l, x, dy, dx, batch);
        break;
    case ZP_TL_AVGPOOL:
    case ZP_TL_GAP:
    case ZP_TL_FLATTEN:
        if (dx)
            zp_pool_backward(l, x, dy, dx, batch);
        break;
    }
}

const float *zp_tnet_forward(struct zp_tnet *net, const float *x_nchw, int batch, int train)
{
    const size_t hw = (size_t)net->in_h * net->in_w;
    float *a0 = net->act[0];
    for (int c = 0; c < net->in_c; c++)
        for (int n = 0; n < batch; n++)
            memcpy(a0 + ((size_t)c * batch + n) * hw, x_nchw + ((size_t)n * net->in_c + c) * hw,
                   hw * sizeof(float));
    for (int i = 0; i < net->n_layers; i++) {
        struct zp_tlayer *l = &net->L[i];
        if (l->q && net->pre_forward)
            net->pre_forward(net->hook_ctx, l, net->act[i], batch, train);
        zp_tlayer_forward(l, net->act[i], net->act[i + 1], batch, train);
    }
    return net->act[net->n_layers];
}

double zp_tnet_loss(struct zp_tnet *net, const int32_t *labels, int batch, int *correct)
{
    const int K = net->n_classes;
    const float *z = net->act[net->n_layers];
    float *g = net->g0;
    double loss = 0.0;
    int ok = 0;
    for (int n = 0; n < batch; n++) {
        double mx = z[n];
        int arg = 0;
        for (int k = 1; k < K; k++)
            if (z[(size_t)k * batch + n] > mx) {
                mx = z[(size_t)k * batch + n];
                arg = k;
            }
        double s = 0.0;
        for (int k = 0; k < K; k++)
            s += exp(z[(size_t)k * batch + n] - mx);
        int y = labels[n];
        loss += log(s) + mx - z[(size_t)y * batch + n];
        ok += arg == y;
        for (int k = 0; k < K; k++) {
            double p = exp(z[(size_t)k * batch + n] - mx) / s;
            g[(size_t)k * batch + n] = (float)((p - (k == y)) / batch);
        }
    }
    if (correct)
        *correct = ok;
    return loss / batch;
}

void zp_tnet_backward(struct zp_tnet *net, int batch)
{
    float *dy = net->g0, *dx = net->g1;
    for (int i = net->n_layers - 1; i >= 0; i--) {
        struct zp_tlayer *l = &net->L[i];
        float *dxi = i > 0 ? dx : NULL;
        zp_tlayer_backward(l, net->act[i], dy, dxi, batch);
        if (l->q && net->post_backward)
            net->post_backward(net->hook_ctx, l, dxi, batch);
        float *t = dy;
        dy = dx;
        dx = t;
    }
}

void zp_tnet_zero_grad(struct zp_tnet *net)
{
    for (int i = 0; i < net->n_layers; i++)
        for (int j = 0; j < net->L[i].n_params; j++)
            memset(net->L[i].p[j].g, 0, net->L[i].p[j].n * sizeof(float));
}

size_t zp_tnet_state_size(const struct zp_tnet *net)
{
    size_t s = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const struct zp_tlayer *l = &net->L[i];
        for (int j = 0; j < l->n_params; j++)
            s += 2 * l->p[j].n; /* weights + momentum */
        if (l->kind == ZP_TL_BN)
            s += 2 * (size_t)l->c_in;
    }
    return s;
}

void zp_train_flush_denormals(void)
{
#if defined(__SSE__) || defined(__x86_64__)
    _mm_setcsr(_mm_getcsr() | 0x8040); /* FTZ | DAZ */
#pragma omp parallel
    _mm_setcsr(_mm_getcsr() | 0x8040);
#endif
}

/* From OpenBLAS (cblas-openblas.h; not in every cblas.h). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

int zp_train_blas_threads(int n)
{
    int old = openblas_get_num_threads();
    openblas_set_num_threads(n);
    return old;
}
