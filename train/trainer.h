/* The training loop (on the graph runtime, train/gtrain.h): mini-batch SGD with momentum and weight decay, a learning-
 * rate schedule, per-epoch evaluation, progress on stderr, a checkpoint after
 * every epoch (resume loses no finished epoch) and the final ONNX export with BN
 * folded. Deterministic for a given seed: the shuffle of epoch e is drawn from
 * (seed, e), so a resumed run sees the same batches as an uninterrupted one. */
#ifndef ZP_TRAIN_TRAINER_H
#define ZP_TRAIN_TRAINER_H

#include <stdint.h>

#include "common/err.h"
#include "data/dataset.h"
#include "schemes/scheme.h"
#include "train/tnet.h"

#ifdef __cplusplus
extern "C" {
#endif

enum zp_lr_schedule { ZP_LR_COSINE, ZP_LR_STEP, ZP_LR_CONSTANT };
/* ONNX: "model": "path.onnx", any model in the runtime's op set, trained on the
 * graph runtime (train/gtrain.h). */
enum zp_model_kind { ZP_MODEL_MOBILENET, ZP_MODEL_MLP, ZP_MODEL_ONNX };

/* The update rule. Adam (Kingma & Ba 2015; decoupled weight decay, Loshchilov &
 * Hutter 2019) scales each weight's step by its own gradient history, which a
 * BN-less graph with folded weights of very different magnitudes per layer needs:
 * one SGD learning rate there is either too small for the small layers or
 * diverges on the large ones. */
enum zp_optimizer { ZP_OPT_SGD = 0, ZP_OPT_ADAM };

struct zp_sgd {
    double lr, momentum, weight_decay;  /* adam: momentum is beta1 */
    enum zp_optimizer optimizer;        /* 0 (the zero value): SGD with momentum */
    enum zp_lr_schedule schedule;
    double warmup_epochs;  /* linear warmup from lr/10 (cosine and step) */
    int step_epochs;       /* step: multiply by step_gamma every step_epochs */
    double step_gamma;
};

struct zp_train_config {
    char name[128];
    enum zp_model_kind model;
    struct zp_mobilenet_arch mobilenet;
    struct zp_mlp_arch mlp;
    char model_path[1024];  /* ZP_MODEL_ONNX: the model file */
    struct zp_dataset_spec train_spec, test_spec; /* strings point into the path fields */
    char train_images[1024], train_labels[1024], test_images[1024], test_labels[1024];
    float mean, std;        /* input normalization: (pixel * scale - mean) / std */
    double scale;           /* 1 unless the config says (exact for 1/N: data/dataset.h) */
    int epochs, batch;
    struct zp_sgd sgd;
    int hflip;              /* augmentation: random horizontal flip */
    uint64_t seed;
    int limit_train, limit_test; /* 0 = all */
    char output[1024];      /* ONNX file */
    char checkpoint[1024];  /* checkpoint file ("" = <output without .onnx>.ckpt) */
    struct {                /* "qat": fine-tune a float checkpoint instead (train/qat.h) */
        int present;
        char checkpoint[1024];
        int epochs;         /* 0: no training, the post-training quantization baseline */
        double lr;
        long bn_freeze_steps;
        double act_ema;
        struct zp_scheme_config w, a;
        int has_acts;
    } qat;
};

struct zp_train_run {
    int resume;   /* continue from the checkpoint if it exists */
    int quiet;    /* no progress lines */
    int threads;  /* 0 = OpenMP default */
    int stop_after; /* > 0: return after this many epochs of this process (the
                       checkpoint is written, no ONNX): an interruption, for tests */
};

struct zp_train_summary {
    int epochs_done;
    double test_top1;   /* fraction, evaluation-mode network (same as the exported model) */
    double seconds;     /* wall time of the epochs run in this process */
};

/* Builds the network of cfg (He init from cfg->seed). */
enum zp_status zp_train_build_net(const struct zp_train_config *cfg, struct zp_tnet **net,
                                  struct zp_err *err);

/* The built-in model of cfg (mobilenet / mlp, He init from cfg->seed) as an ONNX
 * training graph in a malloc'ed buffer (free() it): BatchNormalization kept as
 * nodes, what a training loader that keeps BN loads (train/onnx_export.h). */
enum zp_status zp_train_model_onnx(const struct zp_train_config *cfg, uint8_t **buf, size_t *len,
                                   struct zp_err *err);

/* Trains per cfg on the graph runtime (any cfg->model), writes the checkpoint
 * each epoch and the ONNX (BN folded) at the end. */
enum zp_status zp_train_run(const struct zp_train_config *cfg, const struct zp_train_run *run,
                            struct zp_train_summary *sum, struct zp_err *err);

/* The checkpoint file of cfg: "checkpoint", else the output with .ckpt for .onnx. */
void zp_train_checkpoint_path(const struct zp_train_config *cfg, char *out, size_t len);
/* The exported model's doc string: how it was trained, the input normalization. */
void zp_train_doc(const struct zp_train_config *cfg, const struct zp_dataset *tr, double top1,
                  char *doc, size_t len);

/* Mean loss, top-1 and speed of one epoch on its training batches. */
struct zp_epoch_stats {
    double loss, top1, examples_per_s;
};

/* Learning rate at optimizer step `step` of `total` (steps_per_epoch for warmup / step). */
double zp_sgd_lr(const struct zp_sgd *s, long step, long total, long steps_per_epoch);
/* One SGD step of one tensor (m: its momentum buffer; decay: weight decay applies). */
void zp_sgd_update(float *w, const float *g, float *m, size_t n, int decay,
                   const struct zp_sgd *s, double lr);
/* One Adam step of one tensor: m, v its first and second moment buffers, t the
 * step number from 1 (bias correction); beta2 0.999, eps 1e-8. */
void zp_adam_update(float *w, const float *g, float *m, float *v, size_t n, int decay,
                    const struct zp_sgd *s, double lr, long t);

/* Checkpoints of the former layer runtime ("ZPTCKPT2": every parameter, momentum
 * buffer and BN running statistic plus the number of finished epochs; the layer
 * structure is checked on load), read so that the shipped models/ *.ckpt and
 * older runs stay usable: train/gtrain.h opens them as training graphs. New
 * checkpoints are train/gtrain.h's. Momentum buffers are skipped. */
enum zp_status zp_checkpoint_load(struct zp_tnet *net, int *epochs_done, const char *path,
                                  struct zp_err *err);
/* Builds the network a checkpoint describes and loads it (QAT starts from this). */
enum zp_status zp_checkpoint_open(const char *path, struct zp_tnet **net, int *epochs_done,
                                  struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
