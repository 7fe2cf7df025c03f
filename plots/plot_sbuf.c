/* A growable string and a string set in first-seen order: what the figure
 * writers build scripts, data files and category lists with. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plots/plot_int.h"

void zp_sbuf_printf(struct zp_sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 1024;
        while (nc < b->len + (size_t)n + 1)
            nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void zp_sbuf_free(struct zp_sbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

int zp_strset_find(const struct zp_strset *set, const char *s)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->v[i], s) == 0)
            return (int)i;
    return -1;
}

int zp_strset_add(struct zp_strset *set, const char *s)
{
    int i = zp_strset_find(set, s);
    if (i >= 0)
        return i;
    if (set->n == set->cap) {
        size_t nc = set->cap ? set->cap * 2 : 16;
        char **nv = realloc(set->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        set->v = nv;
        set->cap = nc;
    }
    char *d = strdup(s);
    if (!d)
        return -1;
    set->v[set->n] = d;
    return (int)set->n++;
}

void zp_strset_free(struct zp_strset *set)
{
    for (size_t i = 0; i < set->n; i++)
        free(set->v[i]);
    free(set->v);
    memset(set, 0, sizeof *set);
}

