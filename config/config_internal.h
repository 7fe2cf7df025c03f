/* Shared by the run-config readers (config.c, sweep.c, dataset_config.c,
 * model_config.c); not for use outside config/. */
#ifndef ZP_CONFIG_CONFIG_INTERNAL_H
#define ZP_CONFIG_CONFIG_INTERNAL_H

#include "config/config.h"
#include "config/json_check.h"

struct zp_cfg_ctx {
    struct zp_jctx j;
    const struct zp_config_env *env;
    struct zp_config *cfg;
    const cJSON *datasets; /* top-level "datasets" object, may be NULL */
    /* Expansion stays linear in the number of variants (a sweep can have 10^5):
     * the variants array grows geometrically, and labels are checked for
     * uniqueness through a hash set of variant indices (config/sweep.c). */
    size_t variants_cap;
    size_t *label_slots; /* open addressing: variant index + 1, 0 = empty */
    size_t label_cap;    /* a power of two, or 0 */
};

#define ZP_MODE_CHOICES "weights|activations|both|qat|integer"

/* A path member of obj ('@data/' resolved, and checked to exist when it is one). */
enum zp_status zp_cfg_path_member(struct zp_cfg_ctx *c, const cJSON *obj, const char *path,
                                  const char *key, int required, char *out);
/* A path value already in hand (tensors.models[i]). */
enum zp_status zp_cfg_path_value(struct zp_cfg_ctx *c, const cJSON *v, const char *path,
                                 char *out);
/* A dataset object, or the name of one in "datasets". */
enum zp_status zp_cfg_dataset(struct zp_cfg_ctx *c, const cJSON *v, const char *path,
                              struct zp_dataset_cfg *ds);
/* A "modes" array (models[] and schemes[] entries) as 1 << enum zp_mode bits. */
enum zp_status zp_cfg_modes(struct zp_cfg_ctx *c, const cJSON *modes, const char *path,
                            unsigned *out);
/* models[index]. */
enum zp_status zp_cfg_model(struct zp_cfg_ctx *c, const cJSON *v, int index,
                            struct zp_model_cfg *m);
/* schemes[index]: appends its variants to c->cfg. */
enum zp_status zp_cfg_scheme_entry(struct zp_cfg_ctx *c, const cJSON *entry, int index);

#endif
