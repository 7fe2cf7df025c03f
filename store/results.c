/* Run folder, cell fragments and atomic table assembly: see results.h. */
#include "store/results.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

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
            if (e->d_name[0] == '.')
                continue;
            snprintf(p, sizeof p, "%s/%s", rd->cells, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
}

/* The fingerprint of the config a folder was made with (run.json "fingerprint"). */
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

enum zp_status zp_run_dir_open(struct zp_run_dir *rd, const char *dir, int resume, int force,
                               const char *fingerprint, struct zp_err *err)
{
    snprintf(rd->dir, sizeof rd->dir, "%s", dir);
    snprintf(rd->cells, sizeof rd->cells, "%s/.cells", dir);
    struct stat st;
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
        return zp_err_set(err, ZP_ECONFIG, "--out %s: exists and is not a directory", dir);
    if (!dir_is_empty(dir)) {
        if (resume) {
            char old[17] = "";
            if (read_fingerprint(dir, old) != 0)
                return zp_err_set(err, ZP_ECONFIG,
                                  "%s: --resume: not a run folder of this harness (no "
                                  ".cells/FINGERPRINT)",
                                  dir);
            if (strcmp(old, fingerprint) != 0)
                return zp_err_set(err, ZP_ECONFIG,
                                  "%s: --resume: the folder was made by a different config or "
                                  "code version (fingerprint %s, now %s); use --force to start "
                                  "over",
                                  dir, old, fingerprint);
        } else if (force) {
            remove_previous(rd);
        } else {
            return zp_err_set(err, ZP_ECONFIG,
                              "%s: exists and is not empty: use --resume to continue it or "
                              "--force to replace its results",
                              dir);
        }
    }
    if (zp_store_mkdir_p(rd->cells) != 0)
        return zp_err_set(err, ZP_EIO, "%s: cannot create: %s", rd->cells, strerror(errno));
    char p[1300];
    snprintf(p, sizeof p, "%s/FINGERPRINT", rd->cells);
    char line[32];
    snprintf(line, sizeof line, "%s\n", fingerprint);
    return zp_write_atomic(p, line, strlen(line), err);
}

int zp_cell_done(const struct zp_run_dir *rd, const char *id)
{
    char p[1300];
    snprintf(p, sizeof p, "%s/%s.done", rd->cells, id);
    return access(p, F_OK) == 0;
}

enum zp_status zp_cell_commit(const struct zp_run_dir *rd, const char *id,
                              const char *const rows[ZP_N_TABLES], struct zp_err *err)
{
    char p[1300];
    for (int t = 0; t < ZP_N_TABLES; t++) {
        if (!rows[t] || !rows[t][0])
            continue;
        snprintf(p, sizeof p, "%s/%s.%s", rd->cells, id, zp_table_file((enum zp_result_table)t));
        if (zp_write_atomic(p, rows[t], strlen(rows[t]), err))
            return err->status;
    }
    snprintf(p, sizeof p, "%s/%s.done", rd->cells, id);
    return zp_write_atomic(p, "", 0, err);
}

static int append_file(FILE *out, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, out);
    fclose(f);
    return 1;
}

enum zp_status zp_run_assemble(const struct zp_run_dir *rd, const char *const *ids, size_t n,
                               struct zp_err *err)
{
    for (int t = 0; t < ZP_N_TABLES; t++) {
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        if (!mem)
            return zp_err_set(err, ZP_ENOMEM, "out of memory");
        const struct zp_table_def *def = zp_table_def((enum zp_result_table)t);
        for (int c = 0; c < def->ncols; c++)
            fprintf(mem, "%s%s", c ? "," : "", def->cols[c].name);
        fputc('\n', mem);
        int any = 0;
        char p[1300];
        for (size_t i = 0; i < n; i++) {
            if (!zp_cell_done(rd, ids[i]))
                continue;
            snprintf(p, sizeof p, "%s/%s.%s", rd->cells, ids[i], zp_table_file((enum zp_result_table)t));
            any |= append_file(mem, p);
        }
        fclose(mem);
        enum zp_status st = ZP_OK;
        if (any) {
            snprintf(p, sizeof p, "%s/%s", rd->dir, zp_table_file((enum zp_result_table)t));
            st = zp_write_atomic(p, text, len, err);
        }
        free(text);
        if (st)
            return st;
    }
    return ZP_OK;
}
