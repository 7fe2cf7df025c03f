/* Elementwise math of one image: the unary functions of ZP_OP_MATH (Sigmoid,
 * HardSigmoid, HardSwish, Tanh, Erf, Gelu, Exp, Log, Neg, Sqrt), LogSoftmax, and
 * the binary ops added after Add / Mul (Sub, Div, Max, Min, Pow) with numpy
 * broadcasting. Each function's derivative sits beside it (zp_fn_deriv,
 * zp_bin_deriv) so the training backward (model/grad_other.c) and the forward
 * cannot drift apart. Float arithmetic with the C library's float functions. */
#include <math.h>

#include "model/graph_internal.h"

#define SQRT_2_OVER_PI 0.7978845608028654f
#define SQRT_HALF 0.7071067811865476f
#define TWO_OVER_SQRT_PI 1.1283791670955126f
#define INV_SQRT_2PI 0.3989422804014327f
#define GELU_C 0.044715f

static float hardsig(float a, float b, float x)
{
    float v = a * x + b;
    return v <= 0.f ? 0.f : v >= 1.f ? 1.f : v;
}

static float fn_apply(const struct zp_node *n, float x)
{
    switch ((enum zp_fn)n->fn) {
    case ZP_FN_SIGMOID: return 1.f / (1.f + expf(-x));
    case ZP_FN_HARDSIGMOID: return hardsig(n->alpha, n->beta, x);
    case ZP_FN_HARDSWISH: return x * hardsig(1.f / 6.f, 0.5f, x);
    case ZP_FN_TANH: return tanhf(x);
    case ZP_FN_ERF: return erff(x);
    case ZP_FN_GELU: return 0.5f * x * (1.f + erff(x * SQRT_HALF));
    case ZP_FN_GELU_TANH:
        return 0.5f * x * (1.f + tanhf(SQRT_2_OVER_PI * (x + GELU_C * x * x * x)));
    case ZP_FN_EXP: return expf(x);
    case ZP_FN_LOG: return logf(x);
    case ZP_FN_NEG: return -x;
    case ZP_FN_SQRT: return sqrtf(x);
    }
    return x;
}

float zp_fn_deriv(const struct zp_node *n, float x, float y)
{
    switch ((enum zp_fn)n->fn) {
    case ZP_FN_SIGMOID: return y * (1.f - y);
    case ZP_FN_HARDSIGMOID: {
        float v = n->alpha * x + n->beta;
        return v > 0.f && v < 1.f ? n->alpha : 0.f;
    }
    case ZP_FN_HARDSWISH: /* d/dx x (x/6 + 1/2) = x/3 + 1/2 inside, 0 / 1 outside */
        return x <= -3.f ? 0.f : x >= 3.f ? 1.f : x / 3.f + 0.5f;
    case ZP_FN_TANH: return 1.f - y * y;
    case ZP_FN_ERF: return TWO_OVER_SQRT_PI * expf(-x * x);
    case ZP_FN_GELU:
        return 0.5f * (1.f + erff(x * SQRT_HALF)) +
               x * expf(-0.5f * x * x) * INV_SQRT_2PI;
    case ZP_FN_GELU_TANH: {
        float t = tanhf(SQRT_2_OVER_PI * (x + GELU_C * x * x * x));
        return 0.5f * (1.f + t) +
               0.5f * x * (1.f - t * t) * SQRT_2_OVER_PI * (1.f + 3.f * GELU_C * x * x);
    }
    case ZP_FN_EXP: return y;
    case ZP_FN_LOG: return 1.f / x;
    case ZP_FN_NEG: return -1.f;
    case ZP_FN_SQRT: /* infinite at 0: no gradient there rather than Inf / NaN */
        return y > 0.f ? 0.5f / y : 0.f;
    }
    return 1.f;
}

void zp_op_math(const struct zp_graph *g, const struct zp_node *n, const float *x, float *y)
{
    const int64_t total = g->tensors[n->out].size;
    for (int64_t i = 0; i < total; i++)
        y[i] = fn_apply(n, x[i]);
}

/* log softmax = x - max - log(sum exp(x - max)): the max keeps exp in range */
void zp_op_logsoftmax(const struct zp_node *n, const float *x, float *y)
{
    for (int64_t o = 0; o < n->sm_outer; o++)
        for (int64_t in = 0; in < n->sm_inner; in++) {
            const float *p = x + o * n->sm_len * n->sm_inner + in;
            float *q = y + o * n->sm_len * n->sm_inner + in;
            float m = -INFINITY;
            for (int64_t k = 0; k < n->sm_len; k++)
                m = p[k * n->sm_inner] > m ? p[k * n->sm_inner] : m;
            double s = 0;
            for (int64_t k = 0; k < n->sm_len; k++)
                s += expf(p[k * n->sm_inner] - m);
            const float ls = (float)log(s);
            for (int64_t k = 0; k < n->sm_len; k++)
                q[k * n->sm_inner] = p[k * n->sm_inner] - m - ls;
        }
}

static float bin_apply(enum zp_op op, float a, float b)
{
    switch (op) {
    case ZP_OP_SUB: return a - b;
    case ZP_OP_DIV: return a / b;
    case ZP_OP_MAX: return a >= b || a != a ? a : b; /* a NaN propagates */
    case ZP_OP_MIN: return a <= b || a != a ? a : b;
    case ZP_OP_POW: return powf(a, b);
    default: return 0.f;
    }
}

/* One run: each op its own loops (bin_apply with a constant op folds away) */
static void bin_run(enum zp_op op, const float *pa, int64_t sa, const float *pb, int64_t sb,
                    float *y, int64_t len)
{
    switch (op) {
    case ZP_OP_SUB: ZP_BIN_RUN(a - b); break;
    case ZP_OP_DIV: ZP_BIN_RUN(a / b); break;
    case ZP_OP_MAX: ZP_BIN_RUN(bin_apply(ZP_OP_MAX, a, b)); break;
    case ZP_OP_MIN: ZP_BIN_RUN(bin_apply(ZP_OP_MIN, a, b)); break;
    default: ZP_BIN_RUN(bin_apply(op, a, b)); break;
    }
}

void zp_bin_deriv(enum zp_op op, float a, float b, float y, float *da, float *db)
{
    switch (op) {
    case ZP_OP_SUB: *da = 1.f; *db = -1.f; break;
    case ZP_OP_DIV: *da = 1.f / b; *db = -a / (b * b); break;
    case ZP_OP_MAX: /* the operand the forward picked (ties: the first) */
        *da = a >= b ? 1.f : 0.f;
        *db = 1.f - *da;
        break;
    case ZP_OP_MIN:
        *da = a <= b ? 1.f : 0.f;
        *db = 1.f - *da;
        break;
    case ZP_OP_POW: /* d/db needs log a: none for a <= 0 */
        *da = b == 0.f ? 0.f : b * powf(a, b - 1.f);
        *db = a > 0.f ? y * logf(a) : 0.f;
        break;
    default: *da = *db = 0.f; break;
    }
}

void zp_op_binary_math(const struct zp_graph *g, const struct zp_node *n, const float *x0,
                       const float *x1, float *y)
{
    zp_bcast_runs(g, n, x0, x1, y, bin_run);
}
