/* A tiny ONNX builder for the runtime's tests: models built message by message
 * with protobuf-c (the same structures an ONNX exporter writes), packed to bytes
 * and loaded through zp_onnx_load_buffer; plus the tests' random inputs, a run
 * that fails the test on error, and an elementwise closeness check. */
#ifndef ZP_TESTS_ONNX_BUILDER_H
#define ZP_TESTS_ONNX_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"

#include "model/graph.h"

struct mb {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opset, *opsets[1];
    Onnx__NodeProto *nodes[64];
    Onnx__TensorProto *inits[64];
    Onnx__ValueInfoProto *ins[4], *outs[4];
    void *allocs[2048];
    int n_allocs;
    int raw; /* alternate raw_data / float_data */
};

void *mb_alloc(struct mb *b, size_t n);
char *mb_str(struct mb *b, const char *s);
void mb_begin(struct mb *b, int64_t opset);
Onnx__ValueInfoProto *mb_vi(struct mb *b, const char *name, int nd, const int64_t *dims);
void mb_input(struct mb *b, const char *name, int nd, const int64_t *dims);
void mb_output(struct mb *b, const char *name);
Onnx__TensorProto *mb_tensor(struct mb *b, const char *name, int nd, const int64_t *dims);
void mb_init_f(struct mb *b, const char *name, int nd, const int64_t *dims, const float *v);
void mb_init_i64(struct mb *b, const char *name, int n, const int64_t *v);
char **mb_names(struct mb *b, const char *list, size_t *n);
Onnx__NodeProto *mb_node(struct mb *b, const char *op, const char *name, const char *in,
                                const char *out);
Onnx__AttributeProto *mb_attr(struct mb *b, Onnx__NodeProto *n, const char *name, int type);
void mb_attr_i(struct mb *b, Onnx__NodeProto *n, const char *name, int64_t v);
void mb_attr_f(struct mb *b, Onnx__NodeProto *n, const char *name, float v);
void mb_attr_s(struct mb *b, Onnx__NodeProto *n, const char *name, const char *v);
void mb_attr_ints(struct mb *b, Onnx__NodeProto *n, const char *name, int cnt,
                         const int64_t *v);
enum zp_status mb_load(struct mb *b, struct zp_graph **g, struct zp_err *err);
struct zp_graph *mb_load_ok(struct mb *b);
/* The same through zp_onnx_load_train_buffer (BatchNormalization kept as nodes). */
struct zp_graph *mb_load_train_ok(struct mb *b);
float *mb_randv(size_t n, unsigned seed);
void mb_run(struct zp_graph *g, const float *x, int batch, float *y,
                const struct zp_run_hooks *h);
void mb_assert_close(const float *got, const float *want, size_t n, double tol);

#endif
