/* BatchNormalization folding: the arithmetic shared by the loader (which folds
 * at load time) and zp_graph_fold_bn (which folds a graph trained with its BN
 * nodes kept, for deployment), and the graph surgery of the latter. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "model/graph_internal.h"
#include "model/graph_train.h"

int zp_bn_affine(const float *gamma, const float *beta, const float *mean, const float *var,
                 float eps, int64_t C, float *sc, float *sh, int64_t *bad)
{
    for (int64_t k = 0; k < C; k++) {
        double v = (double)var[k] + eps;
        if (!(v > 0)) {
            *bad = k;
            return 1;
        }
        double s = gamma[k] / sqrt(v);
        sc[k] = (float)s;
        sh[k] = (float)(beta[k] - mean[k] * s);
        if (!isfinite(sc[k]) || !isfinite(sh[k])) {
            *bad = k;
            return 2;
        }
    }
    return 0;
}

enum zp_status zp_bn_fold_conv(struct zp_graph *g, int conv, const float *sc, const float *sh,
                               int64_t *bad)
{
    const struct zp_node *cn = &g->nodes[conv];
    int l = cn->layer;
    int64_t O = g->tensors[cn->out].dims[1];
    int64_t per = g->tensors[cn->in[0]].dims[1] / cn->group * cn->kh * cn->kw;
    float *w = g->layer_w[l], *b = g->layer_b[l];
    if (!b) {
        b = g->layer_b[l] = zp_calloc((size_t)O, sizeof(float));
        if (!b)
            return ZP_ENOMEM;
    }
    *bad = -1;
    for (int64_t o = 0; o < O; o++) {
        for (int64_t k = 0; k < per; k++) {
            w[o * per + k] *= sc[o];
            if (*bad < 0 && !isfinite(w[o * per + k]))
                *bad = o;
        }
        b[o] = b[o] * sc[o] + sh[o];
        if (*bad < 0 && !isfinite(b[o]))
            *bad = o;
    }
    return *bad >= 0 ? ZP_EINVAL : ZP_OK;
}

void zp_layer_weights_edited(struct zp_graph *g, int layer)
{
    /* Nothing is cached from the weights yet: kernels read g->layer_w on every
     * call. A kernel that packs weights once and keeps the packing on the graph
     * must drop it here, or runs after training / folding use stale weights
     * (tests/test_graph_grad.c then fails: finite differences of the weights 0). */
    (void)g;
    (void)layer;
}

int zp_graph_num_bn(const struct zp_graph *g)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        n += g->nodes[i].op == ZP_OP_BN;
    return n;
}

/* Readers of tensor t (nodes and the graph output), counted now: the plan's
 * n_consumers may be stale while nodes are being removed. */
static int readers(const struct zp_graph *g, int t)
{
    int cnt = g->output == t;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            cnt += g->nodes[i].in[k] == t;
    return cnt;
}

enum zp_status zp_graph_fold_bn(struct zp_graph *g, struct zp_err *err)
{
    if (!g)
        return zp_err_set(err, ZP_EINVAL, "fold BN: no graph");
    int *keep = malloc(((size_t)g->n_nodes + 1) * sizeof *keep);
    if (!keep)
        return zp_err_set(err, ZP_ENOMEM, "fold BN: out of memory");
    enum zp_status st = ZP_OK;
    for (int i = 0; i < g->n_nodes && !st; i++) {
        struct zp_node *n = &g->nodes[i];
        keep[i] = 1;
        if (n->op != ZP_OP_BN)
            continue;
        int64_t C = n->channels, bad = -1;
        const float *bp = n->bn;
        int r = zp_bn_affine(bp, bp + C, bp + 2 * C, bp + 3 * C, n->eps, C, n->scale, n->shift,
                             &bad);
        if (r) {
            st = zp_err_set(err, ZP_EINVAL, "fold BN '%s': %s at channel %lld", n->name,
                            r == 1 ? "var + epsilon <= 0" : "scale or shift overflows float",
                            (long long)bad);
            break;
        }
        int x = n->in[0], p = g->tensors[x].producer;
        n->bn = NULL; /* the parameters stay in the shift allocation until freed */
        if (p < 0 || g->nodes[p].op != ZP_OP_CONV || readers(g, x) != 1) {
            n->op = ZP_OP_AFFINE;
            continue;
        }
        if ((st = zp_bn_fold_conv(g, p, n->scale, n->shift, &bad))) {
            if (st == ZP_ENOMEM)
                st = zp_err_set(err, st, "fold BN '%s': out of memory", n->name);
            else
                st = zp_err_set(err, st, "fold BN '%s' into Conv '%s': overflows float at output "
                                "channel %lld", n->name, g->nodes[p].name, (long long)bad);
            break;
        }
        /* readers of the BN output now read the Conv output; the BN output
         * tensor is left without producer or reader (a constant with no data, so
         * that the plan skips it) */
        int y = n->out;
        for (int j = i + 1; j < g->n_nodes; j++)
            for (int k = 0; k < g->nodes[j].n_in; k++)
                if (g->nodes[j].in[k] == y)
                    g->nodes[j].in[k] = x;
        if (g->output == y)
            g->output = x;
        g->tensors[y].is_const = 1;
        g->tensors[y].producer = -1;
        n->n_in = 0;
        keep[i] = 0;
    }
    if (st) {
        free(keep);
        return st;
    }
    /* compact the node list and renumber producers and layer nodes */
    int *map = malloc(((size_t)g->n_nodes + 1) * sizeof *map);
    if (!map) {
        free(keep);
        return zp_err_set(err, ZP_ENOMEM, "fold BN: out of memory");
    }
    int m = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        map[i] = keep[i] ? m : -1;
        if (keep[i]) {
            if (m != i)
                g->nodes[m] = g->nodes[i];
            m++;
        } else {
            free(g->nodes[i].scale);
            free(g->nodes[i].shift);
        }
    }
    g->n_nodes = m;
    for (int t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].producer >= 0)
            g->tensors[t].producer = map[g->tensors[t].producer];
    for (int l = 0; l < g->n_layers; l++)
        g->layer_node[l] = map[g->layer_node[l]];
    free(map);
    free(keep);
    zp_layer_weights_edited(g, -1);
    /* re-plan from scratch: fusion of Conv + Relu may now apply */
    for (int i = 0; i < g->n_nodes; i++) {
        struct zp_node *n = &g->nodes[i];
        n->fuse = 0;
        n->skip_fast = 0;
        if (n->op != ZP_OP_COPY)
            n->alias = 0;
    }
    for (int l = 0; l < g->n_layers; l++)
        g->layers[l].relu_after = 0;
    if ((st = zp_graph_plan(g)))
        return zp_err_set(err, st, "fold BN: out of memory");
    zp_graph_fill_layers(g);
    return ZP_OK;
}
