/* Train configs (harness train CONFIG): docs/training.md. */
#ifndef ZP_CONFIG_TRAIN_CONFIG_H
#define ZP_CONFIG_TRAIN_CONFIG_H

#include "common/err.h"
#include "train/trainer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads and validates a train config; messages name the file and JSON path.
 * Relative paths in the file are used as given (relative to the working
 * directory); '@data/' paths resolve against data_root (--data), else $ZP_DATA. */
enum zp_status zp_train_config_load_root(const char *path, const char *data_root,
                                         struct zp_train_config *cfg, struct zp_err *err);
/* Same from text (the fuzz target); `path` is used in messages and the default name. */
enum zp_status zp_train_config_parse(const char *text, const char *path, const char *data_root,
                                     struct zp_train_config *cfg, struct zp_err *err);
/* The same with no --data (the root from $ZP_DATA only). */
enum zp_status zp_train_config_load(const char *path, struct zp_train_config *cfg,
                                    struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
