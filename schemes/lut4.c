/* lut4: a b-bit lookup table (default 4 bits: 16 levels), x' = levels[q].
 * Codebooks:
 *   kmeans  1-D Lloyd iterations from levels spaced linearly between min and max
 *           (Deep Compression's initialisation); an empty cluster keeps its level.
 *   log2    0 and powers of two of max|x|: -m 2^-k (k = 0..K/2-2), 0,
 *           +m 2^-k (k = 0..K/2-1) for K = 2^b levels.
 *   normal  quantiles of N(0,1) at (i + 0.5) / K, scaled so the largest is max|x|.
 * Quantization picks the nearest level, ties to the lower index. */
#include "schemes/scheme.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

enum { CB_KMEANS = 0, CB_LOG2 = 1, CB_NORMAL = 2 };

static const struct zp_option_desc options[] = {
    {.name = "codebook", .type = ZP_OPT_ENUM, .def = CB_KMEANS, .choices = "kmeans|log2|normal",
     .help = "how the levels are chosen: k-means on the data, powers of two, normal quantiles"},
    {.name = "iterations", .type = ZP_OPT_INT, .min = 0, .max = 1000, .def = 20,
     .help = "k-means iterations (0 = the linear initialisation itself)"},
};

/* Sorts n floats ascending by LSD radix sort on order-preserving keys (flip all
 * bits of negatives, the sign bit of positives): O(n), where qsort's callback
 * made a 1M-element weight's codebook cost a tenth of a second. tmp holds n
 * words. */
static void radix_sort(float *v, uint32_t *tmp, size_t n)
{
    uint32_t *a = (uint32_t *)(void *)v, *b = tmp;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        a[i] = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    }
    for (int shift = 0; shift < 32; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((a[i] >> shift) & 0xffu) + 1]++;
        for (int d = 0; d < 256; d++)
            count[d + 1] += count[d];
        for (size_t i = 0; i < n; i++)
            b[count[(a[i] >> shift) & 0xffu]++] = a[i];
        uint32_t *t = a;
        a = b;
        b = t;
    }
    /* four passes: the sorted keys are back in v's storage */
    for (size_t i = 0; i < n; i++) {
        uint32_t k = a[i];
        uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
        memcpy(&v[i], &u, sizeof u);
    }
}

static void sort_small(float *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        float t = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > t; j--)
            v[j] = v[j - 1];
        v[j] = t;
    }
}

/* Number of sorted values <= v. */
static size_t upper_bound(const float *s, size_t n, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((double)s[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Lloyd's algorithm in one dimension on sorted data: each cluster is a run of
 * the sorted values between two midpoints, and its mean comes from prefix sums,
 * so an iteration costs O(K log n) after one O(n log n) sort. */
static enum zp_status kmeans(const float *x, size_t n, int k, int iters, double *c,
                             struct zp_err *err)
{
    /* Small slices (per-group) live on the stack: no allocation per group. */
    enum { SMALL = 256 };
    float s_small[SMALL];
    double pre_small[SMALL + 1];
    int small = n <= SMALL;
    float *s = small ? s_small : zp_alloc(n * sizeof *s);
    double *pre = small ? pre_small : zp_alloc((n + 1) * sizeof *pre);
    if (!s || !pre) {
        zp_free(s);
        zp_free(pre);
        return zp_err_set(err, ZP_ENOMEM, "lut4: k-means: cannot allocate %zu bytes",
                          n * (sizeof *s + sizeof *pre));
    }
    memcpy(s, x, n * sizeof *s);
    if (small)
        sort_small(s, n);
    else
        radix_sort(s, (uint32_t *)(void *)pre, n); /* pre is free until the prefix sums */
    pre[0] = 0.0;
    for (size_t i = 0; i < n; i++)
        pre[i + 1] = pre[i] + (double)s[i];

    double lo = s[0], hi = s[n - 1];
    for (int j = 0; j < k; j++)
        c[j] = k > 1 ? lo + (hi - lo) * (double)j / (double)(k - 1) : 0.5 * (lo + hi);

    size_t end[ZP_MAX_LEVELS], prev_end[ZP_MAX_LEVELS];
    for (int it = 0; it < iters; it++) {
        for (int j = 0; j < k - 1; j++)
            end[j] = upper_bound(s, n, 0.5 * (c[j] + c[j + 1])); /* ties to the lower level */
        end[k - 1] = n;
        if (it > 0 && memcmp(end, prev_end, (size_t)k * sizeof end[0]) == 0)
            break; /* assignments unchanged: converged */
        size_t begin = 0;
        for (int j = 0; j < k; j++) {
            size_t e = end[j] < begin ? begin : end[j];
            if (e > begin)
                c[j] = (pre[e] - pre[begin]) / (double)(e - begin);
            /* else: empty cluster keeps its level (deterministic, keeps order) */
            begin = e;
        }
        memcpy(prev_end, end, (size_t)k * sizeof end[0]);
    }
    if (!small) {
        zp_free(s);
        zp_free(pre);
    }
    return ZP_OK;
}

/* Standard normal quantile by bisection on the CDF: 200 halvings of [-40, 40]
 * reach double precision, and a codebook needs at most 256 of them. */
static double normal_quantile(double prob)
{
    double lo = -40.0, hi = 40.0;
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(-mid / sqrt(2.0)) < prob)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

static void sort_levels(float *v, int n)
{
    for (int i = 1; i < n; i++) {
        float t = v[i];
        int j = i - 1;
        for (; j >= 0 && v[j] > t; j--)
            v[j + 1] = v[j];
        v[j + 1] = t;
    }
}

static enum zp_status lut_fit(const struct zp_scheme_config *cfg, const float *x, size_t n,
                              struct zp_qparams *p, struct zp_err *err)
{
    int k = 1 << cfg->bits;
    int cb = (int)zp_scheme_opt(cfg, "codebook");
    memset(p, 0, sizeof *p);
    p->n_levels = k;
    p->qmin = 0;
    p->qmax = k - 1;
    if (cb == CB_KMEANS) {
        double c[ZP_MAX_LEVELS];
        enum zp_status st = kmeans(x, n, k, (int)zp_scheme_opt(cfg, "iterations"), c, err);
        if (st != ZP_OK)
            return st;
        for (int j = 0; j < k; j++)
            p->levels[j] = (float)c[j];
    } else {
        float m = zp_max_abs(x, n);
        int half = k / 2;
        if (cb == CB_LOG2) {
            int j = 0;
            for (int e = 0; e <= half - 2; e++) /* -m, -m/2, ..., -m 2^-(K/2-2) */
                p->levels[j++] = -ldexpf(m, -e);
            p->levels[j++] = 0.0f;
            for (int e = half - 1; e >= 0; e--) /* m 2^-(K/2-1), ..., m/2, m */
                p->levels[j++] = ldexpf(m, -e);
        } else {
            double top = normal_quantile((k - 0.5) / k);
            for (int j = half; j < k; j++) {
                float v = (float)((double)m * normal_quantile((j + 0.5) / k) / top);
                p->levels[j] = v;
                p->levels[k - 1 - j] = -v; /* mirror: exact symmetry */
            }
            p->levels[k - 1] = m; /* exactly max|x|, not a rounding of it */
            p->levels[0] = -m;
        }
    }
    sort_levels(p->levels, k);
    /* Informational scale (zero_error_lsb of a codebook): the mean level spacing. */
    float span = p->levels[k - 1] - p->levels[0];
    p->scale = span > 0.0f ? span / (float)(k - 1) : 1.0f;
    return ZP_OK;
}

const struct zp_scheme zp_scheme_lut4 = {
    .abi = ZP_SCHEME_ABI,
    .name = "lut4",
    .summary = "lookup table of 2^b levels: k-means, power-of-two or normal-quantile codebook",
    .min_bits = 2,
    .max_bits = 4,
    .default_bits = 4,
    .granularities = ZP_GRAN_BIT(ZP_PER_TENSOR) | ZP_GRAN_BIT(ZP_PER_CHANNEL) |
                     ZP_GRAN_BIT(ZP_PER_GROUP),
    .options = options,
    .n_options = (int)(sizeof options / sizeof options[0]),
    .kernel_family = "lut4",
    .validate = zp_scheme_check_bits,
    .fit = lut_fit,
    .fit_range = NULL, /* a codebook needs the data */
    .quantize = zp_lut_quantize,
    .dequantize = zp_lut_dequantize,
    .clip_range = zp_lut_clip_range,
    .bits_per_weight = zp_bpw_codebook,
};
