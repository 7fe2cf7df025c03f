/* store/: the column tables and the one CSV writer (formats per column, misuse
 * caught), atomic writes naming the errno, the run folder's lock, verified cell
 * markers (damaged fragments refused or recomputed), incremental appends that
 * equal a full assembly byte for byte, input fingerprints, run.json rewrites,
 * and merge refusing shards of other inputs or with damaged cells. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/bench_out.h"
#include "store/csv_out.h"
#include "store/inputs.h"
#include "store/merge.h"
#include "store/results.h"
#include "store/run_info.h"
#include "store/run_json.h"
#include "store/table.h"
#include "tests/util.h"

/* A cleared error (the first error set is kept, so each call gets a fresh one). */
#define E (zp_err_clear(&err), &err)

/* The headers are public interface: the literal lists of the files as released. */
static void test_headers_unchanged(void **state)
{
    (void)state;
    static const char *const want[ZP_N_ALL_TABLES] = {
        "source,tensor,distribution,n,scheme,label,bits,granularity,nudge_zero,narrow_range,options,mse,"
        "sqnr_db,zero_error,zero_error_lsb,zero_fraction,bias,bias_at_zero,bits_per_weight,clip_share,replicate\n",
        "model,dataset,scheme,label,bits,granularity,mode,calibration,calib_size,nudge_zero,narrow_range,"
        "bias_correction,act_scheme,act_bits,options,n_eval,float_top1,top1,top5,drop,agreement,kl,"
        "logit_sqnr_db,bias,weight_calibration,bits_per_weight,clip_share,float_top5,replicate,select_top1,"
        "act_nudge_zero,act_narrow_range,act_options,vs_fakequant_agreement,vs_fakequant_logit_sqnr_db,"
        "images_per_s,speedup_vs_float,rounding,qat_loss,qat_temperature,qat_alpha,equalize,bias_absorption,"
        "nll,ppl,float_nll,kld_mean,kld_p99,kld_max,top1_agreement,mean_abs_dp,quantize_attention,quantize_embedding,qat_optimizer\n",
        "model,dataset,scheme,label,bits,granularity,mode,calibration,nudge_zero,narrow_range,"
        "bias_correction,layer_index,layer,op,sqnr_db,mean_shift,zero_fraction,zero_fraction_relu,"
        "zero_fraction_pad,zero_error,zero_error_lsb,bias_at_zero,act_lo,act_hi,out_zero_error,"
        "out_zero_error_lsb,calib_size,replicate\n",
        "model,layer,x,count\n",
        "model,scheme,label,layer,level,channel\n",
        "cell,model,label,mode,calibration,layer_index,layer,tensor,slice,scale,offset,zero_point,qmin,qmax,"
        "levels\n",
        "cell,model,dataset,scheme,label,bits,granularity,mode,calibration,calib_size,nudge_zero,variant_key,replicates,"
        "deterministic,file,float_file,resamples,level,stats_seed,pairs\n",
        "kernel,scheme,isa,m,n,k,threads,gops,ns_per_call,speedup_vs_f32,vs_anchor,anchor,peak_fraction,"
        "anchor_core\n",
        "class,isa,gops_per_core,ops_per_group\n",
    };
    for (int t = 0; t < ZP_N_ALL_TABLES; t++) {
        struct zp_csv c;
        zp_csv_init(&c);
        zp_csv_header_of(&c, (enum zp_result_table)t);
        assert_string_equal(c.text.s, want[t]);
        zp_csv_free(&c);
        assert_ptr_equal(zp_table_def_by_file(zp_table_file((enum zp_result_table)t)), zp_table_def((enum zp_result_table)t));
    }
    const struct zp_table_def *acc = zp_table_def(ZP_TABLE_ACCURACY);
    assert_int_equal(ZP_COL_TABLE(ZP_ACC_TOP1), ZP_TABLE_ACCURACY);
    assert_string_equal(acc->cols[ZP_COL_INDEX(ZP_ACC_TOP1)].name, "top1");
    assert_string_equal(acc->cols[ZP_COL_INDEX(ZP_ACC_TOP1)].label, "top-1 %");
    assert_int_equal(acc->cols[ZP_COL_INDEX(ZP_ACC_TOP1)].show, ZP_COL_SHOW_PCT);
    assert_int_equal(zp_table_def_col(acc, "drop"), ZP_COL_INDEX(ZP_ACC_DROP));
}

/* By-column rows, set in any order, come out in the table's column order. */
static void test_row_by_column(void **state)
{
    (void)state;
    struct zp_csv a;
    zp_csv_init(&a);
    zp_csv_set_int(&a, ZP_HIST_COUNT, 42);
    zp_csv_set_num(&a, ZP_HIST_X, 0.1);
    zp_csv_set_str(&a, ZP_HIST_LAYER, "conv,1 \"dw\"");
    zp_csv_set_str(&a, ZP_HIST_MODEL, "m");
    zp_csv_end_row(&a);
    zp_csv_set_str(&a, ZP_HIST_MODEL, "m");
    zp_csv_set_str(&a, ZP_HIST_LAYER, "l");
    zp_csv_set_num(&a, ZP_HIST_X, INFINITY);
    zp_csv_set_empty(&a, ZP_HIST_COUNT);
    zp_csv_end_row(&a);
    assert_string_equal(a.text.s, "m,\"conv,1 \"\"dw\"\"\",0.1,42\nm,l,1e+308,\n");
    struct zp_err err = {0};
    assert_int_equal(zp_csv_check(&a, E), ZP_OK);
    assert_int_equal(a.rows, 2);
    zp_csv_free(&a);
}

static void test_row_misuse(void **state)
{
    (void)state;
    struct zp_err err = {0};
    struct zp_csv c;
    /* a column left unset */
    zp_csv_init(&c);
    zp_csv_set_str(&c, ZP_LEV_MODEL, "m");
    zp_csv_end_row(&c);
    assert_int_equal(zp_csv_check(&c, E), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "levels.csv: column 'scheme' not set"));
    zp_csv_free(&c);
    /* a column of another table */
    zp_csv_init(&c);
    zp_csv_set_str(&c, ZP_LEV_MODEL, "m");
    zp_csv_set_num(&c, ZP_ACC_TOP1, 0.5);
    assert_int_equal(zp_csv_check(&c, E), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "'top1' belongs to another table"));
    zp_csv_free(&c);
    /* a value of the wrong kind */
    zp_csv_init(&c);
    zp_csv_set_num(&c, ZP_LEV_MODEL, 1.0);
    assert_int_equal(zp_csv_check(&c, E), ZP_EINVAL);
    assert_non_null(strstr(err.msg, "wrong kind"));
    zp_csv_free(&c);
    /* set twice */
    zp_csv_init(&c);
    zp_csv_set_str(&c, ZP_LEV_MODEL, "m");
    zp_csv_set_str(&c, ZP_LEV_MODEL, "m");
    assert_int_equal(zp_csv_check(&c, E), ZP_EINVAL);
    zp_csv_free(&c);
}

/* kernels.csv keeps %.6g and writes every non-finite number as empty. */
static void test_kernels_format(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("store-kern");
    struct zp_bench_row r[2] = {
        {.kernel = "s8_gemm", .scheme = "asymmetric", .isa = "avx2", .anchor = "openblas", .m = 64, .n = 32,
         .k = 3, .threads = 1, .gops = 123.456789, .ns_per_call = 1e-7 / 3, .speedup_vs_f32 = INFINITY,
         .vs_anchor = NAN, .peak_fraction = 0.5, .anchor_core = "Haswell"},
        {.kernel = "a,b", .scheme = "s", .isa = "ref", .anchor = "", .m = 1, .n = 1, .k = 1, .threads = 2,
         .gops = 1, .ns_per_call = 2, .speedup_vs_f32 = 3, .vs_anchor = 4, .peak_fraction = -INFINITY},
    };
    struct zp_err err = {0};
    assert_int_equal(zp_bench_write_csv(dir, r, 2, E), ZP_OK);
    char p[1200];
    snprintf(p, sizeof p, "%s/kernels.csv", dir);
    char *t = zp_test_read_file(p, NULL);
    assert_non_null(t);
    assert_string_equal(t, "kernel,scheme,isa,m,n,k,threads,gops,ns_per_call,speedup_vs_f32,vs_anchor,anchor,"
                           "peak_fraction,anchor_core\n"
                           "s8_gemm,asymmetric,avx2,64,32,3,1,123.457,3.33333e-08,,,openblas,0.5,Haswell\n"
                           "\"a,b\",s,ref,1,1,1,2,1,2,3,4,,,\n");
    free(t);
}

static void test_atomic_errors(void **state)
{
    (void)state;
    struct zp_err err = {0};
    assert_int_equal(zp_file_write_atomic("/nonexistent-dir/x.csv", "a", 1, E), ZP_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.csv.tmp."));
    assert_non_null(strstr(err.msg, strerror(ENOENT)));
    /* a full disk: the write (or its fsync) fails with ENOSPC, named, and no
     * temporary file stays behind */
    if (access("/dev/full", W_OK) == 0) {
        const char *dir = zp_test_tmpdir("store-full");
        char p[1200];
        snprintf(p, sizeof p, "%s/f", dir);
        assert_int_equal(symlink("/dev/full", p) == 0 || errno == EEXIST, 1);
        /* the temporary name is p.tmp.<pid>: make it the full device */
        char tmp[1300];
        snprintf(tmp, sizeof tmp, "%s.tmp.%d", p, (int)getpid());
        assert_int_equal(symlink("/dev/full", tmp), 0);
        assert_int_equal(zp_file_write_atomic(p, "abc", 3, E), ZP_EIO);
        assert_non_null(strstr(err.msg, strerror(ENOSPC)));
        assert_int_equal(access(tmp, F_OK), -1); /* the temporary name is gone */
    }
}

/* A commit of `n` tensors rows for cell `id` (row text made from seed). */
static char *rows_for(int seed, int n)
{
    struct zp_csv c;
    zp_csv_init(&c);
    for (int i = 0; i < n; i++) {
        zp_csv_set_str(&c, ZP_TENS_SOURCE, "synthetic");
        char name[32];
        snprintf(name, sizeof name, "t%d-%d", seed, i);
        zp_csv_set_str(&c, ZP_TENS_TENSOR, name);
        zp_csv_set_str(&c, ZP_TENS_DISTRIBUTION, "gaussian");
        zp_csv_set_int(&c, ZP_TENS_N, 100 + i);
        zp_csv_set_str(&c, ZP_TENS_SCHEME, "asymmetric");
        zp_csv_set_str(&c, ZP_TENS_LABEL, "a,\"b\"");
        zp_csv_set_int(&c, ZP_TENS_BITS, 8);
        zp_csv_set_str(&c, ZP_TENS_GRANULARITY, "per-tensor");
        zp_csv_set_bool(&c, ZP_TENS_NUDGE_ZERO, 1);
        zp_csv_set_bool(&c, ZP_TENS_NARROW_RANGE, -1);
        zp_csv_set_str(&c, ZP_TENS_OPTIONS, "");
        zp_csv_set_num(&c, ZP_TENS_MSE, seed * 0.25);
        zp_csv_set_num(&c, ZP_TENS_SQNR_DB, NAN);
        zp_csv_set_num(&c, ZP_TENS_ZERO_ERROR, 0);
        zp_csv_set_num(&c, ZP_TENS_ZERO_ERROR_LSB, 0);
        zp_csv_set_num(&c, ZP_TENS_ZERO_FRACTION, 0.5);
        zp_csv_set_num(&c, ZP_TENS_BIAS, -1);
        zp_csv_set_num(&c, ZP_TENS_BIAS_AT_ZERO, 1e-9);
        zp_csv_set_int(&c, ZP_TENS_REPLICATE, 0);
        zp_csv_end_row(&c);
    }
    char *t = zp_strbuf_take(&c.text);
    zp_csv_free(&c);
    return t;
}

static enum zp_status commit(struct zp_run_dir *rd, const char *id, int seed, struct zp_err *err)
{
    const char *rows[ZP_N_TABLES] = {0};
    char *t = rows_for(seed, 1 + seed % 3);
    rows[ZP_TABLE_TENSORS] = t;
    enum zp_status st = zp_cell_commit(rd, id, rows, err);
    free(t);
    return st;
}

static const char *const IDS[6] = {"00000-a", "00001-b", "00002-c", "00003-d", "00004-e", "00005-f"};

static char *read_in(const char *dir, const char *name)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return zp_test_read_file(p, NULL);
}

/* Appending per cell gives the bytes of a full assembly; out of order is caught. */
static void test_append_equals_assembly(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("store-append");
    struct zp_err err = {0};
    struct zp_run_dir rd;
    assert_int_equal(zp_run_dir_open(&rd, dir, 0, 0, "fp", E), ZP_OK);
    assert_int_equal(zp_run_dir_plan(&rd, IDS, 6, E), ZP_OK);
    for (int i = 0; i < 6; i++)
        assert_int_equal(commit(&rd, IDS[i], i, E), ZP_OK);
    assert_int_equal(rd.csv_stale, 0);
    char *appended = read_in(dir, "tensors.csv");
    assert_non_null(appended);
    assert_int_equal(zp_run_assemble(&rd, IDS, 6, E), ZP_OK);
    char *assembled = read_in(dir, "tensors.csv");
    assert_string_equal(appended, assembled);
    zp_run_dir_close(&rd);
    free(appended);

    /* out of plan order (a resume after a hole): the CSVs wait for the assembly */
    const char *dir2 = zp_test_tmpdir("store-order");
    assert_int_equal(zp_run_dir_open(&rd, dir2, 0, 0, "fp", E), ZP_OK);
    assert_int_equal(zp_run_dir_plan(&rd, IDS, 6, E), ZP_OK);
    static const int order[6] = {0, 3, 1, 2, 5, 4};
    for (int i = 0; i < 6; i++)
        assert_int_equal(commit(&rd, IDS[order[i]], order[i], E), ZP_OK);
    assert_int_equal(rd.csv_stale, 1);
    assert_int_equal(zp_run_assemble(&rd, IDS, 6, E), ZP_OK);
    char *again = read_in(dir2, "tensors.csv");
    assert_string_equal(again, assembled);
    zp_run_dir_close(&rd);
    free(again);
    free(assembled);
}

/* Damage fragment of cell 2 in a finished folder by `how`. */
static void damage(const char *dir, int how)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/.cells/%s.tensors.csv", dir, IDS[2]);
    if (how == 0) { /* truncated mid-row */
        char *t = zp_test_read_file(p, NULL);
        t[strlen(t) / 2] = '\0';
        zp_test_write_file(p, t);
        free(t);
    } else if (how == 1) { /* emptied */
        zp_test_write_file(p, "");
    } else if (how == 2) { /* removed */
        unlink(p);
    } else { /* same size, other bytes */
        char *t = zp_test_read_file(p, NULL);
        t[0] = t[0] == 'x' ? 'y' : 'x';
        zp_test_write_file(p, t);
        free(t);
    }
}

static void test_damaged_cells(void **state)
{
    (void)state;
    for (int how = 0; how < 4; how++) {
        const char *dir = zp_test_tmpdir("store-damage");
        struct zp_err err = {0};
        struct zp_run_dir rd;
        assert_int_equal(zp_run_dir_open(&rd, dir, 0, 0, "fp", E), ZP_OK);
        assert_int_equal(zp_run_dir_plan(&rd, IDS, 6, E), ZP_OK);
        for (int i = 0; i < 6; i++)
            assert_int_equal(commit(&rd, IDS[i], i, E), ZP_OK);
        zp_run_dir_close(&rd);
        char *good = read_in(dir, "tensors.csv");
        damage(dir, how);
        char cells[1100];
        snprintf(cells, sizeof cells, "%s/.cells", dir);
        assert_int_equal(zp_cell_verify(cells, IDS[2], NULL, E), ZP_EFORMAT);
        assert_non_null(strstr(err.msg, IDS[2]));
        assert_int_equal(zp_cell_verify(cells, IDS[1], NULL, E), ZP_OK);
        /* a plan over the folder without resume refuses it, naming the cell */
        assert_int_equal(zp_run_dir_open(&rd, dir, 1, 0, "fp", E), ZP_OK);
        rd.resume = 0;
        assert_int_equal(zp_run_dir_plan(&rd, IDS, 6, E), ZP_EFORMAT);
        assert_non_null(strstr(err.msg, IDS[2]));
        zp_run_dir_close(&rd);
        /* resume drops it, and recomputing it restores the same CSV */
        assert_int_equal(zp_run_dir_open(&rd, dir, 1, 0, "fp", E), ZP_OK);
        assert_int_equal(zp_run_dir_plan(&rd, IDS, 6, E), ZP_OK);
        assert_int_equal(rd.recomputed, 1);
        assert_false(zp_cell_done(&rd, IDS[2]));
        assert_true(zp_cell_done(&rd, IDS[3]));
        assert_int_equal(commit(&rd, IDS[2], 2, E), ZP_OK);
        assert_int_equal(zp_run_assemble(&rd, IDS, 6, E), ZP_OK);
        zp_run_dir_close(&rd);
        char *now = read_in(dir, "tensors.csv");
        assert_string_equal(now, good);
        free(now);
        free(good);
    }
    /* an empty (old-style) marker is damaged too */
    const char *dir = zp_test_tmpdir("store-oldmarker");
    struct zp_err err = {0};
    struct zp_run_dir rd;
    assert_int_equal(zp_run_dir_open(&rd, dir, 0, 0, "fp", E), ZP_OK);
    assert_int_equal(commit(&rd, IDS[0], 0, E), ZP_OK);
    char p[1200];
    snprintf(p, sizeof p, "%s/%s.done", rd.cells, IDS[0]);
    zp_test_write_file(p, "");
    assert_int_equal(zp_cell_verify(rd.cells, IDS[0], NULL, E), ZP_EFORMAT);
    zp_run_dir_close(&rd);
}

static void test_rows_check(void **state)
{
    (void)state;
    assert_int_equal(zp_rows_check("a,b\nc,d\n", 8, 2), 2);
    assert_int_equal(zp_rows_check("a,\"b,\nx\"\"\"\n", 11, 2), 1);
    assert_int_equal(zp_rows_check("a,b\nc\n", 6, 2), -1);
    assert_int_equal(zp_rows_check("a,b\nc,d", 7, 2), -1);
    assert_int_equal(zp_rows_check("a,\"b\n", 5, 2), -1);
    assert_int_equal(zp_rows_check("", 0, 2), 0);
}

/* A second open of a held folder is refused and names the holder; close frees it. */
static void test_lock(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("store-lock");
    struct zp_err err = {0};
    struct zp_run_dir a, b;
    assert_int_equal(zp_run_dir_open(&a, dir, 0, 0, "fp", E), ZP_OK);
    assert_int_equal(zp_run_dir_open(&b, dir, 0, 1, "fp", E), ZP_ECONFIG);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %d", (int)getpid());
    assert_non_null(strstr(err.msg, "in use by another harness process"));
    assert_non_null(strstr(err.msg, pid));
    /* the refused --force removed nothing */
    char p[1200];
    snprintf(p, sizeof p, "%s/.cells/FINGERPRINT", dir);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(zp_run_dir_busy(dir, E), ZP_ECONFIG);
    zp_run_dir_close(&a);
    assert_int_equal(zp_run_dir_busy(dir, E), ZP_OK);
    assert_int_equal(zp_run_dir_open(&b, dir, 1, 0, "fp", E), ZP_OK);
    zp_run_dir_close(&b);
    zp_run_dir_close(&b); /* twice is fine */
}

static void test_inputs(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("store-inputs");
    char f[1200], folder[1200], p[1300];
    snprintf(f, sizeof f, "%s/model.onnx", dir);
    zp_test_write_file(f, "model bytes");
    snprintf(folder, sizeof folder, "%s/images", dir);
    mkdir(folder, 0755);
    snprintf(p, sizeof p, "%s/a.png", folder);
    zp_test_write_file(p, "png");
    struct zp_err err = {0};
    struct zp_inputs in = {0};
    assert_int_equal(zp_inputs_add(&in, "model", f, E), ZP_OK);
    assert_int_equal(zp_inputs_add(&in, "images", folder, E), ZP_OK);
    assert_int_equal(zp_inputs_add(&in, "model", f, E), ZP_OK); /* once */
    assert_int_equal(in.n, 2);
    assert_int_equal(in.v[0].size, 11);
    char run[1200];
    snprintf(run, sizeof run, "%s/run", dir);
    struct zp_run_dir rd;
    assert_int_equal(zp_run_dir_open(&rd, run, 0, 0, "fp", E), ZP_OK);
    assert_int_equal(zp_run_dir_inputs(&rd, &in, E), ZP_OK);
    zp_run_dir_close(&rd);
    /* the same inputs resume */
    assert_int_equal(zp_run_dir_open(&rd, run, 1, 0, "fp", E), ZP_OK);
    assert_int_equal(zp_run_dir_inputs(&rd, &in, E), ZP_OK);
    zp_run_dir_close(&rd);
    /* a replaced model file of the same size is refused, by name */
    zp_test_write_file(f, "MODEL BYTES");
    struct zp_inputs in2 = {0};
    assert_int_equal(zp_inputs_add(&in2, "model", f, E), ZP_OK);
    assert_int_equal(zp_inputs_add(&in2, "images", folder, E), ZP_OK);
    assert_int_equal(zp_run_dir_open(&rd, run, 1, 0, "fp", E), ZP_OK);
    assert_int_equal(zp_run_dir_inputs(&rd, &in2, E), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "model.onnx"));
    assert_non_null(strstr(err.msg, "changed"));
    zp_run_dir_close(&rd);
    /* a file added to the image folder changes it */
    snprintf(p, sizeof p, "%s/b.png", folder);
    zp_test_write_file(p, "png2");
    struct zp_inputs in3 = {0};
    assert_int_equal(zp_inputs_add(&in3, "images", folder, E), ZP_OK);
    assert_true(in3.v[0].crc != in.v[1].crc);
    /* a missing input is an error naming it */
    assert_int_equal(zp_inputs_add(&in3, "labels", "/nonexistent/labels.csv", E), ZP_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/labels.csv"));
    zp_inputs_free(&in);
    zp_inputs_free(&in2);
    zp_inputs_free(&in3);
}

/* run.json: the common keys, and a rewrite records a phase added after the first write. */
static void test_run_json_rewrite(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("store-runjson");
    struct zp_err err = {0};
    struct zp_run_json rj;
    assert_int_equal(zp_run_json_init(&rj, dir, "run", "x.json", "{\"a\": 1}", E), ZP_OK);
    zp_json_set_str(rj.root, "fingerprint", "f");
    zp_json_push_str(zp_json_arr(rj.root, "list"), "one");
    zp_run_json_phase_add(&rj, "model_cells", 1.5);
    zp_run_json_phase_add(&rj, "model_cells", 1.0);
    assert_int_equal(zp_run_json_write(&rj, E), ZP_OK);
    char *t = read_in(dir, "run.json");
    const char *keys[] = {"\"harness\"", "\"command\"", "\"config_path\"", "\"machine\"", "\"cpu_model\"",
                          "\"git_revision\"", "\"start_time\"", "\"end_time\"", "\"wall_seconds\"",
                          "\"model_cells\":\t2.5"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!strstr(t, keys[i]))
            fail_msg("run.json lacks %s:\n%s", keys[i], t);
    assert_null(strstr(t, "\"plots\""));
    free(t);
    zp_run_json_phase_add(&rj, "plots", 0.25);
    assert_int_equal(zp_run_json_write(&rj, E), ZP_OK);
    t = read_in(dir, "run.json");
    assert_non_null(strstr(t, "\"plots\":\t0.25"));
    free(t);
    zp_run_json_free(&rj);
    /* read back for the report, without cJSON */
    struct zp_run_info ri;
    assert_int_equal(zp_run_info_read(dir, &ri, E), ZP_OK);
    assert_true(ri.present && ri.parsed);
    assert_string_equal(zp_run_info_get(&ri, "phase_seconds.plots"), "0.25");
    assert_string_equal(zp_run_info_get(&ri, "phase_seconds.model_cells"), "2.5");
    assert_string_equal(zp_run_info_get(&ri, "config.a"), "1");
    assert_string_equal(zp_run_info_get(&ri, "list"), "[\"one\"]");
    assert_non_null(zp_run_info_get(&ri, "machine.cpu_model"));
    assert_null(zp_run_info_get(&ri, "nothing"));
    assert_non_null(strstr(ri.pretty, "\"fingerprint\""));
    zp_run_info_free(&ri);
    char p[1200];
    snprintf(p, sizeof p, "%s/run.json", dir);
    zp_test_write_file(p, "{not json");
    assert_int_equal(zp_run_info_read(dir, &ri, E), ZP_OK);
    assert_true(ri.present && !ri.parsed);
    assert_string_equal(ri.raw, "{not json");
    zp_run_info_free(&ri);
    unlink(p);
    assert_int_equal(zp_run_info_read(dir, &ri, E), ZP_OK);
    assert_false(ri.present);
    zp_run_info_free(&ri);
}

/* The CSV reader reads what the writer wrote (quotes, empty fields). */
static void test_table_roundtrip(void **state)
{
    (void)state;
    const char *dir = zp_test_tmpdir("store-table");
    char *rows = rows_for(3, 2);
    struct zp_csv c;
    zp_csv_init(&c);
    zp_csv_header_of(&c, ZP_TABLE_TENSORS);
    size_t hl = c.text.len;
    char p[1200];
    snprintf(p, sizeof p, "%s/tensors.csv", dir);
    char *all = malloc(hl + strlen(rows) + 1);
    memcpy(all, c.text.s, hl);
    strcpy(all + hl, rows);
    zp_test_write_file(p, all);
    struct zp_err err = {0};
    struct zp_table t;
    assert_int_equal(zp_table_read(p, &t, E), ZP_OK);
    assert_int_equal(t.nrows, 2);
    assert_int_equal((int)t.ncols, zp_table_def(ZP_TABLE_TENSORS)->ncols);
    assert_string_equal(zp_table_str(&t, 1, zp_table_col(&t, "label")), "a,\"b\"");
    assert_true(isnan(zp_table_num(&t, 0, zp_table_col(&t, "sqnr_db"))));
    assert_int_equal(zp_table_bool(&t, 0, zp_table_col(&t, "nudge_zero")), 1);
    zp_table_free(&t);
    assert_int_equal(zp_table_read(dir, &t, E), ZP_EIO); /* a folder is not a CSV */
    free(all);
    free(rows);
    zp_csv_free(&c);
}

/* A shard folder with the given cells done. */
static void make_shard(const char *dir, const int *cells, int n, const char *inputs_text)
{
    struct zp_err err = {0};
    struct zp_run_dir rd;
    assert_int_equal(zp_run_dir_open(&rd, dir, 0, 0, "fp", E), ZP_OK);
    assert_int_equal(zp_run_dir_plan(&rd, IDS, 6, E), ZP_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(commit(&rd, IDS[cells[i]], cells[i], E), ZP_OK);
    char p[1300];
    snprintf(p, sizeof p, "%s/INPUTS", rd.cells);
    zp_test_write_file(p, inputs_text);
    zp_run_dir_close(&rd);
    struct zp_run_json rj;
    assert_int_equal(zp_run_json_init(&rj, dir, "run", "x.json", "{}", E), ZP_OK);
    struct zp_json *plan = zp_json_arr(rj.root, "plan");
    for (int i = 0; i < 6; i++)
        zp_json_set_str(zp_json_push_obj(plan), "id", IDS[i]);
    assert_int_equal(zp_run_json_write(&rj, E), ZP_OK);
    zp_run_json_free(&rj);
}

static void test_merge_checks(void **state)
{
    (void)state;
    const char *base = zp_test_tmpdir("store-merge");
    char ref[1200], s0[1200], s1[1200], s2[1200], out[1200];
    snprintf(ref, sizeof ref, "%s/ref", base);
    snprintf(s0, sizeof s0, "%s/s0", base);
    snprintf(s1, sizeof s1, "%s/s1", base);
    snprintf(s2, sizeof s2, "%s/s2", base);
    const char *in = "zp-inputs 1\nmodel 3 0000abcd m.onnx\n";
    static const int all[6] = {0, 1, 2, 3, 4, 5}, even[3] = {0, 2, 4}, odd[3] = {1, 3, 5};
    make_shard(ref, all, 6, in);
    make_shard(s0, even, 3, in);
    make_shard(s1, odd, 3, in);
    make_shard(s2, odd, 3, "zp-inputs 1\nmodel 3 0000abce m.onnx\n");
    struct zp_err err = {0};
    struct zp_merge_result res;
    const char *ok[2] = {s0, s1};
    snprintf(out, sizeof out, "%s/m", base);
    assert_int_equal(zp_merge(out, ok, 2, &res, E), ZP_OK);
    assert_int_equal(res.cells_missing, 0);
    char *a = read_in(ref, "tensors.csv"), *b = read_in(out, "tensors.csv");
    assert_string_equal(a, b);
    free(a);
    free(b);
    /* other inputs */
    const char *other[2] = {s0, s2};
    snprintf(out, sizeof out, "%s/m2", base);
    assert_int_equal(zp_merge(out, other, 2, &res, E), ZP_ECONFIG);
    assert_non_null(strstr(err.msg, "other input files"));
    /* a damaged cell in a shard */
    char p[1300];
    snprintf(p, sizeof p, "%s/.cells/%s.tensors.csv", s1, IDS[3]);
    zp_test_write_file(p, "");
    snprintf(out, sizeof out, "%s/m3", base);
    assert_int_equal(zp_merge(out, ok, 2, &res, E), ZP_EFORMAT);
    assert_non_null(strstr(err.msg, IDS[3]));
    assert_non_null(strstr(err.msg, "damaged"));
    /* a missing shard is counted */
    const char *one[1] = {s0};
    snprintf(out, sizeof out, "%s/m4", base);
    assert_int_equal(zp_merge(out, one, 1, &res, E), ZP_OK);
    assert_int_equal(res.cells_missing, 3);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_headers_unchanged), cmocka_unit_test(test_row_by_column),
        cmocka_unit_test(test_row_misuse),        cmocka_unit_test(test_kernels_format),
        cmocka_unit_test(test_atomic_errors),     cmocka_unit_test(test_append_equals_assembly),
        cmocka_unit_test(test_damaged_cells),     cmocka_unit_test(test_rows_check),
        cmocka_unit_test(test_lock),              cmocka_unit_test(test_inputs),
        cmocka_unit_test(test_run_json_rewrite),  cmocka_unit_test(test_merge_checks),
        cmocka_unit_test(test_table_roundtrip),
    };
    return ZP_RUN_TESTS(t);
}
