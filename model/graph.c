/* The executor: runs the loaded graph on a batch, plus the accessors and the
 * printout behind `harness inspect`.
 *
 * Two schedules share the per-image kernels (model/ops_*.c):
 *  - fast (no hooks, or per-image hooks only): each OpenMP thread takes whole
 *    images and runs the entire graph on them in a private workspace that stays
 *    in cache; a layer applies its Relu/Clip itself, or after its per-image
 *    output hooks when it has some.
 *  - hooked (batch hooks: layer_input / layer_output_edit / layer_output): node
 *    by node over the whole batch, images of one node spread over the threads,
 *    callbacks between nodes. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "model/graph_internal.h"

void zp_graph_free(struct zp_graph *g)
{
    if (!g)
        return;
    zp_layer_panels_free(g);
    for (int i = 0; i < g->n_tensors; i++) {
        zp_free(g->tensors[i].data);
        zp_free(g->tensors[i].idata);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        free(g->nodes[i].scale);
        free(g->nodes[i].shift);
        free(g->nodes[i].rs);
        free(g->nodes[i].cond);
    }
    for (int i = 0; i < g->n_layers; i++) {
        zp_free(g->layer_w[i]);
        zp_free(g->layer_b[i]);
    }
    for (int i = 0; i < g->n_strings; i++)
        free(g->strings[i]);
    free(g->strings);
    free(g->tensors);
    free(g->nodes);
    free(g->layers);
    free(g->layer_node);
    free(g->layer_w);
    free(g->layer_b);
    free(g);
}

int zp_graph_input_shape(const struct zp_graph *g, int64_t shape[4])
{
    if (g->n_inputs > 1) { /* the concatenation, flat */
        shape[0] = g->in_size;
        return 1;
    }
    const struct zp_tensor *t = &g->tensors[g->input];
    for (int i = 1; i < t->ndim; i++)
        shape[i - 1] = t->dims[i];
    return t->ndim - 1;
}

int zp_graph_num_inputs(const struct zp_graph *g) { return g->n_inputs; }

int zp_graph_input_info(const struct zp_graph *g, int i, const char **name, int64_t shape[4],
                        int *is_index, int64_t *offset)
{
    if (i < 0 || i >= g->n_inputs)
        return -1;
    int64_t off = 0;
    for (int k = 0; k < i; k++)
        off += g->tensors[g->inputs[k]].size;
    const struct zp_tensor *t = &g->tensors[g->inputs[i]];
    if (name)
        *name = t->name;
    for (int d = 1; shape && d < t->ndim; d++)
        shape[d - 1] = t->dims[d];
    if (is_index)
        *is_index = t->is_index;
    if (offset)
        *offset = off;
    return t->ndim - 1;
}

void zp_inputs_scatter(const struct zp_graph *g, const float *input, int64_t first, int64_t count,
                       float *const *dst)
{
    int64_t off = 0;
    for (int k = 0; k < g->n_inputs; k++) {
        const int64_t sz = g->tensors[g->inputs[k]].size;
        for (int64_t j = 0; j < count; j++)
            memcpy(dst[k] + j * sz, input + (first + j) * g->in_size + off,
                   (size_t)sz * sizeof(float));
        off += sz;
    }
}

int64_t zp_graph_output_size(const struct zp_graph *g) { return g->tensors[g->output].size; }
int zp_graph_num_layers(const struct zp_graph *g) { return g->n_layers; }

int zp_graph_num_act_matmuls(const struct zp_graph *g)
{
    int n = 0;
    for (int k = 0; k < g->n_nodes; k++)
        n += g->nodes[k].op == ZP_OP_MATMUL;
    return n;
}

int zp_graph_num_tables(const struct zp_graph *g)
{
    int n = 0;
    for (int k = 0; k < g->n_nodes; k++)
        n += g->nodes[k].op == ZP_OP_GATHER;
    return n;
}

const char *zp_graph_table(const struct zp_graph *g, int i, int64_t *rows, int64_t *cols,
                           const float **data)
{
    for (int k = 0; k < g->n_nodes; k++) {
        const struct zp_node *n = &g->nodes[k];
        if (n->op != ZP_OP_GATHER || i--)
            continue;
        const struct zp_tensor *T = &g->tensors[n->in[1]];
        if (rows)
            *rows = T->dims[0];
        if (cols)
            *cols = n->mm_cols;
        if (data)
            *data = T->data;
        return T->name;
    }
    return NULL;
}

const char *zp_graph_act_matmul(const struct zp_graph *g, int i, int64_t *na, int64_t *nb)
{
    for (int k = 0; k < g->n_nodes; k++) {
        const struct zp_node *n = &g->nodes[k];
        if (n->op != ZP_OP_MATMUL || i--)
            continue;
        if (na)
            *na = g->tensors[n->in[0]].size;
        if (nb)
            *nb = g->tensors[n->in[1]].size;
        return n->name;
    }
    return NULL;
}

const struct zp_layer_info *zp_graph_layer(const struct zp_graph *g, int i)
{
    return i >= 0 && i < g->n_layers ? &g->layers[i] : NULL;
}

/* ---- execution -------------------------------------------------------------- */

static void layer_exec(const struct zp_graph *g, const struct zp_node *n,
                       const struct zp_run_hooks *h, int fuse, struct zp_exec *e)
{
    int l = n->layer;
    e->w = h && h->weights && h->weights[l] ? h->weights[l] : g->layer_w[l];
    e->b = h && h->biases && h->biases[l] ? h->biases[l] : g->layer_b[l];
    e->pad = h && h->pad_value ? h->pad_value[l] : 0.f;
    e->act = fuse && n->fuse;
    e->lo = n->lo;
    e->hi = n->hi;
}

static void run_node(const struct zp_graph *g, const struct zp_node *n, const float *x0,
                     const float *x1, float *y, const struct zp_exec *e)
{
    switch (n->op) {
    case ZP_OP_CONV: zp_op_conv(g, n, x0, y, e); break;
    case ZP_OP_GEMM: zp_op_gemm(g, n, x0, y, e); break;
    case ZP_OP_ADD:
    case ZP_OP_MUL:
    case ZP_OP_SUB: case ZP_OP_DIV: case ZP_OP_MAX: case ZP_OP_MIN: case ZP_OP_POW:
    case ZP_OP_CONCAT: case ZP_OP_WHERE:
        zp_op_binary(g, n, x0, x1, y); break;
    case ZP_OP_AVGPOOL:
    case ZP_OP_MAXPOOL: zp_op_pool(g, n, x0, y); break;
    case ZP_OP_GAP: zp_op_gap(g, n, x0, y); break;
    case ZP_OP_MATMUL: zp_op_matmul(n, x0, x1, y, e->scratch); break;
    case ZP_OP_GATHER: zp_op_gather(g, n, NULL, x0, y); break;
    default: zp_op_unary(g, n, x0, y); break;
    }
}

static const float *in_ptr(const struct zp_graph *g, int t, float *base, int64_t stride_mul,
                           int64_t i)
{
    const struct zp_tensor *T = &g->tensors[t];
    if (T->is_const)
        return T->data;
    return base + (int64_t)T->offset * stride_mul + i * T->size;
}

int zp_graph_max_threads(void) { return omp_get_max_threads(); }

int zp_graph_input_is_index(const struct zp_graph *g) { return g->tensors[g->input].is_index; }

/* An int64 input: every value an integer (exact in float below 2^24), and a row
 * of every table a Gather reads it with. Checked before the run, so a bad id is
 * an error naming it (element i of image b) rather than a NaN row in the logits. */
static enum zp_status check_ids(const struct zp_graph *g, int in, int64_t off, const float *input,
                                int batch, struct zp_err *err)
{
    const struct zp_tensor *X = &g->tensors[in];
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < X->size; i++) {
            const float v = input[b * g->in_size + off + i];
            if (!(v == floorf(v)) || fabsf(v) >= 16777216.f)
                return zp_err_set(err, ZP_EINVAL, "graph run: input '%s' element %lld is %g, not "
                                  "an integer id below 2^24", X->name,
                                  (long long)(b * X->size + i), (double)v);
            for (int k = 0; k < g->n_nodes; k++) {
                const struct zp_node *nd = &g->nodes[k];
                if (nd->op == ZP_OP_GATHER && nd->in[0] == in && zp_gather_row(g, nd, v) < 0)
                    return zp_err_set(err, ZP_EINVAL, "graph run: input '%s' element %lld: id "
                                      "%lld outside table '%s' (%lld rows) of Gather '%s'",
                                      X->name, (long long)(b * X->size + i), (long long)v,
                                      g->tensors[nd->in[1]].name,
                                      (long long)g->tensors[nd->in[1]].dims[0], nd->name);
            }
        }
    return ZP_OK;
}

/* A layer's fused activation with a per-channel upper clamp (zp_run_hooks.act_hi):
 * y is one image's output, channels x positions. */
static void clamp_channels(const struct zp_graph *g, const struct zp_node *n, float *y,
                           const float *hi)
{
    const struct zp_tensor *T = &g->tensors[n->out];
    const int64_t C = T->ndim > 1 ? T->dims[1] : 1, S = T->size / (C > 0 ? C : 1);
    for (int64_t c = 0; c < C; c++)
        zp_clamp(y + c * S, S, n->lo, hi[c]);
}

static enum zp_status run_fast(struct zp_graph *g, const float *input, int batch, float *logits,
                               const struct zp_run_hooks *hooks, struct zp_err *err)
{
    const int64_t osz = g->tensors[g->output].size;
    const struct zp_run_hooks none = {0}, *h = hooks ? hooks : &none;
    /* With an output hook, a layer's kernel leaves out its activation, which is
     * applied after the hooks, in place (the skipped Relu/Clip node's output
     * aliases the layer's). */
    const int out_hooks = h->layer_output_edit_image || h->layer_output_image;
    int64_t max_in = 0, max_mm = 0;
    for (int l = 0; h->layer_input_image && l < g->n_layers; l++) {
        int64_t s = g->tensors[g->nodes[g->layer_node[l]].in[0]].size;
        max_in = s > max_in ? s : max_in;
    }
    for (int k = 0; h->act_matmul_image && k < g->n_nodes; k++) {
        const struct zp_node *n = &g->nodes[k];
        if (n->op != ZP_OP_MATMUL)
            continue;
        int64_t s = g->tensors[n->in[0]].size + g->tensors[n->in[1]].size;
        max_mm = s > max_mm ? s : max_mm;
    }
    int failed = 0;
#pragma omp parallel
    {
        const int th = omp_get_thread_num();
        /* workspace | scratch | (layer_input_image) a private copy of the layer input |
         * (act_matmul_image) private copies of a MatMul's two operands */
        float *ws = zp_alloc((size_t)(g->ws_size + g->scratch_size + 16 + max_in + max_mm) * sizeof(float));
        float *copy = ws ? ws + g->ws_size + g->scratch_size + 16 : NULL;
        float *mm_copy = copy ? copy + max_in : NULL;
        if (!ws) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int i = 0; i < batch; i++) {
            if (!ws)
                continue;
            struct zp_exec e = {0};
            e.scratch = ws + g->ws_size;
            float *dst[ZP_MAX_INPUTS];
            for (int k = 0; k < g->n_inputs; k++)
                dst[k] = ws + g->tensors[g->inputs[k]].offset;
            zp_inputs_scatter(g, input, i, 1, dst);
            for (int k = 0, amm = 0, tab = 0; k < g->n_nodes; k++) {
                const struct zp_node *n = &g->nodes[k];
                if (n->skip_fast || n->alias)
                    continue;
                const float *x0 = in_ptr(g, n->in[0], ws, 1, 0);
                float *y = ws + g->tensors[n->out].offset;
                if (n->op == ZP_OP_GATHER && h->tables) {
                    zp_op_gather(g, n, h->tables[tab++], x0, y);
                    continue;
                }
                if (n->op == ZP_OP_MATMUL && h->act_matmul_image) {
                    const int64_t na = g->tensors[n->in[0]].size, nb = g->tensors[n->in[1]].size;
                    memcpy(mm_copy, x0, (size_t)na * sizeof(float));
                    memcpy(mm_copy + na, in_ptr(g, n->in[1], ws, 1, 0), (size_t)nb * sizeof(float));
                    h->act_matmul_image(h->ctx, amm++, i, th, mm_copy, mm_copy + na);
                    run_node(g, n, mm_copy, mm_copy + na, y, &e);
                    continue;
                }
                const int l = n->layer;
                /* a per-channel clamp (act_hi) runs after the layer, like output hooks */
                const float *chi = l >= 0 && h->act_hi && n->fuse ? h->act_hi[l] : NULL;
                if (l >= 0) {
                    layer_exec(g, n, hooks, !out_hooks && !chi, &e);
                    if (h->layer_input_observe_image)
                        h->layer_input_observe_image(h->ctx, l, i, th, x0);
                    if (h->layer_input_image) {
                        h->layer_input_image(h->ctx, l, i, th, x0, copy);
                        x0 = copy;
                    }
                }
                run_node(g, n, x0,
                         n->n_in > 1 ? in_ptr(g, n->in[1], ws, 1, 0) : NULL, y, &e);
                if (l >= 0 && (out_hooks || chi)) {
                    if (h->layer_output_edit_image)
                        h->layer_output_edit_image(h->ctx, l, i, th, y);
                    if (h->layer_output_image)
                        h->layer_output_image(h->ctx, l, i, th, y);
                    if (chi)
                        clamp_channels(g, n, y, chi);
                    else if (n->fuse)
                        zp_clamp(y, g->tensors[n->out].size, n->lo, n->hi);
                }
            }
            memcpy(logits + (int64_t)i * osz, ws + g->tensors[g->output].offset,
                   (size_t)osz * sizeof(float));
        }
        zp_free(ws);
    }
    if (failed)
        return zp_err_set(err, ZP_ENOMEM, "graph run: out of memory for the workspace "
                          "(%lld floats per thread)", (long long)(g->ws_size + g->scratch_size));
    return ZP_OK;
}

/* A Relu/Clip not yet applied to tensor t (hooked schedule, see run_hooked). */
struct pending {
    int t;
    float lo, hi;
};

static void pend_flush(const struct zp_graph *g, struct pending *p, float *arena, int64_t B)
{
    if (p->t < 0)
        return;
    const struct zp_tensor *T = &g->tensors[p->t];
    float *base = arena + (int64_t)T->offset * B;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < B; i++)
        zp_clamp(base + i * T->size, T->size, p->lo, p->hi);
    p->t = -1;
}

/* A Flatten/Reshape alias of the pending tensor: same storage, so the clamp can
 * follow it unless the old name has other readers (then apply it now). */
static void pend_move(const struct zp_graph *g, struct pending *p, int to, float *arena, int64_t B)
{
    if (g->tensors[p->t].n_consumers > 1) {
        pend_flush(g, p, arena, B);
        return;
    }
    p->t = to;
}

static enum zp_status run_hooked(struct zp_graph *g, const float *input, int batch, float *logits,
                                 const struct zp_run_hooks *h, struct zp_err *err)
{
    const int64_t B = batch;
    int64_t max_in = 0;
    for (int l = 0; l < g->n_layers; l++) {
        int64_t s = g->tensors[g->nodes[g->layer_node[l]].in[0]].size;
        max_in = s > max_in ? s : max_in;
    }
    int nth = omp_get_max_threads();
    if (g->ws_size > (int64_t)(SIZE_MAX / sizeof(float) / 2) / B)
        return zp_err_set(err, ZP_ENOMEM, "graph run: a batch of %d needs more memory than "
                          "addressable (%lld floats per image)", batch, (long long)g->ws_size);
    float *arena = zp_alloc((size_t)(g->ws_size * B) * sizeof(float));
    float *copy = h->layer_input ? zp_alloc((size_t)(max_in * B) * sizeof(float)) : NULL;
    float *scratch = zp_alloc((size_t)((g->scratch_size + 16) * nth) * sizeof(float));
    if (!arena || (h->layer_input && !copy) || !scratch) {
        zp_free(arena);
        zp_free(copy);
        zp_free(scratch);
        return zp_err_set(err, ZP_ENOMEM, "graph run: out of memory for a batch of %d", batch);
    }
    const struct zp_tensor *Y = &g->tensors[g->output];
    float *dst[ZP_MAX_INPUTS];
    for (int k = 0; k < g->n_inputs; k++)
        dst[k] = arena + g->tensors[g->inputs[k]].offset * B;
    zp_inputs_scatter(g, input, 0, B, dst);
    /* Callbacks run between parallel regions (never inside one), so they may use
     * OpenMP themselves with the whole team.
     * With layer_output or layer_output_edit, a layer's Relu/Clip must wait until
     * the callbacks have seen (and edited) the pre-activation batch. Rather than a parallel pass of its own (one more
     * barrier per layer, costly when other jobs share the cores), the clamp is
     * left pending on its tensor and done per image by the next node that reads it. */
    struct pending pend = {-1, 0.f, 0.f};
    const int late = h->layer_output || h->layer_output_edit; /* activations applied late */
    for (int k = 0; k < g->n_nodes; k++) {
        const struct zp_node *n = &g->nodes[k];
        if (n->op == ZP_OP_COPY && n->alias) {
            if (pend.t >= 0 && n->in[0] == pend.t)
                pend_move(g, &pend, n->out, arena, B); /* same storage, new name */
            continue;
        }
        if (n->skip_fast) { /* applied by its layer, or left pending */
            if (late) {
                pend_flush(g, &pend, arena, B);
                pend.t = n->out;
                pend.lo = n->lo;
                pend.hi = n->hi;
            }
            continue;
        }
        const int clamp0 = pend.t >= 0 && n->in[0] == pend.t;
        const int clamp1 = pend.t >= 0 && n->n_in > 1 && n->in[1] == pend.t;
        struct zp_exec e = {0};
        float *xin = (float *)in_ptr(g, n->in[0], arena, B, 0);
        int64_t xs = g->tensors[n->in[0]].is_const ? 0 : g->tensors[n->in[0]].size;
        int copied = 0;
        if (n->layer >= 0) {
            layer_exec(g, n, h, !late, &e);
            if (h->layer_input) {
#pragma omp parallel for schedule(static)
                for (int i = 0; i < batch; i++) {
                    if (clamp0)
                        zp_clamp(xin + i * xs, xs, pend.lo, pend.hi);
                    memcpy(copy + i * xs, xin + i * xs, (size_t)xs * sizeof(float));
                }
                copied = 1;
                h->layer_input(h->ctx, n->layer, copy, batch);
                xin = copy;
            }
        }
        const struct zp_tensor *O = &g->tensors[n->out];
        float *yout = arena + O->offset * B;
        float *x1 = n->n_in > 1 ? (float *)in_ptr(g, n->in[1], arena, B, 0) : NULL;
        int64_t x1s = n->n_in > 1 && !g->tensors[n->in[1]].is_const ? g->tensors[n->in[1]].size : 0;
#pragma omp parallel for schedule(dynamic, 1)
        for (int i = 0; i < batch; i++) {
            struct zp_exec ei = e;
            ei.scratch = scratch + (int64_t)omp_get_thread_num() * (g->scratch_size + 16);
            if (clamp0 && !copied)
                zp_clamp(xin + i * xs, xs, pend.lo, pend.hi);
            if (clamp1 && !(clamp0 && x1 == xin))
                zp_clamp(x1 + i * x1s, x1s, pend.lo, pend.hi);
            run_node(g, n, xin + i * xs, x1 ? x1 + i * x1s : NULL, yout + i * O->size, &ei);
        }
        if (clamp0 || clamp1)
            pend.t = -1;
        if (n->layer >= 0 && h->layer_output_edit)
            h->layer_output_edit(h->ctx, n->layer, yout, batch);
        if (n->layer >= 0 && h->layer_output)
            h->layer_output(h->ctx, n->layer, yout, batch);
    }
    pend_flush(g, &pend, arena, B);
    memcpy(logits, arena + Y->offset * B, (size_t)(Y->size * B) * sizeof(float));
    zp_free(arena);
    zp_free(copy);
    zp_free(scratch);
    return ZP_OK;
}

enum zp_status zp_graph_run(struct zp_graph *g, const float *input, int batch, float *logits,
                            const struct zp_run_hooks *hooks, struct zp_err *err)
{
    if (!g || !input || !logits || batch < 1)
        return zp_err_set(err, ZP_EINVAL, "graph run: need a graph, input, logits and batch >= 1 "
                          "(got batch %d)", batch);
    int per_batch = hooks && (hooks->layer_input || hooks->layer_output || hooks->layer_output_edit);
    int per_image = hooks && (hooks->layer_input_image || hooks->layer_input_observe_image ||
                              hooks->layer_output_edit_image || hooks->layer_output_image ||
                              hooks->act_matmul_image);
    if (per_batch && per_image)
        return zp_err_set(err, ZP_EINVAL, "graph run: hooks mix batch callbacks (node-by-node "
                          "schedule) with per-image ones (fast schedule); use one family");
    for (int k = 0, off = 0; k < g->n_inputs; off += (int)g->tensors[g->inputs[k]].size, k++)
        if (g->tensors[g->inputs[k]].is_index) {
            enum zp_status st = check_ids(g, g->inputs[k], off, input, batch, err);
            if (st)
                return st;
        }
    if (per_batch && hooks->tables)
        return zp_err_set(err, ZP_EINVAL, "graph run: replacement lookup tables (tables) run in the "
                          "fast schedule only (per-image hooks)");
    if (per_batch && hooks->act_hi)
        return zp_err_set(err, ZP_EINVAL, "graph run: per-channel activation clamps (act_hi) "
                          "run in the fast schedule only (per-image hooks)");
    if (per_batch)
        return run_hooked(g, input, batch, logits, hooks, err);
    return run_fast(g, input, batch, logits, hooks, err);
}
