/* run.json, written from one place for every command that makes a run folder
 * (`harness run`, `harness bench`, `harness merge`).
 *
 * The common keys: harness ("zeropoint"), command, config_path, config (the
 * config file as given, parsed), machine (CPU model and flags, cores, compiler,
 * version, git revision: store/sysinfo.h), start_time, end_time, wall_seconds and
 * phase_seconds. The caller adds what is its own through the small JSON builder
 * below (zp_json_*), so no caller outside store/ sees cJSON.
 *
 * zp_run_json_write may be called any number of times: each call rewrites the
 * file atomically with the current end time and phases, so a phase that runs
 * after the first write (the figures) is recorded by writing again. */
#ifndef ZP_STORE_RUN_JSON_H
#define ZP_STORE_RUN_JSON_H

#include <stddef.h>

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A JSON object or array inside a document being built (opaque). Every call is a
 * no-op on NULL; an allocation that fails leaves that key out. */
struct zp_json;

struct zp_json *zp_json_obj(struct zp_json *parent, const char *key); /* child object, made if absent */
struct zp_json *zp_json_arr(struct zp_json *parent, const char *key); /* child array, made if absent */
struct zp_json *zp_json_push_obj(struct zp_json *arr);               /* a new object at the array's end */
void zp_json_push_str(struct zp_json *arr, const char *v);
void zp_json_set_str(struct zp_json *obj, const char *key, const char *v); /* replaces; NULL = null */
void zp_json_set_num(struct zp_json *obj, const char *key, double v);
void zp_json_set_bool(struct zp_json *obj, const char *key, int v);
/* JSON text parsed and set under key; text that does not parse is set as null. */
void zp_json_set_raw(struct zp_json *obj, const char *key, const char *json_text);

struct zp_run_json {
    char path[4200];      /* DIR/run.json */
    struct zp_json *root; /* owned */
    int keep_times;       /* 1: write leaves end_time and wall_seconds as they are */
    double t0;            /* monotonic start (zp_run_json_now), for wall_seconds; set
                             by init, a caller that started earlier may set its own */
};

/* Starts a run.json for DIR with the common keys. config_text is the config as
 * given (NULL: read from config_path; unreadable or not JSON: null). */
enum zp_status zp_run_json_init(struct zp_run_json *rj, const char *dir, const char *command,
                                const char *config_path, const char *config_text, struct zp_err *err);
/* An existing run.json (FROM/run.json) to amend and write to TO/run.json, times
 * kept as they were (merge: the shards' times are the run's). */
enum zp_status zp_run_json_load(struct zp_run_json *rj, const char *from_dir, const char *to_dir,
                                struct zp_err *err);
/* The plan recorded in a loaded run.json: the cell ids in plan order (strings
 * owned by rj, array malloc'd; NULL and *n = 0 when absent). */
const char **zp_run_json_plan_ids(struct zp_run_json *rj, size_t *n);
/* phase_seconds.<phase> += secs. */
void zp_run_json_phase_add(struct zp_run_json *rj, const char *phase, double secs);
/* Sets end_time and wall_seconds (since init) and writes DIR/run.json atomically. */
enum zp_status zp_run_json_write(struct zp_run_json *rj, struct zp_err *err);
void zp_run_json_free(struct zp_run_json *rj);

/* Monotonic seconds (for phase timings). */
double zp_run_json_now(void);

#ifdef __cplusplus
}
#endif
#endif
