/* End to end through the harness binary: a tensor-level run writes tensors.csv,
 * run.json and figures; its metrics agree with an independent computation of the
 * docs/definitions.md definitions; interrupted runs resume to identical files; shards merge
 * to the single-process result; bad input gets exit code 2 and a clear message. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/mem.h"
#include "config/config.h"
#include "experiment/synth.h"
#include "schemes/granularity.h"
#include "tests/util.h"

static const char *H;

static const char *write_config(const char *dir, const char *name, const char *extra_synth)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    char text[4096];
    snprintf(text, sizeof text,
             "{\"name\": \"%s\", \"seed\": 3,\n"
             " \"schemes\": [\n"
             "  {\"scheme\": \"asymmetric\", \"bits\": 8, \"nudge_zero\": [true, false]},\n"
             "  {\"scheme\": \"symmetric\", \"granularity\": [\"per-tensor\", \"per-channel\"]},\n"
             "  {\"scheme\": \"no-128\"},\n"
             "  {\"scheme\": \"linear4\", \"granularity\": \"per-group\", \"group_size\": 16},\n"
             "  {\"scheme\": \"lut4\", \"codebook\": \"kmeans\"},\n"
             "  {\"scheme\": \"binary\", \"granularity\": \"per-channel\"}],\n"
             " \"tensors\": {\"synthetic\": [\n"
             "  {\"distribution\": \"gaussian\", \"n\": 4096, \"channels\": 8, \"seed\": 11},\n"
             "  {\"distribution\": \"relu_gaussian\", \"n\": 4096, \"channels\": 8, \"seed\": 12,"
             " \"zero_share\": 0.4}%s]}}\n",
             name, extra_synth ? extra_synth : "");
    zp_test_write_file(path, text);
    return path;
}

static int count_lines(const char *path)
{
    char *t = zp_test_read_file(path, NULL);
    if (!t)
        return -1;
    int n = 0;
    for (char *p = t; *p; p++)
        n += *p == '\n';
    free(t);
    return n;
}

static void test_tensor_run_outputs(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("run");
    char d[1024];
    snprintf(d, sizeof d, "%s", dir);
    const char *cfg = write_config(d, "t1", NULL);
    char *out = NULL;
    int rc = zp_test_sh(&out, "%s run %s --out %s/out --quiet", H, cfg, d);
    if (rc != 0)
        fail_msg("harness run exited %d:\n%s", rc, out);
    free(out);
    char p[1200];
    snprintf(p, sizeof p, "%s/out/tensors.csv", d);
    assert_int_equal(count_lines(p), 1 + 8 * 2); /* header + variants x tensors */
    snprintf(p, sizeof p, "%s/out/run.json", d);
    char *rj = zp_test_read_file(p, NULL);
    assert_non_null(rj);
    const char *keys[] = {"\"config\"", "\"plan\"", "\"git_revision\"", "\"compiler\"",
                          "\"cpu_model\"", "\"start_time\"", "\"end_time\"", "\"seed\"",
                          "\"phase_seconds\"", "\"plots\":"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!strstr(rj, keys[i]))
            fail_msg("run.json lacks %s", keys[i]);
    free(rj);
    /* The committed plots/style.gp is the style the harness writes. */
    char cmp[1300];
    snprintf(cmp, sizeof cmp, "cmp -s plots/style.gp %s/out/plots/style.gp", d);
    if (zp_test_sh(NULL, "%s", cmp) != 0)
        fail_msg("plots/style.gp differs from the style the harness writes (%s)", cmp);
    const char *figs[] = {"tensors_sqnr.png", "tensors_sqnr.gp", "tensors_zero_error.png",
                          "tensors_zero_error.gp"};
    for (size_t i = 0; i < sizeof figs / sizeof *figs; i++) {
        struct stat st;
        snprintf(p, sizeof p, "%s/out/plots/%s", d, figs[i]);
        if (stat(p, &st) != 0 || st.st_size == 0)
            fail_msg("figure %s missing or empty", p);
    }
}

/* Splits a CSV line without quoted fields into fields (in place). */
static int split(char *line, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == ',') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

static int col(char **hdr, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(hdr[i], name) == 0)
            return i;
    fail_msg("no column %s", name);
    return -1;
}

/* Recomputes every tensor metric of one row from the definitions, with the data
 * regenerated from the same seed, and compares with what the harness wrote. */
static void test_metrics_independent(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("metrics");
    char d[1024];
    snprintf(d, sizeof d, "%s", dir);
    const char *cfg = write_config(d, "t2", NULL);
    assert_int_equal(zp_test_sh(NULL, "%s run %s --out %s/out --quiet --no-plots", H, cfg, d), 0);
    char p[1200];
    snprintf(p, sizeof p, "%s/out/tensors.csv", d);
    char *text = zp_test_read_file(p, NULL);
    assert_non_null(text);
    char *save = NULL;
    char *hline = strtok_r(text, "\n", &save);
    char *hdr[32];
    int nh = split(hline, hdr, 32);
    int c_tensor = col(hdr, nh, "tensor"), c_label = col(hdr, nh, "label");
    int c_mse = col(hdr, nh, "mse"), c_sqnr = col(hdr, nh, "sqnr_db");
    int c_bias = col(hdr, nh, "bias"), c_bz = col(hdr, nh, "bias_at_zero");
    int c_zf = col(hdr, nh, "zero_fraction"), c_ze = col(hdr, nh, "zero_error");
    struct zp_config conf;
    struct zp_err err = {0};
    assert_int_equal(zp_config_load(cfg, NULL, &conf, &err), ZP_OK);
    int checked = 0;
    for (char *line; (line = strtok_r(NULL, "\n", &save));) {
        char *f[32];
        split(line, f, 32);
        const struct zp_synth_cfg *sy = NULL;
        for (size_t i = 0; i < conf.n_synth; i++)
            if (strcmp(conf.synth[i].name, f[c_tensor]) == 0)
                sy = &conf.synth[i];
        const struct zp_variant *v = NULL;
        for (size_t i = 0; i < conf.n_variants; i++)
            if (strcmp(conf.variants[i].label, f[c_label]) == 0)
                v = &conf.variants[i];
        assert_non_null(sy);
        assert_non_null(v);
        float *x = zp_synth_generate(sy);
        float *xq = zp_alloc((size_t)sy->n * sizeof *xq);
        int64_t shape[2] = {sy->channels, sy->n / sy->channels};
        assert_int_equal(zp_fake_quant(&v->w, x, shape, 2, "t", xq, NULL, &err), ZP_OK);
        double s2 = 0, e2 = 0, es = 0, zs = 0;
        long nz = 0;
        for (int64_t i = 0; i < sy->n; i++) {
            double e = (double)xq[i] - x[i];
            s2 += (double)x[i] * x[i];
            e2 += e * e;
            es += e;
            if (x[i] == 0.0f) {
                nz++;
                zs += e;
            }
        }
        double n = (double)sy->n;
        if (!zp_test_close(atof(f[c_mse]), e2 / n, 1e-6) ||
            !zp_test_close(atof(f[c_sqnr]), 10 * log10(s2 / e2), 1e-6) ||
            !zp_test_close(atof(f[c_zf]), nz / n, 1e-6) ||
            fabs(atof(f[c_bias]) - es / n) > 1e-6 * sqrt(e2 / n))
            fail_msg("row %s / %s: mse %s vs %g, sqnr %s vs %g, bias %s vs %g", f[c_tensor],
                     f[c_label], f[c_mse], e2 / n, f[c_sqnr], 10 * log10(s2 / e2), f[c_bias],
                     es / n);
        if (nz && fabs(atof(f[c_bz]) - zs / nz) > 1e-6 * fmax(fabs(zs / nz), 1e-12))
            fail_msg("row %s / %s: bias_at_zero %s vs %g", f[c_tensor], f[c_label], f[c_bz],
                     zs / nz);
        /* zero_error of the naive per-tensor mapping, straight from docs/definitions.md:
         * s = (max - min)/255, 0.0 decodes to min + s * round(-min / s), in float as the
         * scheme stores min and s (the subtraction cancels: double would differ by 1e-5). */
        if (strstr(f[c_label], "asymmetric 8b per-tensor nudge_zero=false")) {
            float mn = x[0], mx = x[0];
            for (int64_t i = 1; i < sy->n; i++) {
                mn = fminf(mn, x[i]);
                mx = fmaxf(mx, x[i]);
            }
            float s = (mx - mn) / 255.0f;
            float x0 = mn + s * (float)nearbyint(-(double)mn / s);
            if (!zp_test_close(atof(f[c_ze]), fabs(x0), 1e-5))
                fail_msg("zero_error %s vs independent %g (min %g, max %g)", f[c_ze], fabs(x0),
                         mn, mx);
            if (strcmp(f[c_tensor], "gaussian") == 0)
                assert_true(fabs(x0) > 0); /* the naive mapping misses 0.0 here */
            else
                assert_true(x0 == 0.0f); /* ReLU data: min = 0 is a level */
        }
        if (strstr(f[c_label], "nudge_zero=true"))
            assert_true(atof(f[c_ze]) == 0.0);
        zp_free(x);
        zp_free(xq);
        checked++;
    }
    assert_int_equal(checked, 16);
    zp_config_free(&conf);
    free(text);
}

static int same_file(const char *a, const char *b)
{
    return zp_test_sh(NULL, "cmp -s '%s' '%s'", a, b) == 0;
}

/* A run killed with SIGKILL at an arbitrary point, then resumed, writes the same
 * CSV as an uninterrupted run; the interrupted folder never holds a broken file. */
static void test_kill_and_resume(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("resume");
    char d[1024];
    snprintf(d, sizeof d, "%s", dir);
    /* Bigger tensors so that the run takes long enough to be killed midway. */
    const char *big = ",{\"distribution\":\"laplace\",\"n\":1048576,\"channels\":256,\"seed\":5},"
                      "{\"distribution\":\"uniform\",\"n\":1048576,\"channels\":256,\"seed\":6}";
    const char *cfg = write_config(d, "t3", big);
    assert_int_equal(zp_test_sh(NULL, "%s run %s --out %s/ref --quiet --no-plots", H, cfg, d), 0);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s run %s --out %s/killed --quiet --no-plots", H, cfg, d);
    for (int attempt = 0; attempt < 3; attempt++) {
        pid_t pid = fork();
        if (pid == 0) {
            execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
            _exit(127);
        }
        usleep(250000 + 150000 * attempt);
        char *out = NULL;
        zp_test_sh(&out, "pkill -9 -f -- '--out %s/killed'", d);
        free(out);
        int st;
        waitpid(pid, &st, 0);
        /* Whatever is there must be complete rows only: every line has all columns. */
        char p[1200];
        snprintf(p, sizeof p, "%s/killed/tensors.csv", d);
        char *t = zp_test_read_file(p, NULL);
        if (t) {
            assert_true(t[strlen(t) - 1] == '\n');
            free(t);
        }
        snprintf(cmd, sizeof cmd, "%s run %s --out %s/killed --quiet --no-plots --resume", H,
                 cfg, d);
    }
    char *out = NULL;
    int rc = zp_test_sh(&out, "%s", cmd);
    if (rc != 0)
        fail_msg("resume exited %d: %s", rc, out);
    free(out);
    char a[1200], b[1200];
    snprintf(a, sizeof a, "%s/ref/tensors.csv", d);
    snprintf(b, sizeof b, "%s/killed/tensors.csv", d);
    assert_true(same_file(a, b));
}

static void test_sigint_keeps_cells(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("sigint");
    char d[1024];
    snprintf(d, sizeof d, "%s", dir);
    /* Enough work that the signal lands mid-run on a fast machine too. */
    const char *big = ",{\"distribution\":\"laplace\",\"n\":4194304,\"channels\":256,\"seed\":5},"
                      "{\"distribution\":\"gaussian\",\"n\":4194304,\"channels\":256,\"seed\":6},"
                      "{\"distribution\":\"uniform\",\"n\":4194304,\"channels\":256,\"seed\":7}";
    const char *cfg = write_config(d, "t4", big);
    char *out = NULL;
    int rc = zp_test_sh(&out,
                        "%s run %s --out %s/o --no-plots 2>%s/err & pid=$!; sleep 0.4; "
                        "kill -INT $pid; wait $pid",
                        H, cfg, d, d);
    free(out);
    char p[1200];
    snprintf(p, sizeof p, "%s/err", d);
    char *msg = zp_test_read_file(p, NULL);
    if (rc == 0) { /* finished before the signal: nothing to check */
        free(msg);
        skip();
    }
    assert_int_equal(rc, 1);
    assert_non_null(strstr(msg, "interrupted by signal 2"));
    free(msg);
    rc = zp_test_sh(&out, "%s run %s --out %s/o --no-plots --quiet --resume", H, cfg, d);
    free(out);
    assert_int_equal(rc, 0);
}

static void test_shard_and_merge(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("shard");
    char d[1024];
    snprintf(d, sizeof d, "%s", dir);
    const char *cfg = write_config(d, "t5", NULL);
    assert_int_equal(zp_test_sh(NULL, "%s run %s --out %s/single --quiet --no-plots", H, cfg, d),
                     0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(zp_test_sh(NULL, "%s run %s --out %s/s%d --shard %d/3 --quiet --no-plots",
                                    H, cfg, d, i, i),
                         0);
    char *out = NULL;
    int rc = zp_test_sh(&out, "%s merge --out %s/merged --no-plots %s/s0 %s/s1 %s/s2", H, d, d, d,
                        d);
    if (rc)
        fail_msg("merge: %s", out);
    free(out);
    char a[1200], b[1200];
    snprintf(a, sizeof a, "%s/single/tensors.csv", d);
    snprintf(b, sizeof b, "%s/merged/tensors.csv", d);
    assert_true(same_file(a, b));
    /* A missing shard is reported, not silently merged into a short table. */
    rc = zp_test_sh(&out, "%s merge --out %s/partial --no-plots %s/s0 %s/s1", H, d, d, d);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "cells are missing"));
    free(out);
    /* A shard of another config is refused. */
    const char *other = write_config(d, "t6", NULL);
    assert_int_equal(zp_test_sh(NULL, "%s run %s --out %s/other --shard 2/3 --quiet --no-plots", H,
                                other, d),
                     0);
    rc = zp_test_sh(&out, "%s merge --out %s/bad %s/s0 %s/s1 %s/other", H, d, d, d, d);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "different config or code version"));
    free(out);
    /* GNU parallel, the one-machine way to spread a sweep. */
    if (zp_test_sh(NULL, "command -v parallel") == 0) {
        rc = zp_test_sh(&out,
                        "parallel --will-cite %s run %s --out %s/p{} --shard {}/3 --quiet "
                        "--no-plots ::: 0 1 2 && %s merge --out %s/pm --no-plots %s/p0 %s/p1 %s/p2",
                        H, cfg, d, H, d, d, d, d);
        if (rc)
            fail_msg("parallel: %s", out);
        free(out);
        snprintf(b, sizeof b, "%s/pm/tensors.csv", d);
        assert_true(same_file(a, b));
    }
}


/* Issue 17.10: a second run on a folder in use is refused and names the holder;
 * the first run's folder is left alone. */
static void test_concurrent_runs_refused(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("lock");
    char d[1024];
    snprintf(d, sizeof d, "%s", dir);
    const char *big = ",{\"distribution\":\"laplace\",\"n\":4194304,\"channels\":256,\"seed\":5},"
                      "{\"distribution\":\"gaussian\",\"n\":4194304,\"channels\":256,\"seed\":6}";
    char cfg1[1100];
    snprintf(cfg1, sizeof cfg1, "%s", write_config(d, "l1", big));
    const char *cfg2 = write_config(d, "l2", NULL);
    char *out = NULL;
    /* the first run holds the folder while the second tries to --force it */
    int rc = zp_test_sh(&out,
                        "%s run %s --out %s/o --quiet --no-plots & pid=$!; "
                        "i=0; while [ ! -s %s/o/.cells/LOCK ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; "
                        "%s run %s --out %s/o --quiet --no-plots --force; rc=$?; wait $pid; exit $rc",
                        H, cfg1, d, d, H, cfg2, d);
    if (strstr(out, "in use by another harness process") == NULL)
        fail_msg("second run not refused (exit %d):\n%s", rc, out);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "pid "));
    assert_non_null(strstr(out, "l1.json"));
    free(out);
    /* the first run finished with its own config's rows only */
    char p[1200];
    snprintf(p, sizeof p, "%s/o/tensors.csv", d);
    assert_int_equal(count_lines(p), 1 + 8 * 4);
    /* and once it is done, the folder is free again */
    assert_int_equal(zp_test_sh(NULL, "%s run %s --out %s/o --quiet --no-plots --force", H, cfg2, d), 0);
}

/* Issue 17.11: resuming with a replaced input file is refused, naming it. */
static void test_resume_checks_inputs(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("inputs");
    char d[1024], cfg[1200], text[2048];
    snprintf(d, sizeof d, "%s", dir);
    assert_int_equal(zp_test_sh(NULL, "cp models/fashion_mobilenet.onnx %s/m.onnx", d), 0);
    snprintf(cfg, sizeof cfg, "%s/w.json", d);
    snprintf(text, sizeof text,
             "{\"name\": \"w\", \"schemes\": [{\"scheme\": \"asymmetric\", \"bits\": [4, 8]}],"
             " \"tensors\": {\"models\": [\"%s/m.onnx\"]}}",
             d);
    zp_test_write_file(cfg, text);
    assert_int_equal(zp_test_sh(NULL, "%s run %s --out %s/o --quiet --no-plots", H, cfg, d), 0);
    /* the same inputs resume (nothing left to do) */
    assert_int_equal(zp_test_sh(NULL, "%s run %s --out %s/o --quiet --no-plots --resume", H, cfg, d), 0);
    /* another model under the same name */
    assert_int_equal(zp_test_sh(NULL, "cp models/fashion_mobilenet_linear.onnx %s/m.onnx", d), 0);
    char *out = NULL;
    int rc = zp_test_sh(&out, "%s run %s --out %s/o --quiet --no-plots --resume", H, cfg, d);
    if (rc != 2 || !strstr(out, "m.onnx") || !strstr(out, "changed"))
        fail_msg("resume with a replaced model: exit %d:\n%s", rc, out);
    free(out);
}

/* Issue 17.11: a damaged fragment is recomputed by --resume (to the same CSV) and
 * refused by merge. */
static void test_damaged_fragment(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("damaged");
    char d[1024];
    snprintf(d, sizeof d, "%s", dir);
    const char *cfg = write_config(d, "dm", NULL);
    assert_int_equal(zp_test_sh(NULL, "%s run %s --out %s/ref --quiet --no-plots", H, cfg, d), 0);
    assert_int_equal(zp_test_sh(NULL, "%s run %s --out %s/o --quiet --no-plots", H, cfg, d), 0);
    /* truncate one fragment, empty another */
    assert_int_equal(zp_test_sh(NULL,
                                "cd %s/o/.cells && set -- $(ls *.tensors.csv) && "
                                "head -c 20 $1 > t && mv t $1 && : > $3",
                                d),
                     0);
    char *out = NULL;
    int rc = zp_test_sh(&out, "%s run %s --out %s/o --quiet --no-plots --resume", H, cfg, d);
    if (rc != 0 || !strstr(out, "the cell is run again"))
        fail_msg("resume over damaged fragments: exit %d:\n%s", rc, out);
    free(out);
    char a[1200], b[1200];
    snprintf(a, sizeof a, "%s/ref/tensors.csv", d);
    snprintf(b, sizeof b, "%s/o/tensors.csv", d);
    assert_true(same_file(a, b));
    /* merge refuses a shard with a damaged cell */
    for (int i = 0; i < 2; i++)
        assert_int_equal(zp_test_sh(NULL, "%s run %s --out %s/s%d --shard %d/2 --quiet --no-plots", H,
                                    cfg, d, i, i),
                         0);
    assert_int_equal(zp_test_sh(NULL, "cd %s/s1/.cells && set -- $(ls *.tensors.csv) && : > $1", d), 0);
    rc = zp_test_sh(&out, "%s merge --out %s/m --no-plots %s/s0 %s/s1", H, d, d, d);
    if (rc != 1 || !strstr(out, "damaged"))
        fail_msg("merge with a damaged shard: exit %d:\n%s", rc, out);
    free(out);
}

/* Issue 17.12: the plan's size is reported, and a plan over the limit is refused
 * without --yes before anything is written. */
static void test_plan_size(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("plansize");
    char d[1024];
    snprintf(d, sizeof d, "%s", dir);
    char *out = NULL;
    const char *cfg = write_config(d, "ps", NULL);
    assert_int_equal(zp_test_sh(&out, "%s run %s --out %s/small --no-plots", H, cfg, d), 0);
    assert_non_null(strstr(out, "plan: 16 cells"));
    free(out);
    /* 8 variants x 1260 synthetic tensors = 10080 cells */
    size_t cap = 1 << 17, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text + len, cap - len,
                            "{\"name\": \"huge\", \"schemes\": [{\"scheme\": \"asymmetric\", \"bits\": [2, 3, 4, "
                            "5, 6, 7, 8], \"nudge_zero\": true}, {\"scheme\": \"binary\"}],\n"
                            " \"tensors\": {\"synthetic\": [");
    for (int i = 0; i < 1260; i++)
        len += (size_t)snprintf(text + len, cap - len,
                                "%s{\"distribution\": \"uniform\", \"n\": 64, \"channels\": 1, \"seed\": %d}",
                                i ? "," : "", i + 1);
    snprintf(text + len, cap - len, "]}}\n");
    char p[1200];
    snprintf(p, sizeof p, "%s/huge.json", d);
    zp_test_write_file(p, text);
    free(text);
    int rc = zp_test_sh(&out, "%s run %s --out %s/huge --quiet --no-plots", H, p, d);
    if (rc != 2 || !strstr(out, "10080 cells") || !strstr(out, "--yes"))
        fail_msg("a 10080-cell plan: exit %d:\n%s", rc, out);
    free(out);
    struct stat st;
    snprintf(p, sizeof p, "%s/huge", d);
    assert_true(stat(p, &st) != 0);
}

static void test_exit_codes(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("exit");
    char d[1024];
    snprintf(d, sizeof d, "%s", dir);
    char *out = NULL;
    assert_int_equal(zp_test_sh(&out, "%s run", H), 2);
    assert_non_null(strstr(out, "missing CONFIG"));
    free(out);
    assert_int_equal(zp_test_sh(&out, "%s run /nonexistent.json", H), 2);
    assert_non_null(strstr(out, "/nonexistent.json: cannot open"));
    free(out);
    assert_int_equal(zp_test_sh(&out, "%s run x.json --bogus", H), 2);
    free(out);
    assert_int_equal(zp_test_sh(&out, "%s run x.json --shard 3/3", H), 2);
    assert_non_null(strstr(out, "--shard"));
    free(out);
    assert_int_equal(zp_test_sh(&out, "%s frobnicate", H), 2);
    free(out);
    char p[1100];
    snprintf(p, sizeof p, "%s/bad.json", d);
    zp_test_write_file(p, "{\"schemes\":[{\"scheme\":\"asymmetric\",\"bits\":12}],"
                          "\"tensors\":{\"synthetic\":[{\"distribution\":\"gaussian\"}]}}");
    assert_int_equal(zp_test_sh(&out, "%s run %s --out %s/o", H, p, d), 2);
    assert_non_null(strstr(out, "bad.json: schemes[0].bits: expected 2..8, got 12"));
    free(out);
    /* Nothing half-written for a config error. */
    struct stat st;
    snprintf(p, sizeof p, "%s/o", d);
    assert_true(stat(p, &st) != 0);
    /* An existing run folder needs --resume or --force. */
    const char *cfg = write_config(d, "t7", NULL);
    assert_int_equal(zp_test_sh(NULL, "%s run %s --out %s/o2 --quiet --no-plots", H, cfg, d), 0);
    assert_int_equal(zp_test_sh(&out, "%s run %s --out %s/o2 --quiet --no-plots", H, cfg, d), 2);
    assert_non_null(strstr(out, "use --resume"));
    free(out);
    assert_int_equal(
        zp_test_sh(NULL, "%s run %s --out %s/o2 --quiet --no-plots --force", H, cfg, d), 0);
    /* --resume with another config is refused. */
    const char *cfg2 = write_config(d, "t8", NULL);
    assert_int_equal(zp_test_sh(&out, "%s run %s --out %s/o2 --quiet --resume", H, cfg2, d), 2);
    assert_non_null(strstr(out, "different config"));
    free(out);
    /* an --out too long for the run folder's buffers is refused, not cut */
    char longout[1200];
    memset(longout, 'x', 1100);
    longout[1100] = '\0';
    assert_int_equal(zp_test_sh(&out, "%s run %s --out %s/%s --quiet --no-plots", H, cfg, d, longout), 2);
    assert_non_null(strstr(out, "the limit is 1023"));
    free(out);
    assert_int_equal(zp_test_sh(&out, "%s --version", H), 0);
    assert_non_null(strstr(out, "zeropoint"));
    free(out);
    assert_int_equal(zp_test_sh(&out, "%s help run", H), 0);
    assert_non_null(strstr(out, "--resume"));
    free(out);
}

static void test_list(void **state)
{
    (void)state;
    char *out = NULL;
    const char *b = getenv("ZP_BUILD");
    int rc = zp_test_sh(&out, "%s list --plugin %s/plugins/ternary.so", H,
                        b && *b ? b : "build/release");
    if (rc)
        fail_msg("list: %s", out);
    const char *names[] = {"asymmetric", "symmetric", "no-128", "linear4", "lut4", "binary",
                           "ternary", "nudge_zero", "narrow_range", "codebook"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strstr(out, names[i]))
            fail_msg("harness list lacks %s:\n%s", names[i], out);
    free(out);
}

int main(void)
{
    H = zp_test_harness();
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_tensor_run_outputs), cmocka_unit_test(test_metrics_independent),
        cmocka_unit_test(test_kill_and_resume),    cmocka_unit_test(test_sigint_keeps_cells),
        cmocka_unit_test(test_shard_and_merge),    cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_list),              cmocka_unit_test(test_concurrent_runs_refused),
        cmocka_unit_test(test_resume_checks_inputs), cmocka_unit_test(test_damaged_fragment),
        cmocka_unit_test(test_plan_size),
    };
    return ZP_RUN_TESTS(t);
}
