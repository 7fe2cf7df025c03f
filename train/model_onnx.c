/* The shipped architectures as training graphs (see train/trainer.h): the
 * network is built and He-initialized from the seed exactly as the training
 * runtime builds it, then written by the one ONNX writer (train/onnx_export.c)
 * with BatchNormalization kept as nodes, in memory, for a loader that keeps BN. */
#include <stdio.h>

#include "train/onnx_export.h"
#include "train/trainer.h"

enum zp_status zp_train_model_onnx(const struct zp_train_config *cfg, uint8_t **buf, size_t *len,
                                   struct zp_err *err)
{
    *buf = NULL;
    *len = 0;
    struct zp_tnet *net = NULL;
    enum zp_status st = zp_train_build_net(cfg, &net, err);
    if (st != ZP_OK)
        return st;
    char doc[256];
    snprintf(doc, sizeof doc, "zeropoint training graph %s: %s, He init from seed %llu",
             cfg->name, cfg->model == ZP_MODEL_MLP ? "mlp" : "mobilenet",
             (unsigned long long)cfg->seed);
    st = zp_onnx_export_buffer(net, 1, cfg->name, doc, buf, len, err);
    zp_tnet_free(net);
    return st;
}
