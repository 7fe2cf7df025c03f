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
    int channels_last;     /* MatMul of a rank >= 3 input: input [..., K] and output [..., n_out]
                              per image are rows, the channel the LAST axis (else the first) */
};

/* Hooks for one forward pass; any member may be NULL.
 *
 * Two families, which must not be mixed in one run (zp_graph_run refuses it):
 *
 *  - Batch hooks (layer_input, layer_output_edit, layer_output) see a whole batch
 *    of one layer at a time. They select the node-by-node schedule: each node over
 *    the whole batch, callbacks between nodes, run on the calling thread once per
 *    layer per batch in execution order (so they may use OpenMP themselves). It is
 *    ~3.4x slower than the fast schedule on a real model (the batch's activations
 *    leave the cache between nodes): keep it for a statistic that truly needs the
 *    whole batch at once.
 *
 *  - Per-image hooks (the *_image members) run inside the fast schedule: from the
 *    worker threads, once per image per layer, while that image goes through the
 *    whole graph in its thread's cache-resident workspace. Each call gets the
 *    image's index in the batch (0..batch-1) and the calling thread's index
 *    (0..zp_graph_max_threads()-1). They must be thread-safe (write only to
 *    per-image or per-thread storage) and must not start OpenMP work. Images go
 *    to the threads dynamically, so which thread sees which image varies from
 *    run to run: for results that do not depend on timing, accumulate per image
 *    (by the image index) and reduce in image order after the run, or accumulate
 *    per thread only what is exact in any order (integer counts, min, max).
 *    Within one image the calls come in execution order: layer l's input hooks,
 *    then its output hooks, before layer l+1's.
 *
 * Output hooks of both families see a layer's output before its activation
 * (Relu / Clip); the activation is applied after them. */
struct zp_run_hooks {
    void *ctx;
    /* Replacement weights / biases per layer (NULL entry = the model's own). */
    const float *const *weights;
    const float *const *biases;
    /* What the layer's implicit zero padding reads (Conv only): the value real 0.0
     * decodes to under the input's quantization. NULL = 0.0 for every layer. */
    const float *pad_value;
    /* Per layer: NULL, or one upper clamp per output channel for the layer's fused
     * activation (Relu / Clip, see relu_after) instead of the model's one: a ReLU6
     * whose channels cross-layer equalization rescaled clips channel i at 6 / s_i
     * (ptq/equalize.h). Only fused activations (an activation whose input has
     * other readers keeps its own), and only in the fast schedule (per-image
     * hooks): zp_graph_run refuses it with batch hooks. NULL = none. */
    const float *const *act_hi;
    /* Per lookup table (zp_graph_table: a Gather's embedding), replacement values of
     * its shape, e.g. the table fake-quantized; NULL entry = the model's own. Fast
     * schedule only (zp_graph_run refuses it with batch hooks). NULL = none. */
    const float *const *tables;

    /* -- batch hooks (node-by-node schedule) -- */
    /* Called with the layer's input (a private, writable copy: batch x in_shape)
     * before the layer runs; may quantize it in place. */
    void (*layer_input)(void *ctx, int layer, float *x, int batch);
    /* Called with the layer's output (batch x out_shape) before any activation,
     * which it may edit in place (a quantization point at the convolution output,
     * where 2017-era graphs placed fake-quant ops); runs before layer_output. */
    void (*layer_output_edit)(void *ctx, int layer, float *y, int batch);
    /* Called with the layer's output (batch x out_shape) before any activation. */
    void (*layer_output)(void *ctx, int layer, const float *y, int batch);

    /* -- per-image hooks (fast schedule) -- */
    /* Sees one image's layer input (in_shape values) as the layer will read it;
     * runs before layer_input_image. */
    void (*layer_input_observe_image)(void *ctx, int layer, int image, int thread,
                                      const float *x);
    /* One image's layer input x (in_shape values, read-only) to be written, edited
     * (quantized), into out, a private buffer of the same size: the layer reads out.
     * The hook writes every value of out (a copy where it edits nothing); reading
     * x and writing out in one pass is what spares a copy per layer. */
    void (*layer_input_image)(void *ctx, int layer, int image, int thread, const float *x, float *out);
    /* One image's layer output (out_shape values) before its activation, editable
     * in place; runs before layer_output_image. */
    void (*layer_output_edit_image)(void *ctx, int layer, int image, int thread, float *y);
    /* One image's layer output before its activation (after layer_output_edit_image). */
    void (*layer_output_image)(void *ctx, int layer, int image, int thread, const float *y);
    /* One image's two operands of MatMul i of two activations (zp_graph_act_matmul:
     * attention's Q K^T and P V), private writable copies, before it runs: may
     * quantize them in place; the MatMul reads the edited copies. */
    void (*act_matmul_image)(void *ctx, int i, int image, int thread, float *a, float *b);
};

/* The largest thread index + 1 a per-image hook can see in the next zp_graph_run
 * (the OpenMP pool size): the number of per-thread accumulators to allocate. */
int zp_graph_max_threads(void);

/* Loads an ONNX model. BatchNormalization is folded into the preceding Conv.
 * Unsupported operators, attributes or data types are errors naming the node. */
enum zp_status zp_onnx_load(const char *path, struct zp_graph **out, struct zp_err *err);
/* Same from a buffer (the fuzz target uses this). */
enum zp_status zp_onnx_load_buffer(const void *buf, size_t len, const char *what,
                                   struct zp_graph **out, struct zp_err *err);
void zp_graph_free(struct zp_graph *g);
/* Checks every node of an ONNX model instead of stopping at the first problem
 * (harness inspect): calls report(ctx, message) once per node that cannot be
 * loaded (the message names the node, its operator and why); nodes that only
 * read the outputs of such a node are not reported again. *n_bad = the count.
 * ZP_OK when the model loads; ZP_EUNSUPPORTED / ZP_EFORMAT when nodes failed
 * (err: the first); other errors (unreadable file, bad input) as zp_onnx_load. */
enum zp_status zp_onnx_check(const char *path, void (*report)(void *ctx, const char *msg),
                             void *ctx, int *n_bad, struct zp_err *err);
/* The importer's op table (model/onnx_ops.c), the one source of docs/ops.md and
 * `harness inspect --ops`: as a Markdown table. */
void zp_op_table_markdown(void *file /* FILE* */);

/* Input shape without batch ([C, H, W] or [K]); returns ndim. A graph of several
 * inputs takes them concatenated per image (every input's values in graph
 * order, image after image): its shape here is that flat [total]. */
int zp_graph_input_shape(const struct zp_graph *g, int64_t shape[4]);
/* The graph inputs: how many, and input i's name, shape without batch (returns
 * its ndim, -1 for a bad i), whether it is int64 ids, and where its values
 * start in each image's concatenated input (floats). Any out pointer may be NULL. */
int zp_graph_num_inputs(const struct zp_graph *g);
int zp_graph_input_info(const struct zp_graph *g, int i, const char **name, int64_t shape[4],
                        int *is_index, int64_t *offset);
/* 1 when the (first) graph input is int64 (token ids): zp_graph_run and the training
 * forward then take its values as floats holding the integers (exact below
 * 2^24; zp_graph_run refuses a non-integer or, for a Gather reading the input,
 * an id outside the table). */
int zp_graph_input_is_index(const struct zp_graph *g);
/* Number of output values per input (classes). */
int64_t zp_graph_output_size(const struct zp_graph *g);

int zp_graph_num_layers(const struct zp_graph *g);
/* The MatMuls of two activations (no constant operand: attention's Q K^T and
 * P V), in execution order: how many, and the node name of the i-th with its
 * operands' sizes per image (*na, *nb values; either may be NULL). */
int zp_graph_num_act_matmuls(const struct zp_graph *g);
/* The constant lookup tables (Gather data: a language model's token embedding), in
 * node order: how many, and the i-th's name, rows x cols and values (the model's).
 * Any out pointer may be NULL. */
int zp_graph_num_tables(const struct zp_graph *g);
const char *zp_graph_table(const struct zp_graph *g, int i, int64_t *rows, int64_t *cols,
                           const float **data);
const char *zp_graph_act_matmul(const struct zp_graph *g, int i, int64_t *na, int64_t *nb);
const struct zp_layer_info *zp_graph_layer(const struct zp_graph *g, int i);

/* The layer whose output, through nothing or its fused Relu / Clip(0, 6)
 * (relu_after 1 or 6), is layer l's input and read by nothing else, or -1: the
 * pairs cross-layer equalization may rescale (a positive channel scale of the
 * first layer's output passes through a ReLU to the second's input channels). */
int zp_graph_layer_source(const struct zp_graph *g, int l);

/* Prints the graph, parameter counts and per-layer weight ranges (harness inspect). */
void zp_graph_print(const struct zp_graph *g, void *file /* FILE* */);

/* Runs `batch` inputs (batch x input shape, NCHW) and writes batch x output_size
 * logits. Uses all threads of the OpenMP pool. ZP_EINVAL when hooks mixes batch
 * and per-image callbacks (see struct zp_run_hooks). */
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
