/* Datasets: labelled inputs decoded and normalized into one float NCHW array.
 * Formats: IDX (MNIST / Fashion-MNIST, gzip or raw), image folders (JPEG / PNG)
 * with a labels CSV, and .npy tensors. */
#ifndef ZP_DATA_DATASET_H
#define ZP_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

enum zp_dataset_format { ZP_DATA_IDX, ZP_DATA_IMAGES, ZP_DATA_NPY };
enum zp_resize_mode { ZP_RESIZE_CROP, ZP_RESIZE_STRETCH, ZP_RESIZE_NONE };

struct zp_dataset_spec {
    enum zp_dataset_format format;
    const char *images;  /* IDX images file | image folder | .npy of inputs */
    const char *labels;  /* IDX labels file | CSV "file,class_index,..." | .npy of int labels */
    int channels;        /* 1 (grey) or 3 (RGB); images are converted */
    int resize;          /* CROP: shorter side to this size (e.g. 256); STRETCH: ignored */
    int size;            /* output height = width (e.g. 224); 0 keeps the file's size */
    enum zp_resize_mode resize_mode;
    float mean[3], std[3]; /* x = (pixel - mean) / std per channel, pixel in 0..255
                              (ImageNet MobileNet: mean = std = 127.5) */
    int limit;           /* load at most this many (0: all), taken in file order */
};

struct zp_dataset {
    int64_t n;           /* number of examples */
    int64_t c, h, w;     /* per-example shape (h = w = 1 for flat data) */
    float *x;            /* n * c * h * w, NCHW; owned */
    int32_t *labels;     /* n; owned */
    int32_t n_classes;   /* 1 + largest label */
};

/* Loads a dataset; errors name the file and the record at fault. */
enum zp_status zp_dataset_load(const struct zp_dataset_spec *spec, struct zp_dataset *ds,
                               struct zp_err *err);
void zp_dataset_free(struct zp_dataset *ds);

/* Size of one example in floats. */
static inline size_t zp_dataset_example_size(const struct zp_dataset *ds)
{
    return (size_t)(ds->c * ds->h * ds->w);
}

#ifdef __cplusplus
}
#endif
#endif
