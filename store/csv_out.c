/* CSV row building: see csv_out.h. */
#include "store/csv_out.h"

#include <csv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void zp_csv_init(struct zp_csv *c)
{
    memset(c, 0, sizeof *c);
}

void zp_csv_free(struct zp_csv *c)
{
    free(c->buf);
    memset(c, 0, sizeof *c);
}

static void put(struct zp_csv *c, const char *s, size_t n)
{
    if (c->oom)
        return;
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 1024;
        while (cap < c->len + n + 1)
            cap *= 2;
        char *nb = realloc(c->buf, cap);
        if (!nb) {
            c->oom = 1;
            return;
        }
        c->buf = nb;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, s, n);
    c->len += n;
    c->buf[c->len] = '\0';
}

static void sep(struct zp_csv *c)
{
    if (c->field++)
        put(c, ",", 1);
}

void zp_csv_str(struct zp_csv *c, const char *s)
{
    sep(c);
    if (!s)
        return;
    size_t n = strlen(s);
    if (strpbrk(s, ",\"\r\n") == NULL) {
        put(c, s, n);
        return;
    }
    /* csv_write quotes and doubles the embedded quotes; worst case 2n + 2 bytes. */
    char *tmp = malloc(2 * n + 3);
    if (!tmp) {
        c->oom = 1;
        return;
    }
    size_t w = csv_write(tmp, 2 * n + 3, s, n);
    put(c, tmp, w);
    free(tmp);
}

void zp_csv_int(struct zp_csv *c, long long v)
{
    char b[32];
    int n = snprintf(b, sizeof b, "%lld", v);
    sep(c);
    put(c, b, (size_t)n);
}

void zp_csv_num(struct zp_csv *c, double v)
{
    sep(c);
    if (isnan(v))
        return;
    if (isinf(v))
        v = v > 0 ? 1e308 : -1e308;
    char b[40];
    int n = snprintf(b, sizeof b, "%.9g", v);
    put(c, b, (size_t)n);
}

void zp_csv_bool(struct zp_csv *c, int v)
{
    sep(c);
    put(c, v ? "true" : "false", v ? 4 : 5);
}

void zp_csv_empty(struct zp_csv *c)
{
    sep(c);
}

void zp_csv_endrow(struct zp_csv *c)
{
    put(c, "\n", 1);
    c->field = 0;
}

void zp_csv_header(struct zp_csv *c, const char *const *cols)
{
    for (const char *const *p = cols; *p; p++)
        zp_csv_str(c, *p);
    zp_csv_endrow(c);
}
