/* Checkpoints of graph training (format in train/gtrain.h). The structure block
 * (parameter kinds and counts, BN channels) lets a load refuse a checkpoint of
 * another model naming the first entry that differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomic.h"
#include "common/file.h"
#include "train/gtrain.h"
#include "train/onnx_export.h"

#define GCKPT_MAGIC "ZPGCKPT1"
#define TCKPT_MAGIC "ZPTCKPT2" /* the former training runtime's (train/checkpoint.c) */
#define MAX_ONNX ((uint64_t)1 << 31)

static int wfl(FILE *f, const float *p, size_t n)
{
    return fwrite(p, sizeof(float), n, f) == n;
}

static int rfl(FILE *f, float *p, size_t n)
{
    return fread(p, sizeof(float), n, f) == n;
}

enum zp_status zp_gtrain_checkpoint_save(const struct zp_gtrain *gt, int epochs_done,
                                         const char *path, struct zp_err *err)
{
    struct zp_atomic_file af;
    if (zp_atomic_open(&af, path, err))
        return err->status;
    FILE *f = af.f;
    const int nb = zp_tgraph_num_bn(gt->t);
    int32_t hdr[3] = {epochs_done, gt->n_params, nb};
    uint64_t len = gt->onnx_len;
    int ok = fwrite(GCKPT_MAGIC, 1, 8, f) == 8 && fwrite(hdr, sizeof hdr, 1, f) == 1 &&
             fwrite(&len, sizeof len, 1, f) == 1 && fwrite(gt->onnx, 1, len, f) == len;
    for (int i = 0; ok && i < gt->n_params; i++) {
        const struct zp_gparam *p = zp_tgraph_param(gt->t, i);
        int32_t kind = (int32_t)p->kind;
        int64_t n = (int64_t)p->n;
        ok = fwrite(&kind, sizeof kind, 1, f) == 1 && fwrite(&n, sizeof n, 1, f) == 1;
    }
    struct zp_bn_view v;
    for (int i = 0; ok && i < nb; i++) {
        zp_tgraph_bn(gt->t, i, &v);
        ok = fwrite(&v.channels, sizeof v.channels, 1, f) == 1;
    }
    for (int i = 0; ok && i < gt->n_params; i++) {
        const struct zp_gparam *p = zp_tgraph_param(gt->t, i);
        ok = wfl(f, p->w, p->n) && wfl(f, gt->mom[i], p->n);
    }
    for (int i = 0; ok && i < nb; i++) {
        zp_tgraph_bn(gt->t, i, &v);
        ok = wfl(f, v.mean, (size_t)v.channels) && wfl(f, v.var, (size_t)v.channels);
    }
    if (!ok) {
        zp_atomic_abort(&af);
        return zp_err_set(err, ZP_EIO, "%s: cannot write checkpoint", path);
    }
    return zp_atomic_commit(&af, err);
}

/* Reads the header and the embedded ONNX (*onnx malloc'ed when wanted). */
static enum zp_status read_head(FILE *f, const char *path, int32_t hdr[3], uint8_t **onnx,
                                uint64_t *len, struct zp_err *err)
{
    char magic[8];
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, GCKPT_MAGIC, 8) != 0)
        return zp_err_set(err, ZP_EFORMAT, "%s: not a zeropoint graph training checkpoint (bad "
                                           "magic)", path);
    if (fread(hdr, sizeof(int32_t), 3, f) != 3 || fread(len, sizeof *len, 1, f) != 1 ||
        hdr[0] < 0 || hdr[1] < 0 || hdr[2] < 0 || *len > MAX_ONNX)
        return zp_err_set(err, ZP_EFORMAT, "%s: bad checkpoint header", path);
    if (!onnx)
        return fseek(f, (long)*len, SEEK_CUR) == 0
                   ? ZP_OK
                   : zp_err_set(err, ZP_EFORMAT, "%s: truncated in the model", path);
    *onnx = malloc(*len ? *len : 1);
    if (!*onnx)
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
    if (fread(*onnx, 1, *len, f) != *len) {
        free(*onnx);
        *onnx = NULL;
        return zp_err_set(err, ZP_EFORMAT, "%s: truncated in the model", path);
    }
    return ZP_OK;
}

static enum zp_status load_body(struct zp_gtrain *gt, FILE *f, const char *path,
                                const int32_t hdr[3], struct zp_err *err)
{
    const int nb = zp_tgraph_num_bn(gt->t);
    if (hdr[1] != gt->n_params || hdr[2] != nb)
        return zp_err_set(err, ZP_EFORMAT,
                          "%s: checkpoint has %d parameters and %d BN, the model %s has %d and %d",
                          path, hdr[1], hdr[2], gt->what, gt->n_params, nb);
    for (int i = 0; i < gt->n_params; i++) {
        const struct zp_gparam *p = zp_tgraph_param(gt->t, i);
        int32_t kind;
        int64_t n;
        if (fread(&kind, sizeof kind, 1, f) != 1 || fread(&n, sizeof n, 1, f) != 1)
            return zp_err_set(err, ZP_EFORMAT, "%s: truncated in the parameter list", path);
        if (kind != (int32_t)p->kind || n != (int64_t)p->n)
            return zp_err_set(err, ZP_EFORMAT,
                              "%s: parameter %d differs from the model (kind %d, %lld values; "
                              "the model's %s: kind %d, %lld values)",
                              path, i, (int)kind, (long long)n, p->name, (int)p->kind,
                              (long long)p->n);
    }
    struct zp_bn_view v;
    for (int i = 0; i < nb; i++) {
        int64_t c;
        zp_tgraph_bn(gt->t, i, &v);
        if (fread(&c, sizeof c, 1, f) != 1 || c != v.channels)
            return zp_err_set(err, ZP_EFORMAT, "%s: BN %d differs from the model's %s", path, i,
                              v.name);
    }
    for (int i = 0; i < gt->n_params; i++) {
        const struct zp_gparam *p = zp_tgraph_param(gt->t, i);
        if (!rfl(f, p->w, p->n) || !rfl(f, gt->mom[i], p->n))
            return zp_err_set(err, ZP_EFORMAT, "%s: truncated in parameter %d", path, i);
    }
    for (int i = 0; i < nb; i++) {
        zp_tgraph_bn(gt->t, i, &v);
        if (!rfl(f, v.mean, (size_t)v.channels) || !rfl(f, v.var, (size_t)v.channels))
            return zp_err_set(err, ZP_EFORMAT, "%s: truncated in BN %d", path, i);
    }
    if (fgetc(f) != EOF)
        return zp_err_set(err, ZP_EFORMAT, "%s: trailing bytes after the last BN", path);
    zp_tgraph_sync(gt->t);
    return ZP_OK;
}

enum zp_status zp_gtrain_checkpoint_load(struct zp_gtrain *gt, int *epochs_done, const char *path,
                                         struct zp_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return zp_err_set(err, ZP_EIO, "%s: cannot open checkpoint", path);
    int32_t hdr[3];
    uint64_t len;
    enum zp_status st = read_head(f, path, hdr, NULL, &len, err);
    if (st == ZP_OK)
        st = load_body(gt, f, path, hdr, err);
    fclose(f);
    if (st == ZP_OK)
        *epochs_done = hdr[0];
    return st;
}

/* A checkpoint of the former runtime: its network (checkpoint.c rebuilds it)
 * written as a training graph with the trained values. */
static enum zp_status open_tnet_ckpt(const char *path, int max_batch, struct zp_gtrain **out,
                                     int *epochs_done, struct zp_err *err)
{
    struct zp_tnet *net = NULL;
    enum zp_status st = zp_checkpoint_open(path, &net, epochs_done, err);
    if (st != ZP_OK)
        return st;
    uint8_t *buf = NULL;
    size_t len = 0;
    st = zp_onnx_export_buffer(net, 1, "checkpoint", path, &buf, &len, err);
    zp_tnet_free(net);
    if (st != ZP_OK)
        return st;
    return zp_gtrain_open(buf, len, path, max_batch, out, err);
}

enum zp_status zp_gtrain_checkpoint_open(const char *path, int max_batch, struct zp_gtrain **out,
                                         int *epochs_done, struct zp_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return zp_err_set(err, ZP_EIO, "%s: cannot open checkpoint", path);
    char magic[8] = "";
    int got = fread(magic, 1, 8, f) == 8;
    if (got && memcmp(magic, TCKPT_MAGIC, 8) == 0) {
        fclose(f);
        return open_tnet_ckpt(path, max_batch, out, epochs_done, err);
    }
    if (!got || memcmp(magic, GCKPT_MAGIC, 8) != 0) { /* an ONNX model: a float start */
        fclose(f);
        char *buf = NULL;
        size_t len = 0;
        enum zp_status st = zp_file_read(path, zp_file_model_max_bytes(), "model file", &buf,
                                         &len, err);
        *epochs_done = 0;
        return st == ZP_OK ? zp_gtrain_open((uint8_t *)buf, len, path, max_batch, out, err) : st;
    }
    rewind(f);
    int32_t hdr[3];
    uint64_t len;
    uint8_t *onnx = NULL;
    enum zp_status st = read_head(f, path, hdr, &onnx, &len, err);
    if (st == ZP_OK)
        st = zp_gtrain_open(onnx, (size_t)len, path, max_batch, out, err);
    if (st == ZP_OK)
        st = load_body(*out, f, path, hdr, err);
    fclose(f);
    if (st != ZP_OK) {
        zp_gtrain_free(*out);
        *out = NULL;
        return st;
    }
    *epochs_done = hdr[0];
    return ZP_OK;
}
