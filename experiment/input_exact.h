/* Exact quantization of a network's 8-bit image input (issue 17 item 8): an input
 * built from pixel p by the dataset's preprocessing is an exact ratio, and its
 * quotient by the activation quantizer's step is often an exact tie
 * (u8/127.5 - 1 against 2/255) that the float value no longer shows. The first
 * layer's input is therefore quantized through a table over the 256 pixel values
 * (data/: zp_dataset_exact_codes): each input is matched to the pixel whose
 * preprocessed float it is, and replaced by that pixel's exactly rounded code,
 * decoded by the scheme. A value that matches no pixel takes the float path. */
#ifndef ZP_EXPERIMENT_INPUT_EXACT_H
#define ZP_EXPERIMENT_INPUT_EXACT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "data/dataset.h"
#include "schemes/scheme.h"

struct zp_input_exact {
    int on;               /* 0: not applicable (float data, codebook scheme, ...) */
    int channels;         /* dataset channels (1 or 3) */
    int64_t plane;        /* h * w: elements per channel of one example */
    float val[3][256];    /* preprocessed float of each pixel, sorted ascending */
    float deq[3][256];    /* the decoded exact code of that pixel, same order */
    const struct zp_scheme_config *c; /* the float path, for a value that matches no pixel */
    const struct zp_qparams *p;
};

/* Builds the table for an 8-bit dataset (IDX or image folder) of `channels` x
 * `plane` elements per example under the activation quantizer (c, p) fitted on
 * [lo, hi]. Leaves t->on = 0 (ZP_OK) when it does not apply: a quantizer other
 * than a per-tensor affine one, a step the range does not give, float data, or
 * constants beyond exact arithmetic. */
enum zp_status zp_input_exact_build(struct zp_input_exact *t, const struct zp_dataset_spec *spec, int channels,
                                    int64_t plane, const struct zp_scheme_config *c, const struct zp_qparams *p,
                                    float lo, float hi, struct zp_err *err);

/* Fake-quantizes x[0..n) in place, x[0] being element `first` of an example
 * (element index modulo channels * plane gives the channel); returns how many
 * values matched no pixel and took the float path (0 for the dataset's inputs).
 * c and p must outlive t. */
size_t zp_input_exact_apply(const struct zp_input_exact *t, float *x, size_t n, size_t first);

#endif
