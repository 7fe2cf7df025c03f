/* Bench config (configs/bench_*.json) parsing with cJSON. Keys:
 *   name, shapes: [{"preset": "mobilenet_v1_pointwise"} | {"square": [n, ...]} |
 *                  {"model": "file.onnx"} | {"m": M, "n": N, "k": K}],
 *   depthwise: [{"preset": "mobilenet_v1_depthwise"} | {"h","w","c","stride"}],
 *   schemes: ["float", "asymmetric", ...], isa: ["best", "avx512bw", ...],
 *   anchors: ["openblas", "onednn"], threads: [1, ...], repetitions, min_time, seed.
 * Unknown keys and out-of-range values are errors naming the JSON path. */
#include "config/bench_config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    /* issue 14's formats, under their kernel-format names until their schemes land */
    {"mxint8", ZP_KF_MXINT8}, {"mxfp4", ZP_KF_MXFP4}, {"nvfp4", ZP_KF_NVFP4}, {"nf4", ZP_KF_NF4},
    {"fp8-e4m3", ZP_KF_FP8},
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

static enum zp_status get_int(const char *path, const char *where, const cJSON *o, const char *key, int lo,
                              int hi, int *out, struct zp_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return zp_err_set(err, ZP_ECONFIG, "%s: %s: missing \"%s\"", path, where, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble || v->valuedouble < lo ||
        v->valuedouble > hi)
        return zp_err_set(err, ZP_ECONFIG, "%s: %s.%s: expected an integer in [%d, %d]", path, where, key, lo, hi);
    *out = (int)v->valuedouble;
    return ZP_OK;
}

static enum zp_status check_keys(const char *path, const char *where, const cJSON *o, const char *const *keys,
                                 struct zp_err *err)
{
    for (const cJSON *c = o->child; c; c = c->next) {
        int ok = 0;
        for (const char *const *k = keys; *k; k++)
            ok |= strcmp(c->string, *k) == 0;
        if (!ok)
            return zp_err_set(err, ZP_ECONFIG, "%s: %s: unknown key \"%s\"", path, where, c->string);
    }
    return ZP_OK;
}

/* The "model" shape source: every Conv / Gemm / MatMul layer of an ONNX model. */
static enum zp_status shapes_from_model(const char *path, const char *where, const char *model,
                                        struct zp_bench_config *c, struct zp_err *err)
{
    struct zp_graph *g = NULL;
    if (zp_onnx_load(model, &g, err) != ZP_OK) {
        zp_err_prefix(err, "%s: %s", path, where);
        return err ? err->status : ZP_EIO;
    }
    int n = zp_graph_num_layers(g), bad = 0;
    for (int i = 0; i < n && !bad; i++) {
        const struct zp_layer_info *L = zp_graph_layer(g, i);
        char origin[96];
        snprintf(origin, sizeof origin, "%s", L->name ? L->name : "layer");
        if (L->depthwise && L->kernel[0] == 3 && L->kernel[1] == 3 && L->in_ndim == 3 &&
            (L->strides[0] == 1 || L->strides[0] == 2)) {
            bad = add_dw(c, (int)L->in_shape[1], (int)L->in_shape[2], (int)L->in_shape[0], (int)L->strides[0],
                         origin);
        } else if (strcmp(L->op, "Conv") == 0 && L->group == 1 && L->out_ndim == 3 && L->wndim == 4) {
            bad = add_shape(c, (int)(L->out_shape[1] * L->out_shape[2]), (int)L->n_out,
                            (int)(L->wshape[1] * L->wshape[2] * L->wshape[3]), origin);
        } else if (strcmp(L->op, "Conv") != 0 && L->wndim == 2) {
            bad = add_shape(c, 1, (int)L->n_out, (int)L->wshape[1], origin);
        }
    }
    zp_graph_free(g);
    if (bad)
        return zp_err_set(err, ZP_ENOMEM, "%s: %s: out of memory", path, where);
    if (c->n_shapes == 0 && c->n_dw == 0)
        return zp_err_set(err, ZP_ECONFIG, "%s: %s: model '%s' has no Conv/Gemm/MatMul layer", path, where, model);
    return ZP_OK;
}

static enum zp_status parse_shapes(const char *path, const cJSON *arr, struct zp_bench_config *c,
                                   struct zp_err *err)
{
    if (!cJSON_IsArray(arr))
        return zp_err_set(err, ZP_ECONFIG, "%s: shapes: expected an array", path);
    int i = 0;
    for (const cJSON *s = arr->child; s; s = s->next, i++) {
        char where[64];
        snprintf(where, sizeof where, "shapes[%d]", i);
        if (!cJSON_IsObject(s))
            return zp_err_set(err, ZP_ECONFIG, "%s: %s: expected an object", path, where);
        const cJSON *preset = cJSON_GetObjectItemCaseSensitive(s, "preset");
        const cJSON *square = cJSON_GetObjectItemCaseSensitive(s, "square");
        const cJSON *model = cJSON_GetObjectItemCaseSensitive(s, "model");
        if (preset) {
            static const char *const keys[] = {"preset", NULL};
            if (check_keys(path, where, s, keys, err))
                return ZP_ECONFIG;
            if (!cJSON_IsString(preset) || strcmp(preset->valuestring, "mobilenet_v1_pointwise") != 0)
                return zp_err_set(err, ZP_ECONFIG, "%s: %s.preset: expected \"mobilenet_v1_pointwise\", got %s",
                                  path, where, cJSON_IsString(preset) ? preset->valuestring : "a non-string");
            for (size_t j = 0; j < sizeof mobilenet_pw / sizeof *mobilenet_pw; j++)
                if (add_shape(c, mobilenet_pw[j].m, mobilenet_pw[j].n, mobilenet_pw[j].k, mobilenet_pw[j].origin))
                    return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
        } else if (square) {
            static const char *const keys[] = {"square", NULL};
            if (check_keys(path, where, s, keys, err))
                return ZP_ECONFIG;
            if (!cJSON_IsArray(square) || !square->child)
                return zp_err_set(err, ZP_ECONFIG, "%s: %s.square: expected a non-empty array of sizes", path, where);
            int j = 0;
            for (const cJSON *v = square->child; v; v = v->next, j++) {
                if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 8192 ||
                    v->valuedouble != (double)(int)v->valuedouble)
                    return zp_err_set(err, ZP_ECONFIG, "%s: %s.square[%d]: expected an integer in [1, 8192]", path,
                                      where, j);
                int n = (int)v->valuedouble;
                if (add_shape(c, n, n, n, "square"))
                    return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
            }
        } else if (model) {
            static const char *const keys[] = {"model", NULL};
            if (check_keys(path, where, s, keys, err))
                return ZP_ECONFIG;
            if (!cJSON_IsString(model))
                return zp_err_set(err, ZP_ECONFIG, "%s: %s.model: expected a file path", path, where);
            enum zp_status st = shapes_from_model(path, where, model->valuestring, c, err);
            if (st)
                return st;
        } else {
            static const char *const keys[] = {"m", "n", "k", NULL};
            if (check_keys(path, where, s, keys, err))
                return ZP_ECONFIG;
            int m, n, k;
            if (get_int(path, where, s, "m", 1, 1 << 16, &m, err) || get_int(path, where, s, "n", 1, 1 << 16, &n, err) ||
                get_int(path, where, s, "k", 1, 1 << 16, &k, err))
                return ZP_ECONFIG;
            if (add_shape(c, m, n, k, "custom"))
                return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
        }
    }
    return ZP_OK;
}

static enum zp_status parse_dw(const char *path, const cJSON *arr, struct zp_bench_config *c, struct zp_err *err)
{
    if (!cJSON_IsArray(arr))
        return zp_err_set(err, ZP_ECONFIG, "%s: depthwise: expected an array", path);
    int i = 0;
    for (const cJSON *s = arr->child; s; s = s->next, i++) {
        char where[64];
        snprintf(where, sizeof where, "depthwise[%d]", i);
        if (!cJSON_IsObject(s))
            return zp_err_set(err, ZP_ECONFIG, "%s: %s: expected an object", path, where);
        const cJSON *preset = cJSON_GetObjectItemCaseSensitive(s, "preset");
        if (preset) {
            if (!cJSON_IsString(preset) || strcmp(preset->valuestring, "mobilenet_v1_depthwise") != 0)
                return zp_err_set(err, ZP_ECONFIG, "%s: %s.preset: expected \"mobilenet_v1_depthwise\"", path, where);
            for (size_t j = 0; j < sizeof mobilenet_dw / sizeof *mobilenet_dw; j++)
                if (add_dw(c, mobilenet_dw[j].h, mobilenet_dw[j].w, mobilenet_dw[j].c, mobilenet_dw[j].stride,
                           mobilenet_dw[j].origin))
                    return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
            continue;
        }
        static const char *const keys[] = {"h", "w", "c", "stride", NULL};
        if (check_keys(path, where, s, keys, err))
            return ZP_ECONFIG;
        int h, w, ch, st;
        if (get_int(path, where, s, "h", 1, 4096, &h, err) || get_int(path, where, s, "w", 1, 4096, &w, err) ||
            get_int(path, where, s, "c", 1, 65536, &ch, err) || get_int(path, where, s, "stride", 1, 2, &st, err))
            return ZP_ECONFIG;
        if (add_dw(c, h, w, ch, st, "custom"))
            return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
    }
    return ZP_OK;
}

static enum zp_status parse(const char *path, const cJSON *root, struct zp_bench_config *c, struct zp_err *err)
{
    static const char *const keys[] = {"name", "description", "shapes", "depthwise", "schemes", "isa", "anchors",
                                       "threads", "repetitions", "min_time", "seed", NULL};
    if (!cJSON_IsObject(root))
        return zp_err_set(err, ZP_ECONFIG, "%s: expected a JSON object at the top level", path);
    if (check_keys(path, "$", root, keys, err))
        return ZP_ECONFIG;
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "name"))) {
        if (!cJSON_IsString(v) || !*v->valuestring || strchr(v->valuestring, '/'))
            return zp_err_set(err, ZP_ECONFIG, "%s: name: expected a non-empty string without '/'", path);
        snprintf(c->name, sizeof c->name, "%s", v->valuestring);
    }
    enum zp_status st;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "shapes")) && (st = parse_shapes(path, v, c, err)))
        return st;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "depthwise")) && (st = parse_dw(path, v, c, err)))
        return st;
    if (c->n_shapes == 0 && c->n_dw == 0)
        return zp_err_set(err, ZP_ECONFIG, "%s: shapes: expected at least one shape", path);

    v = cJSON_GetObjectItemCaseSensitive(root, "schemes");
    if (v) {
        if (!cJSON_IsArray(v) || !v->child)
            return zp_err_set(err, ZP_ECONFIG, "%s: schemes: expected a non-empty array of scheme names", path);
        int i = 0;
        for (const cJSON *s = v->child; s; s = s->next, i++) {
            int f = cJSON_IsString(s) ? zp_bench_scheme_parse(s->valuestring) : -1;
            if (f < 0) {
                char names[256] = "";
                for (size_t b = 0; b < sizeof bench_schemes / sizeof bench_schemes[0]; b++)
                    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", b ? ", " : "",
                             bench_schemes[b].scheme);
                return zp_err_set(err, ZP_ECONFIG, "%s: schemes[%d]: unknown scheme %s%s%s (expected %s)", path, i,
                                  cJSON_IsString(s) ? "'" : "", cJSON_IsString(s) ? s->valuestring : "(not a string)",
                                  cJSON_IsString(s) ? "'" : "", names);
            }
            int dup = 0;
            for (int j = 0; j < c->n_schemes; j++)
                dup |= c->schemes[j] == f;
            if (!dup)
                c->schemes[c->n_schemes++] = f;
        }
    } else {
        for (size_t b = 0; b < sizeof bench_schemes / sizeof bench_schemes[0]; b++)
            c->schemes[c->n_schemes++] = (int)bench_schemes[b].fmt;
    }

    c->n_isas = 0;
    v = cJSON_GetObjectItemCaseSensitive(root, "isa");
    if (v) {
        if (!cJSON_IsArray(v) || !v->child)
            return zp_err_set(err, ZP_ECONFIG, "%s: isa: expected a non-empty array (\"best\", \"avx512bw\", ...)", path);
        int i = 0;
        for (const cJSON *s = v->child; s; s = s->next, i++) {
            int isa = !cJSON_IsString(s) ? -2 : strcmp(s->valuestring, "best") == 0 ? -1 : zp_isa_parse(s->valuestring);
            if (isa == -2 || (isa == -1 && strcmp(s->valuestring, "best") != 0))
                return zp_err_set(err, ZP_ECONFIG,
                                  "%s: isa[%d]: expected best, ref, avx2, avx512bw, avx512vnni, avx512vpopcnt, avx512bf16 or amx",
                                  path, i);
            if (c->n_isas == ZP_BENCH_MAX_ISAS)
                return zp_err_set(err, ZP_ECONFIG, "%s: isa: at most %d entries", path, ZP_BENCH_MAX_ISAS);
            c->isas[c->n_isas++] = isa;
        }
    } else {
        c->isas[c->n_isas++] = -1;
    }

    c->anchors = ZP_ANCHOR_OPENBLAS | ZP_ANCHOR_ONEDNN;
    v = cJSON_GetObjectItemCaseSensitive(root, "anchors");
    if (v) {
        if (!cJSON_IsArray(v))
            return zp_err_set(err, ZP_ECONFIG, "%s: anchors: expected an array of \"openblas\", \"onednn\"", path);
        c->anchors = 0;
        int i = 0;
        for (const cJSON *s = v->child; s; s = s->next, i++) {
            if (cJSON_IsString(s) && strcmp(s->valuestring, "openblas") == 0)
                c->anchors |= ZP_ANCHOR_OPENBLAS;
            else if (cJSON_IsString(s) && strcmp(s->valuestring, "onednn") == 0)
                c->anchors |= ZP_ANCHOR_ONEDNN;
            else
                return zp_err_set(err, ZP_ECONFIG, "%s: anchors[%d]: expected \"openblas\" or \"onednn\"", path, i);
        }
    }

    c->n_threads = 0;
    v = cJSON_GetObjectItemCaseSensitive(root, "threads");
    if (v) {
        if (!cJSON_IsArray(v) || !v->child)
            return zp_err_set(err, ZP_ECONFIG, "%s: threads: expected a non-empty array of thread counts", path);
        int i = 0;
        for (const cJSON *s = v->child; s; s = s->next, i++) {
            if (!cJSON_IsNumber(s) || s->valuedouble < 1 || s->valuedouble > 1024 ||
                s->valuedouble != (double)(int)s->valuedouble)
                return zp_err_set(err, ZP_ECONFIG, "%s: threads[%d]: expected an integer in [1, 1024]", path, i);
            if (c->n_threads == ZP_BENCH_MAX_THREADS)
                return zp_err_set(err, ZP_ECONFIG, "%s: threads: at most %d entries", path, ZP_BENCH_MAX_THREADS);
            c->threads[c->n_threads++] = (int)s->valuedouble;
        }
    } else {
        c->threads[c->n_threads++] = 1;
    }
    c->repetitions = 5;
    if (cJSON_GetObjectItemCaseSensitive(root, "repetitions") &&
        get_int(path, "$", root, "repetitions", 1, 1000, &c->repetitions, err))
        return ZP_ECONFIG;
    c->min_time = 0.1;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "min_time"))) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || v->valuedouble > 60)
            return zp_err_set(err, ZP_ECONFIG, "%s: min_time: expected seconds in (0, 60]", path);
        c->min_time = v->valuedouble;
    }
    int seed = 1;
    if (cJSON_GetObjectItemCaseSensitive(root, "seed") && get_int(path, "$", root, "seed", 0, 1 << 30, &seed, err))
        return ZP_ECONFIG;
    c->seed = (unsigned)seed;
    return ZP_OK;
}

enum zp_status zp_bench_config_load(const char *path, struct zp_bench_config *cfg, struct zp_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    FILE *f = fopen(path, "rb");
    if (!f)
        return zp_err_set(err, ZP_EIO, "%s: cannot open the bench config", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (len < 0 || len > (1 << 24)) {
        fclose(f);
        return zp_err_set(err, ZP_ECONFIG, "%s: expected a JSON file under 16 MiB", path);
    }
    char *text = malloc((size_t)len + 1);
    if (!text) {
        fclose(f);
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
    }
    size_t got = fread(text, 1, (size_t)len, f);
    fclose(f);
    text[got] = '\0';
    cJSON *root = cJSON_Parse(text);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= text ? (long)(at - text) : -1;
        free(text);
        return zp_err_set(err, ZP_ECONFIG, "%s: invalid JSON near byte %ld", path, off);
    }
    /* default name: the file's base name without .json */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(cfg->name, sizeof cfg->name, "%.*s", (int)strcspn(base, "."), base);
    enum zp_status st = parse(path, root, cfg, err);
    cJSON_Delete(root);
    free(text);
    if (st)
        zp_bench_config_free(cfg);
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
