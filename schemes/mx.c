/* mx: the OCP Microscaling formats (OCP MX v1.0): blocks of k elements (a
 * per-group slice, default 32 along each output channel's row-major order, the
 * reduction axis of the weight) share one E8M0 scale X = 2^e, and
 * x' = X * element(x / X), the element rounded to nearest even and clamped to
 * its largest finite value (section "Conversion from vector of scalars to MX
 * format": quantize_to_element_format clamps normal numbers).
 *
 * The shared exponent from the block's amax = max|x| (scale_rule):
 *   floor  e = floor(log2 amax) - emax_elem: the OCP v1.0 rule. The block max
 *          lands in the element's top binade, so it can exceed the element max
 *          (FP4: amax / X in (6, 8) clips to 6);
 *   ceil   e = ceil(log2(amax / elem_max)): the smallest X with no clipping;
 *   round  amax first rounded to the element's mantissa width (nearest even),
 *          then floor: the block max moves up a binade only when it would round
 *          there anyway (torchao's "even" mode; Modular's compute_mxfp4_even_scale).
 * e is clamped to E8M0's [-127, 127]; an all-zero block takes X = 1.
 * Elements: FP8 E4M3 / E5M2, FP6 E2M3 / E3M2, FP4 E2M1 (minifloat_codec.h) and
 * INT8 (section "Element Data Types", INT8: two's complement with an implicit
 * scale 2^-6, -2..1.984375, emax_elem 0): x' = X * 2^-6 * clamp(rne(x / X * 64),
 * -128, 127). -128 (= -2) is a valid INT8 element in the spec and is kept;
 * Microsoft's microxcaling emulator clamps symmetrically to +-127/64 instead.
 * The floor rule matches microxcaling's shared exponent (floor of log2 amax,
 * minus emax_elem) and oneDNN's MX RFC (E8M0(amax) / E8M0(max_elem), both
 * rounded down to a power of two). Blocks that clip: zp_tensor_clip_count. */
#include "schemes/scheme.h"

#include <math.h>
#include <string.h>

#include "schemes/fp_levels.h"
#include "schemes/minifloat_codec.h"
#include "schemes/mx.h"

enum { EL_E4M3 = ZP_MX_FP8_E4M3, EL_INT8 = ZP_MX_INT8 };


static const struct zp_option_desc options[] = {
    {.name = "element", .type = ZP_OPT_ENUM, .def = EL_E4M3,
     .choices = "fp8_e4m3|fp8_e5m2|fp6_e2m3|fp6_e3m2|fp4_e2m1|int8",
     .help = "element format (MXFP8, MXFP6, MXFP4, MXINT8); bits must match its width"},
    {.name = "scale_rule", .type = ZP_OPT_ENUM, .def = ZP_MX_FLOOR, .choices = "floor|ceil|round",
     .help = "E8M0 exponent: floor(log2 amax) - emax (OCP v1.0), no-clip ceil, or amax rounded "
             "to element precision first"},
};

static int element_of(const struct zp_scheme_config *cfg)
{
    return (int)zp_scheme_opt(cfg, "element");
}

/* The FP element formats in option order map onto enum zp_mf_format. */
static enum zp_mf_format fp_format(int el)
{
    return (enum zp_mf_format)el;
}

struct elem {
    int width, emax, mbits;
    double max;
};

static struct elem elem_info(int el)
{
    if (el == EL_INT8)
        return (struct elem){8, 0, 6, 127.0 / 64.0};
    const struct zp_mf_info *in = zp_mf_info(fp_format(el));
    return (struct elem){in->width, in->emax, in->mbits, in->max};
}

int zp_mx_shared_exponent(double amax, enum zp_mx_element el, enum zp_mx_rule rule)
{
    struct elem E = elem_info(el);
    if (!(amax > 0.0))
        return 0;
    int ex;
    double m = frexp(amax, &ex); /* amax = m 2^ex, m in [0.5, 1) */
    int fl = ex - 1;             /* floor(log2 amax) */
    int e;
    if (rule == ZP_MX_CEIL) {
        e = fl - E.emax;
        while (amax > ldexp(E.max, e))
            e++;
        while (amax <= ldexp(E.max, e - 1))
            e--;
    } else if (rule == ZP_MX_ROUND) {
        double r = nearbyint(ldexp(m, E.mbits + 1)); /* 2m in [1, 2) to mbits fraction bits */
        e = (r >= ldexp(1.0, E.mbits + 1) ? fl + 1 : fl) - E.emax;
    } else {
        e = fl - E.emax;
    }
    return (int)zp_e8m0_from_exp(e) - ZP_E8M0_BIAS;
}

static enum zp_status mx_validate(const struct zp_scheme_config *cfg, struct zp_err *err)
{
    struct elem E = elem_info(element_of(cfg));
    if (cfg->bits != E.width) {
        char name[16];
        zp_option_choice_name(&options[0], element_of(cfg), name, sizeof name);
        return zp_err_set(err, ZP_ECONFIG, "mx: element %s is %d bits wide; set bits %d (got %d)",
                          name, E.width, E.width, cfg->bits);
    }
    return ZP_OK;
}

static void set_for_max(const struct zp_scheme_config *cfg, float amax, struct zp_qparams *p)
{
    int el = element_of(cfg);
    int e = zp_mx_shared_exponent(amax, (enum zp_mx_element)el,
                                  (enum zp_mx_rule)(int)zp_scheme_opt(cfg, "scale_rule"));
    float X = zp_e8m0_decode(zp_e8m0_from_exp(e));
    if (el == EL_INT8) {
        memset(p, 0, sizeof *p);
        p->n_levels = 256;
        p->qmin = 0;
        p->qmax = 255;
        p->scale = X;
        for (int k = 0; k < 256; k++)
            p->levels[k] = (float)ldexp((double)X * (k - 128), -6);
    } else {
        zp_fp_set_levels(fp_format(el), X, p);
    }
    p->amax = amax;
}

static enum zp_status mx_fit_range(const struct zp_scheme_config *cfg, float lo, float hi,
                                   struct zp_qparams *p, struct zp_err *err)
{
    enum zp_status st = zp_check_range("mx", lo, hi, err);
    if (st != ZP_OK)
        return st;
    float m = -lo > hi ? -lo : hi;
    set_for_max(cfg, m > 0.0f ? m : 0.0f, p);
    return ZP_OK;
}

static enum zp_status mx_fit(const struct zp_scheme_config *cfg, const float *x, size_t n,
                             struct zp_qparams *p, struct zp_err *err)
{
    (void)err;
    set_for_max(cfg, zp_max_abs(x, n), p);
    return ZP_OK;
}

static void mx_quantize(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                        const float *x, int32_t *q, size_t n)
{
    int el = element_of(cfg);
    if (el != EL_INT8) {
        zp_fp_quantize(fp_format(el), 1, p, x, q, n);
        return;
    }
    double inv = ldexp(1.0, 6) / (double)p->scale; /* X is a power of two: exact */
    for (size_t i = 0; i < n; i++) {
        double r = nearbyint((double)x[i] * inv); /* default rounding: nearest even */
        r = r < -128.0 ? -128.0 : r > 127.0 ? 127.0 : r;
        q[i] = (int32_t)r + 128;
    }
}

static void mx_dequantize(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                          const int32_t *q, float *y, size_t n)
{
    (void)cfg;
    zp_fp_dequantize(p, q, y, n);
}

/* Element width plus one 8-bit E8M0 scale per block: MXFP4 at k = 32 is 4.25. */
static double mx_bpw(const struct zp_scheme_config *cfg, size_t n, size_t n_slices)
{
    return elem_info(element_of(cfg)).width + 8.0 * (double)n_slices / (double)n;
}

const struct zp_scheme zp_scheme_mx = {
    .abi = ZP_SCHEME_ABI,
    .name = "mx",
    .summary = "OCP microscaling: blocks (per-group, 32) of FP8/FP6/FP4/INT8 sharing an E8M0 scale",
    .min_bits = 4,
    .max_bits = 8,
    .default_bits = 8,
    .granularities = ZP_GRAN_BIT(ZP_PER_TENSOR) | ZP_GRAN_BIT(ZP_PER_CHANNEL) |
                     ZP_GRAN_BIT(ZP_PER_GROUP),
    .options = options,
    .n_options = (int)(sizeof options / sizeof options[0]),
    .kernel_family = NULL,
    .validate = mx_validate,
    .fit = mx_fit,
    .fit_range = mx_fit_range,
    .quantize = mx_quantize,
    .dequantize = mx_dequantize,
    .clip_range = zp_lut_clip_range,
    .block_size = 32,
    .bits_per_weight = mx_bpw,
};
