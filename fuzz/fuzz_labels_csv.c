/* libFuzzer target: the labels CSV reader of image folders (data/labels_csv.c:
 * header lookup, RFC 4180 quoting, class indices) on arbitrary text. A parse
 * that succeeds returns n >= 1 rows, each a non-empty file name and a label
 * in 0..INT32_MAX; a failure always carries a message naming the file. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    ZP_ASSERT(text);
    memcpy(text, data, size);
    text[size] = '\0';
    char **files = NULL;
    int32_t *labels = NULL;
    int64_t n = 0;
    struct zp_err err = { 0 };
    /* limit from the length, so both the limited and the full reads run */
    int limit = (int)(size % 4);
    if (zp_labels_csv_parse(text, "fuzz.csv", limit, &files, &labels, &n, &err) != ZP_OK) {
        ZP_ASSERT(err.status != ZP_OK && strstr(err.msg, "fuzz.csv"));
        ZP_ASSERT(files == NULL && labels == NULL && n == 0);
        free(text);
        return 0;
    }
    ZP_ASSERT(n >= 1 && (limit == 0 || n <= limit));
    for (int64_t i = 0; i < n; i++) {
        ZP_ASSERT(files[i] && files[i][0] != '\0');
        ZP_ASSERT(labels[i] >= 0);
        free(files[i]);
    }
    free(files);
    free(labels);
    free(text);
    return 0;
}
