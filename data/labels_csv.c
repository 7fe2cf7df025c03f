/* The labels CSV of an image folder: a header row naming at least the columns
 * "file" and "class_index" (in any position; others such as wnid, class_name
 * are ignored), then one row per image. Fields follow RFC 4180 quoting. */
#include "data/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits one line (no newline) into fields in place; quoted fields lose their
 * quotes and doubled quotes. Returns the number of fields (at most max), or -1
 * for an unterminated quote. */
static int split_csv(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *out = p, *start = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0')
                    return -1;
                if (*p == '"') {
                    if (p[1] == '"') {
                        *out++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *out++ = *p++;
            }
            while (*p && *p != ',')
                p++; /* junk after a closing quote is ignored */
        } else {
            while (*p && *p != ',')
                p++;
            out = p;
        }
        char sep = *p;
        *out = '\0';
        if (n < max)
            fields[n++] = start;
        if (sep != ',')
            break;
        p++;
    }
    return n;
}

enum zp_status zp_labels_csv_parse(char *text, const char *path, int limit, char ***files,
                                   int32_t **labels, int64_t *n, struct zp_err *err)
{
    *files = NULL;
    *labels = NULL;
    *n = 0;
    enum zp_status st = ZP_OK;
    size_t cap = 0;
    char **f = NULL;
    int32_t *l = NULL;
    int64_t count = 0;
    int col_file = -1, col_label = -1, ncols = 0;
    long lineno = 0;
    char *next = text;
    while (next) {
        char *line = next;
        char *eol = strchr(line, '\n');
        if (eol)
            *eol = '\0';
        next = eol ? eol + 1 : NULL;
        lineno++;
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r')
            line[--ll] = '\0';
        if (lineno == 1 && ll >= 3 && (uint8_t)line[0] == 0xEF && (uint8_t)line[1] == 0xBB &&
            (uint8_t)line[2] == 0xBF)
            line += 3; /* UTF-8 byte order mark */
        if (!*line)
            continue;
        char *fields[64];
        int nf = split_csv(line, fields, 64);
        if (nf < 0) {
            st = zp_err_set(err, ZP_EFORMAT, "%s: line %ld: unterminated quoted field", path, lineno);
            goto out_free;
        }
        if (col_file < 0) {
            for (int i = 0; i < nf; i++) {
                if (strcmp(fields[i], "file") == 0)
                    col_file = i;
                else if (strcmp(fields[i], "class_index") == 0)
                    col_label = i;
            }
            if (col_file < 0 || col_label < 0) {
                st = zp_err_set(err, ZP_EFORMAT,
                                "%s: line 1: expected a header with columns 'file' and 'class_index', "
                                "got '%s'%s", path, nf > 0 ? fields[0] : "", nf > 1 ? ",..." : "");
                goto out_free;
            }
            ncols = nf;
            continue;
        }
        if (limit > 0 && count >= limit)
            break;
        if (nf <= col_file || nf <= col_label) {
            st = zp_err_set(err, ZP_EFORMAT, "%s: line %ld: %d fields, the header has %d", path, lineno, nf,
                            ncols);
            goto out_free;
        }
        const char *ls = fields[col_label];
        char *end = NULL;
        long v = strtol(ls, &end, 10);
        if (!*ls || *end || v < 0 || v > INT32_MAX) {
            st = zp_err_set(err, ZP_EFORMAT, "%s: line %ld: class_index: expected an integer >= 0, got '%s'",
                            path, lineno, ls);
            goto out_free;
        }
        if (!*fields[col_file]) {
            st = zp_err_set(err, ZP_EFORMAT, "%s: line %ld: empty file name", path, lineno);
            goto out_free;
        }
        if ((size_t)count == cap) {
            cap = cap ? cap * 2 : 1024;
            char **nf2 = realloc(f, cap * sizeof *f);
            int32_t *nl = realloc(l, cap * sizeof *l);
            if (nf2)
                f = nf2;
            if (nl)
                l = nl;
            if (!nf2 || !nl) {
                st = zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
                goto out_free;
            }
        }
        f[count] = strdup(fields[col_file]);
        if (!f[count]) {
            st = zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
            goto out_free;
        }
        l[count++] = (int32_t)v;
    }
    if (col_file < 0) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: empty CSV: expected a header 'file,class_index,...'", path);
        goto out_free;
    }
    if (count == 0) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: no rows after the header", path);
        goto out_free;
    }
    *files = f;
    *labels = l;
    *n = count;
    return ZP_OK;
out_free:
    for (int64_t i = 0; i < count; i++)
        free(f[i]);
    free(f);
    free(l);
    return st;
}

enum zp_status zp_labels_csv_read(const char *path, int limit, char ***files, int32_t **labels,
                                  int64_t *n, struct zp_err *err)
{
    *files = NULL;
    *labels = NULL;
    *n = 0;
    uint8_t *buf = NULL;
    size_t len = 0;
    enum zp_status st = zp_data_read_file(path, &buf, &len, err);
    if (st != ZP_OK)
        return st;
    char *text = realloc(buf, len + 1);
    if (!text) {
        free(buf);
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
    }
    text[len] = '\0';
    if (strlen(text) != len) {
        free(text);
        return zp_err_set(err, ZP_EFORMAT, "%s: a NUL byte in the text: not a CSV file", path);
    }
    st = zp_labels_csv_parse(text, path, limit, files, labels, n, err);
    free(text);
    return st;
}
