/* Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization Through
 * Weight Equalization and Bias Correction", section 4.1).
 *
 * Two layers joined by a function f with f(s x) = s f(x) for s > 0 (nothing, or a
 * ReLU) compute the same thing when output channel i of the first is divided by
 * s_i and input channel i of the second multiplied by s_i. With r1_i the range
 * (max |w|) of channel i of the first layer and r2_i that of input channel i of
 * the second, s_i = sqrt(r1_i / r2_i) makes both ranges sqrt(r1_i r2_i): the
 * channels of a layer end up with similar ranges, which is what one per-tensor
 * quantization grid needs. A depthwise layer has one channel per input channel,
 * so scales pass through it: a chain conv -> depthwise -> conv is equalized pair
 * by pair, repeatedly, until no scale moves.
 *
 * ReLU6 is not scale-equivariant: min(x, 6) / s = min(x / s, 6 / s). The paper
 * replaces it by a ReLU, which changes the float network; here the clip moves
 * with the channel instead (a per-channel upper clamp, act_hi, divided by s_i),
 * so the equalized network computes exactly what the model did. Pure functions
 * on float arrays; the layers are edited in place. */
#ifndef ZP_PTQ_EQUALIZE_H
#define ZP_PTQ_EQUALIZE_H

#include <stdint.h>

#include "common/err.h"

struct zp_graph;

/* A convolution's (or dense layer's) weights as equalization sees them. */
struct zp_cle_layer {
    float *w;          /* [out, in_per_group, k] (ONNX Conv layout, k = kh * kw) */
    float *b;          /* out entries, or NULL (no bias: the scale needs none) */
    int64_t out;       /* output channels */
    int64_t in;        /* input channels per group: 1 for a depthwise layer */
    int64_t k;         /* kernel positions */
    int depthwise;     /* one group per channel: input channel i feeds only output i */
    float *act_hi;     /* out entries: the upper clamp of the activation after the layer
                          per channel (a ReLU6's 6), divided by s with its channel; NULL
                          for a ReLU or no activation */
};

/* r[i] = max |w| of output channel i (out entries). */
void zp_cle_out_ranges(const struct zp_cle_layer *a, float *r);
/* r[c] = max |w| over everything input channel c feeds (a dense layer: in
 * entries; a depthwise layer: out entries). */
void zp_cle_in_ranges(const struct zp_cle_layer *b, float *r);
/* Input channels of b (in, or out for a depthwise layer). */
int64_t zp_cle_in_channels(const struct zp_cle_layer *b);

/* Equalizes the pair a -> b (b's input channels are a's output channels; the
 * caller checks the shapes agree): a's channel i, its bias and its act_hi divided
 * by s_i, b's input channel i multiplied by it. A channel with a zero range on one side is
 * scaled so that its other side's range is the largest sqrt(r1 r2) of the
 * channels live on both (s = 1 when both sides are zero). scale (a->out entries, may be NULL) receives s. Returns the largest
 * |ln s_i|: 0 when the pair was already equal. */
double zp_cle_pair(struct zp_cle_layer *a, struct zp_cle_layer *b, float *scale);

/* The network's equalization: pairs (first[p], second[p]), p < n_pairs, of
 * layers[], swept in order until the largest |ln s| of a sweep is below tol or
 * max_sweeps sweeps ran. Returns the sweeps done; *last_change the largest |ln s|
 * of the last sweep. */
int zp_cle_run(struct zp_cle_layer *layers, const int *first, const int *second, int n_pairs,
               double tol, int max_sweeps, double *last_change);

/* What zp_cle_graph did. */
struct zp_cle_report {
    int pairs, sweeps;
    double last_change;  /* largest |ln s| of the last sweep */
    int relu6_pairs;     /* pairs joined by a ReLU6 (its clamp now per channel) */
};

/* Equalizes every pair of g that it can: Conv -> Conv joined by nothing, a Relu or
 * a Clip(0, 6) (zp_graph_layer_source), each dense (group 1) or depthwise. w[l] and
 * b[l] are writable copies of layer l's float weights and biases (b[l] may be NULL
 * for a layer without bias); act_hi[l] is NULL or, for a layer whose activation is
 * a ReLU6, its per-channel clamps (n_out entries, 6 at first: zp_cle_relu6_clamps),
 * which the runtime then applies (zp_run_hooks.act_hi). A pair after a ReLU6
 * without them is left alone. Sweeps until |ln s| < 1e-6 (at most 200 sweeps). */
enum zp_status zp_cle_graph(const struct zp_graph *g, float **w, float **b, float **act_hi,
                            struct zp_cle_report *rep, struct zp_err *err);

/* act_hi[l] = n_out clamps at 6 (malloc'd) for every layer of g whose fused
 * activation is a ReLU6, NULL for the others. 0 on no memory (entries freed). */
int zp_cle_relu6_clamps(const struct zp_graph *g, float **act_hi);

/* The zp_cle_layer view of layer l of g over the arrays w, b, act_hi (may be
 * NULL); 0 when l is not a Conv equalization handles (grouped but not depthwise,
 * Gemm, MatMul), 1 when it is. */
int zp_cle_layer_of(const struct zp_graph *g, int l, float *w, float *b, float *act_hi,
                    struct zp_cle_layer *out);

#endif
