/* Inside the model runtime: the loaded graph (tensors, nodes, layers) shared by the
 * ONNX loader (model/onnx_load.c), the executor (model/graph.c) and the operator
 * kernels (model/ops_*.c). Not part of the public interface (model/graph.h).
 *
 * Activations always carry the batch as dimension 0; their `size` counts the
 * elements of ONE image, because every kernel works on one image at a time: the
 * executor spreads images over the OpenMP threads. */
#ifndef ZP_MODEL_GRAPH_INTERNAL_H
#define ZP_MODEL_GRAPH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "model/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZP_MAXDIM 6
#define ZP_MAX_INPUTS 8

/* Vectorize the next loop (gcc -O2 only vectorizes the very cheapest loops on its
 * own). Not under clang, which reports a loop it declines as a -Werror warning. */
#if defined(__clang__)
#define ZP_SIMD
#else
#define ZP_SIMD _Pragma("omp simd")
#endif
/* Largest element count of one tensor (per image for activations): 2^28 floats is
 * 1 GiB, far beyond any model this harness studies, and keeps every product of
 * dimensions inside int64 without overflow checks at each step. */
#define ZP_MAX_ELEMS ((int64_t)1 << 28)

enum zp_op {
    ZP_OP_CONV,
    ZP_OP_GEMM,      /* Gemm and MatMul: y[o] = sum_i w[o, i] x[i] + b[o] */
    ZP_OP_ADD,
    ZP_OP_MUL,
    ZP_OP_RELU,
    ZP_OP_CLIP,
    ZP_OP_AFFINE,    /* standalone BatchNormalization: y = x * scale[c] + shift[c] */
    ZP_OP_AVGPOOL,
    ZP_OP_MAXPOOL,
    ZP_OP_GAP,       /* GlobalAveragePool */
    ZP_OP_COPY,      /* Flatten / Reshape: same elements, new shape */
    ZP_OP_SOFTMAX,
    ZP_OP_BN,        /* BatchNormalization kept for training (zp_onnx_load_train):
                        inference applies scale / shift, kept in step with the
                        running statistics by model/train_exec.c */
    /* appended after the original ops so their values stay as they were */
    ZP_OP_MATH,      /* unary elementwise function n->fn (model/ops_math.c) */
    ZP_OP_LOGSOFTMAX,/* log of Softmax over the same [outer, axis_len, inner] */
    ZP_OP_SUB,       /* binary, numpy broadcasting as Add / Mul */
    ZP_OP_DIV,
    ZP_OP_MAX,
    ZP_OP_MIN,
    ZP_OP_POW,
    ZP_OP_VIEW,      /* Transpose / Slice: y[i] = x[vbase + walk over bdims by bstr[0]] */
    ZP_OP_REDUCE_SUM,/* walk x over bdims; y offset by bstr[1] (0 along reduced axes) */
    ZP_OP_REDUCE_MEAN,
    ZP_OP_REDUCE_MAX,
    ZP_OP_CONCAT,    /* two inputs: per outer index cat_a values of x0, then cat_b of x1 */
    ZP_OP_GATHER,    /* embedding: y row r = table row x[r] (in[0] the indices, in[1] the
                        constant table, rows of mm_cols floats; mm_rows indices) */
    ZP_OP_MATMUL,    /* two activations: per broadcast batch index (bnd / bdims / bstr,
                        strides in floats), C[mm_rows, mm_cols] = A[mm_rows, mm_k] B[mm_k, mm_cols] */
    ZP_OP_LAYERNORM, /* rows of sm_len values (sm_outer rows) normalized, times scale, plus shift
                        (model/ops_norm.c) */
    ZP_OP_RESAMPLE,  /* Pad, Resize: separable taps per axis (n->rs, model/ops_resample.c) */
    ZP_OP_WHERE,     /* y = cond ? x0 : x1, broadcasting as Add; cond a constant expanded to the
                        output's per-image shape (n->cond) */
};

/* ZP_OP_RESAMPLE: output element (o_1..o_nd) = sum over the taps t_d of each
 * per-image axis d of prod_d w[d][o_d ntap_d + t_d] x[sum_d src[d][...]], src
 * already multiplied by the input stride of d; a src of -1 (Pad's constant
 * mode) makes the element `value`. Pad and nearest Resize have one tap per
 * axis, linear Resize two. One allocation (the arrays follow the struct). */
struct zp_resample {
    int nd;
    int64_t out_dims[ZP_MAXDIM];
    int ntap[ZP_MAXDIM];
    int64_t *src[ZP_MAXDIM];
    float *w[ZP_MAXDIM];
    float value;
};

/* The functions of ZP_OP_MATH (n->fn). */
enum zp_fn {
    ZP_FN_SIGMOID,
    ZP_FN_HARDSIGMOID, /* max(0, min(1, alpha x + beta)) */
    ZP_FN_HARDSWISH,   /* x * max(0, min(1, x / 6 + 1 / 2)) */
    ZP_FN_TANH,
    ZP_FN_ERF,
    ZP_FN_GELU,        /* x / 2 (1 + erf(x / sqrt 2)) */
    ZP_FN_GELU_TANH,   /* x / 2 (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) */
    ZP_FN_EXP,
    ZP_FN_LOG,
    ZP_FN_NEG,
    ZP_FN_SQRT,
};

struct zp_tensor {
    char *name;
    int ndim;                   /* activations: including the batch dimension */
    int64_t dims[ZP_MAXDIM];    /* activations: dims[0] is a placeholder 1 */
    int64_t size;               /* activations: per image; constants: total */
    int is_const;
    float *data;                /* constants (float) */
    int64_t *idata;             /* constants (int64, e.g. Reshape shapes) */
    int is_index;               /* the graph input was int64 (token ids): its floats hold
                                   integers, exact below 2^24 (checked by zp_graph_run) */
    int producer;               /* node index, -1 for constants and the graph input */
    int n_consumers;            /* nodes reading it, +1 if it is the graph output */
    size_t offset;              /* activations: offset in a per-image workspace */
};

struct zp_node {
    enum zp_op op;
    const char *name;           /* points into the graph's string storage */
    const char *op_type;
    int in[2];                  /* activation / constant tensor indices, -1 absent */
    int n_in;
    int out;
    int layer;                  /* index into layers, -1 if not a layer */
    /* Conv and pooling */
    int64_t group, kh, kw, sh, sw, dh, dw, pads[4]; /* pads: top, left, bottom, right */
    int ceil_mode, count_include_pad;
    /* Clip and fused activation */
    float lo, hi;
    /* ZP_OP_MATH: the function and its parameters (HardSigmoid alpha, beta) */
    int fn;
    float alpha, beta;
    /* ZP_OP_VIEW: first input offset; reductions: input values per output;
     * ZP_OP_CONCAT: outer count and the two inputs' contiguous runs */
    int64_t vbase, red_count, cat_outer, cat_a, cat_b;
    /* ZP_OP_GEMM: mm_rows rows of mm_k inputs per image (1 for a [N, K] input; the
     * product of the middle dims of a rank >= 3 MatMul input), mm_cols outputs each;
     * ZP_OP_MATMUL and ZP_OP_GATHER: see the ops */
    int64_t mm_rows, mm_k, mm_cols;
    /* Softmax: softmax over [outer, axis_len, inner] */
    int64_t sm_outer, sm_len, sm_inner;
    /* Add / Mul broadcasting over the per-image dims (ndim - 1 of them) */
    int bnd;
    int64_t bdims[ZP_MAXDIM], bstr[2][ZP_MAXDIM];
    /* Affine (standalone BN) */
    float *scale, *shift;
    int64_t channels, inner;
    /* Execution plan: a layer whose only consumer is Relu/Clip applies it itself
     * when no hook needs the pre-activation output (fuse = 1), and that activation
     * node then runs in place or, on the fast path, not at all (skip_fast = 1). */
    int fuse, skip_fast;
    int alias;                  /* ZP_OP_COPY: output shares the input's storage */
    struct zp_resample *rs;     /* ZP_OP_RESAMPLE (owned; zp_graph_free frees it) */
    unsigned char *cond;        /* ZP_OP_WHERE: per output element, 1 = take x0 (owned) */
    /* ZP_OP_BN: gamma, beta, running mean, running var (channels each), stored
     * after the eval shift in the `shift` allocation (so zp_graph_free frees
     * them); eps and the momentum of the running statistics. */
    float *bn;
    float eps, momentum;
};

struct zp_graph {
    struct zp_tensor *tensors;
    int n_tensors, cap_tensors;
    struct zp_node *nodes;
    int n_nodes;
    struct zp_layer_info *layers;
    int *layer_node;            /* node index of each layer */
    float **layer_w, **layer_b; /* owned weight / bias storage of each layer */
    int n_layers;
    int input, output;          /* tensor indices (input: the first graph input) */
    int inputs[ZP_MAX_INPUTS];  /* every graph input, in graph order */
    int n_inputs;
    int64_t in_size;            /* per image: the inputs' sizes summed (zp_graph_run's input
                                   is their values concatenated, image by image) */
    int64_t ws_size;            /* per-image workspace: all activations (floats) */
    int64_t scratch_size;       /* per-thread scratch (im2col, padded planes) */
    struct zp_layer_panels **panels; /* per layer: conv/gemm weight panels, filled at first
                                      * use (model/ops_conv.c, zp_layer_panels) */
    char **strings;             /* owned copies of names */
    int n_strings, cap_strings;
    int64_t opset;
};

/* BatchNormalization arithmetic shared by the load-time fold (onnx_nodes_other.c)
 * and the deployment fold after training (model/graph_fold.c), so both give the
 * same floats. zp_bn_affine: sc = gamma / sqrt(var + eps), sh = beta - mean * sc
 * in double; returns 0, or 1 (var + eps <= 0) / 2 (not finite in float) with
 * *bad the channel. zp_bn_fold_conv: w[o] *= sc[o], b[o] = b[o] * sc[o] + sh[o]
 * for the layer of Conv node `conv` (creating a zero bias if it had none);
 * returns ZP_OK, ZP_ENOMEM, or ZP_EINVAL (overflow, *bad = output channel). */
int zp_bn_affine(const float *gamma, const float *beta, const float *mean, const float *var,
                 float eps, int64_t C, float *sc, float *sh, int64_t *bad);
enum zp_status zp_bn_fold_conv(struct zp_graph *g, int conv, const float *sc, const float *sh,
                               int64_t *bad);

/* Layer l's weights (or bias) were edited in place (l = -1: any layer): the one
 * place that drops whatever a kernel cached from them (model/graph_fold.c).
 * Called by the training forward for every layer (the optimizer edits the
 * weights between steps), by zp_tgraph_sync and by zp_graph_fold_bn. */
void zp_layer_weights_edited(struct zp_graph *g, int layer);

/* Shared by a forward kernel and its backward pass (model/grad_other.c), so the
 * two walk the same elements in the same order. zp_bcast_next: advances the
 * output index idx of a broadcasting Add / Mul by one element, and the two input
 * offsets with it. zp_maxpool_at: offset in the plane p of the first maximum of
 * the window at (y0, x0) (a NaN wins), -1 if the window lies in the padding. */
static inline void zp_bcast_next(const struct zp_node *n, int64_t *idx, int64_t *o0, int64_t *o1)
{
    for (int d = n->bnd - 1; d >= 0; d--) {
        *o0 += n->bstr[0][d];
        *o1 += n->bstr[1][d];
        if (++idx[d] < n->bdims[d])
            return;
        *o0 -= n->bstr[0][d] * n->bdims[d];
        *o1 -= n->bstr[1][d] * n->bdims[d];
        idx[d] = 0;
    }
}

static inline int64_t zp_maxpool_at(const struct zp_node *n, const float *p, int64_t H,
                                    int64_t W, int64_t y0, int64_t x0)
{
    int64_t at = -1;
    float m = 0.f;
    for (int64_t ky = 0; ky < n->kh; ky++) {
        int64_t iy = y0 + ky * n->dh;
        if (iy < 0 || iy >= H)
            continue;
        for (int64_t kx = 0; kx < n->kw; kx++) {
            int64_t ix = x0 + kx * n->dw;
            if (ix < 0 || ix >= W)
                continue;
            float v = p[iy * W + ix];
            if (at < 0 || v > m || v != v) {
                m = v;
                at = iy * W + ix;
            }
        }
    }
    return at;
}

/* What one kernel call sees: the parameters the hooks may replace. */
struct zp_exec {
    const float *w, *b;         /* layer weight [O, ...] and bias (NULL = none) */
    float pad;                  /* what implicit Conv padding reads */
    int act;                    /* fused activation: 0 none, else clamp to [lo, hi] */
    float lo, hi;
    float *scratch;             /* per-thread, g->scratch_size floats */
};

/* Copies `count` images of zp_graph_run's input (per image every graph input's
 * values, concatenated in graph order), from image `first` on, into dst[k]
 * (graph input k: count x its size floats, image after image). */
void zp_inputs_scatter(const struct zp_graph *g, const float *input, int64_t first, int64_t count,
                       float *const *dst);

/* Load-time planning (model/graph_plan.c), after every node is converted:
 * fusion, aliases and workspace offsets (ws_size); then the layer table. */
enum zp_status zp_graph_plan(struct zp_graph *g);
void zp_graph_fill_layers(struct zp_graph *g);

/* Kernels: one image. x are the input activations (x1 only for binary ops). */
void zp_op_conv(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y,
                const struct zp_exec *e);
int64_t zp_op_conv_scratch(const struct zp_graph *g, const struct zp_node *n);
void zp_op_gemm(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y,
                const struct zp_exec *e);
void zp_op_pool(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y);
void zp_op_gap(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y);
void zp_op_binary(const struct zp_graph *g, const struct zp_node *n, const float *x0,
                  const float *x1, float *y);
void zp_op_unary(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y);
/* Broadcasting binary ops by runs (model/ops_elementwise.c): the output walked
 * in runs along its innermost axis, run(op, a, sa, b, sb, y, len) per run with
 * sa / sb the inputs' strides along it (0: broadcast, else 1), so the element
 * loops vectorize; the same elements, in the same order, as zp_bcast_next. */
typedef void zp_bin_run_fn(enum zp_op op, const float *a, int64_t sa, const float *b, int64_t sb,
                           float *y, int64_t len);
void zp_bcast_runs(const struct zp_graph *g, const struct zp_node *n, const float *x0,
                   const float *x1, float *y, zp_bin_run_fn *run);
/* One run of a binary op: the four stride cases, each its own loop over EXPR of
 * the floats a and b (for the caller's run function). */
#define ZP_BIN_RUN(EXPR)                                                                  \
    do {                                                                                  \
        if (sa && sb) {                                                                   \
            ZP_SIMD                                                                       \
            for (int64_t k_ = 0; k_ < len; k_++) {                                        \
                const float a = pa[k_], b = pb[k_];                                       \
                y[k_] = (EXPR);                                                           \
            }                                                                             \
        } else if (sa) {                                                                  \
            const float b = pb[0];                                                        \
            ZP_SIMD                                                                       \
            for (int64_t k_ = 0; k_ < len; k_++) {                                        \
                const float a = pa[k_];                                                   \
                y[k_] = (EXPR);                                                           \
            }                                                                             \
        } else if (sb) {                                                                  \
            const float a = pa[0];                                                        \
            ZP_SIMD                                                                       \
            for (int64_t k_ = 0; k_ < len; k_++) {                                        \
                const float b = pb[k_];                                                   \
                y[k_] = (EXPR);                                                           \
            }                                                                             \
        } else {                                                                          \
            const float a = pa[0], b = pb[0], v_ = (EXPR);                                \
            for (int64_t k_ = 0; k_ < len; k_++)                                          \
                y[k_] = v_;                                                               \
        }                                                                                 \
    } while (0)
/* model/ops_math.c: ZP_OP_MATH and ZP_OP_LOGSOFTMAX of one image (zp_op_unary
 * calls them), the new binary ops' element functions (zp_op_binary calls
 * zp_op_binary_math for them), and the derivatives the backward passes use,
 * kept beside the functions so the two change together. */
void zp_op_math(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y);
void zp_op_logsoftmax(const struct zp_node *n, const float *x, float *y);
void zp_op_binary_math(const struct zp_graph *g, const struct zp_node *n, const float *x0,
                       const float *x1, float *y);
/* model/ops_shape.c: ZP_OP_VIEW, the reductions (zp_op_unary calls them) and
 * ZP_OP_CONCAT (zp_op_binary calls it), one image each. */
void zp_op_view(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y);
void zp_op_reduce(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y);
void zp_op_concat(const struct zp_node *n, const float *x0, const float *x1, float *y);
/* model/ops_matmul.c. zp_mm: C = op(A) op(B) + beta C (kernels/ zp_f32_gemm_t, the
 * dispatched f32 variant, on the calling thread) with ws of zp_mm_ws floats for
 * that shape; shapes come from a built graph, so a failure aborts naming it.
 * zp_op_mm_scratch: the scratch floats the forward of n needs (0: none).
 * zp_op_gemm_rows: a MatMul layer of mm_rows > 1 rows per image (bias, fused
 * activation). zp_op_matmul: ZP_OP_MATMUL, scratch of zp_op_mm_scratch floats;
 * zp_op_matmul_count its number of matrix products. zp_op_gather: ZP_OP_GATHER,
 * an id that is not an integer inside the table gives a NaN row; zp_gather_row
 * is the table row of id v, -1 when outside (negative ids count from the end). */
size_t zp_mm_ws(int ta, int tb, int64_t m, int64_t n, int64_t k, float beta);
void zp_mm(int ta, int tb, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
           const float *B, int64_t ldb, float beta, float *C, int64_t ldc, float *ws);
int64_t zp_op_mm_scratch(const struct zp_graph *g, const struct zp_node *n);
void zp_op_gemm_rows(const struct zp_node *n, const float *x, float *y, const struct zp_exec *e);
void zp_op_matmul(const struct zp_node *n, const float *a, const float *b, float *y, float *scratch);
int64_t zp_op_matmul_count(const struct zp_node *n);
void zp_op_gather(const struct zp_graph *g, const struct zp_node *n, const float *table, const float *x,
                  float *y); /* table NULL: the node's own */
int64_t zp_gather_row(const struct zp_graph *g, const struct zp_node *n, float v);
/* model/ops_resample.c: ZP_OP_RESAMPLE of one image, and its input gradient (+=);
 * zp_resample_new: the struct with room for ntap[d] * out_dims[d] taps per axis
 * (src / w pointed into it), NULL when out of memory. */
void zp_op_resample(const struct zp_node *n, const float *x, float *y);
void zp_resample_back(const struct zp_node *n, const float *dy, float *dx);
struct zp_resample *zp_resample_new(int nd, const int64_t *out_dims, const int *ntap);
/* model/ops_norm.c: LayerNormalization of one image, and its input gradient (+=) */
void zp_op_layernorm(const struct zp_node *n, const float *x, float *y);
void zp_layernorm_back(const struct zp_node *n, const float *x, const float *dy, float *dx);
/* d fn / dx at x, where y = fn(x) */
float zp_fn_deriv(const struct zp_node *n, float x, float y);
/* partial derivatives of the binary op at (a, b), y = a op b */
void zp_bin_deriv(enum zp_op op, float a, float b, float y, float *da, float *db);
/* The float kernels themselves are kernels/ (kernels/kernels.h, the runtime's
 * kinds). zp_model_avx512(): whether they run at AVX-512 (loading calls it so the
 * CPU probe runs before any thread does). */
int zp_model_avx512(void);
/* The weight panels of layer n for group gi (of groups, Og x K each), packed at
 * first use and cached on g; NULL when w is not the graph's own weight of the
 * layer (a hook replaced it) or memory ran out: then read w as plain rows.
 * Thread-safe. */
struct zp_f32_wpack;
const struct zp_f32_wpack *zp_layer_panels(const struct zp_graph *g, const struct zp_node *n, const float *w,
                                           int64_t gi, int64_t groups, int64_t Og, int64_t K);
/* Drops the panels of one layer (before editing g->layer_w[layer] in place; not
 * while a run is going), or of all layers (zp_graph_free). */
void zp_layer_panels_forget(struct zp_graph *g, int layer);
void zp_layer_panels_free(struct zp_graph *g);

/* Clamps n floats to [lo, hi] in place (fused Relu / Clip). */
void zp_clamp(float *y, int64_t n, float lo, float hi);

#ifdef __cplusplus
}
#endif
#endif
