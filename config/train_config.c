/* Train configs (harness train CONFIG). Every key is checked through the shared
 * validator (config/json_check.h, keys in config/keys.c); a wrong key, type or range
 * names the file and the JSON path. '@data/' paths resolve like a run config's
 * (config/data_cfg.h); qat.weights / qat.activations are scheme objects
 * (config/scheme_entry.h). Format: docs/training.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/path.h"
#include "config/data_cfg.h"
#include "config/json_check.h"
#include "config/scheme_entry.h"
#include "config/train_config.h"

struct tctx {
    struct zp_jctx j;
    const char *data_root;
};

static enum zp_status read_model(struct zp_jctx *c, const cJSON *m, struct zp_train_config *cfg)
{
    ZP_TRY(zp_json_expect_object(c, m, "model"));
    ZP_TRY(zp_json_check_section(c, m, "model", "train.model"));
    char type[32] = "";
    ZP_TRY(zp_json_str(c, m, "model", "type", "mobilenet|mlp", type, sizeof type));
    if (!type[0])
        return zp_err_set(c->err, ZP_ECONFIG, "%s: model.type: missing (mobilenet or mlp)",
                          c->file);
    cfg->model = strcmp(type, "mlp") == 0 ? ZP_MODEL_MLP : ZP_MODEL_MOBILENET;
    long long in[3] = {1, 28, 28};
    const cJSON *inp = cJSON_GetObjectItemCaseSensitive(m, "input");
    if (inp) {
        if (!cJSON_IsArray(inp) || cJSON_GetArraySize(inp) != 3)
            return zp_err_set(c->err, ZP_ECONFIG,
                              "%s: model.input: expected [channels, height, width], got %s",
                              c->file, zp_json_describe(c, inp));
        for (int i = 0; i < 3; i++)
            ZP_TRY(zp_json_value_int(c, cJSON_GetArrayItem(inp, i), zp_jpath_index(c, "model.input", i),
                                  1, 4096, &in[i]));
    }
    long long classes = 10, stem = 16, stem_stride = 1;
    ZP_TRY(zp_json_int(c, m, "model", "classes", 2, 100000, &classes));
    ZP_TRY(zp_json_int(c, m, "model", "stem", 1, 4096, &stem));
    ZP_TRY(zp_json_int(c, m, "model", "stem_stride", 1, 2, &stem_stride));
    struct zp_mobilenet_arch *a = &cfg->mobilenet;
    a->in_c = (int)in[0];
    a->in_h = (int)in[1];
    a->in_w = (int)in[2];
    a->n_classes = (int)classes;
    a->stem = (int)stem;
    a->stem_stride = (int)stem_stride;
    cfg->mlp.in_c = a->in_c;
    cfg->mlp.in_h = a->in_h;
    cfg->mlp.in_w = a->in_w;
    cfg->mlp.n_classes = a->n_classes;
    const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(m, "blocks");
    if (cfg->model == ZP_MODEL_MOBILENET) {
        if (!cJSON_IsArray(blocks) || cJSON_GetArraySize(blocks) < 1 ||
            cJSON_GetArraySize(blocks) > ZP_TNET_MAX_BLOCKS)
            return zp_err_set(c->err, ZP_ECONFIG,
                              "%s: model.blocks: expected an array of 1..%d [channels, stride] "
                              "or [channels, stride, \"linear\"] entries, got %s",
                              c->file, ZP_TNET_MAX_BLOCKS, zp_json_describe(c, blocks));
        a->n_blocks = cJSON_GetArraySize(blocks);
        for (int i = 0; i < a->n_blocks; i++) {
            const cJSON *bl = cJSON_GetArrayItem(blocks, i);
            const char *p = zp_jpath_index(c, "model.blocks", i);
            char path[96];
            snprintf(path, sizeof path, "%s", p);
            if (!cJSON_IsArray(bl) || cJSON_GetArraySize(bl) < 2 || cJSON_GetArraySize(bl) > 3)
                return zp_err_set(c->err, ZP_ECONFIG,
                                  "%s: %s: expected [channels, stride] or [channels, stride, "
                                  "\"linear\"], got %s",
                                  c->file, path, zp_json_describe(c, bl));
            /* A third element "linear" drops the ReLU6 after the pointwise conv
             * (MobileNet-v2 linear bottleneck): the next layer sees a signed
             * input, which is what configs/zero.json studies. */
            a->block_linear[i] = 0;
            if (cJSON_GetArraySize(bl) == 3) {
                const cJSON *f = cJSON_GetArrayItem(bl, 2);
                if (!cJSON_IsString(f) || strcmp(f->valuestring, "linear") != 0)
                    return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: expected \"linear\", got %s",
                                      c->file, zp_jpath_index(c, path, 2), zp_json_describe(c, f));
                a->block_linear[i] = 1;
            }
            long long ch, s;
            ZP_TRY(zp_json_value_int(c, cJSON_GetArrayItem(bl, 0), zp_jpath_index(c, path, 0), 1, 4096,
                                  &ch));
            ZP_TRY(zp_json_value_int(c, cJSON_GetArrayItem(bl, 1), zp_jpath_index(c, path, 1), 1, 2,
                                  &s));
            a->block_out[i] = (int)ch;
            a->block_stride[i] = (int)s;
        }
    } else if (blocks) {
        return zp_err_set(c->err, ZP_ECONFIG, "%s: model.blocks: only for type mobilenet",
                          c->file);
    }
    const cJSON *hid = cJSON_GetObjectItemCaseSensitive(m, "hidden");
    if (cfg->model == ZP_MODEL_MLP) {
        if (!cJSON_IsArray(hid) || cJSON_GetArraySize(hid) > ZP_TNET_MAX_BLOCKS)
            return zp_err_set(c->err, ZP_ECONFIG,
                              "%s: model.hidden: expected an array of up to %d layer widths, "
                              "got %s",
                              c->file, ZP_TNET_MAX_BLOCKS, zp_json_describe(c, hid));
        cfg->mlp.n_hidden = cJSON_GetArraySize(hid);
        for (int i = 0; i < cfg->mlp.n_hidden; i++) {
            long long v;
            ZP_TRY(zp_json_value_int(c, cJSON_GetArrayItem(hid, i), zp_jpath_index(c, "model.hidden", i),
                                  1, 65536, &v));
            cfg->mlp.hidden[i] = (int)v;
        }
    } else if (hid) {
        return zp_err_set(c->err, ZP_ECONFIG, "%s: model.hidden: only for type mlp", c->file);
    }
    return ZP_OK;
}

/* A required path; '@data/' resolved. Inputs (must_exist) are checked to be there
 * when they are '@data/' paths, so a wrong root is named before any work. */
static enum zp_status read_path(struct zp_jctx *c, const cJSON *o, const char *path,
                                const char *key, int must_exist, char *out, size_t len)
{
    out[0] = '\0';
    char raw[1024] = "";
    ZP_TRY(zp_json_str(c, o, path, key, NULL, raw, sizeof raw));
    if (!raw[0])
        return zp_err_set(c->err, ZP_ECONFIG, "%s: %s: missing (a file path)", c->file,
                          zp_jpath_key(c, path, key));
    char where[600];
    snprintf(where, sizeof where, "%s: %s", c->file, zp_jpath_key(c, path, key));
    /* c is the first member of the struct tctx every reader here is given */
    const char *root = ((const struct tctx *)(const void *)c)->data_root;
    ZP_TRY(zp_resolve_data_path(raw, root, out, len, where, c->err));
    return must_exist ? zp_check_data_path(raw, out, root, where, c->err) : ZP_OK;
}

static enum zp_status read_data(struct zp_jctx *c, const cJSON *d, struct zp_train_config *cfg)
{
    ZP_TRY(zp_json_expect_object(c, d, "data"));
    ZP_TRY(zp_json_check_section(c, d, "data", "train.data"));
    ZP_TRY(read_path(c, d, "data", "train_images", 1, cfg->train_images, sizeof cfg->train_images));
    ZP_TRY(read_path(c, d, "data", "train_labels", 1, cfg->train_labels, sizeof cfg->train_labels));
    ZP_TRY(read_path(c, d, "data", "test_images", 1, cfg->test_images, sizeof cfg->test_images));
    ZP_TRY(read_path(c, d, "data", "test_labels", 1, cfg->test_labels, sizeof cfg->test_labels));
    double mean = 0.0, sd = 255.0, scale = 1.0;
    long long lt = 0, le = 0;
    ZP_TRY(zp_json_num(c, d, "data", "scale", 1e-12, 1e12, &scale));
    ZP_TRY(zp_json_num(c, d, "data", "mean", -1e6, 1e6, &mean));
    ZP_TRY(zp_json_num(c, d, "data", "std", 1e-6, 1e6, &sd));
    ZP_TRY(zp_json_int(c, d, "data", "limit_train", 0, 1 << 30, &lt));
    ZP_TRY(zp_json_int(c, d, "data", "limit_test", 0, 1 << 30, &le));
    cfg->mean = (float)mean;
    cfg->std = (float)sd;
    cfg->scale = scale;
    cfg->limit_train = (int)lt;
    cfg->limit_test = (int)le;
    return ZP_OK;
}

static enum zp_status read_optim(struct zp_jctx *c, const cJSON *o, struct zp_train_config *cfg)
{
    ZP_TRY(zp_json_expect_object(c, o, "optimizer"));
    ZP_TRY(zp_json_check_section(c, o, "optimizer", "train.optimizer"));
    struct zp_sgd *s = &cfg->sgd;
    ZP_TRY(zp_json_num(c, o, "optimizer", "lr", 1e-8, 10.0, &s->lr));
    ZP_TRY(zp_json_num(c, o, "optimizer", "momentum", 0.0, 0.999, &s->momentum));
    ZP_TRY(zp_json_num(c, o, "optimizer", "weight_decay", 0.0, 1.0, &s->weight_decay));
    char sch[16] = "cosine";
    ZP_TRY(zp_json_str(c, o, "optimizer", "schedule", "cosine|step|constant", sch, sizeof sch));
    s->schedule = strcmp(sch, "step") == 0       ? ZP_LR_STEP
                  : strcmp(sch, "constant") == 0 ? ZP_LR_CONSTANT
                                                 : ZP_LR_COSINE;
    ZP_TRY(zp_json_num(c, o, "optimizer", "warmup_epochs", 0.0, 1000.0, &s->warmup_epochs));
    long long se = s->step_epochs;
    ZP_TRY(zp_json_int(c, o, "optimizer", "step_epochs", 1, 100000, &se));
    s->step_epochs = (int)se;
    ZP_TRY(zp_json_num(c, o, "optimizer", "step_gamma", 0.0, 1.0, &s->step_gamma));
    return ZP_OK;
}

/* qat.weights / qat.activations: the scheme object every config shares. */
static enum zp_status read_scheme(struct zp_jctx *c, const cJSON *o, const char *path,
                                  struct zp_scheme_config *sc)
{
    return zp_cfg_scheme_object(c, o, path, NULL, NULL, sc);
}

static enum zp_status read_qat(struct zp_jctx *c, const cJSON *o, struct zp_train_config *cfg)
{
    ZP_TRY(zp_json_expect_object(c, o, "qat"));
    ZP_TRY(zp_json_check_section(c, o, "qat", "train.qat"));
    cfg->qat.present = 1;
    ZP_TRY(read_path(c, o, "qat", "checkpoint", 1, cfg->qat.checkpoint, sizeof cfg->qat.checkpoint));
    long long ep = 1, fr = 1000;
    cfg->qat.lr = 0.005;
    cfg->qat.act_ema = 0.01;
    ZP_TRY(zp_json_int(c, o, "qat", "epochs", 0, 10000, &ep));
    ZP_TRY(zp_json_num(c, o, "qat", "lr", 1e-9, 10.0, &cfg->qat.lr));
    ZP_TRY(zp_json_int(c, o, "qat", "bn_freeze_steps", 0, 1LL << 40, &fr));
    ZP_TRY(zp_json_num(c, o, "qat", "act_ema", 1e-6, 1.0, &cfg->qat.act_ema));
    cfg->qat.epochs = (int)ep;
    cfg->qat.bn_freeze_steps = (long)fr;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "weights");
    if (!w)
        return zp_err_set(c->err, ZP_ECONFIG, "%s: qat.weights: missing", c->file);
    ZP_TRY(read_scheme(c, w, "qat.weights", &cfg->qat.w));
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "activations");
    if (a && !cJSON_IsNull(a)) {
        ZP_TRY(read_scheme(c, a, "qat.activations", &cfg->qat.a));
        cfg->qat.has_acts = 1;
    }
    return ZP_OK;
}

static void fill_spec(struct zp_dataset_spec *sp, const char *images, const char *labels,
                      const struct zp_train_config *cfg, int limit)
{
    memset(sp, 0, sizeof *sp);
    sp->format = ZP_DATA_IDX;
    sp->images = images;
    sp->labels = labels;
    sp->channels = cfg->model == ZP_MODEL_ONNX ? 1 : cfg->mobilenet.in_c; /* ONNX: the
                                              trainer sets the model's input channels */
    sp->size = 0;
    sp->resize_mode = ZP_RESIZE_NONE;
    for (int i = 0; i < 3; i++) {
        sp->mean[i] = cfg->mean;
        sp->std[i] = cfg->std;
    }
    sp->scale = cfg->scale;
    sp->limit = limit;
}

static enum zp_status parse(struct zp_jctx *c, const cJSON *root, struct zp_train_config *cfg)
{
    ZP_TRY(zp_json_expect_object(c, root, ""));
    ZP_TRY(zp_json_check_section(c, root, "", "train"));
    ZP_TRY(zp_json_str(c, root, "", "name", NULL, cfg->name, sizeof cfg->name));
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!m)
        return zp_err_set(c->err, ZP_ECONFIG, "%s: model: missing", c->file);
    if (cJSON_IsString(m)) { /* an ONNX file: its input shape and classes come from it */
        cfg->model = ZP_MODEL_ONNX;
        ZP_TRY(read_path(c, root, "", "model", 1, cfg->model_path, sizeof cfg->model_path));
    } else {
        ZP_TRY(read_model(c, m, cfg));
    }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!d)
        return zp_err_set(c->err, ZP_ECONFIG, "%s: data: missing", c->file);
    ZP_TRY(read_data(c, d, cfg));
    long long epochs = cfg->epochs, batch = cfg->batch, seed = 1;
    ZP_TRY(zp_json_int(c, root, "", "epochs", 1, 100000, &epochs));
    ZP_TRY(zp_json_int(c, root, "", "batch", 2, 65536, &batch));
    ZP_TRY(zp_json_int(c, root, "", "seed", 0, (long long)1 << 62, &seed));
    ZP_TRY(zp_json_bool(c, root, "", "hflip", &cfg->hflip));
    cfg->epochs = (int)epochs;
    cfg->batch = (int)batch;
    cfg->seed = (uint64_t)seed;
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "optimizer");
    if (o)
        ZP_TRY(read_optim(c, o, cfg));
    ZP_TRY(read_path(c, root, "", "output", 0, cfg->output, sizeof cfg->output));
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(root, "qat");
    if (q)
        ZP_TRY(read_qat(c, q, cfg));
    ZP_TRY(zp_json_str(c, root, "", "checkpoint", NULL, cfg->checkpoint, sizeof cfg->checkpoint));
    return ZP_OK;
}

enum zp_status zp_train_config_parse(const char *text, const char *path, const char *data_root,
                                     struct zp_train_config *cfg, struct zp_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->epochs = 10;
    cfg->batch = 128;
    cfg->sgd = (struct zp_sgd){.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4,
                               .schedule = ZP_LR_COSINE, .warmup_epochs = 0.0,
                               .step_epochs = 1000, .step_gamma = 0.1};
    struct tctx *t = calloc(1, sizeof *t);
    if (!t)
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", path);
    zp_jctx_init(&t->j, path, err);
    t->data_root = data_root;
    cJSON *root = zp_json_parse(&t->j, text);
    enum zp_status s = root ? parse(&t->j, root, cfg) : (err->status ? err->status : ZP_ECONFIG);
    cJSON_Delete(root);
    free(t);
    if (s != ZP_OK)
        return s;
    if (!cfg->name[0]) {
        zp_path_stem(path, cfg->name, sizeof cfg->name);
    }
    fill_spec(&cfg->train_spec, cfg->train_images, cfg->train_labels, cfg, cfg->limit_train);
    fill_spec(&cfg->test_spec, cfg->test_images, cfg->test_labels, cfg, cfg->limit_test);
    return ZP_OK;
}

enum zp_status zp_train_config_load_root(const char *path, const char *data_root,
                                         struct zp_train_config *cfg, struct zp_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    char *text = zp_json_read_file(path, err);
    if (!text)
        return err && err->status ? err->status : ZP_EIO;
    enum zp_status s = zp_train_config_parse(text, path, data_root, cfg, err);
    free(text);
    return s;
}

enum zp_status zp_train_config_load(const char *path, struct zp_train_config *cfg,
                                    struct zp_err *err)
{
    return zp_train_config_load_root(path, NULL, cfg, err);
}
