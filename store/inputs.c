/* Input fingerprints: see inputs.h. */
#include "store/inputs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static enum zp_status hash_file(const char *path, struct zp_input *x, struct zp_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return zp_err_set(err, ZP_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return zp_err_set(err, ZP_EIO, "%s: not a regular file", path);
    }
    static const size_t chunk = 1 << 20;
    unsigned char *buf = malloc(chunk);
    if (!buf) {
        close(fd);
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
    }
    uLong c = crc32(0L, Z_NULL, 0);
    long long total = 0;
    for (;;) {
        ssize_t r = read(fd, buf, chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return zp_err_set(err, ZP_EIO, "%s: read failed: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        c = crc32(c, buf, (uInt)r);
        total += r;
    }
    free(buf);
    close(fd);
    x->size = total;
    x->crc = (uint32_t)c;
    return ZP_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A folder: its entries sorted by name, each (relative name, size, mtime) into the
 * CRC, folders recursively (depth-limited: image folders are class/file). */
static void hash_dir(const char *path, const char *rel, int depth, uLong *c, long long *total)
{
    DIR *d = opendir(path);
    if (!d)
        return;
    size_t n = 0, cap = 0;
    char **names = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (names)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        char p[4096], r[4096], line[4300];
        snprintf(p, sizeof p, "%s/%s", path, names[i]);
        snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        struct stat st;
        if (stat(p, &st) == 0) {
            int len = snprintf(line, sizeof line, "%s %lld %lld.%09ld\n", r, (long long)st.st_size,
                               (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
            *c = crc32(*c, (const Bytef *)line, (uInt)len);
            if (S_ISDIR(st.st_mode) && depth < 3)
                hash_dir(p, r, depth + 1, c, total);
            else if (S_ISREG(st.st_mode))
                *total += st.st_size;
        }
        free(names[i]);
    }
    free(names);
}

enum zp_status zp_inputs_add(struct zp_inputs *in, const char *kind, const char *path, struct zp_err *err)
{
    if (!path || !path[0])
        return ZP_OK;
    for (size_t i = 0; i < in->n; i++)
        if (strcmp(in->v[i].path, path) == 0)
            return ZP_OK;
    if (in->n == in->cap) {
        size_t nc = in->cap ? in->cap * 2 : 8;
        struct zp_input *nv = realloc(in->v, nc * sizeof *nv);
        if (!nv)
            return zp_err_set(err, ZP_ENOMEM, "out of memory");
        in->v = nv;
        in->cap = nc;
    }
    struct zp_input *x = &in->v[in->n];
    memset(x, 0, sizeof *x);
    snprintf(x->kind, sizeof x->kind, "%s", kind);
    snprintf(x->path, sizeof x->path, "%s", path);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        uLong c = crc32(0L, Z_NULL, 0);
        long long total = 0;
        hash_dir(path, "", 0, &c, &total);
        x->is_dir = 1;
        x->size = total;
        x->crc = (uint32_t)c;
    } else if (hash_file(path, x, err)) {
        zp_err_prefix(err, "%s", kind);
        return err->status;
    }
    in->n++;
    return ZP_OK;
}

static enum zp_status add_dataset(struct zp_inputs *in, const struct zp_dataset_cfg *d, struct zp_err *err)
{
    if (!d->present)
        return ZP_OK;
    if (zp_inputs_add(in, "images", d->images, err) || zp_inputs_add(in, "labels", d->labels, err))
        return err->status;
    return ZP_OK;
}

enum zp_status zp_inputs_from_config(struct zp_inputs *in, const struct zp_config *cfg, struct zp_err *err)
{
    for (size_t i = 0; i < cfg->n_models; i++) {
        const struct zp_model_cfg *m = &cfg->models[i];
        if (zp_inputs_add(in, "model", m->path, err) || add_dataset(in, &m->eval, err) ||
            add_dataset(in, &m->calib_data, err) || add_dataset(in, &m->train_data, err) ||
            zp_inputs_add(in, "checkpoint", m->checkpoint, err))
            return err->status;
    }
    for (size_t i = 0; i < cfg->n_weight_models; i++)
        if (zp_inputs_add(in, "weights", cfg->weight_models[i], err))
            return err->status;
    for (int i = 0; i < cfg->n_plugins; i++)
        if (zp_inputs_add(in, "plugin", cfg->plugins[i], err))
            return err->status;
    return ZP_OK;
}

void zp_inputs_free(struct zp_inputs *in)
{
    free(in->v);
    memset(in, 0, sizeof *in);
}

char *zp_inputs_text(const struct zp_inputs *in)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fprintf(f, "zp-inputs 1\n");
    for (size_t i = 0; i < in->n; i++)
        fprintf(f, "%s%s %lld %08x %s\n", in->v[i].kind, in->v[i].is_dir ? "-folder" : "", in->v[i].size,
                (unsigned)in->v[i].crc, in->v[i].path);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* The line of `text` whose path (after the third space) is `path`, or NULL. */
static const char *line_for(const char *text, const char *path, size_t plen)
{
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        const char *p = l;
        for (int k = 0; k < 3 && p; k++)
            p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
        const char *end = p ? strchr(p, '\n') : NULL;
        if (p && end && (size_t)(end - p) == plen && strncmp(p, path, plen) == 0)
            return l;
    }
    return NULL;
}

static char *describe(const char *what, const char *a, const char *b)
{
    char *out = NULL;
    int alen = a ? (int)strcspn(a, "\n") : 0, blen = b ? (int)strcspn(b, "\n") : 0;
    if (asprintf(&out, "%s (recorded: %.*s; now: %.*s)", what, alen, a ? a : "", blen, b ? b : "") < 0)
        return NULL;
    return out;
}

char *zp_inputs_diff(const char *was, const char *now)
{
    if (strcmp(was, now) == 0)
        return NULL;
    /* every line of now must be in was unchanged, and was must hold no other */
    for (const char *l = now; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
        size_t ll = strcspn(l, "\n");
        const char *p = l;
        for (int k = 0; k < 3 && p; k++)
            p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
        if (!p || p > l + ll)
            continue; /* the magic line */
        const char *old = line_for(was, p, (size_t)(l + ll - p));
        if (!old)
            return describe("an input the folder does not record", NULL, l);
        if (strncmp(old, l, ll + 1) != 0)
            return describe("an input file changed (size or CRC-32 differ)", old, l);
    }
    return describe("an input the folder records is no longer used", was, now);
}

enum zp_status zp_run_dir_inputs(const struct zp_run_dir *rd, const struct zp_inputs *in, struct zp_err *err)
{
    char *now = zp_inputs_text(in);
    if (!now)
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    char p[1300];
    snprintf(p, sizeof p, "%s/INPUTS", rd->cells);
    struct zp_err ignore = {0};
    char *was = access(p, F_OK) == 0 ? zp_file_read_text(p, NULL, &ignore) : NULL;
    enum zp_status st = ZP_OK;
    if (was) {
        char *d = zp_inputs_diff(was, now);
        if (d)
            st = zp_err_set(err, ZP_ECONFIG,
                            "%s: --resume: the run's inputs are not the ones its finished cells used: %s; "
                            "use --force to start over, or another --out",
                            rd->dir, d);
        free(d);
    } else {
        st = zp_file_write_atomic(p, now, strlen(now), err);
    }
    free(was);
    free(now);
    return st;
}
