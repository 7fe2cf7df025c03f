/* Deterministic random numbers: every experiment takes its seed from the config,
 * so a rerun (or a resumed or sharded run) draws the same values. */
#ifndef ZP_COMMON_RNG_H
#define ZP_COMMON_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct zp_rng {
    uint64_t s[4]; /* xoshiro256** state */
};

void zp_rng_seed(struct zp_rng *r, uint64_t seed);
uint64_t zp_rng_u64(struct zp_rng *r);
double zp_rng_uniform(struct zp_rng *r);            /* [0, 1) */
double zp_rng_gaussian(struct zp_rng *r);           /* N(0, 1) */
double zp_rng_laplace(struct zp_rng *r, double b);  /* Laplace(0, b) */
uint64_t zp_rng_below(struct zp_rng *r, uint64_t n); /* uniform integer in [0, n) */
/* Fisher-Yates shuffle of an index array. */
void zp_rng_shuffle(struct zp_rng *r, uint32_t *idx, uint32_t n);

#ifdef __cplusplus
}
#endif
#endif
