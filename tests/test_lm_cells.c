/* Language-model cells end to end (experiment/lm_data.c, model_cell.c, model_ctx.c):
 * a toy "language model" whose logits are a known function of the token id
 * (a 1x1 Conv over the window, transposed to [T, vocab]) evaluated by `harness
 * run` on token windows given as a raw uint16 stream and as .npy windows +
 * targets; the accuracy.csv LM columns are checked against the NLL worked out
 * here from the same formula, and bad token inputs fail with errors naming the
 * file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/data_files.h"
#include "tests/onnx_builder.h"
#include "tests/util.h"

#define T 8  /* input tokens per window */
#define V 5  /* vocabulary */
#define NW 6 /* windows */

static const float W[V] = {0.5f, -0.3f, 0.8f, 0.1f, -0.6f};
/* no two logits of a token within float rounding of each other (no argmax ties) */
static const float B[V] = {0.2f, 0.1f, -0.45f, 0.3f, 0.0f};
static const char *H;

/* tokens [1, T] as floats -> Conv 1x1 (V channels) [1, V, 1, T] -> [1, T, 1, V] */
static void write_model(const char *path)
{
    struct mb b;
    mb_begin(&b, 13);
    int64_t xd[4] = {1, 1, 1, T}, wd[4] = {V, 1, 1, 1}, nv = V;
    mb_input(&b, "tokens", 4, xd);
    mb_init_f(&b, "w", 4, wd, W);
    mb_init_f(&b, "b", 1, &nv, B);
    mb_node(&b, "Conv", "head", "tokens,w,b", "z");
    mb_attr_ints(&b, mb_node(&b, "Transpose", "to_tv", "z", "logits"), "perm", 4,
                 (const int64_t[]){0, 3, 2, 1});
    mb_output(&b, "logits");
    mb_save(&b, path);
}

/* The stream: NW windows of T + 1 tokens back to back, plus 3 tokens in no window. */
static int stream_id(int i) { return (i * 7 + i / 3) % V; }
#define STREAM_N (NW * (T + 1) + 3)

static void write_stream(const char *path)
{
    uint8_t buf[2 * STREAM_N];
    for (int i = 0; i < STREAM_N; i++) {
        buf[2 * i] = (uint8_t)stream_id(i);
        buf[2 * i + 1] = 0;
    }
    zp_td_write_bytes(path, buf, sizeof buf, 0);
}

/* the same windows as .npy: tokens [NW, T] and targets [NW, T] (int64) */
static void write_npy_windows(const char *tok, const char *tgt)
{
    int64_t a[NW * T], b[NW * T];
    for (int k = 0; k < NW; k++)
        for (int j = 0; j < T; j++) {
            a[k * T + j] = stream_id(k * (T + 1) + j);
            b[k * T + j] = stream_id(k * (T + 1) + j + 1);
        }
    const char *dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (6, 8), }";
    zp_td_write_npy(tok, 1, dict, a, sizeof a);
    zp_td_write_npy(tgt, 1, dict, b, sizeof b);
}

/* Mean NLL and next-token accuracy of the float toy model over the first nw windows. */
static void expected(int nw, double *nll, double *top1)
{
    double s = 0;
    int hit = 0;
    for (int k = 0; k < nw; k++)
        for (int j = 0; j < T; j++) {
            int id = stream_id(k * (T + 1) + j), y = stream_id(k * (T + 1) + j + 1);
            double z[V], mx = -INFINITY, e = 0;
            int best = 0;
            for (int v = 0; v < V; v++) {
                z[v] = (double)(W[v] * (float)id + B[v]);
                if (z[v] > mx) {
                    mx = z[v];
                    best = v;
                }
            }
            for (int v = 0; v < V; v++)
                e += exp(z[v] - mx);
            s += mx + log(e) - z[y];
            hit += best == y;
        }
    *nll = s / (nw * T);
    *top1 = (double)hit / (nw * T);
}

/* ---- accuracy.csv: the value of a column in the row of a label and mode ---- */
static int split_csv(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        if (*p == '"') {
            f[n++] = ++p;
            while (*p && !(*p == '"' && p[1] != '"'))
                p += *p == '"' ? 2 : 1;
            if (*p)
                *p++ = '\0';
        } else
            f[n++] = p;
        p += strcspn(p, ",\n");
        if (*p != ',') {
            *p = '\0';
            break;
        }
        *p++ = '\0';
    }
    return n;
}

static double acc_value(const char *csv, const char *label, const char *mode, const char *col)
{
    char *text = zp_test_read_file(csv, NULL);
    assert_non_null(text);
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    char *hdr[80];
    int nh = split_csv(line, hdr, 80), ci = -1, li = -1, mi = -1;
    for (int i = 0; i < nh; i++) {
        ci = strcmp(hdr[i], col) == 0 ? i : ci;
        li = strcmp(hdr[i], "label") == 0 ? i : li;
        mi = strcmp(hdr[i], "mode") == 0 ? i : mi;
    }
    if (ci < 0)
        fail_msg("%s: no column %s", csv, col);
    double v = NAN;
    int found = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *f[80];
        int n = split_csv(line, f, 80);
        if (n > ci && strcmp(f[li], label) == 0 && strcmp(f[mi], mode) == 0) {
            v = f[ci][0] ? strtod(f[ci], NULL) : NAN;
            found = 1;
            break;
        }
    }
    free(text);
    if (!found)
        fail_msg("%s: no row with label %s, mode %s", csv, label, mode);
    return v;
}

static void write_config_ov(const char *path, const char *model, const char *eval, const char *modes,
                            const char *overrides)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"name\": \"lm\", \"seed\": 5,\n"
             " \"models\": [{\"name\": \"toy\", \"path\": \"%s\", \"batch\": 4,\n"
             "   \"eval\": %s,%s\n"
             "   \"modes\": %s, \"calibration\": {\"method\": \"minmax\", \"size\": 3}}],\n"
             " \"schemes\": [\n"
             "  {\"scheme\": \"asymmetric\", \"bits\": 8, \"label\": \"a8\"},\n"
             "  {\"scheme\": \"binary\", \"label\": \"b1\"}]}\n",
             model, eval, overrides, modes);
    zp_test_write_file(path, text);
}

static void write_config(const char *path, const char *model, const char *eval, const char *modes)
{
    write_config_ov(path, model, eval, modes, "");
}

static void run_ok(const char *cfg, const char *out, const char *extra)
{
    char *log = NULL;
    int rc = zp_test_sh(&log, "%s run %s --out %s --quiet --no-plots %s", H, cfg, out, extra);
    if (rc != 0)
        fail_msg("harness run exited %d:\n%s", rc, log);
    free(log);
}

static void check_run(const char *csv, int nw)
{
    double nll, top1;
    expected(nw, &nll, &top1);
    /* the float row: the model's own NLL, next-token accuracy over every position */
    assert_true(fabs(acc_value(csv, "float", "float", "nll") - nll) < 1e-6);
    assert_true(fabs(acc_value(csv, "float", "float", "ppl") - exp(nll)) < 1e-5);
    assert_true(fabs(acc_value(csv, "float", "float", "top1") - top1) < 1e-8); /* %.9g in the CSV */
    assert_true(acc_value(csv, "float", "float", "kld_mean") == 0);
    assert_true(acc_value(csv, "float", "float", "n_eval") == nw);
    assert_true(acc_value(csv, "a8", "weights", "n_eval") == nw); /* windows, not tokens */
    /* 8-bit per-tensor weights: close to float, but not equal */
    double fn = acc_value(csv, "a8", "weights", "float_nll");
    assert_true(fabs(fn - nll) < 1e-6);
    double q = acc_value(csv, "a8", "weights", "nll"), k = acc_value(csv, "a8", "weights", "kld_mean");
    assert_true(q != nll && fabs(q - nll) < 1e-2);
    assert_true(k > 0 && k < 1e-4);
    assert_true(acc_value(csv, "a8", "weights", "kld_p99") <= acc_value(csv, "a8", "weights", "kld_max"));
    /* binary weights (+-alpha per tensor) are a different model: KLD and NLL move */
    double kb = acc_value(csv, "b1", "weights", "kld_mean");
    assert_true(kb > 10 * k && kb > 1e-3);
    double ta = acc_value(csv, "b1", "weights", "top1_agreement");
    assert_true(ta >= 0 && ta <= 1);
    assert_true(ta == acc_value(csv, "b1", "weights", "agreement"));
    assert_true(fabs(acc_value(csv, "b1", "weights", "ppl") - exp(acc_value(csv, "b1", "weights", "nll"))) <
                1e-6 * exp(acc_value(csv, "b1", "weights", "nll")));
}

static void test_stream_and_npy(void **state)
{
    (void)state;
    char d[1024], model[1100], stream[1100], tok[1100], tgt[1100], cfg[1100], out[1100], csv[1200];
    snprintf(d, sizeof d, "%s", zp_test_tmpdir("lm_cells"));
    snprintf(model, sizeof model, "%s/toy.onnx", d);
    snprintf(stream, sizeof stream, "%s/s.bin", d);
    snprintf(tok, sizeof tok, "%s/tok.npy", d);
    snprintf(tgt, sizeof tgt, "%s/tgt.npy", d);
    write_model(model);
    write_stream(stream);
    write_npy_windows(tok, tgt);
    char eval[2400];
    snprintf(eval, sizeof eval, "{\"format\": \"tokens\", \"tokens\": \"%s\", \"window\": %d, \"vocab\": %d}",
             stream, T + 1, V);
    snprintf(cfg, sizeof cfg, "%s/s.json", d);
    write_config(cfg, model, eval, "[\"weights\", \"both\"]");
    snprintf(out, sizeof out, "%s/out_s", d);
    run_ok(cfg, out, "");
    snprintf(csv, sizeof csv, "%s/accuracy.csv", out);
    check_run(csv, NW);
    /* activations quantized too: the LM columns are there */
    assert_true(isfinite(acc_value(csv, "a8", "both", "kld_mean")));
    /* layers.csv has the head's row for each cell */
    snprintf(csv, sizeof csv, "%s/layers.csv", out);
    char *lay = zp_test_read_file(csv, NULL);
    assert_non_null(lay);
    assert_non_null(strstr(lay, ",head,Conv,"));
    free(lay);

    /* the same windows from .npy tokens + targets: the same numbers; --limit slices windows */
    snprintf(eval, sizeof eval,
             "{\"format\": \"tokens\", \"tokens\": \"%s\", \"targets\": \"%s\", \"vocab\": %d}", tok, tgt, V);
    write_config(cfg, model, eval, "[\"weights\"]");
    snprintf(out, sizeof out, "%s/out_n", d);
    run_ok(cfg, out, "--limit 4");
    snprintf(csv, sizeof csv, "%s/accuracy.csv", out);
    check_run(csv, 4);
}

static void expect_run_error(const char *d, const char *model, const char *eval, const char *needle)
{
    char cfg[1100], out[1100];
    snprintf(cfg, sizeof cfg, "%s/bad.json", d);
    snprintf(out, sizeof out, "%s/out_bad", d);
    write_config(cfg, model, eval, "[\"weights\"]");
    char *log = NULL;
    int rc = zp_test_sh(&log, "%s run %s --out %s --quiet --no-plots", H, cfg, out);
    if (rc == 0 || !strstr(log, needle))
        fail_msg("expected a failure mentioning '%s', got exit %d:\n%s", needle, rc, log);
    free(log);
    char *o = zp_test_read_file(out, NULL); /* nothing written */
    assert_null(o);
}

static void test_errors(void **state)
{
    (void)state;
    char d[1024], model[1100], stream[1100], tok[1100], eval[2400];
    snprintf(d, sizeof d, "%s", zp_test_tmpdir("lm_errors"));
    snprintf(model, sizeof model, "%s/toy.onnx", d);
    snprintf(stream, sizeof stream, "%s/s.bin", d);
    snprintf(tok, sizeof tok, "%s/tok.npy", d);
    write_model(model);
    write_stream(stream);
    /* an id at or above vocab: the file and the byte offset of the first one (id 4 at token 2) */
    snprintf(eval, sizeof eval, "{\"format\": \"tokens\", \"tokens\": \"%s\", \"window\": %d, \"vocab\": 4}",
             stream, T + 1);
    expect_run_error(d, model, eval, "s.bin: byte offset");
    /* a stream needs its window */
    snprintf(eval, sizeof eval, "{\"format\": \"tokens\", \"tokens\": \"%s\"}", stream);
    expect_run_error(d, model, eval, "window: missing");
    /* targets go with .npy windows only */
    snprintf(eval, sizeof eval, "{\"format\": \"tokens\", \"tokens\": \"%s\", \"targets\": \"%s\", \"window\": 9}",
             stream, stream);
    expect_run_error(d, model, eval, "targets go with .npy windows");
    /* image keys mean nothing for tokens */
    snprintf(eval, sizeof eval, "{\"format\": \"tokens\", \"tokens\": \"%s\", \"window\": 9, \"size\": 3}", stream);
    expect_run_error(d, model, eval, "size: not a key of a token dataset");
    /* windows of another length than the model's input */
    snprintf(eval, sizeof eval, "{\"format\": \"tokens\", \"tokens\": \"%s\", \"window\": 6}", stream);
    expect_run_error(d, model, eval, "input has 8 values per example");
    /* a target outside the model's vocabulary (the file's own vocab bound unset) */
    int64_t a[T], b[T];
    for (int j = 0; j < T; j++) {
        a[j] = j % V;
        b[j] = j == 5 ? 7 : j % V;
    }
    char tgt[1100];
    snprintf(tgt, sizeof tgt, "%s/tgt.npy", d);
    zp_td_write_npy(tok, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 8), }", a, sizeof a);
    zp_td_write_npy(tgt, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 8), }", b, sizeof b);
    snprintf(eval, sizeof eval, "{\"format\": \"tokens\", \"tokens\": \"%s\", \"targets\": \"%s\"}", tok, tgt);
    expect_run_error(d, model, eval, "window 0 position 5: target token 7, but the model");
}

/* quantize_attention on a model without a MatMul of two activations: an error
 * naming the variant and the model, nothing written. */
static void test_attention_refused(void **state)
{
    (void)state;
    char d[1024], model[1100], stream[1100], cfg[1100], out[1100], text[4096];
    snprintf(d, sizeof d, "%s", zp_test_tmpdir("lm_attn"));
    snprintf(model, sizeof model, "%s/toy.onnx", d);
    snprintf(stream, sizeof stream, "%s/s.bin", d);
    snprintf(cfg, sizeof cfg, "%s/attn.json", d);
    snprintf(out, sizeof out, "%s/out", d);
    write_model(model);
    write_stream(stream);
    snprintf(text, sizeof text,
             "{\"name\": \"lm\", \"models\": [{\"name\": \"toy\", \"path\": \"%s\", \"batch\": 4,\n"
             " \"eval\": {\"format\": \"tokens\", \"tokens\": \"%s\", \"window\": %d},\n"
             " \"modes\": [\"both\"], \"calibration\": {\"method\": \"minmax\", \"size\": 3}}],\n"
             " \"schemes\": [{\"scheme\": \"asymmetric\", \"bits\": 8, \"quantize_attention\": true}]}\n",
             model, stream, T + 1);
    zp_test_write_file(cfg, text);
    char *log = NULL;
    int rc = zp_test_sh(&log, "%s run %s --out %s --quiet --no-plots", H, cfg, out);
    if (rc == 0 || !strstr(log, "quantize_attention, but model 'toy' has no MatMul of two activations"))
        fail_msg("expected the refusal, got exit %d:\n%s", rc, log);
    free(log);
    assert_null(zp_test_read_file(out, NULL));
    /* nor a lookup table for quantize_embedding */
    char *at = strstr(text, "\"quantize_attention\"");
    assert_non_null(at);
    memcpy(at, "\"quantize_embedding\"", strlen("\"quantize_embedding\""));
    zp_test_write_file(cfg, text);
    rc = zp_test_sh(&log, "%s run %s --out %s --quiet --no-plots", H, cfg, out);
    if (rc == 0 || !strstr(log, "quantize_embedding, but model 'toy' has no lookup table (Gather)"))
        fail_msg("expected the refusal, got exit %d:\n%s", rc, log);
    free(log);
    assert_null(zp_test_read_file(out, NULL));
}

/* "float": true keeps the classifier (here the only layer) float: weights and
 * input, so every cell is the float model exactly. */
static void test_float_override(void **state)
{
    (void)state;
    char d[1024], model[1100], stream[1100], cfg[1100], out[1100], csv[1200], eval[2400];
    snprintf(d, sizeof d, "%s", zp_test_tmpdir("lm_float_override"));
    snprintf(model, sizeof model, "%s/toy.onnx", d);
    snprintf(stream, sizeof stream, "%s/s.bin", d);
    write_model(model);
    write_stream(stream);
    snprintf(eval, sizeof eval, "{\"format\": \"tokens\", \"tokens\": \"%s\", \"window\": %d}", stream,
             T + 1);
    snprintf(cfg, sizeof cfg, "%s/f.json", d);
    write_config_ov(cfg, model, eval, "[\"weights\", \"both\"]",
                    " \"overrides\": [{\"layers\": [\"last\"], \"float\": true}],");
    snprintf(out, sizeof out, "%s/out", d);
    run_ok(cfg, out, "");
    snprintf(csv, sizeof csv, "%s/accuracy.csv", out);
    double f = acc_value(csv, "float", "float", "nll");
    const char *modes[2] = {"weights", "both"};
    for (int i = 0; i < 2; i++) {
        assert_true(acc_value(csv, "b1", modes[i], "nll") == f);
        assert_true(acc_value(csv, "b1", modes[i], "kld_max") == 0);
        assert_true(acc_value(csv, "b1", modes[i], "bits_per_weight") == 32);
    }
    /* a quantizer key beside "float": true is an error */
    write_config_ov(cfg, model, eval, "[\"weights\"]",
                    " \"overrides\": [{\"layers\": [\"last\"], \"float\": true, \"bits\": 4}],");
    char *log = NULL;
    assert_int_not_equal(zp_test_sh(&log, "%s run %s --out %s/out2 --quiet --no-plots", H, cfg, d), 0);
    assert_non_null(strstr(log, "overrides[0].bits: \"float\": true keeps the layers float"));
    free(log);
}

int main(void)
{
    H = zp_test_harness();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_and_npy),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_float_override),
        cmocka_unit_test(test_attention_refused),
    };
    return ZP_RUN_TESTS(tests);
}
