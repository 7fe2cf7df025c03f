/* Whole-file CSV tables for the figures and the report, parsed with libcsv.
 * The first row is the header; rows are padded to the header's width so a
 * short row never reads out of bounds; extra fields are dropped. */
#include <ctype.h>
#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/atomic.h"
#include "common/file.h"
#include "common/path.h"
#include "store/table.h"

struct parse_state {
    char **row;          /* fields of the row being read */
    size_t nrow, caprow;
    char **all;          /* every field of every data row, padded */
    size_t nall, capall;
    struct zp_table *t;
    int oom;
};


static char *dup_field(const void *s, size_t len)
{
    char *d = malloc(len + 1);
    if (!d)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    /* Trim surrounding spaces and a stray \r: writers differ in what they leave. */
    size_t a = 0, b = len;
    while (a < b && isspace((unsigned char)d[a]))
        a++;
    while (b > a && isspace((unsigned char)d[b - 1]))
        b--;
    memmove(d, d + a, b - a);
    d[b - a] = '\0';
    return d;
}

static void on_field(void *s, size_t len, void *data)
{
    struct parse_state *ps = data;
    if (ps->oom)
        return;
    if (ps->nrow == ps->caprow) {
        size_t nc = ps->caprow ? ps->caprow * 2 : 32;
        char **nr = realloc(ps->row, nc * sizeof *nr);
        if (!nr) {
            ps->oom = 1;
            return;
        }
        ps->row = nr;
        ps->caprow = nc;
    }
    char *f = dup_field(s, len);
    if (!f) {
        ps->oom = 1;
        return;
    }
    ps->row[ps->nrow++] = f;
}

static void free_row(struct parse_state *ps)
{
    for (size_t i = 0; i < ps->nrow; i++)
        free(ps->row[i]);
    ps->nrow = 0;
}

static int row_is_blank(const struct parse_state *ps)
{
    for (size_t i = 0; i < ps->nrow; i++)
        if (ps->row[i][0])
            return 0;
    return 1;
}

static void on_row(int c, void *data)
{
    (void)c;
    struct parse_state *ps = data;
    struct zp_table *t = ps->t;
    if (ps->oom || row_is_blank(ps)) {
        free_row(ps);
        return;
    }
    if (!t->header) {
        t->header = ps->row;
        t->ncols = ps->nrow;
        ps->row = NULL;
        ps->nrow = ps->caprow = 0;
        return;
    }
    if (ps->nall + t->ncols > ps->capall) {
        size_t nc = ps->capall ? ps->capall * 2 : 256;
        while (nc < ps->nall + t->ncols)
            nc *= 2;
        char **na = realloc(ps->all, nc * sizeof *na);
        if (!na) {
            ps->oom = 1;
            free_row(ps);
            return;
        }
        ps->all = na;
        ps->capall = nc;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        char *f = i < ps->nrow ? ps->row[i] : strdup("");
        if (i < ps->nrow)
            ps->row[i] = NULL;
        if (!f) {
            ps->oom = 1;
            f = NULL;
        }
        ps->all[ps->nall++] = f;
    }
    for (size_t i = t->ncols; i < ps->nrow; i++)
        free(ps->row[i]);
    ps->nrow = 0;
    t->nrows++;
}

enum zp_status zp_table_parse(const char *name, const char *text, size_t len, struct zp_table *t,
                              struct zp_err *err)
{
    memset(t, 0, sizeof *t);
    struct csv_parser p;
    /* strict: a stray or unterminated quote is an error, not a silently merged field */
    if (csv_init(&p, CSV_APPEND_NULL | CSV_STRICT | CSV_STRICT_FINI) != 0)
        return zp_err_set(err, ZP_ENOMEM, "%s: cannot initialise the CSV parser", name);
    struct parse_state ps = {.t = t};
    enum zp_status st = ZP_OK;
    if (csv_parse(&p, text, len, on_field, on_row, &ps) != len ||
        csv_fini(&p, on_field, on_row, &ps) != 0) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: malformed CSV after %zu data rows: %s", name, t->nrows,
                        csv_strerror(csv_error(&p)));
    }
    csv_free(&p);
    free_row(&ps);
    free(ps.row);
    t->cells = ps.all;
    if (st == ZP_OK && ps.oom)
        st = zp_err_set(err, ZP_ENOMEM, "%s: out of memory reading the CSV", name);
    if (st == ZP_OK && !t->header)
        st = zp_err_set(err, ZP_EFORMAT, "%s: empty CSV: expected a header row, got nothing", name);
    if (st != ZP_OK)
        zp_table_free(t);
    return st;
}

enum zp_status zp_table_read(const char *path, struct zp_table *t, struct zp_err *err)
{
    memset(t, 0, sizeof *t);
    size_t len;
    char *buf = zp_file_read_text(path, &len, err);
    if (!buf)
        return err->status;
    enum zp_status st = zp_table_parse(path, buf, len, t, err);
    free(buf);
    return st;
}

void zp_table_free(struct zp_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; t->header && i < t->ncols; i++)
        free(t->header[i]);
    for (size_t i = 0; t->cells && i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->header);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

int zp_table_col(const struct zp_table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->header[i], name) == 0)
            return (int)i;
    return -1;
}

const char *zp_table_str(const struct zp_table *t, size_t row, int col)
{
    if (col < 0 || (size_t)col >= t->ncols || row >= t->nrows)
        return "";
    const char *s = t->cells[row * t->ncols + (size_t)col];
    return s ? s : "";
}

double zp_table_num(const struct zp_table *t, size_t row, int col)
{
    const char *s = zp_table_str(t, row, col);
    if (!*s)
        return NAN;
    char *end;
    double v = strtod(s, &end);
    /* non-finite values (inf, nan) can't be drawn or ranked: treated as missing */
    return *end || !isfinite(v) ? NAN : v;
}

int zp_table_bool(const struct zp_table *t, size_t row, int col)
{
    const char *s = zp_table_str(t, row, col);
    if (!strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "yes"))
        return 1;
    if (!strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "no"))
        return 0;
    return -1;
}
