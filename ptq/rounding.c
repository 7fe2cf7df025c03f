/* Rounding settings (ptq/rounding.h). */
#include "ptq/rounding.h"

void zp_rounding_defaults(struct zp_rounding_opts *o)
{
    *o = (struct zp_rounding_opts){
        .examples = 256, .dampening = 0.01, .act_order = 1, .block_size = 128,
        .iterations = 1000, .batch_rows = 256, .rows = 8192, .lambda = 0.01, .lr = 0.01,
        .warm_start = 0.2, .beta_start = 20, .beta_end = 2, .seed = 1,
    };
}

const char *zp_rounding_name(enum zp_rounding r)
{
    return r == ZP_ROUND_ADAROUND ? "adaround" : r == ZP_ROUND_GPTQ ? "gptq" : "nearest";
}
