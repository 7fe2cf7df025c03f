/* f32 GEMM with transposes (kernels/kernels.h, "f32 GEMM with transposes"):
 * packs op(B) into the 32-column panels the f32 GEMM variants read, copies op(A)
 * to rows when it is transposed, and runs the variant's row-block function over
 * the row blocks and reduction blocks; counts the calls per variant.
 *
 * The variants add to C only across their own reduction blocks (k0 > 0). So
 * with beta != 0, a variant with reduction blocks (kc > 0: the vector ones) gets
 * operands with one leading zero k (a zero first row of B, a first column of A)
 * and runs from k0 = 1: it then adds straight into C (scaled by beta first when
 * beta != 1). One that takes all of K at once (the portable one) computes each
 * row block into a per-thread buffer that is then added to beta C.
 *
 * With B plain (tb 0) the runtime's conv kernel of the same ISA serves instead
 * (zp_rt_conv, Y = W X with X read in place along its rows): only op(A) is packed,
 * into its 8-row weight panels, and B, the large operand of the backward's input
 * gradients, needs no packing at all; beta != 0 goes through a buffer of C. The
 * GEMM variants' path is kept for tb 1, where op(B) must be packed anyway. */
#include "kernels/kernels.h"

#include <assert.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "common/mem.h"
#include "kernels/internal.h"

/* -O2 leaves plain loops scalar: the copy and add loops ask for vectors. */
#if defined(__clang__)
#define SIMD_LOOP
#else
#define SIMD_LOOP _Pragma("omp simd")
#endif

enum { NSLOT = 64, MAXV = 64 };

/* Per OpenMP thread number (mod NSLOT) a row of counters on its own cache lines,
 * as the runtime kernels' (kernels/runtime.c). */
static struct {
    _Alignas(64) uint64_t n[MAXV];
} counts[NSLOT];

static size_t variant_index(const struct zp_gemm_ukernel *uk)
{
    size_t n;
    const struct zp_gemm_ukernel *t = zp_gemm_ukernels(&n);
    assert(uk >= t && (size_t)(uk - t) < n && n <= MAXV);
    return (size_t)(uk - t);
}

uint64_t zp_f32_gemm_t_calls(const struct zp_gemm_ukernel *uk)
{
    const size_t v = variant_index(uk);
    uint64_t s = 0;
    for (int t = 0; t < NSLOT; t++)
        s += __atomic_load_n(&counts[t].n[v], __ATOMIC_RELAXED);
    return s;
}

void zp_f32_gemm_t_calls_reset(void)
{
    for (int t = 0; t < NSLOT; t++)
        for (int v = 0; v < MAXV; v++)
            __atomic_store_n(&counts[t].n[v], 0, __ATOMIC_RELAXED);
}

static size_t round16(size_t x) { return (x + 15) & ~(size_t)15; }
static int panels_cols(int n) { return (n + ZP_NR - 1) / ZP_NR * ZP_NR; }
static int team(const struct zp_f32_gemm_t_call *c) { return c->threads > 1 ? c->threads : 1; }

/* Row-block height of the buffer that beta != 0 computes into: the variant's mc,
 * the same for every f32 variant today; the largest is assumed so the workspace
 * size does not depend on the variant. */
enum { MC_MAX = 64 };

/* Floats of the conv path: op(A) panels, then C's buffer when beta != 0, per
 * thread slice of columns only in where it starts (one M x N buffer). */
static size_t conv_ws(const struct zp_f32_gemm_t_call *c)
{
    const size_t mp = (size_t)(c->m + ZP_CONV_MR - 1) / ZP_CONV_MR * ZP_CONV_MR;
    return 16 + round16(mp * (size_t)c->k) + (c->beta != 0.f ? round16((size_t)c->m * (size_t)c->n) : 0);
}

size_t zp_f32_gemm_t_ws(const struct zp_f32_gemm_t_call *c)
{
    if (!c->tb)
        return conv_ws(c);
    const int acc = c->beta != 0.f;
    const size_t K = (size_t)c->k + (size_t)acc, np = (size_t)panels_cols(c->n);
    size_t s = 16 + round16(np * K);                            /* alignment slack, packed op(B) */
    if (c->ta || acc)
        s += round16((size_t)c->m * K);                         /* op(A) as rows */
    if (acc)
        s += (size_t)team(c) * round16((size_t)MC_MAX * np);    /* per-thread row block */
    return s;
}

static enum zp_status check(const struct zp_gemm_ukernel *uk, const struct zp_f32_gemm_t_call *c,
                            struct zp_err *err)
{
    if (!c)
        return zp_err_set(err, ZP_EINVAL, "f32 GEMM (transposes): no call");
    if (!uk || uk->fmt != ZP_KF_F32 || !zp_cpu_has(uk->isa) || uk->mc > MC_MAX)
        return zp_err_set(err, ZP_EINVAL, "f32 GEMM (transposes): variant %s is not an f32 GEMM variant this CPU runs",
                          uk ? uk->name : "(none)");
    if (c->m < 1 || c->n < 1 || c->k < 1)
        return zp_err_set(err, ZP_EINVAL, "f32 GEMM (transposes): m=%d n=%d k=%d: each must be >= 1", c->m, c->n,
                          c->k);
    if (!c->a || !c->b || !c->c)
        return zp_err_set(err, ZP_EINVAL, "f32 GEMM (transposes): matrix %s missing", !c->a ? "A" : !c->b ? "B" : "C");
    const size_t wa = (size_t)(c->ta ? c->m : c->k), wb = (size_t)(c->tb ? c->k : c->n);
    if (c->lda < wa || c->ldb < wb || c->ldc < (size_t)c->n)
        return zp_err_set(err, ZP_EINVAL,
                          "f32 GEMM (transposes): leading dimension of %s (%zu) below its row width (%zu)",
                          c->lda < wa ? "A" : c->ldb < wb ? "B" : "C",
                          c->lda < wa ? c->lda : c->ldb < wb ? c->ldb : c->ldc,
                          c->lda < wa ? wa : c->ldb < wb ? wb : (size_t)c->n);
    return ZP_OK;
}

/* Panel p of op(B), alpha folded in: [off + k][32], the first off rows and the
 * columns past n zero. */
static void pack_panel(const struct zp_f32_gemm_t_call *c, int p, int off, float *dst)
{
    const int K = c->k, j0 = p * ZP_NR, w = c->n - j0 < ZP_NR ? c->n - j0 : ZP_NR;
    const float alpha = c->alpha;
    memset(dst, 0, (size_t)off * ZP_NR * sizeof(float));
    dst += (size_t)off * ZP_NR;
    if (c->tb) {
        /* column j of op(B) is row j of B: w row streams read side by side, each
         * panel row written whole (column by column would touch every line of the
         * panel once per column) */
        const float *rows = c->b + (size_t)j0 * c->ldb;
        const size_t ldb = c->ldb;
        for (int kk = 0; kk < K; kk++) {
            float *restrict d = dst + (size_t)kk * ZP_NR;
            for (int j = 0; j < w; j++)
                d[j] = alpha * rows[(size_t)j * ldb + kk];
            for (int j = w; j < ZP_NR; j++)
                d[j] = 0.f;
        }
        return;
    }
    for (int kk = 0; kk < K; kk++) {
        const float *src = c->b + (size_t)kk * c->ldb + j0;
        float *restrict d = dst + (size_t)kk * ZP_NR;
        SIMD_LOOP
        for (int j = 0; j < w; j++)
            d[j] = alpha * src[j];
        for (int j = w; j < ZP_NR; j++)
            d[j] = 0.f;
    }
}

/* Rows [i0, i1) of op(A) as rows of off + k (the first off entries zero). */
static void pack_a_rows(const struct zp_f32_gemm_t_call *c, int i0, int i1, int off, float *dst)
{
    const size_t ld = (size_t)c->k + (size_t)off;
    for (int i = i0; i < i1 && off; i++)
        dst[(size_t)i * ld] = 0.f;
    dst += off;
    if (!c->ta) {
        for (int i = i0; i < i1; i++)
            memcpy(dst + (size_t)i * ld, c->a + (size_t)i * c->lda, (size_t)c->k * sizeof(float));
        return;
    }
    for (int kk = 0; kk < c->k; kk++) {
        const float *src = c->a + (size_t)kk * c->lda;
        for (int i = i0; i < i1; i++)
            dst[(size_t)i * ld + kk] = src[i];
    }
}

/* C rows [i0, i1) *= beta. */
static void scale_rows(const struct zp_f32_gemm_t_call *c, int i0, int i1)
{
    for (int i = i0; i < i1; i++) {
        float *restrict cr = c->c + (size_t)i * c->ldc;
        const float beta = c->beta;
        const int n = c->n;
        SIMD_LOOP
        for (int j = 0; j < n; j++)
            cr[j] *= beta;
    }
}

/* y = beta y + t over rows x n (locals only, so the loops vectorize). */
static void add_rows(float *y, size_t ldy, const float *t, size_t ldt, int rows, int n, float beta)
{
    for (int i = 0; i < rows; i++) {
        float *restrict yr = y + (size_t)i * ldy;
        const float *restrict tr = t + (size_t)i * ldt;
        if (beta == 1.f) {
            SIMD_LOOP
            for (int j = 0; j < n; j++)
                yr[j] += tr[j];
        } else {
            SIMD_LOOP
            for (int j = 0; j < n; j++)
                yr[j] = beta * yr[j] + tr[j];
        }
    }
}

/* C rows [i0, i1) = beta C + t (t rows n apart). */
static void add_block(const struct zp_f32_gemm_t_call *c, int i0, int i1, const float *t)
{
    add_rows(c->c + (size_t)i0 * c->ldc, c->ldc, t, (size_t)c->n, i1 - i0, c->n, c->beta);
}

/* One call's layout: packed op(B) in bp, op(A) rows, per-thread buffers. off = 1:
 * the leading zero k of the in-place accumulation (see the top). */
struct plan {
    const struct zp_gemm_ukernel *uk;
    const struct zp_f32_gemm_t_call *c;
    int np, npan, mc, kc, nblk, off, kp, inplace, buffered, copy_a;
    float *bp, *ap, *tmp;
    const float *arows;
    size_t alda;
};

static struct plan make_plan(const struct zp_gemm_ukernel *uk, const struct zp_f32_gemm_t_call *c, float *ws)
{
    const int acc = c->beta != 0.f;
    struct plan q = {.uk = uk, .c = c, .np = panels_cols(c->n), .mc = uk->mc};
    q.inplace = acc && uk->kc > 0;
    q.buffered = acc && !q.inplace;
    q.off = q.inplace;
    q.kp = c->k + q.off;
    q.copy_a = c->ta || q.inplace;
    q.npan = q.np / ZP_NR;
    q.kc = uk->kc > 0 ? uk->kc : q.kp;
    q.nblk = (c->m + q.mc - 1) / q.mc;
    /* the same carving as zp_f32_gemm_t_ws, which counts one extra k whenever beta != 0 */
    const size_t kw = (size_t)c->k + (size_t)acc;
    q.bp = ws;
    q.ap = q.bp + round16((size_t)q.np * kw);
    q.tmp = c->ta || acc ? q.ap + round16((size_t)c->m * kw) : q.ap;
    q.arows = q.copy_a ? q.ap : c->a;
    q.alda = q.copy_a ? (size_t)q.kp : c->lda;
    return q;
}

static void row_bounds(const struct plan *q, int b, int *i0, int *i1)
{
    *i0 = b * q->mc;
    *i1 = b + 1 == q->nblk ? q->c->m : *i0 + q->mc;
}

/* Row block b on the thread whose buffer is number tid. */
static void row_block(const struct plan *q, int b, int tid)
{
    const struct zp_f32_gemm_t_call *c = q->c;
    const int K = q->kp, buf = q->buffered;
    int i0, i1;
    row_bounds(q, b, &i0, &i1);
    if (q->inplace && c->beta != 1.f)
        scale_rows(c, i0, i1);
    const struct zp_packed_b B = {.fmt = ZP_KF_F32, .k = K, .n = c->n, .kp = K, .np = q->np, .data = q->bp};
    float *t = q->tmp + (size_t)tid * round16((size_t)MC_MAX * q->np);
    /* buffered: the block's own rows of A, computed into t (rows n apart) */
    const struct zp_packed_a A = {.fmt = ZP_AF_F32, .m = buf ? i1 - i0 : c->m, .k = K, .kp = K,
                                  .f32 = buf ? q->arows + (size_t)i0 * q->alda : q->arows, .lda = q->alda};
    const struct zp_gemm_call call = {.a = &A, .b = &B, .c = buf ? t : c->c, .ldc = buf ? (size_t)c->n : c->ldc,
                                      .threads = 1};
    const int r0 = buf ? 0 : i0, r1 = buf ? i1 - i0 : i1;
    for (int k0 = q->off; k0 < K; k0 += q->kc)
        q->uk->block(&call, r0, r1, k0, K - k0 < q->kc ? K : k0 + q->kc);
    if (buf)
        add_block(c, i0, i1, t);
}

static void pack_a_block(const struct plan *q, int b)
{
    int i0, i1;
    row_bounds(q, b, &i0, &i1);
    pack_a_rows(q->c, i0, i1, q->off, q->ap);
}

static void pack_b_panel(const struct plan *q, int p)
{
    pack_panel(q->c, p, q->off, q->bp + (size_t)p * q->kp * ZP_NR);
}

static void run(const struct plan *q, int threads)
{
    if (threads <= 1) { /* no parallel construct at all: the backward calls this per image */
        for (int p = 0; p < q->npan; p++)
            pack_b_panel(q, p);
        for (int b = 0; q->copy_a && b < q->nblk; b++)
            pack_a_block(q, b);
        for (int b = 0; b < q->nblk; b++)
            row_block(q, b, 0);
        return;
    }
#pragma omp parallel num_threads(threads)
    {
#pragma omp for schedule(static) nowait
        for (int p = 0; p < q->npan; p++)
            pack_b_panel(q, p);
        if (q->copy_a) {
#pragma omp for schedule(static) nowait
            for (int b = 0; b < q->nblk; b++)
                pack_a_block(q, b);
        }
#pragma omp barrier
        const int tid = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
        for (int b = 0; b < q->nblk; b++)
            row_block(q, b, tid);
    }
}

/* ---- tb 0: the conv kernel, B read in place ---- */

/* op(A) with alpha folded in, as zp_f32_wpack panels: [mp / 8][k][8], rows past m zero. */
static void pack_w_panels(const struct zp_f32_gemm_t_call *c, float *dst)
{
    const int M = c->m, K = c->k;
    const float alpha = c->alpha;
    /* panel by panel, k by k, its 8 rows: the 8 values of one k are adjacent in A^T
     * (ta) or 8 row streams of A, and the panel is written in order */
    for (int i0 = 0; i0 < M; i0 += ZP_CONV_MR) {
        const int rows = M - i0 < ZP_CONV_MR ? M - i0 : ZP_CONV_MR;
        float *restrict d = dst + (size_t)i0 * K;
        for (int kk = 0; kk < K; kk++, d += ZP_CONV_MR) {
            for (int r = 0; r < rows; r++)
                d[r] = alpha * (c->ta ? c->a[(size_t)kk * c->lda + (size_t)(i0 + r)]
                                      : c->a[(size_t)(i0 + r) * c->lda + (size_t)kk]);
            for (int r = rows; r < ZP_CONV_MR; r++)
                d[r] = 0.f;
        }
    }
}

/* Columns [j0, j1) of C through the conv variant. */
static void conv_cols(const struct zp_rt_ukernel *cv, const struct zp_f32_gemm_t_call *c, const float *w,
                      float *t, int j0, int j1)
{
    const int acc = c->beta != 0.f;
    const struct zp_f32_conv_call cc = {.m = c->m, .n = j1 - j0, .k = c->k, .w = w, .w_packed = 1,
                                        .x = c->b + j0, .ldx = c->ldb, .y = acc ? t + j0 : c->c + j0,
                                        .ldy = acc ? (size_t)c->n : c->ldc};
    zp_rt_conv(cv, &cc);
    if (!acc)
        return;
    add_rows(c->c + j0, c->ldc, t + j0, (size_t)c->n, c->m, j1 - j0, c->beta);
}

static void run_conv(const struct zp_rt_ukernel *cv, const struct zp_f32_gemm_t_call *c, float *ws, int threads)
{
    const size_t mp = (size_t)(c->m + ZP_CONV_MR - 1) / ZP_CONV_MR * ZP_CONV_MR;
    float *w = ws, *t = ws + round16(mp * (size_t)c->k);
    pack_w_panels(c, w);
    /* slices of whole 48-pixel blocks (the widest conv tile) per thread */
    const int blocks = (c->n + 47) / 48, ns = threads < blocks ? threads : blocks;
    if (ns <= 1) {
        conv_cols(cv, c, w, t, 0, c->n);
        return;
    }
#pragma omp parallel for num_threads(ns) schedule(static)
    for (int s = 0; s < ns; s++) {
        const int j0 = (int)((int64_t)blocks * s / ns) * 48, j1 = (int)((int64_t)blocks * (s + 1) / ns) * 48;
        conv_cols(cv, c, w, t, j0, j1 < c->n ? j1 : c->n);
    }
}

enum zp_status zp_f32_gemm_t(const struct zp_gemm_ukernel *uk, const struct zp_f32_gemm_t_call *c,
                             struct zp_err *err)
{
    enum zp_status st = check(uk, c, err);
    if (st != ZP_OK)
        return st;
    __atomic_fetch_add(&counts[omp_get_thread_num() % NSLOT].n[variant_index(uk)], 1, __ATOMIC_RELAXED);
    float *own = NULL, *ws = c->ws;
    if (!ws) {
        own = zp_alloc(zp_f32_gemm_t_ws(c) * sizeof(float));
        if (!own)
            return zp_err_set(err, ZP_ENOMEM, "f32 GEMM (transposes) %dx%dx%d: out of memory for the packed operands",
                              c->m, c->n, c->k);
        ws = own;
    }
    /* the variants load panels with aligned vector loads */
    float *aligned = (float *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    const int threads = c->threads > 1 && !omp_in_parallel() ? c->threads : 1;
    /* tb 0: the conv variant of uk's ISA (the portable one should a level lack it) */
    const struct zp_rt_ukernel *cv = NULL;
    if (!c->tb && !(cv = zp_rt_select(ZP_RK_CONV, (int)uk->isa)))
        cv = zp_rt_select(ZP_RK_CONV, ZP_ISA_REF);
    if (cv) {
        run_conv(cv, c, aligned, threads);
    } else {
        const struct plan q = make_plan(uk, c, aligned);
        run(&q, threads);
    }
    zp_free(own);
    return ZP_OK;
}
