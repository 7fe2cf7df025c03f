/* The one scheme-object parser: a registered scheme name plus bits, granularity,
 * axis, group_size and the scheme's own options, validated against the scheme's
 * descriptor. Used by run-config entries (config/sweep.c, which adds sweeps and
 * the entry-only keys), their "activations", per-layer overrides, and the train
 * config's qat.weights / qat.activations. */
#ifndef ZP_CONFIG_SCHEME_ENTRY_H
#define ZP_CONFIG_SCHEME_ENTRY_H

#include <stddef.h>

#include "config/json_check.h"
#include "schemes/scheme.h"

/* The scheme named by obj's "scheme" (required; unknown names list the registry). */
enum zp_status zp_cfg_scheme_name(struct zp_jctx *c, const cJSON *obj, const char *path,
                                  const struct zp_scheme **out);

/* Applies one key of a scheme object (bits, granularity, axis, group_size or a
 * scheme option) to sc. An unknown key is an error listing the scheme object's
 * keys, the keys of `extra_section` (config/keys.h, may be NULL) and the scheme's
 * options. */
enum zp_status zp_cfg_scheme_key(struct zp_jctx *c, struct zp_scheme_config *sc, const char *key,
                                 const cJSON *v, const char *path, const char *extra_section);

/* A whole fixed (non-swept) scheme object. Keys in `skip` (NULL-terminated, may be
 * NULL) are left to the caller; keys of `refuse_section` are "not allowed here"
 * (an entry-only key inside "activations"). Defaults first, then the keys, then
 * the scheme's full check. */
enum zp_status zp_cfg_scheme_object(struct zp_jctx *c, const cJSON *obj, const char *path,
                                    const char *const *skip, const char *refuse_section,
                                    struct zp_scheme_config *sc);

/* The scheme's full check (zp_scheme_config_check) with the message under path. */
enum zp_status zp_cfg_scheme_check(struct zp_jctx *c, const struct zp_scheme_config *sc,
                                   const char *path);

/* The options as "k=v;k=v" (the CSV `options` column). */
void zp_cfg_option_string(const struct zp_scheme_config *sc, char *out, size_t n);

#endif
