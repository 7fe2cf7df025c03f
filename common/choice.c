/* Choice lists: see choice.h. */
#include "common/choice.h"

#include <string.h>

static void copy_trunc(char *out, size_t size, const char *s, size_t n)
{
    if (!size)
        return;
    if (n >= size)
        n = size - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

int zp_choice_find(const char *choices, const char *word)
{
    if (!choices || !word)
        return -1;
    size_t wl = strlen(word);
    const char *p = choices;
    for (int i = 0;; i++) {
        size_t l = strcspn(p, "|");
        if (l == wl && strncmp(p, word, l) == 0)
            return i;
        if (!p[l])
            return -1;
        p += l + 1;
    }
}

int zp_choice_count(const char *choices)
{
    if (!choices)
        return 0;
    int n = 1;
    for (const char *c = choices; *c; c++)
        n += *c == '|';
    return n;
}

int zp_choice_name(const char *choices, int idx, char *out, size_t size)
{
    copy_trunc(out, size, "", 0);
    if (!choices || idx < 0)
        return -1;
    const char *p = choices;
    for (int i = 0; i < idx; i++) {
        p = strchr(p, '|');
        if (!p)
            return -1;
        p++;
    }
    copy_trunc(out, size, p, strcspn(p, "|"));
    return 0;
}

void zp_choice_join(const char *choices, const char *sep, char *out, size_t size)
{
    if (!size)
        return;
    out[0] = '\0';
    if (!choices)
        return;
    size_t j = 0, sl = strlen(sep);
    for (const char *p = choices; *p && j + 1 < size; p++) {
        if (*p == '|') {
            for (size_t k = 0; k < sl && j + 1 < size; k++)
                out[j++] = sep[k];
        } else {
            out[j++] = *p;
        }
    }
    out[j] = '\0';
}
