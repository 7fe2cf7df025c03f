/* The Llama-style language models of ../shared/data/tinystories through the
 * ONNX loader and the float runtime: int64 token input, Gather (embedding),
 * MatMul of [T, K] rows with weights and of two activations (attention), Split,
 * Concat, Transpose, Softmax, RMSNorm's Pow / ReduceMean / Sqrt / Div.
 *
 * What the logits are checked against, and why it is honest: the references
 * shipped beside the models are float64 evaluations of the same graphs by an
 * independent interpreter (tinystories/README.md), rounded to float32; a float32
 * runtime lands near 2e-7 on the tiny model and 1.3e-4 is what independent float32
 * evaluations of stories260K reach. The bound here is the brief's 1e-4 (max
 * absolute difference over all 512 x 512 logits of the window).
 * Without ../shared/data the tests skip and say so. */
#include "tests/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/dataset.h"
#include "data/tokens.h"
#include "model/graph.h"
#include "model/graph_train.h"
#include "tests/onnx_builder.h"

#define T 512
#define VOCAB 512

static int have(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

static void path_of(char *out, size_t n, const char *name)
{
    const char *root = zp_test_shared_data();
    snprintf(out, n, "%s/tinystories/%s", root ? root : "../shared/data", name);
}

/* Window 0 of a tokens .npy as floats (the runtime's form of int64 ids). */
static float *window0(const char *tokens)
{
    struct zp_tokens_spec s = {.format = ZP_TOKENS_NPY, .path = tokens, .vocab = VOCAB, .limit = 1};
    struct zp_tokens tk;
    struct zp_err err = {0};
    if (zp_tokens_load(&s, &tk, &err) != ZP_OK) {
        print_error("%s\n", err.msg);
        fail();
    }
    assert_int_equal(tk.t, T);
    float *x = malloc(T * sizeof *x);
    assert_non_null(x);
    for (int i = 0; i < T; i++)
        x[i] = (float)tk.ids[i];
    zp_tokens_free(&tk);
    return x;
}

/* The reference logits [1, 512, 512] float32 .npy. */
static float *reference(const char *path)
{
    size_t len;
    char *buf = zp_test_read_file(path, &len);
    assert_non_null(buf);
    struct zp_npy npy;
    struct zp_err err = {0};
    if (zp_npy_parse((const uint8_t *)buf, len, path, &npy, &err) != ZP_OK) {
        print_error("%s\n", err.msg);
        fail();
    }
    assert_int_equal(npy.count, (int64_t)T * VOCAB);
    float *r = malloc((size_t)npy.count * sizeof *r);
    assert_non_null(r);
    for (int64_t i = 0; i < npy.count; i++)
        r[i] = (float)zp_npy_get(&npy, i);
    free(buf);
    return r;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void check_model(const char *onnx, const char *tokens, const char *ref, int layers)
{
    char m[4096], tk[4096], rf[4096];
    path_of(m, sizeof m, onnx);
    path_of(tk, sizeof tk, tokens);
    path_of(rf, sizeof rf, ref);
    if (!have(m) || !have(tk) || !have(rf)) {
        print_message("skipped: %s, %s or %s not found (the shared TinyStories data is absent)\n",
                      m, tk, rf);
        skip();
    }
    struct zp_graph *g = NULL;
    struct zp_err err = {0};
    if (zp_onnx_load(m, &g, &err) != ZP_OK) {
        print_error("%s\n", err.msg);
        fail();
    }
    assert_true(zp_graph_input_is_index(g));
    assert_int_equal(zp_graph_output_size(g), (int64_t)T * VOCAB);
    assert_int_equal(zp_graph_num_layers(g), layers);
    const struct zp_layer_info *li = zp_graph_layer(g, 0);
    assert_true(li->channels_last);
    assert_int_equal(li->in_ndim, 2);
    assert_int_equal(li->in_shape[0], T);
    float *x = window0(tk), *want = reference(rf), *y = malloc((size_t)T * VOCAB * sizeof *y);
    assert_non_null(y);
    double t0 = now();
    if (zp_graph_run(g, x, 1, y, NULL, &err) != ZP_OK) {
        print_error("%s\n", err.msg);
        fail();
    }
    double dt = now() - t0, worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < (int64_t)T * VOCAB; i++) {
        double d = fabs((double)y[i] - want[i]);
        if (!(d <= worst)) {
            worst = d;
            at = i;
        }
    }
    print_message("%s: max |logit - float64 reference| = %.3g (at %lld), one window %.3f s\n",
                  onnx, worst, (long long)at, dt);
    assert_true(worst <= 1e-4);

    /* an id outside the vocabulary or not an integer is refused, naming it */
    x[7] = VOCAB;
    assert_int_equal(zp_graph_run(g, x, 1, y, NULL, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "element 7"));
    x[7] = 1.5f;
    zp_err_clear(&err);
    assert_int_equal(zp_graph_run(g, x, 1, y, NULL, &err), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "not an integer"));
    free(x);
    free(want);
    free(y);
    zp_graph_free(g);
}

static void test_tiny_llama_random(void **state)
{
    (void)state;
    check_model("tiny_llama_random.onnx", "tiny_llama_random_tokens.npy",
                "tiny_llama_random_logits.npy", 2 * 7 + 1);
}

static void test_stories260k_window0(void **state)
{
    (void)state;
    check_model("stories260K.onnx", "tinystories_val_tokens.npy",
                "stories260K_window0_logits_ref.npy", 5 * 7 + 1);
}

/* The backward of the whole tiny model on its window: finite differences of
 * sum r * logits in a few entries of the embedding table (Gather), of the
 * first projection (a rows MatMul) and of the classifier; the attention's
 * MatMuls of two activations lie on every path between them (their own checks
 * are tests/test_ops_transformer.c). */
static void test_tiny_llama_grads(void **state)
{
    (void)state;
    char m[4096], tk[4096];
    path_of(m, sizeof m, "tiny_llama_random.onnx");
    path_of(tk, sizeof tk, "tiny_llama_random_tokens.npy");
    if (!have(m) || !have(tk)) {
        print_message("skipped: %s or %s not found (the shared TinyStories data is absent)\n", m, tk);
        skip();
    }
    struct zp_graph *g = NULL;
    struct zp_err err = {0};
    if (zp_onnx_load_train(m, &g, &err) != ZP_OK) {
        print_error("%s\n", err.msg);
        fail();
    }
    float *x = window0(tk);
    struct zp_tgraph *t = mb_tgraph_new(g, 1);
    const int64_t nout = (int64_t)T * VOCAB;
    float *r = mb_randv((size_t)nout, 3);
    (void)mb_tforward(t, x, 1, 0);
    zp_tgraph_zero_grad(t);
    mb_tbackward(t, r);
    const size_t keep_entries = mb_fd_entries;
    mb_fd_entries = 3;
    int checked = 0;
    for (int i = 0; i < zp_tgraph_num_params(t); i++) {
        const struct zp_gparam *p = zp_tgraph_param(t, i);
        int last = p->layer == zp_graph_num_layers(g) - 1;
        if (p->kind != ZP_GPARAM_TABLE && p->layer != 0 && !last)
            continue;
        /* the table: the row of token 5 (a row no token reads has gradient 0) */
        const size_t D = p->kind == ZP_GPARAM_TABLE ? p->n / VOCAB : 0,
                     off = p->kind == ZP_GPARAM_TABLE ? (size_t)x[5] * D : 0,
                     n = p->kind == ZP_GPARAM_TABLE ? D : p->n;
        float *an = malloc(n * sizeof *an);
        assert_non_null(an);
        memcpy(an, p->g + off, n * sizeof *an);
        if (p->kind == ZP_GPARAM_TABLE)
            assert_true(fabsf(an[0]) + fabsf(an[1]) > 0.f);
        mb_fd_compare(t, x, 1, 0, r, nout, p->w + off, an, n, p->name);
        free(an);
        checked++;
    }
    assert_int_equal(checked, 3);
    mb_fd_entries = keep_entries;
    free(r);
    free(x);
    zp_tgraph_free(t);
    zp_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_llama_random),
        cmocka_unit_test(test_stories260k_window0),
        cmocka_unit_test(test_tiny_llama_grads),
    };
    return ZP_RUN_TESTS(tests);
}
