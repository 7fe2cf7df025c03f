/* Experiment (run) configs: JSON (read with cJSON through config/json_check.h,
 * like the bench and train configs) parsed and validated into plain structs. Every error
 * names the file and the JSON path: "configs/x.json: schemes[3].bits: expected
 * 1..8, got 12". Arrays in a scheme entry expand into a sweep (cartesian product).
 * The schema is documented in docs/config.md. */
#ifndef ZP_CONFIG_CONFIG_H
#define ZP_CONFIG_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "config/data_cfg.h"
#include "data/dataset.h"
#include "data/tokens.h"
#include "ptq/rounding.h"
#include "schemes/scheme.h"

#define ZP_PATH_MAX 1024
#define ZP_NAME_MAX 96
#define ZP_MAX_PLUGINS 16
#define ZP_MAX_CALIB 16
#define ZP_MAX_OVERRIDES 16
#define ZP_MAX_OVERRIDE_LAYERS 32

enum zp_mode { ZP_MODE_WEIGHTS = 0, ZP_MODE_ACTIVATIONS = 1, ZP_MODE_BOTH = 2, ZP_MODE_QAT = 3,
                ZP_MODE_INTEGER = 4 /* integer-only inference (experiment/integer_cell.c) */ };
#define ZP_N_MODES 5
const char *zp_mode_name(enum zp_mode m);

/* One scheme variant: a fully resolved entry of the `schemes` sweep. */
struct zp_variant {
    char label[160];             /* human label, unique in the run */
    char options[256];           /* scheme options as "k=v;k=v" for the CSV */
    char act_options[256];       /* the activation scheme's options, same form */
    struct zp_scheme_config w;   /* weights */
    struct zp_scheme_config a;   /* activations (always per-tensor) */
    int bias_correction;         /* 1: "empirical" */
    int bias_int32;              /* 1: biases rounded to int32 at input scale x weight scale */
    int equalize;                /* 1: cross-layer equalization of the float weights (ptq/equalize.h) */
    int bias_absorption;         /* 1: high-bias absorption from calibration statistics (ptq/bias_absorb.h) */
    int quant_attention;         /* 1: the activation scheme also quantizes both operands of every
                                    MatMul of two activations (attention's Q K^T and P V) */
    int quant_embedding;         /* 1: the weight scheme also quantizes every lookup table (Gather
                                    data: a language model's token embedding), rows as channels */
    int int_float_multiplier;    /* mode integer: requantize with a float multiplier ("requantize": "float") */
    char weight_calib[16];       /* "" (the scheme's own fit) or a calibration method whose
                                    clipped range replaces min/max for affine weights */
    double weight_calib_percentile;
    int rounding;                /* enum zp_rounding: "rounding" (docs/ptq.md) */
    struct zp_rounding_opts rounding_opts; /* "rounding_options" */
    int entry;                   /* index in the config's schemes[] */
    /* QAT settings (mode "qat"); epochs == 0 leaves QAT off for this variant */
    int qat_epochs;
    double qat_lr;
    int qat_acts;            /* 1: QAT also fake-quantizes layer inputs */
    int qat_batch;
    long qat_bn_freeze;      /* steps before BN uses its running statistics */
    int qat_distill;         /* 1: "loss": "distill" (KL to the float model), 0: "xent" */
    double qat_temperature;  /* distillation temperature (1 by default) */
    double qat_alpha;        /* distillation: weight of the labelled cross-entropy (0) */
    int qat_hflip;           /* random horizontal flips of the training batches (0) */
    int qat_adam;            /* "optimizer": "adam" (1) or "sgd" (0, with momentum 0.9) */
    unsigned modes;          /* the entry's own "modes" (1 << enum zp_mode), replacing the
                                model's; 0 when the entry gives none */
};

/* Where activation ranges come from (mode activations / both). */
struct zp_calib_cfg {
    char method[16];     /* minmax | ema | percentile | mse | kl */
    double ema_constant; /* ema: 0.01 */
    double percentile;   /* percentile: 99.99 */
    int bins;            /* histogram methods: 2048 */
    int size;            /* calibration examples */
    uint64_t seed;       /* order of the calibration examples */
    int shuffle;         /* 1: random subset of the calibration data; 0: the first `size` */
};

struct zp_dataset_cfg {
    int present;
    char name[ZP_NAME_MAX];
    char images[ZP_PATH_MAX];
    char labels[ZP_PATH_MAX];
    double scale;                /* x = (pixel * scale - mean) / std; 1 by default. Folded
                                    into spec.mean / spec.std (config/data_cfg.h) until
                                    the loaders apply it themselves */
    struct zp_dataset_spec spec; /* images/labels point into the arrays above */
    /* "format": "tokens" (language models): token windows. images holds the tokens
     * file, labels the optional targets .npy; tok.path points at images. Without
     * targets each window's first T-1 tokens are the input and its last T-1 the
     * targets; with them the whole window is the input. */
    int is_tokens;
    struct zp_tokens_spec tok;
};

/* Per-layer override: the layers named (ONNX node names, indices, "first", "last")
 * use another weight quantizer, e.g. keep the first and last layer at 8 bits. */
struct zp_override {
    int n_layers;
    char layers[ZP_MAX_OVERRIDE_LAYERS][ZP_NAME_MAX];
    struct zp_scheme_config w;   /* unset when keep_float */
    char label[ZP_NAME_MAX];
    int keep_float;              /* "float": true: these layers' weights and inputs stay float
                                    (a language model's classifier, say) */
};

struct zp_model_cfg {
    char name[ZP_NAME_MAX];
    char path[ZP_PATH_MAX];
    struct zp_dataset_cfg eval;
    struct zp_dataset_cfg calib_data;  /* defaults to eval when absent */
    struct zp_dataset_cfg train_data;  /* QAT only */
    unsigned modes;                    /* 1 << enum zp_mode */
    int n_calib;
    struct zp_calib_cfg calib[ZP_MAX_CALIB];
    int n_overrides;
    struct zp_override overrides[ZP_MAX_OVERRIDES];
    int batch;                         /* inference batch, default 50 */
    int layer_stats_samples;           /* eval examples used for layers.csv, default 256 */
    int layer_stats_off;               /* "layer_stats": false: no layers.csv rows, no paired pass */
    int act_at;                        /* 0: inputs of Conv/Gemm (default); 1: also layer outputs before activation */
    char checkpoint[ZP_PATH_MAX];      /* QAT: the float training checkpoint */
    double prune;                      /* magnitude pruning: share of each layer's weights set
                                          to exactly 0 before anything else (float reference too) */
    int select_size;                   /* "select": the last select_size examples of
                                          calibration_data (never the eval set) score every
                                          cell for choosing "best" variants; calibration
                                          subsets are drawn from the others. 0: none */
};

enum zp_distribution { ZP_DIST_UNIFORM, ZP_DIST_GAUSSIAN, ZP_DIST_LAPLACE, ZP_DIST_RELU_GAUSSIAN };
const char *zp_distribution_name(enum zp_distribution d);

struct zp_synth_cfg {
    char name[ZP_NAME_MAX];
    enum zp_distribution dist;
    int64_t n;          /* elements */
    int64_t channels;   /* shape [channels, n/channels] (per-channel slices along axis 0) */
    uint64_t seed;
    double scale;       /* uniform: half-width; gaussian: sigma; laplace: b */
    double zero_share;  /* relu_gaussian: share of exact zeros (gaussian gated at that quantile) */
};

/* "statistics": summary.csv (docs/statistics.md). */
struct zp_stats_cfg {
    int resamples;     /* bootstrap resamples, 2000 */
    double level;      /* interval level, 0.95 */
    uint64_t seed;     /* bootstrap stream, 20260 */
    int pairs_auto;    /* 1 ("auto", default): pairs from the variant axes; 0 ("none") */
};

struct zp_config {
    char path[ZP_PATH_MAX];
    char name[ZP_NAME_MAX];
    char *raw;               /* the file as given (owned) */
    uint64_t seed;
    int save_logits;         /* write each model cell's logits to logits/<cell id>.npy */
    int replicates;          /* "replicates": runs of each model cell with seeds r = 0..N-1 */
    struct zp_stats_cfg stats;
    int n_plugins;
    char plugins[ZP_MAX_PLUGINS][ZP_PATH_MAX];
    size_t n_variants;
    struct zp_variant *variants;   /* owned */
    size_t n_synth;
    struct zp_synth_cfg *synth;    /* owned */
    size_t n_weight_models;
    char (*weight_models)[ZP_PATH_MAX]; /* models whose weight tensors go to tensors.csv */
    size_t n_models;
    struct zp_model_cfg *models;   /* owned */
};

struct zp_config_env {
    const char *data_root;     /* --data, NULL if not given */
    int n_plugins;             /* --plugin SO (loaded before the config's own) */
    const char *const *plugins;
    int forbid_plugins;        /* the fuzz target: a config's "plugins" is an error, never dlopen'd */
};

/* Loads and validates a config. Plugins named in the config are loaded (the
 * schemes they add are then valid names); one that cannot be loaded is ZP_ECONFIG.
 * '@data/' paths resolve against the data root (env->data_root, else $ZP_DATA; no
 * default) and must exist. */
enum zp_status zp_config_load(const char *path, const struct zp_config_env *env,
                              struct zp_config *cfg, struct zp_err *err);
/* Same from text (the fuzz target); `path` is used in messages only. */
enum zp_status zp_config_parse(const char *text, const char *path,
                               const struct zp_config_env *env, struct zp_config *cfg,
                               struct zp_err *err);
/* 1 when the scheme decodes on the integer affine grid (zp_affine_dequantize). */
int zp_scheme_is_affine(const struct zp_scheme *s);
/* mse / kl calibration with a non-affine activation scheme (minifloat, mx, nvfp4,
 * nf4, lut4, binary) in a mode that quantizes activations: ZP_ECONFIG naming the
 * model, method and entry. Run by zp_config_parse. */
enum zp_status zp_config_check_act_calib(const struct zp_config *cfg, struct zp_err *err);
void zp_config_free(struct zp_config *cfg);

/* Fills the scheme-related fields from one JSON-free description (used by QAT and
 * tests): scheme name with default options. */
enum zp_status zp_variant_from_name(const char *scheme, struct zp_variant *v, struct zp_err *err);

#endif
