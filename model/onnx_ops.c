/* The importer's op table: every ONNX operator the runtime loads, the converter
 * that loads it, and what the runtime does with it. ol_convert_node dispatches
 * through this table, and docs/ops.md / `harness inspect --ops` print it
 * (zp_op_table_markdown; tests/test_ops_math.c checks the doc against it), so
 * the documented op set is the loaded one. */
#include <stdio.h>
#include <string.h>

#include "model/onnx_load_internal.h"

struct op_row {
    const char *op;
    ol_convert_fn convert;
    int arg;
    const char *forward, *backward, *quant, *notes;
};

#define WQ "weights, input"
static const struct op_row ops[] = {
    {"Conv", ol_conv_node, 0, "yes", "yes", WQ, "2-D only (rank-4 weight); groups, depthwise, "
     "strides, dilations, pads / auto_pad"},
    {"Gemm", ol_gemm_node, 0, "yes", "yes", WQ, "weight B an initializer; transA=0; alpha, beta "
     "folded into weight and bias"},
    {"MatMul", ol_gemm_node, 1, "yes", "yes", WQ, "an activation [N, ..., K] x an initializer "
     "[K, O] (a weight; rank >= 3: rows of K); or two activations of one rank >= 3 with numpy "
     "broadcasting of the batch dims (attention; no quantization point)"},
    {"Gather", ol_gather_node, 0, "yes", "yes", "no", "axis 0 of a constant float table (an "
     "embedding), indices an activation (e.g. the int64 input); gradient into the table"},
    {"Add", ol_binary_node, ZP_OP_ADD, "yes", "yes", "no", "numpy broadcasting"},
    {"Mul", ol_binary_node, ZP_OP_MUL, "yes", "yes", "no", "numpy broadcasting"},
    {"Sub", ol_binary_node, ZP_OP_SUB, "yes", "yes", "no", "numpy broadcasting"},
    {"Div", ol_binary_node, ZP_OP_DIV, "yes", "yes", "no", "numpy broadcasting"},
    {"Max", ol_binary_node, ZP_OP_MAX, "yes", "yes", "no", "any number of inputs (a chain); "
     "gradient to the larger (ties: the first)"},
    {"Min", ol_binary_node, ZP_OP_MIN, "yes", "yes", "no", "any number of inputs (a chain); "
     "gradient to the smaller (ties: the first)"},
    {"Pow", ol_binary_node, ZP_OP_POW, "yes", "yes", "no", "float exponent; no exponent "
     "gradient where the base is <= 0"},
    {"Relu", ol_relu_node, 0, "yes", "yes", "no", "fused into the layer before it"},
    {"Clip", ol_clip_node, 0, "yes", "yes", "no", "constant min / max; fused into the layer "
     "before it"},
    {"Sigmoid", ol_math_node, ZP_FN_SIGMOID, "yes", "yes", "no", ""},
    {"HardSigmoid", ol_math_node, ZP_FN_HARDSIGMOID, "yes", "yes", "no", "alpha, beta"},
    {"HardSwish", ol_math_node, ZP_FN_HARDSWISH, "yes", "yes", "no", ""},
    {"Tanh", ol_math_node, ZP_FN_TANH, "yes", "yes", "no", ""},
    {"Erf", ol_math_node, ZP_FN_ERF, "yes", "yes", "no", ""},
    {"Gelu", ol_math_node, ZP_FN_GELU, "yes", "yes", "no", "approximate none / tanh"},
    {"Exp", ol_math_node, ZP_FN_EXP, "yes", "yes", "no", ""},
    {"Log", ol_math_node, ZP_FN_LOG, "yes", "yes", "no", ""},
    {"Neg", ol_math_node, ZP_FN_NEG, "yes", "yes", "no", ""},
    {"Sqrt", ol_math_node, ZP_FN_SQRT, "yes", "yes", "no", "no gradient at 0"},
    {"Softmax", ol_softmax_node, ZP_OP_SOFTMAX, "yes", "yes", "no", "any axis but the batch; "
     "opset < 13 flattens from axis on"},
    {"LogSoftmax", ol_softmax_node, ZP_OP_LOGSOFTMAX, "yes", "yes", "no", "as Softmax"},
    {"BatchNormalization", ol_bn_node, 0, "yes", "yes", "no", "inference: folded into the Conv "
     "before it, else a per-channel affine; training: batch statistics"},
    {"LayerNormalization", ol_layernorm_node, 0, "yes", "yes", "no", "axis inside the "
     "per-image axes; constant Scale and B (not parameters); output Y only"},
    {"AveragePool", ol_pool_node, 0, "yes", "yes", "no", "2-D; count_include_pad, ceil_mode"},
    {"MaxPool", ol_pool_node, 1, "yes", "yes", "no", "2-D; no Indices output"},
    {"GlobalAveragePool", ol_gap_node, 0, "yes", "yes", "no", ""},
    {"Flatten", ol_flatten_node, 0, "yes", "yes", "no", "axis 1 only (keeps the batch)"},
    {"Reshape", ol_reshape_node, 0, "yes", "yes", "no", "constant int64 shape; dimension 0 is "
     "the batch"},
    {"Transpose", ol_transpose_node, 0, "yes", "yes", "no", "perm[0] = 0 (the batch stays "
     "first)"},
    {"Slice", ol_slice_node, 0, "yes", "yes", "no", "opset >= 10 (constant int64 starts, ends, "
     "axes, steps); any step; the batch axis whole"},
    {"Squeeze", ol_squeeze_node, 0, "yes", "yes", "no", "axes as input or attribute; without "
     "axes every size-1 axis but the batch"},
    {"Unsqueeze", ol_squeeze_node, 1, "yes", "yes", "no", "axes as input or attribute; not at "
     "axis 0"},
    {"ReduceSum", ol_reduce_node, ZP_OP_REDUCE_SUM, "yes", "yes", "no", "axes (input or "
     "attribute) other than the batch; keepdims; noop_with_empty_axes"},
    {"ReduceMean", ol_reduce_node, ZP_OP_REDUCE_MEAN, "yes", "yes", "no", "as ReduceSum"},
    {"ReduceMax", ol_reduce_node, ZP_OP_REDUCE_MAX, "yes", "yes", "no", "as ReduceSum; "
     "gradient to the first maximum"},
    {"Concat", ol_concat_node, 0, "yes", "yes", "no", "any axis but the batch; more than 2 "
     "inputs as a chain of 2-input nodes; constant inputs with batch dimension 1"},
    {"Split", ol_split_node, 0, "yes", "yes", "no", "any axis but the batch; sizes from "
     "'split' (input or attribute) or equal parts; up to 6 outputs, all used"},
    {"Expand", ol_expand_node, 0, "yes", "yes", "no", "constant int64 shape; numpy "
     "broadcasting; neither new leading axes nor the batch axis expanded"},
    {"Identity", ol_identity_node, 0, "yes", "yes", "no", "an alias, no copy"},
    {"Dropout", ol_identity_node, 1, "yes", "yes", "no", "the identity (inference)"},
    {"Constant", ol_constant_node, 0, "load time", "-", "no", "the 'value' tensor form"},
    {"Cast", ol_cast_node, 0, "load time", "-", "no", "to float32 only"},
};

static const struct op_row *row_of(const struct nctx *c)
{
    if (c->np->domain && *c->np->domain && strcmp(c->np->domain, "ai.onnx") != 0)
        return NULL;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(c->op, ops[i].op))
            return &ops[i];
    return NULL;
}

ol_convert_fn ol_convert_fn_of(const struct nctx *c)
{
    const struct op_row *r = row_of(c);
    return r ? r->convert : NULL;
}

enum zp_status ol_unsupported_op(struct nctx *c)
{
    if (c->np->domain && *c->np->domain && strcmp(c->np->domain, "ai.onnx") != 0)
        return NERR(c, ZP_EUNSUPPORTED, "operator domain '%s' not supported", c->np->domain);
    return NERR(c, ZP_EUNSUPPORTED, "operator not supported (harness inspect --ops lists the "
                "supported ones)");
}

enum zp_status ol_convert_node(struct nctx *c, struct zp_node *n)
{
    const struct op_row *r = row_of(c);
    return r ? r->convert(c, n, r->arg) : ol_unsupported_op(c);
}

void zp_op_table_markdown(void *file)
{
    FILE *f = file;
    fprintf(f, "| op | forward | backward | quantization point | notes |\n");
    fprintf(f, "|---|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        fprintf(f, "| %s | %s | %s | %s | %s |\n", ops[i].op, ops[i].forward, ops[i].backward,
                ops[i].quant, ops[i].notes);
}
