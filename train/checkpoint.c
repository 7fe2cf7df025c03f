/* Checkpoints of the former layer runtime, read only (train/trainer.h; new
 * checkpoints: train/gtrain_ckpt.c). Native little-endian binary:
 *   "ZPTCKPT2", int32 n_layers, int32 epochs_done,
 *   per layer: int32 kind, c_in, h_in, w_in, c_out, h_out, w_out, k, stride, pad, act,
 *   then per layer: each parameter's weights and momentum, BN running mean / var.
 * The structure block lets a load reject a checkpoint of another network with a
 * message naming the first layer that differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/trainer.h"

#define CKPT_MAGIC "ZPTCKPT2"
#define HDR_INTS 11

static void layer_header(const struct zp_tlayer *l, int32_t h[HDR_INTS])
{
    h[0] = (int32_t)l->kind;
    h[1] = l->c_in;
    h[2] = l->h_in;
    h[3] = l->w_in;
    h[4] = l->c_out;
    h[5] = l->h_out;
    h[6] = l->w_out;
    h[7] = l->k;
    h[8] = l->stride;
    h[9] = l->pad;
    h[10] = l->act;
}

static int read_floats(FILE *f, float *p, size_t n)
{
    return fread(p, sizeof(float), n, f) == n;
}

/* A momentum buffer: not used by the graph runtime's fine-tuning (fresh
 * momentum), checked to be there. */
static int skip_floats(FILE *f, size_t n)
{
    return fseek(f, (long)(n * sizeof(float)), SEEK_CUR) == 0;
}

enum zp_status zp_checkpoint_load(struct zp_tnet *net, int *epochs_done, const char *path,
                                  struct zp_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return zp_err_set(err, ZP_EIO, "%s: cannot open checkpoint", path);
    char magic[8];
    int32_t hdr[2];
    enum zp_status st = ZP_OK;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, CKPT_MAGIC, 8) != 0) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: not a zeropoint training checkpoint (bad magic)",
                        path);
        goto out;
    }
    if (fread(hdr, sizeof hdr, 1, f) != 1 || hdr[0] != net->n_layers || hdr[1] < 0) {
        st = zp_err_set(err, ZP_EFORMAT,
                        "%s: checkpoint has %d layers, the configured network has %d", path,
                        (int)hdr[0], net->n_layers);
        goto out;
    }
    for (int i = 0; i < net->n_layers; i++) {
        int32_t h[HDR_INTS], want[HDR_INTS];
        layer_header(&net->L[i], want);
        if (fread(h, sizeof h, 1, f) != 1) {
            st = zp_err_set(err, ZP_EFORMAT, "%s: truncated in the layer list", path);
            goto out;
        }
        if (memcmp(h, want, sizeof h) != 0) {
            st = zp_err_set(err, ZP_EFORMAT,
                            "%s: layer %d differs from the configured network (kind %d %dx%dx%d "
                            "-> %dx%dx%d, expected kind %d %dx%dx%d -> %dx%dx%d)",
                            path, i, h[0], h[1], h[2], h[3], h[4], h[5], h[6], want[0], want[1],
                            want[2], want[3], want[4], want[5], want[6]);
            goto out;
        }
    }
    for (int i = 0; i < net->n_layers; i++) {
        struct zp_tlayer *l = &net->L[i];
        int ok = 1;
        for (int j = 0; j < l->n_params && ok; j++)
            ok = read_floats(f, l->p[j].w, l->p[j].n) && skip_floats(f, l->p[j].n);
        if (l->kind == ZP_TL_BN && ok)
            ok = read_floats(f, l->run_mean, (size_t)l->c_in) &&
                 read_floats(f, l->run_var, (size_t)l->c_in);
        if (!ok) {
            st = zp_err_set(err, ZP_EFORMAT, "%s: truncated in the data of layer %d", path, i);
            goto out;
        }
    }
    if (fgetc(f) != EOF) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: trailing bytes after the last layer", path);
        goto out;
    }
    *epochs_done = hdr[1];
out:
    fclose(f);
    return st;
}

enum zp_status zp_checkpoint_open(const char *path, struct zp_tnet **out, int *epochs_done,
                                  struct zp_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return zp_err_set(err, ZP_EIO, "%s: cannot open checkpoint", path);
    char magic[8];
    int32_t hdr[2];
    struct zp_tlayer *spec = NULL;
    int32_t in[3] = {0, 0, 0};
    enum zp_status st = ZP_OK;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, CKPT_MAGIC, 8) != 0) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: not a zeropoint training checkpoint (bad magic)",
                        path);
        goto out;
    }
    if (fread(hdr, sizeof hdr, 1, f) != 1 || hdr[0] < 1 || hdr[0] > 10000) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: bad layer count", path);
        goto out;
    }
    spec = calloc((size_t)hdr[0], sizeof *spec);
    if (!spec) {
        st = zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (int i = 0; i < hdr[0]; i++) {
        int32_t h[HDR_INTS];
        if (fread(h, sizeof h, 1, f) != 1 || h[0] < ZP_TL_CONV || h[0] > ZP_TL_FC) {
            st = zp_err_set(err, ZP_EFORMAT, "%s: bad or truncated layer %d", path, i);
            goto out;
        }
        if (i == 0) {
            in[0] = h[1];
            in[1] = h[2];
            in[2] = h[3];
        }
        spec[i] = (struct zp_tlayer){.kind = (enum zp_tl_kind)h[0], .c_out = h[4], .k = h[7],
                                     .stride = h[8], .pad = h[9], .act = h[10]};
    }
    fclose(f);
    f = NULL;
    st = zp_tnet_build(spec, hdr[0], in[0], in[1], in[2], 0, out, err);
    if (st == ZP_OK)
        st = zp_checkpoint_load(*out, epochs_done, path, err);
    if (st != ZP_OK) {
        zp_tnet_free(*out);
        *out = NULL;
    }
out:
    if (f)
        fclose(f);
    free(spec);
    return st;
}
