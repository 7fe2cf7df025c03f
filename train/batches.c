/* Epoch mini-batches (see train/batches.h). */
#include "train/batches.h"

#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

static uint64_t epoch_seed(uint64_t seed, int epoch)
{
    return seed * 0x9E3779B97F4A7C15ull + (uint64_t)epoch * 0xBF58476D1CE4E5B9ull + 1;
}

enum zp_status zp_batches_init(struct zp_batches *b, const struct zp_dataset *ds, int batch,
                               int hflip, uint64_t seed, int epoch, struct zp_err *err)
{
    memset(b, 0, sizeof *b);
    const uint32_t n = (uint32_t)ds->n;
    b->ds = ds;
    b->batch = batch;
    b->hflip = hflip;
    b->steps = batch > 0 ? n / (uint32_t)batch : 0;
    if (b->steps < 1)
        return zp_err_set(err, ZP_EINVAL, "train: %u training examples, fewer than one batch of %d",
                          n, batch);
    const size_t ex = zp_dataset_example_size(ds);
    b->idx = malloc(sizeof(uint32_t) * n);
    b->x = zp_alloc(ex * (size_t)batch * sizeof(float));
    b->y = malloc(sizeof(int32_t) * (size_t)batch);
    if (!b->idx || !b->x || !b->y) {
        zp_batches_free(b);
        return zp_err_set(err, ZP_ENOMEM, "train: out of memory");
    }
    zp_rng_seed(&b->rng, epoch_seed(seed, epoch));
    for (uint32_t i = 0; i < n; i++)
        b->idx[i] = i;
    zp_rng_shuffle(&b->rng, b->idx, n);
    return ZP_OK;
}

void zp_batches_fill(struct zp_batches *b, long k)
{
    const struct zp_dataset *ds = b->ds;
    const size_t ex = zp_dataset_example_size(ds);
    const int W = (int)ds->w, HC = (int)(ds->c * ds->h);
    for (int i = 0; i < b->batch; i++) {
        uint32_t e = b->idx[k * b->batch + i];
        const float *src = ds->x + (size_t)e * ex;
        float *dst = b->x + (size_t)i * ex;
        b->y[i] = ds->labels[e];
        if (b->hflip && (zp_rng_u64(&b->rng) >> 63)) {
            for (int r = 0; r < HC; r++)
                for (int c = 0; c < W; c++)
                    dst[r * W + c] = src[r * W + (W - 1 - c)];
        } else {
            memcpy(dst, src, ex * sizeof(float));
        }
    }
}

void zp_batches_free(struct zp_batches *b)
{
    free(b->idx);
    zp_free(b->x);
    free(b->y);
    b->idx = NULL;
    b->x = NULL;
    b->y = NULL;
}
