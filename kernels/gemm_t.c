/* f32 GEMM with transposes (kernels/kernels.h, "f32 GEMM with transposes"):
 * packs op(B) into the 32-column panels the f32 GEMM variants read, copies op(A)
 * to rows when it is transposed, and runs the variant's row-block function over
 * the row blocks and reduction blocks; counts the calls per variant.
 *
 * The variants compute C = A B for a row block and add to C only across their
 * own reduction blocks (k0 > 0), so beta != 0 computes each row block into a
 * per-thread buffer first and adds it to beta C: one extra pass over an L2-sized
 * block, cheap next to the product. */
#include "kernels/kernels.h"

#include <assert.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "common/mem.h"
#include "kernels/internal.h"

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

size_t zp_f32_gemm_t_ws(const struct zp_f32_gemm_t_call *c)
{
    const size_t K = (size_t)c->k, np = (size_t)panels_cols(c->n);
    size_t s = 16 + round16(np * K);                            /* alignment slack, packed op(B) */
    if (c->ta)
        s += round16((size_t)c->m * K);                         /* op(A) as rows */
    if (c->beta != 0.f)
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

/* Panel p of op(B), alpha folded in: [k][32], columns past n zero. */
static void pack_panel(const struct zp_f32_gemm_t_call *c, int p, float *dst)
{
    const int K = c->k, j0 = p * ZP_NR, w = c->n - j0 < ZP_NR ? c->n - j0 : ZP_NR;
    const float alpha = c->alpha;
    if (c->tb) { /* column j of op(B) is row j of B: read rows, write down the panel */
        if (w < ZP_NR)
            memset(dst, 0, (size_t)K * ZP_NR * sizeof(float));
        for (int j = 0; j < w; j++) {
            const float *src = c->b + (size_t)(j0 + j) * c->ldb;
            for (int kk = 0; kk < K; kk++)
                dst[(size_t)kk * ZP_NR + j] = alpha * src[kk];
        }
        return;
    }
    for (int kk = 0; kk < K; kk++) {
        const float *src = c->b + (size_t)kk * c->ldb + j0;
        float *d = dst + (size_t)kk * ZP_NR;
        for (int j = 0; j < w; j++)
            d[j] = alpha * src[j];
        for (int j = w; j < ZP_NR; j++)
            d[j] = 0.f;
    }
}

/* Rows [i0, i1) of op(A) = A^T as plain rows of k. */
static void pack_a_rows(const struct zp_f32_gemm_t_call *c, int i0, int i1, float *dst)
{
    for (int kk = 0; kk < c->k; kk++) {
        const float *src = c->a + (size_t)kk * c->lda;
        for (int i = i0; i < i1; i++)
            dst[(size_t)i * c->k + kk] = src[i];
    }
}

/* C rows [i0, i1) = beta C + t (t rows n apart). */
static void add_block(const struct zp_f32_gemm_t_call *c, int i0, int i1, const float *t)
{
    const float beta = c->beta;
    for (int i = i0; i < i1; i++) {
        float *restrict cr = c->c + (size_t)i * c->ldc;
        const float *restrict tr = t + (size_t)(i - i0) * c->n;
        if (beta == 1.f)
            for (int j = 0; j < c->n; j++)
                cr[j] += tr[j];
        else
            for (int j = 0; j < c->n; j++)
                cr[j] = beta * cr[j] + tr[j];
    }
}

/* One call's layout: packed op(B) in bp, op(A) rows, per-thread buffers. */
struct plan {
    const struct zp_gemm_ukernel *uk;
    const struct zp_f32_gemm_t_call *c;
    int np, npan, mc, kc, nblk;
    float *bp, *ap, *tmp;
    const float *arows;
    size_t alda;
};

static struct plan make_plan(const struct zp_gemm_ukernel *uk, const struct zp_f32_gemm_t_call *c, float *ws)
{
    struct plan q = {.uk = uk, .c = c, .np = panels_cols(c->n), .mc = uk->mc};
    q.npan = q.np / ZP_NR;
    q.kc = uk->kc > 0 ? uk->kc : c->k;
    q.nblk = (c->m + q.mc - 1) / q.mc;
    q.bp = ws;
    q.ap = q.bp + round16((size_t)q.np * c->k);
    q.tmp = c->ta ? q.ap + round16((size_t)c->m * c->k) : q.ap;
    q.arows = c->ta ? q.ap : c->a;
    q.alda = c->ta ? (size_t)c->k : c->lda;
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
    const int K = c->k, acc = c->beta != 0.f;
    int i0, i1;
    row_bounds(q, b, &i0, &i1);
    const struct zp_packed_b B = {.fmt = ZP_KF_F32, .k = K, .n = c->n, .kp = K, .np = q->np, .data = q->bp};
    float *t = q->tmp + (size_t)tid * round16((size_t)MC_MAX * q->np);
    /* beta != 0: the block's own rows of A, computed into t (rows n apart) */
    const struct zp_packed_a A = {.fmt = ZP_AF_F32, .m = acc ? i1 - i0 : c->m, .k = K, .kp = K,
                                  .f32 = acc ? q->arows + (size_t)i0 * q->alda : q->arows, .lda = q->alda};
    const struct zp_gemm_call call = {.a = &A, .b = &B, .c = acc ? t : c->c, .ldc = acc ? (size_t)c->n : c->ldc,
                                      .threads = 1};
    const int r0 = acc ? 0 : i0, r1 = acc ? i1 - i0 : i1;
    for (int k0 = 0; k0 < K; k0 += q->kc)
        q->uk->block(&call, r0, r1, k0, K - k0 < q->kc ? K : k0 + q->kc);
    if (acc)
        add_block(c, i0, i1, t);
}

static void pack_a_block(const struct plan *q, int b)
{
    int i0, i1;
    row_bounds(q, b, &i0, &i1);
    pack_a_rows(q->c, i0, i1, q->ap);
}

static void run(const struct plan *q, int threads)
{
    if (threads <= 1) { /* no parallel construct at all: the backward calls this per image */
        for (int p = 0; p < q->npan; p++)
            pack_panel(q->c, p, q->bp + (size_t)p * q->c->k * ZP_NR);
        for (int b = 0; q->c->ta && b < q->nblk; b++)
            pack_a_block(q, b);
        for (int b = 0; b < q->nblk; b++)
            row_block(q, b, 0);
        return;
    }
#pragma omp parallel num_threads(threads)
    {
#pragma omp for schedule(static) nowait
        for (int p = 0; p < q->npan; p++)
            pack_panel(q->c, p, q->bp + (size_t)p * q->c->k * ZP_NR);
        if (q->c->ta) {
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
    const struct plan q = make_plan(uk, c, aligned);
    run(&q, c->threads > 1 && !omp_in_parallel() ? c->threads : 1);
    zp_free(own);
    return ZP_OK;
}
