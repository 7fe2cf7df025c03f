/* Writes a trained graph back into the ONNX model it was loaded from, for
 * deployment: every layer's (Conv, Gemm, MatMul) weight and bias initializer
 * takes the trained values; every BatchNormalization folded into its Conv
 * (model/graph_train.h zp_graph_fold_bn) is removed, the Conv writing the BN's
 * output name and gaining a bias if it had none; a BN left as a node gets its
 * trained scale, shift and running statistics. Everything else (other nodes,
 * names, opset, metadata, the doc string unless one is given) is the source's.
 * Edits the decoded protobuf (onnx.pb-c) and packs it again: the one writer of
 * new graphs is train/onnx_export.c; this only replaces tensors in a given one. */
#ifndef ZP_TRAIN_ONNX_REWRITE_H
#define ZP_TRAIN_ONNX_REWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "model/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A BatchNormalization node of the training graph as trained (values copied
 * before the fold, which turns the node into a fixed affine). */
struct zp_bn_record {
    char name[128];      /* node name, or its output's name when it has none */
    int after_layer;     /* folded into this layer's Conv; -1: stays a node */
    int64_t channels;
    float *gamma, *beta, *mean, *var; /* owned (zp_bn_records_free) */
};
void zp_bn_records_free(struct zp_bn_record *r, int n);

/* src / len: the training graph's ONNX bytes; g: the graph loaded from them,
 * trained and folded. *out (free()) receives the packed model. doc: NULL keeps
 * the source's doc string. Errors name the node or tensor that cannot be
 * mapped (a weight initializer shared by two nodes, a layer not in the file). */
enum zp_status zp_onnx_rewrite(const uint8_t *src, size_t len, const struct zp_graph *g,
                               const struct zp_bn_record *bn, int n_bn, const char *doc,
                               uint8_t **out, size_t *out_len, struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
