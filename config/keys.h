/* The table of every config key (run, bench and train configs): the readers check
 * objects against it (config/json_check.h zp_json_check_section), unknown-key
 * messages list its keys, and `harness help config` prints it. Adding a key is one
 * line here plus its read in the parser; docs/config.md describes each at length. */
#ifndef ZP_CONFIG_KEYS_H
#define ZP_CONFIG_KEYS_H

#include <stddef.h>
#include <stdio.h>

struct zp_config_key {
    const char *section; /* "run", "run.models[]", "bench.shapes[]", "train.data", ... */
    const char *key;
    const char *type;    /* what the value is, as a user would write it */
    const char *def;     /* default ("" = required or none) */
    const char *help;    /* one line */
};

/* Sections in the order `harness help config` prints them, with a title each. */
struct zp_config_section {
    const char *name;
    const char *title;
};

extern const struct zp_config_key zp_config_keys[];
extern const size_t zp_config_n_keys;
extern const struct zp_config_section zp_config_sections[];
extern const size_t zp_config_n_sections;

/* The entry for key in section, or NULL. */
const struct zp_config_key *zp_config_key_find(const char *section, const char *key);
/* The section's keys as "a, b, c" (truncated to n). */
void zp_config_key_list(const char *section, char *out, size_t n);
/* The summary `harness help config` prints. */
void zp_config_print_keys(FILE *f);

#endif
