/* The model runtime: a graph of float operators loaded from ONNX, run batched on
 * NCHW tensors, with hooks through which the harness fake-quantizes weights and
 * activations and observes layer inputs and outputs.
 *
 * "Layers" are the quantizable nodes: Conv, Gemm and MatMul with an initializer
 * as weight. They are numbered 0..n-1 in execution order. */
#ifndef ZP_MODEL_GRAPH_H
#define ZP_MODEL_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zp_graph;

struct zp_layer_info {
    const char *name;      /* ONNX node name (or output name when the node has none) */
    const char *op;        /* "Conv", "Gemm", "MatMul" */
    int depthwise;         /* Conv with group == input channels == output channels */
    int group;             /* Conv groups, 1 otherwise */
    const float *weight;   /* float weights as loaded (BN folded); layout as ONNX
                              ([O, I/g, kh, kw] for Conv; Gemm/MatMul stored as [O, I]:
                              the loader transposes so that axis 0 is always output channels) */
    int64_t wshape[4];
    int wndim;
    const float *bias;     /* n_out entries, NULL if none */
    int64_t n_out;         /* output channels */
    int64_t in_shape[4];   /* input activation shape without batch: [C, H, W] or [K] */
    int in_ndim;
    int64_t out_shape[4];  /* output activation shape without batch */
    int out_ndim;
    int64_t pads[4];       /* Conv: top, left, bottom, right (after auto_pad) */
    int64_t strides[2], dilations[2], kernel[2];
    int relu_after;        /* 1 when the only consumer is Relu, 6 when it is Clip(0,6), 0 otherwise */
};

/* Hooks for one forward pass; any member may be NULL. Callbacks run on the calling
 * thread, once per layer per batch, in execution order. */
struct zp_run_hooks {
    void *ctx;
    /* Replacement weights / biases per layer (NULL entry = the model's own). */
    const float *const *weights;
    const float *const *biases;
    /* Called with the layer's input (a private, writable copy: batch x in_shape)
     * before the layer runs; may quantize it in place. */
    void (*layer_input)(void *ctx, int layer, float *x, int batch);
    /* What the layer's implicit zero padding reads (Conv only): the value real 0.0
     * decodes to under the input's quantization. NULL = 0.0 for every layer. */
    const float *pad_value;
    /* Thread-safe alternative to layer_input for the fast schedule: called once per
     * image from the worker threads with that image's private copy of the layer
     * input (in_shape values), which it may edit in place. Must not start OpenMP
     * work itself. Ignored when layer_input is set. */
    void (*layer_input_image)(void *ctx, int layer, float *x);
    /* Called with the layer's output (batch x out_shape) before any activation,
     * which it may edit in place (a quantization point at the convolution output,
     * where 2017-era graphs placed fake-quant ops); runs before layer_output. */
    void (*layer_output_edit)(void *ctx, int layer, float *y, int batch);
    /* Called with the layer's output (batch x out_shape) before any activation. */
    void (*layer_output)(void *ctx, int layer, const float *y, int batch);
};

/* Loads an ONNX model. BatchNormalization is folded into the preceding Conv.
 * Unsupported operators, attributes or data types are errors naming the node. */
enum zp_status zp_onnx_load(const char *path, struct zp_graph **out, struct zp_err *err);
/* Same from a buffer (the fuzz target uses this). */
enum zp_status zp_onnx_load_buffer(const void *buf, size_t len, const char *what,
                                   struct zp_graph **out, struct zp_err *err);
void zp_graph_free(struct zp_graph *g);

/* Input shape without batch ([C, H, W] or [K]); returns ndim. */
int zp_graph_input_shape(const struct zp_graph *g, int64_t shape[4]);
/* Number of output values per input (classes). */
int64_t zp_graph_output_size(const struct zp_graph *g);

int zp_graph_num_layers(const struct zp_graph *g);
const struct zp_layer_info *zp_graph_layer(const struct zp_graph *g, int i);

/* Prints the graph, parameter counts and per-layer weight ranges (harness inspect). */
void zp_graph_print(const struct zp_graph *g, void *file /* FILE* */);

/* Runs `batch` inputs (batch x input shape, NCHW) and writes batch x output_size
 * logits. Uses all threads of the OpenMP pool. */
enum zp_status zp_graph_run(struct zp_graph *g, const float *input, int batch, float *logits,
                            const struct zp_run_hooks *hooks, struct zp_err *err);

/* The ISA level (enum zp_isa of kernels/kernels.h) the runtime's float vector
 * paths run at: ZP_ISA_AVX512BW when the CPU (under the ISA limit) has it and
 * the AVX-512 convolution paths are on, else ZP_ISA_REF (OpenBLAS sgemm and
 * portable loops). For run.json. */
int zp_model_isa(void);

#ifdef __cplusplus
}
#endif
#endif
