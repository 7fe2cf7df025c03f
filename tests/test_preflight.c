/* A run that fails on its inputs writes nothing: every model, dataset and labels
 * file is opened and checked before the run folder exists, and an existing
 * --out folder is left exactly as it was. Each case runs the real binary on a
 * config with one bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/data_files.h"
#include "tests/util.h"

#define IDX "/usr/share/datasets/fashion-mnist/"

/* A config with two models; model_a / model_b are the two ONNX paths and
 * labels the eval labels file. */
static void write_config(const char *path, const char *model_a, const char *model_b,
                         const char *labels)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"name\": \"preflight\", \"seed\": 1,\n"
             " \"schemes\": [{\"scheme\": \"symmetric\", \"bits\": 8}],\n"
             " \"datasets\": {\n"
             "   \"test\": {\"format\": \"idx\", \"images\": \"" IDX "t10k-images-idx3-ubyte.gz\",\n"
             "            \"labels\": \"%s\", \"mean\": [72.94], \"std\": [90.0]}},\n"
             " \"models\": [\n"
             "   {\"name\": \"a\", \"path\": \"%s\", \"eval\": \"test\", \"modes\": [\"weights\"],\n"
             "    \"calibration\": {\"method\": \"minmax\", \"size\": 10}, \"batch\": 10},\n"
             "   {\"name\": \"b\", \"path\": \"%s\", \"eval\": \"test\", \"modes\": [\"weights\"],\n"
             "    \"calibration\": {\"method\": \"minmax\", \"size\": 10}, \"batch\": 10}]}\n",
             labels, model_a, model_b);
    zp_test_write_file(path, text);
}

static int have_fashion(void)
{
    struct stat st;
    return stat(IDX "t10k-images-idx3-ubyte.gz", &st) == 0;
}

/* Runs the config into out; returns the exit status, *log gets the output. */
static int run(const char *cfg, const char *out, const char *extra, char **log)
{
    return zp_test_sh(log, "%s run %s --out %s --limit 20 --quiet %s 2>&1", zp_test_harness(), cfg,
                      out, extra);
}

static void assert_absent(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0)
        fail_msg("%s exists after a run that failed on its inputs", path);
}

static void bad_model_leaves_nothing(void **state)
{
    (void)state;
    if (!have_fashion())
        skip();
    const char *d = zp_test_tmpdir("preflight_model");
    char cfg[512], junk[512], out[512];
    snprintf(junk, sizeof junk, "%s/junk.onnx", d);
    zp_test_write_file(junk, "this is not a protobuf");
    snprintf(cfg, sizeof cfg, "%s/c.json", d);
    write_config(cfg, junk, "models/fashion_mobilenet.onnx", IDX "t10k-labels-idx1-ubyte.gz");
    snprintf(out, sizeof out, "%s/out", d);
    char *log = NULL;
    int rc = run(cfg, out, "", &log);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(log, "junk.onnx"));
    assert_absent(out);
    free(log);
}

/* The first model is fine: the second one's failure must still come first. */
static void second_model_checked_before_writing(void **state)
{
    (void)state;
    if (!have_fashion())
        skip();
    const char *d = zp_test_tmpdir("preflight_second");
    char cfg[512], out[512], missing[512];
    snprintf(missing, sizeof missing, "%s/missing.onnx", d);
    snprintf(cfg, sizeof cfg, "%s/c.json", d);
    write_config(cfg, "models/fashion_mobilenet.onnx", missing, IDX "t10k-labels-idx1-ubyte.gz");
    snprintf(out, sizeof out, "%s/out", d);
    char *log = NULL;
    int rc = run(cfg, out, "", &log);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(log, "missing.onnx"));
    assert_absent(out);
    free(log);
}

static void bad_labels_leave_nothing(void **state)
{
    (void)state;
    if (!have_fashion())
        skip();
    const char *d = zp_test_tmpdir("preflight_labels");
    char cfg[512], out[512], labels[512];
    snprintf(labels, sizeof labels, "%s/labels.idx", d);
    zp_test_write_file(labels, "\x00\x00\x08\x01 truncated");
    snprintf(cfg, sizeof cfg, "%s/c.json", d);
    write_config(cfg, "models/fashion_mobilenet.onnx", "models/fashion_mobilenet.onnx", labels);
    snprintf(out, sizeof out, "%s/out", d);
    char *log = NULL;
    int rc = run(cfg, out, "", &log);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(log, "labels.idx"));
    assert_absent(out);
    free(log);
}

/* The model's input does not match the dataset's examples (a 3-channel model on
 * 1-channel 28x28 images): found before the folder exists. */
static void shape_mismatch_leaves_nothing(void **state)
{
    (void)state;
    if (!have_fashion())
        skip();
    const char *d = zp_test_tmpdir("preflight_shape");
    char cfg[512], out[512];
    snprintf(cfg, sizeof cfg, "%s/c.json", d);
    write_config(cfg, "models/fashion_mobilenet.onnx", "tests/data/torch_small.onnx",
                 IDX "t10k-labels-idx1-ubyte.gz");
    snprintf(out, sizeof out, "%s/out", d);
    char *log = NULL;
    int rc = run(cfg, out, "", &log);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(log, "torch_small.onnx"));
    assert_absent(out);
    free(log);
}

/* An existing run folder survives a --force run whose input is bad, byte for byte. */
static void existing_folder_untouched(void **state)
{
    (void)state;
    if (!have_fashion())
        skip();
    const char *d = zp_test_tmpdir("preflight_existing");
    char cfg[512], out[512], keep[600], junk[512];
    snprintf(out, sizeof out, "%s/out", d);
    mkdir(out, 0755);
    snprintf(keep, sizeof keep, "%s/accuracy.csv", out);
    zp_test_write_file(keep, "an earlier run's rows\n");
    snprintf(junk, sizeof junk, "%s/junk.onnx", d);
    zp_test_write_file(junk, "");
    snprintf(cfg, sizeof cfg, "%s/c.json", d);
    write_config(cfg, junk, junk, IDX "t10k-labels-idx1-ubyte.gz");
    char *before = NULL, *after = NULL, *log = NULL;
    assert_int_equal(zp_test_sh(&before, "cd %s && find . -exec ls -ld --time-style=+%%s {} + | sort && "
                                         "find . -type f -exec md5sum {} + | sort", out), 0);
    int rc = run(cfg, out, "--force", &log);
    assert_int_equal(rc, 1);
    assert_int_equal(zp_test_sh(&after, "cd %s && find . -exec ls -ld --time-style=+%%s {} + | sort && "
                                        "find . -type f -exec md5sum {} + | sort", out), 0);
    assert_string_equal(before, after);
    free(before);
    free(after);
    free(log);
}

/* A calibration size above the data is capped, with a warning, and the CSVs record
 * the size used (here the eval set is the calibration set, cut to 20 by --limit). */
static void calibration_size_capped_and_recorded(void **state)
{
    (void)state;
    if (!have_fashion())
        skip();
    const char *d = zp_test_tmpdir("preflight_calib");
    char cfg[512], out[512], text[2048];
    snprintf(cfg, sizeof cfg, "%s/c.json", d);
    snprintf(text, sizeof text,
             "{\"name\": \"calsize\", \"seed\": 1,\n"
             " \"schemes\": [{\"scheme\": \"symmetric\", \"bits\": 8}],\n"
             " \"datasets\": {\"test\": {\"format\": \"idx\", \"images\": \"" IDX "t10k-images-idx3-ubyte.gz\",\n"
             "   \"labels\": \"" IDX "t10k-labels-idx1-ubyte.gz\", \"mean\": [72.94], \"std\": [90.0]}},\n"
             " \"models\": [{\"name\": \"a\", \"path\": \"models/fashion_mobilenet.onnx\", \"eval\": \"test\",\n"
             "   \"modes\": [\"both\"], \"calibration\": {\"method\": \"minmax\", \"size\": 50},\n"
             "   \"batch\": 10}]}\n");
    zp_test_write_file(cfg, text);
    snprintf(out, sizeof out, "%s/out", d);
    char *log = NULL;
    int rc = zp_test_sh(&log, "%s run %s --out %s --limit 20 --quiet --no-plots 2>&1", zp_test_harness(),
                        cfg, out);
    if (rc != 0)
        fail_msg("run failed: %s", log);
    assert_non_null(strstr(log, "warning: models[0].calibration[0].size: 50 examples asked"));
    char p[600];
    snprintf(p, sizeof p, "%s/accuracy.csv", out);
    char *csv = zp_test_read_file(p, NULL);
    assert_non_null(csv);
    /* the calib_size column holds 20, the size used */
    char *hdr_end = strchr(csv, '\n');
    assert_non_null(hdr_end);
    *hdr_end = '\0';
    int col = 0, want = -1;
    for (char *t = strtok(csv, ","); t; t = strtok(NULL, ","), col++)
        if (strcmp(t, "calib_size") == 0)
            want = col;
    assert_true(want >= 0);
    char *row = hdr_end + 1;
    if (strstr(row, ",float,float,") && strchr(row, '\n')) /* the float model's row comes first */
        row = strchr(row, '\n') + 1;
    col = 0;
    char *f = row;
    for (char *c = row; *c && col < want; c++)
        if (*c == ',') {
            col++;
            f = c + 1;
        }
    assert_int_equal(atoi(f), 20);
    free(csv);
    free(log);
}

/* Only the calibration examples a setting draws are decoded: an image folder whose
 * 4th image is corrupt calibrates on its first two (order "first") without
 * touching it; drawing all of them finds it, before anything is written. */
static void only_drawn_calibration_examples_decoded(void **state)
{
    (void)state;
    if (!have_fashion())
        skip();
    const char *d = zp_test_tmpdir("preflight_draw");
    uint8_t px[28 * 28];
    char csv[512] = "file,class_index\n";
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "img%d.png", i);
        for (int k = 0; k < 28 * 28; k++)
            px[k] = (uint8_t)(k * (i + 3));
        if (i == 3)
            zp_test_write_file(zp_td_tpath(d, name), "\x89PNG truncated");
        else
            zp_td_write_png(zp_td_tpath(d, name), 28, 28, 1, px);
        snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%s,%d\n", name, i);
    }
    zp_test_write_file(zp_td_tpath(d, "labels.csv"), csv);
    for (int size = 2; size <= 5; size += 3) {
        char cfg[512], out[512], text[2048];
        snprintf(cfg, sizeof cfg, "%s/c%d.json", d, size);
        snprintf(text, sizeof text,
                 "{\"name\": \"draw\", \"seed\": 1,\n"
                 " \"schemes\": [{\"scheme\": \"symmetric\", \"bits\": 8}],\n"
                 " \"datasets\": {\"test\": {\"format\": \"idx\", \"images\": \"" IDX "t10k-images-idx3-ubyte.gz\",\n"
                 "   \"labels\": \"" IDX "t10k-labels-idx1-ubyte.gz\", \"mean\": [72.94], \"std\": [90.0]},\n"
                 "   \"cal\": {\"format\": \"images\", \"images\": \"%s\", \"labels\": \"%s/labels.csv\",\n"
                 "     \"channels\": 1, \"size\": 28, \"resize\": 28, \"mean\": [72.94], \"std\": [90.0]}},\n"
                 " \"models\": [{\"name\": \"a\", \"path\": \"models/fashion_mobilenet.onnx\", \"eval\": \"test\",\n"
                 "   \"calibration_data\": \"cal\", \"modes\": [\"both\"],\n"
                 "   \"calibration\": {\"method\": \"minmax\", \"size\": %d, \"order\": \"first\"},\n"
                 "   \"batch\": 10}]}\n",
                 d, d, size);
        zp_test_write_file(cfg, text);
        snprintf(out, sizeof out, "%s/out%d", d, size);
        char *log = NULL;
        int rc = zp_test_sh(&log, "%s run %s --out %s --limit 20 --no-plots 2>&1", zp_test_harness(), cfg, out);
        if (size == 2) {
            if (rc != 0)
                fail_msg("calibrating on 2 of 5 failed: %s", log);
            assert_non_null(strstr(log, "(2 of 5 examples: the calibration draws)"));
        } else {
            assert_int_equal(rc, 1);
            assert_non_null(strstr(log, "img3.png"));
            assert_absent(out);
        }
        free(log);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_model_leaves_nothing),
        cmocka_unit_test(second_model_checked_before_writing),
        cmocka_unit_test(bad_labels_leave_nothing),
        cmocka_unit_test(shape_mismatch_leaves_nothing),
        cmocka_unit_test(existing_folder_untouched),
        cmocka_unit_test(calibration_size_capped_and_recorded),
        cmocka_unit_test(only_drawn_calibration_examples_decoded),
    };
    return ZP_RUN_TESTS(tests);
}
