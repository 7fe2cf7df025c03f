/* Typed, validated reads from a cJSON tree with error messages that name the file
 * and the JSON path ("configs/x.json: schemes[3].bits: expected 1..8, got 12").
 * Shared by every config reader (experiment, bench and train configs). */
#ifndef ZP_HARNESS_JSON_CHECK_H
#define ZP_HARNESS_JSON_CHECK_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "common/err.h"

struct zp_jctx {
    const char *file;     /* for messages */
    struct zp_err *err;
};

/* Parses text; a syntax error names the line and column. Returns NULL on error. */
cJSON *zp_json_parse(struct zp_jctx *c, const char *text);
/* Reads a whole file into a malloc'd NUL-terminated buffer. */
char *zp_json_read_file(const char *path, struct zp_err *err);

/* path + "." + key, or path + "[i]" (static rotating buffers: use immediately). */
const char *zp_jpath_key(const char *path, const char *key);
const char *zp_jpath_index(const char *path, int i);

/* Every key of obj must be in the NULL-terminated list. */
enum zp_status zp_json_check_keys(struct zp_jctx *c, const cJSON *obj, const char *path,
                                  const char *const *allowed);
/* obj must be an object. */
enum zp_status zp_json_expect_object(struct zp_jctx *c, const cJSON *v, const char *path);

/* Optional members: when absent, *out keeps its value (the default) and ZP_OK is
 * returned. Wrong type or out of range is an error naming path.key. */
enum zp_status zp_json_int(struct zp_jctx *c, const cJSON *obj, const char *path, const char *key,
                           long long min, long long max, long long *out);
enum zp_status zp_json_num(struct zp_jctx *c, const cJSON *obj, const char *path, const char *key,
                           double min, double max, double *out);
enum zp_status zp_json_bool(struct zp_jctx *c, const cJSON *obj, const char *path, const char *key,
                            int *out);
/* A string; when `choices` ("a|b|c") is non-NULL the value must be one of them. */
enum zp_status zp_json_str(struct zp_jctx *c, const cJSON *obj, const char *path, const char *key,
                           const char *choices, char *out, size_t out_len);
/* Value checks for a value already in hand (array elements, sweep values). */
enum zp_status zp_json_value_int(struct zp_jctx *c, const cJSON *v, const char *path,
                                 long long min, long long max, long long *out);
enum zp_status zp_json_value_num(struct zp_jctx *c, const cJSON *v, const char *path,
                                 double min, double max, double *out);
enum zp_status zp_json_value_bool(struct zp_jctx *c, const cJSON *v, const char *path, int *out);
enum zp_status zp_json_value_str(struct zp_jctx *c, const cJSON *v, const char *path,
                                 const char *choices, char *out, size_t out_len);
/* Index of word in "a|b|c", or -1. */
int zp_choice_index(const char *choices, const char *word);
/* A short description of a JSON value for messages: 12, "abc", true, an object... */
const char *zp_json_describe(const cJSON *v);

#endif
