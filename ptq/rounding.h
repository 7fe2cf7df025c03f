/* How a layer's weights are rounded onto their scheme's grid after the grid is
 * fitted: to nearest (the schemes' own quantize), or by one of the post-training
 * algorithms of ptq/ that choose each weight's level to keep the layer's output
 * on calibration data (docs/ptq.md). The settings of a config's "rounding" and
 * "rounding_options" keys. */
#ifndef ZP_PTQ_ROUNDING_H
#define ZP_PTQ_ROUNDING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum zp_rounding {
    ZP_ROUND_NEAREST = 0,
    ZP_ROUND_ADAROUND = 1, /* Nagel et al. 2020 (ptq/adaround.h) */
    ZP_ROUND_GPTQ = 2,     /* Frantar et al. 2022 (ptq/gptq.h) */
};
#define ZP_ROUNDING_CHOICES "nearest|adaround|gptq"

/* The options of both algorithms (each reads its own); zp_rounding_defaults
 * gives the documented defaults. */
struct zp_rounding_opts {
    int examples;      /* calibration examples whose layer inputs are used (256) */
    /* GPTQ */
    double dampening;  /* lambda = dampening x mean diag(H) added to diag(H) (0.01) */
    int act_order;     /* 1: columns by decreasing diag(H); 0: natural order (1) */
    int block_size;    /* columns per lazy batch update (128) */
    /* AdaRound */
    int iterations;    /* Adam steps per layer (1000) */
    int batch_rows;    /* im2col rows per step (256) */
    int rows;          /* im2col rows kept per layer from the examples (8192) */
    double lambda;     /* weight of the rounding regulariser (0.01) */
    double lr;         /* Adam learning rate of the rounding variables (0.01: AIMET's 0.001 is
                          for 10,000 steps; at 1,000 it leaves most choices where they began) */
    double warm_start; /* share of the steps without the regulariser (0.2) */
    double beta_start, beta_end; /* the regulariser's exponent, annealed (20 -> 2) */
    uint64_t seed;     /* which rows are kept and batched */
};

void zp_rounding_defaults(struct zp_rounding_opts *o);
/* "nearest", "adaround", "gptq". */
const char *zp_rounding_name(enum zp_rounding r);

#ifdef __cplusplus
}
#endif
#endif
