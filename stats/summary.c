/* summary.csv statistics from prediction records: see summary.h and
 * docs/statistics.md. Per-replicate values give mean and std; the bootstrap runs
 * once per row over the replicate-averaged per-example values of every metric. */
#include "stats/summary.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "common/mem.h"
#include "stats/mcnemar.h"

/* ---- validation ------------------------------------------------------------- */

enum zp_status zp_preds_check(const struct zp_preds *p, const char *what, struct zp_err *err)
{
    if (p->n == 0)
        return zp_err_set(err, ZP_EINVAL, "%s: no examples", what);
    if (!p->label != !p->predicted)
        return zp_err_set(err, ZP_EINVAL, "%s: label and predicted must be given together", what);
    if (!p->nll != !p->tokens || (p->kld && !p->nll))
        return zp_err_set(err, ZP_EINVAL, "%s: tokens and nll must be given together (kld only "
                          "with them)", what);
    if (!p->label && !p->nll)
        return zp_err_set(err, ZP_EINVAL, "%s: neither class predictions nor nll", what);
    for (size_t i = 0; i < p->n; i++) {
        if (p->tokens && !(isfinite(p->tokens[i]) && p->tokens[i] > 0))
            return zp_err_set(err, ZP_EINVAL, "%s: example %zu: tokens %g must be finite and > 0",
                              what, i, p->tokens[i]);
        if (p->nll && !isfinite(p->nll[i]))
            return zp_err_set(err, ZP_EINVAL, "%s: example %zu: nll %g is not finite", what, i,
                              p->nll[i]);
        if (p->kld && !(isfinite(p->kld[i]) && p->kld[i] >= 0))
            return zp_err_set(err, ZP_EINVAL, "%s: example %zu: kld %g must be finite and >= 0",
                              what, i, p->kld[i]);
    }
    return ZP_OK;
}

/* Same examples in the same order: n, labels and token counts agree. */
static enum zp_status same_examples(const struct zp_preds *p, const char *pn, size_t pr,
                                    const struct zp_preds *q, const char *qn, struct zp_err *err)
{
    if (p->n != q->n)
        return zp_err_set(err, ZP_EINVAL, "%s replicate %zu: %zu examples, %s has %zu", pn, pr,
                          p->n, qn, q->n);
    if (!p->label != !q->label || !p->tokens != !q->tokens)
        return zp_err_set(err, ZP_EINVAL, "%s replicate %zu: records of a different kind than "
                          "%s's (class predictions vs language-model nll)", pn, pr, qn);
    for (size_t i = 0; i < p->n; i++) {
        if (p->label && p->label[i] != q->label[i])
            return zp_err_set(err, ZP_EINVAL, "%s replicate %zu, example %zu: label %d, %s has %d: "
                              "records must cover the same examples in the same order", pn, pr, i,
                              p->label[i], qn, q->label[i]);
        if (p->tokens && p->tokens[i] != q->tokens[i])
            return zp_err_set(err, ZP_EINVAL, "%s replicate %zu, example %zu: %g tokens, %s has %g",
                              pn, pr, i, p->tokens[i], qn, q->tokens[i]);
    }
    return ZP_OK;
}

static enum zp_status check_cell(const struct zp_cell_preds *c, const struct zp_preds *ref,
                                 const char *refname, struct zp_err *err)
{
    const char *name = c->name ? c->name : "cell";
    if (c->replicates == 0 || !c->rep)
        return zp_err_set(err, ZP_EINVAL, "%s: no replicates", name);
    for (size_t r = 0; r < c->replicates; r++) {
        enum zp_status st = zp_preds_check(&c->rep[r], name, err);
        if (st) {
            zp_err_prefix(err, "replicate %zu", r);
            return st;
        }
        if ((st = same_examples(&c->rep[r], name, r, ref, refname, err)))
            return st;
    }
    return ZP_OK;
}

/* ---- per-run numbers -------------------------------------------------------- */

static double top1_of(const struct zp_preds *p)
{
    size_t hit = 0;
    for (size_t i = 0; i < p->n; i++)
        hit += p->label[i] == p->predicted[i];
    return (double)hit / (double)p->n;
}

/* Token-weighted mean of a per-example per-token value. */
static double wmean(const double *v, const double *tokens, size_t n)
{
    double s = 0, w = 0;
    for (size_t i = 0; i < n; i++) {
        s += tokens[i] * v[i];
        w += tokens[i];
    }
    return s / w;
}

enum zp_status zp_preds_compare(const struct zp_preds *run, const struct zp_preds *ref,
                                struct zp_compare *out, struct zp_err *err)
{
    enum zp_status st;
    if ((st = zp_preds_check(run, "run", err)) || (st = zp_preds_check(ref, "reference", err)) ||
        (st = same_examples(run, "run", 0, ref, "reference", err)))
        return st;
    if (!run->label)
        return zp_err_set(err, ZP_EINVAL, "compare: McNemar and agreement need class predictions");
    uint64_t b = 0, c = 0, same = 0;
    for (size_t i = 0; i < run->n; i++) {
        int rr = run->predicted[i] == run->label[i], fr = ref->predicted[i] == ref->label[i];
        b += fr && !rr;
        c += !fr && rr;
        same += run->predicted[i] == ref->predicted[i];
    }
    out->b = b;
    out->c = c;
    out->mcnemar_p = zp_mcnemar_exact(b, c);
    out->agreement = (double)same / (double)run->n;
    return ZP_OK;
}

/* ---- shared machinery ------------------------------------------------------- */

static void stat_nan(struct zp_stat *s)
{
    s->mean = s->std = s->lo = s->hi = NAN;
}

/* Replicate-averaged per-example correctness: out[i] = mean_r [pred == label]. */
static void avg_correct(const struct zp_cell_preds *c, double *out)
{
    size_t n = c->rep[0].n;
    for (size_t i = 0; i < n; i++) {
        size_t hit = 0;
        for (size_t r = 0; r < c->replicates; r++)
            hit += c->rep[r].predicted[i] == c->rep[r].label[i];
        out[i] = (double)hit / (double)c->replicates;
    }
}

/* Replicate average of the nll (which = 0) or kld (which = 1) field. */
static void avg_field(const struct zp_cell_preds *c, int which, double *out)
{
    size_t n = c->rep[0].n;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t r = 0; r < c->replicates; r++)
            s += which ? c->rep[r].kld[i] : c->rep[r].nll[i];
        out[i] = s / (double)c->replicates;
    }
}

static int excludes_zero(const struct zp_stat *s)
{
    return s->lo > 0.0 || s->hi < 0.0;
}

/* Up to 6 bootstrap columns per row, each its own n-vector. */
enum { MAX_COLS = 6 };
struct cols {
    size_t k, n;
    double *buf; /* MAX_COLS * n */
    struct zp_boot_col col[MAX_COLS];
    struct zp_stat *dst[MAX_COLS];
};

static double *col_add(struct cols *c, struct zp_stat *dst, const double *w)
{
    double *s = c->buf + c->k * c->n;
    c->col[c->k].s = s;
    c->col[c->k].w = w;
    c->dst[c->k] = dst;
    c->k++;
    return s;
}

static enum zp_status cols_run(struct cols *c, const struct zp_boot_opts *opts, struct zp_err *err)
{
    struct zp_boot_opts def;
    if (!opts) {
        zp_boot_opts_default(&def);
        opts = &def;
    }
    struct zp_interval iv[MAX_COLS];
    enum zp_status st = zp_bootstrap(c->col, c->k, c->n, opts, iv, err);
    if (st)
        return st;
    for (size_t j = 0; j < c->k; j++) {
        c->dst[j]->lo = iv[j].lo;
        c->dst[j]->hi = iv[j].hi;
    }
    return ZP_OK;
}

/* ---- a cell against float --------------------------------------------------- */

enum zp_status zp_summary_cell(const struct zp_cell_preds *cell, const struct zp_cell_preds *flt,
                               const struct zp_boot_opts *opts, struct zp_summary_row *out,
                               struct zp_err *err)
{
    const char *name = cell->name ? cell->name : "cell";
    enum zp_status st;
    if (flt->replicates != 1 || !flt->rep)
        return zp_err_set(err, ZP_EINVAL, "%s: the float model must have exactly one run, got %zu",
                          name, flt->replicates);
    const struct zp_preds *f = &flt->rep[0];
    if ((st = zp_preds_check(f, "float model", err)) || (st = check_cell(cell, f, "the float model", err)))
        return st;
    size_t n = f->n, R = cell->replicates;
    int cls = f->label != NULL, lm = f->nll != NULL;
    if (lm && !cell->rep[0].nll)
        return zp_err_set(err, ZP_EINVAL, "%s: the float model has nll, the cell has none", name);
    for (size_t r = 0; lm && r < R; r++)
        if (!cell->rep[r].nll || !cell->rep[r].kld)
            return zp_err_set(err, ZP_EINVAL, "%s replicate %zu: a language-model cell needs nll "
                              "and kld", name, r);

    memset(out, 0, sizeof *out);
    out->n = n;
    out->replicates = R;
    stat_nan(&out->top1), stat_nan(&out->drop), stat_nan(&out->agreement);
    stat_nan(&out->nll), stat_nan(&out->kld), stat_nan(&out->nll_delta);
    out->mcnemar_p = out->mcnemar_p_min = out->discordant_b = out->discordant_c = NAN;

    /* Per-replicate values: 6 metrics x R, then b and c. */
    double *per = zp_calloc(8 * R + MAX_COLS * n + n, sizeof *per);
    if (!per)
        return zp_err_set(err, ZP_ENOMEM, "%s: summary scratch", name);
    struct cols cs = {.n = n, .buf = per + 8 * R};
    double *tmp = cs.buf + MAX_COLS * n;
    double *v_top1 = per, *v_drop = per + R, *v_agree = per + 2 * R, *v_nll = per + 3 * R,
           *v_kld = per + 4 * R, *v_dnll = per + 5 * R, *v_b = per + 6 * R, *v_c = per + 7 * R;
    double ftop1 = cls ? top1_of(f) : NAN, fnll = lm ? wmean(f->nll, f->tokens, n) : NAN;
    double pmax = -1, pmin = 2;
    for (size_t r = 0; r < R; r++) {
        const struct zp_preds *p = &cell->rep[r];
        if (cls) {
            struct zp_compare cmp;
            if ((st = zp_preds_compare(p, f, &cmp, err)))
                goto out_free;
            v_top1[r] = top1_of(p);
            v_drop[r] = 100.0 * (ftop1 - v_top1[r]);
            v_agree[r] = cmp.agreement;
            v_b[r] = (double)cmp.b;
            v_c[r] = (double)cmp.c;
            pmax = fmax(pmax, cmp.mcnemar_p);
            pmin = fmin(pmin, cmp.mcnemar_p);
        }
        if (lm) {
            v_nll[r] = wmean(p->nll, p->tokens, n);
            v_kld[r] = wmean(p->kld, p->tokens, n);
            v_dnll[r] = v_nll[r] - fnll;
        }
    }
    if (cls) {
        zp_mean_std(v_top1, R, &out->top1.mean, &out->top1.std);
        zp_mean_std(v_drop, R, &out->drop.mean, &out->drop.std);
        zp_mean_std(v_agree, R, &out->agreement.mean, &out->agreement.std);
        double sd;
        zp_mean_std(v_b, R, &out->discordant_b, &sd);
        zp_mean_std(v_c, R, &out->discordant_c, &sd);
        out->mcnemar_p = pmax;
        out->mcnemar_p_min = pmin;
        double *a = col_add(&cs, &out->top1, NULL);
        avg_correct(cell, a);
        double *d = col_add(&cs, &out->drop, NULL);
        for (size_t i = 0; i < n; i++)
            d[i] = 100.0 * ((double)(f->predicted[i] == f->label[i]) - a[i]);
        double *g = col_add(&cs, &out->agreement, NULL);
        for (size_t i = 0; i < n; i++) {
            size_t same = 0;
            for (size_t r = 0; r < R; r++)
                same += cell->rep[r].predicted[i] == f->predicted[i];
            g[i] = (double)same / (double)R;
        }
    }
    if (lm) {
        zp_mean_std(v_nll, R, &out->nll.mean, &out->nll.std);
        zp_mean_std(v_kld, R, &out->kld.mean, &out->kld.std);
        zp_mean_std(v_dnll, R, &out->nll_delta.mean, &out->nll_delta.std);
        const double *t = f->tokens;
        double *s = col_add(&cs, &out->nll, t), *dl = col_add(&cs, &out->nll_delta, t);
        avg_field(cell, 0, tmp);
        for (size_t i = 0; i < n; i++) {
            s[i] = t[i] * tmp[i];
            dl[i] = t[i] * (tmp[i] - f->nll[i]);
        }
        double *k = col_add(&cs, &out->kld, t);
        avg_field(cell, 1, tmp);
        for (size_t i = 0; i < n; i++)
            k[i] = t[i] * tmp[i];
    }
    if ((st = cols_run(&cs, opts, err)))
        goto out_free;
    out->significant = cls ? excludes_zero(&out->drop) && out->mcnemar_p <= ZP_SIGNIFICANCE_ALPHA
                           : excludes_zero(&out->nll_delta);
out_free:
    zp_free(per);
    if (st)
        zp_err_prefix(err, "summary of %s", name);
    return st;
}

/* ---- a declared pair -------------------------------------------------------- */

enum zp_status zp_summary_pair(const struct zp_cell_preds *a, const struct zp_cell_preds *b,
                               const struct zp_boot_opts *opts, struct zp_pair_row *out,
                               struct zp_err *err)
{
    const char *an = a->name ? a->name : "cell A", *bn = b->name ? b->name : "cell B";
    enum zp_status st;
    if (a->replicates == 0 || b->replicates == 0 || !a->rep || !b->rep)
        return zp_err_set(err, ZP_EINVAL, "pair %s vs %s: a side has no replicates", an, bn);
    size_t RA = a->replicates, RB = b->replicates;
    if (RA != RB && RA != 1 && RB != 1)
        return zp_err_set(err, ZP_EINVAL, "pair %s vs %s: %zu and %zu replicates cannot be paired "
                          "(need equal counts, or one side with 1)", an, bn, RA, RB);
    const struct zp_preds *ref = &b->rep[0];
    if ((st = check_cell(a, ref, bn, err)) || (st = check_cell(b, ref, bn, err)))
        return st;
    size_t n = ref->n, P = RA > RB ? RA : RB;
    int cls = ref->label != NULL, lm = ref->nll != NULL;
    for (size_t r = 0; lm && r < P; r++)
        if (!a->rep[RA == 1 ? 0 : r].nll)
            return zp_err_set(err, ZP_EINVAL, "pair %s vs %s: %s has no nll", an, bn, an);

    memset(out, 0, sizeof *out);
    out->n = n;
    out->replicates = P;
    stat_nan(&out->delta_top1), stat_nan(&out->delta_nll);
    out->mcnemar_p = out->mcnemar_p_min = out->discordant_b = out->discordant_c = NAN;

    double *per = zp_calloc(4 * P + MAX_COLS * n + 2 * n, sizeof *per);
    if (!per)
        return zp_err_set(err, ZP_ENOMEM, "pair %s vs %s: scratch", an, bn);
    struct cols cs = {.n = n, .buf = per + 4 * P};
    double *ta = cs.buf + MAX_COLS * n, *tb = ta + n;
    double *v_dt = per, *v_dn = per + P, *v_b = per + 2 * P, *v_c = per + 3 * P;
    double pmax = -1, pmin = 2;
    for (size_t r = 0; r < P; r++) {
        const struct zp_preds *pa = &a->rep[RA == 1 ? 0 : r], *pb = &b->rep[RB == 1 ? 0 : r];
        if (cls) {
            struct zp_compare cmp; /* reference pb: cmp.b = #(B right, A wrong) */
            if ((st = zp_preds_compare(pa, pb, &cmp, err)))
                goto out_free;
            v_dt[r] = 100.0 * (top1_of(pa) - top1_of(pb));
            v_b[r] = (double)cmp.c;
            v_c[r] = (double)cmp.b;
            pmax = fmax(pmax, cmp.mcnemar_p);
            pmin = fmin(pmin, cmp.mcnemar_p);
        }
        if (lm)
            v_dn[r] = wmean(pa->nll, pa->tokens, n) - wmean(pb->nll, pb->tokens, n);
    }
    if (cls) {
        double sd;
        zp_mean_std(v_dt, P, &out->delta_top1.mean, &out->delta_top1.std);
        zp_mean_std(v_b, P, &out->discordant_b, &sd);
        zp_mean_std(v_c, P, &out->discordant_c, &sd);
        out->mcnemar_p = pmax;
        out->mcnemar_p_min = pmin;
        double *d = col_add(&cs, &out->delta_top1, NULL);
        avg_correct(a, ta);
        avg_correct(b, tb);
        for (size_t i = 0; i < n; i++)
            d[i] = 100.0 * (ta[i] - tb[i]);
    }
    if (lm) {
        zp_mean_std(v_dn, P, &out->delta_nll.mean, &out->delta_nll.std);
        const double *t = ref->tokens;
        double *d = col_add(&cs, &out->delta_nll, t);
        avg_field(a, 0, ta);
        avg_field(b, 0, tb);
        for (size_t i = 0; i < n; i++)
            d[i] = t[i] * (ta[i] - tb[i]);
    }
    if ((st = cols_run(&cs, opts, err)))
        goto out_free;
    out->significant = cls ? excludes_zero(&out->delta_top1) &&
                                 out->mcnemar_p <= ZP_SIGNIFICANCE_ALPHA
                           : excludes_zero(&out->delta_nll);
out_free:
    zp_free(per);
    if (st)
        zp_err_prefix(err, "pair %s vs %s", an, bn);
    return st;
}
