/* A string set in first-seen order: the category lists of the figure writers
 * (their scripts and data files are built in common/strbuf.h strings). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plots/plot_int.h"

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

