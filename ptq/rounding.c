/* Rounding settings (ptq/rounding.h). */
#include "ptq/rounding.h"

#include <string.h>

void zp_rounding_defaults(struct zp_rounding_opts *o)
{
    memset(o, 0, sizeof *o);
    o->examples = 256;
    o->dampening = 0.01;
    o->act_order = 1;
    o->block_size = 128;
    o->iterations = 1000;
    o->batch_rows = 256;
    o->rows = 8192;
    o->lambda = 0.01;
    o->lr = 0.01;
    o->warm_start = 0.2;
    o->beta_start = 20;
    o->beta_end = 2;
    o->seed = 1;
}

const char *zp_rounding_name(enum zp_rounding r)
{
    return r == ZP_ROUND_ADAROUND ? "adaround" : r == ZP_ROUND_GPTQ ? "gptq" : "nearest";
}
