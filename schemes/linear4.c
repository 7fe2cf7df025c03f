/* linear4: 4-bit linear (affine) codes, the packed-nibble format of the q4
 * kernels. mode symmetric = narrow range -7..7 with s = max|x| / 7 (zero point
 * 0, so the int4 weights need no offset correction); mode asymmetric = nudged
 * 0..15 with a zero point, as the asymmetric scheme at 4 bits. */
#include "schemes/scheme.h"

enum { MODE_SYMMETRIC = 0, MODE_ASYMMETRIC = 1 };

static const struct zp_option_desc options[] = {
    {.name = "mode", .type = ZP_OPT_ENUM, .def = MODE_SYMMETRIC, .choices = "symmetric|asymmetric",
     .help = "symmetric: -7..7, zero point 0; asymmetric: 0..15 with a nudged zero point"},
};

static enum zp_status lin4_fit_range(const struct zp_scheme_config *cfg, float lo, float hi,
                                     struct zp_qparams *p, struct zp_err *err)
{
    enum zp_status st = zp_check_range("linear4", lo, hi, err);
    if (st != ZP_OK)
        return st;
    if ((int)zp_scheme_opt(cfg, "mode") == MODE_ASYMMETRIC) {
        zp_affine_asym_nudged(lo, hi, 4, p);
    } else {
        float m = -lo > hi ? -lo : hi;
        zp_affine_symmetric(m > 0.0f ? m : 0.0f, 4, 1, p);
    }
    return ZP_OK;
}

static enum zp_status lin4_fit(const struct zp_scheme_config *cfg, const float *x, size_t n,
                               struct zp_qparams *p, struct zp_err *err)
{
    float lo, hi;
    zp_minmax(x, n, &lo, &hi);
    return lin4_fit_range(cfg, lo, hi, p, err);
}

/* Symmetric: a float scale per slice; asymmetric: plus a 4-bit zero point. */
static double lin4_bpw(const struct zp_scheme_config *cfg, size_t n, size_t n_slices)
{
    return (int)zp_scheme_opt(cfg, "mode") == MODE_ASYMMETRIC
               ? zp_bpw_scale_zero_point(cfg, n, n_slices)
               : zp_bpw_scale(cfg, n, n_slices);
}

const struct zp_scheme zp_scheme_linear4 = {
    .abi = ZP_SCHEME_ABI,
    .name = "linear4",
    .summary = "4-bit linear codes (symmetric -7..7 or asymmetric 0..15)",
    .min_bits = 4,
    .max_bits = 4,
    .default_bits = 4,
    .granularities = ZP_GRAN_BIT(ZP_PER_TENSOR) | ZP_GRAN_BIT(ZP_PER_CHANNEL) |
                     ZP_GRAN_BIT(ZP_PER_GROUP),
    .options = options,
    .n_options = (int)(sizeof options / sizeof options[0]),
    .kernel_family = "q4",
    .validate = zp_scheme_check_bits,
    .fit = lin4_fit,
    .fit_range = lin4_fit_range,
    .quantize = zp_affine_quantize,
    .dequantize = zp_affine_dequantize,
    .clip_range = zp_affine_clip_range,
    .bits_per_weight = lin4_bpw,
};
