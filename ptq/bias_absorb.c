/* High-bias absorption: see bias_absorb.h. */
#include "ptq/bias_absorb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void zp_hba_amounts(const double *mean, const double *std, int64_t C, float *c)
{
    for (int64_t i = 0; i < C; i++)
        c[i] = (float)fmax(0.0, mean[i] - 3.0 * std[i]);
}

void zp_hba_absorb(struct zp_cle_layer *a, struct zp_cle_layer *b, const float *c)
{
    for (int64_t i = 0; i < a->out; i++) {
        a->b[i] -= c[i];
        if (a->act_hi)
            a->act_hi[i] -= c[i];
    }
    for (int64_t o = 0; o < b->out; o++) {
        /* in double: the sum runs over every input channel and kernel position */
        double add = 0;
        for (int64_t i = 0; i < b->in; i++) {
            const int64_t ch = b->depthwise ? o : i;
            const float *w = b->w + (o * b->in + i) * b->k;
            for (int64_t j = 0; j < b->k; j++)
                add += (double)w[j] * c[ch];
        }
        b->b[o] = (float)((double)b->b[o] + add);
    }
}

int zp_hba_stats_init(struct zp_hba_stats *s, int64_t channels)
{
    s->channels = channels;
    s->n = calloc((size_t)channels * 3, sizeof *s->n);
    s->sum = s->n ? s->n + channels : NULL;
    s->sq = s->n ? s->n + 2 * channels : NULL;
    return s->n != NULL;
}

void zp_hba_stats_free(struct zp_hba_stats *s)
{
    free(s->n);
    memset(s, 0, sizeof *s);
}

void zp_hba_stats_clear(struct zp_hba_stats *s)
{
    memset(s->n, 0, (size_t)s->channels * 3 * sizeof *s->n);
}

void zp_hba_stats_add(struct zp_hba_stats *s, const float *y, int64_t spatial)
{
    for (int64_t c = 0; c < s->channels; c++) {
        double sum = 0, sq = 0;
        for (int64_t j = 0; j < spatial; j++) {
            double v = y[c * spatial + j];
            sum += v;
            sq += v * v;
        }
        s->n[c] += (double)spatial;
        s->sum[c] += sum;
        s->sq[c] += sq;
    }
}

void zp_hba_stats_merge(struct zp_hba_stats *s, const struct zp_hba_stats *part)
{
    for (int64_t i = 0; i < s->channels * 3; i++)
        s->n[i] += part->n[i];
}

void zp_hba_stats_result(const struct zp_hba_stats *s, double *mean, double *std)
{
    for (int64_t c = 0; c < s->channels; c++) {
        if (s->n[c] <= 0) {
            mean[c] = std[c] = 0;
            continue;
        }
        double m = s->sum[c] / s->n[c];
        mean[c] = m;
        std[c] = sqrt(fmax(0.0, s->sq[c] / s->n[c] - m * m));
    }
}
