/* Token windows as an evaluation dataset (language-model cells): the runtime
 * takes token ids as exact floats (ids < 2^24), so a window becomes one example
 * of T float values; its T next-token targets are kept beside the dataset. */
#include <string.h>

#include "common/mem.h"
#include "experiment/model_ctx.h"

enum zp_status mx_lm_load(const struct zp_dataset_cfg *dc, long limit, struct zp_dataset *ds,
                          int32_t **targets, int64_t *t_out, struct zp_err *err)
{
    memset(ds, 0, sizeof *ds);
    if (targets)
        *targets = NULL;
    struct zp_tokens_spec s = dc->tok;
    if (limit > 0 && (s.limit == 0 || s.limit > limit))
        s.limit = limit;
    struct zp_tokens tk = {0}, tg = {0};
    if (zp_tokens_load(&s, &tk, err))
        return err->status;
    int with_targets = dc->labels[0] != '\0';
    if (with_targets) {
        struct zp_tokens_spec ts = s;
        ts.path = dc->labels;
        ts.window = tk.t;
        if (zp_tokens_load(&ts, &tg, err) == ZP_OK && tg.n != tk.n)
            zp_err_set(err, ZP_EFORMAT, "%s: %lld windows, but %s has %lld", dc->labels,
                       (long long)tg.n, dc->images, (long long)tk.n);
        if (err->status) {
            zp_tokens_free(&tk);
            zp_tokens_free(&tg);
            return err->status;
        }
    } else if (tk.t < 2) {
        zp_tokens_free(&tk);
        return zp_err_set(err, ZP_EFORMAT,
                          "%s: windows of 1 token: without \"targets\" a window needs an input "
                          "token and the token after it",
                          dc->images);
    }
    /* without targets window k is cut: input = its first T-1 ids, targets = its last T-1 */
    int64_t n = tk.n, t = with_targets ? tk.t : tk.t - 1;
    ds->x = zp_alloc((size_t)n * (size_t)t * sizeof *ds->x);
    ds->labels = zp_alloc((size_t)(n ? n : 1) * sizeof *ds->labels);
    int32_t *tgt = targets ? zp_alloc((size_t)n * (size_t)t * sizeof *tgt) : NULL;
    if (!ds->x || !ds->labels || (targets && !tgt)) {
        zp_free(tgt);
        zp_dataset_free(ds);
        zp_tokens_free(&tk);
        zp_tokens_free(&tg);
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory for %lld windows", dc->images,
                          (long long)n);
    }
    for (int64_t k = 0; k < n; k++) {
        const int32_t *w = tk.ids + (size_t)k * (size_t)tk.t;
        for (int64_t j = 0; j < t; j++) {
            ds->x[(size_t)k * (size_t)t + (size_t)j] = (float)w[j];
            if (tgt)
                tgt[(size_t)k * (size_t)t + (size_t)j] =
                    with_targets ? tg.ids[(size_t)k * (size_t)t + (size_t)j] : w[j + 1];
        }
        ds->labels[k] = 0; /* windows have no class: the targets are per token */
    }
    ds->n = n;
    ds->c = 1;
    ds->h = 1;
    ds->w = t;
    ds->n_classes = 1;
    zp_tokens_free(&tk);
    zp_tokens_free(&tg);
    if (targets)
        *targets = tgt;
    *t_out = t;
    return ZP_OK;
}
