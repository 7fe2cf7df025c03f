/* nf4: NormalFloat4 (QLoRA, Dettmers et al. 2023, section 3 "4-bit NormalFloat
 * Quantization" and appendix E): blocks of 64 (a per-group slice) scaled by
 * their absmax c, x' = c * NF4[q] with q the nearest level (ties to the lower).
 *
 * Levels: an asymmetric set with an exact 0, built from N(0,1) quantiles with
 * offset delta = (1 - 1/(2*15) + 1 - 1/(2*16)) / 2 = 0.9677083: 8 positive
 * levels Phi^-1 at linspace(delta, 0.5, 9) without its last point, 7 negative
 * ones -Phi^-1 at linspace(delta, 0.5, 8) without its last, and 0; divided by
 * the largest so they span [-1, 1] (bitsandbytes create_normal_map).
 *
 * double_quant (QLoRA "Double Quantization"): the block absmaxes c_i of a tensor
 * have their mean subtracted and are then quantized to 8 bits in blocks of 256
 * with bitsandbytes' dynamic map (absmax-normalised, nearest code), so a block
 * costs 8 bits instead of 32; c'_i = code * absmax2 + mean, and a negative c'
 * (never seen on real weights) is taken as 0. */
#include "schemes/nf4.h"

#include <math.h>
#include <string.h>

#include "common/normal.h"
#include "schemes/scheme.h"

#define NF4_DQ_BLOCK 256

void zp_nf4_levels(float out[16])
{
    const double delta = 0.5 * ((1.0 - 1.0 / 30.0) + (1.0 - 1.0 / 32.0));
    double v[16];
    for (int i = 0; i < 8; i++) /* positive: linspace(delta, 0.5, 9)[0..7] */
        v[8 + (7 - i)] = zp_normal_quantile(delta + (0.5 - delta) * i / 8.0);
    v[7] = 0.0;
    for (int i = 0; i < 7; i++) /* negative: -linspace(delta, 0.5, 8)[0..6] */
        v[i] = -zp_normal_quantile(delta + (0.5 - delta) * i / 7.0);
    double top = v[15];
    for (int i = 0; i < 16; i++)
        out[i] = (float)(v[i] / top);
    out[7] = 0.0f;
    out[15] = 1.0f;
    out[0] = -1.0f;
}

static void sort_floats(float *v, int n)
{
    for (int i = 1; i < n; i++) {
        float t = v[i];
        int j = i - 1;
        for (; j >= 0 && v[j] > t; j--)
            v[j + 1] = v[j];
        v[j + 1] = t;
    }
}

/* create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8): for
 * i = 0..6, 2^i fraction values (midpoints of linspace(0.1, 1, 2^i + 1)) times
 * 10^(i-6), both signs; plus 0 and 1: 2 * 127 + 2 = 256 values. */
void zp_nf4_dq_map(float out[256])
{
    int k = 0;
    for (int i = 0; i < 7; i++) {
        int items = (1 << i) + 1;
        double mag = pow(10.0, i - 6);
        for (int j = 0; j + 1 < items; j++) {
            double b0 = 0.1 + 0.9 * j / (items - 1), b1 = 0.1 + 0.9 * (j + 1) / (items - 1);
            float m = (float)(mag * 0.5 * (b0 + b1));
            out[k++] = m;
            out[k++] = -m;
        }
    }
    out[k++] = 0.0f;
    out[k++] = 1.0f;
    sort_floats(out, k);
}

static const struct zp_option_desc options[] = {
    {.name = "double_quant", .type = ZP_OPT_BOOL, .min = 0, .max = 1, .def = 0,
     .help = "store block absmaxes in 8 bits (blocks of 256, mean removed) as QLoRA does"},
};

static void set_levels(float c, struct zp_qparams *p)
{
    float nf[16];
    zp_nf4_levels(nf);
    memset(p, 0, sizeof *p);
    p->n_levels = 16;
    p->qmin = 0;
    p->qmax = 15;
    for (int i = 0; i < 16; i++)
        p->levels[i] = c * nf[i];
    p->levels[7] = 0.0f;
    p->scale = c > 0.0f ? c : 1.0f; /* informational, as lut4: 1 for an all-zero block */
}

static enum zp_status nf4_fit(const struct zp_scheme_config *cfg, const float *x, size_t n,
                              struct zp_qparams *p, struct zp_err *err)
{
    (void)cfg;
    (void)err;
    float c = zp_max_abs(x, n);
    set_levels(c, p);
    p->amax = c;
    return ZP_OK;
}

static enum zp_status nf4_fit_range(const struct zp_scheme_config *cfg, float lo, float hi,
                                    struct zp_qparams *p, struct zp_err *err)
{
    (void)cfg;
    enum zp_status st = zp_check_range("nf4", lo, hi, err);
    if (st != ZP_OK)
        return st;
    float m = -lo > hi ? -lo : hi;
    m = m > 0.0f ? m : 0.0f;
    set_levels(m, p);
    p->amax = m;
    return ZP_OK;
}

/* Index of the nearest of the 256 ascending map values (ties to the lower). */
static int nearest(const float *map, float v)
{
    int lo = 0, hi = 255;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (map[mid] <= v)
            lo = mid;
        else
            hi = mid;
    }
    return (double)v - map[lo] <= (double)map[hi] - v ? lo : hi;
}

static enum zp_status nf4_fit_tensor(const struct zp_scheme_config *cfg, struct zp_qparams *sl,
                                     size_t n, struct zp_err *err)
{
    (void)err;
    if (zp_scheme_opt(cfg, "double_quant") == 0.0 || n == 0)
        return ZP_OK;
    float map[256];
    zp_nf4_dq_map(map);
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += sl[i].amax;
    float mean = (float)(sum / (double)n);
    for (size_t b = 0; b < n; b += NF4_DQ_BLOCK) {
        size_t e = b + NF4_DQ_BLOCK < n ? b + NF4_DQ_BLOCK : n;
        float a2 = 0.0f;
        for (size_t i = b; i < e; i++) {
            float d = fabsf(sl[i].amax - mean);
            a2 = d > a2 ? d : a2;
        }
        for (size_t i = b; i < e; i++) {
            float amax = sl[i].amax;
            float c = mean;
            if (a2 > 0.0f)
                c = map[nearest(map, (amax - mean) / a2)] * a2 + mean;
            set_levels(c > 0.0f ? c : 0.0f, &sl[i]);
            sl[i].amax = amax; /* keep the fitted value: fit_tensor is idempotent */
        }
    }
    return ZP_OK;
}

/* 4 bits plus a 32-bit absmax per block (4.5 at 64); double_quant: an 8-bit
 * code per block, a 32-bit absmax per 256 blocks and the 32-bit mean, 4.127 at
 * 64 as QLoRA counts. */
static double nf4_bpw(const struct zp_scheme_config *cfg, size_t n, size_t n_slices)
{
    double side = 32.0 * (double)n_slices;
    if (zp_scheme_opt(cfg, "double_quant") != 0.0) {
        size_t n2 = (n_slices + NF4_DQ_BLOCK - 1) / NF4_DQ_BLOCK;
        side = 8.0 * (double)n_slices + 32.0 * (double)n2 + 32.0;
    }
    return 4.0 + side / (double)n;
}

const struct zp_scheme zp_scheme_nf4 = {
    .abi = ZP_SCHEME_ABI,
    .name = "nf4",
    .summary = "NormalFloat4 (QLoRA): 16 normal-quantile levels, block absmax over 64",
    .min_bits = 4,
    .max_bits = 4,
    .default_bits = 4,
    .granularities = ZP_GRAN_BIT(ZP_PER_TENSOR) | ZP_GRAN_BIT(ZP_PER_CHANNEL) |
                     ZP_GRAN_BIT(ZP_PER_GROUP),
    .options = options,
    .n_options = (int)(sizeof options / sizeof options[0]),
    .kernel_family = NULL,
    .validate = NULL,
    .fit = nf4_fit,
    .fit_range = nf4_fit_range,
    .quantize = zp_lut_quantize,
    .dequantize = zp_lut_dequantize,
    .clip_range = zp_lut_clip_range,
    .block_size = 64,
    .bits_per_weight = nf4_bpw,
    .fit_tensor = nf4_fit_tensor,
};
