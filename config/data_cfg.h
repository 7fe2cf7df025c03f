/* What run and train configs share about data: '@data/' paths (the root is
 * --data DIR (data_root), else $ZP_DATA; there is no default) and the pixel
 * preprocessing x = (pixel * scale - mean) / std. */
#ifndef ZP_CONFIG_DATA_CFG_H
#define ZP_CONFIG_DATA_CFG_H

#include <stddef.h>

#include "common/err.h"

/* Resolves a '@data/' path against the root; other paths are copied. An unset or
 * missing root is ZP_ECONFIG naming which of --data / $ZP_DATA was used and how to
 * set it. `what` prefixes the message (file and JSON path). */
enum zp_status zp_resolve_data_path(const char *in, const char *data_root, char *out,
                                    size_t out_len, const char *what, struct zp_err *err);

/* For a '@data/' path `in` resolved to `resolved`: ZP_EIO when nothing is there, with
 * the root used, where it came from and how to set another. Plain paths pass. */
enum zp_status zp_check_data_path(const char *in, const char *resolved, const char *data_root,
                                  const char *what, struct zp_err *err);


#endif
