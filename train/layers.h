/* Forward / backward of each layer kind (private to train/). Buffers are CNHW
 * batches; see train/tnet.h. */
#ifndef ZP_TRAIN_LAYERS_H
#define ZP_TRAIN_LAYERS_H

#include "train/tnet.h"

void zp_conv_forward(struct zp_tlayer *l, const float *x, float *y, int batch);
void zp_conv_backward(struct zp_tlayer *l, const float *x, const float *dy, float *dx, int batch);
void zp_dwconv_forward(struct zp_tlayer *l, const float *x, float *y, int batch);
void zp_dwconv_backward(struct zp_tlayer *l, const float *x, const float *dy, float *dx,
                        int batch);
void zp_fc_forward(struct zp_tlayer *l, const float *x, float *y, int batch);
void zp_fc_backward(struct zp_tlayer *l, const float *x, const float *dy, float *dx, int batch);
void zp_bn_forward(struct zp_tlayer *l, const float *x, float *y, int batch, int train);
void zp_bn_backward(struct zp_tlayer *l, const float *x, const float *dy, float *dx, int batch);
void zp_act_forward(struct zp_tlayer *l, const float *x, float *y, int batch);
void zp_act_backward(struct zp_tlayer *l, const float *x, const float *dy, float *dx, int batch);
void zp_pool_forward(struct zp_tlayer *l, const float *x, float *y, int batch);
void zp_pool_backward(struct zp_tlayer *l, const float *x, const float *dy, float *dx, int batch);

#endif
