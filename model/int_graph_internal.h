/* Inside the integer program (model/int_graph.c builds it, model/int_graph_run.c
 * runs it): the tensors' quantizers and shapes, and the steps. */
#ifndef ZP_MODEL_INT_GRAPH_INTERNAL_H
#define ZP_MODEL_INT_GRAPH_INTERNAL_H

#include "model/graph_internal.h"
#include "model/int_graph.h"

enum st_kind { ST_GEMM, ST_DW, ST_ADD, ST_GAP, ST_MAXPOOL, ST_CLAMP, ST_COPY, ST_FCOPY, ST_SOFTMAX, ST_DEQUANT };

struct tinfo {
    int used, is_float, has_q;
    struct zp_iq q;
    int64_t c, h, w; /* NHWC; a flat tensor is c values, h = w = 1 */
    int nd4;         /* a 4-D tensor (image planes) */
    size_t off;      /* bytes (codes) or floats (is_float) into the workspace */
};

struct step {
    enum st_kind kind;
    const struct zp_node *node;
    int in, in2, out;
    /* GEMM / DW */
    enum zp_kfmt fmt;
    const struct zp_gemm_ukernel *uk;
    struct zp_packed_b pb;
    int k, n, m, is1x1;
    int kh, kw, sh, sw, pt, pl, oh, ow;
    int a_flip;         /* activations' bytes xor 0x80 into the kernel's domain */
    int32_t za;         /* zero point in the kernel's activation domain */
    int16_t *dw_w;
    int32_t *col_add, *col_zb, *mult;
    int8_t *shift;
    float *fmult, *deq;  /* float multiplier; dequantization scale (float output) */
    int32_t zp, lo, hi;
    int float_out;
    /* fused global average pooling (a layer read only by the pool): the mean of
     * the layer's accumulators, each clamped to [gap_lo, gap_hi] (the layer's
     * Relu / Clip in steps of the accumulator), requantized to gap_out by mult /
     * shift = step / (gap_cnt x output scale); the pool's input is never rounded
     * to 8 bits, as fake quantization does not round it */
    int gap_cnt, gap_out;
    const struct zp_node *gap_clamp;
    int32_t *gap_lo, *gap_hi;
    struct zp_iadd_params add;
};

struct zp_int_program {
    const struct zp_graph *g;
    struct tinfo *t;
    struct step *steps;
    int n_steps;
    int input, output;
    size_t ws_bytes, ws_floats, acc_ints, col_bytes;
    const struct zp_int_kernels *ik;
    int direct_a;        /* GEMM activations packed by direct_rows (not the reference program) */
    int n_threads;
    uint8_t **ws;
    float **wsf;
    int32_t **acc, **rows;
    uint8_t **col;
    int32_t *zero_rows;  /* max_m zeros: the row sums an s8 GEMM's kernel multiplies by 0 */
};

static inline int zp_iq_signed(const struct zp_iq *q) { return q->qmin < 0; }

#endif
