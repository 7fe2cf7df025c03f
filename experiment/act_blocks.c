/* Run-time block quantization of activations: see act_blocks.h. */
#include "experiment/act_blocks.h"

#include <stdlib.h>

#include "schemes/granularity.h"

int zp_act_blocks_on(const struct zp_scheme_config *cfg)
{
    return cfg && cfg->scheme->block_size > 0 && cfg->granularity == ZP_PER_GROUP;
}

#define ZP_ACT_BLOCK_STACK 1024

static void one_block(const struct zp_scheme_config *cfg, const struct zp_qparams *tensor,
                      float *buf, size_t len)
{
    struct zp_err e = {0};
    struct zp_qparams p[2];
    if (cfg->scheme->fit(cfg, buf, len, &p[0], &e) != ZP_OK)
        return;
    if (cfg->scheme->fit_tensor && tensor && tensor->amax > 0) {
        p[1] = *tensor;
        if (cfg->scheme->fit_tensor(cfg, p, 2, &e) != ZP_OK)
            return;
    }
    zp_fake_quant_run(cfg, &p[0], buf, buf, len, NULL);
}

void zp_act_blocks_run(const struct zp_scheme_config *cfg, const struct zp_qparams *tensor,
                       float *x, size_t n_images, int64_t C, int64_t S)
{
    size_t B = cfg->group_size > 0 ? (size_t)cfg->group_size : (size_t)C;
    float stack[ZP_ACT_BLOCK_STACK];
    float *buf = B <= ZP_ACT_BLOCK_STACK ? stack : malloc(B * sizeof *buf);
    if (!buf)
        return;
    for (size_t im = 0; im < n_images; im++) {
        float *xi = x + im * (size_t)C * (size_t)S;
        for (int64_t s = 0; s < S; s++) {
            for (int64_t c0 = 0; c0 < C; c0 += (int64_t)B) {
                size_t len = (size_t)(C - c0) < B ? (size_t)(C - c0) : B;
                if (S == 1) { /* contiguous: quantize in place */
                    one_block(cfg, tensor, xi + c0, len);
                    continue;
                }
                for (size_t k = 0; k < len; k++)
                    buf[k] = xi[(size_t)(c0 + (int64_t)k) * (size_t)S + (size_t)s];
                one_block(cfg, tensor, buf, len);
                for (size_t k = 0; k < len; k++)
                    xi[(size_t)(c0 + (int64_t)k) * (size_t)S + (size_t)s] = buf[k];
            }
        }
    }
    if (buf != stack)
        free(buf);
}
