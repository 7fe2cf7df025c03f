/* The key table: see keys.h. Section names are JSON paths with [] for "any
 * element"; "scheme" is the scheme object shared by run entries, activations,
 * overrides and the train config's qat weights / activations. */
#include "config/keys.h"

#include <string.h>

#include "ptq/rounding.h"

const struct zp_config_section zp_config_sections[] = {
    {"run", "run config (harness run CONFIG), top level"},
    {"scheme", "scheme object: schemes[] entries, their \"activations\", overrides[], train qat.weights / qat.activations"},
    {"run.schemes[]", "scheme entry (besides the scheme object keys; an array value is swept)"},
    {"run.schemes[].weight_calibration", "schemes[].weight_calibration"},
    {"run.schemes[].qat", "schemes[].qat (mode \"qat\")"},
    {"run.schemes[].rounding_options", "schemes[].rounding_options (GPTQ and AdaRound, docs/ptq.md)"},
    {"run.statistics", "statistics (summary.csv: bootstrap intervals, McNemar tests, pairs)"},
    {"run.models[].select", "models[].select (the split \"best\" variants are chosen on)"},
    {"run.tensors", "tensors"},
    {"run.tensors.synthetic[]", "tensors.synthetic[]"},
    {"dataset", "dataset (datasets.NAME, models[].eval, calibration_data, train_data)"},
    {"dataset.split", "dataset split (every N-th row held out, or the others)"},
    {"run.models[]", "models[]"},
    {"run.models[].calibration", "models[].calibration (an object or an array of them)"},
    {"run.models[].overrides[]", "models[].overrides[] (besides the scheme object keys)"},
    {"bench", "bench config (harness bench CONFIG), top level"},
    {"bench.shapes[]", "bench shapes[]: one of preset, square, model, or m + n + k"},
    {"bench.depthwise[]", "bench depthwise[]: preset, or h + w + c + stride"},
    {"train", "train config (harness train CONFIG), top level"},
    {"train.model", "train model"},
    {"train.data", "train data"},
    {"train.optimizer", "train optimizer"},
    {"train.qat", "train qat (fine-tune a float checkpoint with fake quantization)"},
};
const size_t zp_config_n_sections = sizeof zp_config_sections / sizeof zp_config_sections[0];

const struct zp_config_key zp_config_keys[] = {
    /* run config */
    {"run", "name", "string", "file name", "names results/<name>/; letters, digits, _ - ."},
    {"run", "description", "string", "", "free text, kept in run.json"},
    {"run", "seed", "integer >= 0", "1", "seed of synthetic tensors and calibration order"},
    {"run", "save_logits", "boolean", "false", "each model cell's logits -> logits/<cell id>.npy (--save-logits)"},
    {"run", "replicates", "integer 1..100", "1", "runs of each model cell, seeds r = 0..N-1 of everything random in it"},
    {"run", "statistics", "object", "see run.statistics", "bootstrap and pairs of summary.csv"},
    {"run", "plugins", "array of paths", "", "scheme plugins (.so) loaded before schemes"},
    {"run", "schemes", "array of scheme entries", "required", "the variants"},
    {"run", "datasets", "object name -> dataset", "", "datasets models refer to by name"},
    {"run", "tensors", "object", "", "tensor experiments -> tensors.csv"},
    {"run", "models", "array of model entries", "", "model experiments -> accuracy.csv, layers.csv"},

    {"scheme", "scheme", "string", "required", "registry name (harness list)"},
    {"scheme", "bits", "integer", "the scheme's", "within the scheme's range"},
    {"scheme", "granularity", "per-tensor|per-channel|per-group", "per-tensor", ""},
    {"scheme", "axis", "integer 0..7", "0", "channel axis for per-channel / per-group"},
    {"scheme", "group_size", "integer", "32", "elements per group"},
    {"scheme", "*", "scheme options", "the scheme's", "e.g. nudge_zero, narrow_range (harness list)"},

    {"run.schemes[]", "label", "string", "built from the settings", "label in CSVs and figures"},
    {"run.schemes[]", "bias_correction", "none|empirical", "none", "subtract E[y'-y] per channel"},
    {"run.schemes[]", "equalize", "bool", "false", "cross-layer equalization of the float weights (a ReLU6 between a pair clamps per channel, docs/ptq.md)"},
    {"run.schemes[]", "bias_absorption", "bool", "false", "high-bias absorption into the next layer, from calibration statistics"},
    {"run.schemes[]", "quantize_embedding", "bool", "false", "weights: also every lookup table (Gather: token embedding), rows as channels"},
    {"run.schemes[]", "quantize_attention", "bool", "false", "activations: also both operands of every MatMul of two activations (attention Q K^T, P V), min/max ranges"},
    {"run.schemes[]", "bias", "float|int32", "float", "int32: biases rounded as integer inference stores them"},
    {"run.schemes[]", "requantize", "fixed|float", "fixed",
     "mode integer: gemmlowp fixed-point multiplier and shift, or a float multiplier"},
    {"run.schemes[]", "weight_calibration", "object", "min/max", "clipped weight ranges (affine schemes)"},
    {"run.schemes[]", "rounding", ZP_ROUNDING_CHOICES, "nearest", "weights onto the grid: to nearest, AdaRound or GPTQ (docs/ptq.md)"},
    {"run.schemes[]", "rounding_options", "object", "", "settings of rounding adaround / gptq"},
    {"run.schemes[]", "activations", "scheme object", "asymmetric 8-bit per-tensor", "activation quantizer (per-tensor; block-scaled schemes also per-group)"},
    {"run.schemes[]", "qat", "object", "", "settings of mode qat"},
    {"run.schemes[]", "modes", "array of weights|activations|both|qat", "the model's", "replaces the model's modes for this entry"},

    {"run.schemes[].weight_calibration", "method", "minmax|percentile|mse|kl", "required", ""},
    {"run.schemes[].weight_calibration", "percentile", "number 50..100", "99.99", ""},

    {"run.schemes[].rounding_options", "examples", "integer 1..1000000", "256", "calibration examples whose layer inputs are used"},
    {"run.schemes[].rounding_options", "dampening", "number 0..10", "0.01", "gptq: x mean diag(H) added to diag(H)"},
    {"run.schemes[].rounding_options", "act_order", "bool", "true", "gptq: columns by decreasing diag(H)"},
    {"run.schemes[].rounding_options", "block_size", "integer 1..65536", "128", "gptq: columns per lazy batch update"},
    {"run.schemes[].rounding_options", "iterations", "integer 1..1000000", "1000", "adaround: Adam steps per layer"},
    {"run.schemes[].rounding_options", "batch_rows", "integer 1..65536", "256", "adaround: im2col rows per step"},
    {"run.schemes[].rounding_options", "rows", "integer 1..16777216", "8192", "adaround: im2col rows kept per layer"},
    {"run.schemes[].rounding_options", "lambda", "number 0..1000", "0.01", "adaround: weight of the rounding regulariser"},
    {"run.schemes[].rounding_options", "lr", "number", "0.01", "adaround: Adam learning rate"},
    {"run.schemes[].rounding_options", "warm_start", "number 0..1", "0.2", "adaround: share of steps without the regulariser"},
    {"run.schemes[].rounding_options", "seed", "integer >= 0", "1", "adaround: rows kept and batched"},

    {"run.schemes[].qat", "epochs", "integer 1..1000", "2", ""},
    {"run.schemes[].qat", "lr", "number", "0.002", ""},
    {"run.schemes[].qat", "activations", "bool", "true", "also fake-quantize layer inputs"},
    {"run.schemes[].qat", "batch", "integer", "128", ""},
    {"run.schemes[].qat", "bn_freeze_steps", "integer", "200", "steps before BN uses running statistics"},
    {"run.schemes[].qat", "loss", "xent|distill", "xent", "distill: KL divergence to the float model's logits, no labels"},
    {"run.schemes[].qat", "temperature", "number 0.01..100", "1", "distill only: softmax temperature"},
    {"run.schemes[].qat", "alpha", "number 0..1", "0", "distill only: weight of the labelled cross-entropy"},
    {"run.schemes[].qat", "hflip", "bool", "false", "random horizontal flips of training batches"},
    {"run.schemes[].qat", "optimizer", "sgd|adam", "sgd", "sgd: momentum 0.9; adam: betas 0.9, 0.999, decoupled weight decay"},

    {"run.statistics", "resamples", "integer 100..1000000", "2000", "bootstrap resamples over examples"},
    {"run.statistics", "level", "number 0.5..0.999", "0.95", "confidence level of the intervals"},
    {"run.statistics", "seed", "integer >= 0", "20260", "bootstrap stream (the same for every cell)"},
    {"run.statistics", "pairs", "auto|none", "auto", "auto: nudged vs naive, per-tensor vs per-channel, PTQ vs QAT"},

    {"run.models[].select", "size", "integer 1..1000000", "required", "last N examples of calibration_data"},

    {"run.tensors", "synthetic", "array of objects", "", "synthetic tensors"},
    {"run.tensors", "models", "array of paths", "", "ONNX files whose weight tensors are quantized"},

    {"run.tensors.synthetic[]", "name", "string", "the distribution", ""},
    {"run.tensors.synthetic[]", "distribution", "uniform|gaussian|laplace|relu_gaussian", "required", ""},
    {"run.tensors.synthetic[]", "n", "integer", "65536", "elements"},
    {"run.tensors.synthetic[]", "channels", "integer", "1", "shape [channels, n/channels]"},
    {"run.tensors.synthetic[]", "seed", "integer", "the config's seed", ""},
    {"run.tensors.synthetic[]", "scale", "number", "1", "half-width, sigma or b"},
    {"run.tensors.synthetic[]", "zero_share", "number 0..1", "0.5", "relu_gaussian: share of exact zeros"},

    {"dataset", "name", "string", "the images file name", "the dataset column"},
    {"dataset", "format", "idx|images|npy|tokens", "required", "tokens: token windows of a language model"},
    {"dataset", "tokens", "path", "required (tokens)", ".npy [N, T] of windows or a raw uint16 stream"},
    {"dataset", "targets", "path", "none", "tokens: .npy [N, T] next tokens; none: cut from each window"},
    {"dataset", "window", "integer", "the file's T (.npy)", "tokens: tokens per window (stream: input + 1)"},
    {"dataset", "stride", "integer", "window", "tokens: window k starts at token k * stride (stream)"},
    {"dataset", "vocab", "integer", "0 (any)", "tokens: every id must be below it"},
    {"dataset", "skip", "integer", "0", "tokens: the first N windows left out (before limit): calibration apart from eval"},
    {"dataset", "images", "path", "required", "IDX file, image folder or .npy"},
    {"dataset", "labels", "path", "required", "IDX file, labels CSV or .npy"},
    {"dataset", "channels", "1 or 3", "3 for images, else 1", ""},
    {"dataset", "resize", "integer", "0", "crop: shorter side resized to this"},
    {"dataset", "size", "integer", "0", "network input size; 0 with resize_mode none: the images' own size"},
    {"dataset", "resize_mode", "crop|stretch|none", "crop", "none: no resize or crop, every image the same size"},
    {"dataset", "crop_recipe", "torchvision|round-floor", "torchvision", "how the centre crop is placed"},
    {"dataset", "scale", "number > 0", "1", "x = (pixel * scale - mean) / std"},
    {"dataset", "mean", "array of 1 or C numbers", "0", "in units of pixel * scale"},
    {"dataset", "std", "array of 1 or C numbers", "255 (npy: none)", "in units of pixel * scale"},
    {"dataset", "limit", "integer", "0 (all)", "first N examples only (of the split, with one)"},
    {"dataset", "split", "object", "none (every row)", "an interleaved part of the rows, before limit"},
    {"dataset.split", "every", "integer 2..1000000", "required", "blocks of N rows"},
    {"dataset.split", "offset", "integer 0..every-1", "0", "the held-out row of each block"},
    {"dataset.split", "part", "held-out|rest", "required", "row offset of every block, or the others"},

    {"run.models[]", "name", "string", "file name", "the model column"},
    {"run.models[]", "path", "path", "required", "ONNX file"},
    {"run.models[]", "eval", "dataset or name", "required", "evaluation split"},
    {"run.models[]", "calibration_data", "dataset or name", "eval", "activation ranges, bias correction"},
    {"run.models[]", "train_data", "dataset or name", "", "mode qat only"},
    {"run.models[]", "checkpoint", "path", "", "mode qat: the float training checkpoint"},
    {"run.models[]", "modes", "array of weights|activations|both|qat", "[\"weights\"]", "what is quantized"},
    {"run.models[]", "calibration", "object or array", "minmax, 500 examples", "one run per setting"},
    {"run.models[]", "overrides", "array", "", "layers that use another weight quantizer"},
    {"run.models[]", "batch", "integer 1..4096", "50", "inference batch"},
    {"run.models[]", "layer_stats_samples", "integer", "256", "eval examples for layers.csv (0 = all)"},
    {"run.models[]", "layer_stats", "boolean", "true", "false: no layers.csv rows"},
    {"run.models[]", "quantize_at", "inputs|inputs+outputs", "inputs", "where activations are quantized"},
    {"run.models[]", "prune", "number 0..0.99", "0", "share of each layer's weights set to 0 first"},
    {"run.models[]", "select", "object", "none (no selection)", "split for choosing best variants"},

    {"run.models[].calibration", "method", "minmax|ema|percentile|mse|kl", "minmax", ""},
    {"run.models[].calibration", "size", "integer", "500", "calibration examples"},
    {"run.models[].calibration", "seed", "integer", "the config's seed", ""},
    {"run.models[].calibration", "order", "shuffled|first", "shuffled", ""},
    {"run.models[].calibration", "ema_constant", "number", "0.01", ""},
    {"run.models[].calibration", "percentile", "number 50..100", "99.99", ""},
    {"run.models[].calibration", "bins", "integer", "2048", "histogram methods"},

    {"run.models[].overrides[]", "layers", "array of names, indices, first, last", "required", ""},
    {"run.models[].overrides[]", "float", "boolean", "false", "true: the layers' weights and inputs stay float"},

    /* bench config */
    {"bench", "name", "string", "file name", "names results/<name>/"},
    {"bench", "description", "string", "", ""},
    {"bench", "shapes", "array", "", "GEMM shapes"},
    {"bench", "depthwise", "array", "", "depthwise 3x3 shapes"},
    {"bench", "schemes", "array of kernel names", "all", "float, asymmetric, symmetric, no-128, linear4, lut4, binary"},
    {"bench", "isa", "array", "[\"best\"]", "best, ref, avx2, avx512bw, avx512vnni, avx512vpopcnt, amx"},
    {"bench", "anchors", "array of openblas|onednn", "both", "library anchors"},
    {"bench", "threads", "array of integers", "[1]", ""},
    {"bench", "repetitions", "integer 1..1000", "5", ""},
    {"bench", "min_time", "seconds (0, 60]", "0.1", "per repetition"},
    {"bench", "seed", "integer", "1", ""},

    {"bench.shapes[]", "preset", "mobilenet_v1_pointwise", "", ""},
    {"bench.shapes[]", "square", "array of sizes", "", "n x n x n"},
    {"bench.shapes[]", "model", "path", "", "every Conv/Gemm/MatMul of an ONNX model"},
    {"bench.shapes[]", "m", "integer", "", ""},
    {"bench.shapes[]", "n", "integer", "", ""},
    {"bench.shapes[]", "k", "integer", "", ""},

    {"bench.depthwise[]", "preset", "mobilenet_v1_depthwise", "", ""},
    {"bench.depthwise[]", "h", "integer", "", ""},
    {"bench.depthwise[]", "w", "integer", "", ""},
    {"bench.depthwise[]", "c", "integer", "", ""},
    {"bench.depthwise[]", "stride", "1 or 2", "", ""},

    /* train config */
    {"train", "name", "string", "file name", ""},
    {"train", "model", "object or path", "required", "the architecture, or an ONNX file to train (any model in the op set; BN trains)"},
    {"train", "data", "object", "required", "IDX files and normalization"},
    {"train", "epochs", "integer", "10", ""},
    {"train", "batch", "integer", "128", ""},
    {"train", "optimizer", "object", "SGD", ""},
    {"train", "hflip", "bool", "false", "random horizontal flips"},
    {"train", "seed", "integer", "1", ""},
    {"train", "output", "path", "required", "the ONNX file written"},
    {"train", "checkpoint", "path", "output with .ckpt", ""},
    {"train", "qat", "object", "", "fine-tune a checkpoint instead"},

    {"train.model", "type", "mobilenet|mlp", "required", ""},
    {"train.model", "input", "[channels, height, width]", "[1, 28, 28]", ""},
    {"train.model", "classes", "integer", "10", ""},
    {"train.model", "stem", "integer", "16", "mobilenet stem channels"},
    {"train.model", "stem_stride", "1 or 2", "1", ""},
    {"train.model", "blocks", "array of [channels, stride(, \"linear\")]", "mobilenet: required", ""},
    {"train.model", "hidden", "array of widths", "mlp: required", ""},

    {"train.data", "train_images", "path", "required", "IDX (@data/ allowed)"},
    {"train.data", "train_labels", "path", "required", ""},
    {"train.data", "test_images", "path", "required", ""},
    {"train.data", "test_labels", "path", "required", ""},
    {"train.data", "scale", "number > 0", "1", "x = (pixel * scale - mean) / std"},
    {"train.data", "mean", "number", "0", ""},
    {"train.data", "std", "number", "255", ""},
    {"train.data", "limit_train", "integer", "0 (all)", ""},
    {"train.data", "limit_test", "integer", "0 (all)", ""},

    {"train.optimizer", "lr", "number", "0.1", ""},
    {"train.optimizer", "momentum", "number", "0.9", ""},
    {"train.optimizer", "weight_decay", "number", "0.0005", ""},
    {"train.optimizer", "schedule", "cosine|step|constant", "cosine", ""},
    {"train.optimizer", "warmup_epochs", "number", "0", ""},
    {"train.optimizer", "step_epochs", "integer", "1000", ""},
    {"train.optimizer", "step_gamma", "number", "0.1", ""},

    {"train.qat", "checkpoint", "path", "required", "the float checkpoint, or an ONNX model"},
    {"train.qat", "epochs", "integer", "1", "0: post-training quantization only"},
    {"train.qat", "lr", "number", "0.005", ""},
    {"train.qat", "bn_freeze_steps", "integer", "1000", ""},
    {"train.qat", "act_ema", "number", "0.01", ""},
    {"train.qat", "weights", "scheme object", "required", ""},
    {"train.qat", "activations", "scheme object or null", "null (float)", ""},
};
const size_t zp_config_n_keys = sizeof zp_config_keys / sizeof zp_config_keys[0];

const struct zp_config_key *zp_config_key_find(const char *section, const char *key)
{
    for (size_t i = 0; i < zp_config_n_keys; i++)
        if (strcmp(zp_config_keys[i].section, section) == 0 &&
            strcmp(zp_config_keys[i].key, key) == 0)
            return &zp_config_keys[i];
    return NULL;
}

void zp_config_key_list(const char *section, char *out, size_t n)
{
    size_t j = 0;
    out[0] = '\0';
    for (size_t i = 0; i < zp_config_n_keys && j + 1 < n; i++) {
        const struct zp_config_key *k = &zp_config_keys[i];
        if (strcmp(k->section, section) != 0 || strcmp(k->key, "*") == 0)
            continue;
        int w = snprintf(out + j, n - j, "%s%s", j ? ", " : "", k->key);
        j = w < 0 ? j : j + (size_t)w;
    }
}

void zp_config_print_keys(FILE *f)
{
    fprintf(f, "Config keys (docs/config.md and docs/training.md say more; "
               "`harness list` shows every scheme's options)\n");
    for (size_t s = 0; s < zp_config_n_sections; s++) {
        fprintf(f, "\n%s\n", zp_config_sections[s].title);
        for (size_t i = 0; i < zp_config_n_keys; i++) {
            const struct zp_config_key *k = &zp_config_keys[i];
            if (strcmp(k->section, zp_config_sections[s].name) != 0)
                continue;
            fprintf(f, "  %-20s %s", strcmp(k->key, "*") == 0 ? "(options)" : k->key, k->type);
            if (strcmp(k->def, "required") == 0)
                fprintf(f, " [required]");
            else if (k->def[0])
                fprintf(f, " [default %s]", k->def);
            if (k->help[0])
                fprintf(f, ": %s", k->help);
            fputc('\n', f);
        }
    }
}
