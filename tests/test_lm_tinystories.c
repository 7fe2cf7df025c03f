/* stories260K through the LM cells (skips without the shared data): the float
 * mean NLL of the first windows of the TinyStories validation stream against the
 * independent float64 forward pass shipped with the data
 * (tinystories_val_window_nll_numpy_f64.json, per-window NLL sums), read once
 * from the raw uint16 stream and once from the .npy tokens + targets; and 8-bit
 * per-channel weights stay close to float. configs/tinystories_llama.json runs the
 * full check (300 windows, reference 1.48708 nats). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/util.h"

#define WINDOWS 3 /* ~1 s of float pass per window on one core */

static const char *H;

/* The shared TinyStories folder into dir; 0 (after saying why) when it or its
 * stories260K.onnx is absent, and the test skips. */
static int tinystories_dir(char *dir, size_t n)
{
    const char *shared = zp_test_shared_data();
    snprintf(dir, n, "%s/tinystories", shared ? shared : "");
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/stories260K.onnx", dir);
    char *m = shared ? zp_test_read_file(probe, NULL) : NULL;
    int found = m != NULL;
    if (!found)
        printf("skipped: no %s (the shared TinyStories data)\n", shared ? probe : "shared data");
    free(m);
    return found;
}

/* Mean of the first n per-window NLL sums / 512 tokens of the reference JSON. */
static double reference_nll(const char *dir, int n)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/tinystories_val_window_nll_numpy_f64.json", dir);
    char *text = zp_test_read_file(path, NULL);
    assert_non_null(text);
    char *p = strstr(text, "\"nll_sum_T\"");
    assert_non_null(p);
    p = strchr(p, '[');
    assert_non_null(p);
    p++;
    double s = 0;
    for (int k = 0; k < n; k++) {
        char *end;
        s += strtod(p, &end);
        assert_true(end != p);
        p = end + strspn(end, ", \n");
    }
    free(text);
    return s / (512.0 * n);
}

static double column(const char *csv_path, const char *label, const char *col)
{
    char *text = zp_test_read_file(csv_path, NULL);
    assert_non_null(text);
    /* header: find the column's index; rows: the first whose label field matches */
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    int ci = -1, li = -1, i = 0;
    for (char *s2 = NULL, *f = strtok_r(line, ",", &s2); f; f = strtok_r(NULL, ",", &s2), i++) {
        ci = strcmp(f, col) == 0 ? i : ci;
        li = strcmp(f, "label") == 0 ? i : li;
    }
    assert_true(ci >= 0 && li >= 0);
    double v = NAN;
    while ((line = strtok_r(NULL, "\n", &save)) && isnan(v)) {
        char *f[96];
        int n = 0;
        for (char *p = line; n < 96;) { /* labels here have no commas or quotes */
            f[n++] = p;
            p = strchr(p, ',');
            if (!p)
                break;
            *p++ = '\0';
        }
        if (n > ci && strcmp(f[li], label) == 0)
            v = strtod(f[ci], NULL);
    }
    free(text);
    if (isnan(v))
        fail_msg("%s: no %s for label %s", csv_path, col, label);
    return v;
}

static void run_config(const char *d, const char *name, const char *eval)
{
    char cfg[1200], text[4096];
    snprintf(cfg, sizeof cfg, "%s/%s.json", d, name);
    snprintf(text, sizeof text,
             "{\"name\": \"%s\", \"seed\": 1,\n"
             " \"schemes\": [{\"scheme\": \"asymmetric\", \"bits\": 8, \"granularity\": \"per-channel\","
             " \"label\": \"a8c\"}],\n"
             " \"models\": [{\"name\": \"stories260K\", \"path\": \"@data/stories260K.onnx\",\n"
             "   \"eval\": %s, \"modes\": [\"weights\"], \"batch\": 3, \"layer_stats_samples\": 1}]}\n",
             name, eval);
    zp_test_write_file(cfg, text);
    char *log = NULL;
    int rc = zp_test_sh(&log, "%s run %s --data %s --out %s/%s --quiet --no-plots --limit %d", H, cfg,
                        getenv("ZP_LM_DATA"), d, name, WINDOWS);
    if (rc != 0)
        fail_msg("harness run exited %d:\n%s", rc, log);
    free(log);
}

static void test_float_nll(void **state)
{
    (void)state;
    char dir[1024];
    if (!tinystories_dir(dir, sizeof dir))
        skip();
    setenv("ZP_LM_DATA", dir, 1);
    double ref = reference_nll(dir, WINDOWS);
    char d[1024], csv[1200];
    snprintf(d, sizeof d, "%s", zp_test_tmpdir("lm_tinystories"));
    run_config(d, "stream",
               "{\"format\": \"tokens\", \"tokens\": \"@data/tinystories_val_tokens.bin\", \"window\": 513, "
               "\"vocab\": 512}");
    snprintf(csv, sizeof csv, "%s/stream/accuracy.csv", d);
    double f = column(csv, "float", "nll");
    printf("float NLL over %d windows: %.7f, float64 reference %.7f (diff %.2g)\n", WINDOWS, f, ref,
           f - ref);
    assert_true(fabs(f - ref) < 1e-4); /* float32 runtimes land within ~1e-7 (README: 1e-8) */
    double q = column(csv, "a8c", "nll"), k = column(csv, "a8c", "kld_mean");
    printf("asymmetric 8-bit per-channel weights: NLL %.5f, KLD mean %.5f\n", q, k);
    assert_true(k > 0 && k < 0.01 && fabs(q - f) < 0.01);
    assert_true(column(csv, "a8c", "top1_agreement") > 0.95);
    /* the same windows from the .npy files */
    run_config(d, "npy",
               "{\"format\": \"tokens\", \"tokens\": \"@data/tinystories_val_tokens.npy\", "
               "\"targets\": \"@data/tinystories_val_targets.npy\", \"vocab\": 512}");
    snprintf(csv, sizeof csv, "%s/npy/accuracy.csv", d);
    assert_true(column(csv, "float", "nll") == f);
    assert_true(column(csv, "a8c", "kld_mean") == k);
}

/* quantize_attention: 8-bit activations at every MatMul input, then also at both
 * operands of the 10 attention MatMuls (Q K^T, P V): the second quantizes more
 * tensors, so the model moves further from float. quantize_embedding: the token
 * table quantized too. */
static void test_attention(void **state)
{
    (void)state;
    char dir[1024];
    if (!tinystories_dir(dir, sizeof dir))
        skip();
    char d[1024], cfg[1200], csv[1200], text[4096];
    snprintf(d, sizeof d, "%s", zp_test_tmpdir("lm_attention"));
    snprintf(cfg, sizeof cfg, "%s/attn.json", d);
    snprintf(text, sizeof text,
             "{\"name\": \"attn\", \"seed\": 1,\n"
             " \"schemes\": [{\"scheme\": \"asymmetric\", \"bits\": 8, \"granularity\": \"per-channel\","
             " \"label\": \"acts\"},\n"
             "  {\"scheme\": \"asymmetric\", \"bits\": 8, \"granularity\": \"per-channel\","
             " \"quantize_attention\": true, \"label\": \"attn\"},\n"
             "  {\"scheme\": \"asymmetric\", \"bits\": 8, \"granularity\": \"per-channel\","
             " \"quantize_embedding\": true, \"label\": \"emb\"}],\n"
             " \"models\": [{\"name\": \"stories260K\", \"path\": \"@data/stories260K.onnx\",\n"
             "   \"eval\": {\"format\": \"tokens\", \"tokens\": \"@data/tinystories_val_tokens.bin\", "
             "\"window\": 513, \"vocab\": 512}, \"modes\": [\"both\"], \"batch\": 3,\n"
             "   \"calibration\": {\"method\": \"minmax\", \"size\": 2, \"order\": \"first\"},"
             " \"layer_stats_samples\": 1}]}\n");
    zp_test_write_file(cfg, text);
    char *log = NULL;
    int rc = zp_test_sh(&log, "%s run %s --data %s --out %s/run --quiet --no-plots --limit %d", H, cfg, dir,
                        d, WINDOWS);
    if (rc != 0)
        fail_msg("harness run exited %d:\n%s", rc, log);
    free(log);
    snprintf(csv, sizeof csv, "%s/run/accuracy.csv", d);
    double ka = column(csv, "acts", "kld_mean"), kt = column(csv, "attn", "kld_mean");
    printf("KLD mean, 8-bit activations: %.5f; + attention operands: %.5f\n", ka, kt);
    assert_true(ka > 0 && kt > ka && kt < 0.1);
    /* the token embedding at 8 bits per row: a small change, but a change */
    double ke = column(csv, "emb", "kld_mean");
    printf("KLD mean, + 8-bit embedding: %.6f\n", ke);
    assert_true(ke != ka && fabs(ke - ka) < 0.5 * ka);
    char *text2 = zp_test_read_file(csv, NULL);
    assert_non_null(strstr(text2, ",quantize_attention,quantize_embedding,qat_optimizer\n"));
    /* (qat_optimizer, the last column, is empty outside mode qat) */
    assert_non_null(strstr(text2, ",false,false,\n")); /* acts */
    assert_non_null(strstr(text2, ",true,false,\n"));  /* attn */
    assert_non_null(strstr(text2, ",false,true,\n"));  /* emb */
    free(text2);
}

int main(void)
{
    H = zp_test_harness();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_nll),
        cmocka_unit_test(test_attention),
    };
    return ZP_RUN_TESTS(tests);
}
