/* Empirical bias correction: per-channel mean of (y' - y) in double. */
#include "calib/bias_correction.h"

#include <stdlib.h>

#include "common/err.h"

struct zp_bias_corr {
    int64_t channels;
    uint64_t count; /* elements per channel */
    double *sum;    /* Σ (y' - y) per channel */
};

struct zp_bias_corr *zp_bias_corr_new(int64_t channels)
{
    ZP_ASSERT(channels >= 1);
    struct zp_bias_corr *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->sum = calloc((size_t)channels, sizeof *b->sum);
    if (!b->sum) {
        free(b);
        return NULL;
    }
    b->channels = channels;
    return b;
}

void zp_bias_corr_free(struct zp_bias_corr *b)
{
    if (!b)
        return;
    free(b->sum);
    free(b);
}

void zp_bias_corr_add(struct zp_bias_corr *b, const float *y_float, const float *y_quant, int batch,
                      int64_t channels, int64_t spatial)
{
    ZP_ASSERT(channels == b->channels && batch >= 0 && spatial >= 1);
#pragma omp parallel for schedule(static) if (channels * spatial * batch >= (1 << 20))
    for (int64_t c = 0; c < channels; c++) {
        double s = 0.0;
        for (int n = 0; n < batch; n++) {
            const float *yf = y_float + ((int64_t)n * channels + c) * spatial;
            const float *yq = y_quant + ((int64_t)n * channels + c) * spatial;
            for (int64_t i = 0; i < spatial; i++)
                s += (double)yq[i] - (double)yf[i];
        }
        b->sum[c] += s;
    }
    b->count += (uint64_t)batch * (uint64_t)spatial;
}

void zp_bias_corr_result(const struct zp_bias_corr *b, float *mean_err)
{
    for (int64_t c = 0; c < b->channels; c++)
        mean_err[c] = b->count ? (float)(b->sum[c] / (double)b->count) : 0.0f;
}

uint64_t zp_bias_corr_count(const struct zp_bias_corr *b)
{
    return b->count;
}
