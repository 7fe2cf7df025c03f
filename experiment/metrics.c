/* Metric definitions: see metrics.h and docs/definitions.md. */
#include "experiment/metrics.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

double zp_sqnr_db(double signal_sq, double noise_sq)
{
    if (noise_sq <= 0.0)
        return ZP_SQNR_CAP_DB;
    if (signal_sq <= 0.0)
        return -ZP_SQNR_CAP_DB;
    double v = 10.0 * log10(signal_sq / noise_sq);
    return fmin(fmax(v, -ZP_SQNR_CAP_DB), ZP_SQNR_CAP_DB);
}

void zp_zero_decode(const struct zp_scheme_config *cfg, const struct zp_qparams *p, double *x0,
                    double *lsb)
{
    const struct zp_scheme *s = cfg->scheme;
    float zero = 0.0f, dec = 0.0f;
    int32_t q = 0;
    s->quantize(cfg, p, &zero, &q, 1);
    s->dequantize(cfg, p, &q, &dec, 1);
    *x0 = dec;
    /* The LSB around zero: the gap between the two decoded levels that bracket 0.
     * For affine schemes that is the scale; for codebooks the local level gap. */
    if (p->n_levels > 1) {
        double below = -INFINITY, above = INFINITY;
        for (int i = 0; i < p->n_levels; i++) {
            double l = p->levels[i];
            if (l <= 0 && l > below)
                below = l;
            if (l > 0 && l < above)
                above = l;
        }
        if (isinf(below) || isinf(above)) { /* 0 lies outside the codebook: nearest gap */
            double best = INFINITY;
            for (int i = 1; i < p->n_levels; i++)
                best = fmin(best, (double)p->levels[i] - p->levels[i - 1]);
            *lsb = best;
        } else {
            *lsb = above - below;
        }
    } else {
        *lsb = fabs((double)p->scale);
    }
}

void zp_tensor_metrics(const struct zp_scheme_config *cfg, const struct zp_tensor_qparams *qp,
                       const float *x, const float *xq, size_t n, struct zp_tensor_metrics *m)
{
    double sig = 0, err2 = 0, errsum = 0, zsum = 0;
    long long zeros = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)xq[i] - (double)x[i];
        sig += (double)x[i] * x[i];
        err2 += e * e;
        errsum += e;
        if (x[i] == 0.0f) {
            zeros++;
            zsum += e;
        }
    }
    m->mse = n ? err2 / (double)n : 0;
    m->sqnr_db = zp_sqnr_db(sig, err2);
    m->bias = n ? errsum / (double)n : 0;
    m->zero_fraction = n ? (double)zeros / (double)n : 0;
    m->bias_at_zero = zeros ? zsum / (double)zeros : NAN;
    double ze = 0, zl = 0;
    for (size_t s = 0; s < qp->n_slices; s++) {
        double x0, lsb;
        zp_zero_decode(cfg, &qp->slice[s], &x0, &lsb);
        ze += fabs(x0);
        zl += lsb > 0 ? fabs(x0) / lsb : 0;
    }
    m->zero_error = qp->n_slices ? ze / (double)qp->n_slices : 0;
    m->zero_error_lsb = qp->n_slices ? zl / (double)qp->n_slices : 0;
}

static int64_t argmax(const float *v, int64_t n)
{
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

void zp_argmax_rows(const float *logits, int64_t n, int64_t classes, int32_t *out)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = (int32_t)argmax(logits + i * classes, classes);
}

static int in_top5(const float *v, int64_t n, int64_t label)
{
    /* label is in the top 5 when fewer than 5 classes score strictly higher
     * (ties count in the label's favour, the usual convention). */
    int higher = 0;
    for (int64_t i = 0; i < n; i++)
        if (v[i] > v[label])
            higher++;
    return higher < 5;
}

/* log-sum-exp stable softmax into p (double). */
static void softmax(const float *z, int64_t n, double *p)
{
    double mx = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        mx = fmax(mx, z[i]);
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        p[i] = exp((double)z[i] - mx);
        s += p[i];
    }
    for (int64_t i = 0; i < n; i++)
        p[i] /= s;
}

void zp_model_acc_add(struct zp_model_acc *a, const float *float_logits, const float *q_logits,
                      const int32_t *labels, int batch, int64_t classes)
{
    double *p = malloc((size_t)classes * 2 * sizeof *p);
    if (!p)
        return;
    double *q = p + classes;
    for (int b = 0; b < batch; b++) {
        const float *fz = float_logits + (size_t)b * classes;
        const float *qz = q_logits + (size_t)b * classes;
        int64_t fq = argmax(qz, classes), ff = argmax(fz, classes);
        a->n++;
        a->top1 += fq == labels[b];
        a->top5 += in_top5(qz, classes, labels[b]);
        a->agree += fq == ff;
        softmax(fz, classes, p);
        softmax(qz, classes, q);
        double kl = 0;
        for (int64_t i = 0; i < classes; i++)
            if (p[i] > 0)
                kl += p[i] * (log(p[i]) - log(fmax(q[i], DBL_MIN)));
        a->kl_sum += kl;
        for (int64_t i = 0; i < classes; i++) {
            double e = (double)qz[i] - fz[i];
            a->sig_sq += (double)fz[i] * fz[i];
            a->err_sq += e * e;
        }
    }
    free(p);
}

void zp_model_acc_finish(const struct zp_model_acc *a, struct zp_model_metrics *m)
{
    double n = a->n ? (double)a->n : 1;
    m->n = a->n;
    m->top1 = a->top1 / n;
    m->top5 = a->top5 / n;
    m->agreement = a->agree / n;
    m->kl = a->kl_sum / n;
    m->logit_sqnr_db = zp_sqnr_db(a->sig_sq, a->err_sq);
}

double zp_top5(const float *logits, const int32_t *labels, int64_t n, int64_t classes)
{
    long long hit = 0;
    for (int64_t i = 0; i < n; i++)
        hit += in_top5(logits + (size_t)i * (size_t)classes, classes, labels[i]);
    return n ? (double)hit / (double)n : NAN;
}

double zp_top1(const float *logits, const int32_t *labels, int64_t n, int64_t classes)
{
    long long hit = 0;
    for (int64_t i = 0; i < n; i++)
        hit += argmax(logits + i * classes, classes) == labels[i];
    return n ? (double)hit / (double)n : 0;
}

int zp_layer_acc_init(struct zp_layer_acc *a, int64_t channels)
{
    memset(a, 0, sizeof *a);
    a->channels = channels;
    a->sum_err = calloc((size_t)channels * 3, sizeof(double));
    if (!a->sum_err)
        return -1;
    a->sum_y = a->sum_err + channels;
    a->sum_y2 = a->sum_y + channels;
    return 0;
}

void zp_layer_acc_free(struct zp_layer_acc *a)
{
    free(a->sum_err);
    memset(a, 0, sizeof *a);
}

void zp_layer_acc_image(int64_t channels, const float *y, const float *yq, int64_t spatial,
                        double *part)
{
    for (int64_t c = 0; c < channels; c++) {
        const float *yy = y + (size_t)c * (size_t)spatial;
        const float *qq = yq + (size_t)c * (size_t)spatial;
        double se = 0, sy = 0, sy2 = 0, ee = 0;
        for (int64_t i = 0; i < spatial; i++) {
            double e = (double)qq[i] - yy[i];
            se += e;
            ee += e * e;
            sy += yy[i];
            sy2 += (double)yy[i] * yy[i];
        }
        double *p = part + (size_t)c * ZP_LAYER_PARTS;
        p[0] = se;
        p[1] = sy;
        p[2] = sy2;
        p[3] = ee;
    }
}

void zp_layer_acc_image_last(int64_t channels, const float *y, const float *yq, int64_t rows,
                             double *part)
{
    memset(part, 0, (size_t)channels * ZP_LAYER_PARTS * sizeof *part);
    for (int64_t r = 0; r < rows; r++) { /* row by row: channel c's sums in row order */
        const float *yy = y + (size_t)r * (size_t)channels;
        const float *qq = yq + (size_t)r * (size_t)channels;
        for (int64_t c = 0; c < channels; c++) {
            double e = (double)qq[c] - yy[c];
            double *p = part + (size_t)c * ZP_LAYER_PARTS;
            p[0] += e;
            p[1] += yy[c];
            p[2] += (double)yy[c] * yy[c];
            p[3] += e * e;
        }
    }
}

void zp_layer_acc_add_parts(struct zp_layer_acc *a, const double *parts, int images,
                            int64_t spatial)
{
    for (int b = 0; b < images; b++)
        for (int64_t c = 0; c < a->channels; c++) {
            const double *p = parts + ((size_t)b * (size_t)a->channels + (size_t)c) * ZP_LAYER_PARTS;
            a->sum_err[c] += p[0];
            a->sum_y[c] += p[1];
            a->sum_y2[c] += p[2];
            a->sig_sq += p[2];
            a->err_sq += p[3];
        }
    a->count_per_channel += (long long)images * spatial;
}

void zp_layer_acc_add(struct zp_layer_acc *a, const float *y, const float *yq, int batch,
                      int64_t spatial)
{
    double *part = malloc((size_t)a->channels * ZP_LAYER_PARTS * sizeof *part);
    if (!part)
        return;
    size_t per = (size_t)a->channels * (size_t)spatial;
    for (int b = 0; b < batch; b++) {
        zp_layer_acc_image(a->channels, y + (size_t)b * per, yq + (size_t)b * per, spatial, part);
        zp_layer_acc_add_parts(a, part, 1, spatial);
    }
    free(part);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void zp_layer_acc_finish(const struct zp_layer_acc *a, double *sqnr_db, double *mean_shift)
{
    *sqnr_db = zp_sqnr_db(a->sig_sq, a->err_sq);
    *mean_shift = 0;
    double n = (double)a->count_per_channel;
    if (n <= 0 || a->channels <= 0)
        return;
    double *sd = malloc((size_t)a->channels * 2 * sizeof *sd);
    if (!sd)
        return;
    double *sorted = sd + a->channels;
    for (int64_t c = 0; c < a->channels; c++) {
        double mean = a->sum_y[c] / n;
        double var = a->sum_y2[c] / n - mean * mean;
        sd[c] = sorted[c] = var > 0 ? sqrt(var) : 0;
    }
    qsort(sorted, (size_t)a->channels, sizeof *sorted, cmp_double);
    /* A (nearly) constant channel has no scale to compare a shift with: channels
     * whose std is below 1e-3 of the layer's median std are left out, so one dead
     * filter cannot dominate the mean. */
    double floor_sd = 1e-3 * sorted[a->channels / 2];
    double acc = 0;
    int used = 0;
    for (int64_t c = 0; c < a->channels; c++) {
        if (sd[c] <= floor_sd || sd[c] == 0)
            continue;
        acc += fabs(a->sum_err[c] / n) / sd[c];
        used++;
    }
    *mean_shift = used ? acc / used : 0;
    free(sd);
}
