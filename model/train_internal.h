/* Inside the training graph (model/graph_train.h): the state shared by the
 * executor (model/train_exec.c), the backward passes of the layers
 * (model/grad_conv.c) and of the other operators (model/grad_other.c).
 *
 * Every activation of the batch is kept: act[t] holds batch x size floats of
 * tensor t (image-major), grad[t] its gradient; a Flatten / Reshape alias shares
 * both buffers with its input, so its backward is nothing at all. */
#ifndef ZP_MODEL_TRAIN_INTERNAL_H
#define ZP_MODEL_TRAIN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "model/graph_internal.h"
#include "model/graph_train.h"

/* Weight-gradient sums over the batch are split into at most this many fixed
 * chunks of consecutive images (a function of the batch size only), each
 * summed by one thread in image order, then added up in chunk order: the
 * result does not depend on the number of threads. */
#define ZP_TG_MAX_CHUNKS 16

struct zp_tg_layer {
    float *dw, *db;             /* gradients (inside the parameter list) */
    zp_weight_fn wfn;
    void *wctx;
    float *wq;                  /* transformed weights (wfn set) */
    uint8_t *wmask;
    zp_input_fn ifn;
    void *ictx;
    float *xq;                  /* fake-quantized input, max_batch x input size */
    uint8_t *xmask;
};

struct zp_tg_bn {
    int node;
    float *dgamma, *dbeta;
    float *mean, *invstd;       /* statistics the last forward normalized with */
    int used_batch;             /* the last forward used batch statistics */
};

struct zp_tgraph {
    struct zp_graph *g;
    int max_batch, batch;
    int have_forward;
    float **act, **grad;        /* per tensor; NULL for constants */
    float *store;               /* the one allocation behind act and grad */
    int *gstart;                /* per tensor that owns a gradient buffer: the node whose
                                   backward writes it first (zeroed just before; n_nodes:
                                   the graph output), -2 for constants and aliases */
    struct zp_gparam *params;
    int n_params;
    struct zp_tg_layer *L;      /* per layer */
    struct zp_tg_bn *bn;
    int n_bn;
    int *node_bn;               /* per node: BN index or -1 */
    float **node_tab;           /* per node: a Gather's table gradient (a TABLE param), or NULL */
    double momentum;            /* < 0: each node's own */
    int bn_frozen;
    int nth;                    /* threads the scratch is sized for */
    float *scratch;             /* per thread: scratch_per floats */
    int64_t scratch_per;
    float *partial;             /* ZP_TG_MAX_CHUNKS x largest weight */
    float *tmp;                 /* max_batch x largest layer input (masked input gradients) */
};

/* Chunk c of n_chunks over batch images: [*i0, *i1). */
int zp_tg_chunks(int batch);
void zp_tg_chunk(int batch, int n_chunks, int c, int *i0, int *i1);

/* Per-thread scratch floats the forward and backward passes of node n need for
 * batches of up to max_batch images: column matrix and GEMM workspace
 * (model/grad_conv.c); 0 for nodes without products. */
int64_t zp_tg_layer_scratch(const struct zp_graph *g, const struct zp_node *n, int max_batch);

/* Backward of one node over the batch (t->batch images): adds to the gradients
 * of its activation inputs and parameters. x is the input the node computed
 * with (the fake-quantized copy for a layer with an input transform). */
void zp_tg_conv_backward(struct zp_tgraph *t, const struct zp_node *n, const float *x,
                         const float *w, float *dx);
void zp_tg_gemm_backward(struct zp_tgraph *t, const struct zp_node *n, const float *x,
                         const float *w, float *dx);
void zp_tg_other_backward(struct zp_tgraph *t, const struct zp_node *n);
/* model/grad_transformer.c: MatMul of two activations (per image, scratch of
 * zp_tg_layer_scratch floats) and Gather (the table gradient, images in order). */
int64_t zp_tg_matmul_scratch(const struct zp_node *n);
void zp_tg_matmul_backward(struct zp_tgraph *t, const struct zp_node *n);
void zp_tg_gather_backward(struct zp_tgraph *t, const struct zp_node *n);

/* BatchNormalization forward over the batch (train: batch statistics, running
 * ones updated, unless frozen) and its backward. */
void zp_tg_bn_forward(struct zp_tgraph *t, const struct zp_node *n, int train);
void zp_tg_bn_backward(struct zp_tgraph *t, const struct zp_node *n);

#endif
