/* libFuzzer target: arbitrary bytes as an ONNX model. Loading must return an
 * error or a graph, never crash, leak or read out of bounds; a graph that loads
 * and is small is also run once, so the shapes the loader accepted are exercised
 * by the kernels. Seeds: fuzz/seeds/fuzz_onnx/ (copies of tests/data/ models). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "model/graph.h"
#include "model/graph_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zp_graph *g = NULL;
    struct zp_err err = {0};
    if (zp_onnx_load_buffer(data, size, "fuzz.onnx", &g, &err) != ZP_OK)
        return 0;
    int64_t s[4], in = 1;
    int nd = zp_graph_input_shape(g, s);
    for (int i = 0; i < nd; i++)
        in *= s[i];
    /* bounded work: small inputs, outputs and intermediate tensors only (the loader
     * accepts shapes up to 2^28 elements, which would only time the fuzzer out) */
    if (in <= 4096 && zp_graph_output_size(g) <= 4096 &&
        g->ws_size + g->scratch_size <= (1 << 20)) {
        float *x = calloc((size_t)in, sizeof(float)), *y = calloc(4096, sizeof(float));
        if (x && y)
            zp_graph_run(g, x, 1, y, NULL, &err);
        free(x);
        free(y);
    }
    zp_graph_free(g);
    return 0;
}
