/* Internal to the ONNX importer (model/onnx_load.c, onnx_attrs.c,
 * onnx_nodes_layers.c, onnx_nodes_other.c): the loader state, the node being
 * converted and the functions they share. Not used outside model/. */
#ifndef ZP_MODEL_ONNX_LOAD_INTERNAL_H
#define ZP_MODEL_ONNX_LOAD_INTERNAL_H

#include <stdint.h>

#include "onnx.pb-c.h"

#include "common/err.h"
#include "model/graph_internal.h"

struct loader {
    struct zp_graph *g;
    const char *what;
    struct zp_err *err;
    char **hkeys; /* name -> tensor index (open addressing) */
    int *hvals;
    size_t hcap;
    int keep_bn; /* zp_onnx_load_train: BatchNormalization stays a ZP_OP_BN node */
    /* zp_onnx_check: every failing node is reported and loading goes on; the
     * outputs of a failed node (and of nodes reading them) are marked unknown */
    void (*report)(void *ctx, const char *msg);
    void *report_ctx;
    int n_bad;
    unsigned char *unknown; /* per tensor */
    struct zp_err first;    /* the first problem reported */
};

struct nctx { /* the node being converted */
    struct loader *L;
    const Onnx__NodeProto *np;
    const char *name, *op;
    const int *consumers; /* readers of each tensor over the whole graph, filled for
                             BatchNormalization inputs only (see build()) */
};

/* Attribute types, short: the check_attrs tables of the operators. */
enum {
    AI = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT,
    AIS = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS,
    AF = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT,
    AS = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING,
    AT = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR
};

#define NERR(c, st, ...) ol_node_err((c), (st), __VA_ARGS__)

/* model/onnx_load.c */
const char *ol_str_or(const char *s, const char *dflt);
char *ol_keep_str(struct zp_graph *g, const char *s);
int ol_lookup(const struct loader *L, const char *name);
void ol_bind(struct loader *L, const char *name, int t);
int ol_new_tensor(struct loader *L, const char *name);
int64_t ol_prod(const int64_t *d, int n);
int ol_dims_ok(const int64_t *d, int n, int64_t min_dim, int64_t *size);
enum zp_status ol_load_const(struct loader *L, const Onnx__TensorProto *tp, const char *name,
                                 int *out);

/* model/onnx_attrs.c */
enum zp_status ol_node_err(struct nctx *c, enum zp_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const Onnx__AttributeProto *ol_attr(struct nctx *c, const char *name);
enum zp_status ol_check_attrs(struct nctx *c, const char *const *allowed, const int *types);
int64_t ol_attr_i(struct nctx *c, const char *name, int64_t dflt);
float ol_attr_f(struct nctx *c, const char *name, float dflt);
/* the STRING attribute equals val (absent: dflt does) */
int ol_attr_str_is(struct nctx *c, const char *name, const char *val, const char *dflt);
enum zp_status ol_attr_ints(struct nctx *c, const char *name, int64_t *v, size_t n,
                                int *present);
enum zp_status ol_input_at(struct nctx *c, size_t i, int *t);
enum zp_status ol_need_inputs(struct nctx *c, size_t lo, size_t hi);
struct zp_tensor *ol_T(struct nctx *c, int t);
enum zp_status ol_need_act(struct nctx *c, int t, const char *what, int min_nd, int max_nd);
enum zp_status ol_need_const(struct nctx *c, int t, const char *what, int fl);
enum zp_status ol_add_output(struct nctx *c, struct zp_node *n, int ndim, const int64_t *dims);
enum zp_status ol_add_output_k(struct nctx *c, struct zp_node *n, size_t k, int ndim,
                               const int64_t *dims);
enum zp_status ol_add_named_output(struct nctx *c, struct zp_node *n, const char *on, size_t k,
                                   int ndim, const int64_t *dims);
enum zp_status ol_alias_output(struct nctx *c, int t);
enum zp_status ol_window_attrs(struct nctx *c, struct zp_node *n, int64_t H, int64_t W,
                                   int64_t *OH, int64_t *OW);

/* model/onnx_nodes_layers.c */
enum zp_status ol_conv_node(struct nctx *c, struct zp_node *n, int arg);
enum zp_status ol_gemm_node(struct nctx *c, struct zp_node *n, int matmul);
enum zp_status ol_binary_node(struct nctx *c, struct zp_node *n, int op);
enum zp_status ol_unary_common(struct nctx *c, struct zp_node *n, enum zp_op op, int x);
enum zp_status ol_clip_node(struct nctx *c, struct zp_node *n, int arg);

/* One operator's converter: fills n (or binds the output to a constant or an
 * existing tensor, leaving n->out = -1); arg is the op table row's. */
typedef enum zp_status (*ol_convert_fn)(struct nctx *c, struct zp_node *n, int arg);

/* One two-input link of a chain: m = t0 op t1 with output `on`, produced by
 * node g->n_nodes + slot. */
typedef enum zp_status (*ol_pair_fn)(struct nctx *c, struct zp_node *m, int arg, int t0, int t1,
                                     const char *on, size_t slot);
/* model/onnx_attrs.c: a node of more than two inputs as a chain of pair nodes */
enum zp_status ol_chain(struct nctx *c, struct zp_node *n, int t0, ol_pair_fn pair, int arg,
                        const char *tag);

/* model/onnx_nodes_other.c */
enum zp_status ol_bn_node(struct nctx *c, struct zp_node *n, int arg);
enum zp_status ol_pool_node(struct nctx *c, struct zp_node *n, int maxpool);
enum zp_status ol_flatten_node(struct nctx *c, struct zp_node *n, int arg);
enum zp_status ol_reshape_node(struct nctx *c, struct zp_node *n, int arg);
enum zp_status ol_softmax_node(struct nctx *c, struct zp_node *n, int op);
enum zp_status ol_constant_node(struct nctx *c, struct zp_node *n, int arg);
enum zp_status ol_cast_node(struct nctx *c, struct zp_node *n, int arg);
enum zp_status ol_relu_node(struct nctx *c, struct zp_node *n, int arg);
enum zp_status ol_identity_node(struct nctx *c, struct zp_node *n, int dropout);
enum zp_status ol_gap_node(struct nctx *c, struct zp_node *n, int arg);
/* n becomes an alias of x with the full shape d (nd dims, batch first) */
enum zp_status ol_reshape_to(struct nctx *c, struct zp_node *n, int x, int nd, const int64_t *d);

/* model/onnx_nodes_shape.c: Transpose, Slice, Squeeze / Unsqueeze (arg 1:
 * Unsqueeze), the reductions (arg: the op), Concat */
enum zp_status ol_transpose_node(struct nctx *c, struct zp_node *n, int arg);
enum zp_status ol_slice_node(struct nctx *c, struct zp_node *n, int arg);
enum zp_status ol_squeeze_node(struct nctx *c, struct zp_node *n, int unsqueeze);
enum zp_status ol_reduce_node(struct nctx *c, struct zp_node *n, int op);
/* Concat of k > 2 inputs: a chain of k - 1 two-input nodes (n and the ones
 * after it), intermediate results named "<output>#concat<j>". */
enum zp_status ol_concat_node(struct nctx *c, struct zp_node *n, int arg);
/* Split: one ZP_OP_VIEW node per output, n and the ones after it in g->nodes
 * (build() sizes g->nodes for that); adds all but n to g->n_nodes itself. */
enum zp_status ol_split_node(struct nctx *c, struct zp_node *n, int arg);
/* Expand: a view with strides 0 along the broadcast axes */
enum zp_status ol_expand_node(struct nctx *c, struct zp_node *n, int arg);

/* model/onnx_nodes_transformer.c: Gather from a constant table (the embedding);
 * MatMul of two activations (ol_gemm_node hands it over); LayerNormalization */
enum zp_status ol_gather_node(struct nctx *c, struct zp_node *n, int arg);
enum zp_status ol_matmul_acts(struct nctx *c, struct zp_node *n, int a, int b);
enum zp_status ol_layernorm_node(struct nctx *c, struct zp_node *n, int arg);

/* model/onnx_nodes_math.c: ZP_OP_MATH functions (arg: enum zp_fn) */
enum zp_status ol_math_node(struct nctx *c, struct zp_node *n, int fn);

/* model/onnx_ops.c: the op table's converter for the node (domain checked);
 * the converter alone (NULL: not in the table); the error for an operator not
 * in the table. */
enum zp_status ol_convert_node(struct nctx *c, struct zp_node *n);
ol_convert_fn ol_convert_fn_of(const struct nctx *c);
enum zp_status ol_unsupported_op(struct nctx *c);

#endif
