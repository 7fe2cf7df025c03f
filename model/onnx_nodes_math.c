/* ONNX import: the unary math functions (Sigmoid, HardSigmoid, HardSwish, Tanh,
 * Erf, Gelu, Exp, Log, Neg, Sqrt), one ZP_OP_MATH node each (model/ops_math.c). */
#include <math.h>
#include <string.h>

#include "onnx.pb-c.h"

#include "model/onnx_load_internal.h"

enum zp_status ol_math_node(struct nctx *c, struct zp_node *n, int fn)
{
    static const char *const none[] = {NULL};
    static const char *const hs[] = {"alpha", "beta", NULL};
    static const int hst[] = {AF, AF};
    static const char *const ge[] = {"approximate", NULL};
    static const int get[] = {AS};
    const char *const *an = fn == ZP_FN_HARDSIGMOID ? hs : fn == ZP_FN_GELU ? ge : none;
    const int *at = fn == ZP_FN_HARDSIGMOID ? hst : fn == ZP_FN_GELU ? get : NULL;
    enum zp_status st;
    int x;
    if ((st = ol_need_inputs(c, 1, 1)) || (st = ol_check_attrs(c, an, at)) ||
        (st = ol_input_at(c, 0, &x)))
        return st;
    n->fn = fn;
    if (fn == ZP_FN_HARDSIGMOID) {
        n->alpha = ol_attr_f(c, "alpha", 0.2f);
        n->beta = ol_attr_f(c, "beta", 0.5f);
        if (!isfinite(n->alpha) || !isfinite(n->beta))
            return NERR(c, ZP_EINVAL, "alpha %g / beta %g must be finite", (double)n->alpha,
                        (double)n->beta);
    }
    if (fn == ZP_FN_GELU && !ol_attr_str_is(c, "approximate", "none", "none")) {
        if (!ol_attr_str_is(c, "approximate", "tanh", ""))
            return NERR(c, ZP_EUNSUPPORTED, "approximate must be 'none' or 'tanh'");
        n->fn = ZP_FN_GELU_TANH;
    }
    return ol_unary_common(c, n, ZP_OP_MATH, x);
}
