/* Spreading a sweep over processes: scripts/parallel_sweep.sh (GNU parallel on one
 * machine) and scripts/slurm_sweep.sbatch (a Slurm job array plus a dependent merge
 * job) against a REAL single-node Slurm that scripts/slurm_local.sh starts in a
 * temporary folder (munged, slurmctld, slurmd run as plain processes, no systemd).
 * Each way must merge into exactly the bytes of a single-process run; a failing
 * shard must fail the sweep instead of merging a short table. The daemons are
 * stopped by the teardown, and by a watchdog if this program dies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/util.h"

extern char **environ;

static const char *H;

/* 6 scheme variants x 2 synthetic tensors = 12 cells; runs in well under a second. */
enum { N_CELLS = 12, N_SHARDS = 3 };

static void write_config(const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    zp_test_write_file(
        path,
        "{\"name\": \"sweep\", \"seed\": 5,\n"
        " \"schemes\": [\n"
        "  {\"scheme\": \"asymmetric\", \"bits\": 8, \"nudge_zero\": [true, false]},\n"
        "  {\"scheme\": \"symmetric\", \"granularity\": [\"per-tensor\", \"per-channel\"]},\n"
        "  {\"scheme\": \"no-128\"},\n"
        "  {\"scheme\": \"binary\", \"granularity\": \"per-channel\"}],\n"
        " \"tensors\": {\"synthetic\": [\n"
        "  {\"distribution\": \"gaussian\", \"n\": 4096, \"channels\": 8, \"seed\": 21},\n"
        "  {\"distribution\": \"relu_gaussian\", \"n\": 4096, \"channels\": 8, \"seed\": 22,"
        " \"zero_share\": 0.3}]}}\n");
}

/* A temp folder holding the config and the single-process reference run. */
static void prepare(char *d, size_t n, const char *tag)
{
    snprintf(d, n, "%s", zp_test_tmpdir(tag));
    write_config(d);
    char *out = NULL;
    int rc = zp_test_sh(&out, "%s run %s/sweep.json --out %s/single --quiet --no-plots", H, d, d);
    if (rc)
        fail_msg("single-process run exited %d:\n%s", rc, out);
    free(out);
}

static int data_rows(const char *path)
{
    char *t = zp_test_read_file(path, NULL);
    if (!t)
        return -1;
    int n = 0;
    for (char *p = t; *p; p++)
        n += *p == '\n';
    free(t);
    return n - 1; /* minus the header */
}

static void assert_same_file(const char *a, const char *b)
{
    char *out = NULL;
    if (zp_test_sh(&out, "cmp '%s' '%s'", a, b) != 0)
        fail_msg("%s differs from %s: %s", b, a, out);
    free(out);
}

/* The merged folder equals the single run, and shard I holds exactly the cells
 * with index % N == I (so the shards really split the work). */
static void check_sweep(const char *d, const char *merged, const char *shard_root)
{
    char a[1200], b[1200];
    snprintf(a, sizeof a, "%s/single/tensors.csv", d);
    snprintf(b, sizeof b, "%s/tensors.csv", merged);
    assert_int_equal(data_rows(a), N_CELLS);
    assert_same_file(a, b);
    for (int i = 0; i < N_SHARDS; i++) {
        snprintf(b, sizeof b, "%s/shard-%d/tensors.csv", shard_root, i);
        int want = N_CELLS / N_SHARDS + (i < N_CELLS % N_SHARDS);
        if (data_rows(b) != want)
            fail_msg("%s: %d rows, expected %d", b, data_rows(b), want);
    }
}

static void test_parallel_sweep(void **state)
{
    (void)state;
    if (zp_test_sh(NULL, "command -v parallel") != 0) {
        print_message("SKIP: GNU parallel is not installed (Debian package: parallel)\n");
        skip();
    }
    char d[1024];
    prepare(d, sizeof d, "psweep");
    char *out = NULL;
    int rc = zp_test_sh(&out, "ZP_HARNESS=%s ZP_MERGE_ARGS=--no-plots bash scripts/parallel_sweep.sh "
                              "%s/sweep.json %d %s/merged",
                        H, d, N_SHARDS, d);
    if (rc)
        fail_msg("parallel_sweep.sh exited %d:\n%s", rc, out);
    free(out);
    char m[1200], r[1200];
    snprintf(m, sizeof m, "%s/merged", d);
    snprintf(r, sizeof r, "%s/merged.shards", d);
    check_sweep(d, m, r);
    /* Run again: every shard resumes with nothing left to do; same bytes. */
    rc = zp_test_sh(&out, "ZP_HARNESS=%s ZP_MERGE_ARGS=--no-plots bash scripts/parallel_sweep.sh "
                          "%s/sweep.json %d %s/merged",
                    H, d, N_SHARDS, d);
    if (rc)
        fail_msg("parallel_sweep.sh rerun exited %d:\n%s", rc, out);
    free(out);
    check_sweep(d, m, r);
    /* A failing shard: exit 1, the error is shown, nothing is merged. */
    rc = zp_test_sh(&out, "ZP_HARNESS=%s ZP_RUN_ARGS=--no-such-flag bash scripts/parallel_sweep.sh "
                          "%s/sweep.json 2 %s/bad",
                    H, d, d);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "--no-such-flag"));
    assert_non_null(strstr(out, "not merging"));
    free(out);
    struct stat st;
    snprintf(m, sizeof m, "%s/bad", d);
    assert_true(stat(m, &st) != 0);
    /* Usage errors exit 2. */
    assert_int_equal(zp_test_sh(NULL, "bash scripts/parallel_sweep.sh %s/sweep.json 0 %s/x", d, d), 2);
    assert_int_equal(zp_test_sh(NULL, "bash scripts/parallel_sweep.sh %s/none.json 2 %s/x", d, d), 2);
}

/* The sbatch script's roles outside Slurm: the shard role refuses to run without
 * an array task id, and with the variables Slurm would set it runs the right
 * shard, so the merge role joins them to the single-process bytes. */
static void test_sbatch_roles(void **state)
{
    (void)state;
    char d[1024];
    prepare(d, sizeof d, "roles");
    char *out = NULL;
    int rc = zp_test_sh(&out, "env -u SLURM_ARRAY_TASK_ID ZP_HARNESS=%s "
                              "bash scripts/slurm_sweep.sbatch shard %s/sweep.json %s/o",
                        H, d, d);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "SLURM_ARRAY_TASK_ID is not set"));
    free(out);
    rc = zp_test_sh(&out, "SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_COUNT=3 ZP_HARNESS=%s "
                          "bash scripts/slurm_sweep.sbatch shard %s/sweep.json %s/o",
                    H, d, d);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "outside 0..2"));
    free(out);
    for (int i = 0; i < N_SHARDS; i++) {
        rc = zp_test_sh(&out, "SLURM_ARRAY_TASK_ID=%d SLURM_ARRAY_TASK_COUNT=%d ZP_HARNESS=%s "
                              "bash scripts/slurm_sweep.sbatch shard %s/sweep.json %s/o",
                        i, N_SHARDS, H, d, d);
        if (rc)
            fail_msg("shard role %d exited %d:\n%s", i, rc, out);
        free(out);
    }
    rc = zp_test_sh(&out, "ZP_HARNESS=%s ZP_MERGE_ARGS=--no-plots bash scripts/slurm_sweep.sbatch "
                          "merge %s/o %d",
                    H, d, N_SHARDS);
    if (rc)
        fail_msg("merge role exited %d:\n%s", rc, out);
    free(out);
    char m[1200], r[1200];
    snprintf(m, sizeof m, "%s/o", d);
    snprintf(r, sizeof r, "%s/o.shards", d);
    check_sweep(d, m, r);
    /* Merging fewer shards than the sweep had reports the missing cells (exit 1). */
    rc = zp_test_sh(&out, "ZP_HARNESS=%s ZP_SHARD_ROOT=%s/o.shards ZP_MERGE_ARGS=--no-plots "
                          "bash scripts/slurm_sweep.sbatch merge %s/partial 2",
                    H, d, d);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "cells are missing"));
    free(out);
}

/* ---- the real Slurm cluster ---- */

static char cluster[1024];

static int stop_cluster(void **state)
{
    (void)state;
    if (cluster[0]) {
        char *out = NULL;
        int rc = zp_test_sh(&out, "bash scripts/slurm_local.sh stop %s", cluster);
        if (rc)
            print_message("slurm_local.sh stop exited %d: %s\n", rc, out);
        free(out);
        cluster[0] = '\0';
    }
    unsetenv("SLURM_CONF");
    return 0;
}

/* Variables of an enclosing Slurm job or a user's sbatch defaults would steer our
 * submissions (partition, account, array): the private cluster must not see them. */
static void clear_slurm_env(void)
{
    for (int again = 1; again;) {
        again = 0;
        for (char **e = environ; *e; e++)
            if (!strncmp(*e, "SLURM_", 6) || !strncmp(*e, "SBATCH_", 7)) {
                char name[256];
                snprintf(name, sizeof name, "%.*s", (int)strcspn(*e, "="), *e);
                unsetenv(name);
                again = 1; /* environ changed under us: rescan */
                break;
            }
    }
}

static void test_slurm_array(void **state)
{
    (void)state;
    const char *b = getenv("ZP_BUILD");
    if (b && strstr(b, "asan")) {
        /* The daemons and scripts are the same in both builds; the harness is covered
         * by the roles test above. Running a cluster twice only costs time. */
        print_message("SKIP: Slurm cluster test runs in the release build only (%s)\n", b);
        skip();
    }
    clear_slurm_env();
    char d[1024];
    prepare(d, sizeof d, "slurm");
    snprintf(cluster, sizeof cluster, "%s/cluster", d);
    char *out = NULL;
    /* Bounded: start waits at most 60 s for the node; the watchdog stops everything
     * after 240 s or as soon as this process is gone. */
    int rc = zp_test_sh(&out, "timeout 90 bash scripts/slurm_local.sh start %s --owner %d --ttl 240",
                        cluster, (int)getpid());
    if (rc == 3) {
        print_message("SKIP: cannot start a private Slurm here: %s", out);
        free(out);
        cluster[0] = '\0';
        skip();
    }
    if (rc)
        fail_msg("slurm_local.sh start exited %d:\n%s", rc, out);
    free(out);
    char conf[1200];
    snprintf(conf, sizeof conf, "%s/slurm.conf", cluster);
    setenv("SLURM_CONF", conf, 1);
    assert_int_equal(zp_test_sh(&out, "sinfo -h -o %%t"), 0);
    if (!strstr(out, "idle"))
        fail_msg("node not idle: %s", out);
    free(out);

    /* The sweep: an array of 3 tasks and a dependent merge job, waited for. */
    rc = zp_test_sh(&out, "ZP_HARNESS=%s timeout 180 bash scripts/slurm_sweep.sbatch submit "
                          "%s/sweep.json %d %s/merged --wait",
                    H, d, N_SHARDS, d);
    if (rc)
        fail_msg("slurm_sweep.sbatch submit exited %d:\n%s", rc, out);
    unsigned array_id = 0, merge_id = 0;
    for (char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (sscanf(line, "%u %u", &array_id, &merge_id) == 2)
            break;
    free(out);
    assert_true(array_id > 0 && merge_id > array_id);
    char m[1200], r[1200];
    snprintf(m, sizeof m, "%s/merged", d);
    snprintf(r, sizeof r, "%s/merged.shards", d);
    check_sweep(d, m, r);
    /* The merge job rendered the figures. */
    struct stat st;
    snprintf(m, sizeof m, "%s/merged/plots/tensors_sqnr.png", d);
    assert_true(stat(m, &st) == 0 && st.st_size > 0);
    /* Slurm itself ran the work: every array task of the job completed as one of 3. */
    rc = zp_test_sh(&out, "scontrol -o show job %u", array_id);
    assert_int_equal(rc, 0);
    int tasks = 0;
    for (const char *p = out; (p = strstr(p, "JobState=COMPLETED")); p++)
        tasks++;
    if (tasks != N_SHARDS || !strstr(out, "ArrayTaskId="))
        fail_msg("array job %u: expected %d completed tasks:\n%s", array_id, N_SHARDS, out);
    free(out);
    for (int i = 0; i < N_SHARDS; i++) {
        snprintf(m, sizeof m, "%s/merged.shards/logs/shard-%d.out", d, i);
        char *log = zp_test_read_file(m, NULL);
        char want[64];
        snprintf(want, sizeof want, "task %d of %d on ", i, N_SHARDS);
        if (!log || !strstr(log, want))
            fail_msg("%s lacks '%s': %s", m, want, log ? log : "(missing)");
        free(log);
    }

    /* A failing array task: the merge job's dependency can never be met, Slurm
     * cancels it, submit --wait exits 1 and no merged folder appears. */
    rc = zp_test_sh(&out, "ZP_HARNESS=%s ZP_RUN_ARGS=--no-such-flag timeout 120 "
                          "bash scripts/slurm_sweep.sbatch submit %s/sweep.json 2 %s/bad --wait",
                    H, d, d);
    if (rc != 1 || !strstr(out, "CANCELLED") || !strstr(out, "--no-such-flag"))
        fail_msg("failing sweep: exit %d (expected 1), output:\n%s", rc, out);
    free(out);
    snprintf(m, sizeof m, "%s/bad/tensors.csv", d);
    assert_true(stat(m, &st) != 0);
}

int main(void)
{
    H = zp_test_harness();
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_parallel_sweep),
        cmocka_unit_test(test_sbatch_roles),
        cmocka_unit_test_teardown(test_slurm_array, stop_cluster),
    };
    return ZP_RUN_TESTS(t);
}
