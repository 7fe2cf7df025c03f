/* Training-runtime checks shared by tests/test_train_grad.c, test_export.c and
 * test_train_linear.c (tests/train_checks.c). */
#ifndef ZP_TESTS_TRAIN_CHECKS_H
#define ZP_TESTS_TRAIN_CHECKS_H

#include <stddef.h>

struct zp_mobilenet_arch;
struct zp_tnet;
struct zp_gtrain;

/* The described network net (its parameters and BN statistics as they are) as a
 * training graph for batches of up to max_batch (asserts on failure). */
struct zp_gtrain *zp_test_graph_of(const struct zp_tnet *net, int max_batch);

/* Relative error ||a - b|| / max(||a||, ||b||). */
double zp_test_rel_err(const double *a, const double *b, size_t n);
/* Builds the network as a training graph (seed 3), randomizes its BN affine
 * parameters, and checks the loss gradient of every parameter against central finite differences (step eps,
 * relative error <= 5e-2) on a batch of 4 random inputs. */
void zp_test_gradcheck_mobilenet(const struct zp_mobilenet_arch *a, float eps);
/* The ONNX file (inference loader) and its checkpoint (opened as a training
 * graph) agree on 500 Fashion-MNIST test images and are
 * well above chance; skip() without the files or the data. */
void zp_test_check_shipped(const char *onnx, const char *ckpt);

/* A synthetic IDX task of 8x8 grey images, four classes (a texture each plus
 * noise): train (320) and test (96) files in the temporary folder named by tag,
 * whose path is returned. */
const char *zp_test_train_data(const char *tag);
/* A train config for that data at path; model: the JSON of "model" (an object or
 * a quoted path), extra: more top-level members (", \"k\": v") or NULL. */
void zp_test_train_config(const char *path, const char *dir, const char *model, int epochs,
                          const char *extra);
/* Loads the train config at cfgpath and runs it quietly (resume, stop_after as
 * struct zp_train_run); asserts success, returns the test top-1. */
double zp_test_train_run(const char *cfgpath, int resume, int stop_after);
/* Byte-identical files (both readable). */
int zp_test_files_equal(const char *a, const char *b);

#endif
