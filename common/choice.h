/* Choice lists: a set of words written as one string, "minmax|percentile|mse".
 * Scheme option descriptors and config validators both use this form; these
 * are the only functions that parse it. Indexes count from 0 in list order. */
#ifndef ZP_COMMON_CHOICE_H
#define ZP_COMMON_CHOICE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Index of `word` in `choices` (exact, case-sensitive), -1 if absent or NULL. */
int zp_choice_find(const char *choices, const char *word);
/* Number of words ("" has one empty word; NULL has none). */
int zp_choice_count(const char *choices);
/* Writes word `idx` to out (truncated to size - 1, NUL-terminated); "" and
 * returns -1 when idx is out of range, else 0. */
int zp_choice_name(const char *choices, int idx, char *out, size_t size);
/* Writes the list for a message, "a, b, c", to out (truncated as above). */
void zp_choice_join(const char *choices, const char *sep, char *out, size_t size);

#ifdef __cplusplus
}
#endif
#endif
