/* The one GEMM driver: entry checks and the OpenMP tiling loop every variant
 * runs under. A variant only computes a row block (zp_gemm_block_fn); how rows
 * are split over threads and K over reduction blocks is decided here, once.
 *
 * Reduction blocks (kc > 0) run outermost so that one B slice of kc rows stays
 * in cache while every row block passes over it; within a slice the row blocks
 * are shared out statically, so a row block sees its slices in order on one
 * thread at a time (the implicit barrier of `omp for` separates the slices). */
#include "kernels/kernels.h"

#include <assert.h>


void zp_gemm_run(const struct zp_gemm_ukernel *uk, const struct zp_gemm_call *call)
{
    assert(uk && uk->block && call && call->a && call->b && call->c);
    const struct zp_packed_a *a = call->a;
    const struct zp_packed_b *b = call->b;
    assert(b->fmt == uk->fmt && a->fmt == uk->afmt);
    assert(a->k == b->k && a->m >= 1 && b->n >= 1 && call->ldc >= (size_t)b->n);
    assert(uk->mc >= 1 && uk->kc >= 0);
    const int M = a->m, K = b->k, mc = uk->mc, kc = uk->kc > 0 ? uk->kc : K;
    const int nt = call->threads > 1 ? call->threads : 1;
    zp_gemm_block_fn *const block = uk->block;
#pragma omp parallel num_threads(nt) if (nt > 1)
    for (int k0 = 0; k0 < K; k0 += kc) {
        const int k1 = K - k0 < kc ? K : k0 + kc;
#pragma omp for schedule(static)
        for (int i0 = 0; i0 < M; i0 += mc)
            block(call, i0, M - i0 < mc ? M : i0 + mc, k0, k1);
    }
}
