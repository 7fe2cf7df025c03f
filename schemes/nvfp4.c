/* nvfp4: NVIDIA's NVFP4, the two-level scheme of TensorRT Model Optimizer:
 * E2M1 elements in blocks of 16 (a per-group slice), each block with an FP8
 * E4M3 scale, and one FP32 scale per tensor:
 *   s_t = amax_tensor / (6 * 448)           (FP32; 6 = E2M1 max, 448 = E4M3 max)
 *   s_b = e4m3(amax_block / 6 / s_t)        (round to nearest even, saturating)
 *   x'  = (s_b * s_t) * e2m1(x / (s_b * s_t))
 * so the largest block scale of the tensor is 448 and the largest element 6.
 * zp_tensor_fit computes s_t from all blocks (fit_tensor); a slice fitted alone
 * (an activation, per-tensor) is its own tensor. A block whose scale rounds to
 * E4M3 zero (amax_block < 2^-10 * 6 s_t) decodes to zeros. */
#include "schemes/scheme.h"

#include "schemes/fp_levels.h"
#include "schemes/minifloat_codec.h"

#define NV_ELEM_MAX 6.0f
#define NV_SCALE_MAX 448.0f

static void set_block(float amax_b, float s_t, struct zp_qparams *p)
{
    float eff = 0.0f;
    if (s_t > 0.0f) {
        float sb = amax_b / NV_ELEM_MAX / s_t;
        float dec = zp_mf_decode(ZP_MF_E4M3, zp_mf_encode(ZP_MF_E4M3, sb, 1));
        eff = dec * s_t;
    }
    zp_fp_set_levels(ZP_MF_E2M1, eff, p);
    p->amax = amax_b;
}

static float tensor_scale(float amax_t)
{
    return amax_t / (NV_ELEM_MAX * NV_SCALE_MAX);
}

static enum zp_status nv_fit_range(const struct zp_scheme_config *cfg, float lo, float hi,
                                   struct zp_qparams *p, struct zp_err *err)
{
    (void)cfg;
    enum zp_status st = zp_check_range("nvfp4", lo, hi, err);
    if (st != ZP_OK)
        return st;
    float m = -lo > hi ? -lo : hi;
    m = m > 0.0f ? m : 0.0f;
    set_block(m, tensor_scale(m), p);
    return ZP_OK;
}

static enum zp_status nv_fit(const struct zp_scheme_config *cfg, const float *x, size_t n,
                             struct zp_qparams *p, struct zp_err *err)
{
    (void)cfg;
    (void)err;
    float m = zp_max_abs(x, n);
    set_block(m, tensor_scale(m), p);
    return ZP_OK;
}

static enum zp_status nv_fit_tensor(const struct zp_scheme_config *cfg, struct zp_qparams *sl,
                                    size_t n, struct zp_err *err)
{
    (void)cfg;
    (void)err;
    float amax_t = 0.0f;
    for (size_t i = 0; i < n; i++)
        amax_t = sl[i].amax > amax_t ? sl[i].amax : amax_t;
    float s_t = tensor_scale(amax_t);
    for (size_t i = 0; i < n; i++)
        set_block(sl[i].amax, s_t, &sl[i]);
    return ZP_OK;
}

static void nv_quantize(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                        const float *x, int32_t *q, size_t n)
{
    (void)cfg;
    zp_fp_quantize(ZP_MF_E2M1, 1, p, x, q, n);
}

static void nv_dequantize(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                          const int32_t *q, float *y, size_t n)
{
    (void)cfg;
    zp_fp_dequantize(p, q, y, n);
}

/* 4 bits per element, an 8-bit E4M3 scale per block (4.5 at 16) and the FP32
 * tensor scale amortised over the tensor. */
static double nv_bpw(const struct zp_scheme_config *cfg, size_t n, size_t n_slices)
{
    (void)cfg;
    return 4.0 + (8.0 * (double)n_slices + 32.0) / (double)n;
}

const struct zp_scheme zp_scheme_nvfp4 = {
    .abi = ZP_SCHEME_ABI,
    .name = "nvfp4",
    .summary = "NVFP4: E2M1 in blocks of 16 with E4M3 block scales and an FP32 tensor scale",
    .min_bits = 4,
    .max_bits = 4,
    .default_bits = 4,
    .granularities = ZP_GRAN_BIT(ZP_PER_TENSOR) | ZP_GRAN_BIT(ZP_PER_CHANNEL) |
                     ZP_GRAN_BIT(ZP_PER_GROUP),
    .options = NULL,
    .n_options = 0,
    .kernel_family = NULL,
    .validate = NULL,
    .fit = nv_fit,
    .fit_range = nv_fit_range,
    .quantize = nv_quantize,
    .dequantize = nv_dequantize,
    .clip_range = zp_lut_clip_range,
    .block_size = 16,
    .bits_per_weight = nv_bpw,
    .fit_tensor = nv_fit_tensor,
};
