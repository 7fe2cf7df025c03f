/* Writes a trained network (train/tnet.h) as an ONNX model for deployment:
 * BatchNormalization folded into the preceding convolution (running statistics),
 * ReLU6 as Clip(0, 6) with scalar min / max initializers (opset 13 input form),
 * ReLU, GlobalAveragePool, AveragePool, Flatten(axis 1) and Gemm(transB = 1):
 * the operators the loader (model/graph.h) supports. Input "input" is NCHW with
 * a symbolic batch dimension "N"; the output is "logits". It lives in train/
 * because it serialises a training network; the runtime (model/) only reads ONNX. */
#ifndef ZP_TRAIN_ONNX_EXPORT_H
#define ZP_TRAIN_ONNX_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "train/tnet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* name: the graph name; doc: the model's doc_string (how it was produced, the
 * input normalization). The file is written to a temporary name then renamed. */
enum zp_status zp_onnx_export(const struct zp_tnet *net, const char *path, const char *name,
                              const char *doc, struct zp_err *err);

/* The same into a malloc'ed buffer (free() it). keep_bn != 0 writes every
 * BatchNormalization as a node with its running statistics (epsilon, momentum
 * 0.9 in ONNX's convention) and convolutions without bias: the training graph a
 * loader that keeps BN trains, and that any ONNX runtime folds or runs. */
enum zp_status zp_onnx_export_buffer(const struct zp_tnet *net, int keep_bn, const char *name,
                                     const char *doc, uint8_t **buf, size_t *len,
                                     struct zp_err *err);

/* The folded weights and bias of conv / fc layer i (followed by BN or not): w gets
 * the layer's weight count, b its output channels. Used by the exporter and QAT. */
void zp_fold_bn(const struct zp_tnet *net, int i, float *w, float *b);

#ifdef __cplusplus
}
#endif
#endif
