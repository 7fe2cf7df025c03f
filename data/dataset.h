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
/* Integer geometry of a CROP (both resize the shorter side to `resize` with the
 * same Pillow filter; they differ by a pixel in the long side or the offset):
 * - TORCHVISION (default): long = int(resize * long / short) (truncated), offset
 *   = int(round((dim - size) / 2.0)) (Python round, half to even).
 * - ROUND_FLOOR: long = round(resize * long / short) (half up), offset =
 *   (dim - size) // 2. This is the recipe that reproduces the shared reference
 *   numbers exactly (imagenet results_train_1k.json "crop": 59.2 % / 81.7 %);
 *   TORCHVISION gives 59.4 % / 81.3 % on the same 1000 images. */
enum zp_crop_recipe { ZP_CROP_TORCHVISION = 0, ZP_CROP_ROUND_FLOOR = 1 };

struct zp_dataset_spec {
    enum zp_dataset_format format;
    const char *images;  /* IDX images file | image folder | .npy of inputs */
    const char *labels;  /* IDX labels file | CSV "file,class_index,..." | .npy of int labels */
    int channels;        /* 1 (grey) or 3 (RGB); images are converted. npy: 0 accepts any C,
                            else it must equal the file's C */
    int resize;          /* CROP: shorter side to this size (e.g. 256); STRETCH: ignored */
    int size;            /* output height = width (e.g. 224); 0 keeps the file's size
                            (image folders: the first image's; all must match) */
    enum zp_resize_mode resize_mode;
    double scale;        /* applied before mean and std: x = (pixel * scale - mean) / std;
                            0 means 1. When 1/scale is an integer N (within 1e-9, e.g.
                            scale = 1/255 given as 0.00392156862745098) the pixel is divided
                            by N in float instead, exactly torchvision's ToTensor (div(255))
                            followed by Normalize: (pixel/255 - mean)/std bit for bit */
    float mean[3], std[3]; /* x = (pixel - mean) / std per channel, pixel in 0..255
                              (ImageNet MobileNet: mean = std = 127.5); every std 0
                              means no normalization (npy floats as stored). npy
                              [N, K] or C != 3 uses mean[0] / std[0] throughout */
    int limit;           /* load at most this many (0: all), taken in file order */
    const int64_t *select; /* when n_select > 0, load only these examples, in this order
                              (0-based indices into the file order after `limit`; repeats
                              allowed; borrowed). Each is decoded exactly as a full load
                              decodes it, so example i of the subset equals example
                              select[i] of the full dataset bit for bit: a calibration
                              subset of 1000 images no longer decodes all 60,000. */
    int64_t n_select;
    int keep_source;     /* also return the 8-bit value every input came from (ds->src),
                            for exact quantization from the integer source (issue 17
                            item 8); only IDX, image folders and u1 .npy have one */
    enum zp_crop_recipe crop_recipe; /* CROP geometry; 0 = torchvision */
    /* An interleaved split of the file's rows, applied before limit and select:
     * with split_every = N > 0, the rows r with r % N == split_offset ("held-out",
     * split_rest 0) or all the others (split_rest 1). A data set that has only one
     * split (CIFAR-10's test images here) gives a calibration part and an
     * evaluation part that share no example; interleaving keeps both class-balanced
     * when the file is sorted by class. 0: every row. */
    int split_every, split_offset, split_rest;
};

struct zp_dataset {
    int64_t n;           /* number of examples */
    int64_t c, h, w;     /* per-example shape (h = w = 1 for flat data) */
    float *x;            /* n * c * h * w, NCHW; owned */
    int32_t *labels;     /* n; owned */
    int32_t n_classes;   /* 1 + largest label (of the examples loaded) */
    uint8_t *src;        /* with spec.keep_source: n * c * h * w bytes, src[i] is the pixel
                            (after resize and crop, before scale / mean / std) that x[i]
                            was computed from, so x[i] == zp_dataset_normalize(spec, channel,
                            src[i]); NULL for float data. Owned. */
};

/* Loads a dataset; errors name the file and the record at fault. */
enum zp_status zp_dataset_load(const struct zp_dataset_spec *spec, struct zp_dataset *ds,
                               struct zp_err *err);
void zp_dataset_free(struct zp_dataset *ds);

/* The number of examples zp_dataset_load would return (limit applied, select
 * ignored), read from the labels file alone (and the IDX images header): what a
 * caller needs to draw a subset before decoding anything. */
enum zp_status zp_dataset_count(const struct zp_dataset_spec *spec, int64_t *n, struct zp_err *err);

/* Checks a dataset before anything is written (issue 17 item 1): the labels
 * file, every file and header a full load reads (for an image folder: that each
 * listed file is a regular file), and decodes example 0; *n and shape (c, h, w)
 * are what zp_dataset_load would return. Image files other than the first are
 * not decoded: a corrupt one is still found only by the load. */
enum zp_status zp_dataset_probe(const struct zp_dataset_spec *spec, int64_t *n, int64_t shape[3],
                                struct zp_err *err);
/* The image-folder part of the probe: every file the labels CSV lists (after
 * limit) is a regular file; errors name the CSV row. */
enum zp_status zp_images_check_files(const struct zp_dataset_spec *spec, struct zp_err *err);

/* The 256 input values of 8-bit pixels for one channel: lut[p] ==
 * zp_dataset_normalize(spec, ch, p). */
void zp_dataset_pixel_lut(const struct zp_dataset_spec *spec, int ch, float lut[256]);

/* ---- Lower-level pieces: the loaders' building blocks, public so that tests,
 * fuzzers and tools can check each step on its own. ---- */

/* An 8-bit image: rows top to bottom, channels interleaved (HWC), c = 1 or 3. */
struct zp_image {
    int w, h, c;
    uint8_t *px;         /* w * h * c bytes; owned, release with zp_image_free */
};
void zp_image_free(struct zp_image *img);

/* Decodes a JPEG or PNG (recognised by content, not by name) into `channels`
 * (1 or 3) channels: grey is replicated into RGB; RGB becomes grey with Pillow's
 * convert("L") weights. name is used in error messages only. */
enum zp_status zp_image_decode_mem(const uint8_t *buf, size_t len, const char *name, int channels,
                                   struct zp_image *img, struct zp_err *err);
enum zp_status zp_image_decode_file(const char *path, int channels, struct zp_image *img,
                                    struct zp_err *err);

/* Resizes with Pillow's antialiased BILINEAR filter (triangle whose support grows
 * with the reduction factor, horizontal pass then vertical pass, fixed-point
 * coefficients, results rounded to uint8 after each pass), bit-exact with
 * PIL.Image.resize((out_w, out_h), Image.BILINEAR). */
enum zp_status zp_image_resize(const struct zp_image *in, int out_w, int out_h, struct zp_image *out,
                               struct zp_err *err);

/* Resize(resize) + CenterCrop(size) geometry for a w x h image: the shorter
 * side becomes `resize`, the longer and the crop origin follow `recipe` (see
 * enum zp_crop_recipe). */
void zp_image_crop_geometry(int w, int h, int resize, int size, enum zp_crop_recipe recipe, int *rw,
                            int *rh, int *top, int *left);

/* One image through the spec's resize mode, crop and normalization into a float
 * CHW buffer of spec channels x out_h x out_w (the dataset's per-example shape). */
enum zp_status zp_image_preprocess(const struct zp_image *in, const struct zp_dataset_spec *spec,
                                   int out_h, int out_w, float *out, const char *name,
                                   struct zp_err *err);

/* An IDX file held in memory (MNIST format): dims and the raw big-endian payload. */
struct zp_idx {
    int type;            /* 0x08 ubyte, 0x09 sbyte, 0x0B short, 0x0C int, 0x0D float, 0x0E double */
    int ndim;
    int64_t dims[4];
    int64_t count;       /* product of dims */
    const uint8_t *data; /* points into the parsed buffer */
};
/* Validates magic, dims and size against len; errors name `name` and the first
 * record that is cut short. */
enum zp_status zp_idx_parse(const uint8_t *buf, size_t len, const char *name, struct zp_idx *idx,
                            struct zp_err *err);

/* A .npy array held in memory (format 1.0, 2.0 or 3.0, C order). */
struct zp_npy {
    char kind;           /* 'f' float, 'i' signed, 'u' unsigned, 'b' bool */
    int item_size;       /* bytes per element */
    int big_endian;
    int ndim;
    int64_t dims[8];
    int64_t count;       /* product of dims (1 for a 0-d array) */
    const uint8_t *data; /* points into the parsed buffer */
};
enum zp_status zp_npy_parse(const uint8_t *buf, size_t len, const char *name, struct zp_npy *npy,
                            struct zp_err *err);
/* Element i converted to double (any supported kind and size). */
double zp_npy_get(const struct zp_npy *npy, int64_t i);

/* Reads a whole file, gunzipping it when it is gzip (zlib's gzread passes other
 * files through). *buf is malloc'd; free() it. */
enum zp_status zp_data_read_file(const char *path, uint8_t **buf, size_t *len, struct zp_err *err);

/* Reads a labels CSV (header naming columns "file" and "class_index", RFC 4180
 * quoting) into files[] (malloc'd strings, free each and the array) and
 * labels[] (malloc'd); at most `limit` rows when limit > 0. */
enum zp_status zp_labels_csv_read(const char *path, int limit, char ***files, int32_t **labels,
                                  int64_t *n, struct zp_err *err);
/* The same on text held in memory (NUL-terminated; split in place, so it is
 * modified); path names it in messages. */
enum zp_status zp_labels_csv_parse(char *text, const char *path, int limit, char ***files,
                                   int32_t **labels, int64_t *n, struct zp_err *err);

/* Per-format loaders behind zp_dataset_load (spec already checked). */
enum zp_status zp_dataset_load_idx(const struct zp_dataset_spec *spec, struct zp_dataset *ds,
                                   struct zp_err *err);
enum zp_status zp_dataset_load_images(const struct zp_dataset_spec *spec, struct zp_dataset *ds,
                                      struct zp_err *err);
enum zp_status zp_dataset_load_npy(const struct zp_dataset_spec *spec, struct zp_dataset *ds,
                                   struct zp_err *err);
/* Checks labels (0 <= label < 2^20) and sets n_classes; errors name `name`. */
enum zp_status zp_dataset_check_labels(struct zp_dataset *ds, const char *name, struct zp_err *err);
/* (pixel * scale - mean[ch]) / std[ch] in float (see spec.scale), or the scaled
 * pixel itself when every std is 0 (no normalization). */
float zp_dataset_normalize(const struct zp_dataset_spec *spec, int ch, float pixel);

/* Exact codes of the 256 pixel values of channel ch under an affine quantizer
 * (issue 17 item 8): codes[p] = clamp(round(x(p) / s) + zero_point, qmin, qmax)
 * with x(p) the input the dataset gives pixel p (zp_dataset_normalize, scale,
 * mean and std as exact numbers) and s = (hi - lo) / levels, the quotient and
 * its half-to-even rounding evaluated in exact arithmetic, so an input that is
 * a tie in exact arithmetic (u8/127.5 - 1 against s = 2/255) rounds as one. The
 * caller quantizes an input as codes[ch][ds->src[i]] (spec.keep_source).
 * ZP_EUNSUPPORTED when the constants exceed 128-bit exact arithmetic (the
 * caller then keeps its float path); ZP_EINVAL for a bad quantizer. */
enum zp_status zp_dataset_exact_codes(const struct zp_dataset_spec *spec, int ch, float lo, float hi,
                                      int levels, int zero_point, int qmin, int qmax,
                                      int32_t codes[256], struct zp_err *err);

/* Loader helpers for spec.select: *n_out is the number of examples to load
 * from a file holding `avail` rows (split and limit applied here); errors name `name` and the
 * first out-of-range index. zp_dataset_row maps output example i to its file row. */
enum zp_status zp_dataset_rows(const struct zp_dataset_spec *spec, int64_t avail, const char *name,
                               int64_t *n_out, struct zp_err *err);
/* The number of the file's `rows` that the spec's split keeps (all without one). */
int64_t zp_dataset_split_count(const struct zp_dataset_spec *spec, int64_t rows);
/* The file row of the split's row j (j itself without a split). */
static inline int64_t zp_dataset_split_row(const struct zp_dataset_spec *spec, int64_t j)
{
    int64_t n = spec->split_every, k = spec->split_offset;
    if (n <= 0)
        return j;
    if (!spec->split_rest)
        return j * n + k;
    /* n - 1 rows kept per block of n; the block's row k is skipped */
    int64_t b = j / (n - 1), r = j % (n - 1);
    return b * n + r + (r >= k);
}
static inline int64_t zp_dataset_row(const struct zp_dataset_spec *spec, int64_t i)
{
    return zp_dataset_split_row(spec, spec->n_select > 0 ? spec->select[i] : i);
}
/* zp_image_preprocess that also writes each output's source pixel to src_out
 * (same layout as out) when src_out is non-NULL. */
enum zp_status zp_image_preprocess_src(const struct zp_image *in, const struct zp_dataset_spec *spec,
                                       int out_h, int out_w, float *out, uint8_t *src_out,
                                       const char *name, struct zp_err *err);

/* Size of one example in floats. */
static inline size_t zp_dataset_example_size(const struct zp_dataset *ds)
{
    return (size_t)(ds->c * ds->h * ds->w);
}

#ifdef __cplusplus
}
#endif
#endif
