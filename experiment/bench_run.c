/* The kernel benchmark run (`harness bench CONFIG`): measures every scheme's GEMM
 * kernel (and depthwise 3x3), and the float runtime's own kernels (the conv GEMM
 * and depthwise plane that `harness run` executes, kernels/kernels.h), on the
 * config's shapes against our float kernel and
 * the library anchors (OpenBLAS sgemm, oneDNN f32 and u8s8 matmul), all registered
 * with Google Benchmark through bench/gbench_shim.h and run in this one process,
 * and writes kernels.csv, kernels_gbench.json, peaks.csv and run.json. Timing
 * policy: docs/kernels.md. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench/gbench_shim.h"
#include "common/mem.h"
#include "common/path.h"
#include "common/rng.h"
#include "experiment/bench.h"
#include "store/sysinfo.h"
#include "kernels/kernels.h"

enum job_type { JOB_GEMM, JOB_DW, JOB_ANCHOR, JOB_RT };

struct job {
    enum job_type type;
    struct zp_bench_row row; /* identity filled at registration, numbers after the run */
    double ops;
    /* GEMM */
    const struct zp_gemm_ukernel *uk;
    struct zp_packed_a pa;
    struct zp_packed_b pb;
    struct zp_gemm_call call;
    void *a, *b, *c;
    struct zp_gemm_operands operands; /* block-scaled and FP8 formats: operands with scales */
    /* depthwise */
    const struct zp_dw_ukernel *dk;
    struct zp_dw_problem dp;
    /* anchor */
    struct zp_anchor *anchor;
    enum zp_anchor_kind akind;
    /* the runtime's kernels: one conv GEMM call (weights as cached panels), or one
     * depthwise layer = the dwplane kernel on each padded channel plane */
    const struct zp_rt_ukernel *rk;
    struct zp_f32_wpack wp;
    struct zp_f32_conv_call conv;
    struct zp_f32_dwplane_call dwp;
    int dw_channels;
    size_t dw_in_plane, dw_out_plane;
};

static void run_gemm(void *p)
{
    struct job *j = p;
    zp_gemm_run(j->uk, &j->call);
}

static void run_dw(void *p)
{
    struct job *j = p;
    j->dk->run(&j->dp);
}

static void run_rt(void *p)
{
    struct job *j = p;
    if (j->rk->kind == ZP_RK_CONV) {
        zp_rt_conv(j->rk, &j->conv);
        return;
    }
    struct zp_f32_dwplane_call d = j->dwp;
    for (int ch = 0; ch < j->dw_channels; ch++) {
        d.in = (const float *)j->a + ch * j->dw_in_plane;
        d.w = (const float *)j->b + ch * 9;
        d.out = (float *)j->c + ch * j->dw_out_plane;
        zp_rt_dwplane(j->rk, &d);
    }
}

static void run_anchor(void *p)
{
    zp_anchor_run(((struct job *)p)->anchor);
}

static void job_free(struct job *j)
{
    zp_packed_a_free(&j->pa);
    zp_packed_b_free(&j->pb);
    zp_free(j->a);
    zp_free(j->b);
    zp_free(j->c);
    zp_gemm_operands_free(&j->operands);
    zp_anchor_free(j->anchor);
    zp_f32_wpack_free(&j->wp);
}

/* Random plain operands of the format (values in the format's range). */
static int make_gemm_data(struct job *j, enum zp_kfmt f, int m, int n, int k, struct zp_rng *rng,
                          struct zp_gemm_problem *p, int8_t codebook[16])
{
    size_t na = (size_t)m * k, nb = (size_t)k * n;
    int fl = f == ZP_KF_F32 || f == ZP_KF_BIN;
    j->a = zp_alloc(na * (fl ? 4 : 1));
    j->b = zp_alloc(nb * (fl ? 4 : 1));
    j->c = zp_alloc((size_t)m * n * 4);
    if (!j->a || !j->b || !j->c)
        return -1;
    for (size_t i = 0; i < na; i++) {
        if (fl)
            ((float *)j->a)[i] = (float)(2 * zp_rng_uniform(rng) - 1);
        else
            ((uint8_t *)j->a)[i] = (uint8_t)zp_rng_below(rng, 256);
    }
    for (size_t i = 0; i < nb; i++) {
        if (fl)
            ((float *)j->b)[i] = (float)(2 * zp_rng_uniform(rng) - 1);
        else if (f == ZP_KF_Q4)
            ((int8_t *)j->b)[i] = (int8_t)((int)zp_rng_below(rng, 16) - 8);
        else if (f == ZP_KF_LUT4)
            ((uint8_t *)j->b)[i] = (uint8_t)zp_rng_below(rng, 16);
        else if (f == ZP_KF_S8N)
            ((int8_t *)j->b)[i] = (int8_t)((int)zp_rng_below(rng, 255) - 127);
        else
            ((uint8_t *)j->b)[i] = (uint8_t)zp_rng_below(rng, 256);
    }
    for (int i = 0; i < 16; i++)
        codebook[i] = (int8_t)((i - 8) * 15);
    *p = (struct zp_gemm_problem){.fmt = f, .m = m, .n = n, .k = k, .a = j->a, .b = j->b, .za = 3, .zb = 128,
                                  .codebook = codebook};
    return 0;
}

struct ctx {
    struct job *jobs;
    int n, cap;
    int quiet;
};

static struct job *new_job(struct ctx *c)
{
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 64;
        struct job *j = realloc(c->jobs, (size_t)cap * sizeof *j);
        if (!j)
            return NULL;
        c->jobs = j;
        c->cap = cap;
    }
    struct job *j = &c->jobs[c->n];
    memset(j, 0, sizeof *j);
    return j;
}

static void set_identity(struct zp_bench_row *r, const char *kernel, const char *scheme, const char *isa, int m,
                         int n, int k, int threads)
{
    snprintf(r->kernel, sizeof r->kernel, "%s", kernel);
    snprintf(r->scheme, sizeof r->scheme, "%s", scheme);
    snprintf(r->isa, sizeof r->isa, "%s", isa);
    r->m = m;
    r->n = n;
    r->k = k;
    r->threads = threads;
    r->gops = r->ns_per_call = r->speedup_vs_f32 = r->vs_anchor = r->peak_fraction = NAN;
}

static int have_gemm(const struct ctx *c, const struct zp_gemm_ukernel *uk, int m, int n, int k, int t)
{
    for (int i = 0; i < c->n; i++)
        if (c->jobs[i].type == JOB_GEMM && c->jobs[i].uk == uk && c->jobs[i].row.m == m && c->jobs[i].row.n == n &&
            c->jobs[i].row.k == k && c->jobs[i].row.threads == t)
            return 1;
    return 0;
}

static enum zp_status add_gemm(struct ctx *c, const struct zp_gemm_ukernel *uk, int m, int n, int k, int t,
                               struct zp_rng *rng, struct zp_err *err)
{
    if (have_gemm(c, uk, m, n, k, t))
        return ZP_OK;
    struct job *j = new_job(c);
    if (!j)
        return zp_err_set(err, ZP_ENOMEM, "bench: out of memory");
    struct zp_gemm_problem p = {.fmt = uk->fmt, .m = m, .n = n, .k = k};
    int8_t cb[16];
    if (zp_kfmt_traits(uk->fmt)->bscale != ZP_KS_NONE) { /* these need scales too */
        if (zp_gemm_operands_random(&p, &j->operands, zp_rng_u64(rng), err) ||
            !(j->c = zp_alloc((size_t)m * n * 4))) {
            job_free(j);
            return err->status ? err->status : zp_err_set(err, ZP_ENOMEM, "bench: %dx%dx%d: out of memory", m, n, k);
        }
    } else if (make_gemm_data(j, uk->fmt, m, n, k, rng, &p, cb)) {
        job_free(j);
        return zp_err_set(err, ZP_ENOMEM, "bench: %dx%dx%d: out of memory", m, n, k);
    }
    if (zp_pack_b(&p, &j->pb, err) || zp_pack_a(&p, uk->afmt, &j->pa, err)) {
        job_free(j);
        return err->status;
    }
    j->type = JOB_GEMM;
    j->uk = uk;
    j->call = (struct zp_gemm_call){.a = &j->pa, .b = &j->pb, .c = j->c, .ldc = (size_t)n, .threads = t};
    j->ops = 2.0 * m * n * k;
    set_identity(&j->row, uk->name, zp_bench_scheme_name(uk->fmt), zp_isa_name(uk->isa), m, n, k, t);
    const char *pk = zp_peak_for(uk);
    snprintf(j->row.peak_name, sizeof j->row.peak_name, "%s", pk ? pk : "");
    c->n++;
    return ZP_OK;
}

static void add_anchor(struct ctx *c, enum zp_anchor_kind kind, int m, int n, int k, int t, unsigned seed)
{
    struct zp_err err = {0};
    struct job *j = new_job(c);
    if (!j)
        return;
    j->anchor = zp_anchor_new(kind, m, n, k, t, seed, &err);
    if (!j->anchor) {
        fprintf(stderr, "harness: bench: anchor skipped: %s\n", err.msg);
        return;
    }
    j->type = JOB_ANCHOR;
    j->akind = kind;
    j->ops = 2.0 * m * n * k;
    set_identity(&j->row, kind == ZP_ANCHOR_SGEMM_OPENBLAS ? "openblas" : "onednn",
                 kind == ZP_ANCHOR_DNNL_U8S8 ? "symmetric" : "float", zp_anchor_isa(kind), m, n, k, t);
    snprintf(j->row.anchor_core, sizeof j->row.anchor_core, "%s", zp_anchor_isa(kind));
    snprintf(j->row.peak_name, sizeof j->row.peak_name, "%s",
             kind == ZP_ANCHOR_DNNL_U8S8 ? "vpdpbusd_zmm" : "fma_zmm");
    c->n++;
}

static enum zp_status add_dw(struct ctx *c, const struct zp_dw_ukernel *dk, const struct zp_bench_dw *d,
                             struct zp_rng *rng, struct zp_err *err)
{
    for (int i = 0; i < c->n; i++)
        if (c->jobs[i].type == JOB_DW && c->jobs[i].dk == dk && c->jobs[i].dp.h == d->h && c->jobs[i].dp.w == d->w &&
            c->jobs[i].dp.c == d->c && c->jobs[i].dp.stride == d->stride)
            return ZP_OK;
    struct job *j = new_job(c);
    if (!j)
        return zp_err_set(err, ZP_ENOMEM, "bench: out of memory");
    int ho = zp_dw_out_dim(d->h, d->stride), wo = zp_dw_out_dim(d->w, d->stride);
    size_t ni = (size_t)d->h * d->w * d->c, no = (size_t)ho * wo * d->c;
    j->a = zp_alloc(ni * 4);
    j->b = zp_alloc(9 * (size_t)d->c * 4);
    j->c = zp_alloc(no * 4);
    if (!j->a || !j->b || !j->c) {
        job_free(j);
        return zp_err_set(err, ZP_ENOMEM, "bench: depthwise: out of memory");
    }
    for (size_t i = 0; i < ni; i++)
        ((float *)j->a)[i] = (float)zp_rng_gaussian(rng); /* any bytes will do for int8 */
    for (size_t i = 0; i < 9 * (size_t)d->c; i++)
        ((float *)j->b)[i] = (float)zp_rng_gaussian(rng);
    j->type = JOB_DW;
    j->dk = dk;
    j->dp = (struct zp_dw_problem){dk->fmt, d->h, d->w, d->c, d->stride, j->a, j->b, j->c};
    j->ops = 2.0 * ho * wo * d->c * 9;
    set_identity(&j->row, dk->name, zp_bench_scheme_name(dk->fmt), zp_isa_name(dk->isa), ho * wo, d->c, 9, 1);
    j->row.is_dw = 1;
    snprintf(j->row.peak_name, sizeof j->row.peak_name, "%s",
             dk->fmt == ZP_KF_F32 && dk->isa != ZP_ISA_REF ? "fma_zmm" : "");
    c->n++;
    return ZP_OK;
}

static int have_rt(const struct ctx *c, const struct zp_rt_ukernel *rk, int m, int n, int k)
{
    for (int i = 0; i < c->n; i++)
        if (c->jobs[i].type == JOB_RT && c->jobs[i].rk == rk && c->jobs[i].row.m == m && c->jobs[i].row.n == n &&
            c->jobs[i].row.k == k)
            return 1;
    return 0;
}

static const char *rt_peak(const struct zp_rt_ukernel *rk)
{
    return rk->isa >= ZP_ISA_AVX512BW ? "fma_zmm" : rk->isa == ZP_ISA_AVX2 ? "fma_ymm" : "";
}

static float *rand_floats(size_t n, struct zp_rng *rng)
{
    float *v = zp_alloc(n * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = (float)(2 * zp_rng_uniform(rng) - 1);
    return v;
}

/* The runtime's conv GEMM on the bench's M x N x K shape (M pixels, N output
 * channels): Y[N][M] = W[N][K] X[K][M] + bias with a Relu6 clamp, as a layer runs
 * it in NCHW. One thread: the runtime runs one image per thread. */
static enum zp_status add_rt_conv(struct ctx *c, const struct zp_rt_ukernel *rk, int m, int n, int k,
                                  struct zp_rng *rng, struct zp_err *err)
{
    if (!rk || have_rt(c, rk, m, n, k))
        return ZP_OK;
    struct job *j = new_job(c);
    if (!j)
        return zp_err_set(err, ZP_ENOMEM, "bench: out of memory");
    float *w = rand_floats((size_t)n * k, rng);
    j->a = rand_floats((size_t)k * m, rng);
    j->b = rand_floats((size_t)n, rng);
    j->c = zp_alloc((size_t)n * m * sizeof(float));
    enum zp_status st = w && j->a && j->b && j->c ? zp_f32_wpack_make(w, n, k, &j->wp, err)
                                                  : zp_err_set(err, ZP_ENOMEM, "bench: runtime conv %dx%dx%d: out of memory",
                                                               m, n, k);
    zp_free(w);
    if (st) {
        job_free(j);
        return st;
    }
    j->type = JOB_RT;
    j->rk = rk;
    j->conv = (struct zp_f32_conv_call){.m = n, .n = m, .k = k, .w = j->wp.data, .w_packed = 1, .x = j->a,
                                        .ldx = (size_t)m, .bias = j->b, .y = j->c, .ldy = (size_t)m, .act = 1,
                                        .lo = 0.f, .hi = 6.f};
    j->ops = 2.0 * m * n * k;
    set_identity(&j->row, rk->name, "float", zp_isa_name(rk->isa), m, n, k, 1);
    snprintf(j->row.peak_name, sizeof j->row.peak_name, "%s", rt_peak(rk));
    c->n++;
    return ZP_OK;
}

/* The runtime's depthwise layer: the dwplane kernel over c padded (h+2) x (w+2)
 * planes (pad 1), bias and Relu6 fused. */
static enum zp_status add_rt_dw(struct ctx *c, const struct zp_rt_ukernel *rk, const struct zp_bench_dw *d,
                                struct zp_rng *rng, struct zp_err *err)
{
    const int ho = zp_dw_out_dim(d->h, d->stride), wo = zp_dw_out_dim(d->w, d->stride);
    if (!rk || have_rt(c, rk, ho * wo, d->c, 9))
        return ZP_OK;
    struct job *j = new_job(c);
    if (!j)
        return zp_err_set(err, ZP_ENOMEM, "bench: out of memory");
    j->dw_in_plane = (size_t)(d->h + 2) * (d->w + 2) + ZP_DWPLANE_SLACK;
    j->dw_out_plane = (size_t)ho * wo;
    j->a = rand_floats(j->dw_in_plane * d->c, rng);
    j->b = rand_floats(9 * (size_t)d->c, rng);
    j->c = zp_alloc(j->dw_out_plane * d->c * sizeof(float));
    if (!j->a || !j->b || !j->c) {
        job_free(j);
        return zp_err_set(err, ZP_ENOMEM, "bench: runtime depthwise: out of memory");
    }
    j->type = JOB_RT;
    j->rk = rk;
    j->dw_channels = d->c;
    j->dwp = (struct zp_f32_dwplane_call){.ldin = (size_t)d->w + 2, .oh = ho, .ow = wo, .sh = d->stride,
                                          .sw = d->stride, .bias = 0.1f, .act = 1, .lo = 0.f, .hi = 6.f};
    j->ops = 2.0 * ho * wo * d->c * 9;
    set_identity(&j->row, rk->name, "float", zp_isa_name(rk->isa), ho * wo, d->c, 9, 1);
    j->row.is_dw = 1;
    snprintf(j->row.peak_name, sizeof j->row.peak_name, "%s", rt_peak(rk));
    c->n++;
    return ZP_OK;
}

static double peak_of(const struct zp_peak *p, int np, const char *name)
{
    for (int i = 0; i < np; i++)
        if (strcmp(p[i].name, name) == 0)
            return p[i].gops;
    return NAN;
}

static void print_peaks(const struct zp_peak *p, int np)
{
    printf("instruction peaks (one core, GOP/s; multiply and add count as 2 ops):\n");
    for (int i = 0; i < np; i++)
        printf("  %-26s %-14s %9.1f\n", p[i].name, zp_isa_name(p[i].isa), p[i].gops);
}

/* Fills the derived columns once every job has its time. */
static void derive(struct ctx *c, const struct zp_peak *pk, int np)
{
    for (int i = 0; i < c->n; i++) {
        struct zp_bench_row *r = &c->jobs[i].row;
        if (!isfinite(r->ns_per_call))
            continue;
        r->gops = c->jobs[i].ops / r->ns_per_call;
        int f32 = strcmp(r->scheme, "float") == 0;
        /* baselines: our best float kernel and the matching anchor, same shape and threads */
        const struct zp_bench_row *base = NULL, *anc = NULL;
        for (int j = 0; j < c->n; j++) {
            const struct job *o = &c->jobs[j];
            const struct zp_bench_row *q = &o->row;
            if (q->m != r->m || q->n != r->n || q->k != r->k || q->threads != r->threads || q->is_dw != r->is_dw ||
                !isfinite(q->ns_per_call))
                continue;
            if ((o->type == JOB_GEMM || o->type == JOB_DW || o->type == JOB_RT) && strcmp(q->scheme, "float") == 0 &&
                (!base || q->ns_per_call < base->ns_per_call))
                base = q;
            if (o->type == JOB_ANCHOR && c->jobs[i].type != JOB_ANCHOR &&
                o->akind == (f32 ? ZP_ANCHOR_SGEMM_OPENBLAS : ZP_ANCHOR_DNNL_U8S8))
                anc = q;
        }
        if (base)
            r->speedup_vs_f32 = base->ns_per_call / r->ns_per_call;
        if (anc) {
            r->vs_anchor = anc->ns_per_call / r->ns_per_call;
            snprintf(r->anchor, sizeof r->anchor, "%s",
                     anc->kernel[0] == 'o' && strcmp(anc->kernel, "openblas") == 0 ? "openblas_sgemm" : "onednn_u8s8");
            snprintf(r->anchor_core, sizeof r->anchor_core, "%s", anc->isa); /* the core the anchor ran */
        }
        if (r->peak_name[0])
            r->peak_fraction = r->gops / (peak_of(pk, np, r->peak_name) * r->threads);
    }
}

static void print_table(const struct ctx *c)
{
    printf("%-44s %-10s %-16s %16s %3s %9s %12s %8s %8s %-14s %6s\n", "kernel", "scheme", "isa", "MxNxK", "thr",
           "GOP/s", "ns/call", "vs f32", "vs anch", "anchor", "peak");
    for (int i = 0; i < c->n; i++) {
        const struct zp_bench_row *r = &c->jobs[i].row;
        char shape[48];
        snprintf(shape, sizeof shape, "%s%dx%dx%d", r->is_dw ? "dw " : "", r->m, r->n, r->k);
        printf("%-44s %-10s %-16s %16s %3d %9.1f %12.0f %8.2f %8.2f %-14s %5.0f%%\n", r->kernel, r->scheme, r->isa,
               shape, r->threads, r->gops, r->ns_per_call, r->speedup_vs_f32, r->vs_anchor,
               r->anchor[0] ? r->anchor : "-", 100 * r->peak_fraction);
    }
}

enum zp_status zp_bench_peaks(const char *out, int quiet, struct zp_err *err)
{
    struct zp_peak peaks[16];
    int np = zp_peak_measure(peaks, 16);
    if (!quiet)
        print_peaks(peaks, np);
    if (!out)
        return ZP_OK;
    if (zp_mkdir_p(out, err))
        return err->status;
    return zp_bench_write_peaks(out, peaks, np, err);
}

enum zp_status zp_bench_run(const struct zp_bench_config *cfgp, const struct zp_bench_opts *o,
                            struct zp_err *err)
{
    const struct zp_bench_config cfg = *cfgp;
    const char *config = o->config_path, *out = o->out;
    int isa = o->isa, quiet = o->quiet;
    struct zp_peak peaks[16];
    int np = 0;
    char start[32];
    zp_iso_time(start);
    struct timespec t_start;
    clock_gettime(CLOCK_MONOTONIC, &t_start);
    np = zp_peak_measure(peaks, 16); /* after the config: a bad config fails fast */
    char dir[4096];
    if (out)
        snprintf(dir, sizeof dir, "%s", out);
    else
        snprintf(dir, sizeof dir, "results/%s", cfg.name);
    if (zp_mkdir_p(dir, err))
        return err->status;
    if (!quiet) {
        printf("harness bench: %s on %s -> %s\n", config, zp_cpu_model(), dir);
        print_peaks(peaks, np);
    }
    /* the core OpenBLAS picked at load time (OPENBLAS_CORETYPE overrides it): a
     * generic one makes the float anchor meaningless, so it is said loudly */
    struct zp_bench_blas blas;
    zp_anchor_blas_info(&blas);
    if (cfg.anchors & ZP_ANCHOR_OPENBLAS) {
        if (!quiet)
            printf("openblas anchor: core %s (OPENBLAS_CORETYPE %s), %s\n", blas.core,
                   blas.coretype[0] ? blas.coretype : "unset", blas.config);
        if (blas.warning[0])
            fprintf(stderr, "harness: bench: warning: %s\n", blas.warning);
    }
    /* --isa replaces the config's ISA list (the float best stays as the speedup base) */
    int isas[ZP_BENCH_MAX_ISAS], n_isas = cfg.n_isas;
    memcpy(isas, cfg.isas, sizeof isas);
    if (isa >= 0) {
        isas[0] = isa;
        n_isas = 1;
    }

    struct ctx c = {.quiet = quiet};
    struct zp_rng rng;
    zp_rng_seed(&rng, cfg.seed);
    enum zp_status st = ZP_OK;
    for (int ti = 0; ti < cfg.n_threads && !st; ti++) {
        int t = cfg.threads[ti];
        for (int s = 0; s < cfg.n_shapes && !st; s++) {
            const struct zp_bench_shape *sh = &cfg.shapes[s];
            st = add_gemm(&c, zp_gemm_select(ZP_KF_F32, -1), sh->m, sh->n, sh->k, t, &rng, err);
            /* the runtime's conv GEMM: single-threaded (the runtime runs an image per thread) */
            for (int v = -1; v < n_isas && t == 1 && !st; v++)
                if (v < 0 || isas[v] >= 0)
                    st = add_rt_conv(&c, zp_rt_select(ZP_RK_CONV, v < 0 ? -1 : isas[v]), sh->m, sh->n, sh->k, &rng,
                                     err);
            for (int f = 0; f < cfg.n_schemes && !st; f++)
                for (int v = 0; v < n_isas && !st; v++) {
                    const struct zp_gemm_ukernel *uk = zp_gemm_select((enum zp_kfmt)cfg.schemes[f], isas[v]);
                    if (!uk) {
                        if (s == 0 && ti == 0 && !quiet)
                            fprintf(stderr, "harness: bench: no %s kernel for isa %s: skipped\n",
                                    zp_bench_scheme_name((enum zp_kfmt)cfg.schemes[f]), zp_isa_name((enum zp_isa)isas[v]));
                        continue;
                    }
                    st = add_gemm(&c, uk, sh->m, sh->n, sh->k, t, &rng, err);
                }
            if (cfg.anchors & ZP_ANCHOR_OPENBLAS)
                add_anchor(&c, ZP_ANCHOR_SGEMM_OPENBLAS, sh->m, sh->n, sh->k, t, cfg.seed + (unsigned)s);
            if (cfg.anchors & ZP_ANCHOR_ONEDNN) {
                add_anchor(&c, ZP_ANCHOR_DNNL_F32, sh->m, sh->n, sh->k, t, cfg.seed + (unsigned)s);
                add_anchor(&c, ZP_ANCHOR_DNNL_U8S8, sh->m, sh->n, sh->k, t, cfg.seed + (unsigned)s);
            }
        }
    }
    /* depthwise kernels are single-threaded */
    for (int d = 0; d < cfg.n_dw && !st; d++) {
        const enum zp_kfmt fmts[2] = {ZP_KF_F32, ZP_KF_S8};
        for (int v = -1; v < n_isas && !st; v++)
            if (v < 0 || isas[v] >= 0)
                st = add_rt_dw(&c, zp_rt_select(ZP_RK_DWPLANE, v < 0 ? -1 : isas[v]), &cfg.dw[d], &rng, err);
        for (int f = 0; f < 2 && !st; f++) {
            st = add_dw(&c, zp_dw_select(fmts[f], -1), &cfg.dw[d], &rng, err);
            for (int v = 0; v < n_isas && !st; v++) {
                const struct zp_dw_ukernel *dk = isas[v] >= 0 ? zp_dw_select(fmts[f], isas[v]) : NULL;
                if (dk)
                    st = add_dw(&c, dk, &cfg.dw[d], &rng, err);
            }
        }
    }
    if (st)
        goto out_free;

    zp_gb_clear();
    for (int i = 0; i < c.n; i++) {
        struct job *j = &c.jobs[i];
        /* the jobs array moved while it grew: point the call at this job's operands now */
        j->call.a = &j->pa;
        j->call.b = &j->pb;
        char name[192];
        snprintf(name, sizeof name, "%s/%s/%s%dx%dx%d/threads:%d", j->row.kernel, j->row.scheme,
                 j->row.is_dw ? "dw" : "", j->row.m, j->row.n, j->row.k, j->row.threads);
        /* one untimed call: first-touch page faults of the output stay out of the timing */
        void (*run)(void *) = j->type == JOB_GEMM ? run_gemm : j->type == JOB_DW ? run_dw
                              : j->type == JOB_RT   ? run_rt
                                                    : run_anchor;
        run(j);
        zp_gb_register(name, run, j, j->ops, cfg.min_time);
    }
    char a_out[4200], a_reps[64];
    snprintf(a_out, sizeof a_out, "--benchmark_out=%s/kernels_gbench.json", dir);
    snprintf(a_reps, sizeof a_reps, "--benchmark_repetitions=%d", cfg.repetitions);
    /* repetitions interleaved in random order across all benchmarks: a burst of load
     * from other processes then spreads over every kernel instead of hitting the few
     * that happened to run during it */
    const char *args[] = {a_out, "--benchmark_out_format=json", a_reps, "--benchmark_enable_random_interleaving=true"};
    struct zp_gb_result *res = calloc((size_t)c.n, sizeof *res);
    int nres = res ? zp_gb_run(4, args, quiet, res, c.n) : -1;
    if (nres != c.n) {
        st = zp_err_set(err, ZP_EIO, "Google Benchmark run failed (%d of %d results)", nres, c.n);
        free(res);
        goto out_free;
    }
    /* one thread: CPU time (immune to preemption by other processes on a shared
     * machine); several threads: wall time (CPU time would sum the threads) */
    for (int i = 0; i < c.n; i++)
        c.jobs[i].row.ns_per_call = res[i].error ? NAN : c.jobs[i].row.threads == 1 ? res[i].cpu_ns : res[i].real_ns;
    free(res);
    zp_gb_clear();
    derive(&c, peaks, np);

    struct zp_bench_row *rows = malloc((size_t)c.n * sizeof *rows);
    int nrows = 0;
    for (int i = 0; rows && i < c.n; i++)
        if (isfinite(c.jobs[i].row.ns_per_call))
            rows[nrows++] = c.jobs[i].row;
    struct timespec t_end;
    clock_gettime(CLOCK_MONOTONIC, &t_end);
    double wall = (double)(t_end.tv_sec - t_start.tv_sec) + 1e-9 * (double)(t_end.tv_nsec - t_start.tv_nsec);
    if (!rows)
        st = zp_err_set(err, ZP_ENOMEM, "out of memory");
    else if (!(st = zp_bench_write_csv(dir, rows, nrows, err)) && !(st = zp_bench_write_peaks(dir, peaks, np, err)))
        st = zp_bench_write_run_json(dir, config, start, isa, wall, (cfg.anchors & ZP_ANCHOR_OPENBLAS) ? &blas : NULL,
                                     err);
    if (!st) {
        if (!quiet)
            print_table(&c);
        /* the figures are the caller's (plots/); one that fails is a warning */
        struct zp_err ef = {0};
        if (o->figures && o->figures(dir, &ef))
            fprintf(stderr, "harness: bench: figures not rendered: %s\n", ef.msg); /* CSVs are complete */
        if (!quiet)
            printf("wrote %s/kernels.csv, kernels_gbench.json, peaks.csv, run.json, "
                   "plots/kernel_{throughput,speedup}.{gp,png,svg,pdf}\n",
                   dir);
    }
    free(rows);
out_free:
    for (int i = 0; i < c.n; i++)
        job_free(&c.jobs[i]);
    free(c.jobs);
    return st;
}
