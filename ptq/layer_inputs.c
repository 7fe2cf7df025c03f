/* The matrix view of a layer (ptq/layer_inputs.h). */
#include "ptq/layer_inputs.h"

#include <string.h>

#include "kernels/kernels.h"

enum zp_status zp_layer_mat_of(const struct zp_layer_info *li, struct zp_layer_mat *lm,
                               struct zp_err *err)
{
    memset(lm, 0, sizeof *lm);
    if (strcmp(li->op, "Conv") == 0) {
        if (li->wndim != 4 || li->in_ndim != 3 || li->out_ndim != 3 || li->group < 1)
            return zp_err_set(err, ZP_EUNSUPPORTED,
                              "layer '%s': only 2-D convolutions (4-D weights, CHW inputs)",
                              li->name);
        lm->groups = li->group;
        lm->rows_out = li->wshape[0] / li->group;
        lm->k = li->wshape[1] * li->wshape[2] * li->wshape[3];
        lm->positions = li->out_shape[1] * li->out_shape[2];
        return ZP_OK;
    }
    /* Gemm / MatMul: weights [O, K]; the input's last dimension is K */
    if (li->wndim != 2 || li->in_ndim < 1)
        return zp_err_set(err, ZP_EUNSUPPORTED, "layer '%s' (%s): expected 2-D weights", li->name,
                          li->op);
    int64_t n = 1;
    for (int d = 0; d < li->in_ndim; d++)
        n *= li->in_shape[d];
    lm->groups = 1;
    lm->rows_out = li->wshape[0];
    lm->k = li->wshape[1];
    if (li->in_shape[li->in_ndim - 1] != lm->k)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "layer '%s' (%s): input's last dimension %lld is not the weight's K %lld",
                          li->name, li->op, (long long)li->in_shape[li->in_ndim - 1],
                          (long long)lm->k);
    lm->positions = n / lm->k;
    return ZP_OK;
}

void zp_layer_cols(const struct zp_layer_info *li, const struct zp_layer_mat *lm, const float *x,
                   int64_t g, float pad, float *scratch, float *cols)
{
    if (strcmp(li->op, "Conv") != 0) { /* x is positions x k: transpose */
        for (int64_t p = 0; p < lm->positions; p++)
            for (int64_t j = 0; j < lm->k; j++)
                cols[j * lm->positions + p] = x[p * lm->k + j];
        return;
    }
    int64_t ig = li->wshape[1], hw = li->in_shape[1] * li->in_shape[2];
    struct zp_im2col_geom q = {
        .c = ig, .h = li->in_shape[1], .w = li->in_shape[2],
        .kh = li->wshape[2], .kw = li->wshape[3],
        .sh = li->strides[0], .sw = li->strides[1], .dh = li->dilations[0], .dw = li->dilations[1],
        .pt = li->pads[0], .pl = li->pads[1],
        .oh = li->out_shape[1], .ow = li->out_shape[2],
    };
    const float *src = x + g * ig * hw;
    if (pad == 0.0f) {
        zp_f32_im2col(&q, src, cols);
        return;
    }
    /* im2col fills the outside with 0: shift by pad one channel plane at a time
     * (the scratch holds one plane), then shift back */
    for (int64_t c = 0; c < ig; c++) {
        struct zp_im2col_geom q1 = q;
        q1.c = 1;
        for (int64_t i = 0; i < hw; i++)
            scratch[i] = src[c * hw + i] - pad;
        float *dst = cols + c * q.kh * q.kw * lm->positions;
        zp_f32_im2col(&q1, scratch, dst);
        for (int64_t i = 0; i < q.kh * q.kw * lm->positions; i++)
            dst[i] += pad;
    }
}

size_t zp_layer_slice(const struct zp_scheme_config *cfg, const struct zp_tensor_qparams *qp,
                      const struct zp_layer_mat *lm, int64_t o, int64_t j)
{
    if (qp->n_slices == 1 || cfg->granularity == ZP_PER_TENSOR)
        return 0;
    if (cfg->granularity == ZP_PER_CHANNEL)
        return (size_t)o;
    size_t per = (size_t)((lm->k + cfg->group_size - 1) / cfg->group_size);
    return (size_t)o * per + (size_t)(j / cfg->group_size);
}

enum zp_status zp_layer_slicing_check(const struct zp_scheme_config *cfg, const char *what,
                                      struct zp_err *err)
{
    if (cfg->granularity != ZP_PER_TENSOR && cfg->axis != 0)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "%s: rounding by layer reconstruction needs the weight's channel axis 0, "
                          "not %d",
                          what, cfg->axis);
    return ZP_OK;
}
