/* Helpers shared by every scheme and by the config loader: config checking,
 * option choices, slice statistics, codebook (lookup-table) quantization and
 * the decoded value of real zero. */
#include "schemes/scheme.h"

#include "common/choice.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *zp_granularity_name(enum zp_granularity g)
{
    switch (g) {
    case ZP_PER_TENSOR: return "per-tensor";
    case ZP_PER_CHANNEL: return "per-channel";
    case ZP_PER_GROUP: return "per-group";
    }
    return "unknown";
}

const char *zp_scheme_kernel_family(const struct zp_scheme_config *cfg)
{
    const char *k = cfg->scheme->kernel_family;
    if (k && strcmp(k, "s8") == 0 && zp_scheme_option_index(cfg->scheme, "narrow_range") >= 0 &&
        zp_scheme_opt(cfg, "narrow_range") != 0.0)
        return "s8-narrow";
    return k;
}

int zp_option_choice_index(const struct zp_option_desc *o, const char *word)
{
    if (!o || o->type != ZP_OPT_ENUM)
        return -1;
    return zp_choice_find(o->choices, word);
}

void zp_option_choice_name(const struct zp_option_desc *o, int idx, char *buf, size_t size)
{
    if (!buf || size == 0)
        return;
    buf[0] = '\0';
    if (!o || o->type != ZP_OPT_ENUM)
        return;
    zp_choice_name(o->choices, idx, buf, size);
}

static int n_choices(const struct zp_option_desc *o)
{
    return zp_choice_count(o->choices);
}

enum zp_status zp_scheme_check_bits(const struct zp_scheme_config *cfg, struct zp_err *err)
{
    const struct zp_scheme *s = cfg->scheme;
    if (cfg->bits < s->min_bits || cfg->bits > s->max_bits) {
        if (s->min_bits == s->max_bits)
            return zp_err_set(err, ZP_ECONFIG, "%s: bits %d not supported (the scheme is %d-bit only)",
                              s->name, cfg->bits, s->min_bits);
        return zp_err_set(err, ZP_ECONFIG, "%s: bits %d out of range (expected %d..%d)", s->name,
                          cfg->bits, s->min_bits, s->max_bits);
    }
    if (cfg->granularity == ZP_PER_GROUP && cfg->bits > 4 && s->kernel_family)
        return zp_err_set(err, ZP_ECONFIG,
                          "%s: granularity per-group needs bits <= 4, got bits %d "
                          "(use per-channel or per-tensor at this width)",
                          s->name, cfg->bits);
    return ZP_OK;
}

enum zp_status zp_scheme_config_check(const struct zp_scheme_config *cfg, struct zp_err *err)
{
    const struct zp_scheme *s = cfg ? cfg->scheme : NULL;
    if (!s)
        return zp_err_set(err, ZP_ECONFIG, "scheme config has no scheme");
    if (cfg->bits < s->min_bits || cfg->bits > s->max_bits)
        return zp_scheme_check_bits(cfg, err);
    if ((unsigned)cfg->granularity > ZP_PER_GROUP ||
        !(s->granularities & ZP_GRAN_BIT(cfg->granularity)))
        return zp_err_set(err, ZP_ECONFIG, "%s: granularity %s is not supported by this scheme",
                          s->name, zp_granularity_name(cfg->granularity));
    if (cfg->granularity == ZP_PER_GROUP && cfg->group_size < 1)
        return zp_err_set(err, ZP_ECONFIG, "%s: group_size must be >= 1, got %d", s->name,
                          cfg->group_size);
    for (int i = 0; i < s->n_options; i++) {
        const struct zp_option_desc *o = &s->options[i];
        double v = cfg->opt[i].num;
        switch (o->type) {
        case ZP_OPT_BOOL:
            if (v != 0.0 && v != 1.0)
                return zp_err_set(err, ZP_ECONFIG, "%s: option %s must be true or false, got %g",
                                  s->name, o->name, v);
            if (v < o->min || v > o->max)
                return zp_err_set(err, ZP_ECONFIG, "%s: option %s is fixed to %s for this scheme",
                                  s->name, o->name, o->min > 0.5 ? "true" : "false");
            break;
        case ZP_OPT_INT:
        case ZP_OPT_NUMBER:
            if (!isfinite(v) || (o->type == ZP_OPT_INT && v != floor(v)))
                return zp_err_set(err, ZP_ECONFIG, "%s: option %s must be %s, got %g", s->name,
                                  o->name, o->type == ZP_OPT_INT ? "an integer" : "a finite number",
                                  v);
            if (v < o->min || v > o->max)
                return zp_err_set(err, ZP_ECONFIG, "%s: option %s out of range (expected %g..%g), got %g",
                                  s->name, o->name, o->min, o->max, v);
            break;
        case ZP_OPT_ENUM:
            if (v != floor(v) || v < 0 || v >= n_choices(o))
                return zp_err_set(err, ZP_ECONFIG, "%s: option %s must be one of %s, got index %g",
                                  s->name, o->name, o->choices, v);
            break;
        }
    }
    enum zp_status st = zp_scheme_check_bits(cfg, err);
    if (st == ZP_OK && s->validate)
        st = s->validate(cfg, err);
    return st;
}

void zp_minmax(const float *x, size_t n, float *lo, float *hi)
{
    float a = x[0], b = x[0];
    for (size_t i = 1; i < n; i++) {
        a = x[i] < a ? x[i] : a;
        b = x[i] > b ? x[i] : b;
    }
    *lo = a;
    *hi = b;
}

float zp_max_abs(const float *x, size_t n)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        m = a > m ? a : m;
    }
    return m;
}

enum zp_status zp_check_range(const char *scheme, float lo, float hi, struct zp_err *err)
{
    if (!isfinite(lo) || !isfinite(hi) || lo > hi)
        return zp_err_set(err, ZP_EINVAL,
                          "%s: range [%g, %g] must be finite with lo <= hi", scheme, lo, hi);
    return ZP_OK;
}

/* Index of the level nearest x among ascending levels, ties to the lower index:
 * binary search on the midpoints, computed in double so that a value exactly
 * halfway between two float levels is recognised as the tie it is. */
static int32_t nearest_level(const float *lv, int n, float x)
{
    int lo = 0, hi = n - 1; /* answer in [lo, hi] */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        double cut = 0.5 * ((double)lv[mid] + (double)lv[mid + 1]);
        if ((double)x <= cut)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

void zp_lut_quantize(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                     const float *x, int32_t *q, size_t n)
{
    (void)cfg;
    for (size_t i = 0; i < n; i++)
        q[i] = nearest_level(p->levels, p->n_levels, x[i]);
}

void zp_lut_dequantize(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                       const int32_t *q, float *y, size_t n)
{
    (void)cfg;
    int32_t top = p->n_levels - 1;
    for (size_t i = 0; i < n; i++) {
        int32_t c = q[i] < 0 ? 0 : q[i] > top ? top : q[i];
        y[i] = p->levels[c];
    }
}

void zp_lut_clip_range(const struct zp_scheme_config *cfg, const struct zp_qparams *p,
                       float *lo, float *hi)
{
    (void)cfg;
    *lo = p->levels[0];
    *hi = p->levels[p->n_levels - 1];
}

float zp_qparams_decode_zero(const struct zp_scheme *s, const struct zp_scheme_config *cfg,
                             const struct zp_qparams *p)
{
    /* Through the scheme's own functions, so plugins get the same definition. */
    float zero = 0.0f, out = 0.0f;
    int32_t q = 0;
    s->quantize(cfg, p, &zero, &q, 1);
    s->dequantize(cfg, p, &q, &out, 1);
    return out;
}

double zp_bpw_scale(const struct zp_scheme_config *cfg, size_t n, size_t n_slices)
{
    return cfg->bits + 32.0 * (double)n_slices / (double)n;
}

double zp_bpw_scale_zero_point(const struct zp_scheme_config *cfg, size_t n, size_t n_slices)
{
    return cfg->bits + (32.0 + cfg->bits) * (double)n_slices / (double)n;
}

double zp_bpw_codebook(const struct zp_scheme_config *cfg, size_t n, size_t n_slices)
{
    return cfg->bits + 32.0 * (double)(1 << cfg->bits) * (double)n_slices / (double)n;
}
