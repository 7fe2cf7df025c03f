/* LayerNormalization of one image: rows of sm_len values (the normalized axes,
 * sm_outer rows), y = (x - mean) / sqrt(var + eps) * scale + bias with the
 * biased variance, statistics in double; and its input gradient, beside it so
 * the two change together. scale and bias are constants (n->scale, n->shift,
 * sm_len each): like the constants of Mul / Add they are not parameters. */
#include <math.h>

#include "model/graph_internal.h"

static void row_stats(const float *x, int64_t L, float eps, double *mean, double *invstd)
{
    double s = 0, v = 0;
    for (int64_t k = 0; k < L; k++)
        s += x[k];
    const double m = s / (double)L;
    for (int64_t k = 0; k < L; k++)
        v += ((double)x[k] - m) * ((double)x[k] - m);
    *mean = m;
    *invstd = 1.0 / sqrt(v / (double)L + eps);
}

void zp_op_layernorm(const struct zp_node *n, const float *x, float *y)
{
    const int64_t L = n->sm_len;
    for (int64_t o = 0; o < n->sm_outer; o++) {
        const float *p = x + o * L;
        float *q = y + o * L;
        double m, is;
        row_stats(p, L, n->eps, &m, &is);
        for (int64_t k = 0; k < L; k++)
            q[k] = (float)(((double)p[k] - m) * is) * n->scale[k] + n->shift[k];
    }
}

void zp_layernorm_back(const struct zp_node *n, const float *x, const float *dy, float *dx)
{
    const int64_t L = n->sm_len;
    for (int64_t o = 0; o < n->sm_outer; o++) {
        const float *p = x + o * L, *d = dy + o * L;
        float *q = dx + o * L;
        double m, is, sg = 0, sgx = 0;
        row_stats(p, L, n->eps, &m, &is);
        for (int64_t k = 0; k < L; k++) {
            const double g = (double)d[k] * n->scale[k];
            sg += g;
            sgx += g * ((double)p[k] - m) * is;
        }
        sg /= (double)L;
        sgx /= (double)L;
        /* dx = invstd (g - mean(g) - xhat mean(g xhat)), g = dy scale */
        for (int64_t k = 0; k < L; k++) {
            const double xh = ((double)p[k] - m) * is;
            q[k] += (float)(is * ((double)d[k] * n->scale[k] - sg - xh * sgx));
        }
    }
}
