/* Run-config scheme entries: the scheme object (config/scheme_entry.h) plus the
 * entry-only keys, and sweeps: any key given as an array expands the entry into
 * the cartesian product of its arrays (the last key varies fastest). */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "config/config_internal.h"
#include "config/scheme_entry.h"

#define MAX_SWEEP_DIMS 12
#define ENTRY_SECTION "run.schemes[]"

static uint64_t label_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The variant already carrying this label, or -1 (config_internal.h: the hash set). */
static long label_find(const struct zp_cfg_ctx *c, const char *label)
{
    if (!c->label_cap)
        return -1;
    for (size_t i = label_hash(label) & (c->label_cap - 1);; i = (i + 1) & (c->label_cap - 1)) {
        size_t slot = c->label_slots[i];
        if (!slot)
            return -1;
        if (strcmp(c->cfg->variants[slot - 1].label, label) == 0)
            return (long)(slot - 1);
    }
}

static void label_insert(struct zp_cfg_ctx *c, size_t index)
{
    size_t i = label_hash(c->cfg->variants[index].label) & (c->label_cap - 1);
    while (c->label_slots[i])
        i = (i + 1) & (c->label_cap - 1);
    c->label_slots[i] = index + 1;
}

static enum zp_status push_variant(struct zp_cfg_ctx *c, const struct zp_variant *v)
{
    struct zp_config *cfg = c->cfg;
    if (cfg->n_variants == c->variants_cap) {
        size_t nc = c->variants_cap ? 2 * c->variants_cap : 16;
        struct zp_variant *nv = realloc(cfg->variants, nc * sizeof *nv);
        if (!nv)
            return zp_err_set(c->j.err, ZP_ENOMEM, "out of memory");
        cfg->variants = nv;
        c->variants_cap = nc;
    }
    if (2 * (cfg->n_variants + 1) > c->label_cap) { /* load factor at most 1/2 */
        size_t nc = c->label_cap ? 2 * c->label_cap : 64;
        size_t *ns = calloc(nc, sizeof *ns);
        if (!ns)
            return zp_err_set(c->j.err, ZP_ENOMEM, "out of memory");
        free(c->label_slots);
        c->label_slots = ns;
        c->label_cap = nc;
        for (size_t i = 0; i < cfg->n_variants; i++)
            label_insert(c, i);
    }
    cfg->variants[cfg->n_variants] = *v;
    label_insert(c, cfg->n_variants++);
    return ZP_OK;
}

/* Keys read on their own below, never swept (modes is an array by nature). */
static int read_separately(const char *k)
{
    return strcmp(k, "scheme") == 0 || strcmp(k, "label") == 0 ||
           strcmp(k, "activations") == 0 || strcmp(k, "qat") == 0 || strcmp(k, "bias") == 0 || strcmp(k, "requantize") == 0 ||
           strcmp(k, "weight_calibration") == 0 || strcmp(k, "modes") == 0 ||
           strcmp(k, "rounding_options") == 0;
}

static enum zp_status bias_correction(struct zp_cfg_ctx *c, const cJSON *v, const char *path,
                                      int *out)
{
    char w[16];
    if (zp_json_value_str(&c->j, v, path, "none|empirical", w, sizeof w))
        return c->j.err->status;
    *out = strcmp(w, "empirical") == 0;
    return ZP_OK;
}

static enum zp_status weight_calibration(struct zp_cfg_ctx *c, const cJSON *entry,
                                         const char *path, const struct zp_scheme *s,
                                         struct zp_variant *base)
{
    const cJSON *wc = cJSON_GetObjectItemCaseSensitive(entry, "weight_calibration");
    if (!wc)
        return ZP_OK;
    char wpath[96];
    snprintf(wpath, sizeof wpath, "%s", zp_jpath_key(&c->j, path, "weight_calibration"));
    base->weight_calib_percentile = 99.99;
    if (zp_json_expect_object(&c->j, wc, wpath) ||
        zp_json_check_section(&c->j, wc, wpath, ENTRY_SECTION ".weight_calibration") ||
        zp_json_str(&c->j, wc, wpath, "method", "minmax|percentile|mse|kl", base->weight_calib,
                    sizeof base->weight_calib) ||
        zp_json_num(&c->j, wc, wpath, "percentile", 50, 100, &base->weight_calib_percentile))
        return c->j.err->status;
    if (!base->weight_calib[0])
        return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: missing", c->j.file,
                          zp_jpath_key(&c->j, wpath, "method"));
    if (!s->fit_range)
        return zp_err_set(c->j.err, ZP_ECONFIG,
                          "%s: %s: scheme '%s' fits its levels from the data and cannot take "
                          "a calibrated range",
                          c->j.file, wpath, s->name);
    return ZP_OK;
}

static enum zp_status rounding_word(struct zp_cfg_ctx *c, const cJSON *v, const char *path,
                                    int *out)
{
    char w[16];
    if (zp_json_value_str(&c->j, v, path, ZP_ROUNDING_CHOICES, w, sizeof w))
        return c->j.err->status;
    *out = zp_choice_find(ZP_ROUNDING_CHOICES, w);
    return ZP_OK;
}

/* "rounding_options": the GPTQ and AdaRound settings (ptq/rounding.h defaults). */
static enum zp_status rounding_options(struct zp_cfg_ctx *c, const cJSON *entry,
                                       const char *path, struct zp_variant *base)
{
    struct zp_rounding_opts *o = &base->rounding_opts;
    zp_rounding_defaults(o);
    const cJSON *ro = cJSON_GetObjectItemCaseSensitive(entry, "rounding_options");
    if (!ro)
        return ZP_OK;
    char rp[96];
    snprintf(rp, sizeof rp, "%s", zp_jpath_key(&c->j, path, "rounding_options"));
    long long ex = o->examples, bs = o->block_size, it = o->iterations, br = o->batch_rows,
              rows = o->rows, seed = (long long)o->seed;
    if (zp_json_expect_object(&c->j, ro, rp) ||
        zp_json_check_section(&c->j, ro, rp, ENTRY_SECTION ".rounding_options") ||
        zp_json_int(&c->j, ro, rp, "examples", 1, 1000000, &ex) ||
        zp_json_num(&c->j, ro, rp, "dampening", 0, 10, &o->dampening) ||
        zp_json_bool(&c->j, ro, rp, "act_order", &o->act_order) ||
        zp_json_int(&c->j, ro, rp, "block_size", 1, 65536, &bs) ||
        zp_json_int(&c->j, ro, rp, "iterations", 1, 1000000, &it) ||
        zp_json_int(&c->j, ro, rp, "batch_rows", 1, 65536, &br) ||
        zp_json_int(&c->j, ro, rp, "rows", 1, 1 << 24, &rows) ||
        zp_json_num(&c->j, ro, rp, "lambda", 0, 1000, &o->lambda) ||
        zp_json_num(&c->j, ro, rp, "lr", 1e-9, 10, &o->lr) ||
        zp_json_num(&c->j, ro, rp, "warm_start", 0, 1, &o->warm_start) ||
        zp_json_int(&c->j, ro, rp, "seed", 0, 1LL << 53, &seed))
        return c->j.err->status;
    o->examples = (int)ex;
    o->block_size = (int)bs;
    o->iterations = (int)it;
    o->batch_rows = (int)br;
    o->rows = (int)rows;
    o->seed = (uint64_t)seed;
    return ZP_OK;
}

/* QAT settings (mode "qat"): defaults fine-tune 2 epochs at lr 0.002. */
static enum zp_status qat_settings(struct zp_cfg_ctx *c, const cJSON *entry, const char *path,
                                   struct zp_variant *base)
{
    const cJSON *qat = cJSON_GetObjectItemCaseSensitive(entry, "qat");
    long long ep = 2, qbatch = 128, freeze = 200;
    double lr = 0.002, temp = 1.0, alpha = 0.0;
    int acts = 1, hflip = 0;
    char loss[16] = "xent", optimizer[8] = "sgd";
    if (qat) {
        char qp[96];
        snprintf(qp, sizeof qp, "%s", zp_jpath_key(&c->j, path, "qat"));
        if (zp_json_expect_object(&c->j, qat, qp) ||
            zp_json_check_section(&c->j, qat, qp, ENTRY_SECTION ".qat") ||
            zp_json_int(&c->j, qat, qp, "epochs", 1, 1000, &ep) ||
            zp_json_num(&c->j, qat, qp, "lr", 1e-9, 10, &lr) ||
            zp_json_bool(&c->j, qat, qp, "activations", &acts) ||
            zp_json_int(&c->j, qat, qp, "batch", 1, 65536, &qbatch) ||
            zp_json_int(&c->j, qat, qp, "bn_freeze_steps", 0, 1LL << 40, &freeze) ||
            zp_json_str(&c->j, qat, qp, "loss", "xent|distill", loss, sizeof loss) ||
            zp_json_num(&c->j, qat, qp, "temperature", 0.01, 100, &temp) ||
            zp_json_num(&c->j, qat, qp, "alpha", 0, 1, &alpha) ||
            zp_json_bool(&c->j, qat, qp, "hflip", &hflip) ||
            zp_json_str(&c->j, qat, qp, "optimizer", "sgd|adam", optimizer, sizeof optimizer))
            return c->j.err->status;
        /* the distillation settings mean nothing to the labelled loss: refuse them there */
        static const char *const distill_only[] = {"temperature", "alpha"};
        for (int k = 0; k < 2 && strcmp(loss, "distill") != 0; k++)
            if (cJSON_GetObjectItemCaseSensitive(qat, distill_only[k]))
                return zp_err_set(c->j.err, ZP_ECONFIG,
                                  "%s: %s: only with \"loss\": \"distill\"", c->j.file,
                                  zp_jpath_key(&c->j, qp, distill_only[k]));
    }
    base->qat_epochs = (int)ep;
    base->qat_lr = lr;
    base->qat_acts = acts;
    base->qat_batch = (int)qbatch;
    base->qat_bn_freeze = (long)freeze;
    base->qat_distill = strcmp(loss, "distill") == 0;
    base->qat_temperature = temp;
    base->qat_alpha = alpha;
    base->qat_hflip = hflip;
    base->qat_adam = strcmp(optimizer, "adam") == 0;
    return ZP_OK;
}

/* The entry-only boolean keys: the post-training passes (ptq/) equalize and
 * bias_absorption, and quantize_attention / quantize_embedding. 1 when k is one of them (and *v was
 * read), else 0. */
static int entry_flag(struct zp_cfg_ctx *c, struct zp_variant *v, const char *k, const cJSON *val,
                    const char *path, enum zp_status *st)
{
    int *dst = strcmp(k, "equalize") == 0 ? &v->equalize
               : strcmp(k, "bias_absorption") == 0 ? &v->bias_absorption
               : strcmp(k, "quantize_attention") == 0 ? &v->quant_attention
               : strcmp(k, "quantize_embedding") == 0 ? &v->quant_embedding : NULL;
    if (!dst)
        return 0;
    *st = zp_json_value_bool(&c->j, val, path, dst);
    return 1;
}

/* Label, uniqueness, then the variant joins the config. */
static enum zp_status finish_variant(struct zp_cfg_ctx *c, struct zp_variant *v,
                                     const char *path, const char *label, int swept)
{
    const char *name = v->w.scheme->name;
    zp_cfg_option_string(&v->w, v->options, sizeof v->options);
    zp_cfg_option_string(&v->a, v->act_options, sizeof v->act_options);
    char sweep_label[160];
    snprintf(sweep_label, sizeof sweep_label, "%.24s %db %s%s%.100s%s%s%s%s%s%s%s%s%s%s", name, v->w.bits,
             zp_granularity_name(v->w.granularity), v->options[0] ? " " : "", v->options,
             v->equalize ? " cle" : "", v->bias_absorption ? " hba" : "", v->quant_attention ? " attn" : "", v->quant_embedding ? " emb" : "",
             v->bias_correction ? " bc" : "", v->bias_int32 ? " b32" : "",
             v->weight_calib[0] ? " wclip=" : "", v->weight_calib, v->rounding ? " " : "",
             v->rounding ? zp_rounding_name(v->rounding) : "");
    if (v->weight_calib[0] && v->w.granularity == ZP_PER_GROUP)
        return zp_err_set(c->j.err, ZP_ECONFIG,
                          "%s: %s: weight_calibration works per tensor or per channel, not "
                          "per group",
                          c->j.file, path);
    if (label[0] && !swept)
        snprintf(v->label, sizeof v->label, "%.150s", label);
    else if (label[0])
        snprintf(v->label, sizeof v->label, "%.40s: %.110s", label, sweep_label);
    else
        snprintf(v->label, sizeof v->label, "%.150s", sweep_label);
    long dup = label_find(c, v->label);
    if (dup >= 0)
        return zp_err_set(c->j.err, ZP_ECONFIG,
                          "%s: %s: variant '%s' repeats schemes[%d] (give a \"label\")",
                          c->j.file, path, v->label, c->cfg->variants[dup].entry);
    return push_variant(c, v);
}

enum zp_status zp_cfg_scheme_entry(struct zp_cfg_ctx *c, const cJSON *entry, int index)
{
    char path[64];
    snprintf(path, sizeof path, "%s", zp_jpath_index(&c->j, "schemes", index));
    if (zp_json_expect_object(&c->j, entry, path))
        return c->j.err->status;
    const struct zp_scheme *s;
    if (zp_cfg_scheme_name(&c->j, entry, path, &s))
        return c->j.err->status;

    struct zp_variant base;
    memset(&base, 0, sizeof base);
    base.entry = index;
    zp_scheme_config_defaults(&base.w, s);
    char label[ZP_NAME_MAX] = "";
    if (zp_json_str(&c->j, entry, path, "label", NULL, label, sizeof label))
        return c->j.err->status;

    const cJSON *dims[MAX_SWEEP_DIMS];
    int n_dims = 0;
    for (const cJSON *it = entry->child; it; it = it->next) {
        const char *k = it->string;
        if (read_separately(k))
            continue;
        if (cJSON_IsArray(it)) {
            if (cJSON_GetArraySize(it) == 0)
                return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: empty list", c->j.file,
                                  zp_jpath_key(&c->j, path, k));
            if (n_dims == MAX_SWEEP_DIMS)
                return zp_err_set(c->j.err, ZP_ECONFIG, "%s: %s: more than %d swept keys",
                                  c->j.file, path, MAX_SWEEP_DIMS);
            dims[n_dims++] = it;
            continue;
        }
        if (strcmp(k, "bias_correction") == 0) {
            if (bias_correction(c, it, zp_jpath_key(&c->j, path, k), &base.bias_correction))
                return c->j.err->status;
            continue;
        }
        enum zp_status fst = ZP_OK;
        if (entry_flag(c, &base, k, it, zp_jpath_key(&c->j, path, k), &fst)) {
            if (fst)
                return fst;
            continue;
        }
        if (strcmp(k, "rounding") == 0) {
            if (rounding_word(c, it, zp_jpath_key(&c->j, path, k), &base.rounding))
                return c->j.err->status;
            continue;
        }
        if (zp_cfg_scheme_key(&c->j, &base.w, k, it, zp_jpath_key(&c->j, path, k),
                              ENTRY_SECTION))
            return c->j.err->status;
    }

    /* Integer-inference details: int32 biases; clipped weight ranges. */
    char biasw[16] = "float";
    if (zp_json_str(&c->j, entry, path, "bias", "float|int32", biasw, sizeof biasw))
        return c->j.err->status;
    base.bias_int32 = strcmp(biasw, "int32") == 0;
    char rq[16] = "fixed";
    if (zp_json_str(&c->j, entry, path, "requantize", "fixed|float", rq, sizeof rq))
        return c->j.err->status;
    base.int_float_multiplier = strcmp(rq, "float") == 0;
    if (weight_calibration(c, entry, path, s, &base) || rounding_options(c, entry, path, &base))
        return c->j.err->status;

    /* Activation quantizer: asymmetric 8-bit per-tensor (the scheme's defaults)
     * unless the entry says otherwise. It used to inherit the weight scheme, which
     * gave `symmetric` and `no-128` signed int8 codes on ReLU6 outputs (half the
     * codes unused) without the config saying so. */
    zp_scheme_config_defaults(&base.a, zp_scheme_find("asymmetric"));
    base.a.bits = 8;
    base.a.granularity = ZP_PER_TENSOR;
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(entry, "activations");
    if (act) {
        /* "label" and "layers" were accepted (and ignored) here before: still are */
        static const char *const skip[] = {"label", "layers", NULL};
        char ap[96];
        snprintf(ap, sizeof ap, "%s", zp_jpath_key(&c->j, path, "activations"));
        if (zp_cfg_scheme_object(&c->j, act, ap, skip, ENTRY_SECTION, &base.a))
            return c->j.err->status;
        /* A block-scaled scheme's activations are per-group by default: blocks of
         * group_size along the reduction axis, fitted at run time (experiment/
         * act_blocks.c). Any other per-channel / per-group activation is refused. */
        int blocks = base.a.scheme->block_size > 0 && base.a.granularity == ZP_PER_GROUP;
        if (base.a.granularity != ZP_PER_TENSOR && !blocks)
            return zp_err_set(c->j.err, ZP_ECONFIG,
                              "%s: %s: activations are quantized per-tensor only (block-scaled "
                              "schemes also per-group: blocks along the reduction axis)",
                              c->j.file, zp_jpath_key(&c->j, path, "activations.granularity"));
    }
    if (qat_settings(c, entry, path, &base))
        return c->j.err->status;
    const cJSON *modes = cJSON_GetObjectItemCaseSensitive(entry, "modes");
    if (modes && zp_cfg_modes(c, modes, zp_jpath_key(&c->j, path, "modes"), &base.modes))
        return c->j.err->status;

    /* Walk the cartesian product of the swept keys: a cursor per dimension (cJSON
     * arrays are linked lists: indexing them would make the walk quadratic). */
    int idx[MAX_SWEEP_DIMS] = {0}, size[MAX_SWEEP_DIMS];
    const cJSON *cur[MAX_SWEEP_DIMS];
    for (int d = 0; d < n_dims; d++) {
        size[d] = cJSON_GetArraySize(dims[d]);
        cur[d] = dims[d]->child;
    }
    for (;;) {
        struct zp_variant v = base;
        for (int d = 0; d < n_dims; d++) {
            const cJSON *val = cur[d];
            const char *vp =
                zp_jpath_index(&c->j, zp_jpath_key(&c->j, path, dims[d]->string), idx[d]);
            enum zp_status fst = ZP_OK;
            if (strcmp(dims[d]->string, "bias_correction") == 0) {
                if (bias_correction(c, val, vp, &v.bias_correction))
                    return c->j.err->status;
            } else if (entry_flag(c, &v, dims[d]->string, val, vp, &fst)) {
                if (fst)
                    return fst;
            } else if (strcmp(dims[d]->string, "rounding") == 0) {
                if (rounding_word(c, val, vp, &v.rounding))
                    return c->j.err->status;
            } else if (zp_cfg_scheme_key(&c->j, &v.w, dims[d]->string, val, vp, ENTRY_SECTION)) {
                return c->j.err->status;
            }
        }
        if (zp_cfg_scheme_check(&c->j, &v.w, path))
            return c->j.err->status;
        if (finish_variant(c, &v, path, label, n_dims > 0))
            return c->j.err->status;
        int d = n_dims - 1;
        while (d >= 0 && ++idx[d] == size[d]) {
            idx[d] = 0;
            cur[d] = dims[d]->child;
            d--;
        }
        if (d < 0)
            break;
        cur[d] = cur[d]->next;
    }
    return ZP_OK;
}
