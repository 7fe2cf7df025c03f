/* Gemm / MatMul of one image: y = W x + b with W stored [O, K] (the loader folded
 * alpha, beta and transB), then the fused activation: the kernels' conv GEMM with
 * one pixel (kernels/kernels.h), on the layer's cached weight panels. */
#include "kernels/kernels.h"
#include "model/graph_internal.h"

void zp_op_gemm(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y,
                const struct zp_exec *e)
{
    if (n->mm_rows > 1) { /* a rank >= 3 MatMul input: [rows, K] per image */
        zp_op_gemm_rows(n, x, y, e);
        return;
    }
    int64_t K = n->mm_k, O = n->mm_cols;
    const struct zp_f32_wpack *wp = zp_layer_panels(g, n, e->w, 0, 1, O, K);
    struct zp_f32_conv_call c = {.m = (int)O, .n = 1, .k = (int)K, .w = wp ? wp->data : e->w,
                                 .w_packed = wp != NULL, .x = x, .ldx = 1, .bias = e->b, .y = y,
                                 .ldy = 1, .act = e->act, .lo = e->lo, .hi = e->hi};
    zp_rt_conv(zp_rt_select(ZP_RK_CONV, -1), &c);
}
