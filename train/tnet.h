/* The built-in architectures as a sequential list of layers with their
 * parameters: what the shipped configs' "model" objects describe, built with
 * He-initialized weights from a seed. It is a description, not an engine:
 * training runs on the graph runtime (train/gtrain.h), which loads the list
 * written as ONNX with BN kept (train/onnx_export.h, zp_train_model_onnx);
 * checkpoints of the former layer runtime are read back into it
 * (train/checkpoint.c). */
#ifndef ZP_TRAIN_TNET_H
#define ZP_TRAIN_TNET_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

enum zp_tl_kind {
    ZP_TL_CONV,    /* groups = 1, any kernel / stride / pad, no bias */
    ZP_TL_DWCONV,  /* depthwise: one k x k filter per channel, no bias */
    ZP_TL_BN,      /* batch normalization (trains with batch statistics) */
    ZP_TL_RELU,
    ZP_TL_RELU6,
    ZP_TL_AVGPOOL, /* k x k window, stride s, no padding */
    ZP_TL_GAP,     /* global average pooling: [C, H, W] -> [C, 1, 1] */
    ZP_TL_FLATTEN, /* [C, H, W] -> [C*H*W] (the ONNX Flatten, axis 1) */
    ZP_TL_FC,      /* y = W x + b, W [O, I] */
};

/* One trainable tensor. */
struct zp_tparam {
    float *w;
    size_t n;
    int decay; /* weight decay applies (conv / fc weights, not BN or biases) */
};

struct zp_tlayer {
    enum zp_tl_kind kind;
    int c_in, h_in, w_in;    /* per-example input shape (FC: c_in features, h = w = 1) */
    int c_out, h_out, w_out; /* per-example output shape */
    int k, stride, pad;      /* CONV, DWCONV, AVGPOOL */
    struct zp_tparam p[2];   /* CONV/DWCONV: w; FC: w, b; BN: gamma, beta */
    int n_params;
    float *run_mean, *run_var;     /* BN running statistics */
    float eps;
    int act;                       /* BN: activation after it: 0 none, 1 ReLU, 6 ReLU6 */
};

struct zp_tnet {
    int n_layers;
    struct zp_tlayer *L;
    int in_c, in_h, in_w; /* input shape per example */
    int n_classes;
};

/* Architecture descriptions (what a config's "model" section resolves to). */
#define ZP_TNET_MAX_BLOCKS 16
struct zp_mobilenet_arch {
    int in_c, in_h, in_w, n_classes;
    int stem;                        /* output channels of the standard 3x3 conv */
    int stem_stride;
    int n_blocks;
    int block_out[ZP_TNET_MAX_BLOCKS];    /* pointwise output channels */
    int block_stride[ZP_TNET_MAX_BLOCKS]; /* depthwise stride (1 or 2) */
    /* 1: no ReLU6 after the block's pointwise conv + BN (a MobileNet-v2 "linear
     * bottleneck"), so the next depthwise conv reads a signed input. 0 (the
     * default of a zeroed struct) keeps the v1 block. */
    int block_linear[ZP_TNET_MAX_BLOCKS];
};
struct zp_mlp_arch {
    int in_c, in_h, in_w, n_classes;
    int n_hidden;
    int hidden[ZP_TNET_MAX_BLOCKS];
};

/* Builds a network with He-initialized weights drawn from `seed`. */
enum zp_status zp_tnet_mobilenet(const struct zp_mobilenet_arch *a, uint64_t seed,
                                 struct zp_tnet **out, struct zp_err *err);
enum zp_status zp_tnet_mlp(const struct zp_mlp_arch *a, uint64_t seed, struct zp_tnet **out,
                           struct zp_err *err);
/* Generic builder: layers given by kind/shape parameters (checkpoints, tests). Each
 * spec needs kind, and k/stride/pad for CONV, DWCONV, AVGPOOL, c_out for CONV and
 * FC; shapes are propagated from the input shape. */
enum zp_status zp_tnet_build(const struct zp_tlayer *spec, int n, int in_c, int in_h, int in_w,
                             uint64_t seed, struct zp_tnet **out, struct zp_err *err);
void zp_tnet_free(struct zp_tnet *net);

/* Flushes denormal floats to zero on every OpenMP thread (and the caller).
 * Why: late in training tiny gradients become denormal and each operation on
 * one costs ~100 cycles; the BN backward pass slowed down 10x without this. */
void zp_train_flush_denormals(void);

#ifdef __cplusplus
}
#endif
#endif
