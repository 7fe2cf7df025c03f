/* xoshiro256** seeded through splitmix64 (the generator's authors' recommendation). */
#include "common/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void zp_rng_seed(struct zp_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t zp_rng_u64(struct zp_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double zp_rng_uniform(struct zp_rng *r)
{
    return (double)(zp_rng_u64(r) >> 11) * 0x1.0p-53;
}

double zp_rng_gaussian(struct zp_rng *r)
{
    /* Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]. */
    double u1 = 1.0 - zp_rng_uniform(r), u2 = zp_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double zp_rng_laplace(struct zp_rng *r, double b)
{
    double u = zp_rng_uniform(r) - 0.5;
    double a = 1.0 - 2.0 * fabs(u);
    if (a <= 0.0)
        a = 0x1.0p-53;
    return (u < 0 ? b : -b) * log(a);
}

uint64_t zp_rng_below(struct zp_rng *r, uint64_t n)
{
    return n ? zp_rng_u64(r) % n : 0;
}

void zp_rng_shuffle(struct zp_rng *r, uint32_t *idx, uint32_t n)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)zp_rng_below(r, i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
