/* libFuzzer target: the config readers (run, bench and train configs, all through
 * the shared validator config/json_check.h) must turn any byte string into either
 * a config or an error message, never a crash, hang or leak. The first byte picks
 * the reader, so one corpus covers the three. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/bench_config.h"
#include "config/config.h"
#include "config/train_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int which = data[0] % 4; /* 0, 1: run config (the seeds start with '{'); 2: bench; 3: train */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    /* the selector byte stays in the text when it is JSON's own '{' */
    size_t off = data[0] == '{' ? 0 : 1;
    memcpy(text, data + off, size - off);
    text[size - off] = '\0';
    struct zp_err err = {0};
    if (data[0] == '{' || which < 2) {
        struct zp_config cfg;
        /* A data root that exists, so '@data/' paths get past resolution. */
        struct zp_config_env env = {.data_root = "/tmp", .forbid_plugins = 1};
        if (zp_config_parse(text, "fuzz.json", &env, &cfg, &err) == ZP_OK)
            zp_config_free(&cfg);
    } else if (which == 2) {
        /* no "model" shapes: an ONNX file named by the input could be anything */
        if (!strstr(text, "\"model\"")) {
            struct zp_bench_config cfg;
            if (zp_bench_config_parse(text, "fuzz.json", &cfg, &err) == ZP_OK)
                zp_bench_config_free(&cfg);
        }
    } else {
        static struct zp_train_config cfg; /* large */
        (void)zp_train_config_parse(text, "fuzz.json", "/tmp", &cfg, &err);
    }
    free(text);
    return 0;
}
