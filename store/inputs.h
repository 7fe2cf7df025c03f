/* What a run reads, fingerprinted: each model, dataset, labels, checkpoint and
 * plugin file by path, size and CRC-32 of its bytes (an image folder by the names,
 * sizes and modification times of its files: hashing 50,000 JPEGs at every start
 * would cost more than it protects). Recorded in DIR/.cells/INPUTS; resume and
 * merge refuse a folder whose inputs differ, naming the file. */
#ifndef ZP_STORE_INPUTS_H
#define ZP_STORE_INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "config/config.h"
#include "store/results.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zp_input {
    char kind[16];          /* "model", "images", "labels", "weights", "plugin", "checkpoint" */
    char path[ZP_PATH_MAX];
    long long size;         /* bytes; a folder: its files' total */
    uint32_t crc;           /* CRC-32 of the bytes; a folder: of its listing */
    int is_dir;
};

struct zp_inputs {
    size_t n, cap;
    struct zp_input *v;
};

/* Adds and fingerprints one file now (a path already present is skipped). A file
 * that can't be read is an error naming it and the errno text. */
enum zp_status zp_inputs_add(struct zp_inputs *in, const char *kind, const char *path, struct zp_err *err);
/* Every input file of a run config. */
enum zp_status zp_inputs_from_config(struct zp_inputs *in, const struct zp_config *cfg, struct zp_err *err);
void zp_inputs_free(struct zp_inputs *in);
/* The INPUTS text: one line "kind size crc32 path" per input (malloc'd). */
char *zp_inputs_text(const struct zp_inputs *in);

/* Records the inputs in rd's folder, or, when the folder already records inputs
 * (resume), compares them: a difference is ZP_ECONFIG naming the first file that
 * changed, was added or is gone. */
enum zp_status zp_run_dir_inputs(const struct zp_run_dir *rd, const struct zp_inputs *in, struct zp_err *err);
/* Compares two INPUTS texts (merge: every shard's against the first's); NULL when
 * equal, else a malloc'd description of the first difference. */
char *zp_inputs_diff(const char *was, const char *now);

#ifdef __cplusplus
}
#endif
#endif
