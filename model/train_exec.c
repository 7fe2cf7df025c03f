/* The training graph: state, parameter list, batch forward with every activation
 * kept, and backward node by node in reverse order (model/graph_train.h).
 *
 * Forward reuses the runtime's per-image kernels (model/ops_*.c) with the fused
 * activation off (each Relu / Clip runs as its own node, so its input is kept
 * for the backward pass); images are spread over the OpenMP threads. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "model/train_internal.h"


static int64_t layer_wsize(const struct zp_graph *g, int l)
{
    const struct zp_layer_info *li = &g->layers[l];
    int64_t n = 1;
    for (int i = 0; i < li->wndim; i++)
        n *= li->wshape[i];
    return n;
}

static int64_t layer_insize(const struct zp_graph *g, int l)
{
    return g->tensors[g->nodes[g->layer_node[l]].in[0]].size;
}

void zp_tgraph_free(struct zp_tgraph *t)
{
    if (!t)
        return;
    for (int i = 0; t->params && i < t->n_params; i++)
        zp_free(t->params[i].g);
    for (int l = 0; t->L && l < t->g->n_layers; l++) {
        zp_free(t->L[l].wq);
        zp_free(t->L[l].wmask);
        zp_free(t->L[l].xq);
        zp_free(t->L[l].xmask);
    }
    for (int i = 0; t->bn && i < t->n_bn; i++) {
        free(t->bn[i].mean);
        free(t->bn[i].invstd);
    }
    zp_free(t->store);
    zp_free(t->scratch);
    zp_free(t->partial);
    zp_free(t->tmp);
    zp_free(t->in_grad);
    free(t->act);
    free(t->grad);
    free(t->params);
    free(t->L);
    free(t->bn);
    free(t->node_bn);
    free(t->node_tab);
    free(t->gstart);
    free(t);
}

static int add_param(struct zp_tgraph *t, const char *name, enum zp_gparam_kind kind, float *w,
                     size_t n, int layer, int bn)
{
    struct zp_gparam *p = &t->params[t->n_params];
    p->name = name;
    p->kind = kind;
    p->w = w;
    p->n = n;
    p->g = zp_calloc(n ? n : 1, sizeof(float));
    p->decay = kind == ZP_GPARAM_WEIGHT || kind == ZP_GPARAM_TABLE;
    p->layer = layer;
    p->bn = bn;
    if (!p->g)
        return -1;
    t->n_params++;
    return 0;
}

/* The table of Gather node k as a parameter, shared with an earlier Gather of
 * the same table (one parameter, one gradient). */
static int add_table(struct zp_tgraph *t, int k)
{
    const struct zp_tensor *T = &t->g->tensors[t->g->nodes[k].in[1]];
    for (int i = 0; i < t->n_params; i++)
        if (t->params[i].kind == ZP_GPARAM_TABLE && t->params[i].w == T->data) {
            t->node_tab[k] = t->params[i].g;
            return 0;
        }
    if (add_param(t, T->name, ZP_GPARAM_TABLE, T->data, (size_t)T->size, -1, -1))
        return -1;
    t->node_tab[k] = t->params[t->n_params - 1].g;
    return 0;
}

/* Gradient buffers by liveness over the backward pass: the gradient of tensor
 * t is written first by the backward of its last reader (gstart) and read last
 * by its producer's; two gradients whose spans overlap get disjoint memory,
 * first fit. The graph input's lives to the end (zp_tgraph_input_grad). */
static size_t plan_grads(struct zp_tgraph *t, const int *root, const size_t *sz, size_t *goff)
{
    const struct zp_graph *g = t->g;
    const int nt = g->n_tensors;
    int *end = malloc((size_t)nt * sizeof *end);
    int *order = malloc((size_t)nt * sizeof *order);
    if (!end || !order) {
        free(end);
        free(order);
        return SIZE_MAX;
    }
    int n = 0;
    for (int i = 0; i < nt; i++) {
        t->gstart[i] = -2;
        if (g->tensors[i].is_const || root[i] != i)
            continue;
        end[i] = i == g->input ? -1 : g->tensors[i].producer;
        t->gstart[i] = i == g->output ? g->n_nodes : end[i];
        order[n++] = i;
    }
    for (int k = 0; k < g->n_nodes; k++)
        for (int j = 0; j < g->nodes[k].n_in; j++) {
            int x = g->nodes[k].in[j];
            if (x >= 0 && !g->tensors[x].is_const && t->gstart[root[x]] < k)
                t->gstart[root[x]] = k;
        }
    if (root[g->output] != g->output)
        t->gstart[root[g->output]] = g->n_nodes;
    size_t top = 0;
    for (int a = 0; a < n; a++) {
        int i = order[a];
        size_t off = 0;
        for (int moved = 1; moved;) { /* lowest offset clear of every overlapping span */
            moved = 0;
            for (int c = 0; c < a; c++) {
                int j = order[c];
                int overlap = !(end[j] > t->gstart[i] || t->gstart[j] < end[i]);
                if (overlap && off < goff[j] + sz[j] && goff[j] < off + sz[i]) {
                    off = goff[j] + sz[j];
                    moved = 1;
                }
            }
        }
        goff[i] = off;
        top = off + sz[i] > top ? off + sz[i] : top;
    }
    free(end);
    free(order);
    return top;
}

/* Activation storage: one buffer per tensor that is not an alias (a Flatten /
 * Reshape output shares its input's), every one kept for the backward pass;
 * gradients share memory by liveness (plan_grads), an alias its input's. */
static enum zp_status alloc_tensors(struct zp_tgraph *t)
{
    struct zp_graph *g = t->g;
    const int64_t B = t->max_batch;
    const size_t nt = (size_t)g->n_tensors + 1;
    int *root = malloc(nt * sizeof *root);
    size_t *off = malloc(nt * sizeof *off), *sz = malloc(nt * sizeof *sz),
           *goff = malloc(nt * sizeof *goff);
    t->act = calloc(nt, sizeof *t->act);
    t->grad = calloc(nt, sizeof *t->grad);
    t->gstart = malloc(nt * sizeof *t->gstart);
    enum zp_status st = ZP_ENOMEM;
    if (!root || !off || !sz || !goff || !t->act || !t->grad || !t->gstart)
        goto done;
    for (int i = 0; i < g->n_tensors; i++)
        root[i] = i;
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].op == ZP_OP_COPY && g->nodes[k].alias)
            root[g->nodes[k].out] = root[g->nodes[k].in[0]];
    size_t total = 0;
    for (int i = 0; i < g->n_tensors; i++) {
        off[i] = total;
        sz[i] = (size_t)(((g->tensors[i].size * B) + 15) & ~(int64_t)15);
        if (!g->tensors[i].is_const && root[i] == i)
            total += sz[i];
    }
    size_t gtotal = plan_grads(t, root, sz, goff);
    if (gtotal == SIZE_MAX || total > SIZE_MAX / sizeof(float) / 4 ||
        gtotal > SIZE_MAX / sizeof(float) / 4)
        goto done;
    t->store = zp_alloc((total + gtotal) * sizeof(float) + 64);
    if (!t->store)
        goto done;
    for (int i = 0; i < g->n_tensors; i++) {
        if (g->tensors[i].is_const)
            continue;
        t->act[i] = t->store + off[root[i]];
        t->grad[i] = t->store + total + goff[root[i]];
    }
    st = ZP_OK;
done:
    free(root);
    free(off);
    free(sz);
    free(goff);
    return st;
}

enum zp_status zp_tgraph_new(struct zp_graph *g, int max_batch, struct zp_tgraph **out,
                             struct zp_err *err)
{
    *out = NULL;
    if (!g || max_batch < 1)
        return zp_err_set(err, ZP_EINVAL, "training graph: need a graph and max_batch >= 1 "
                          "(got %d)", max_batch);
    struct zp_tgraph *t = calloc(1, sizeof *t);
    if (!t)
        return zp_err_set(err, ZP_ENOMEM, "training graph: out of memory");
    t->g = g;
    t->max_batch = max_batch;
    t->momentum = -1;
    t->nth = omp_get_max_threads();
    int n_bn = zp_graph_num_bn(g);
    t->params = calloc((size_t)(2 * g->n_layers + 2 * n_bn + g->n_nodes + 1), sizeof *t->params);
    t->node_tab = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *t->node_tab);
    t->L = calloc((size_t)(g->n_layers ? g->n_layers : 1), sizeof *t->L);
    t->bn = calloc((size_t)(n_bn ? n_bn : 1), sizeof *t->bn);
    t->node_bn = malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *t->node_bn);
    if (!t->params || !t->L || !t->bn || !t->node_bn || !t->node_tab || alloc_tensors(t))
        goto oom;
    int64_t max_w = 1, max_in = 1, scr = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        const struct zp_node *n = &g->nodes[k];
        t->node_bn[k] = -1;
        int64_t s0 = zp_tg_layer_scratch(g, n, max_batch);
        scr = s0 > scr ? s0 : scr;
        if (n->op == ZP_OP_GATHER && add_table(t, k))
            goto oom;
        if (n->layer >= 0) {
            int l = n->layer;
            int64_t ws = layer_wsize(g, l);
            max_w = ws > max_w ? ws : max_w;
            max_in = layer_insize(g, l) > max_in ? layer_insize(g, l) : max_in;
            if (add_param(t, n->name, ZP_GPARAM_WEIGHT, g->layer_w[l], (size_t)ws, l, -1))
                goto oom;
            t->L[l].dw = t->params[t->n_params - 1].g;
            if (g->layer_b[l]) {
                if (add_param(t, n->name, ZP_GPARAM_BIAS, g->layer_b[l],
                              (size_t)g->layers[l].n_out, l, -1))
                    goto oom;
                t->L[l].db = t->params[t->n_params - 1].g;
            }
        } else if (n->op == ZP_OP_BN) {
            int b = t->n_bn++;
            struct zp_tg_bn *bn = &t->bn[b];
            int64_t C = n->channels;
            t->node_bn[k] = b;
            bn->node = k;
            bn->mean = malloc((size_t)C * sizeof(float));
            bn->invstd = malloc((size_t)C * sizeof(float));
            if (!bn->mean || !bn->invstd ||
                add_param(t, n->name, ZP_GPARAM_GAMMA, n->bn, (size_t)C, -1, b))
                goto oom;
            bn->dgamma = t->params[t->n_params - 1].g;
            if (add_param(t, n->name, ZP_GPARAM_BETA, n->bn + C, (size_t)C, -1, b))
                goto oom;
            bn->dbeta = t->params[t->n_params - 1].g;
        }
    }
    t->scratch_per = ((g->scratch_size > scr ? g->scratch_size : scr) + 64 + 15) & ~(int64_t)15;
    t->scratch = zp_alloc((size_t)(t->scratch_per * t->nth) * sizeof(float));
    t->partial = zp_alloc((size_t)(max_w * ZP_TG_MAX_CHUNKS) * sizeof(float));
    t->tmp = zp_alloc((size_t)(max_in * max_batch) * sizeof(float));
    if (g->n_inputs > 1 && !(t->in_grad = zp_alloc((size_t)(g->in_size * max_batch) * sizeof(float))))
        goto oom;
    if (!t->scratch || !t->partial || !t->tmp)
        goto oom;
    *out = t;
    return ZP_OK;
oom:
    zp_tgraph_free(t);
    return zp_err_set(err, ZP_ENOMEM, "training graph: out of memory for a batch of %d",
                      max_batch);
}

int zp_tgraph_num_params(const struct zp_tgraph *t) { return t->n_params; }

const struct zp_gparam *zp_tgraph_param(const struct zp_tgraph *t, int i)
{
    return i >= 0 && i < t->n_params ? &t->params[i] : NULL;
}

void zp_tgraph_zero_grad(struct zp_tgraph *t)
{
    for (int i = 0; i < t->n_params; i++)
        memset(t->params[i].g, 0, t->params[i].n * sizeof(float));
}

void zp_tgraph_set_bn_momentum(struct zp_tgraph *t, double momentum) { t->momentum = momentum; }
void zp_tgraph_freeze_bn(struct zp_tgraph *t, int frozen) { t->bn_frozen = frozen != 0; }

int zp_tgraph_num_bn(const struct zp_tgraph *t) { return t->n_bn; }

int zp_tgraph_bn(const struct zp_tgraph *t, int i, struct zp_bn_view *out)
{
    if (i < 0 || i >= t->n_bn)
        return -1;
    const struct zp_node *n = &t->g->nodes[t->bn[i].node];
    int64_t C = n->channels;
    out->name = n->name;
    out->channels = C;
    out->gamma = n->bn;
    out->beta = n->bn + C;
    out->mean = n->bn + 2 * C;
    out->var = n->bn + 3 * C;
    out->eps = n->eps;
    out->after_layer = -1;
    int p = t->g->tensors[n->in[0]].producer;
    if (p >= 0 && t->g->nodes[p].layer >= 0 && t->g->tensors[n->in[0]].n_consumers == 1)
        out->after_layer = t->g->nodes[p].layer;
    return 0;
}

int zp_tgraph_bn_after_layer(const struct zp_tgraph *t, int layer)
{
    struct zp_bn_view v;
    for (int i = 0; i < t->n_bn; i++)
        if (zp_tgraph_bn(t, i, &v) == 0 && v.after_layer == layer)
            return i;
    return -1;
}

enum zp_status zp_tgraph_set_weight_fn(struct zp_tgraph *t, int layer, zp_weight_fn fn, void *ctx,
                                       struct zp_err *err)
{
    if (layer < 0 || layer >= t->g->n_layers)
        return zp_err_set(err, ZP_EINVAL, "training graph: no layer %d (%d layers)", layer,
                          t->g->n_layers);
    struct zp_tg_layer *L = &t->L[layer];
    int64_t n = layer_wsize(t->g, layer);
    if (fn && !L->wq) {
        L->wq = zp_alloc((size_t)n * sizeof(float));
        L->wmask = zp_alloc((size_t)n);
        if (!L->wq || !L->wmask)
            return zp_err_set(err, ZP_ENOMEM, "training graph: out of memory (layer %d weights)",
                              layer);
    }
    L->wfn = fn;
    L->wctx = ctx;
    return ZP_OK;
}

enum zp_status zp_tgraph_set_input_fn(struct zp_tgraph *t, int layer, zp_input_fn fn, void *ctx,
                                      struct zp_err *err)
{
    if (layer < 0 || layer >= t->g->n_layers)
        return zp_err_set(err, ZP_EINVAL, "training graph: no layer %d (%d layers)", layer,
                          t->g->n_layers);
    struct zp_tg_layer *L = &t->L[layer];
    size_t n = (size_t)(layer_insize(t->g, layer) * t->max_batch);
    if (fn && !L->xq) {
        L->xq = zp_alloc(n * sizeof(float));
        L->xmask = zp_alloc(n);
        if (!L->xq || !L->xmask)
            return zp_err_set(err, ZP_ENOMEM, "training graph: out of memory (layer %d input)",
                              layer);
    }
    L->ifn = fn;
    L->ictx = ctx;
    return ZP_OK;
}

const float *zp_tgraph_weight_used(const struct zp_tgraph *t, int layer)
{
    if (layer < 0 || layer >= t->g->n_layers)
        return NULL;
    return t->L[layer].wfn ? t->L[layer].wq : t->g->layer_w[layer];
}

const float *zp_tgraph_input_grad(const struct zp_tgraph *t)
{
    return t->in_grad ? t->in_grad : t->grad[t->g->input];
}

void zp_tgraph_sync(struct zp_tgraph *t)
{
    zp_layer_weights_edited(t->g, -1);
    for (int i = 0; i < t->n_bn; i++) {
        struct zp_node *n = &t->g->nodes[t->bn[i].node];
        int64_t C = n->channels, bad;
        /* a non-positive variance (impossible from training) keeps the old affine */
        float *sc = malloc((size_t)C * 2 * sizeof(float));
        if (sc && !zp_bn_affine(n->bn, n->bn + C, n->bn + 2 * C, n->bn + 3 * C, n->eps, C, sc,
                                sc + C, &bad)) {
            memcpy(n->scale, sc, (size_t)C * sizeof(float));
            memcpy(n->shift, sc + C, (size_t)C * sizeof(float));
        }
        free(sc);
    }
}

/* The scratch is per thread: grow it when the pool grew since zp_tgraph_new. */
static enum zp_status ensure_scratch(struct zp_tgraph *t, struct zp_err *err)
{
    int nth = omp_get_max_threads();
    if (nth <= t->nth)
        return ZP_OK;
    float *s = zp_alloc((size_t)(t->scratch_per * nth) * sizeof(float));
    if (!s)
        return zp_err_set(err, ZP_ENOMEM, "training graph: out of memory for %d threads", nth);
    zp_free(t->scratch);
    t->scratch = s;
    t->nth = nth;
    return ZP_OK;
}

/* ---- forward ------------------------------------------------------------------ */

static const float *in_base(const struct zp_tgraph *t, int tensor, int64_t *stride)
{
    const struct zp_tensor *T = &t->g->tensors[tensor];
    *stride = T->is_const ? 0 : T->size;
    return T->is_const ? T->data : t->act[tensor];
}

/* The input a layer computes with: its own activation, or the fake-quantized
 * copy when it has an input transform. */
static const float *layer_input(const struct zp_tgraph *t, const struct zp_node *n)
{
    const struct zp_tg_layer *L = &t->L[n->layer];
    return L->ifn ? L->xq : t->act[n->in[0]];
}

static enum zp_status forward_layer(struct zp_tgraph *t, const struct zp_node *n, int train,
                                    struct zp_err *err)
{
    struct zp_graph *g = t->g;
    struct zp_tg_layer *L = &t->L[n->layer];
    const int B = t->batch;
    enum zp_status st;
    const float *w = g->layer_w[n->layer];
    zp_layer_weights_edited(g, n->layer); /* the optimizer edits them between steps */
    if (L->wfn) {
        if ((st = L->wfn(L->wctx, n->layer, w, (size_t)layer_wsize(g, n->layer), L->wq, L->wmask,
                         err)))
            return st;
        w = L->wq;
    }
    const int64_t xs = g->tensors[n->in[0]].size, ys = g->tensors[n->out].size;
    if (L->ifn) {
        memcpy(L->xq, t->act[n->in[0]], (size_t)(xs * B) * sizeof(float));
        if ((st = L->ifn(L->ictx, n->layer, L->xq, (size_t)(xs * B), train, L->xmask, err)))
            return st;
    }
    const float *x = layer_input(t, n);
    float *y = t->act[n->out];
    struct zp_exec e = {0};
    e.w = w;
    e.b = g->layer_b[n->layer];
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < B; i++) {
        struct zp_exec ei = e;
        ei.scratch = t->scratch + (int64_t)omp_get_thread_num() * t->scratch_per;
        if (n->op == ZP_OP_CONV)
            zp_op_conv(g, n, x + i * xs, y + i * ys, &ei);
        else
            zp_op_gemm(g, n, x + i * xs, y + i * ys, &ei);
    }
    return ZP_OK;
}

static void forward_other(struct zp_tgraph *t, const struct zp_node *n)
{
    const struct zp_graph *g = t->g;
    int64_t s0, s1 = 0;
    const float *x0 = in_base(t, n->in[0], &s0);
    const float *x1 = n->n_in > 1 ? in_base(t, n->in[1], &s1) : NULL;
    const int64_t ys = g->tensors[n->out].size;
    float *y = t->act[n->out];
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < t->batch; i++) {
        const float *a = x0 + i * s0;
        float *o = y + i * ys;
        switch (n->op) {
        case ZP_OP_MATMUL:
            zp_op_matmul(n, a, x1 + i * s1, o,
                         t->scratch + (int64_t)omp_get_thread_num() * t->scratch_per);
            break;
        case ZP_OP_GATHER: zp_op_gather(g, n, NULL, a, o); break;
        case ZP_OP_ADD:
        case ZP_OP_MUL:
        case ZP_OP_SUB: case ZP_OP_DIV: case ZP_OP_MAX: case ZP_OP_MIN: case ZP_OP_POW:
        case ZP_OP_CONCAT: case ZP_OP_WHERE:
            zp_op_binary(g, n, a, x1 + i * s1, o); break;
        case ZP_OP_AVGPOOL:
        case ZP_OP_MAXPOOL: zp_op_pool(g, n, a, o); break;
        case ZP_OP_GAP: zp_op_gap(g, n, a, o); break;
        default: zp_op_unary(g, n, a, o); break;
        }
    }
}

enum zp_status zp_tgraph_forward(struct zp_tgraph *t, const float *input, int batch, int train,
                                 const float **logits, struct zp_err *err)
{
    if (!t || !input || batch < 1 || batch > t->max_batch)
        return zp_err_set(err, ZP_EINVAL, "training forward: batch %d outside 1..%d", batch,
                          t ? t->max_batch : 0);
    enum zp_status st0 = ensure_scratch(t, err);
    if (st0)
        return st0;
    struct zp_graph *g = t->g;
    t->batch = batch;
    t->have_forward = 0;
    float *dst[ZP_MAX_INPUTS];
    for (int k = 0; k < g->n_inputs; k++)
        dst[k] = t->act[g->inputs[k]];
    zp_inputs_scatter(g, input, 0, batch, dst);
    for (int k = 0; k < g->n_nodes; k++) {
        const struct zp_node *n = &g->nodes[k];
        enum zp_status st;
        if (n->op == ZP_OP_COPY && n->alias)
            continue; /* shares its input's buffer */
        if (n->layer >= 0) {
            if ((st = forward_layer(t, n, train, err)))
                return st;
        } else if (n->op == ZP_OP_BN) {
            zp_tg_bn_forward(t, n, train);
        } else {
            forward_other(t, n);
        }
    }
    t->have_forward = 1;
    if (logits)
        *logits = t->act[g->output];
    return ZP_OK;
}

/* ---- backward ----------------------------------------------------------------- */

enum zp_status zp_tgraph_backward(struct zp_tgraph *t, const float *dlogits, struct zp_err *err)
{
    if (!t || !dlogits || !t->have_forward)
        return zp_err_set(err, ZP_EINVAL, "training backward: needs a forward pass first");
    enum zp_status st0 = ensure_scratch(t, err);
    if (st0)
        return st0;
    struct zp_graph *g = t->g;
    const int64_t B = t->batch;
    /* the output's buffer (its alias root's: the same size) is the one with
     * gstart == n_nodes, filled whole here */
    memcpy(t->grad[g->output], dlogits, (size_t)(g->tensors[g->output].size * B) * sizeof(float));
    for (int k = g->n_nodes - 1; k >= 0; k--) {
        const struct zp_node *n = &g->nodes[k];
        /* gradients this node is the first to write (their buffers are reused) */
        for (int i = 0; i < g->n_tensors; i++)
            if (t->gstart[i] == k)
                memset(t->grad[i], 0, (size_t)(g->tensors[i].size * B) * sizeof(float));
        if (n->op == ZP_OP_COPY && n->alias)
            continue; /* same gradient buffer as its input */
        if (n->layer < 0) {
            if (n->op == ZP_OP_BN)
                zp_tg_bn_backward(t, n);
            else if (n->op == ZP_OP_MATMUL)
                zp_tg_matmul_backward(t, n);
            else if (n->op == ZP_OP_GATHER)
                zp_tg_gather_backward(t, n);
            else
                zp_tg_other_backward(t, n);
            continue;
        }
        struct zp_tg_layer *L = &t->L[n->layer];
        const float *w = L->wfn ? L->wq : g->layer_w[n->layer];
        const int64_t xs = g->tensors[n->in[0]].size;
        /* with an input transform, the gradient of the fake-quantized copy goes to
         * tmp, then through the straight-through mask to the real input */
        float *dx = L->ifn ? t->tmp : t->grad[n->in[0]];
        if (L->ifn)
            memset(dx, 0, (size_t)(xs * B) * sizeof(float));
        if (n->op == ZP_OP_CONV)
            zp_tg_conv_backward(t, n, layer_input(t, n), w, dx);
        else
            zp_tg_gemm_backward(t, n, layer_input(t, n), w, dx);
        if (L->ifn) {
            float *gx = t->grad[n->in[0]];
            const uint8_t *m = L->xmask;
#pragma omp parallel for schedule(static)
            for (int64_t i = 0; i < xs * B; i++)
                gx[i] += m[i] ? dx[i] : 0.f;
        }
    }
    /* several inputs: their gradients in the concatenated layout of the input */
    for (int k = 0, off = 0; t->in_grad && k < g->n_inputs; off += (int)g->tensors[g->inputs[k]].size, k++) {
        const int64_t sz = g->tensors[g->inputs[k]].size;
        const int read = t->gstart[g->inputs[k]] >= 0; /* else never written: 0 */
        for (int64_t i = 0; i < B; i++) {
            float *dst = t->in_grad + i * g->in_size + off;
            if (read)
                memcpy(dst, t->grad[g->inputs[k]] + i * sz, (size_t)sz * sizeof(float));
            else
                memset(dst, 0, (size_t)sz * sizeof(float));
        }
    }
    return ZP_OK;
}
