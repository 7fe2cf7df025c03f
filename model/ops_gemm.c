/* Gemm / MatMul of one image: y = W x + b with W stored [O, K] (the loader folded
 * alpha, beta and transB), then the fused activation: the kernels' conv GEMM with
 * one pixel (kernels/kernels.h), on the layer's cached weight panels. */
#include "kernels/kernels.h"
#include "model/graph_internal.h"

void zp_op_gemm(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y,
                const struct zp_exec *e)
{
    int64_t K = g->tensors[n->in[0]].dims[1], O = g->tensors[n->out].dims[1];
    const struct zp_f32_wpack *wp = zp_layer_panels(g, n, e->w, 0, 1, O, K);
    struct zp_f32_conv_call c = {.m = (int)O, .n = 1, .k = (int)K, .w = wp ? wp->data : e->w,
                                 .w_packed = wp != NULL, .x = x, .ldx = 1, .bias = e->b, .y = y,
                                 .ldy = 1, .act = e->act, .lo = e->lo, .hi = e->hi};
    zp_rt_conv(zp_rt_select(ZP_RK_CONV, -1), &c);
}
