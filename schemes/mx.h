/* The shared-scale rule of the mx scheme (schemes/mx.c), exposed for tests and
 * for the kernels that will compute on MX blocks. */
#ifndef ZP_SCHEMES_MX_H
#define ZP_SCHEMES_MX_H

#ifdef __cplusplus
extern "C" {
#endif

/* In the order of the scheme's "element" and "scale_rule" choices. */
enum zp_mx_element {
    ZP_MX_FP8_E4M3,
    ZP_MX_FP8_E5M2,
    ZP_MX_FP6_E2M3,
    ZP_MX_FP6_E3M2,
    ZP_MX_FP4_E2M1,
    ZP_MX_INT8
};
enum zp_mx_rule { ZP_MX_FLOOR, ZP_MX_CEIL, ZP_MX_ROUND };

/* Exponent e of the E8M0 block scale X = 2^e for a block whose largest
 * magnitude is amax (>= 0), clamped to [-127, 127]; 0 for amax = 0. */
int zp_mx_shared_exponent(double amax, enum zp_mx_element el, enum zp_mx_rule rule);

#ifdef __cplusplus
}
#endif
#endif
