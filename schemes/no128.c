/* no-128: an alias of symmetric with narrow_range pinned to true (codes
 * -(2^(b-1)-1)..2^(b-1)-1, never -128 at 8 bits). It declares narrow_range as a
 * bool fixed to true, so results rows read narrow_range=true and a config that
 * sets it false gets an error. The math is symmetric's: fit goes through that
 * descriptor, which reads narrow_range from this config. */
#include "schemes/scheme.h"

extern const struct zp_scheme zp_scheme_symmetric;

static const struct zp_option_desc options[] = {
    {.name = "narrow_range", .type = ZP_OPT_BOOL, .min = 1, .max = 1, .def = 1,
     .help = "always true: no-128 is symmetric without the most negative code"},
};

/* narrow_range is forced even if a caller skipped the range check of the
 * option: a config row named no-128 must never use the full range. */
static struct zp_scheme_config pinned(const struct zp_scheme_config *cfg)
{
    struct zp_scheme_config c = *cfg;
    c.opt[0].num = 1.0;
    return c;
}

static enum zp_status no128_validate(const struct zp_scheme_config *cfg, struct zp_err *err)
{
    if (zp_scheme_opt(cfg, "narrow_range") != 1.0)
        return zp_err_set(err, ZP_ECONFIG,
                          "no-128: option narrow_range is fixed to true for this scheme");
    return zp_scheme_check_bits(cfg, err);
}

static enum zp_status no128_fit(const struct zp_scheme_config *cfg, const float *x, size_t n,
                                struct zp_qparams *p, struct zp_err *err)
{
    struct zp_scheme_config c = pinned(cfg);
    return zp_scheme_symmetric.fit(&c, x, n, p, err);
}

static enum zp_status no128_fit_range(const struct zp_scheme_config *cfg, float lo, float hi,
                                      struct zp_qparams *p, struct zp_err *err)
{
    struct zp_scheme_config c = pinned(cfg);
    return zp_scheme_symmetric.fit_range(&c, lo, hi, p, err);
}

const struct zp_scheme zp_scheme_no128 = {
    .abi = ZP_SCHEME_ABI,
    .name = "no-128",
    .summary = "symmetric without the most negative code (int8 -127..127 at 8 bits)",
    .alias_of = "symmetric",
    .min_bits = 2,
    .max_bits = 8,
    .default_bits = 8,
    .granularities = ZP_GRAN_BIT(ZP_PER_TENSOR) | ZP_GRAN_BIT(ZP_PER_CHANNEL) |
                     ZP_GRAN_BIT(ZP_PER_GROUP),
    .options = options,
    .n_options = (int)(sizeof options / sizeof options[0]),
    .kernel_family = "s8-narrow",
    .validate = no128_validate,
    .fit = no128_fit,
    .fit_range = no128_fit_range,
    .quantize = zp_affine_quantize,
    .dequantize = zp_affine_dequantize,
    .clip_range = zp_affine_clip_range,
    .bits_per_weight = zp_bpw_scale,
};
