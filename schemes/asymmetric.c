/* asymmetric: unsigned b-bit codes with a zero point (uint8 at 8 bits), the
 * gemmlowp / TFLite scheme. nudge_zero (default true) widens the range to
 * contain 0 and rounds the zero point so real 0.0 is exactly a level; false is
 * the naive min/max mapping q = round((x - min) / s), x' = min + s q. */
#include "schemes/scheme.h"

static const struct zp_option_desc options[] = {
    {.name = "nudge_zero", .type = ZP_OPT_BOOL, .min = 0, .max = 1, .def = 1,
     .help = "make real 0.0 exactly representable (gemmlowp); false = naive min/max mapping"},
};

static int nudged(const struct zp_scheme_config *cfg)
{
    return zp_scheme_opt(cfg, "nudge_zero") != 0.0;
}

static enum zp_status asym_fit_range(const struct zp_scheme_config *cfg, float lo, float hi,
                                     struct zp_qparams *p, struct zp_err *err)
{
    enum zp_status st = zp_check_range("asymmetric", lo, hi, err);
    if (st != ZP_OK)
        return st;
    if (nudged(cfg))
        zp_affine_asym_nudged(lo, hi, cfg->bits, p);
    else
        zp_affine_asym_plain(lo, hi, cfg->bits, p);
    return ZP_OK;
}

static enum zp_status asym_fit(const struct zp_scheme_config *cfg, const float *x, size_t n,
                               struct zp_qparams *p, struct zp_err *err)
{
    float lo, hi;
    zp_minmax(x, n, &lo, &hi);
    return asym_fit_range(cfg, lo, hi, p, err);
}

/* Nudged: a float scale and a bits-wide zero point per slice; naive: a float
 * scale and a float offset (the minimum). */
static double asym_bpw(const struct zp_scheme_config *cfg, size_t n, size_t n_slices)
{
    return nudged(cfg) ? zp_bpw_scale_zero_point(cfg, n, n_slices)
                       : cfg->bits + 64.0 * (double)n_slices / (double)n;
}

const struct zp_scheme zp_scheme_asymmetric = {
    .abi = ZP_SCHEME_ABI,
    .name = "asymmetric",
    .summary = "unsigned codes 0..2^b-1 with a zero point (uint8 at 8 bits)",
    .min_bits = 2,
    .max_bits = 8,
    .default_bits = 8,
    .granularities = ZP_GRAN_BIT(ZP_PER_TENSOR) | ZP_GRAN_BIT(ZP_PER_CHANNEL) |
                     ZP_GRAN_BIT(ZP_PER_GROUP),
    .options = options,
    .n_options = (int)(sizeof options / sizeof options[0]),
    .kernel_family = "u8",
    .validate = zp_scheme_check_bits,
    .fit = asym_fit,
    .fit_range = asym_fit_range,
    .quantize = zp_affine_quantize,
    .dequantize = zp_affine_dequantize,
    .clip_range = zp_affine_clip_range,
    .bits_per_weight = asym_bpw,
};
