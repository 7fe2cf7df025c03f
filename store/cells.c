/* Cell fragments, their markers, incremental appends and the assembly of the
 * public CSVs: see results.h.
 *
 * A marker (.cells/<id>.done) is written after the cell's fragments and names
 * each of them with what a reader can check:
 *     zp-cell 1
 *     tensors.csv rows=16 fields=18 bytes=2113 crc32=8f3a01c2
 * so a fragment that was truncated, emptied, removed or replaced after its marker
 * was written is found before its rows reach a CSV. */
#include "store/results.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define MARKER_MAGIC "zp-cell 1\n"

long zp_rows_check(const char *s, size_t n, int fields)
{
    long rows = 0;
    int f = 1, inq = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (inq) {
            if (ch == '"') {
                if (i + 1 < n && s[i + 1] == '"')
                    i++;
                else
                    inq = 0;
            }
        } else if (ch == '"') {
            inq = 1;
        } else if (ch == ',') {
            f++;
        } else if (ch == '\n') {
            if (f != fields)
                return -1;
            rows++;
            f = 1;
        }
    }
    if (inq || (n && s[n - 1] != '\n'))
        return -1; /* a cut row */
    return rows;
}

static uint32_t crc_of(const char *s, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n) { /* crc32 takes a uInt length */
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, (const Bytef *)s, k);
        s += k;
        n -= k;
    }
    return (uint32_t)c;
}

static int frag_path(char *out, size_t cap, const char *cells, const char *id, int t)
{
    return (size_t)snprintf(out, cap, "%s/%s.%s", cells, id, zp_table_file((enum zp_result_table)t)) < cap ? 0 : -1;
}

/* Parses a marker's text into info; -1 when it is not a marker of this format. */
static int parse_marker(const char *text, struct zp_fragment_info info[ZP_N_TABLES])
{
    memset(info, 0, sizeof(struct zp_fragment_info) * ZP_N_TABLES);
    if (strncmp(text, MARKER_MAGIC, strlen(MARKER_MAGIC)) != 0)
        return -1;
    const char *p = text + strlen(MARKER_MAGIC);
    while (*p) {
        char file[64];
        size_t rows, bytes;
        int fields;
        unsigned crc;
        int used = 0;
        if (sscanf(p, "%63s rows=%zu fields=%d bytes=%zu crc32=%8x%n", file, &rows, &fields, &bytes, &crc,
                   &used) != 5)
            return -1;
        const struct zp_table_def *d = zp_table_def_by_file(file);
        if (!d || (int)d->id >= ZP_N_TABLES || info[d->id].present)
            return -1;
        info[d->id] = (struct zp_fragment_info){1, rows, bytes, fields, (uint32_t)crc};
        p += used;
        if (*p != '\n')
            return -1;
        p++;
    }
    return 0;
}

/* Reads and checks one fragment against its marker line; returns the text. */
static char *read_fragment(const char *cells, const char *id, int t, const struct zp_fragment_info *fi,
                           size_t *len, struct zp_err *err)
{
    char p[2300];
    if (frag_path(p, sizeof p, cells, id, t)) {
        zp_err_set(err, ZP_EINVAL, "%s: path too long", cells);
        return NULL;
    }
    struct zp_err e = {0};
    char *text = zp_file_read_text(p, len, &e);
    if (!text) {
        zp_err_set(err, ZP_EFORMAT, "cell %s: its marker lists %s but %s", id, zp_table_file((enum zp_result_table)t),
                   e.msg);
        return NULL;
    }
    const char *why = NULL;
    long rows = -2;
    if (*len != fi->bytes)
        why = "size differs from the marker's (truncated or replaced)";
    else if (crc_of(text, *len) != fi->crc)
        why = "CRC-32 differs from the marker's (changed after it was written)";
    else if (fi->fields != zp_table_def((enum zp_result_table)t)->ncols)
        why = "field count of the marker is not the table's";
    else if ((rows = zp_rows_check(text, *len, fi->fields)) < 0 || (size_t)rows != fi->rows)
        why = "rows are malformed or their count differs from the marker's";
    if (why) {
        zp_err_set(err, ZP_EFORMAT, "cell %s: fragment %s: %s (%zu bytes, marker says %zu)", id, p, why, *len,
                   fi->bytes);
        free(text);
        return NULL;
    }
    return text;
}

enum zp_status zp_cell_verify(const char *cells, const char *id, struct zp_fragment_info info[ZP_N_TABLES],
                              struct zp_err *err)
{
    struct zp_fragment_info local[ZP_N_TABLES];
    if (!info)
        info = local;
    char p[2300];
    snprintf(p, sizeof p, "%s/%s.done", cells, id);
    struct zp_err e = {0};
    char *m = zp_file_read_text(p, NULL, &e);
    if (!m)
        return zp_err_set(err, ZP_EIO, "cell %s: no marker (%s)", id, e.msg);
    int bad = parse_marker(m, info);
    free(m);
    if (bad)
        return zp_err_set(err, ZP_EFORMAT, "cell %s: marker %s is empty or malformed", id, p);
    for (int t = 0; t < ZP_N_TABLES; t++) {
        if (!info[t].present)
            continue;
        size_t len;
        char *text = read_fragment(cells, id, t, &info[t], &len, err);
        if (!text)
            return err->status;
        free(text);
    }
    return ZP_OK;
}

/* Plan index of id: ids are "<index>-<hash>" (experiment/plan.c), checked, with a
 * linear search when an id has another form. -1 when not in the plan. */
static long plan_index(const struct zp_run_dir *rd, const char *id)
{
    if (!rd->ids)
        return -1;
    char *end;
    unsigned long i = strtoul(id, &end, 10);
    if (end != id && *end == '-' && i < rd->n && strcmp(rd->ids[i], id) == 0)
        return (long)i;
    for (size_t k = 0; k < rd->n; k++)
        if (strcmp(rd->ids[k], id) == 0)
            return (long)k;
    return -1;
}

int zp_cell_done(const struct zp_run_dir *rd, const char *id)
{
    long i = plan_index(rd, id);
    if (i >= 0)
        return rd->done[i];
    struct zp_err e = {0};
    return zp_cell_verify(rd->cells, id, NULL, &e) == ZP_OK;
}

static void drop_cell(const struct zp_run_dir *rd, const char *id)
{
    char p[2300];
    snprintf(p, sizeof p, "%s/%s.done", rd->cells, id);
    unlink(p); /* the marker first: without it the cell is not done */
    for (int t = 0; t < ZP_N_TABLES; t++)
        if (frag_path(p, sizeof p, rd->cells, id, t) == 0)
            unlink(p);
}

enum zp_status zp_run_dir_plan(struct zp_run_dir *rd, const char *const *ids, size_t n, struct zp_err *err)
{
    free(rd->done);
    free(rd->in_csv);
    rd->done = calloc(n ? n : 1, 1);
    rd->in_csv = calloc(n ? n : 1, 1);
    if (!rd->done || !rd->in_csv)
        return zp_err_set(err, ZP_ENOMEM, "out of memory (plan of %zu cells)", n);
    rd->ids = ids;
    rd->n = n;
    rd->last_in_csv = -1;
    rd->done_not_in_csv = 0;
    rd->recomputed = 0;
    size_t ndone = 0;
    char p[2300];
    for (size_t i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/%s.done", rd->cells, ids[i]);
        if (access(p, F_OK) != 0)
            continue;
        struct zp_err e = {0};
        if (zp_cell_verify(rd->cells, ids[i], NULL, &e) == ZP_OK) {
            rd->done[i] = 1;
            ndone++;
            continue;
        }
        if (!rd->resume)
            return zp_err_set(err, ZP_EFORMAT, "%s: %s", rd->dir, e.msg);
        fprintf(stderr, "harness: warning: %s: %s: the cell is run again\n", rd->dir, e.msg);
        drop_cell(rd, ids[i]);
        rd->recomputed++;
    }
    if (!ndone)
        return ZP_OK;
    rd->csv_stale = 1;
    return zp_run_assemble(rd, ids, n, err);
}

static enum zp_status write_marker(const struct zp_run_dir *rd, const char *id, const char *const rows[ZP_N_TABLES],
                                   struct zp_err *err)
{
    char text[ZP_N_TABLES * 128 + 32];
    size_t len = (size_t)snprintf(text, sizeof text, "%s", MARKER_MAGIC);
    for (int t = 0; t < ZP_N_TABLES; t++) {
        if (!rows[t] || !rows[t][0])
            continue;
        size_t n = strlen(rows[t]);
        int fields = zp_table_def((enum zp_result_table)t)->ncols;
        long r = zp_rows_check(rows[t], n, fields);
        if (r < 0)
            return zp_err_set(err, ZP_EINVAL, "cell %s: %s rows are malformed (a row without %d fields or a cut row)",
                              id, zp_table_file((enum zp_result_table)t), fields);
        len += (size_t)snprintf(text + len, sizeof text - len, "%s rows=%ld fields=%d bytes=%zu crc32=%08x\n",
                                zp_table_file((enum zp_result_table)t), r, fields, n, (unsigned)crc_of(rows[t], n));
    }
    char p[2300];
    snprintf(p, sizeof p, "%s/%s.done", rd->cells, id);
    return zp_file_write_atomic(p, text, len, err);
}

/* The header line of table t. */
static void header_of(int t, char **buf, size_t *len)
{
    FILE *mem = open_memstream(buf, len);
    if (!mem)
        return;
    const struct zp_table_def *def = zp_table_def((enum zp_result_table)t);
    for (int c = 0; c < def->ncols; c++)
        fprintf(mem, "%s%s", c ? "," : "", def->cols[c].name);
    fputc('\n', mem);
    fclose(mem);
}

/* Appends one cell's rows to the public CSVs: a table's first rows create its file
 * (header + rows, atomically); later ones are one append. The CSVs are a view of
 * the fragments: a torn append (a crash inside write) is repaired by the next
 * assembly (resume, merge, end of run). */
static enum zp_status append_rows(const struct zp_run_dir *rd, const char *const rows[ZP_N_TABLES], struct zp_err *err)
{
    for (int t = 0; t < ZP_N_TABLES; t++) {
        if (!rows[t] || !rows[t][0])
            continue;
        char p[1300];
        snprintf(p, sizeof p, "%s/%s", rd->dir, zp_table_file((enum zp_result_table)t));
        size_t n = strlen(rows[t]);
        int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            char *h = NULL;
            size_t hl = 0;
            header_of(t, &h, &hl);
            char *all = h ? realloc(h, hl + n + 1) : NULL;
            if (!all) {
                free(h);
                return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", p);
            }
            memcpy(all + hl, rows[t], n + 1);
            enum zp_status st = zp_file_write_atomic(p, all, hl + n, err);
            free(all);
            if (st)
                return st;
            continue;
        }
        if (fd < 0)
            return zp_err_set(err, ZP_EIO, "%s: cannot open for appending: %s", p, strerror(errno));
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(fd, rows[t] + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                int e = errno;
                close(fd);
                return zp_err_set(err, ZP_EIO, "%s: append failed: %s", p, strerror(e));
            }
            off += (size_t)w;
        }
        if (close(fd) != 0)
            return zp_err_set(err, ZP_EIO, "%s: close failed: %s", p, strerror(errno));
    }
    return ZP_OK;
}

enum zp_status zp_cell_commit(struct zp_run_dir *rd, const char *id, const char *const rows[ZP_N_TABLES],
                              struct zp_err *err)
{
    char p[2300];
    for (int t = 0; t < ZP_N_TABLES; t++) {
        if (!rows[t] || !rows[t][0])
            continue;
        if (frag_path(p, sizeof p, rd->cells, id, t))
            return zp_err_set(err, ZP_EINVAL, "%s: path too long", rd->cells);
        if (zp_file_write_atomic(p, rows[t], strlen(rows[t]), err))
            return err->status;
    }
    if (write_marker(rd, id, rows, err))
        return err->status;
    long i = plan_index(rd, id);
    if (i < 0)
        return ZP_OK;
    rd->done[i] = 1;
    /* In plan order (nothing finished but not yet shown, nothing later shown):
     * append. Otherwise the CSVs wait for the next assembly. */
    if (!rd->csv_stale && i > rd->last_in_csv && rd->done_not_in_csv == 0) {
        if (append_rows(rd, rows, err))
            return err->status;
        rd->in_csv[i] = 1;
        rd->last_in_csv = i;
    } else {
        rd->csv_stale = 1;
        rd->done_not_in_csv++;
    }
    return ZP_OK;
}

enum zp_status zp_run_assemble(struct zp_run_dir *rd, const char *const *ids, size_t n, struct zp_err *err)
{
    /* Fragment infos once per cell (one marker read), then one pass per table. */
    struct zp_fragment_info(*info)[ZP_N_TABLES] = calloc(n ? n : 1, sizeof *info);
    uint8_t *ok = calloc(n ? n : 1, 1);
    if (!info || !ok) {
        free(info);
        free(ok);
        return zp_err_set(err, ZP_ENOMEM, "out of memory");
    }
    char p[2300];
    for (size_t i = 0; i < n; i++) {
        long k = plan_index(rd, ids[i]);
        if (k >= 0 && !rd->done[k])
            continue;
        snprintf(p, sizeof p, "%s/%s.done", rd->cells, ids[i]);
        char *m = k >= 0 || access(p, F_OK) == 0 ? zp_file_read_text(p, NULL, err) : NULL;
        if (!m && k < 0)
            continue;
        if (!m || parse_marker(m, info[i])) {
            free(m);
            free(info);
            free(ok);
            return zp_err_set(err, ZP_EFORMAT, "cell %s: marker %s is missing or malformed", ids[i], p);
        }
        free(m);
        ok[i] = 1;
    }
    enum zp_status st = ZP_OK;
    for (int t = 0; t < ZP_N_TABLES && !st; t++) {
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        if (!mem) {
            st = zp_err_set(err, ZP_ENOMEM, "out of memory");
            break;
        }
        int any = 0;
        const struct zp_table_def *def = zp_table_def((enum zp_result_table)t);
        for (int c = 0; c < def->ncols; c++)
            fprintf(mem, "%s%s", c ? "," : "", def->cols[c].name);
        fputc('\n', mem);
        for (size_t i = 0; i < n && !st; i++) {
            if (!ok[i] || !info[i][t].present)
                continue;
            size_t fl;
            char *frag = read_fragment(rd->cells, ids[i], t, &info[i][t], &fl, err);
            if (!frag) {
                st = err->status;
                break;
            }
            fwrite(frag, 1, fl, mem);
            free(frag);
            any = 1;
        }
        if (fclose(mem) != 0 && !st)
            st = zp_err_set(err, ZP_ENOMEM, "out of memory");
        if (!st && any) {
            snprintf(p, sizeof p, "%s/%s", rd->dir, zp_table_file((enum zp_result_table)t));
            st = zp_file_write_atomic(p, text, len, err);
        }
        free(text);
    }
    free(info);
    free(ok);
    if (!st && rd->ids == ids) {
        for (size_t i = 0; i < n; i++) {
            rd->in_csv[i] = rd->done[i];
            if (rd->done[i])
                rd->last_in_csv = (long)i;
        }
        rd->done_not_in_csv = 0;
        rd->csv_stale = 0;
    }
    return st;
}
