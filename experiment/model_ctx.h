/* Internal to the model experiments (experiment/model_ctx.c, calibrate.c, qnet.c,
 * model_cell.c, hist_cell.c): the loaded model context, the quantized network of a
 * cell, and the functions they share. Not used outside experiment/. */
#ifndef ZP_EXPERIMENT_MODEL_CTX_H
#define ZP_EXPERIMENT_MODEL_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "calib/bias_correction.h"
#include "experiment/lm_metrics.h"
#include "experiment/metrics.h"
#include "experiment/runner.h"
#include "model/graph.h"
#include "schemes/granularity.h"

/* Values kept per layer input during calibration, for schemes that fit from data
 * (codebooks) rather than from a range. */
#define ACT_SAMPLE 16384

struct act_cal {
    float lo, hi;
    float *sample;
    size_t n_sample;
    float out_lo, out_hi; /* range of the layer output before its activation (quantize_at
                             "inputs+outputs"; NAN when not calibrated) */
};

struct zp_model_ctx {
    size_t index;
    const struct zp_model_cfg *mc;
    struct zp_graph *g;
    int n_layers;
    int64_t classes;
    struct zp_dataset eval, calib;
    int calib_is_eval;
    long n_eval;
    float *float_logits;
    double float_top1, float_top5;
    double *zf_relu, *zf_pad;         /* per layer input, from the float pass */
    /* Calibrated ranges: one entry per calibration setting and, for mse / kl (which
     * optimise for a quantizer), per activation quantizer shape. */
    struct cal_entry {
        int k, bits, symmetric, narrow, rep;
        int sampled;            /* layers hold the reservoir sample (codebook activations) */
        int ptq;                /* the ptq_tag of the network calibrated */
        struct act_cal *layers; /* n_layers entries */
        float *amm;             /* quantize_attention: lo, hi of operand a, then b, per MatMul of
                                   two activations; NULL when not observed */
    } cal[4 * ZP_MAX_CALIB];
    int n_cal;
    double load_seconds, float_seconds;
    int batch;
    float **base_w; /* per layer: pruned weights, or NULL entries = the model's own */
    /* While a cell with equalize / bias_absorption runs (experiment/ptq_prep.c):
     * base_w holds its transformed float weights, base_b its biases (NULL: the
     * model's), act_hi the per-channel clamps of the ReLU6 layers (zp_run_hooks; NULL:
     * none), and ptq_tag != 0 keeps the caches of the model's own float network
     * (ref_out, calibrated ranges) apart from this one's. */
    float **base_b;
    float **act_hi;
    int ptq_tag;
    struct zp_dataset train; /* QAT only, loaded on first use */
    int train_loaded;
    int calib_used[ZP_MAX_CALIB]; /* per calibration setting: its size, capped at the data */
    /* Only the calibration examples some setting draws are decoded: calib holds
     * them, calib_row maps an index of the whole dataset (calib_full_n examples)
     * to its row in calib (-1: not drawn), NULL when calib is the whole set. */
    int64_t calib_full_n;
    int32_t *calib_row;
    /* Replicates (docs/statistics.md): replicate r draws its calibration subset, its
     * reservoir sample and its QAT shuffling from seed + r; r = 0 is the config's seeds. */
    int rep, n_rep; /* the replicate being run, of n_rep this cell runs */
    int32_t *float_pred;          /* n_eval: argmax of the float logits */
    /* The select split: the last n_select examples of the calibration data; the
     * calibration subsets are drawn from the first calib_pool examples only. */
    long n_select, calib_pool;
    /* The float run's layer outputs (before the activation) of the first n_ref_cached
     * eval examples, per layer n_ref_cached x out_size, kept by the float pass so
     * that the paired batches of layers.csv need not run the float network again
     * in every cell (a whole number of batches, at most ZP_REF_CACHE_MB). */
    float **ref_out;
    long n_ref_cached;
    /* Language models (eval "format": "tokens"): every example is a window of lm_t
     * token ids, its output lm_t x lm_vocab logits (classes = lm_t * lm_vocab), and
     * lm_targets[n_eval * lm_t] the next token at every position. lm_t == 0 for a
     * classifier. float_nll: the float model's mean next-token NLL (nats). */
    int64_t lm_t, lm_vocab;
    int32_t *lm_targets;
    double float_nll;
};
#define ZP_REF_CACHE_MB 1024

struct zp_input_exact;
struct zp_rt_ukernel;
struct qnet {
    struct zp_model_ctx *m;
    const struct zp_variant *v;
    float **weights;               /* fake-quantized weights per layer */
    float **biases;                /* corrected biases per layer, NULL entries = model's */
    struct zp_qparams *act;        /* per layer, when activations are quantized */
    const struct zp_scheme_config **act_cfg;
    float *pad;                    /* per layer: what padding decodes to */
    double *act_lo, *act_hi;
    int quant_act;
    struct zp_qparams *outq;       /* per layer: output quantizer (quantize_at outputs), or NULL */
    struct zp_tensor_qparams *wqp; /* per layer: the weight quantizer's slice parameters */
    int bias_corrected;            /* biases[] hold corrected float biases */
    struct zp_wcost wcost;         /* bits per weight and clipped slices of the quantized weights */
    struct zp_input_exact *in_exact; /* layer 0's exact 8-bit input table, or NULL (input_exact.h) */
    const struct zp_rt_ukernel *fq_kernel; /* the dispatched affine fake-quant (kernels/kernels.h) */
    int n_amm;                     /* quantize_attention: MatMuls of two activations, and */
    struct zp_qparams *amm_q;      /* 2 quantizers per MatMul (operands a, b), or NULL */
    int64_t *amm_n;                /* 2 operand sizes per MatMul (values per image) */
    int n_tables;                  /* quantize_embedding: lookup tables (zp_graph_table), and */
    float **tables;                /* their fake-quantized values, or NULL */
    /* paired pass state */
    float **float_out;             /* per layer: batch x out_size, the float run's output */
    const float **ref;             /* per layer: this paired batch's float outputs (float_out,
                                      or the model context's ref_out) */
    struct zp_layer_acc *lacc;     /* layer stats, or NULL */
    double **lparts;               /* per layer: batch x channels x ZP_LAYER_PARTS partial
                                      sums of lacc (per image, reduced in image order) */
    struct zp_bias_corr **bc;      /* bias-correction accumulators, or NULL */
    float *bc_out;                 /* batch x out_size: the quantized output of the layer
                                      being bias-corrected */
};


/* experiment/model_cell.c: the accuracy.csv row of a cell; ic: the integer
 * cell's columns (NULL: empty); lm: a language model's metrics (NULL: empty) */
/* The LM columns of an accuracy.csv row (lm NULL: empty, a classifier's row). */
struct zp_csv;
void mx_lm_cols(struct zp_csv *r, const struct zp_lm_metrics *lm);
struct mx_int_cols {
    double vs_fq_agreement, vs_fq_sqnr_db, images_per_s, speedup_vs_float;
};
struct zp_csv;
void mx_accuracy_row(struct zp_csv *r, const struct zp_model_ctx *m, const struct zp_variant *v,
                     const struct zp_cell *cell, int quant_a, const struct zp_model_metrics *mm,
                     const struct zp_wcost *wc, double select_top1, const struct mx_int_cols *ic,
                     const struct zp_lm_metrics *lm);
/* experiment/integer_cell.c: a cell of mode integer (one replicate) */
enum zp_status mx_integer_cell(const struct zp_config *cfg, const struct zp_cell *cell, struct zp_model_ctx *m,
                               struct zp_progress *prog, struct zp_cell_out *out, int32_t *pred,
                               struct zp_err *err);

/* experiment/lm_data.c: the token windows of dc (at most limit, 0: all) as a
 * dataset of float ids [n, 1, 1, T]; targets (NULL: not wanted) [n * T]. */
struct zp_dataset_cfg;
enum zp_status mx_lm_load(const struct zp_dataset_cfg *dc, long limit, struct zp_dataset *ds,
                          int32_t **targets, int64_t *t_out, struct zp_err *err);

/* experiment/model_ctx.c */
/* Output channels of a layer and the values per channel: Conv outputs are [C, H, W]
 * (channels first), MatMul / Gemm outputs of rank >= 2 ([T, N], a transformer's
 * token rows) channels last. */
int mx_channels_last(const struct zp_layer_info *li);
int64_t mx_out_channels(const struct zp_layer_info *li);
const float *mx_base_weight(const struct zp_model_ctx *m, int l);
/* The float biases every run starts from: base_b's, else the model's (NULL: none). */
const float *mx_base_bias(const struct zp_model_ctx *m, int l);
size_t mx_weight_count(const struct zp_layer_info *li);
size_t mx_in_size(const struct zp_layer_info *li);
size_t mx_out_size(const struct zp_layer_info *li);
int64_t mx_out_spatial(const struct zp_layer_info *li);
void mx_gather(const struct zp_dataset *ds, const uint32_t *idx, int n, float *dst);

/* experiment/calibrate.c */
uint32_t *mx_calib_draw(const struct zp_calib_cfg *c, uint32_t n, int rep);
uint32_t *mx_calib_indices(const struct zp_model_ctx *m, const struct zp_calib_cfg *c,
                               int *n_out);
void mx_probe_symmetric(const struct zp_scheme_config *c, int *symmetric, int *narrow);
/* 1 when a cell's result depends on the replicate's seeds (docs/statistics.md). */
int mx_cell_random(const struct zp_model_ctx *m, const struct zp_variant *v, enum zp_mode mode, int calib);
/* amm non-NULL (quantize_attention): the same pass also gives the min / max of
 * both operands of every MatMul of two activations (zp_graph_act_matmul), *amm =
 * 4 floats per MatMul (lo, hi of a, then of b), whatever the setting's method;
 * both results are the model context's (cached per setting and replicate). */
enum zp_status mx_calibrate(struct zp_model_ctx *m, int k, const struct zp_variant *v,
                                struct zp_progress *prog, struct act_cal **result,
                                const float **amm, struct zp_err *err);

/* experiment/qnet.c */
/* The weight quantizer of layer l: an override's if one names the layer (its
 * label to *label when non-NULL), else the variant's; NULL when an override keeps
 * the layer float ("float": true). */
const struct zp_scheme_config *mx_layer_wcfg(const struct zp_model_ctx *m,
                                             const struct zp_variant *v, int l,
                                             const char **label);
void mx_round_biases_int32(struct qnet *q);
void mx_qnet_free(struct qnet *q);
enum zp_status mx_qnet_build(struct qnet *q, struct zp_model_ctx *m,
                                 const struct zp_variant *v, int quant_w, int quant_act, int k,
                                 struct zp_progress *prog, struct zp_err *err);
void mx_qnet_hooks(struct qnet *q, struct zp_run_hooks *h, int compare);
enum zp_status mx_alloc_float_out(struct qnet *q, struct zp_err *err);
enum zp_status mx_paired_batch(struct qnet *q, const float *x, int bn, float *logits,
                                   struct zp_err *err);
/* The same for eval examples b0..b0+bn-1, from the float pass's outputs where it
 * kept them (ref_out), else running the float network. */
enum zp_status mx_paired_eval_batch(struct qnet *q, long b0, int bn, float *logits,
                                    struct zp_err *err);
enum zp_status mx_bias_correct(struct qnet *q, struct zp_progress *prog, struct zp_err *err);

/* experiment/ptq_prep.c: a cell's equalize / bias_absorption. mx_ptq_prepare
 * transforms copies of the float weights and biases and installs them in m (see
 * base_b above), calibration setting calib (or the first when -1) giving the
 * absorption's statistics; mx_ptq_restore puts m back as it was. Both do nothing
 * for a variant without these passes. */
struct mx_ptq_saved {
    float **base_w;
    int on;
};
enum zp_status mx_ptq_prepare(struct zp_model_ctx *m, const struct zp_variant *v, int calib,
                              struct zp_progress *prog, struct mx_ptq_saved *saved,
                              struct zp_err *err);
void mx_ptq_restore(struct zp_model_ctx *m, struct mx_ptq_saved *saved);

/* experiment/ptq_round.c: the variant's "rounding" (GPTQ / AdaRound, docs/ptq.md)
 * on every layer of q's quantized weights, layer after layer on calibration
 * examples with the layers before already rounded (and their inputs quantized
 * when q quantizes activations); the grids (q->wqp) stay those already fitted. */
enum zp_status mx_ptq_round(struct qnet *q, struct zp_progress *prog, struct zp_err *err);

#endif
