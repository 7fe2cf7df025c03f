/* The storage formats' traits, one row per enum zp_kfmt value. The names are the
 * ones schemes give as their kernel_family (schemes/scheme.h); the kernels know
 * no scheme names. Adding a format: its enum value, one row here (the static
 * assertion below fails until the two agree), its packing, its variants. */
#include "kernels/kernels.h"

#include <string.h>

static const struct zp_kfmt_traits traits[] = {
    /* fmt, name, code range, code bits, A, B packing, C float, block, B scales, what */
    {ZP_KF_F32, "f32", 0, 0, 32, ZP_AIN_F32, ZP_KP_F32, 1, 0, ZP_KS_NONE, "f32 x f32 -> f32"},
    {ZP_KF_U8, "u8", 0, 255, 8, ZP_AIN_U8, ZP_KP_I8X4, 0, 0, ZP_KS_NONE, "u8 (za) x u8 (zb) -> i32"},
    {ZP_KF_S8, "s8", -128, 127, 8, ZP_AIN_S8, ZP_KP_I8X4, 0, 0, ZP_KS_NONE, "s8 x s8 -> i32"},
    {ZP_KF_S8N, "s8-narrow", -127, 127, 8, ZP_AIN_S8, ZP_KP_I8X4, 0, 0, ZP_KS_NONE, "s8 x s8 in [-127, 127] -> i32"},
    {ZP_KF_Q4, "q4", -8, 7, 4, ZP_AIN_S8, ZP_KP_NIB8, 0, 0, ZP_KS_NONE, "s8 x int4 -> i32"},
    {ZP_KF_LUT4, "lut4", 0, 15, 4, ZP_AIN_S8, ZP_KP_NIB8, 0, 0, ZP_KS_NONE, "s8 x int8 codebook[4-bit index] -> i32"},
    {ZP_KF_BIN, "binary", 0, 0, 1, ZP_AIN_F32, ZP_KP_BITS, 1, 0, ZP_KS_NONE, "sign(a) x sign(b) with mean |.| alphas -> f32"},
    {ZP_KF_MXINT8, "mxint8", -128, 127, 8, ZP_AIN_S8, ZP_KP_I8X4, 1, 32, ZP_KS_E8M0,
     "MXINT8 (int8, E8M0 per 32) x int8 blocks -> f32"},
    {ZP_KF_MXFP4, "mxfp4", 0, 15, 4, ZP_AIN_S8, ZP_KP_NIB8, 1, 32, ZP_KS_E8M0,
     "MXFP4 (E2M1, E8M0 per 32) x int8 blocks -> f32"},
    {ZP_KF_NVFP4, "nvfp4", 0, 15, 4, ZP_AIN_S8, ZP_KP_NIB8, 1, 16, ZP_KS_E4M3,
     "NVFP4 (E2M1, E4M3 per 16, FP32 tensor scale) x int8 blocks -> f32"},
    {ZP_KF_NF4, "nf4", 0, 15, 4, ZP_AIN_F32, ZP_KP_NIB2, 1, 64, ZP_KS_F32, "NF4 (absmax per 64) x f32 -> f32"},
    {ZP_KF_FP8, "fp8-e4m3", 0, 255, 8, ZP_AIN_E4M3, ZP_KP_I8, 1, 0, ZP_KS_F32,
     "FP8 E4M3 x FP8 E4M3, per-row / per-column scales -> f32"},
};
_Static_assert(sizeof traits / sizeof traits[0] == ZP_KF_COUNT,
               "kernels/formats.c: one traits row per enum zp_kfmt value");

const struct zp_kfmt_traits *zp_kfmt_traits(enum zp_kfmt f)
{
    return (unsigned)f < ZP_KF_COUNT ? &traits[f] : NULL;
}

const char *zp_kfmt_name(enum zp_kfmt f)
{
    return (unsigned)f < ZP_KF_COUNT ? traits[f].name : "?";
}

int zp_kfmt_find(const char *name)
{
    for (int i = 0; i < ZP_KF_COUNT; i++)
        if (strcmp(name, traits[i].name) == 0)
            return i;
    return -1;
}
