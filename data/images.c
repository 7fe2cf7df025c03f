/* Image-folder datasets: the labels CSV lists the files (relative to the
 * folder) and their class indices; each image is decoded, resized, cropped and
 * normalized straight into its slot of the NCHW array. Files are independent,
 * so they are decoded in parallel with OpenMP; the error reported is the one
 * of the first failing file in CSV order, whatever the thread timing. */
#include "data/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"

static char *join_path(const char *dir, const char *file)
{
    size_t dl = strlen(dir), fl = strlen(file);
    char *p = malloc(dl + fl + 2);
    if (!p)
        return NULL;
    if (file[0] == '/') {
        memcpy(p, file, fl + 1);
        return p;
    }
    memcpy(p, dir, dl);
    size_t o = dl;
    if (dl && dir[dl - 1] != '/')
        p[o++] = '/';
    memcpy(p + o, file, fl + 1);
    return p;
}

/* ref: the file that set the output size (size 0, native size), named when an
 * image's size differs from it. */
static enum zp_status load_one(const struct zp_dataset_spec *spec, const char *file, const char *ref,
                               int oh, int ow, float *dst, uint8_t *src, struct zp_err *err)
{
    char *path = join_path(spec->images, file);
    if (!path)
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", file);
    struct zp_image img;
    enum zp_status st = zp_image_decode_file(path, spec->channels, &img, err);
    if (st == ZP_OK && ref && (img.w != ow || img.h != oh))
        st = zp_err_set(err, ZP_EFORMAT,
                        "%s: image is %dx%d, but the first image (%s) is %dx%d: images are used at "
                        "their own size (size 0, resize_mode none) and must all have one",
                        path, img.w, img.h, ref, ow, oh);
    if (st == ZP_OK)
        st = zp_image_preprocess_src(&img, spec, oh, ow, dst, src, path, err);
    zp_image_free(&img);
    free(path);
    return st;
}

enum zp_status zp_dataset_load_images(const struct zp_dataset_spec *spec, struct zp_dataset *ds,
                                      struct zp_err *err)
{
    char **files = NULL;
    int32_t *labels = NULL;
    int64_t rows = 0, n = 0;
    /* with a split, limit counts the split's rows: read them all */
    enum zp_status st = zp_labels_csv_read(spec->labels, spec->split_every > 0 ? 0 : spec->limit,
                                           &files, &labels, &rows, err);
    if (st != ZP_OK)
        return st;
    st = zp_dataset_rows(spec, rows, spec->labels, &n, err);
    if (st != ZP_OK)
        goto out_free;
    int oh = spec->size, ow = spec->size;
    if (oh == 0) {
        /* size 0 keeps the file's size: the first image (of the file, so that a
         * subset has the shape of the full set) sets it for all. */
        char *path = join_path(spec->images, files[0]);
        struct zp_image img;
        st = path ? zp_image_decode_file(path, spec->channels, &img, err)
                  : zp_err_set(err, ZP_ENOMEM, "out of memory");
        free(path);
        if (st != ZP_OK)
            goto out_free;
        oh = img.h;
        ow = img.w;
        zp_image_free(&img);
    }
    size_t ex = (size_t)spec->channels * oh * ow;
    ds->x = zp_alloc((size_t)n * ex * sizeof(float));
    ds->labels = zp_alloc((size_t)n * sizeof(int32_t));
    if (spec->keep_source)
        ds->src = zp_alloc((size_t)n * ex);
    if (!ds->x || !ds->labels || (spec->keep_source && !ds->src)) {
        st = zp_err_set(err, ZP_ENOMEM, "%s: out of memory for %lld images of %dx%d", spec->labels,
                        (long long)n, ow, oh);
        goto out_free;
    }
    ds->n = n;
    ds->c = spec->channels;
    ds->h = oh;
    ds->w = ow;
    for (int64_t i = 0; i < n; i++)
        ds->labels[i] = labels[zp_dataset_row(spec, i)];
    st = zp_dataset_check_labels(ds, spec->labels, err);
    if (st != ZP_OK)
        goto out_free;
    /* Images vary in size and cost: hand them out a few at a time. The error
     * kept is the one of the lowest failing row; rows after it are skipped. */
    int64_t bad = n;
    struct zp_err first = { 0 };
    #pragma omp parallel for schedule(dynamic, 4)
    for (int64_t i = 0; i < n; i++) {
        int64_t cur;
        #pragma omp atomic read
        cur = bad;
        if (i > cur)
            continue;
        struct zp_err e = { 0 };
        if (load_one(spec, files[zp_dataset_row(spec, i)], spec->size == 0 ? files[0] : NULL, oh, ow,
                     ds->x + (size_t)i * ex, ds->src ? ds->src + (size_t)i * ex : NULL, &e) != ZP_OK) {
            #pragma omp critical(zp_images_err)
            if (i < bad) {
                #pragma omp atomic write
                bad = i;
                first = e;
            }
        }
    }
    if (bad < n)
        st = zp_err_set(err, first.status, "%s (row %lld of %s)", first.msg,
                        (long long)zp_dataset_row(spec, bad) + 1, spec->labels);
out_free:
    for (int64_t i = 0; i < rows; i++)
        free(files[i]);
    free(files);
    free(labels);
    return st;
}

enum zp_status zp_images_check_files(const struct zp_dataset_spec *spec, struct zp_err *err)
{
    char **files = NULL;
    int32_t *labels = NULL;
    int64_t n = 0, rows = 0;
    enum zp_status st = zp_labels_csv_read(spec->labels, spec->split_every > 0 ? 0 : spec->limit,
                                           &files, &labels, &rows, err);
    if (st != ZP_OK)
        return st;
    n = zp_dataset_split_count(spec, rows);
    if (spec->limit > 0 && spec->limit < n)
        n = spec->limit;
    for (int64_t i = 0; i < n && st == ZP_OK; i++) {
        int64_t row = zp_dataset_split_row(spec, i);
        char *path = join_path(spec->images, files[row]);
        st = path ? zp_file_check_regular(path, NULL, err) : zp_err_set(err, ZP_ENOMEM, "out of memory");
        if (st != ZP_OK)
            zp_err_prefix(err, "%s: row %lld", spec->labels, (long long)row + 1);
        free(path);
    }
    for (int64_t i = 0; i < rows; i++)
        free(files[i]);
    free(files);
    free(labels);
    return st;
}
