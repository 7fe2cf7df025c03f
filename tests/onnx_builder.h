/* A tiny ONNX builder for the runtime's tests: models built message by message
 * with protobuf-c (the same structures an ONNX exporter writes), packed to bytes
 * and loaded through zp_onnx_load_buffer; plus the tests' random inputs, a run
 * that fails the test on error, an elementwise closeness check, and the
 * finite-difference gradient checks of the training graph. */
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
/* An int64 input (token ids; the runtime takes them as floats holding integers). */
void mb_input_i64(struct mb *b, const char *name, int nd, const int64_t *dims);
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
/* Loads, expecting status want and an error message containing needle. */
void mb_expect_error(struct mb *b, enum zp_status want, const char *needle);
/* Packs, frees the builder and writes the model to path (failing the test on error). */
void mb_save(struct mb *b, const char *path);
/* The same through zp_onnx_load_train_buffer (BatchNormalization kept as nodes). */
struct zp_graph *mb_load_train_ok(struct mb *b);
float *mb_randv(size_t n, unsigned seed);
void mb_run(struct zp_graph *g, const float *x, int batch, float *y,
                const struct zp_run_hooks *h);
void mb_assert_close(const float *got, const float *want, size_t n, double tol);

/* Training graph checks (tests/test_graph_grad.c, tests/test_graph_train.c): the
 * model/graph_train.h calls, failing the test on error. */
struct zp_tgraph;
struct zp_tgraph *mb_tgraph_new(struct zp_graph *g, int batch);
const float *mb_tforward(struct zp_tgraph *t, const float *x, int batch, int train);
void mb_tbackward(struct zp_tgraph *t, const float *dy);
/* sum r[i] * logits[i] over n logits after a forward of x, in double */
double mb_loss_r(struct zp_tgraph *t, const float *x, int batch, int train, const float *r,
                 int64_t n);
/* Entries of a tensor mb_fd_compare visits, spread over it (default 40). */
extern size_t mb_fd_entries;
/* Central differences of mb_loss_r in v (perturbed in place and restored; v is an
 * input or parameter of t's graph) against the analytic gradient an (n values).
 * A difference quotient that straddles a Relu kink is retried at smaller steps:
 * the analytic value must match at one of 1e-3, 3e-4, 1e-4 (relative 2e-2 of the
 * tensor's largest gradient, plus the float rounding of the two losses). */
void mb_fd_compare(struct zp_tgraph *t, float *x, int batch, int train, const float *r,
                   int64_t nout, float *v, const float *an, size_t n, const char *what);
/* The check of the input gradient and of every parameter's of graph g (an int64
 * input: its gradient must be 0, ids are not perturbed). */
void mb_check_grads(struct zp_graph *g, float *x, int batch, int train, const char *what);
/* n distinct inputs 0.03 apart, none within 0.02 of 0 or +-0.5 (Relu, Clip and
 * MaxPool kinks and ties stay farther than any step). malloc'd. */
float *mb_kinkfree(size_t n, unsigned seed);
/* Initializers: a Conv weight [O, I, k, k] (and bias when named) and a BN's
 * <pre>_g, _b, _m, _v (gamma near 1, var in [0.5, 0.9]), from the seed. */
void mb_conv_init(struct mb *b, const char *w, const char *bias, int64_t O, int64_t I, int64_t k,
                  unsigned seed);
void mb_bn_init(struct mb *b, const char *pre, int64_t C, unsigned seed);

#endif
