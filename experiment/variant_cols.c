/* How a variant appears in the CSVs: see runner.h. */
#include <math.h>
#include <string.h>

#include "experiment/runner.h"

int zp_variant_nudge(const struct zp_scheme_config *c)
{
    int i = zp_scheme_option_index(c->scheme, "nudge_zero");
    return i >= 0 ? c->opt[i].num != 0 : -1;
}

int zp_variant_narrow(const struct zp_scheme_config *c)
{
    const struct zp_scheme *s = c->scheme;
    int i = zp_scheme_option_index(s, "narrow_range");
    if (i >= 0)
        return c->opt[i].num != 0;
    const char *k = zp_scheme_kernel_family(c);
    return k && strcmp(k, "s8-narrow") == 0 ? 1 : -1;
}

/* Codebooks fitted to means (k-means levels, binary's alpha = mean|x|) put
 * their outermost level inside the data by construction: "beyond the top
 * level" there is the codebook, not clipping, so clip_share is left empty.
 * Every scheme fitted to a max (affine, minifloat, mx, nvfp4, nf4, lut4
 * log2/normal) reports it. */
int zp_variant_can_clip(const struct zp_scheme_config *c)
{
    const struct zp_scheme *s = c->scheme;
    if (strcmp(s->name, "binary") == 0)
        return 0;
    int i = zp_scheme_option_index(s, "codebook");
    if (i >= 0 && strcmp(s->name, "lut4") == 0) {
        const char *ch = s->options[i].choices; /* "kmeans|log2|normal" */
        int idx = (int)c->opt[i].num;
        for (int k = 0; k < idx && ch; k++) {
            ch = strchr(ch, '|');
            if (ch)
                ch++;
        }
        return !(ch && strncmp(ch, "kmeans", 6) == 0 && (ch[6] == '|' || ch[6] == '\0'));
    }
    return 1;
}

void zp_wcost_add(struct zp_wcost *wc, const struct zp_scheme_config *c,
                  const struct zp_tensor_qparams *qp, const float *x, const int64_t *shape,
                  int ndim, struct zp_err *err)
{
    size_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= (size_t)shape[d];
    double bpw = zp_bits_per_weight(c, shape, ndim, err);
    if (bpw < 0)
        wc->invalid = 1;
    else
        wc->bits += bpw * (double)n;
    wc->n += (double)n;
    if (!zp_variant_can_clip(c)) {
        wc->no_clip = 1;
        return;
    }
    size_t nc = 0;
    if (zp_tensor_clip_count(c, qp, x, shape, ndim, &nc, err) != ZP_OK) {
        wc->invalid = 1;
        return;
    }
    wc->clipped += nc;
    wc->slices += qp->n_slices;
}

double zp_wcost_bits(const struct zp_wcost *wc)
{
    return wc->invalid || wc->n <= 0 ? NAN : wc->bits / wc->n;
}

double zp_wcost_clip_share(const struct zp_wcost *wc)
{
    return wc->invalid || wc->no_clip || wc->slices == 0 ? NAN
                                                         : (double)wc->clipped / (double)wc->slices;
}

void zp_variant_qat_cols(struct zp_csv *r, const struct zp_variant *v)
{
    if (!v) {
        zp_csv_set_empty(r, ZP_ACC_QAT_LOSS);
        zp_csv_set_empty(r, ZP_ACC_QAT_TEMPERATURE);
        zp_csv_set_empty(r, ZP_ACC_QAT_ALPHA);
        zp_csv_set_empty(r, ZP_ACC_QAT_OPTIMIZER);
        return;
    }
    zp_csv_set_str(r, ZP_ACC_QAT_LOSS, v->qat_distill ? "distill" : "xent");
    zp_csv_set_str(r, ZP_ACC_QAT_OPTIMIZER, v->qat_adam ? "adam" : "sgd");
    /* temperature and alpha belong to the distillation loss only */
    if (v->qat_distill) {
        zp_csv_set_num(r, ZP_ACC_QAT_TEMPERATURE, v->qat_temperature);
        zp_csv_set_num(r, ZP_ACC_QAT_ALPHA, v->qat_alpha);
    } else {
        zp_csv_set_empty(r, ZP_ACC_QAT_TEMPERATURE);
        zp_csv_set_empty(r, ZP_ACC_QAT_ALPHA);
    }
}
