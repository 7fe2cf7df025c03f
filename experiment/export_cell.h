/* One `both` cell of a config, quantized exactly as `harness run` quantizes it
 * (experiment/qnet.c: weights fitted by the scheme, activation ranges from the
 * cell's calibration, bias correction / int32 biases when the variant asks), and
 * turned into the 8-bit codes and scales of ONNX QDQ (train/onnx_qdq.h). Used by
 * `harness export` and by the tests that run the export in ONNX Runtime against
 * the harness's own pass of the same cell. */
#ifndef ZP_EXPERIMENT_EXPORT_CELL_H
#define ZP_EXPERIMENT_EXPORT_CELL_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "experiment/runner.h"
#include "model/graph.h"
#include "train/onnx_qdq.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zp_export_cell;

/* label: a variant's label, or its config entry's label when that names one
 * variant; model: a model name, NULL for the config's only model. Unknown or
 * ambiguous names are ZP_ECONFIG errors listing the valid ones; a scheme with no
 * 8-bit QDQ form (codebooks, binary, 4-bit, per-group, float formats) is
 * ZP_EUNSUPPORTED naming the scheme. opts: limit and threads as in a run. */
enum zp_status zp_export_cell_open(const struct zp_config *cfg, const char *label, const char *model,
                                   const struct zp_run_opts *opts, struct zp_export_cell **out,
                                   struct zp_err *err);
void zp_export_cell_free(struct zp_export_cell *c);

/* The QDQ model of the cell, packed (free()). */
enum zp_status zp_export_cell_onnx(const struct zp_export_cell *c, uint8_t **buf, size_t *len,
                                   struct zp_err *err);

/* The harness's fake-quant `both` pass of the cell on n inputs (the model's input
 * layout, already normalized) into logits[n x classes]. */
enum zp_status zp_export_cell_fakequant(struct zp_export_cell *c, const float *x, int n,
                                        float *logits, struct zp_err *err);

/* The evaluation examples the cell's model was loaded with (normalized inputs,
 * example_size floats each), their count, and the number of classes. */
const float *zp_export_cell_eval(const struct zp_export_cell *c, long *n, size_t *example_size,
                                 int64_t *classes);
const struct zp_graph *zp_export_cell_graph(const struct zp_export_cell *c);
/* The codes and quantizers written, one entry per layer of the graph. */
const struct zp_qdq_layer *zp_export_cell_layers(const struct zp_export_cell *c);
const char *zp_export_cell_label(const struct zp_export_cell *c); /* the variant's full label */

#ifdef __cplusplus
}
#endif
#endif
