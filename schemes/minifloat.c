/* minifloat: a small floating-point element format (OCP FP8 E4M3 / E5M2, MX FP6
 * E2M3 / E3M2, FP4 E2M1) with one float scale per slice: s = max|x| / fmax puts
 * the slice maximum (or the calibrated range's larger end) at the format's
 * largest finite value, and x' = s * decode(encode(x / s)), encode rounding to
 * nearest even (schemes/minifloat_codec.h). bits must equal the format width
 * (8, 8, 6, 6, 4), so results rows carry the true element width. */
#include "schemes/scheme.h"

#include "schemes/fp_levels.h"
#include "schemes/minifloat_codec.h"

/* Option order matches enum zp_mf_format. */
static const struct zp_option_desc options[] = {
    {.name = "format", .type = ZP_OPT_ENUM, .def = ZP_MF_E4M3,
     .choices = "e4m3|e5m2|e2m3|e3m2|e2m1",
     .help = "element format: FP8 E4M3 (max 448) / E5M2 (57344), FP6 E2M3 (7.5) / E3M2 (28), "
             "FP4 E2M1 (6)"},
    {.name = "saturating", .type = ZP_OPT_BOOL, .min = 0, .max = 1, .def = 1,
     .help = "overflow clamps to +-max; false: E4M3 -> NaN, E5M2 -> inf (FP8 only)"},
};

static enum zp_mf_format format_of(const struct zp_scheme_config *cfg)
{
    return (enum zp_mf_format)(int)zp_scheme_opt(cfg, "format");
}

static enum zp_status mf_validate(const struct zp_scheme_config *cfg, struct zp_err *err)
{
    const struct zp_mf_info *in = zp_mf_info(format_of(cfg));
    if (cfg->bits != in->width)
        return zp_err_set(err, ZP_ECONFIG,
                          "minifloat: format %s is %d bits wide; set bits %d (got bits %d)",
                          in->name, in->width, in->width, cfg->bits);
    if (zp_scheme_opt(cfg, "saturating") == 0.0 && in->nan == ZP_MF_NAN_NONE)
        return zp_err_set(err, ZP_ECONFIG,
                          "minifloat: option saturating false needs an FP8 format: %s has no "
                          "infinity or NaN to overflow to (OCP MX v1.0), it always clamps",
                          in->name);
    return ZP_OK;
}

static void set_for_max(const struct zp_scheme_config *cfg, float m, struct zp_qparams *p)
{
    enum zp_mf_format f = format_of(cfg);
    float s = m > 0.0f ? (float)((double)m / (double)zp_mf_info(f)->max) : 1.0f;
    zp_fp_set_levels(f, s, p);
    p->amax = m;
}

static enum zp_status mf_fit_range(const struct zp_scheme_config *cfg, float lo, float hi,
                                   struct zp_qparams *p, struct zp_err *err)
{
    enum zp_status st = zp_check_range("minifloat", lo, hi, err);
    if (st != ZP_OK)
        return st;
    float m = -lo > hi ? -lo : hi;
    set_for_max(cfg, m > 0.0f ? m : 0.0f, p);
    return ZP_OK;
}

static enum zp_status mf_fit(const struct zp_scheme_config *cfg, const float *x, size_t n,
                             struct zp_qparams *p, struct zp_err *err)
{
    (void)err;
    set_for_max(cfg, zp_max_abs(x, n), p);
    return ZP_OK;
}

static void mf_quantize(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                        const float *x, int32_t *q, size_t n)
{
    zp_fp_quantize(format_of(cfg), zp_scheme_opt(cfg, "saturating") != 0.0, p, x, q, n);
}

static void mf_dequantize(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                          const int32_t *q, float *y, size_t n)
{
    (void)cfg;
    zp_fp_dequantize(p, q, y, n);
}

const struct zp_scheme zp_scheme_minifloat = {
    .abi = ZP_SCHEME_ABI,
    .name = "minifloat",
    .summary = "FP8/FP6/FP4 elements (E4M3, E5M2, E2M3, E3M2, E2M1), slice max at format max, RNE",
    .min_bits = 4,
    .max_bits = 8,
    .default_bits = 8,
    .granularities = ZP_GRAN_BIT(ZP_PER_TENSOR) | ZP_GRAN_BIT(ZP_PER_CHANNEL) |
                     ZP_GRAN_BIT(ZP_PER_GROUP),
    .options = options,
    .n_options = (int)(sizeof options / sizeof options[0]),
    .kernel_family = NULL,
    .validate = mf_validate,
    .fit = mf_fit,
    .fit_range = mf_fit_range,
    .quantize = mf_quantize,
    .dequantize = mf_dequantize,
    .clip_range = zp_lut_clip_range,
    .bits_per_weight = zp_bpw_scale, /* element width + one float scale per slice */
};
