/* Instruction-peak probes (internal): each runs `iters` loop bodies of 12
 * independent dependency chains of one instruction mix and returns a value the
 * caller must consume (so nothing is optimised away). kernels/peak.c times them. */
#ifndef ZP_KERNELS_PEAK_PEAK_H
#define ZP_KERNELS_PEAK_PEAK_H

#ifdef __cplusplus
extern "C" {
#endif

#define ZP_PEAK_CHAINS 12

double zp_peak_fma_zmm(long iters);
double zp_peak_maddubs3_zmm(long iters);
double zp_peak_maddubs_adds_zmm(long iters);
double zp_peak_fma_ymm(long iters);
double zp_peak_maddubs3_ymm(long iters);
double zp_peak_maddubs_adds_ymm(long iters);
double zp_peak_vpdpbusd_zmm(long iters);
double zp_peak_xor_popcnt_zmm(long iters);
double zp_peak_dpbf16_zmm(long iters);

#ifdef __cplusplus
}
#endif
#endif
