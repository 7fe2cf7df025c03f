/* Tensor-level experiments: a synthetic distribution or a model's weights,
 * quantized by one variant, measured with the tensor metrics of docs/definitions.md. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/mem.h"
#include "common/path.h"
#include "experiment/metrics.h"
#include "experiment/runner.h"
#include "experiment/synth.h"
#include "model/graph.h"

static enum zp_status one_tensor(const struct zp_variant *v, const char *source,
                                 const char *tensor, const char *dist, const float *x,
                                 const int64_t *shape, int ndim, struct zp_csv *rows,
                                 struct zp_err *err)
{
    size_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= (size_t)shape[d];
    float *xq = zp_alloc(n * sizeof *xq);
    if (!xq)
        return zp_err_set(err, ZP_ENOMEM, "%s: out of memory", tensor);
    struct zp_tensor_qparams qp = {0};
    enum zp_status st = zp_fake_quant(&v->w, x, shape, ndim, tensor, xq, &qp, err);
    if (st == ZP_OK) {
        struct zp_tensor_metrics m;
        zp_tensor_metrics(&v->w, &qp, x, xq, n, &m);
        zp_csv_set_str(rows, ZP_TENS_SOURCE, source);
        zp_csv_set_str(rows, ZP_TENS_TENSOR, tensor);
        zp_csv_set_str(rows, ZP_TENS_DISTRIBUTION, dist);
        zp_csv_set_int(rows, ZP_TENS_N, (long long)n);
        zp_csv_set_str(rows, ZP_TENS_SCHEME, v->w.scheme->name);
        zp_csv_set_str(rows, ZP_TENS_LABEL, v->label);
        zp_csv_set_int(rows, ZP_TENS_BITS, v->w.bits);
        zp_csv_set_str(rows, ZP_TENS_GRANULARITY, zp_granularity_name(v->w.granularity));
        zp_csv_set_bool(rows, ZP_TENS_NUDGE_ZERO, zp_variant_nudge(&v->w));
        zp_csv_set_bool(rows, ZP_TENS_NARROW_RANGE, zp_variant_narrow(&v->w));
        zp_csv_set_str(rows, ZP_TENS_OPTIONS, v->options);
        zp_csv_set_num(rows, ZP_TENS_MSE, m.mse);
        zp_csv_set_num(rows, ZP_TENS_SQNR_DB, m.sqnr_db);
        zp_csv_set_num(rows, ZP_TENS_ZERO_ERROR, m.zero_error);
        zp_csv_set_num(rows, ZP_TENS_ZERO_ERROR_LSB, m.zero_error_lsb);
        zp_csv_set_num(rows, ZP_TENS_ZERO_FRACTION, m.zero_fraction);
        zp_csv_set_num(rows, ZP_TENS_BIAS, m.bias);
        zp_csv_set_num(rows, ZP_TENS_BIAS_AT_ZERO, m.bias_at_zero);
        struct zp_wcost wc = {0};
        struct zp_err cerr = {0};
        zp_wcost_add(&wc, &v->w, &qp, x, shape, ndim, &cerr);
        zp_csv_set_num(rows, ZP_TENS_BITS_PER_WEIGHT, zp_wcost_bits(&wc));
        zp_csv_set_num(rows, ZP_TENS_CLIP_SHARE, zp_wcost_clip_share(&wc));
        zp_csv_set_int(rows, ZP_TENS_REPLICATE, 0); /* no randomness of a replicate in it */
        zp_csv_end_row(rows);
    }
    zp_tensor_qparams_free(&qp);
    zp_free(xq);
    return st;
}

enum zp_status zp_tensor_cell(const struct zp_config *cfg, const struct zp_cell *cell,
                              struct zp_cell_out *out, struct zp_err *err)
{
    const struct zp_variant *v = &cfg->variants[cell->variant];
    struct zp_csv *rows = &out->rows[ZP_TABLE_TENSORS];
    if (cell->kind == ZP_CELL_SYNTH) {
        const struct zp_synth_cfg *s = &cfg->synth[cell->source];
        float *x = zp_synth_generate(s);
        if (!x)
            return zp_err_set(err, ZP_ENOMEM, "tensors.synthetic '%s': out of memory", s->name);
        int64_t shape[2] = {s->channels, s->n / s->channels};
        enum zp_status st = one_tensor(v, "synthetic", s->name, zp_distribution_name(s->dist), x,
                                       shape, 2, rows, err);
        zp_free(x);
        return st;
    }
    const char *path = cfg->weight_models[cell->source];
    struct zp_graph *g = NULL;
    if (zp_onnx_load(path, &g, err))
        return err->status;
    char model[256];
    zp_path_stem(path, model, sizeof model);
    enum zp_status st = ZP_OK;
    for (int l = 0; l < zp_graph_num_layers(g) && st == ZP_OK; l++) {
        const struct zp_layer_info *li = zp_graph_layer(g, l);
        const char *kind = li->depthwise ? "depthwise" : li->op;
        st = one_tensor(v, model, li->name, kind, li->weight, li->wshape, li->wndim, rows, err);
        if (st)
            zp_err_prefix(err, "%s", path);
    }
    zp_graph_free(g);
    return st;
}
