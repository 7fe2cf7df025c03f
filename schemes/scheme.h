/* The scheme plugin ABI.
 *
 * A scheme is one `const struct zp_scheme` descriptor of function pointers (the
 * way ggml describes each quantization type by a traits table). Built-in schemes
 * are listed in schemes/schemes.inc; external schemes live in shared objects that
 * export `zp_plugin_register` (see ZP_PLUGIN_ENTRY below) and are loaded with
 * dlopen by registry.c.
 *
 * A scheme works on one *slice*: a contiguous array of floats that shares one set
 * of parameters. The harness (schemes/granularity.c) cuts a tensor into slices for
 * per-tensor, per-channel (any axis) and per-group granularity, so a scheme never
 * sees shapes. Definitions of every scheme: docs/schemes.md and docs/definitions.md. */
#ifndef ZP_SCHEMES_SCHEME_H
#define ZP_SCHEMES_SCHEME_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever this header changes incompatibly; the registry rejects a plugin
 * built against another value. */
#define ZP_SCHEME_ABI 2 /* 2: block_size, bits_per_weight, fit_tensor; qparams amax */

#define ZP_MAX_OPTIONS 8     /* options per scheme */
#define ZP_MAX_LEVELS 256    /* codebook entries (8-bit lookup tables) */

enum zp_granularity {
    ZP_PER_TENSOR = 0,
    ZP_PER_CHANNEL = 1,
    ZP_PER_GROUP = 2,
};
#define ZP_GRAN_BIT(g) (1u << (g))

enum zp_option_type {
    ZP_OPT_BOOL,
    ZP_OPT_INT,
    ZP_OPT_NUMBER,
    ZP_OPT_ENUM, /* one of a '|'-separated list of words */
};

/* One option a scheme accepts in a config ("nudge_zero": false). */
struct zp_option_desc {
    const char *name;
    enum zp_option_type type;
    double min, max;     /* inclusive range for INT and NUMBER */
    double def;          /* default for BOOL (0/1), INT, NUMBER; index into choices for ENUM */
    const char *choices; /* ENUM only: "kmeans|log2|normal" */
    const char *help;    /* one line, shown by `harness list` */
};

/* The value of an option after validation: num holds BOOL (0/1), INT, NUMBER and
 * the ENUM index. */
struct zp_option_value {
    double num;
};

/* A scheme with all of its settings: what one config entry resolves to. */
struct zp_scheme_config {
    const struct zp_scheme *scheme;
    int bits;
    enum zp_granularity granularity;
    int axis;       /* per-channel / per-group: the channel axis (0 = output channels of a weight) */
    int group_size; /* per-group: elements per group within a channel */
    struct zp_option_value opt[ZP_MAX_OPTIONS]; /* in the order of scheme->options */
};

/* Parameters of one slice. Decoding is
 *   affine:  x' = offset + scale * (q - zero_point),  q in [qmin, qmax]
 *   lookup:  x' = levels[q],                          q in [0, n_levels)
 * `offset` is 0 except for the non-nudged asymmetric mapping (offset = min). */
struct zp_qparams {
    float scale;
    float offset;
    int32_t zero_point;
    int32_t qmin, qmax;
    int32_t n_levels;            /* > 0 for codebook schemes */
    float levels[ZP_MAX_LEVELS]; /* codebook, ascending */
    float amax; /* max |x| of the slice as fitted; set by the schemes whose fit_tensor
                   derives a second-level scale from it (nvfp4, nf4), else 0 */
};

struct zp_scheme {
    uint32_t abi;             /* ZP_SCHEME_ABI */
    const char *name;         /* registry name: config key, CSV value; never renamed */
    const char *summary;      /* one line for `harness list` */
    const char *alias_of;     /* non-NULL for a name that presets options of another scheme */
    int min_bits, max_bits, default_bits;
    unsigned granularities;   /* ZP_GRAN_BIT(...) mask of what the scheme supports */
    const struct zp_option_desc *options;
    int n_options;
    const char *kernel_family; /* storage format its kernels compute on: "u8", "s8", "s8-narrow",
                                  "q4", "lut4", "binary", or NULL when no kernel exists */

    /* Cross-option checks after each option is in range; NULL if none. Writes a
     * message naming the option at fault. */
    enum zp_status (*validate)(const struct zp_scheme_config *cfg, struct zp_err *err);

    /* Chooses parameters from data. x holds n finite values (the caller rejects
     * NaN / Inf); n >= 1. Must handle all-zero and constant slices without
     * dividing by zero. */
    enum zp_status (*fit)(const struct zp_scheme_config *cfg, const float *x, size_t n,
                          struct zp_qparams *p, struct zp_err *err);

    /* Chooses parameters from a range [lo, hi] (activation calibration, QAT
     * moving averages). NULL for schemes that need the data (codebooks); the
     * harness then calls fit on a sample clipped to the range. */
    enum zp_status (*fit_range)(const struct zp_scheme_config *cfg, float lo, float hi,
                                struct zp_qparams *p, struct zp_err *err);

    /* float -> codes and codes -> float for n values of one slice. */
    void (*quantize)(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                     const float *x, int32_t *q, size_t n);
    void (*dequantize)(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                       const int32_t *q, float *y, size_t n);

    /* The value range inside which the straight-through gradient passes (QAT);
     * NULL means [min level, max level]. */
    void (*clip_range)(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                       float *lo, float *hi);

    /* > 0 for a block-scaled format (mx 32, nvfp4 16, nf4 64): its defaults are
     * per-group with this group_size, a block being a slice. 0: per-tensor. */
    int block_size;

    /* Storage cost in bits per element of a tensor of n elements cut into
     * n_slices slices by cfg: element bits plus every scale, zero point and
     * codebook, amortised (docs/schemes.md says what each scheme counts). NULL
     * (plugins): cfg->bits + 32 bits (one float scale) per slice. Call it through
     * zp_bits_per_weight (schemes/granularity.h), which knows the slicing. */
    double (*bits_per_weight)(const struct zp_scheme_config *cfg, size_t n, size_t n_slices);

    /* Second pass over the fitted parameters of all slices of one tensor, in
     * slice order, for schemes whose slices share a tensor-wide quantity (NVFP4's
     * FP32 per-tensor scale, NF4's double-quantized block scales). Called by
     * zp_tensor_fit after every fit; a slice fitted alone (activations) is
     * already complete. NULL if none. */
    enum zp_status (*fit_tensor)(const struct zp_scheme_config *cfg, struct zp_qparams *slices,
                                 size_t n_slices, struct zp_err *err);
};

/* Registry (schemes/registry.c). */
const struct zp_scheme *zp_scheme_find(const char *name);
int zp_scheme_count(void);
const struct zp_scheme *zp_scheme_at(int i);
/* Loads a plugin shared object and registers what it exports. */
enum zp_status zp_scheme_load_plugin(const char *path, struct zp_err *err);
/* Registers a descriptor (used by plugins through their entry point). */
enum zp_status zp_scheme_register(const struct zp_scheme *s, struct zp_err *err);

/* Fills cfg with the scheme's defaults (bits, per-tensor, axis 0, group 32, option
 * defaults; per-group with group_size = block_size for a block-scaled scheme). */
void zp_scheme_config_defaults(struct zp_scheme_config *cfg, const struct zp_scheme *s);
/* Index of an option by name, or -1. */
int zp_scheme_option_index(const struct zp_scheme *s, const char *name);
/* Value of option `name` (its default when the scheme has no such option: callers
 * only ask for options their own scheme declares). */
double zp_scheme_opt(const struct zp_scheme_config *cfg, const char *name);

/* A plugin exports this function; it calls zp_scheme_register once per scheme. */
typedef enum zp_status (*zp_plugin_entry_fn)(struct zp_err *err);
#define ZP_PLUGIN_ENTRY "zp_plugin_register"

/* Shared helpers for every scheme (schemes/scheme_util.c). */
/* x' for x = 0.0 under p (what real zero decodes to). */
float zp_qparams_decode_zero(const struct zp_scheme *s, const struct zp_scheme_config *cfg,
                             const struct zp_qparams *p);

/* Full check of a resolved config: bits in [min_bits, max_bits], granularity
 * supported, group_size >= 1 for per-group, every option in its declared range
 * (INT integral, ENUM index valid, BOOL 0/1 within [min, max] so a scheme can pin
 * one), then the scheme's own validate. The message names the scheme and the
 * field at fault ("symmetric: bits 9 out of range (expected 2..8)"). */
enum zp_status zp_scheme_config_check(const struct zp_scheme_config *cfg, struct zp_err *err);
/* Index of `word` in an ENUM option's '|'-separated choices, or -1. */
int zp_option_choice_index(const struct zp_option_desc *o, const char *word);
/* Copies choice number `idx` of an ENUM option into buf ("" when out of range). */
void zp_option_choice_name(const struct zp_option_desc *o, int idx, char *buf, size_t size);
/* The kernel family that computes on this config's codes: the descriptor's
 * kernel_family, except "s8" with narrow_range true gives "s8-narrow" (symmetric
 * with narrow_range set runs the no-128 kernels). NULL when none. */
const char *zp_scheme_kernel_family(const struct zp_scheme_config *cfg);
/* Human name of a granularity: "per-tensor", "per-channel", "per-group". */
const char *zp_granularity_name(enum zp_granularity g);

/* Helpers for scheme implementations, built-in and plugin alike
 * (schemes/scheme_util.c, schemes/affine.c). */

/* Checks bits against the scheme's range and that per-group is used only with
 * bits <= 4 by schemes with a kernel family (the lookup-table and packed-nibble
 * kernels group; 8-bit ones don't). Schemes without kernels group at any width. */
enum zp_status zp_scheme_check_bits(const struct zp_scheme_config *cfg, struct zp_err *err);
/* Minimum and maximum of n >= 1 finite values. */
void zp_minmax(const float *x, size_t n, float *lo, float *hi);
/* max |x| of n >= 1 finite values. */
float zp_max_abs(const float *x, size_t n);

/* Affine parameters from a range (docs/definitions.md); lo <= hi, both finite. Degenerate
 * ranges get a scale that represents the data exactly (see docs/schemes.md). */
void zp_affine_asym_nudged(float lo, float hi, int bits, struct zp_qparams *p);
void zp_affine_asym_plain(float lo, float hi, int bits, struct zp_qparams *p);
void zp_affine_symmetric(float max_abs, int bits, int narrow, struct zp_qparams *p);
/* q = clamp(round((x - offset) / scale) + zero_point, qmin, qmax), half to even. */
void zp_affine_quantize(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                        const float *x, int32_t *q, size_t n);
/* x' = offset + scale * (q - zero_point). */
void zp_affine_dequantize(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                          const int32_t *q, float *y, size_t n);
/* [x'(qmin), x'(qmax)]. */
void zp_affine_clip_range(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                          float *lo, float *hi);
/* Rejects a range that is not finite or has lo > hi (message names `scheme`). */
enum zp_status zp_check_range(const char *scheme, float lo, float hi, struct zp_err *err);

/* Codebook helpers: nearest level (ties to the lower index) and table decode;
 * p->levels ascending, p->n_levels >= 1. */
void zp_lut_quantize(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                     const float *x, int32_t *q, size_t n);
void zp_lut_dequantize(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                       const int32_t *q, float *y, size_t n);
void zp_lut_clip_range(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                       float *lo, float *hi);

/* bits_per_weight of the common layouts, for descriptors: cfg->bits per element
 * plus, per slice, a float scale (32); a float scale and a bits-wide zero point;
 * a codebook of 2^bits float levels. */
double zp_bpw_scale(const struct zp_scheme_config *cfg, size_t n, size_t n_slices);
double zp_bpw_scale_zero_point(const struct zp_scheme_config *cfg, size_t n, size_t n_slices);
double zp_bpw_codebook(const struct zp_scheme_config *cfg, size_t n, size_t n_slices);

#ifdef __cplusplus
}
#endif
#endif
