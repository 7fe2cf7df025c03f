/* The plain reference of the f32 GEMM with transposes (kernels/kernels.h): every
 * element a double sum in k order, then alpha and beta as written. */
#include "kernels/kernels.h"

#include <assert.h>

void zp_ref_f32_gemm_t(const struct zp_f32_gemm_t_call *c)
{
    assert(c && c->a && c->b && c->c && c->m >= 1 && c->n >= 1 && c->k >= 1);
    for (int i = 0; i < c->m; i++)
        for (int j = 0; j < c->n; j++) {
            double s = 0;
            for (int kk = 0; kk < c->k; kk++) {
                const float a = c->ta ? c->a[(size_t)kk * c->lda + i] : c->a[(size_t)i * c->lda + kk];
                const float b = c->tb ? c->b[(size_t)j * c->ldb + kk] : c->b[(size_t)kk * c->ldb + j];
                s += (double)a * b;
            }
            float *y = c->c + (size_t)i * c->ldc + j;
            /* beta 0 does not read C, as BLAS */
            *y = (float)(c->alpha * s + (c->beta != 0.f ? (double)c->beta * *y : 0.0));
        }
}
