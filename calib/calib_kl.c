/* KL (entropy) calibration, TensorRT style (Migacz, "8-bit Inference with
 * TensorRT", GTC 2017): for each candidate cut of i bins, P is the histogram's
 * first i bins with the tail folded into the last one, Q is the same i bins (tail
 * not folded) merged into `target` levels and spread back evenly over the bins
 * where P is non-zero; the cut with the least KL(P||Q) gives the threshold i·w.
 * Details and the choices the talk leaves open: docs/calibration.md. */
#include <math.h>
#include <stdlib.h>

#include "calib/histogram.h"

/* Prefix sums over the histogram, so that each cut costs O(target), not O(bins):
 * within a merged level Q is constant, hence
 *   Σ_k p_k ln(p_k/q) = Σ_k p_k ln p_k − ln q · Σ_k p_k. */
struct kl_sums {
    const double *hist;
    int bins;
    double *cum;  /* cum[k] = Σ hist[0..k) */
    double *hlog; /* hlog[k] = Σ hist[j]·ln hist[j], j < k, hist[j] > 0 */
    int *nz;      /* nz[k] = #{j < k : hist[j] > 0} */
    int *idx;     /* the indices of the non-zero bins, ascending */
};

static double xlogx(double x)
{
    return x > 0.0 ? x * log(x) : 0.0;
}

/* KL(P||Q) of the cut at n bins merged into `target` levels. INFINITY when a level
 * has no source mass but P has mass there (only the last level can: it receives
 * the folded tail). Levels where P is zero contribute nothing, so only the levels
 * holding a non-zero bin are visited: O(min(non-zero bins, target)) per cut, which
 * keeps sparse histograms (small per-channel weight tensors) cheap. */
static double cut_divergence(const struct kl_sums *s, int n, int target)
{
    double total = s->cum[s->bins], tail = total - s->cum[n], qsum = s->cum[n];
    if (qsum <= 0.0)
        return INFINITY;
    double kl = 0.0, log_total = log(total);
    int last_seen = 0;
    for (int i = 0, m = s->nz[n]; i < m;) {
        /* Level j = [⌊j·n/target⌋, ⌊(j+1)·n/target⌋) holds bin k iff
         * j = ⌈(k+1)·target/n⌉ − 1. */
        int64_t k = s->idx[i];
        int64_t j = ((k + 1) * target - 1) / n;
        int b = (int)(j * n / target), e = (int)((j + 1) * n / target);
        double mass = s->cum[e] - s->cum[b];                 /* Q's source mass: tail not folded */
        double plogp = s->hlog[e] - s->hlog[b], psum = mass; /* P's, in counts */
        int count = s->nz[e] - s->nz[b];                     /* bins where P > 0 */
        if (e == n) {
            last_seen = 1;
            if (tail > 0.0) { /* the last bin also holds the folded tail */
                double last = s->hist[n - 1];
                count += last == 0.0;
                plogp += xlogx(last + tail) - xlogx(last);
                psum += tail;
            }
        }
        /* Σ (P/total)·ln(P/total) over the level, minus ln q times its P mass. */
        double q = mass / count / qsum;
        kl += (plogp - psum * log_total) / total - psum / total * log(q);
        i = s->nz[e]; /* the next non-zero bin beyond this level */
    }
    /* The tail folded into a last level whose own bins are all empty: P > 0 = Q. */
    if (tail > 0.0 && !last_seen)
        return INFINITY;
    return kl;
}

/* Best cut in target..bins (first minimum); the threshold is its upper edge. */
static double best_threshold(const double *hist, int bins, double w, int target)
{
    struct kl_sums s = {.hist = hist, .bins = bins};
    s.cum = malloc(((size_t)bins + 1) * sizeof *s.cum);
    s.hlog = malloc(((size_t)bins + 1) * sizeof *s.hlog);
    s.nz = malloc(((size_t)bins + 1) * sizeof *s.nz);
    s.idx = malloc((size_t)bins * sizeof *s.idx);
    double *div = malloc((size_t)bins * sizeof *div);
    double t = bins * w; /* without memory, no clipping */
    if (!s.cum || !s.hlog || !s.nz || !s.idx || !div)
        goto out_free;
    s.cum[0] = s.hlog[0] = 0.0;
    s.nz[0] = 0;
    for (int k = 0; k < bins; k++) {
        s.cum[k + 1] = s.cum[k] + hist[k];
        s.hlog[k + 1] = s.hlog[k] + xlogx(hist[k]);
        s.nz[k + 1] = s.nz[k] + (hist[k] > 0.0);
        if (hist[k] > 0.0)
            s.idx[s.nz[k]] = k;
    }
    /* Threads only pay off on big searches: a parallel region costs more than a
     * small one on a loaded machine (per-channel weights call this per channel). */
    int64_t work = (int64_t)(bins - target + 1) * (s.nz[bins] < target ? s.nz[bins] : target);
#pragma omp parallel for schedule(static) if (work >= (1 << 20))
    for (int n = target; n <= bins; n++)
        div[n - target] = cut_divergence(&s, n, target);
    int best = target;
    for (int n = target + 1; n <= bins; n++)
        if (div[n - target] < div[best - target])
            best = n;
    t = best * w;
out_free:
    free(s.cum);
    free(s.hlog);
    free(s.nz);
    free(s.idx);
    free(div);
    return t;
}

void zp_calib_kl_search(const struct zp_calib_hist *h, const struct zp_calib_options *o,
                        double *lo, double *hi)
{
    int bins = h->bins;
    double w = h->half / bins;
    double *hist = calloc((size_t)bins, sizeof *hist);
    int one_sided = !o->symmetric && (h->min >= 0.0 || h->max <= 0.0);
    if (!hist) { /* keep the unclipped range rather than fail a finished calibration */
        *lo = fmin(h->min, 0.0);
        *hi = fmax(h->max, 0.0);
        return;
    }
    /* One-sided data under an unsigned quantizer uses all 2^b levels on one side;
     * otherwise |x| with 2^(b-1) levels per side. Exact zeros are left out: every
     * quantizer here represents 0 exactly, and a ReLU's zero spike in bin 0 would
     * otherwise dominate P and force cuts whose first level is one bin wide
     * (NVIDIA's pytorch-quantization flattens bin 0 for the same reason). */
    int use_pos = !one_sided || h->min >= 0.0, use_neg = !one_sided || h->max <= 0.0;
    for (int k = 0; k < bins; k++)
        hist[k] = (use_pos ? (double)h->pos[k] : 0.0) + (use_neg ? (double)h->neg[k] : 0.0);
    int target = one_sided ? 1 << o->bits : 1 << (o->bits - 1);
    double t = best_threshold(hist, bins, w, target);
    free(hist);
    if (one_sided && h->min >= 0.0) {
        *lo = 0.0;
        *hi = fmin(t, h->max);
    } else if (one_sided) {
        *lo = fmax(-t, h->min);
        *hi = 0.0;
    } else if (o->symmetric) {
        double amax = fmax(-h->min, h->max);
        *lo = -fmin(t, amax);
        *hi = fmin(t, amax);
    } else { /* two-sided data, asymmetric quantizer: clip each side at t */
        *lo = fmax(-t, fmin(h->min, 0.0));
        *hi = fmin(t, fmax(h->max, 0.0));
    }
}
