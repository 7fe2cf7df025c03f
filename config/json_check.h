/* The one JSON-path validator: typed, validated reads from a cJSON tree with error
 * messages that name the file and the JSON path
 * ("configs/x.json: schemes[3].bits: expected 2..8, got 12").
 * Used by every config reader (run, bench and train configs); config/ is the only
 * cJSON reader of the project. All state lives in the caller's struct zp_jctx. */
#ifndef ZP_CONFIG_JSON_CHECK_H
#define ZP_CONFIG_JSON_CHECK_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "common/choice.h"
#include "common/err.h"

/* Returns from the calling reader with the status of x when it is not ZP_OK
 * (every validator step reports into the context's error first). */
#define ZP_TRY(x)                \
    do {                         \
        enum zp_status s_ = (x); \
        if (s_ != ZP_OK)         \
            return s_;           \
    } while (0)

#define ZP_JPATH_BUFS 8
#define ZP_JPATH_LEN 512

struct zp_jctx {
    const char *file;     /* for messages */
    struct zp_err *err;
    /* Rotating buffers for the path and description strings below: a returned
     * string stays valid for the next ZP_JPATH_BUFS - 1 calls on this context. */
    char buf[ZP_JPATH_BUFS][ZP_JPATH_LEN];
    int next;
};

/* A context for `file` reporting into err (zeroes the buffers). */
void zp_jctx_init(struct zp_jctx *c, const char *file, struct zp_err *err);

/* Parses text; a syntax error names the line and column; a key given twice in any
 * object is an error naming its JSON path (cJSON keeps both as siblings, and the
 * readers would silently take the first). The top level must be an object.
 * Returns NULL on error. */
cJSON *zp_json_parse(struct zp_jctx *c, const char *text);
/* Reads a whole config file into a malloc'd NUL-terminated buffer. Refuses what is
 * not a regular file before reading it (a FIFO without a writer would block,
 * /dev/zero would never end), files over 64 MiB and text with a NUL byte.
 * Status ZP_EIO when the file cannot be opened or read, ZP_ECONFIG otherwise. */
char *zp_json_read_file(const char *path, struct zp_err *err);

/* path + "." + key, or path + "[i]" (from the context's rotating buffers). */
const char *zp_jpath_key(struct zp_jctx *c, const char *path, const char *key);
const char *zp_jpath_index(struct zp_jctx *c, const char *path, int i);

/* Every key of obj must be in the NULL-terminated list. */
enum zp_status zp_json_check_keys(struct zp_jctx *c, const cJSON *obj, const char *path,
                                  const char *const *allowed);
/* Same with the keys of one section of the key table (config/keys.h). */
enum zp_status zp_json_check_section(struct zp_jctx *c, const cJSON *obj, const char *path,
                                     const char *section);
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
/* A short description of a JSON value for messages: 12, "abc", true, an object... */
const char *zp_json_describe(struct zp_jctx *c, const cJSON *v);

#endif
