/* NormalFloat4 (QLoRA, Dettmers et al. 2023) tables of the nf4 scheme
 * (schemes/nf4.c), exposed for tests. */
#ifndef ZP_SCHEMES_NF4_H
#define ZP_SCHEMES_NF4_H

#ifdef __cplusplus
extern "C" {
#endif

/* The 16 NF4 levels in [-1, 1], ascending, level 7 exactly 0, computed from
 * their construction (normal quantiles, see nf4.c). */
void zp_nf4_levels(float out[16]);
/* bitsandbytes' signed dynamic 8-bit map (create_dynamic_map(signed=True,
 * max_exponent_bits=7, total_bits=8)): 256 values in [-1, 1], ascending, the
 * code QLoRA's double quantization stores block scales in. */
void zp_nf4_dq_map(float out[256]);

#ifdef __cplusplus
}
#endif
#endif
