/* run.json read back for the report (plots/ needs no cJSON): the fields as a flat
 * list of dotted paths with their values as text, in file order, and the whole
 * document pretty-printed.
 *
 *   struct zp_run_info ri;
 *   zp_run_info_read(dir, &ri, &err);        ZP_OK also when run.json is absent
 *   if (!ri.present) ... else if (!ri.parsed) show ri.raw ... else
 *   for (size_t i = 0; i < ri.n; i++) ri.fields[i].path, ri.fields[i].value
 *   zp_run_info_get(&ri, "machine.cpu_model")
 *   zp_run_info_free(&ri); */
#ifndef ZP_STORE_RUN_INFO_H
#define ZP_STORE_RUN_INFO_H

#include <stddef.h>

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zp_run_field {
    char path[256];  /* "machine.cpu_model", "options.limit" */
    char *value;     /* strings as they are; numbers integral -> "%.0f", else "%.4g";
                        booleans, arrays and null as compact JSON */
    int depth;       /* nesting: 0 for a top-level key */
};

struct zp_run_info {
    int present;     /* run.json exists */
    int parsed;      /* it is a JSON object */
    char *raw;       /* the file's text (present) */
    char *pretty;    /* re-indented JSON (parsed) */
    size_t n;
    struct zp_run_field *fields; /* scalars and arrays; objects nested up to 3 deep
                                    are flattened into dotted paths */
};

/* Reads DIR/run.json. ZP_OK when it is absent (present = 0) or malformed
 * (parsed = 0, raw kept); an error only for a read failure or no memory. */
enum zp_status zp_run_info_read(const char *dir, struct zp_run_info *ri, struct zp_err *err);
/* The value at a dotted path, NULL when absent. */
const char *zp_run_info_get(const struct zp_run_info *ri, const char *path);
void zp_run_info_free(struct zp_run_info *ri);

#ifdef __cplusplus
}
#endif
#endif
