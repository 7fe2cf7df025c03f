/* The training runtime: a sequential network of layers, each with a forward and
 * a backward pass, on batches held channel-major ("CNHW": every channel's values
 * for the whole batch are one contiguous row).
 *
 * Why CNHW: a 1x1 convolution over the whole batch is then a single sgemm
 * W[O, I] x X[I, N*H*W], batch normalization statistics are sums over one
 * contiguous row, and work splits over channels with no shared accumulator, so
 * every reduction runs in a fixed order whatever the thread timing (determinism).
 * A fully connected layer sees its input as [features, N]. */
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
    ZP_TL_BN,      /* batch normalization (training: batch statistics) */
    ZP_TL_RELU,
    ZP_TL_RELU6,
    ZP_TL_AVGPOOL, /* k x k window, stride s, no padding */
    ZP_TL_GAP,     /* global average pooling: CNHW -> [C, N] */
    ZP_TL_FLATTEN, /* CNHW -> [C*H*W, N] (the ONNX Flatten of NCHW) */
    ZP_TL_FC,      /* y = W x + b, W [O, I] */
};

/* One trainable tensor with its gradient and momentum buffer. */
struct zp_tparam {
    float *w, *g, *m;
    size_t n;
    int decay; /* weight decay applies (conv / fc weights, not BN or biases) */
};

struct zp_qat_layer; /* train/qat.c: fake-quant state of one conv / fc layer */

struct zp_tlayer {
    enum zp_tl_kind kind;
    int c_in, h_in, w_in;    /* per-example input shape (FC: c_in features, h = w = 1) */
    int c_out, h_out, w_out; /* per-example output shape */
    int k, stride, pad;      /* CONV, DWCONV, AVGPOOL */
    struct zp_tparam p[2];   /* CONV/DWCONV: w; FC: w, b; BN: gamma, beta */
    int n_params;
    float *run_mean, *run_var;     /* BN running statistics (momentum 0.1, unbiased var) */
    float *bmean, *binvstd;        /* BN statistics of the last training batch */
    float eps;
    int act;                       /* BN: activation fused after it: 0 none, 1 ReLU, 6 ReLU6
                                      (saves a pass over memory each way) */
    float *col;                    /* CONV im2col workspace (NULL for 1x1 stride 1) */
    int bn_frozen;                 /* BN: use running statistics even in training */
    int bn_used_batch;             /* BN: the last forward normalized with batch statistics */
    /* QAT: weights the forward / backward compute with instead of p[0].w (the
     * fake-quantized weights); NULL in float training. */
    const float *w_eff;
    struct zp_qat_layer *q;        /* non-NULL during QAT (conv / dwconv / fc) */
};

struct zp_tnet {
    int n_layers;
    struct zp_tlayer *L;
    int in_c, in_h, in_w; /* input shape per example */
    int n_classes;
    int cap;              /* batch capacity of the buffers */
    float **act;          /* act[i]: input of layer i (CNHW), act[n_layers]: logits [classes, N] */
    float *g0, *g1;       /* gradient ping-pong buffers, largest activation size */
    size_t max_act;       /* floats per example of the largest activation */
    /* QAT hooks (NULL in float training): before a layer with l->q runs forward
     * (may fake-quantize its input x in place and set l->w_eff), and after its
     * backward (straight-through masks on dx and the weight gradient). */
    void *hook_ctx;
    void (*pre_forward)(void *ctx, struct zp_tlayer *l, float *x, int batch, int train);
    void (*post_backward)(void *ctx, struct zp_tlayer *l, float *dx, int batch);
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
/* Generic builder: layers given by kind/shape parameters (tests use it). Each
 * spec needs kind, and k/stride/pad for CONV, DWCONV, AVGPOOL, c_out for CONV and
 * FC; shapes are propagated from the input shape. */
enum zp_status zp_tnet_build(const struct zp_tlayer *spec, int n, int in_c, int in_h, int in_w,
                             uint64_t seed, struct zp_tnet **out, struct zp_err *err);
void zp_tnet_free(struct zp_tnet *net);

/* Makes sure buffers hold `batch` examples. */
enum zp_status zp_tnet_reserve(struct zp_tnet *net, int batch, struct zp_err *err);

/* Forward pass of `batch` examples given NCHW (x is copied to CNHW). train != 0
 * uses batch statistics in BN and updates the running ones. Returns the logits
 * buffer [classes, N] (class-major). */
const float *zp_tnet_forward(struct zp_tnet *net, const float *x_nchw, int batch, int train);
/* Softmax cross-entropy of the last forward's logits against labels: returns the
 * mean loss, writes d(loss)/d(logits) into net->g0 and counts correct top-1. */
double zp_tnet_loss(struct zp_tnet *net, const int32_t *labels, int batch, int *correct);
/* Backward pass from d(loss)/d(logits) in net->g0; accumulates (+=) parameter
 * gradients. Call zp_tnet_zero_grad first. */
void zp_tnet_backward(struct zp_tnet *net, int batch);
void zp_tnet_zero_grad(struct zp_tnet *net);

/* Per-layer passes (exposed for the gradient tests). x, y, dy, dx are CNHW
 * buffers of `batch` examples; dx may be NULL (gradient w.r.t. the input not
 * needed). Backward accumulates into the layer's parameter gradients. */
void zp_tlayer_forward(struct zp_tlayer *l, const float *x, float *y, int batch, int train);
void zp_tlayer_backward(struct zp_tlayer *l, const float *x, const float *dy, float *dx,
                        int batch);

/* Flushes denormal floats to zero on every OpenMP thread (and the caller).
 * Why: late in training tiny gradients become denormal and each operation on
 * one costs ~100 cycles; the BN backward pass slowed down 10x without this. */
void zp_train_flush_denormals(void);
/* Sets OpenBLAS's own thread count (the training layers split sgemm over the
 * OpenMP threads themselves and want OpenBLAS at 1); returns the previous count
 * so the caller can restore it. */
int zp_train_blas_threads(int n);

/* Number of trainable + state floats (checkpoint size check). */
size_t zp_tnet_state_size(const struct zp_tnet *net);

#ifdef __cplusplus
}
#endif
#endif
