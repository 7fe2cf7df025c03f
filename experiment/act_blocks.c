/* Run-time block quantization of activations: see act_blocks.h. */
#include "experiment/act_blocks.h"

#include <stdlib.h>

#include "schemes/granularity.h"

int zp_act_blocks_on(const struct zp_scheme_config *cfg)
{
    return cfg && cfg->scheme->block_size > 0 && cfg->granularity == ZP_PER_GROUP;
}

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
    size_t s_n = (size_t)S;
    /* A Conv input's block is strided by S in NCHW: one channel block of every
     * pixel is transposed into a [S][len] tile first, so that both passes read
     * memory in order (a gather at stride S misses the cache on every value). */
    float *tile = S > 1 ? malloc(s_n * (B < (size_t)C ? B : (size_t)C) * sizeof *tile) : NULL;
    if (S > 1 && !tile)
        return;
    for (size_t im = 0; im < n_images; im++) {
        float *xi = x + im * (size_t)C * s_n;
        for (int64_t c0 = 0; c0 < C; c0 += (int64_t)B) {
            size_t len = (size_t)(C - c0) < B ? (size_t)(C - c0) : B;
            if (S == 1) { /* contiguous: quantize in place */
                one_block(cfg, tensor, xi + c0, len);
                continue;
            }
            for (size_t k = 0; k < len; k++) {
                const float *row = xi + (size_t)(c0 + (int64_t)k) * s_n;
                for (size_t s = 0; s < s_n; s++)
                    tile[s * len + k] = row[s];
            }
            for (size_t s = 0; s < s_n; s++)
                one_block(cfg, tensor, tile + s * len, len);
            for (size_t k = 0; k < len; k++) {
                float *row = xi + (size_t)(c0 + (int64_t)k) * s_n;
                for (size_t s = 0; s < s_n; s++)
                    row[s] = tile[s * len + k];
            }
        }
    }
    free(tile);
}
