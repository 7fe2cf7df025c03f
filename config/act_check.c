/* Cross-checks of activation quantizers against the models' calibration: see
 * config.h (zp_config_check_act_calib). */
#include <stdio.h>
#include <string.h>

#include "config/config.h"

int zp_scheme_is_affine(const struct zp_scheme *s)
{
    return s->dequantize == zp_affine_dequantize;
}

/* mse and kl calibration (calib/) search the clipping range of an integer
 * affine grid of `bits` bits. A floating-point element (minifloat, mx, nvfp4)
 * or a codebook (lut4, nf4, binary) has another grid, so the range they would
 * pick optimises a quantizer the run never uses: refused rather than adapted. */
enum zp_status zp_config_check_act_calib(const struct zp_config *cfg, struct zp_err *err)
{
    const unsigned act_modes = (1u << ZP_MODE_ACTIVATIONS) | (1u << ZP_MODE_BOTH) |
                               (1u << ZP_MODE_INTEGER);
    for (size_t mi = 0; mi < cfg->n_models; mi++) {
        const struct zp_model_cfg *m = &cfg->models[mi];
        for (int k = 0; k < m->n_calib; k++) {
            const char *meth = m->calib[k].method;
            if (strcmp(meth, "mse") != 0 && strcmp(meth, "kl") != 0)
                continue;
            for (size_t vi = 0; vi < cfg->n_variants; vi++) {
                const struct zp_variant *v = &cfg->variants[vi];
                unsigned modes = v->modes ? v->modes : m->modes;
                if (!(modes & act_modes) || zp_scheme_is_affine(v->a.scheme))
                    continue;
                return zp_err_set(err, ZP_ECONFIG,
                                  "%s: models[%zu].calibration.method \"%s\" searches an integer "
                                  "affine grid, but schemes[%d] (%s) quantizes activations with "
                                  "'%s', which is not affine: use minmax, percentile or ema",
                                  cfg->path, mi, meth, v->entry, v->label, v->a.scheme->name);
            }
        }
    }
    return ZP_OK;
}
