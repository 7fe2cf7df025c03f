/* Pooling of one image (NCHW): MaxPool (padding never wins), AveragePool (padding
 * counted only with count_include_pad, and then only up to the padded border, as
 * ONNX Runtime and PyTorch do in ceil mode) and GlobalAveragePool. */
#include <float.h>

#include "model/graph_internal.h"

void zp_op_pool(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y)
{
    const struct zp_tensor *X = &g->tensors[n->in[0]], *Y = &g->tensors[n->out];
    int64_t C = X->dims[1], H = X->dims[2], W = X->dims[3], OH = Y->dims[2], OW = Y->dims[3];
    int64_t pt = n->pads[0], pl = n->pads[1];
    for (int64_t c = 0; c < C; c++) {
        const float *p = x + c * H * W;
        float *o = y + c * OH * OW;
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                int64_t y0 = oy * n->sh - pt, x0 = ox * n->sw - pl;
                if (n->op == ZP_OP_MAXPOOL) {
                    int64_t at = zp_maxpool_at(n, p, H, W, y0, x0);
                    o[oy * OW + ox] = at >= 0 ? p[at] : -FLT_MAX;
                } else {
                    double s = 0;
                    int64_t cnt = 0;
                    /* window clipped to the padded input for count_include_pad */
                    int64_t ya = y0, yb = y0 + n->kh, xa = x0, xb = x0 + n->kw;
                    if (yb > H + n->pads[2])
                        yb = H + n->pads[2];
                    if (xb > W + n->pads[3])
                        xb = W + n->pads[3];
                    for (int64_t iy = ya; iy < yb; iy++)
                        for (int64_t ix = xa; ix < xb; ix++) {
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) {
                                cnt += n->count_include_pad;
                                continue;
                            }
                            s += p[iy * W + ix];
                            cnt++;
                        }
                    o[oy * OW + ox] = cnt ? (float)(s / (double)cnt) : 0.f;
                }
            }
    }
}

void zp_op_gap(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y)
{
    for (int64_t c = 0; c < n->channels; c++) {
        const float *p = x + c * n->inner;
        float s = 0.f;
        for (int64_t i = 0; i < n->inner; i++)
            s += p[i];
        y[c] = s / (float)n->inner;
    }
}
