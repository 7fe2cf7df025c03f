/* Bench config (configs/bench_*.json) parsing with cJSON. Keys:
 *   name, shapes: [{"preset": "mobilenet_v1_pointwise"} | {"square": [n, ...]} |
 *                  {"model": "file.onnx"} | {"m": M, "n": N, "k": K}],
 *   depthwise: [{"preset": "mobilenet_v1_depthwise"} | {"h","w","c","stride"}],
 *   schemes: ["float", "asymmetric", ...], isa: ["best", "avx512bw", ...],
 *   anchors: ["openblas", "onednn"], threads: [1, ...], repetitions, min_time, seed.
 * Read through the shared validator (config/json_check.h): unknown keys,
 * duplicate keys and out-of-range values are errors naming the file and JSON path. */
#include "config/bench_config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/path.h"
#include "config/json_check.h"
#include "model/graph.h"

/* The bench's scheme names (config `schemes`, kernels.csv `scheme`) and the
 * storage format whose kernels each one runs: the scheme -> kernel-format
 * mapping. The schemes name the same formats in their kernel_family (f32 aside:
 * "float" is the unquantized baseline); kernels/formats.c holds the formats. */
static const struct {
    const char *scheme;
    enum zp_kfmt fmt;
} bench_schemes[] = {
    {"float", ZP_KF_F32},  {"asymmetric", ZP_KF_U8}, {"symmetric", ZP_KF_S8}, {"no-128", ZP_KF_S8N},
    {"linear4", ZP_KF_Q4}, {"lut4", ZP_KF_LUT4},     {"binary", ZP_KF_BIN},
    /* issue 14's formats. nvfp4 and nf4 are their schemes' names; the mx scheme
     * computes on mxint8 (element int8) or mxfp4 (element fp4_e2m1), the other MX
     * elements have no kernel; minifloat's kernel is FP8 E4M3 (its default
     * format). The first name of a format names its kernels.csv rows. */
    {"mxint8", ZP_KF_MXINT8}, {"mxfp4", ZP_KF_MXFP4}, {"nvfp4", ZP_KF_NVFP4}, {"nf4", ZP_KF_NF4},
    {"fp8-e4m3", ZP_KF_FP8}, {"minifloat", ZP_KF_FP8}, {"mx-int8", ZP_KF_MXINT8},
    {"mx-fp4_e2m1", ZP_KF_MXFP4}, {"minifloat-e4m3", ZP_KF_FP8},
};

int zp_bench_scheme_parse(const char *name)
{
    for (size_t i = 0; i < sizeof bench_schemes / sizeof bench_schemes[0]; i++)
        if (strcmp(name, bench_schemes[i].scheme) == 0)
            return (int)bench_schemes[i].fmt;
    return -1;
}

const char *zp_bench_scheme_name(enum zp_kfmt f)
{
    for (size_t i = 0; i < sizeof bench_schemes / sizeof bench_schemes[0]; i++)
        if (bench_schemes[i].fmt == f)
            return bench_schemes[i].scheme;
    return zp_kfmt_name(f);
}

static const struct zp_bench_shape mobilenet_pw[] = {
    {3136, 128, 128, "mobilenet_v1_pointwise"},
    {784, 256, 256, "mobilenet_v1_pointwise"},
    {196, 512, 512, "mobilenet_v1_pointwise"},
    {1, 1000, 1024, "mobilenet_v1_pointwise"},
};

/* MobileNet v1 (224x224) depthwise layers with distinct shapes: input h, w, c, stride. */
static const struct zp_bench_dw mobilenet_dw[] = {
    {112, 112, 32, 1, "mobilenet_v1_depthwise"}, {112, 112, 64, 2, "mobilenet_v1_depthwise"},
    {56, 56, 128, 1, "mobilenet_v1_depthwise"},  {28, 28, 256, 1, "mobilenet_v1_depthwise"},
    {14, 14, 512, 1, "mobilenet_v1_depthwise"},  {7, 7, 1024, 1, "mobilenet_v1_depthwise"},
};

static int add_shape(struct zp_bench_config *c, int m, int n, int k, const char *origin)
{
    for (int i = 0; i < c->n_shapes; i++)
        if (c->shapes[i].m == m && c->shapes[i].n == n && c->shapes[i].k == k)
            return 0; /* same GEMM already measured */
    struct zp_bench_shape *s = realloc(c->shapes, (size_t)(c->n_shapes + 1) * sizeof *s);
    if (!s)
        return -1;
    c->shapes = s;
    s[c->n_shapes] = (struct zp_bench_shape){.m = m, .n = n, .k = k};
    snprintf(s[c->n_shapes].origin, sizeof s->origin, "%s", origin);
    c->n_shapes++;
    return 0;
}

static int add_dw(struct zp_bench_config *c, int h, int w, int ch, int stride, const char *origin)
{
    for (int i = 0; i < c->n_dw; i++)
        if (c->dw[i].h == h && c->dw[i].w == w && c->dw[i].c == ch && c->dw[i].stride == stride)
            return 0;
    struct zp_bench_dw *d = realloc(c->dw, (size_t)(c->n_dw + 1) * sizeof *d);
    if (!d)
        return -1;
    c->dw = d;
    d[c->n_dw] = (struct zp_bench_dw){.h = h, .w = w, .c = ch, .stride = stride};
    snprintf(d[c->n_dw].origin, sizeof d->origin, "%s", origin);
    c->n_dw++;
    return 0;
}

static enum zp_status oom(struct zp_jctx *c)
{
    return zp_err_set(c->err, ZP_ENOMEM, "%s: out of memory", c->file);
}

/* A required integer member. */
static enum zp_status need_int(struct zp_jctx *c, const cJSON *o, const char *where,
                               const char *key, int lo, int hi, int *out)
{
    if (!cJSON_GetObjectItemCaseSensitive(o, key))
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: missing (an integer %d..%d)", c->file,
                          zp_jpath_key(c, where, key), lo, hi);
    long long v = 0;
    ZP_TRY(zp_json_int(c, o, where, key, lo, hi, &v));
    *out = (int)v;
    return ZP_OK;
}

/* The "model" shape source: every Conv / Gemm / MatMul layer of an ONNX model. */
static enum zp_status shapes_from_model(struct zp_jctx *c, const char *where, const char *model,
                                        struct zp_bench_config *cfg)
{
    struct zp_graph *g = NULL;
    if (zp_onnx_load(model, &g, c->err) != ZP_OK) {
        zp_err_prefix(c->err, "%s: %s", c->file, where);
        return c->err ? c->err->status : ZP_EIO;
    }
    int n = zp_graph_num_layers(g), bad = 0;
    for (int i = 0; i < n && !bad; i++) {
        const struct zp_layer_info *L = zp_graph_layer(g, i);
        char origin[96];
        snprintf(origin, sizeof origin, "%s", L->name ? L->name : "layer");
        if (L->depthwise && L->kernel[0] == 3 && L->kernel[1] == 3 && L->in_ndim == 3 &&
            (L->strides[0] == 1 || L->strides[0] == 2)) {
            bad = add_dw(cfg, (int)L->in_shape[1], (int)L->in_shape[2], (int)L->in_shape[0],
                         (int)L->strides[0], origin);
        } else if (strcmp(L->op, "Conv") == 0 && L->group == 1 && L->out_ndim == 3 &&
                   L->wndim == 4) {
            bad = add_shape(cfg, (int)(L->out_shape[1] * L->out_shape[2]), (int)L->n_out,
                            (int)(L->wshape[1] * L->wshape[2] * L->wshape[3]), origin);
        } else if (strcmp(L->op, "Conv") != 0 && L->wndim == 2) {
            bad = add_shape(cfg, 1, (int)L->n_out, (int)L->wshape[1], origin);
        }
    }
    zp_graph_free(g);
    if (bad)
        return oom(c);
    if (cfg->n_shapes == 0 && cfg->n_dw == 0)
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: model '%s' has no Conv/Gemm/MatMul layer",
                          c->file, where, model);
    return ZP_OK;
}

/* One shapes[] entry: exactly one of preset, square, model, or m + n + k. */
static enum zp_status parse_shape(struct zp_jctx *c, const cJSON *s, const char *where,
                                  struct zp_bench_config *cfg)
{
    ZP_TRY(zp_json_expect_object(c, s, where));
    ZP_TRY(zp_json_check_section(c, s, where, "bench.shapes[]"));
    const cJSON *preset = cJSON_GetObjectItemCaseSensitive(s, "preset");
    const cJSON *square = cJSON_GetObjectItemCaseSensitive(s, "square");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(s, "model");
    int kinds = !!preset + !!square + !!model +
                !!(cJSON_GetObjectItemCaseSensitive(s, "m") ||
                   cJSON_GetObjectItemCaseSensitive(s, "n") ||
                   cJSON_GetObjectItemCaseSensitive(s, "k"));
    if (kinds > 1)
        return zp_err_set(c->err, ZP_ECONFIG,
                          "%s: %s: give one of preset, square, model, or m + n + k", c->file,
                          where);
    if (preset) {
        char name[64];
        ZP_TRY(zp_json_str(c, s, where, "preset", "mobilenet_v1_pointwise", name, sizeof name));
        for (size_t j = 0; j < sizeof mobilenet_pw / sizeof *mobilenet_pw; j++)
            if (add_shape(cfg, mobilenet_pw[j].m, mobilenet_pw[j].n, mobilenet_pw[j].k,
                          mobilenet_pw[j].origin))
                return oom(c);
        return ZP_OK;
    }
    if (square) {
        char sp[ZP_JPATH_LEN];
        snprintf(sp, sizeof sp, "%s", zp_jpath_key(c, where, "square"));
        if (!cJSON_IsArray(square) || !square->child)
            return zp_err_set(c->err, ZP_ECONFIG,
                              "%s: %s: expected a non-empty array of sizes, got %s", c->file, sp,
                              zp_json_describe(c, square));
        int j = 0;
        for (const cJSON *v = square->child; v; v = v->next, j++) {
            long long n;
            ZP_TRY(zp_json_value_int(c, v, zp_jpath_index(c, sp, j), 1, 8192, &n));
            if (add_shape(cfg, (int)n, (int)n, (int)n, "square"))
                return oom(c);
        }
        return ZP_OK;
    }
    if (model) {
        char file[1024];
        ZP_TRY(zp_json_str(c, s, where, "model", NULL, file, sizeof file));
        return shapes_from_model(c, where, file, cfg);
    }
    int m, n, k;
    ZP_TRY(need_int(c, s, where, "m", 1, 1 << 16, &m));
    ZP_TRY(need_int(c, s, where, "n", 1, 1 << 16, &n));
    ZP_TRY(need_int(c, s, where, "k", 1, 1 << 16, &k));
    return add_shape(cfg, m, n, k, "custom") ? oom(c) : ZP_OK;
}

static enum zp_status parse_dw(struct zp_jctx *c, const cJSON *s, const char *where,
                               struct zp_bench_config *cfg)
{
    ZP_TRY(zp_json_expect_object(c, s, where));
    ZP_TRY(zp_json_check_section(c, s, where, "bench.depthwise[]"));
    if (cJSON_GetObjectItemCaseSensitive(s, "preset")) {
        static const char *const only[] = {"preset", NULL};
        char name[64];
        ZP_TRY(zp_json_check_keys(c, s, where, only));
        ZP_TRY(zp_json_str(c, s, where, "preset", "mobilenet_v1_depthwise", name, sizeof name));
        for (size_t j = 0; j < sizeof mobilenet_dw / sizeof *mobilenet_dw; j++)
            if (add_dw(cfg, mobilenet_dw[j].h, mobilenet_dw[j].w, mobilenet_dw[j].c,
                       mobilenet_dw[j].stride, mobilenet_dw[j].origin))
                return oom(c);
        return ZP_OK;
    }
    int h, w, ch, st;
    ZP_TRY(need_int(c, s, where, "h", 1, 4096, &h));
    ZP_TRY(need_int(c, s, where, "w", 1, 4096, &w));
    ZP_TRY(need_int(c, s, where, "c", 1, 65536, &ch));
    ZP_TRY(need_int(c, s, where, "stride", 1, 2, &st));
    return add_dw(cfg, h, w, ch, st, "custom") ? oom(c) : ZP_OK;
}

/* An array member whose elements go through fn; absent leaves the defaults. */
static enum zp_status each(struct zp_jctx *c, const cJSON *root, const char *key, int max,
                           enum zp_status (*fn)(struct zp_jctx *, const cJSON *, const char *,
                                                struct zp_bench_config *),
                           struct zp_bench_config *cfg)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!arr)
        return ZP_OK;
    if (!cJSON_IsArray(arr) || (max > 0 && !arr->child))
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected a%s array, got %s", c->file, key,
                          max > 0 ? " non-empty" : "n", zp_json_describe(c, arr));
    int i = 0;
    for (const cJSON *s = arr->child; s; s = s->next, i++) {
        char where[64];
        snprintf(where, sizeof where, "%s[%d]", key, i);
        ZP_TRY(fn(c, s, where, cfg));
    }
    return ZP_OK;
}

/* Choice lists: the bench's scheme names above, and the kernels' own ISA names. */
static void kfmt_choices(char *out, size_t n)
{
    size_t j = 0;
    out[0] = '\0';
    for (size_t b = 0; b < sizeof bench_schemes / sizeof bench_schemes[0] && j + 1 < n; b++) {
        int w = snprintf(out + j, n - j, "%s%s", b ? "|" : "", bench_schemes[b].scheme);
        j = w < 0 ? j : j + (size_t)w;
    }
}

static void isa_choices(char *out, size_t n)
{
    size_t j = (size_t)snprintf(out, n, "best");
    for (int i = 0; i < ZP_ISA_COUNT && j + 1 < n; i++) {
        int w = snprintf(out + j, n - j, "|%s", zp_isa_name((enum zp_isa)i));
        j = w < 0 ? j : j + (size_t)w;
    }
}

static enum zp_status one_scheme(struct zp_jctx *c, const cJSON *s, const char *where,
                                 struct zp_bench_config *cfg)
{
    char name[32], choices[256];
    kfmt_choices(choices, sizeof choices);
    ZP_TRY(zp_json_value_str(c, s, where, choices, name, sizeof name));
    int f = zp_bench_scheme_parse(name);
    if (f < 0)
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: no kernel for '%s'", c->file, where,
                          name);
    for (int j = 0; j < cfg->n_schemes; j++)
        if (cfg->schemes[j] == f)
            return ZP_OK;
    cfg->schemes[cfg->n_schemes++] = f;
    return ZP_OK;
}

static enum zp_status one_isa(struct zp_jctx *c, const cJSON *s, const char *where,
                              struct zp_bench_config *cfg)
{
    char name[32], choices[256];
    isa_choices(choices, sizeof choices);
    ZP_TRY(zp_json_value_str(c, s, where, choices, name, sizeof name));
    int isa = strcmp(name, "best") == 0 ? -1 : zp_isa_parse(name);
    if (isa < -1 || (isa == -1 && strcmp(name, "best") != 0))
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: unknown ISA '%s'", c->file, where, name);
    if (cfg->n_isas == ZP_BENCH_MAX_ISAS)
        return zp_err_set(c->err, ZP_ECONFIG, "%s: isa: at most %d entries", c->file,
                          ZP_BENCH_MAX_ISAS);
    cfg->isas[cfg->n_isas++] = isa;
    return ZP_OK;
}

static enum zp_status one_anchor(struct zp_jctx *c, const cJSON *s, const char *where,
                                 struct zp_bench_config *cfg)
{
    char name[16];
    ZP_TRY(zp_json_value_str(c, s, where, "openblas|onednn", name, sizeof name));
    cfg->anchors |= strcmp(name, "openblas") == 0 ? ZP_ANCHOR_OPENBLAS : ZP_ANCHOR_ONEDNN;
    return ZP_OK;
}

static enum zp_status one_threads(struct zp_jctx *c, const cJSON *s, const char *where,
                                  struct zp_bench_config *cfg)
{
    long long t;
    ZP_TRY(zp_json_value_int(c, s, where, 1, 1024, &t));
    if (cfg->n_threads == ZP_BENCH_MAX_THREADS)
        return zp_err_set(c->err, ZP_ECONFIG, "%s: threads: at most %d entries", c->file,
                          ZP_BENCH_MAX_THREADS);
    cfg->threads[cfg->n_threads++] = (int)t;
    return ZP_OK;
}

static enum zp_status parse(struct zp_jctx *c, const cJSON *root, struct zp_bench_config *cfg)
{
    ZP_TRY(zp_json_check_section(c, root, "", "bench"));
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "name"))) {
        if (!cJSON_IsString(v) || !*v->valuestring || strchr(v->valuestring, '/'))
            return zp_err_set(c->err, ZP_ECONFIG,
                              "%s: name: expected a non-empty string without '/', got %s",
                              c->file, zp_json_describe(c, v));
        ZP_TRY(zp_json_value_str(c, v, "name", NULL, cfg->name, sizeof cfg->name));
    }
    ZP_TRY(each(c, root, "shapes", 0, parse_shape, cfg));
    ZP_TRY(each(c, root, "depthwise", 0, parse_dw, cfg));
    if (cfg->n_shapes == 0 && cfg->n_dw == 0)
        return zp_err_set(c->err, ZP_ECONFIG, "%s: shapes: expected at least one shape", c->file);

    ZP_TRY(each(c, root, "schemes", 1, one_scheme, cfg));
    if (cfg->n_schemes == 0)
        for (size_t b = 0; b < sizeof bench_schemes / sizeof bench_schemes[0]; b++) {
            int f = (int)bench_schemes[b].fmt, seen = 0; /* aliases: each format once */
            for (int j = 0; j < cfg->n_schemes; j++)
                seen |= cfg->schemes[j] == f;
            if (!seen)
                cfg->schemes[cfg->n_schemes++] = f;
        }
    ZP_TRY(each(c, root, "isa", 1, one_isa, cfg));
    if (cfg->n_isas == 0)
        cfg->isas[cfg->n_isas++] = -1;
    if (cJSON_GetObjectItemCaseSensitive(root, "anchors")) {
        cfg->anchors = 0;
        ZP_TRY(each(c, root, "anchors", 0, one_anchor, cfg));
    } else {
        cfg->anchors = ZP_ANCHOR_OPENBLAS | ZP_ANCHOR_ONEDNN;
    }
    ZP_TRY(each(c, root, "threads", 1, one_threads, cfg));
    if (cfg->n_threads == 0)
        cfg->threads[cfg->n_threads++] = 1;
    long long reps = 5, seed = 1;
    ZP_TRY(zp_json_int(c, root, "", "repetitions", 1, 1000, &reps));
    cfg->repetitions = (int)reps;
    cfg->min_time = 0.1;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "min_time"))) {
        ZP_TRY(zp_json_value_num(c, v, "min_time", 1e-9, 60, &cfg->min_time));
    }
    ZP_TRY(zp_json_int(c, root, "", "seed", 0, 1 << 30, &seed));
    cfg->seed = (unsigned)seed;
    return ZP_OK;
}

enum zp_status zp_bench_config_parse(const char *text, const char *path,
                                     struct zp_bench_config *cfg, struct zp_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    struct zp_jctx *c = calloc(1, sizeof *c);
    if (!c)
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
    zp_jctx_init(c, path, err);
    cJSON *root = zp_json_parse(c, text);
    enum zp_status st = root ? ZP_OK : err->status;
    if (root) {
        /* default name: the file's base name without .json */
        zp_path_stem(path, cfg->name, sizeof cfg->name);
        st = parse(c, root, cfg);
    }
    cJSON_Delete(root);
    free(c);
    if (st)
        zp_bench_config_free(cfg);
    return st;
}

enum zp_status zp_bench_config_load(const char *path, struct zp_bench_config *cfg,
                                    struct zp_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    char *text = zp_json_read_file(path, err);
    if (!text)
        return err ? err->status : ZP_EIO;
    enum zp_status st = zp_bench_config_parse(text, path, cfg, err);
    free(text);
    return st;
}

void zp_bench_config_free(struct zp_bench_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->shapes);
    free(cfg->dw);
    cfg->shapes = NULL;
    cfg->dw = NULL;
    cfg->n_shapes = cfg->n_dw = 0;
}
