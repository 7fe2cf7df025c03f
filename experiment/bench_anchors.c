/* Library anchors measured in the same process as our kernels: OpenBLAS sgemm
 * (cblas_sgemm, row-major A[M][K] x B[K][N]), oneDNN matmul f32 and u8 x s8 -> s32
 * (C API). oneDNN's weights use format "any" and are reordered once, as ours are
 * packed once; sources and destinations are plain row-major like ours. */
#include "experiment/bench.h"

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kernels/kernels.h"

#include "common/mem.h"
#include "common/rng.h"

struct zp_anchor {
    enum zp_anchor_kind kind;
    int m, n, k, threads;
    float *a, *b, *c;
    /* oneDNN */
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    dnnl_primitive_t prim;
    dnnl_memory_t src, wei, dst;
};

void zp_anchor_free(struct zp_anchor *x)
{
    if (!x)
        return;
    if (x->prim)
        dnnl_primitive_destroy(x->prim);
    if (x->src)
        dnnl_memory_destroy(x->src);
    if (x->wei)
        dnnl_memory_destroy(x->wei);
    if (x->dst)
        dnnl_memory_destroy(x->dst);
    if (x->stream)
        dnnl_stream_destroy(x->stream);
    if (x->eng)
        dnnl_engine_destroy(x->eng);
    zp_free(x->a);
    zp_free(x->b);
    zp_free(x->c);
    free(x);
}

#define DNNL_TRY(call)                                                                                \
    do {                                                                                              \
        dnnl_status_t s_ = (call);                                                                    \
        if (s_ != dnnl_success) {                                                                     \
            zp_err_set(err, ZP_EUNSUPPORTED, "oneDNN %s %dx%dx%d: %s failed (status %d)",            \
                       kind == ZP_ANCHOR_DNNL_F32 ? "f32" : "u8s8", m, n, k, #call, (int)s_);          \
            goto fail;                                                                                \
        }                                                                                             \
    } while (0)

static struct zp_anchor *dnnl_new(struct zp_anchor *x, enum zp_anchor_kind kind, int m, int n, int k,
                                  struct zp_rng *rng, struct zp_err *err)
{
    const int q = kind == ZP_ANCHOR_DNNL_U8S8;
    dnnl_dims_t sd = {m, k}, wd = {k, n}, dd = {m, n};
    dnnl_memory_desc_t smd, wmd_any, wmd_plain, dmd;
    dnnl_matmul_desc_t md;
    dnnl_primitive_desc_t pd = NULL, rpd = NULL;
    dnnl_primitive_t reorder = NULL;
    dnnl_memory_t wplain = NULL;
    DNNL_TRY(dnnl_engine_create(&x->eng, dnnl_cpu, 0));
    DNNL_TRY(dnnl_stream_create(&x->stream, x->eng, dnnl_stream_default_flags));
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&smd, 2, sd, q ? dnnl_u8 : dnnl_f32, dnnl_ab));
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&wmd_any, 2, wd, q ? dnnl_s8 : dnnl_f32, dnnl_format_tag_any));
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&wmd_plain, 2, wd, q ? dnnl_s8 : dnnl_f32, dnnl_ab));
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&dmd, 2, dd, q ? dnnl_s32 : dnnl_f32, dnnl_ab));
    DNNL_TRY(dnnl_matmul_desc_init(&md, &smd, &wmd_any, NULL, &dmd));
    DNNL_TRY(dnnl_primitive_desc_create(&pd, &md, NULL, x->eng, NULL));
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    DNNL_TRY(dnnl_primitive_create(&x->prim, pd));
    DNNL_TRY(dnnl_memory_create(&x->src, &smd, x->eng, DNNL_MEMORY_ALLOCATE));
    DNNL_TRY(dnnl_memory_create(&x->dst, &dmd, x->eng, DNNL_MEMORY_ALLOCATE));
    DNNL_TRY(dnnl_memory_create(&x->wei, wmd, x->eng, DNNL_MEMORY_ALLOCATE));
    DNNL_TRY(dnnl_memory_create(&wplain, &wmd_plain, x->eng, DNNL_MEMORY_ALLOCATE));
    void *sp, *wp;
    DNNL_TRY(dnnl_memory_get_data_handle(x->src, &sp));
    DNNL_TRY(dnnl_memory_get_data_handle(wplain, &wp));
    for (size_t i = 0; i < (size_t)m * k; i++) {
        if (q)
            ((uint8_t *)sp)[i] = (uint8_t)zp_rng_below(rng, 256);
        else
            ((float *)sp)[i] = (float)(2 * zp_rng_uniform(rng) - 1);
    }
    for (size_t i = 0; i < (size_t)k * n; i++) {
        if (q)
            ((int8_t *)wp)[i] = (int8_t)((int)zp_rng_below(rng, 255) - 127);
        else
            ((float *)wp)[i] = (float)(2 * zp_rng_uniform(rng) - 1);
    }
    /* weights: plain -> the primitive's preferred layout, once */
    DNNL_TRY(dnnl_reorder_primitive_desc_create(&rpd, &wmd_plain, x->eng, wmd, x->eng, NULL));
    DNNL_TRY(dnnl_primitive_create(&reorder, rpd));
    dnnl_exec_arg_t rargs[2] = {{DNNL_ARG_FROM, wplain}, {DNNL_ARG_TO, x->wei}};
    DNNL_TRY(dnnl_primitive_execute(reorder, x->stream, 2, rargs));
    DNNL_TRY(dnnl_stream_wait(x->stream));
    dnnl_primitive_destroy(reorder);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_primitive_desc_destroy(pd);
    dnnl_memory_destroy(wplain);
    return x;
fail:
    if (reorder)
        dnnl_primitive_destroy(reorder);
    if (rpd)
        dnnl_primitive_desc_destroy(rpd);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (wplain)
        dnnl_memory_destroy(wplain);
    zp_anchor_free(x);
    return NULL;
}

struct zp_anchor *zp_anchor_new(enum zp_anchor_kind kind, int m, int n, int k, int threads, unsigned seed,
                                struct zp_err *err)
{
    struct zp_anchor *x = calloc(1, sizeof *x);
    if (!x) {
        zp_err_set(err, ZP_ENOMEM, "anchor: out of memory");
        return NULL;
    }
    x->kind = kind;
    x->m = m;
    x->n = n;
    x->k = k;
    x->threads = threads < 1 ? 1 : threads;
    struct zp_rng rng;
    zp_rng_seed(&rng, seed);
    if (kind != ZP_ANCHOR_SGEMM_OPENBLAS)
        return dnnl_new(x, kind, m, n, k, &rng, err);
    x->a = zp_alloc((size_t)m * k * sizeof(float));
    x->b = zp_alloc((size_t)k * n * sizeof(float));
    x->c = zp_alloc((size_t)m * n * sizeof(float));
    if (!x->a || !x->b || !x->c) {
        zp_anchor_free(x);
        zp_err_set(err, ZP_ENOMEM, "openblas anchor %dx%dx%d: out of memory", m, n, k);
        return NULL;
    }
    for (size_t i = 0; i < (size_t)m * k; i++)
        x->a[i] = (float)(2 * zp_rng_uniform(&rng) - 1);
    for (size_t i = 0; i < (size_t)k * n; i++)
        x->b[i] = (float)(2 * zp_rng_uniform(&rng) - 1);
    return x;
}

void zp_anchor_run(void *p)
{
    struct zp_anchor *x = p;
    if (x->kind == ZP_ANCHOR_SGEMM_OPENBLAS) {
        openblas_set_num_threads(x->threads);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, x->m, x->n, x->k, 1.0f, x->a, x->k, x->b, x->n, 0.0f,
                    x->c, x->n);
        return;
    }
    /* oneDNN here runs on the OpenMP runtime: its thread count is the pool's */
    omp_set_num_threads(x->threads);
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, x->src}, {DNNL_ARG_WEIGHTS, x->wei}, {DNNL_ARG_DST, x->dst}};
    dnnl_primitive_execute(x->prim, x->stream, 3, args);
    dnnl_stream_wait(x->stream);
}

const char *zp_anchor_isa(enum zp_anchor_kind kind)
{
    if (kind == ZP_ANCHOR_SGEMM_OPENBLAS) {
        const char *c = openblas_get_corename();
        return c && *c ? c : "openblas";
    }
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx2: return "avx2";
    default: return "onednn";
    }
}

/* OpenBLAS x86 cores with AVX2 kernels; any other core on an AVX2 CPU is a
 * fallback (Debian's 0.3.21 runs Prescott on CPUs it does not know). */
static const char *const avx2_cores[] = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", "excavator"};

int zp_anchor_core_generic(const char *core, int cpu_avx2)
{
    if (!cpu_avx2 || !core)
        return 0;
    for (size_t i = 0; i < sizeof avx2_cores / sizeof *avx2_cores; i++)
        if (strcasecmp(core, avx2_cores[i]) == 0)
            return 0;
    return 1;
}

void zp_anchor_blas_info(struct zp_bench_blas *b)
{
    memset(b, 0, sizeof *b);
    const char *core = openblas_get_corename(), *cfg = openblas_get_config(), *env = getenv("OPENBLAS_CORETYPE");
    snprintf(b->core, sizeof b->core, "%s", core && *core ? core : "unknown");
    snprintf(b->config, sizeof b->config, "%s", cfg ? cfg : "");
    snprintf(b->coretype, sizeof b->coretype, "%s", env ? env : "");
    int avx512 = zp_cpu_has(ZP_ISA_AVX512BW), avx2 = avx512 || zp_cpu_has(ZP_ISA_AVX2);
    if (zp_anchor_core_generic(b->core, avx2))
        snprintf(b->warning, sizeof b->warning,
                 "OpenBLAS runs its generic %s kernels on a CPU with %s: the openblas anchor is slow and "
                 "vs_anchor flatters our float kernels; rerun with OPENBLAS_CORETYPE=%s (docs/kernels.md)",
                 b->core, avx512 ? "AVX-512" : "AVX2", avx512 ? "SkylakeX" : "Haswell");
}
