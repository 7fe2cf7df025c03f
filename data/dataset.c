/* Dataset loading: checks the spec, dispatches on the format, and owns the
 * checks and cleanup common to every format (labels, free). */
#include "data/dataset.h"

#include <math.h>
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
    if (!(spec->scale >= 0.0 && spec->scale <= 1e30))
        return zp_err_set(err, ZP_ECONFIG, "dataset (%s): scale: expected a finite number > 0, got %g",
                          fmt, spec->scale);
    if (spec->limit < 0)
        return zp_err_set(err, ZP_ECONFIG, "dataset (%s): limit: expected >= 0, got %d", fmt,
                          spec->limit);
    if (spec->split_every < 0 || spec->split_every == 1 || spec->split_every > 1000000)
        return zp_err_set(err, ZP_ECONFIG, "dataset (%s): split.every: expected 2..1000000, got %d",
                          fmt, spec->split_every);
    if (spec->split_every > 0 && (spec->split_offset < 0 || spec->split_offset >= spec->split_every))
        return zp_err_set(err, ZP_ECONFIG, "dataset (%s): split.offset: expected 0..%d, got %d", fmt,
                          spec->split_every - 1, spec->split_offset);
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

/* The integer N when 1/scale is one (scale = 1/N), else 0. */
static double scale_divisor(double scale)
{
    if (!(scale > 0.0) || scale >= 1.0)
        return 0.0;
    double inv = 1.0 / scale, n = floor(inv + 0.5);
    return fabs(inv - n) <= 1e-9 * n ? n : 0.0;
}

float zp_dataset_normalize(const struct zp_dataset_spec *spec, int ch, float pixel)
{
    /* Every step is one float operation, as in torchvision (float32 tensors):
     * fl(fl(fl(p / 255) - mean) / std). */
    if (spec->scale != 0.0 && spec->scale != 1.0) {
        double n = scale_divisor(spec->scale);
        pixel = n > 0.0 ? pixel / (float)n : pixel * (float)spec->scale;
    }
    if (spec->std[ch] == 0.0f)
        return pixel;
    return (pixel - spec->mean[ch]) / spec->std[ch];
}

void zp_dataset_pixel_lut(const struct zp_dataset_spec *spec, int ch, float lut[256])
{
    for (int v = 0; v < 256; v++)
        lut[v] = zp_dataset_normalize(spec, ch, (float)v);
}

int64_t zp_dataset_split_count(const struct zp_dataset_spec *spec, int64_t rows)
{
    int64_t n = spec->split_every, k = spec->split_offset;
    if (n <= 0 || rows <= 0)
        return rows > 0 ? rows : 0;
    int64_t held = rows > k ? (rows - k + n - 1) / n : 0;
    return spec->split_rest ? rows - held : held;
}

enum zp_status zp_dataset_rows(const struct zp_dataset_spec *spec, int64_t avail, const char *name,
                               int64_t *n_out, struct zp_err *err)
{
    if (spec->split_every > 0 && avail > 0 && zp_dataset_split_count(spec, avail) == 0)
        return zp_err_set(err, ZP_EFORMAT, "%s: split (every %d, offset %d, %s) keeps none of the "
                          "file's %lld rows", name, spec->split_every, spec->split_offset,
                          spec->split_rest ? "rest" : "held-out", (long long)avail);
    avail = zp_dataset_split_count(spec, avail);
    if (spec->limit > 0 && spec->limit < avail)
        avail = spec->limit;
    *n_out = avail;
    if (spec->n_select <= 0)
        return ZP_OK;
    if (!spec->select)
        return zp_err_set(err, ZP_EINVAL, "%s: %lld examples selected but no index list", name,
                          (long long)spec->n_select);
    for (int64_t i = 0; i < spec->n_select; i++)
        if (spec->select[i] < 0 || spec->select[i] >= avail)
            return zp_err_set(err, ZP_EINVAL, "%s: selected example %lld is index %lld, the file has "
                              "%lld examples (after split and limit)", name, (long long)i,
                              (long long)spec->select[i], (long long)avail);
    *n_out = spec->n_select;
    return ZP_OK;
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

enum zp_status zp_dataset_count(const struct zp_dataset_spec *spec, int64_t *n, struct zp_err *err)
{
    *n = 0;
    if (!spec)
        return zp_err_set(err, ZP_EINVAL, "dataset: no spec given");
    enum zp_status st = check_spec(spec, err);
    if (st != ZP_OK)
        return st;
    int64_t avail = 0;
    if (spec->format == ZP_DATA_IMAGES) {
        char **files = NULL;
        int32_t *labels = NULL;
        /* with a split, limit counts the split's rows: read them all */
        st = zp_labels_csv_read(spec->labels, spec->split_every > 0 ? 0 : spec->limit, &files,
                                &labels, &avail, err);
        for (int64_t i = 0; st == ZP_OK && i < avail; i++)
            free(files[i]);
        free(files);
        free(labels);
    } else {
        uint8_t *buf = NULL;
        size_t len = 0;
        st = zp_data_read_file(spec->labels, &buf, &len, err);
        if (st == ZP_OK && spec->format == ZP_DATA_IDX) {
            struct zp_idx lb;
            st = zp_idx_parse(buf, len, spec->labels, &lb, err);
            avail = lb.dims[0];
        } else if (st == ZP_OK) {
            struct zp_npy la;
            st = zp_npy_parse(buf, len, spec->labels, &la, err);
            avail = la.ndim >= 1 ? la.dims[0] : 0;
        }
        free(buf);
    }
    if (st != ZP_OK)
        return st;
    avail = zp_dataset_split_count(spec, avail);
    *n = spec->limit > 0 && spec->limit < avail ? spec->limit : avail;
    return ZP_OK;
}

enum zp_status zp_dataset_probe(const struct zp_dataset_spec *spec, int64_t *n, int64_t shape[3],
                                struct zp_err *err)
{
    *n = 0;
    shape[0] = shape[1] = shape[2] = 0;
    int64_t count = 0;
    enum zp_status st = zp_dataset_count(spec, &count, err);
    if (st != ZP_OK)
        return st;
    if (spec->format == ZP_DATA_IMAGES && (st = zp_images_check_files(spec, err)) != ZP_OK)
        return st;
    /* Loading example 0 runs every check of a full load on the files and
     * headers (and decodes that one example) at the cost of one example. */
    struct zp_dataset_spec one = *spec;
    const int64_t first = 0;
    one.select = &first;
    one.n_select = 1;
    one.keep_source = 0;
    struct zp_dataset ds;
    st = zp_dataset_load(&one, &ds, err);
    if (st != ZP_OK)
        return st;
    shape[0] = ds.c;
    shape[1] = ds.h;
    shape[2] = ds.w;
    *n = count;
    zp_dataset_free(&ds);
    return ZP_OK;
}

void zp_dataset_free(struct zp_dataset *ds)
{
    if (!ds)
        return;
    zp_free(ds->x);
    zp_free(ds->labels);
    zp_free(ds->src);
    memset(ds, 0, sizeof *ds);
}
