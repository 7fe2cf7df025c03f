/* KL (entropy) calibration, TensorRT style (Migacz, "8-bit Inference with
 * TensorRT", GTC 2017): for each candidate cut of i bins, P is the histogram's
 * first i bins with the tail folded into the last one, Q is the same i bins (tail
 * not folded) merged into `target` levels and spread back evenly over the bins
 * where P is non-zero; the cut with the least KL(P||Q) gives the threshold i·w.
 * Details and the choices the talk leaves open: docs/calibration.md. */
#include <math.h>
#include <stdlib.h>

#include "calib/histogram.h"

/* KL(P||Q) of the cut at n bins of hist[0..total_bins), merged into `target`
 * levels. cum[k] = Σ hist[0..k), nz[k] = #{j < k : hist[j] > 0}. INFINITY when a
 * level has no source mass but P has mass there (only the last level can: it
 * receives the folded tail). */
static double cut_divergence(const double *hist, const double *cum, const int *nz, int total_bins,
                             int n, int target)
{
    double total = cum[total_bins], tail = total - cum[n], qsum = cum[n];
    if (qsum <= 0.0)
        return INFINITY;
    double kl = 0.0;
    for (int j = 0; j < target; j++) {
        int b = (int)((int64_t)j * n / target), e = (int)((int64_t)(j + 1) * n / target);
        double mass = cum[e] - cum[b];
        int count = nz[e] - nz[b];
        int last_tail = e == n && tail > 0.0 && hist[n - 1] == 0.0; /* P > 0 at n-1 only by the fold */
        if (last_tail)
            count++;
        if (count == 0)
            continue;
        if (mass <= 0.0)
            return INFINITY;
        double q = mass / count / qsum;
        for (int k = b; k < e; k++) {
            double p = hist[k] + (k == n - 1 ? tail : 0.0);
            if (p > 0.0) {
                p /= total;
                kl += p * log(p / q);
            }
        }
    }
    return kl;
}

/* Best cut in target..bins (first minimum); the threshold is its upper edge. */
static double best_threshold(const double *hist, int bins, double w, int target)
{
    double *cum = malloc(((size_t)bins + 1) * sizeof *cum);
    int *nz = malloc(((size_t)bins + 1) * sizeof *nz);
    double *div = malloc((size_t)bins * sizeof *div);
    double t = bins * w; /* without memory, no clipping */
    if (!cum || !nz || !div)
        goto out_free;
    cum[0] = 0.0;
    nz[0] = 0;
    for (int k = 0; k < bins; k++) {
        cum[k + 1] = cum[k] + hist[k];
        nz[k + 1] = nz[k] + (hist[k] > 0.0);
    }
#pragma omp parallel for schedule(dynamic, 16)
    for (int n = target; n <= bins; n++)
        div[n - target] = cut_divergence(hist, cum, nz, bins, n, target);
    int best = target;
    for (int n = target + 1; n <= bins; n++)
        if (div[n - target] < div[best - target])
            best = n;
    t = best * w;
out_free:
    free(cum);
    free(nz);
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
