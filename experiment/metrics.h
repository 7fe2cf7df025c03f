/* The numbers the harness reports, exactly as docs/definitions.md defines them.
 * Sums run in double so that a million-element tensor or a 10,000-image split
 * does not lose digits. */
#ifndef ZP_HARNESS_METRICS_H
#define ZP_HARNESS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "schemes/granularity.h"

/* SQNR reported for an exact reconstruction (infinite in theory). */
#define ZP_SQNR_CAP_DB 200.0

struct zp_tensor_metrics {
    double mse, sqnr_db;
    double zero_error;      /* mean over slices of |x'(0)| */
    double zero_error_lsb;  /* mean over slices of |x'(0)| / (gap between the levels around 0) */
    double zero_fraction;
    double bias;            /* mean(x' - x) */
    double bias_at_zero;    /* mean(x' - x) where x == 0; NaN when x has no zero */
};

/* x: the float tensor, xq: its quantize-dequantize under (cfg, qp). */
void zp_tensor_metrics(const struct zp_scheme_config *cfg, const struct zp_tensor_qparams *qp,
                       const float *x, const float *xq, size_t n, struct zp_tensor_metrics *m);

/* What 0.0 decodes to in one slice, and the level gap around it (the "LSB"). */
void zp_zero_decode(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                    double *x0, double *lsb);

double zp_sqnr_db(double signal_sq, double noise_sq);

/* Model metrics over a split: accumulate batch by batch, then finish. */
struct zp_model_acc {
    long long n, top1, top5, agree;
    double kl_sum, sig_sq, err_sq;
};
struct zp_model_metrics {
    long long n;
    double top1, top5, agreement, kl, logit_sqnr_db;
};
void zp_model_acc_add(struct zp_model_acc *a, const float *float_logits, const float *q_logits,
                      const int32_t *labels, int batch, int64_t classes);
void zp_model_acc_finish(const struct zp_model_acc *a, struct zp_model_metrics *m);
/* Predicted class (argmax, first of ties, as top1 counts it) of each of n rows. */
void zp_argmax_rows(const float *logits, int64_t n, int64_t classes, int32_t *out);
/* Top-1 accuracy of logits alone (the float reference). */
double zp_top1(const float *logits, const int32_t *labels, int64_t n, int64_t classes);
/* Share of rows whose label is among the 5 highest logits (ties in its favour). */
double zp_top5(const float *logits, const int32_t *labels, int64_t n, int64_t classes);

/* Per-layer output comparison: y (float run) vs y' (quantized run), NCHW. */
struct zp_layer_acc {
    int64_t channels;
    double sig_sq, err_sq;
    double *sum_err, *sum_y, *sum_y2; /* per channel */
    long long count_per_channel;
};
int zp_layer_acc_init(struct zp_layer_acc *a, int64_t channels);
void zp_layer_acc_free(struct zp_layer_acc *a);
void zp_layer_acc_add(struct zp_layer_acc *a, const float *y, const float *yq, int batch,
                      int64_t spatial);
/* The same in two steps, for per-image hooks running on many threads: the partial
 * sums of one image (channels x spatial values of y and y') into part[channels x
 * ZP_LAYER_PARTS], then images' partials added in image order. add_parts over
 * images 0..n-1 gives exactly (bit for bit) what zp_layer_acc_add of those n
 * images gives: the same sums in the same order. */
#define ZP_LAYER_PARTS 4
void zp_layer_acc_image(int64_t channels, const float *y, const float *yq, int64_t spatial,
                        double *part);
/* The same partial sums for a channels-last output: y is [rows, channels] (a
 * transformer layer's token rows); the sums per channel run over the rows in order. */
void zp_layer_acc_image_last(int64_t channels, const float *y, const float *yq, int64_t rows,
                             double *part);
void zp_layer_acc_add_parts(struct zp_layer_acc *a, const double *parts, int images,
                            int64_t spatial);
/* sqnr_db and mean_shift = mean over channels (with std > 0) of |mean(y'-y)| / std(y). */
void zp_layer_acc_finish(const struct zp_layer_acc *a, double *sqnr_db, double *mean_shift);

#endif
