/* Kernels: GEMM per storage format (f32, u8 with zero points, s8, s8 in
 * [-127, 127], int4, 4-bit lookup table, binary, and the block-scaled / minifloat
 * formats MXINT8, MXFP4, NVFP4, NF4, FP8 E4M3) and depthwise 3x3,
 * each with a plain C golden reference (zp_ref_*) and ISA variants picked at run
 * time from CPUID (kernels/dispatch.c).
 *
 * Variants are listed once in kernels/variants.inc; zp_gemm_run drives them.
 * Contract: C[M][N] = A[M][K] * B[K][N]; A are activations (row-major), B weights.
 * Weights are packed once (zp_pack_b), activations once per call site (zp_pack_a);
 * packing allocates, kernels never allocate and never fail. Integer kernels write
 * the exact int32 result of the de-zero-pointed product (bit-exact vs reference);
 * binary writes float alpha_a[i] * alpha_b[j] * (K - 2 popcount(a xor w)).
 * Derivations: docs/kernels.md. */
#ifndef ZP_KERNELS_KERNELS_H
#define ZP_KERNELS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- CPU features and ISA levels ---------------------------------------------- */

enum zp_isa {
    ZP_ISA_REF = 0,        /* portable C on the packed layout: always available */
    ZP_ISA_AVX2,           /* AVX2 + FMA */
    ZP_ISA_AVX512BW,       /* AVX-512 F/BW/DQ/VL, no VNNI (the "no VNNI" int8 paths) */
    ZP_ISA_AVX512VNNI,     /* + vpdpbusd */
    ZP_ISA_AVX512VPOPCNT,  /* + vpopcntq */
    ZP_ISA_AVX512BF16,     /* + vdpbf16ps */
    ZP_ISA_AMX,            /* AMX-INT8: not implemented (see docs/kernels.md) */
    ZP_ISA_COUNT
};

/* The one CPU-feature source of the tree (kernels/cpu.c): the kernels' dispatch,
 * the float runtime's vector paths, the bench and run.json all ask these.
 * Bit i set = ISA i usable on this CPU (and OS), capped by the ISA limit. */
unsigned zp_cpu_isa_mask(void);
int zp_cpu_has(enum zp_isa isa);
/* The highest level zp_cpu_has reports. */
enum zp_isa zp_cpu_best(void);
/* The ISA limit: levels above it (in enum order) count as absent. Initially the
 * environment's ZP_ISA_LIMIT=NAME (an unknown name is ignored); zp_cpu_set_limit replaces it (-1: no limit). Set it before kernels
 * run: selection is not synchronised with it. zp_cpu_set_limit returns -1 for an
 * isa out of range. */
int zp_cpu_limit(void);
int zp_cpu_set_limit(int isa);
const char *zp_isa_name(enum zp_isa isa);
/* Parses "ref", "avx2", "avx512bw", "avx512vnni", "avx512vpopcnt", "avx512bf16",
 * "amx"; -1 if unknown. */
int zp_isa_parse(const char *name);
/* "AMD EPYC ..." from /proc/cpuinfo or "unknown" (static storage). */
const char *zp_cpu_model(void);
/* The /proc/cpuinfo flags that matter for kernels (avx2, fma, avx512f, ...,
 * amx_int8) which this CPU lists, in a fixed order: writes up to max names
 * (static storage) and returns how many. Not capped by the ISA limit: these are
 * the machine's facts. */
int zp_cpu_flags(const char **out, int max);

/* ---- storage formats ------------------------------------------------------------ */

/* One value per storage format; its traits (name, code range, ...) are the table
 * in kernels/formats.c, which a static assertion keeps the same length as this. */
enum zp_kfmt {
    ZP_KF_F32 = 0,  /* float x float -> float */
    ZP_KF_U8,       /* uint8 (za) x uint8 (zb) -> int32 sum (a-za)(b-zb) */
    ZP_KF_S8,       /* int8 x int8 -> int32 */
    ZP_KF_S8N,      /* int8 x int8 with weights in [-127,127] -> int32 */
    ZP_KF_Q4,       /* int8 x int4 (weights in [-8,7]) -> int32 */
    ZP_KF_LUT4,     /* int8 x codebook[idx], idx in [0,15], int8 codebook -> int32 */
    ZP_KF_BIN,      /* sign(a) x sign(b) with alphas -> float */
    /* Block-scaled and minifloat formats (docs/kernels.md, "Block-scaled formats"): */
    ZP_KF_MXINT8,   /* MXINT8 weights (int8, E8M0 scale per 32 k) x int8 blocks -> float */
    ZP_KF_MXFP4,    /* MXFP4 weights (E2M1 nibbles, E8M0 scale per 32 k) x int8 blocks -> float */
    ZP_KF_NVFP4,    /* NVFP4 weights (E2M1 nibbles, E4M3 scale per 16 k, FP32 tensor scale) x int8 blocks -> float */
    ZP_KF_NF4,      /* NF4 weights (NormalFloat4 nibbles, float absmax per 64 k) x f32 -> float */
    ZP_KF_FP8,      /* FP8 E4M3 x FP8 E4M3, float scale per row of A and column of B -> float */
    ZP_KF_COUNT
};

/* What zp_gemm_problem.a holds for a format. */
enum zp_ain {
    ZP_AIN_F32 = 0,  /* float rows */
    ZP_AIN_U8,       /* uint8 rows with zero point za */
    ZP_AIN_S8,       /* int8 rows */
    ZP_AIN_E4M3,     /* FP8 E4M3 bytes (OCP "FN": 0x7f and 0xff are NaN and rejected) */
};

/* Packed-B layout family (kernels/internal.h has the byte layout of each). */
enum zp_kpack {
    ZP_KP_F32 = 0,   /* [k][32] floats */
    ZP_KP_I8X4,      /* [kp/4][32][4] int8 (vpdpbusd operand order) */
    ZP_KP_NIB8,      /* [kp/8][32][4] bytes, two nibbles each */
    ZP_KP_BITS,      /* [kp words][32] uint64 sign bits */
    ZP_KP_NIB2,      /* [kp/2][32] bytes: low nibble k even, high nibble k odd */
    ZP_KP_I8,        /* [kp][32] bytes, one code per k and column */
};

/* How the block scales of B are coded in zp_gemm_problem.b_scale. */
enum zp_kscale {
    ZP_KS_NONE = 0,
    ZP_KS_E8M0,      /* uint8 2^(e-127), 0xff (NaN) rejected */
    ZP_KS_E4M3,      /* uint8 E4M3 times the FP32 tensor scale b_tensor_scale */
    ZP_KS_F32,       /* float */
};

/* Traits of a storage format. `name` is the name the schemes use for the format
 * their codes are stored in (struct zp_scheme.kernel_family): the kernels know
 * formats, never scheme names. */
struct zp_kfmt_traits {
    enum zp_kfmt fmt;
    const char *name;        /* "f32", "u8", "s8", "s8-narrow", "q4", "lut4", "binary" */
    int code_min, code_max;  /* range of one weight code in zp_gemm_problem.b (float formats: 0, 0) */
    int code_bits;           /* bits of one stored weight code (32 for f32, 1 for binary) */
    enum zp_ain ain;         /* what zp_gemm_problem.a holds */
    enum zp_kpack pack;      /* packed-B layout */
    int c_float;             /* C is float (else int32) */
    int block;               /* k per scale block of A and B (0: none); K must be a multiple */
    enum zp_kscale bscale;   /* how zp_gemm_problem.b_scale codes the scales of B */
    const char *what;        /* one line for listings */
};
const struct zp_kfmt_traits *zp_kfmt_traits(enum zp_kfmt f);
/* traits name of f, or "?" */
const char *zp_kfmt_name(enum zp_kfmt f);
/* Inverse of zp_kfmt_name; -1 if unknown. */
int zp_kfmt_find(const char *name);

/* How a kernel wants its activations packed. */
enum zp_afmt {
    ZP_AF_F32 = 0,   /* float rows, no copy */
    ZP_AF_U8,        /* uint8 rows as given, K padded with 0 */
    ZP_AF_S8SHIFT,   /* int8 + 128 as uint8 (for vpdpbusd), K padded */
    ZP_AF_S8SIGN,    /* |a| as uint8 plus a as int8 (vpmaddubsw sign trick), K padded */
    ZP_AF_BITS,      /* sign bits, 64 per word, bit set = negative */
    ZP_AF_F32DEC,    /* FP8 decoded to float rows (kp = K) */
    ZP_AF_BF16,      /* FP8 decoded to bf16, pairs of k per uint32 (kp = K rounded up to 2) */
};

/* Every packed K is a multiple of this (8 int8 = two vpdpbusd groups, 4-bit pairs). */
#define ZP_KPAD 8
/* Column panel width of every packed B (32 = two zmm of int32 or f32). */
#define ZP_NR 32

struct zp_packed_a {
    enum zp_afmt fmt;
    int m, k, kp;         /* kp: padded K (bytes per row; words for BITS) */
    void *data;           /* m * kp elements */
    int8_t *sign;         /* S8SIGN: a itself, m * kp */
    const float *f32;     /* F32: borrowed A */
    size_t lda;           /* F32: row stride in elements */
    int32_t *rowsum;      /* sum of the original activations of each row (int formats) */
    float *alpha;         /* BITS: mean |a| per row */
    float *scale;         /* block formats: [m][k / block] scale per block; FP8: [m] per row */
};

struct zp_packed_b {
    enum zp_kfmt fmt;
    int k, n, kp, np;     /* np: N rounded up to ZP_NR */
    void *data;           /* panels: see docs/kernels.md */
    int32_t *col_corr;    /* added to every output of column j */
    int32_t row_mult;     /* output += row_mult * rowsum[i] */
    float *alpha;         /* BIN: mean |b| per column */
    int8_t codebook[16];  /* LUT4 */
    float *scale;         /* block formats: [kp / block][np] scale per block and column
                           * (MXFP4/NVFP4: half the true scale, the codes are stored as
                           * 2 x E2M1 in int8); FP8: [np] per column */
    int32_t *blk_corr;    /* MXINT8/MXFP4/NVFP4: [kp / block][np], -128 x block column sum */
};

/* Inputs of a GEMM in their plain (unpacked) form. Unused members are ignored. */
struct zp_gemm_problem {
    enum zp_kfmt fmt;
    int m, n, k;
    const void *a;          /* f32 / u8 / s8 rows of K (lda = K), BIN: float */
    const void *b;          /* K x N: f32, u8, s8 (S8, S8N, Q4 values), uint8 indices (LUT4), BIN float */
    int32_t za, zb;         /* U8 zero points */
    const int8_t *codebook; /* LUT4: 16 entries */
    /* Block-scaled and FP8 formats. A: int8 (MXINT8, MXFP4, NVFP4), f32 (NF4),
     * E4M3 bytes (FP8). B: int8 (MXINT8), 4-bit codes one per byte (MXFP4,
     * NVFP4: E2M1; NF4: level index), E4M3 bytes (FP8). */
    const float *a_scale;   /* [m][k / block] (MXINT8, MXFP4, NVFP4), [m] (FP8) */
    const void *b_scale;    /* [k / block][n] coded as the traits' bscale; FP8: float [n] */
    float b_tensor_scale;   /* NVFP4: the FP32 per-tensor scale */
};

/* Packing: allocates; release with zp_packed_*_free (NULL-safe). */
enum zp_status zp_pack_b(const struct zp_gemm_problem *p, struct zp_packed_b *out, struct zp_err *err);
enum zp_status zp_pack_a(const struct zp_gemm_problem *p, enum zp_afmt fmt, struct zp_packed_a *out,
                         struct zp_err *err);
void zp_packed_a_free(struct zp_packed_a *a);
void zp_packed_b_free(struct zp_packed_b *b);

/* One GEMM call on packed operands. c: float (F32, BIN) or int32, row stride ldc
 * elements. threads <= 1 runs on the calling thread. */
struct zp_gemm_call {
    const struct zp_packed_a *a;
    const struct zp_packed_b *b;
    void *c;
    size_t ldc;
    int threads;
};

/* One row block of a GEMM: rows [i0, i1) of A against every column of B, over the
 * reduction range [k0, k1) (k0 > 0 adds to what C holds). Called by zp_gemm_run,
 * possibly on several OpenMP threads at once for disjoint row blocks. */
typedef void zp_gemm_block_fn(const struct zp_gemm_call *call, int i0, int i1, int k0, int k1);

struct zp_gemm_ukernel {
    const char *name;     /* zp_<fmt>_gemm_ukernel_<MR>x<NR>c<KR>__<isa> */
    enum zp_kfmt fmt;
    enum zp_isa isa;
    enum zp_afmt afmt;
    int mr, nr, kr;
    int mc;               /* rows per block (the unit of OpenMP work) */
    int kc;               /* reduction block (0: all of K in one pass) */
    const char *path;     /* short label for the exactness caveat: "vnni", "3op", "i16", ... */
    zp_gemm_block_fn *block;
};

/* Runs one GEMM through a variant: the OpenMP tiling loop over row blocks (and
 * reduction blocks), the same for every variant (kernels/driver.c). */
void zp_gemm_run(const struct zp_gemm_ukernel *uk, const struct zp_gemm_call *call);

/* Every compiled GEMM variant, best first per format (whether or not the CPU has it). */
const struct zp_gemm_ukernel *zp_gemm_ukernels(size_t *count);
/* The best variant for fmt the CPU supports; isa >= 0 forces that ISA (NULL if the
 * CPU lacks it or no variant exists). For S8 with isa avx512bw/avx2 this is the
 * 3-instruction vpmaddubsw+vpmaddwd+vpaddd path; for S8N the int16 vpaddsw path. */
const struct zp_gemm_ukernel *zp_gemm_select(enum zp_kfmt fmt, int isa);

/* Random plain operands of a format, for tests and the bench: codes spread over
 * the format's code range (NaN codes excluded), positive finite scales (E8M0
 * codes 120..134, E4M3 scale codes of 0.5..224 with tensor scale 1/64, NF4
 * absmax 0.5..2). Sets p->a, p->b and the scale members (p->fmt, m, n, k given);
 * allocates into o (release with zp_gemm_operands_free, NULL-safe). */
struct zp_gemm_operands {
    void *a, *b;
    float *a_scale;
    void *b_scale;
    int8_t codebook[16];
};
enum zp_status zp_gemm_operands_random(struct zp_gemm_problem *p, struct zp_gemm_operands *o, uint64_t seed,
                                       struct zp_err *err);
void zp_gemm_operands_free(struct zp_gemm_operands *o);

/* Golden references on the plain problem: c float (F32, BIN) or int32, ldc = N. */
void zp_ref_gemm(const struct zp_gemm_problem *p, void *c);

/* ---- depthwise 3x3, NHWC, pad 1 --------------------------------------------------- */

struct zp_dw_problem {
    enum zp_kfmt fmt;      /* ZP_KF_F32 (float in/out) or ZP_KF_S8 (int8 in, int32 out) */
    int h, w, c, stride;   /* stride 1 or 2; output (h+2-3)/stride+1 */
    const void *in;        /* h x w x c */
    const void *weight;    /* 3 x 3 x c */
    void *out;             /* ho x wo x c */
};
static inline int zp_dw_out_dim(int x, int stride) { return (x - 1) / stride + 1; }

struct zp_dw_ukernel {
    const char *name;
    enum zp_kfmt fmt;
    enum zp_isa isa;
    void (*run)(const struct zp_dw_problem *p);
};
const struct zp_dw_ukernel *zp_dw_ukernels(size_t *count);
const struct zp_dw_ukernel *zp_dw_select(enum zp_kfmt fmt, int isa);
void zp_ref_dw3x3(const struct zp_dw_problem *p);

/* ---- the float runtime's kernels: NCHW, one image per call ------------------------ *
 * model/ops_conv.c and model/ops_gemm.c run every float Conv, Gemm and MatMul through
 * these (docs/kernels.md, "The runtime's float kernels"). Kinds (enum zp_rkind):
 *  - conv: Y[m][n] = W[m][k] X[k][n] + bias[m], then the fused clamp. In NCHW a
 *    pointwise or im2col'd convolution is exactly this with m = output channels,
 *    n = output pixels, k = C_in kh kw; a Gemm is n = 1. W is broadcast (weights
 *    are the register-tile rows), X rows are read as vectors along the pixels, so
 *    activations need no packing. W is either the plain rows [m][k] or, faster,
 *    panels packed once per layer by zp_f32_wpack_make.
 *  - dwplane: one channel of a depthwise 3x3 (dilation 1) convolution on a plane
 *    that the caller has padded (so no bounds checks), bias and clamp fused.
 *  - copy_s2: dst[i] = src[2 i], the stride-2 row gather of im2col.
 *  - fakequant: an affine quantizer's quantize + dequantize in one pass (the
 *    activation hooks of every fake-quant cell): bit for bit what schemes/affine.c
 *    gives, half to even with ties decided exactly (common/round.h).
 * The variants are lines of kernels/variants.inc like every kernel's; each kind
 * has a plain reference (zp_ref_f32_*) and a portable variant. No OpenMP inside:
 * the runtime runs images on separate threads. */

/* Rows per weight panel: the register-tile height of every conv variant. */
#define ZP_CONV_MR 8

/* W[m][k] as panels of ZP_CONV_MR rows, [mp / 8][k][8] floats, rows past m zero. */
struct zp_f32_wpack {
    int m, k, mp;       /* mp: m rounded up to ZP_CONV_MR */
    float *data;
};
/* Allocates; release with zp_f32_wpack_free (NULL-safe). */
enum zp_status zp_f32_wpack_make(const float *w, int m, int k, struct zp_f32_wpack *out, struct zp_err *err);
void zp_f32_wpack_free(struct zp_f32_wpack *p);

struct zp_f32_conv_call {
    int m, n, k;          /* >= 1 each */
    const float *w;       /* rows [m][k] (w_packed 0) or zp_f32_wpack.data of that W (w_packed 1) */
    int w_packed;
    const float *x;       /* [k][ldx], n columns used */
    size_t ldx;
    const float *bias;    /* [m] or NULL */
    float *y;             /* [m][ldy], n columns written */
    size_t ldy;
    int act;              /* clamp every output to [lo, hi] */
    float lo, hi;
};
typedef void zp_f32_conv_fn(const struct zp_f32_conv_call *c);

/* A padded input plane: output (oy, ox) is the 3x3 window whose top-left is
 * in[(oy sh) ldin + ox sw]; the caller keeps ZP_DWPLANE_SLACK readable floats
 * past the last window (vector variants load full rows; those lanes are never
 * stored). */
#define ZP_DWPLANE_SLACK 64
struct zp_f32_dwplane_call {
    const float *in;
    size_t ldin;
    int oh, ow, sh, sw;   /* >= 1; sw 1 or 2 */
    const float *w;       /* 9 taps, row-major */
    float bias;
    float *out;           /* oh x ow, rows ow apart */
    int act;
    float lo, hi;
};
typedef void zp_f32_dwplane_fn(const struct zp_f32_dwplane_call *c);

typedef void zp_f32_copy_s2_fn(float *dst, const float *src, int64_t n);

/* y = offset + scale (q - zero_point), q = clamp(round((x - offset) / scale) + zero_point,
 * qmin, qmax), the arithmetic in double as schemes/affine.c does it (x - offset, then
 * times 1 / scale; NaN gives the zero point's code). x and y may be the same array. */
struct zp_f32_fakequant_call {
    const float *x;
    float *y;
    size_t n;
    double scale;   /* > 0 (a float scale widened) */
    double offset;  /* 0 except for the naive asymmetric mapping */
    int32_t zero_point, qmin, qmax;
};
typedef void zp_f32_fakequant_fn(const struct zp_f32_fakequant_call *c);

enum zp_rkind { ZP_RK_CONV = 0, ZP_RK_DWPLANE, ZP_RK_COPY_S2, ZP_RK_FAKEQUANT, ZP_RK_COUNT };

struct zp_rt_ukernel {
    const char *name;     /* zp_f32_<kind>_<tile>__<isa> */
    enum zp_rkind kind;
    enum zp_isa isa;
    union {
        zp_f32_conv_fn *conv;
        zp_f32_dwplane_fn *dwplane;
        zp_f32_copy_s2_fn *copy_s2;
        zp_f32_fakequant_fn *fakequant;
    } fn;
};
/* Every compiled runtime variant, best first per kind. */
const struct zp_rt_ukernel *zp_rt_ukernels(size_t *count);
/* The best variant of a kind the CPU has under the ISA limit; isa >= 0 forces
 * that ISA (NULL if absent). Never NULL for isa < 0: the portable one is always there. */
const struct zp_rt_ukernel *zp_rt_select(enum zp_rkind kind, int isa);

/* Calls through the variant and counts the call (a relaxed atomic add on a
 * per-thread counter row, so threads do not share a cache line). */
void zp_rt_conv(const struct zp_rt_ukernel *uk, const struct zp_f32_conv_call *c);
void zp_rt_dwplane(const struct zp_rt_ukernel *uk, const struct zp_f32_dwplane_call *c);
void zp_rt_copy_s2(const struct zp_rt_ukernel *uk, float *dst, const float *src, int64_t n);
/* copy_s2 on `rows` rows (dst + r ldd from src + r lds), counted as one call: im2col
 * gathers ~100-float rows, and a counter add per row cost more than the copy. */
void zp_rt_copy_s2_rows(const struct zp_rt_ukernel *uk, float *dst, size_t ldd, const float *src, size_t lds,
                        int64_t n, int64_t rows);
/* Not counted (it runs per layer and image, like copy_s2 per row; tests call the
 * variants directly). */
static inline void zp_rt_fakequant(const struct zp_rt_ukernel *uk, const struct zp_f32_fakequant_call *c)
{
    uk->fn.fakequant(c);
}
/* Calls counted for a variant since start (or the last reset): tests use it to
 * show the runtime ran the dispatched kernel. */
uint64_t zp_rt_calls(const struct zp_rt_ukernel *uk);
void zp_rt_calls_reset(void);

/* Plain references (double accumulation, element by element). */
void zp_ref_f32_conv(const struct zp_f32_conv_call *c);
void zp_ref_f32_dwplane(const struct zp_f32_dwplane_call *c);

/* ---- integer inference (kernels/int/): requantization, depthwise, pooling, add --- *
 * Activations are 8-bit codes in NHWC, stored as bytes: uint8 codes, or int8 codes
 * stored by their bit pattern (an s8 tensor read through (int8_t) casts). The
 * fixed-point arithmetic is gemmlowp's (and TFLite's): a real multiplier M in
 * (0, 2^31) is M = mult 2^-31 2^shift with mult in [2^30, 2^31); x M is
 * RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x 2^max(shift,0), mult),
 * max(-shift, 0)), the left shift wrapping as an int32 multiply does. Each kind has
 * a plain reference (zp_ref_int_*) and variants that are bit-exact with it. */

/* gemmlowp's QuantizeMultiplier: *mult and *shift of a real m >= 0 (m = 0 gives 0, 0).
 * ZP_EINVAL for m not finite or >= 2^31. */
enum zp_status zp_quantize_multiplier(double m, int32_t *mult, int *shift, struct zp_err *err);
int32_t zp_srdhm(int32_t a, int32_t b);              /* SaturatingRoundingDoublingHighMul */
int32_t zp_rdivpot(int32_t x, int exponent);         /* RoundingDivideByPOT, exponent 0..31 */
int32_t zp_mul_by_qm(int32_t x, int32_t mult, int shift); /* MultiplyByQuantizedMultiplier */

/* Requantization of int32 accumulators [rows][n] (n = channels, the NHWC minor axis):
 *   v = acc[i][j] + col_add[j] - col_zb[j] rowsum[i]
 *   out[i][j] = clamp(zp + v M_j, lo, hi)  as a byte
 * with M_j the fixed-point multiplier (mult[j], shift[j]), or, when fmult is set,
 * zp + nearbyint(v fmult[j]) in float (half to even; the float option). Per-tensor
 * parameters are arrays whose entries repeat. col_add, col_zb, rowsum may be NULL (0). */
struct zp_rq_call {
    int rows, n;
    const int32_t *acc;
    size_t ld_acc;
    const int32_t *col_add, *col_zb, *rowsum;
    const int32_t *mult;
    const int8_t *shift;
    const float *fmult;
    int32_t zp, lo, hi;
    uint8_t *out;
    size_t ld_out;
};
typedef void zp_rq_fn(const struct zp_rq_call *c);
void zp_ref_int_requant(const struct zp_rq_call *c);

/* Depthwise convolution, one image, NHWC, any kernel / stride / padding (dilation 1):
 *   acc[oy][ox][c] = sum over taps inside the input of (x - zx) w[ky][kx][c]
 * (padding is real 0, code zx, so it adds nothing). x: h x w x c bytes, signed when
 * x_signed; w: de-zero-pointed weights [kh][kw][c] as int16. */
struct zp_idw_call {
    int h, w, c, kh, kw, sh, sw, pt, pl, oh, ow;
    const uint8_t *x;
    int x_signed;
    int32_t zx;
    const int16_t *wt;
    int32_t *acc;
};
typedef void zp_idw_fn(const struct zp_idw_call *c);
void zp_ref_int_dw(const struct zp_idw_call *c);

/* Channel sums of an NHWC image (global average pooling's numerator):
 * sum[c] = sum over the hw pixels of x[p][c]. */
typedef void zp_isum_fn(const uint8_t *x, int x_signed, int hw, int c, int32_t *sum);
void zp_ref_int_chansum(const uint8_t *x, int x_signed, int hw, int c, int32_t *sum);

/* TFLite's quantized Add: both inputs rescaled to a common scale 2^-20 below twice
 * the larger input scale, added, then rescaled to the output:
 *   a' = ((a - za) << 20) Ma, b' = ((b - zb) << 20) Mb, out = clamp(zo + (a' + b') Mo)
 * Multipliers from zp_add_params. */
struct zp_iadd_params {
    int32_t za, zb, zo, lo, hi;
    int32_t ma, mb, mo;
    int sa, sb, so;
};
enum zp_status zp_add_params(double scale_a, double scale_b, double scale_out, struct zp_iadd_params *p,
                             struct zp_err *err);
typedef void zp_iadd_fn(const struct zp_iadd_params *p, const uint8_t *a, const uint8_t *b, int is_signed,
                        int64_t n, uint8_t *out);
void zp_ref_int_add(const struct zp_iadd_params *p, const uint8_t *a, const uint8_t *b, int is_signed,
                    int64_t n, uint8_t *out);

/* The network input quantized once, NCHW floats to NHWC codes: c planes of hw
 * values in, hw pixels of c codes out,
 *   out[p c + ch] = clamp(zp + round(x[ch hw + p] / scale), qmin, qmax)  as a byte,
 * half to even with ties decided exactly (common/round.h: zp_round_quot of
 * x (1 / scale) in double), as the affine schemes quantize. */
struct zp_iquant_params {
    float scale;
    int32_t zp, qmin, qmax;
};
typedef void zp_iquant_fn(const struct zp_iquant_params *q, const float *x, int c, int64_t hw, uint8_t *out);
void zp_ref_int_quantize(const struct zp_iquant_params *q, const float *x, int c, int64_t hw, uint8_t *out);

/* The variants of the five kinds: the best the CPU has under the ISA limit, or the
 * variant of ISA isa (>= 0; NULL if the CPU lacks it or none exists). */
struct zp_int_kernels {
    const char *isa_name;
    zp_rq_fn *requant;
    zp_idw_fn *dw;
    zp_isum_fn *chansum;
    zp_iadd_fn *add;
    zp_iquant_fn *quantize;
};
const struct zp_int_kernels *zp_int_kernels_select(int isa);

/* ---- instruction peak probe ------------------------------------------------------- */

struct zp_peak {
    const char *name;   /* "fma_zmm", "vpdpbusd_zmm", ... */
    enum zp_isa isa;
    double ops_per_instr_group; /* ops credited per loop body element (documented) */
    double gops;        /* measured, one core */
};
/* Measures every probe the CPU supports (~0.1 s each); returns the count written. */
int zp_peak_measure(struct zp_peak *out, int max);
/* The peak name a kernel's peak_fraction uses (NULL: none). */
const char *zp_peak_for(const struct zp_gemm_ukernel *k);

/* ---- f32 GEMM with transposes: the training backward ----------------------------- *
 * C = alpha op(A) op(B) + beta C, row-major with leading dimensions, op = transpose
 * when ta / tb (model/grad_conv.c: dcol = W^T dy, dW += dy col^T, dX += dY W).
 * It runs kernels already here, chosen by the one CPU probe and ISA limit through
 * uk (an f32 GEMM variant, zp_gemm_select(ZP_KF_F32, ...)): with B plain (tb 0)
 * the runtime's conv kernel of uk's ISA, B read in place and only op(A) packed
 * into weight panels; with B transposed, uk itself on op(B) packed into its
 * 32-column panels (alpha folded in). beta != 0 adds into C in place where the
 * variant allows it, else through a buffer (kernels/gemm_t.c says which).
 * beta 0 never reads C (NaN there is overwritten). threads > 1 outside a parallel
 * region shares row (or column) blocks over OpenMP threads; the backward calls it with 1
 * from its own per-image / per-chunk parallel loops, as the forward runs images. */
struct zp_f32_gemm_t_call {
    int ta, tb;           /* op(A) = A^T (A stored k x m), op(B) = B^T (B stored n x k) */
    int m, n, k;          /* op(A) m x k, op(B) k x n, C m x n; each >= 1 */
    float alpha, beta;
    const float *a;       /* rows lda apart: m x k plain, k x m when ta */
    size_t lda;
    const float *b;       /* rows ldb apart: k x n plain, n x k when tb */
    size_t ldb;
    float *c;             /* m x n, rows ldc apart; columns past n untouched */
    size_t ldc;
    float *ws;            /* zp_f32_gemm_t_ws floats, or NULL: allocated for the call */
    int threads;          /* <= 1: the calling thread only */
};
/* Workspace floats a call needs (any alignment: the entry aligns inside it). */
size_t zp_f32_gemm_t_ws(const struct zp_f32_gemm_t_call *c);
/* Through variant uk (an f32 GEMM variant the CPU has); counts the call. Fails
 * (ZP_EINVAL naming the bad argument, C untouched) on bad shapes or strides, or
 * ZP_ENOMEM when ws is NULL and the buffer cannot be had. */
enum zp_status zp_f32_gemm_t(const struct zp_gemm_ukernel *uk, const struct zp_f32_gemm_t_call *c,
                             struct zp_err *err);
/* Calls through zp_f32_gemm_t per variant since start or the last reset (the
 * runtime kernels' zp_rt_calls, for this entry): tests use it to show the
 * backward ran the dispatched GEMM. */
uint64_t zp_f32_gemm_t_calls(const struct zp_gemm_ukernel *uk);
void zp_f32_gemm_t_calls_reset(void);
/* Plain reference: double accumulation, element by element (no checks beyond asserts). */
void zp_ref_f32_gemm_t(const struct zp_f32_gemm_t_call *c);

/* ---- im2col and col2im, NCHW, one image ------------------------------------------ *
 * col[(c kh + ky) kw + kx][oy ow + ox] = x[c][oy sh + ky dh - pt][ox sw + kx dw - pl],
 * 0 outside the image; col2im is its adjoint: x[c][iy][ix] += every column entry
 * that read it. The training backward's (model/grad_conv.c); plain C, no threads.
 * (The forward's own banded im2col is private to model/ops_conv.c.) */
struct zp_im2col_geom {
    int64_t c, h, w;      /* input channels (of one group) and plane */
    int64_t kh, kw, sh, sw, dh, dw;
    int64_t pt, pl;       /* top and left padding */
    int64_t oh, ow;       /* output plane */
};
/* col: c kh kw x oh ow floats, all written. */
void zp_f32_im2col(const struct zp_im2col_geom *q, const float *x, float *col);
/* Adds into x (c x h x w). */
void zp_f32_col2im(const struct zp_im2col_geom *q, const float *col, float *x);
/* The output columns ox in [*lo, *hi) whose tap kx reads inside the row:
 * 0 <= ox sw + kx dw - pl < w. */
void zp_im2col_ox_range(const struct zp_im2col_geom *q, int64_t kx, int64_t *lo, int64_t *hi);

#ifdef __cplusplus
}
#endif
#endif
