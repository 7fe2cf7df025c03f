/* The emulated-ISA test build (make test-emulated, docs/kernels.md "Testing
 * without the ISA"): every kernels/ file with an AVX-512 suffix is compiled with
 * `-include kernels/emulate_isa.h` and only the AVX2 flags, so its intrinsics
 * resolve to SIMDe's portable versions and the variant's logic (tile loops,
 * masks, tails, packing assumptions) runs, and is tested, on a CPU without
 * AVX-512. Never part of a normal build.
 *
 * SIMDe 0.7.4 (Debian bookworm's libsimde-dev) lacks some intrinsics the
 * kernels use; they are filled in below, lane by lane, from their documented
 * semantics (Intel intrinsics guide), so a fill is as plain as the references it
 * is tested against. Masked loads read only the selected lanes, as the hardware
 * suppresses faults on the others. One SIMDe alias is wrong (_mm512_madd_epi16
 * is defined with four arguments) and is redefined. Inline asm cannot be
 * emulated: code that has it must test ZP_EMULATE_ISA and take its intrinsic
 * path (kernels/s8/gemm-avx512vnni.c). */
#ifndef ZP_KERNELS_EMULATE_ISA_H
#define ZP_KERNELS_EMULATE_ISA_H

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

#if defined(SIMDE_X86_AVX512F_NATIVE)
#error "emulate_isa.h: AVX-512 is enabled natively; the emulated build must not pass -mavx512* flags"
#endif

/* SIMDe 0.7.4 bug: the alias takes (src, k, a, b); the intrinsic takes (a, b). */
#undef _mm512_madd_epi16
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16(a, b)

/* Masked float loads and stores, zmm and ymm: one definition per width. */
#define ZP_EMU_MASKED_PS(w, vec, mask, n, load, store)                          \
    static inline vec zp_emu_mm##w##_maskz_loadu_ps(mask k, const void *p)      \
    {                                                                           \
        float v[n];                                                             \
        for (int i = 0; i < n; i++)                                             \
            v[i] = (k >> i & 1) ? ((const float *)p)[i] : 0.0f;                 \
        return load(v);                                                         \
    }                                                                           \
    static inline void zp_emu_mm##w##_mask_storeu_ps(void *p, mask k, vec a)    \
    {                                                                           \
        float v[n];                                                             \
        store(v, a);                                                            \
        for (int i = 0; i < n; i++)                                             \
            if (k >> i & 1)                                                     \
                ((float *)p)[i] = v[i];                                         \
    }
ZP_EMU_MASKED_PS(512, __m512, __mmask16, 16, simde_mm512_loadu_ps, simde_mm512_storeu_ps)
ZP_EMU_MASKED_PS(256, __m256, __mmask8, 8, _mm256_loadu_ps, _mm256_storeu_ps)
#undef ZP_EMU_MASKED_PS
#undef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps(k, p) zp_emu_mm512_maskz_loadu_ps(k, p)
#undef _mm512_mask_storeu_ps
#define _mm512_mask_storeu_ps(p, k, a) zp_emu_mm512_mask_storeu_ps(p, k, a)
#undef _mm256_maskz_loadu_ps
#define _mm256_maskz_loadu_ps(k, p) zp_emu_mm256_maskz_loadu_ps(k, p)
#undef _mm256_mask_storeu_ps
#define _mm256_mask_storeu_ps(p, k, a) zp_emu_mm256_mask_storeu_ps(p, k, a)

static inline __m512i zp_emu_mm512_maskz_loadu_epi32(__mmask16 k, const void *p)
{
    int32_t v[16];
    for (int i = 0; i < 16; i++) {
        v[i] = 0;
        if (k >> i & 1)
            memcpy(&v[i], (const char *)p + 4 * i, 4);
    }
    return simde_mm512_loadu_si512(v);
}
#undef _mm512_maskz_loadu_epi32
#define _mm512_maskz_loadu_epi32(k, p) zp_emu_mm512_maskz_loadu_epi32(k, p)

static inline void zp_emu_mm512_mask_storeu_epi32(void *p, __mmask16 k, __m512i a)
{
    int32_t v[16];
    simde_mm512_storeu_si512(v, a);
    for (int i = 0; i < 16; i++)
        if (k >> i & 1)
            memcpy((char *)p + 4 * i, &v[i], 4);
}
#undef _mm512_mask_storeu_epi32
#define _mm512_mask_storeu_epi32(p, k, a) zp_emu_mm512_mask_storeu_epi32(p, k, a)

static inline __m128i zp_emu_mm_maskz_loadu_epi8(__mmask16 k, const void *p)
{
    uint8_t v[16];
    for (int i = 0; i < 16; i++)
        v[i] = (k >> i & 1) ? ((const uint8_t *)p)[i] : 0;
    return _mm_loadu_si128((const __m128i *)v);
}
#undef _mm_maskz_loadu_epi8
#define _mm_maskz_loadu_epi8(k, p) zp_emu_mm_maskz_loadu_epi8(k, p)

/* Conversions round to nearest even, as the instructions do under the default
 * MXCSR (C's int-to-float conversion uses the same mode). */
static inline __m512 zp_emu_mm512_cvtepi32_ps(__m512i a)
{
    int32_t s[16];
    float v[16];
    simde_mm512_storeu_si512(s, a);
    for (int i = 0; i < 16; i++)
        v[i] = (float)s[i];
    return simde_mm512_loadu_ps(v);
}
#undef _mm512_cvtepi32_ps
#define _mm512_cvtepi32_ps(a) zp_emu_mm512_cvtepi32_ps(a)

static inline __m256 zp_emu_mm512_cvtepi64_ps(__m512i a)
{
    int64_t s[8];
    float v[8];
    simde_mm512_storeu_si512(s, a);
    for (int i = 0; i < 8; i++)
        v[i] = (float)s[i];
    return _mm256_loadu_ps(v);
}
#undef _mm512_cvtepi64_ps
#define _mm512_cvtepi64_ps(a) zp_emu_mm512_cvtepi64_ps(a)

/* Sign or zero extension of each lane of a narrow vector (store the source, widen
 * lane by lane, load the result): one definition for the three widths used. */
#define ZP_EMU_WIDEN(name, vin, store, tin, tout, n)            \
    static inline __m512i zp_emu_##name(vin a)                  \
    {                                                           \
        tin s[n];                                               \
        tout v[n];                                              \
        store((vin *)s, a);                                     \
        for (int i = 0; i < n; i++)                             \
            v[i] = s[i];                                        \
        return simde_mm512_loadu_si512(v);                      \
    }
ZP_EMU_WIDEN(mm512_cvtepi8_epi32, __m128i, _mm_storeu_si128, int8_t, int32_t, 16)
ZP_EMU_WIDEN(mm512_cvtepu8_epi32, __m128i, _mm_storeu_si128, uint8_t, int32_t, 16)
ZP_EMU_WIDEN(mm512_cvtepu8_epi16, __m256i, _mm256_storeu_si256, uint8_t, int16_t, 32)
#undef ZP_EMU_WIDEN
#undef _mm512_cvtepi8_epi32
#define _mm512_cvtepi8_epi32(a) zp_emu_mm512_cvtepi8_epi32(a)
#undef _mm512_cvtepu8_epi32
#define _mm512_cvtepu8_epi32(a) zp_emu_mm512_cvtepu8_epi32(a)
#undef _mm512_cvtepu8_epi16
#define _mm512_cvtepu8_epi16(a) zp_emu_mm512_cvtepu8_epi16(a)

/* Half to float is exact; F16C (part of the AVX2 flags) converts 8 at a time. */
static inline __m512 zp_emu_mm512_cvtph_ps(__m256i a)
{
    float v[16];
    _mm256_storeu_ps(v, _mm256_cvtph_ps(_mm256_castsi256_si128(a)));
    _mm256_storeu_ps(v + 8, _mm256_cvtph_ps(_mm256_extracti128_si256(a, 1)));
    return simde_mm512_loadu_ps(v);
}
#undef _mm512_cvtph_ps
#define _mm512_cvtph_ps(a) zp_emu_mm512_cvtph_ps(a)

/* Pairwise tree, as GCC's own sequence adds (only the peak probes' sink uses it). */
static inline float zp_emu_mm512_reduce_add_ps(__m512 a)
{
    float v[16];
    simde_mm512_storeu_ps(v, a);
    for (int w = 8; w >= 1; w /= 2)
        for (int i = 0; i < w; i++)
            v[i] += v[i + w];
    return v[0];
}
#undef _mm512_reduce_add_ps
#define _mm512_reduce_add_ps(a) zp_emu_mm512_reduce_add_ps(a)

/* Float <-> double widening and narrowing of 8 lanes (fakequant-avx512.c); the
 * narrowing rounds to nearest as the instruction does under the default MXCSR. */
static inline __m512d zp_emu_mm512_cvtps_pd(__m256 a)
{
    float f[8];
    double d[8];
    _mm256_storeu_ps(f, a);
    for (int i = 0; i < 8; i++)
        d[i] = (double)f[i];
    return simde_mm512_loadu_pd(d);
}
static inline __m256 zp_emu_mm512_cvtpd_ps(__m512d a)
{
    float f[8];
    double d[8];
    simde_mm512_storeu_pd(d, a);
    for (int i = 0; i < 8; i++)
        f[i] = (float)d[i];
    return _mm256_loadu_ps(f);
}
#undef _mm512_cvtps_pd
#define _mm512_cvtps_pd(a) zp_emu_mm512_cvtps_pd(a)
#undef _mm512_cvtpd_ps
#define _mm512_cvtpd_ps(a) zp_emu_mm512_cvtpd_ps(a)

/* For kernels/int/int-avx512.c: a masked int16 load and a masked byte store that
 * touch only the selected lanes; below, the arithmetic shifts, 64-bit compare and
 * conversions SIMDe 0.7.4 lacks. */
static inline __m256i zp_emu_mm256_maskz_loadu_epi16(__mmask16 k, const void *p)
{
    int16_t v[16];
    for (int i = 0; i < 16; i++) {
        v[i] = 0;
        if (k >> i & 1)
            memcpy(&v[i], (const char *)p + 2 * i, 2);
    }
    return _mm256_loadu_si256((const __m256i *)v);
}
#undef _mm256_maskz_loadu_epi16
#define _mm256_maskz_loadu_epi16(k, p) zp_emu_mm256_maskz_loadu_epi16(k, p)

static inline void zp_emu_mm_mask_storeu_epi8(void *p, __mmask16 k, __m128i a)
{
    uint8_t v[16];
    _mm_storeu_si128((__m128i *)v, a);
    for (int i = 0; i < 16; i++)
        if (k >> i & 1)
            ((uint8_t *)p)[i] = v[i];
}
#undef _mm_mask_storeu_epi8
#define _mm_mask_storeu_epi8(p, k, a) zp_emu_mm_mask_storeu_epi8(p, k, a)

static inline __m512i zp_emu_mm512_srav_epi32(__m512i a, __m512i n)
{
    int32_t v[16], c[16];
    simde_mm512_storeu_si512(v, a);
    simde_mm512_storeu_si512(c, n);
    for (int i = 0; i < 16; i++)
        v[i] = (uint32_t)c[i] > 31 ? (v[i] < 0 ? -1 : 0) : v[i] >> c[i];
    return simde_mm512_loadu_si512(v);
}
#undef _mm512_srav_epi32
#define _mm512_srav_epi32(a, n) zp_emu_mm512_srav_epi32(a, n)
#undef _mm512_cmplt_epi32_mask
#define _mm512_cmplt_epi32_mask(a, b) simde_mm512_cmpgt_epi32_mask(b, a)

/* round to nearest even under the default MXCSR, as the instruction */
static inline __m512i zp_emu_mm512_cvtps_epi32(__m512 a)
{
    float v[16];
    int32_t r[16];
    simde_mm512_storeu_ps(v, a);
    for (int i = 0; i < 16; i++)
        r[i] = (int32_t)nearbyintf(v[i]);
    return simde_mm512_loadu_si512(r);
}
#undef _mm512_cvtps_epi32
#define _mm512_cvtps_epi32(a) zp_emu_mm512_cvtps_epi32(a)

static inline __m128i zp_emu_mm512_cvtepi32_epi8(__m512i a)
{
    int32_t v[16];
    uint8_t r[16];
    simde_mm512_storeu_si512(v, a);
    for (int i = 0; i < 16; i++)
        r[i] = (uint8_t)v[i]; /* truncation, as vpmovdb */
    return _mm_loadu_si128((const __m128i *)r);
}
#undef _mm512_cvtepi32_epi8
#define _mm512_cvtepi32_epi8(a) zp_emu_mm512_cvtepi32_epi8(a)

static inline __m512i zp_emu_mm512_cvtepu16_epi32(__m256i a)
{
    uint16_t v[16];
    int32_t r[16];
    _mm256_storeu_si256((__m256i *)v, a);
    for (int i = 0; i < 16; i++)
        r[i] = v[i];
    return simde_mm512_loadu_si512(r);
}
#undef _mm512_cvtepu16_epi32
#define _mm512_cvtepu16_epi32(a) zp_emu_mm512_cvtepu16_epi32(a)

static inline __mmask8 zp_emu_mm512_cmplt_epi64_mask(__m512i a, __m512i b)
{
    int64_t x[8], y[8];
    simde_mm512_storeu_si512(x, a);
    simde_mm512_storeu_si512(y, b);
    __mmask8 k = 0;
    for (int i = 0; i < 8; i++)
        k |= (__mmask8)((x[i] < y[i]) << i);
    return k;
}
#undef _mm512_cmplt_epi64_mask
#define _mm512_cmplt_epi64_mask(a, b) zp_emu_mm512_cmplt_epi64_mask(a, b)

static inline __m512i zp_emu_mm512_srav_epi64(__m512i a, __m512i n)
{
    int64_t v[8], c[8];
    simde_mm512_storeu_si512(v, a);
    simde_mm512_storeu_si512(c, n);
    for (int i = 0; i < 8; i++)
        v[i] = (uint64_t)c[i] > 63 ? (v[i] < 0 ? -1 : 0) : v[i] >> c[i];
    return simde_mm512_loadu_si512(v);
}
#undef _mm512_srav_epi64
#define _mm512_srav_epi64(a, n) zp_emu_mm512_srav_epi64(a, n)
#undef _mm512_srai_epi64
#define _mm512_srai_epi64(a, n) zp_emu_mm512_srav_epi64(a, simde_mm512_set1_epi64(n))

#endif
