/* Axis and tick-label helpers of the bar charts: round ticks on a symlog axis,
 * and x labels shortened to what tells the bars apart, wrapped to fit their slot. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plots/plot_int.h"

/* Ticks at round values only (0, the decades from the threshold c up, 1-3-10 while
 * a side spans less than two decades beyond c): ticks derived from c itself read as
 * 0.006783, 67.83 and say nothing. c is rounded up to a decade first, so a
 * non-round threshold still gets decade ticks. */
size_t zp_plot_symlog_ticks(double c, double lo, double hi, double *out, size_t cap)
{
    size_t n = 0;
    if (!(c > 0) || isnan(lo) || isnan(hi))
        return 0;
    int k0 = (int)ceil(log10(c) - 1e-9);
    double neg[64];
    size_t nneg = 0;
    for (int sign = -1; sign <= 1; sign += 2) {
        double lim = sign > 0 ? hi : -lo;
        if (sign > 0 && n < cap && lo <= 0 && hi >= 0)
            out[n++] = 0;
        if (!(lim > 0))
            continue;
        int two = lim < 100 * pow(10, k0);
        for (int k = k0; k < k0 + 40; k++) {
            static const double mant[] = {1, 3};
            int stop = 0;
            for (size_t m = 0; m < (two ? 2u : 1u); m++) {
                /* 10^k by pow, not repeated * 10: 0.1 stays 0.1 */
                double v = mant[m] * pow(10, k);
                if (v > lim * (1 + 1e-9)) {
                    stop = 1;
                    break;
                }
                if (sign < 0 && nneg < sizeof neg / sizeof neg[0])
                    neg[nneg++] = -v;
                else if (sign > 0 && n < cap)
                    out[n++] = v;
            }
            if (stop)
                break;
        }
        if (sign < 0) {
            /* ascending: the negatives, most negative first, go before 0 */
            size_t m = nneg < cap ? nneg : cap;
            for (size_t i = 0; i < m; i++)
                out[i] = neg[nneg - 1 - i];
            n = m;
        }
    }
    return n;
}

/* The words of s (split at spaces) into w, at most max; returns the count. */
static size_t split_words(char *s, char **w, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(s, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save))
        w[n++] = t;
    return n;
}

#define MAXW 32

static int has_word(char **w, size_t n, const char *word)
{
    for (size_t i = 0; i < n; i++)
        if (w[i] && !strcmp(w[i], word))
            return 1;
    return 0;
}

/* "inputs: A8: asymmetric 8b per-channel" and "conv_outputs: A4: asymmetric 8b
 * per-channel bc" -> "inputs: A8" and "conv_outputs: A4: bc", common
 * "asymmetric 8b per-channel": the words in every label say nothing about which
 * bar is which, they go once into the axis title. A word left dangling at an end
 * loses its ':' or ','. Nothing is shortened when that would leave a label empty
 * or make two labels equal. */
int zp_plot_label_shorten(const char *const *labels, size_t n, char *out, size_t width, char *common,
                          size_t ncommon)
{
    if (ncommon)
        common[0] = 0;
    for (size_t i = 0; i < n; i++)
        snprintf(out + i * width, width, "%s", labels[i]);
    if (n < 2 || width < 2)
        return 0;
    size_t L = 1; /* room for the longest label */
    for (size_t i = 0; i < n; i++)
        L = strlen(labels[i]) + 1 > L ? strlen(labels[i]) + 1 : L;
    char *buf = malloc(n * L), *(*w)[MAXW] = malloc(n * sizeof *w);
    size_t *nw = malloc(n * sizeof *nw);
    int done = 0;
    if (!buf || !w || !nw)
        goto out;
    for (size_t i = 0; i < n; i++) {
        memcpy(buf + i * L, labels[i], strlen(labels[i]) + 1);
        nw[i] = split_words(buf + i * L, w[i], MAXW);
        /* more words than kept: the label would lose its tail, so leave all as they are */
        size_t words = 0;
        for (const char *p = labels[i]; *p; p++)
            words += *p != ' ' && (p == labels[i] || p[-1] == ' ');
        if (words > MAXW)
            goto out;
    }
    /* which words of the first label are in all others (each matched once) */
    size_t ncom = 0;
    for (size_t j = 0; j < nw[0]; j++) {
        const char *word = w[0][j]; /* stays: only pointers are cleared below */
        int all = 1;
        for (size_t i = 1; i < n && all; i++)
            all = has_word(w[i], nw[i], word);
        if (!all)
            continue;
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < nw[i]; k++)
                if (w[i][k] && !strcmp(w[i][k], word)) {
                    w[i][k] = NULL;
                    break;
                }
        if (ncommon)
            snprintf(common + strlen(common), ncommon - strlen(common), "%s%s", ncom ? " " : "", word);
        ncom++;
    }
    if (!ncom)
        goto out;
    char *res = calloc(n, width);
    if (!res)
        goto out;
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        char *o = res + i * width;
        for (size_t k = 0; k < nw[i]; k++)
            if (w[i][k])
                snprintf(o + strlen(o), width - strlen(o), "%s%s", *o ? " " : "", w[i][k]);
        size_t len = strlen(o);
        while (len && (o[len - 1] == ':' || o[len - 1] == ','))
            o[--len] = 0;
        ok = len > 0;
        for (size_t p = 0; p < i && ok; p++)
            ok = strcmp(res + p * width, o) != 0;
    }
    if (ok) {
        memcpy(out, res, n * width);
        /* the common words come from the first label: strip its dangling ':' too */
        size_t cl = ncommon ? strlen(common) : 0;
        while (cl && (common[cl - 1] == ':' || common[cl - 1] == ','))
            common[--cl] = 0;
        done = 1;
    } else if (ncommon) {
        common[0] = 0;
    }
    free(res);
out:
    free(buf);
    free(w);
    free(nw);
    return done;
}

/* s with a line break at the last space before each line would pass width
 * characters; a word longer than width stays whole. Returns the number of lines. */
size_t zp_plot_label_wrap(const char *s, size_t width, char *out, size_t n)
{
    snprintf(out, n, "%s", s);
    size_t lines = 1, line_start = 0, last_space = (size_t)-1;
    for (size_t i = 0; out[i]; i++) {
        if (out[i] == ' ')
            last_space = i;
        if (i - line_start >= width && last_space != (size_t)-1 && last_space >= line_start) {
            out[last_space] = '\n';
            line_start = last_space + 1;
            last_space = (size_t)-1;
            lines++;
        }
    }
    return lines;
}

/* A gnuplot double-quoted string: the one kind in which "\n" is a line break. */
void zp_plot_dquote(struct zp_strbuf *b, const char *s)
{
    zp_strbuf_printf(b, "\"");
    for (const char *p = s; *p; p++) {
        if (*p == '\n')
            zp_strbuf_printf(b, "\\n");
        else if (*p == '\r')
            zp_strbuf_printf(b, " ");
        else if (*p == '"' || *p == '\\')
            zp_strbuf_printf(b, "\\%c", *p);
        else
            zp_strbuf_printf(b, "%c", *p);
    }
    zp_strbuf_printf(b, "\"");
}
