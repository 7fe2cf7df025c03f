/* The run folder: opening (empty / resume / force), its lock and the config
 * fingerprint. Fragments and assembly are in store/cells.c. See results.h. */
#include "store/results.h"

#include "common/path.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void zp_fingerprint(const char *text, size_t len, char out[17])
{
    unsigned long long h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)text[i];
        h *= 1099511628211ULL;
    }
    snprintf(out, 17, "%016llx", h);
}

static int dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 1;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = 0;
    closedir(d);
    return empty;
}

/* Removes the files a run writes (never anything else a user put in DIR). */
static void remove_previous(const struct zp_run_dir *rd)
{
    char p[1300];
    for (int t = 0; t < ZP_N_TABLES; t++) {
        snprintf(p, sizeof p, "%s/%s", rd->dir, zp_table_file((enum zp_result_table)t));
        unlink(p);
    }
    const char *others[] = {"run.json", "report.md", "report.html"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        snprintf(p, sizeof p, "%s/%s", rd->dir, others[i]);
        unlink(p);
    }
    DIR *d = opendir(rd->cells);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || strcmp(e->d_name, "LOCK") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", rd->cells, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
}

/* The fingerprint of the config a folder was made with. */
static int read_fingerprint(const char *dir, char out[17])
{
    char p[1100];
    snprintf(p, sizeof p, "%s/.cells/FINGERPRINT", dir);
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    int ok = fscanf(f, "%16s", out) == 1;
    fclose(f);
    return ok ? 0 : -1;
}

/* Who holds a lock: the LOCK file's one line, written by the holder. */
static void holder_text(int fd, char *out, size_t cap)
{
    ssize_t n = pread(fd, out, cap - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    if (!out[0])
        snprintf(out, cap, "a process that has not written its name yet");
}

/* This process, for the LOCK file: pid, command line, start time. */
static void self_text(char *out, size_t cap)
{
    char cmd[600] = "";
    FILE *f = fopen("/proc/self/cmdline", "rb");
    if (f) {
        size_t n = fread(cmd, 1, sizeof cmd - 1, f);
        fclose(f);
        for (size_t i = 0; i + 1 < n; i++)
            if (cmd[i] == '\0')
                cmd[i] = ' ';
        cmd[n] = '\0';
    }
    char when[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(out, cap, "pid %d (%s), since %s\n", (int)getpid(), cmd[0] ? cmd : "harness", when);
}

static enum zp_status busy(const char *dir, int fd, struct zp_err *err)
{
    char who[800];
    holder_text(fd, who, sizeof who);
    return zp_err_set(err, ZP_ECONFIG,
                      "%s: in use by another harness process: %s; wait for it to finish or use another --out",
                      dir, who);
}

/* flock(LOCK_EX | LOCK_NB). A holder that was just killed releases its lock as
 * the kernel tears it down: a few short retries keep a kill-then-restart from
 * being refused. 0 or -1 with errno. */
static int lock_nb(int fd)
{
    for (int tries = 0;; tries++) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK || tries == 10)
            return -1;
        usleep(30000);
    }
}

enum zp_status zp_run_dir_busy(const char *dir, struct zp_err *err)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/.cells/LOCK", dir);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ZP_OK;
    enum zp_status st = ZP_OK;
    if (lock_nb(fd) != 0 && errno == EWOULDBLOCK)
        st = busy(dir, fd, err);
    close(fd); /* also releases the probe's lock */
    return st;
}

static enum zp_status take_lock(struct zp_run_dir *rd, struct zp_err *err)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/LOCK", rd->cells);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return zp_err_set(err, ZP_EIO, "%s: cannot create: %s", p, strerror(errno));
    if (lock_nb(fd) != 0) {
        enum zp_status st = errno == EWOULDBLOCK
                                ? busy(rd->dir, fd, err)
                                : zp_err_set(err, ZP_EIO, "%s: cannot lock: %s", p, strerror(errno));
        close(fd);
        return st;
    }
    char me[800];
    self_text(me, sizeof me);
    /* best effort: the lock is the flock, the text only names its holder */
    if (ftruncate(fd, 0) != 0 || pwrite(fd, me, strlen(me), 0) < 0)
        fprintf(stderr, "harness: warning: %s: cannot record the lock holder: %s\n", p, strerror(errno));
    rd->lock_fd = fd;
    return ZP_OK;
}

enum zp_status zp_run_dir_open(struct zp_run_dir *rd, const char *dir, int resume, int force,
                               const char *fingerprint, struct zp_err *err)
{
    memset(rd, 0, sizeof *rd);
    rd->lock_fd = -1;
    rd->last_in_csv = -1;
    rd->resume = resume;
    if ((size_t)snprintf(rd->dir, sizeof rd->dir, "%s", dir) >= sizeof rd->dir)
        return zp_err_set(err, ZP_ECONFIG, "--out %.40s...: path longer than %zu bytes", dir, sizeof rd->dir - 1);
    snprintf(rd->cells, sizeof rd->cells, "%s/.cells", dir);
    struct stat st;
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
        return zp_err_set(err, ZP_ECONFIG, "--out %s: exists and is not a directory", dir);
    /* Checks that change nothing come first, so a refused run leaves DIR as it was. */
    if (zp_run_dir_busy(dir, err))
        return err->status;
    int empty = dir_is_empty(dir);
    if (!empty && resume) {
        char old[17] = "";
        if (read_fingerprint(dir, old) != 0)
            return zp_err_set(err, ZP_ECONFIG,
                              "%s: --resume: not a run folder of this harness (no .cells/FINGERPRINT)", dir);
    } else if (!empty && !force) {
        return zp_err_set(err, ZP_ECONFIG,
                          "%s: exists and is not empty: use --resume to continue it or --force to replace its "
                          "results",
                          dir);
    }
    if (zp_mkdir_p(rd->cells, err))
        return err->status;
    if (take_lock(rd, err))
        return err->status;
    /* Under the lock: the folder cannot change under us any more. */
    if (!empty && resume) {
        char old[17] = "";
        if (read_fingerprint(dir, old) != 0 || strcmp(old, fingerprint) != 0) {
            zp_run_dir_close(rd);
            return zp_err_set(err, ZP_ECONFIG,
                              "%s: --resume: the folder was made by a different config or code version "
                              "(fingerprint %s, now %s); use --force to start over",
                              dir, old[0] ? old : "none", fingerprint);
        }
    } else if (!empty && force) {
        remove_previous(rd);
    }
    char p[1300];
    snprintf(p, sizeof p, "%s/FINGERPRINT", rd->cells);
    char line[32];
    snprintf(line, sizeof line, "%s\n", fingerprint);
    if (zp_file_write_atomic(p, line, strlen(line), err)) {
        zp_run_dir_close(rd);
        return err->status;
    }
    return ZP_OK;
}

void zp_run_dir_close(struct zp_run_dir *rd)
{
    if (rd->lock_fd >= 0) {
        flock(rd->lock_fd, LOCK_UN);
        close(rd->lock_fd);
        rd->lock_fd = -1;
    }
    free(rd->done);
    free(rd->in_csv);
    rd->done = rd->in_csv = NULL;
    rd->ids = NULL;
    rd->n = 0;
}
