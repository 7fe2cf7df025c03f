/* symmetric: signed b-bit codes, zero point 0 (int8 at 8 bits). Full range uses
 * -2^(b-1)..2^(b-1)-1 with s = max|x| / (2^(b-1) - 0.5); narrow_range drops the
 * most negative code (-127..127, s = max|x| / (2^(b-1) - 1)), which is what
 * makes int16 pair accumulation safe in the kernels. */
#include "schemes/scheme.h"

static const struct zp_option_desc options[] = {
    {.name = "narrow_range", .type = ZP_OPT_BOOL, .min = 0, .max = 1, .def = 0,
     .help = "codes -(2^(b-1)-1)..2^(b-1)-1: never emit -128 at 8 bits"},
};

static enum zp_status sym_fit_range(const struct zp_scheme_config *cfg, float lo, float hi,
                                    struct zp_qparams *p, struct zp_err *err)
{
    enum zp_status st = zp_check_range(cfg->scheme->name, lo, hi, err);
    if (st != ZP_OK)
        return st;
    float m = -lo > hi ? -lo : hi;
    m = m > 0.0f ? m : 0.0f;
    zp_affine_symmetric(m, cfg->bits, zp_scheme_opt(cfg, "narrow_range") != 0.0, p);
    return ZP_OK;
}

static enum zp_status sym_fit(const struct zp_scheme_config *cfg, const float *x, size_t n,
                              struct zp_qparams *p, struct zp_err *err)
{
    (void)err;
    zp_affine_symmetric(zp_max_abs(x, n), cfg->bits, zp_scheme_opt(cfg, "narrow_range") != 0.0,
                        p);
    return ZP_OK;
}

const struct zp_scheme zp_scheme_symmetric = {
    .abi = ZP_SCHEME_ABI,
    .name = "symmetric",
    .summary = "signed codes, zero point 0 (int8 -128..127 at 8 bits)",
    .min_bits = 2,
    .max_bits = 8,
    .default_bits = 8,
    .granularities = ZP_GRAN_BIT(ZP_PER_TENSOR) | ZP_GRAN_BIT(ZP_PER_CHANNEL) |
                     ZP_GRAN_BIT(ZP_PER_GROUP),
    .options = options,
    .n_options = (int)(sizeof options / sizeof options[0]),
    .kernel_family = "s8",
    .validate = zp_scheme_check_bits,
    .fit = sym_fit,
    .fit_range = sym_fit_range,
    .quantize = zp_affine_quantize,
    .dequantize = zp_affine_dequantize,
    .clip_range = zp_affine_clip_range,
    .bits_per_weight = zp_bpw_scale,
};
