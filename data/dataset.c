/* Dataset loading: checks the spec, dispatches on the format, and owns the
 * checks and cleanup common to every format (labels, free). */
#include "data/dataset.h"

#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

/* Labels above this are surely a misread file, not a class index (ImageNet-21k
 * has 21841 classes). */
#define ZP_DATA_MAX_LABEL (1 << 20)

static const char *format_name(enum zp_dataset_format f)
{
    switch (f) {
    case ZP_DATA_IDX: return "idx";
    case ZP_DATA_IMAGES: return "images";
    case ZP_DATA_NPY: return "npy";
    }
    return "?";
}

static enum zp_status check_spec(const struct zp_dataset_spec *spec, struct zp_err *err)
{
    const char *fmt = format_name(spec->format);
    if (spec->format != ZP_DATA_IDX && spec->format != ZP_DATA_IMAGES && spec->format != ZP_DATA_NPY)
        return zp_err_set(err, ZP_ECONFIG, "dataset: format: expected idx, images or npy, got %d",
                          (int)spec->format);
    if (!spec->images || !*spec->images)
        return zp_err_set(err, ZP_ECONFIG, "dataset (%s): images: a path is required", fmt);
    if (!spec->labels || !*spec->labels)
        return zp_err_set(err, ZP_ECONFIG, "dataset (%s): labels: a path is required", fmt);
    if (spec->format != ZP_DATA_NPY && spec->channels != 1 && spec->channels != 3)
        return zp_err_set(err, ZP_ECONFIG, "dataset (%s): channels: expected 1 or 3, got %d", fmt,
                          spec->channels);
    if (spec->size < 0 || spec->size > 8192)
        return zp_err_set(err, ZP_ECONFIG, "dataset (%s): size: expected 0..8192, got %d", fmt,
                          spec->size);
    if (spec->resize < 0 || spec->resize > 16384)
        return zp_err_set(err, ZP_ECONFIG, "dataset (%s): resize: expected 0..16384, got %d", fmt,
                          spec->resize);
    if (spec->resize_mode != ZP_RESIZE_CROP && spec->resize_mode != ZP_RESIZE_STRETCH &&
        spec->resize_mode != ZP_RESIZE_NONE)
        return zp_err_set(err, ZP_ECONFIG, "dataset (%s): resize_mode: unknown value %d", fmt,
                          (int)spec->resize_mode);
    if (spec->resize_mode == ZP_RESIZE_CROP && spec->resize > 0 && spec->resize < spec->size)
        return zp_err_set(err, ZP_ECONFIG,
                          "dataset (%s): resize: the shorter side (%d) must be at least the crop "
                          "size (%d)", fmt, spec->resize, spec->size);
    if (spec->resize_mode != ZP_RESIZE_NONE && spec->size == 0 && spec->format == ZP_DATA_IMAGES)
        return zp_err_set(err, ZP_ECONFIG,
                          "dataset (%s): size: a crop or stretch needs an output size, got 0", fmt);
    if (spec->crop_recipe != ZP_CROP_TORCHVISION && spec->crop_recipe != ZP_CROP_ROUND_FLOOR)
        return zp_err_set(err, ZP_ECONFIG, "dataset (%s): crop_recipe: unknown value %d", fmt,
                          (int)spec->crop_recipe);
    if (spec->limit < 0)
        return zp_err_set(err, ZP_ECONFIG, "dataset (%s): limit: expected >= 0, got %d", fmt,
                          spec->limit);
    int any_std = 0;
    for (int ch = 0; ch < 3; ch++) {
        if (spec->std[ch] != 0.0f)
            any_std = 1;
        if (!(spec->mean[ch] == spec->mean[ch]) || !(spec->std[ch] == spec->std[ch]) ||
            spec->std[ch] < 0.0f || spec->std[ch] > 1e30f || spec->mean[ch] > 1e30f ||
            spec->mean[ch] < -1e30f)
            return zp_err_set(err, ZP_ECONFIG,
                              "dataset (%s): mean/std[%d]: expected finite, std >= 0, got %g / %g",
                              fmt, ch, (double)spec->mean[ch], (double)spec->std[ch]);
    }
    /* std all 0 means "no normalization"; a mix of 0 and non-0 is a typo. */
    int nch = spec->channels == 3 ? 3 : 1;
    for (int ch = 0; any_std && ch < nch; ch++)
        if (spec->std[ch] == 0.0f)
            return zp_err_set(err, ZP_ECONFIG, "dataset (%s): std[%d]: expected > 0, got 0", fmt, ch);
    return ZP_OK;
}

float zp_dataset_normalize(const struct zp_dataset_spec *spec, int ch, float pixel)
{
    if (spec->std[ch] == 0.0f)
        return pixel;
    return (pixel - spec->mean[ch]) / spec->std[ch];
}

enum zp_status zp_dataset_check_labels(struct zp_dataset *ds, const char *name, struct zp_err *err)
{
    int32_t max = -1;
    for (int64_t i = 0; i < ds->n; i++) {
        int32_t l = ds->labels[i];
        if (l < 0 || l >= ZP_DATA_MAX_LABEL)
            return zp_err_set(err, ZP_EFORMAT, "%s: label %lld: expected 0..%d, got %d", name,
                              (long long)i, ZP_DATA_MAX_LABEL - 1, (int)l);
        if (l > max)
            max = l;
    }
    ds->n_classes = max + 1;
    return ZP_OK;
}

enum zp_status zp_dataset_load(const struct zp_dataset_spec *spec, struct zp_dataset *ds,
                               struct zp_err *err)
{
    memset(ds, 0, sizeof *ds);
    if (!spec)
        return zp_err_set(err, ZP_EINVAL, "dataset: no spec given");
    enum zp_status st = check_spec(spec, err);
    if (st != ZP_OK)
        return st;
    switch (spec->format) {
    case ZP_DATA_IDX: st = zp_dataset_load_idx(spec, ds, err); break;
    case ZP_DATA_IMAGES: st = zp_dataset_load_images(spec, ds, err); break;
    case ZP_DATA_NPY: st = zp_dataset_load_npy(spec, ds, err); break;
    }
    if (st == ZP_OK && (ds->n <= 0 || !ds->x || !ds->labels))
        st = zp_err_set(err, ZP_EFORMAT, "%s: no examples", spec->images);
    if (st != ZP_OK)
        zp_dataset_free(ds);
    return st;
}

void zp_dataset_free(struct zp_dataset *ds)
{
    if (!ds)
        return;
    zp_free(ds->x);
    zp_free(ds->labels);
    memset(ds, 0, sizeof *ds);
}
