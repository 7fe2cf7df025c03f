/* libFuzzer target: the experiment-config loader must turn any byte string into
 * either a config or an error message, never a crash, hang or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct zp_config cfg;
    struct zp_err err = {0};
    /* A data root that exists, so '@data/' paths get past resolution. */
    struct zp_config_env env = {.data_root = "/tmp", .forbid_plugins = 1};
    if (zp_config_parse(text, "fuzz.json", &env, &cfg, &err) == ZP_OK)
        zp_config_free(&cfg);
    free(text);
    return 0;
}
