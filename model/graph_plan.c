/* The execution plan of a loaded graph, made once at load time: which Relu/Clip
 * each layer absorbs (and relu_after), which nodes write in place or alias their
 * input, where every activation lives in the per-image workspace, and the
 * zp_layer_info the harness reads. */
#include <stdlib.h>
#include <string.h>

#include "model/graph_internal.h"

/* Workspace offsets by liveness: a buffer is released after its last reader, so one
 * image's activations fit in a few times the largest tensor. COPY outputs share
 * their input's buffer, and a fused activation writes in place over its layer. */
enum zp_status zp_graph_plan(struct zp_graph *g)
{
    int nt = g->n_tensors;
    int *root = malloc((size_t)nt * sizeof *root), *last = malloc((size_t)nt * sizeof *last);
    int64_t *boff = malloc((size_t)nt * sizeof *boff), *bsize = malloc((size_t)nt * sizeof *bsize);
    int *live = malloc((size_t)nt * sizeof *live);
    if (!root || !last || !boff || !bsize || !live) {
        free(root); free(last); free(boff); free(bsize); free(live);
        return ZP_ENOMEM;
    }
    for (int t = 0; t < nt; t++) {
        root[t] = t;
        last[t] = g->tensors[t].producer;
        g->tensors[t].n_consumers = 0;
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0)
                g->tensors[g->nodes[i].in[k]].n_consumers++;
    g->tensors[g->output].n_consumers++;
    /* fusion: layer -> its only reader Relu / Clip */
    for (int i = 0; i < g->n_nodes; i++) {
        struct zp_node *n = &g->nodes[i];
        if ((n->op != ZP_OP_RELU && n->op != ZP_OP_CLIP) || g->tensors[n->in[0]].is_const)
            continue;
        int p = g->tensors[n->in[0]].producer;
        if (p < 0 || g->nodes[p].layer < 0 || g->tensors[n->in[0]].n_consumers != 1)
            continue;
        g->nodes[p].fuse = 1;
        g->nodes[p].lo = n->lo;
        g->nodes[p].hi = n->hi;
        n->skip_fast = 1;
        n->alias = 1;
        struct zp_layer_info *li = &g->layers[g->nodes[p].layer];
        li->relu_after = n->op == ZP_OP_RELU ? 1 : (n->lo == 0.f && n->hi == 6.f) ? 6 : 0;
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].alias)
            root[g->nodes[i].out] = root[g->nodes[i].in[0]];
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int t = g->nodes[i].in[k];
            if (t >= 0 && !g->tensors[t].is_const && last[root[t]] < i)
                last[root[t]] = i;
        }
    last[root[g->output]] = g->n_nodes;
    /* first fit over the live buffers */
    int n_live = 0;
    int64_t top = 0;
    for (int step = -1; step < g->n_nodes; step++) {
        int t = step < 0 ? g->input : g->nodes[step].out;
        if (root[t] == t) {
            int64_t need = (g->tensors[t].size + 15) & ~(int64_t)15, off = 0;
            for (;;) { /* lowest offset not overlapping a live buffer */
                int moved = 0;
                for (int j = 0; j < n_live; j++) {
                    int b = live[j];
                    if (off < boff[b] + bsize[b] && boff[b] < off + need) {
                        off = boff[b] + bsize[b];
                        moved = 1;
                    }
                }
                if (!moved)
                    break;
            }
            boff[t] = off;
            bsize[t] = need;
            if (off + need > top)
                top = off + need;
            live[n_live++] = t;
        }
        for (int j = 0; j < n_live; j++)
            if (last[live[j]] <= step) {
                live[j--] = live[--n_live];
            }
    }
    for (int t = 0; t < nt; t++)
        if (!g->tensors[t].is_const)
            g->tensors[t].offset = (size_t)boff[root[t]];
    g->ws_size = top;
    free(root); free(last); free(boff); free(bsize); free(live);
    return ZP_OK;
}

void zp_graph_fill_layers(struct zp_graph *g)
{
    for (int l = 0; l < g->n_layers; l++) {
        const struct zp_node *n = &g->nodes[g->layer_node[l]];
        const struct zp_tensor *X = &g->tensors[n->in[0]], *Y = &g->tensors[n->out];
        struct zp_layer_info *li = &g->layers[l];
        int ra = li->relu_after;
        memset(li, 0, sizeof *li);
        li->relu_after = ra;
        li->name = n->name;
        li->op = n->op_type;
        li->weight = g->layer_w[l];
        li->bias = g->layer_b[l];
        /* a MatMul of rows ([T, K] per image) has its output channels last */
        li->channels_last = n->op == ZP_OP_GEMM && n->mm_rows > 1;
        li->n_out = n->op == ZP_OP_GEMM ? n->mm_cols : Y->dims[1];
        li->in_ndim = X->ndim - 1;
        for (int i = 1; i < X->ndim && i <= 4; i++)
            li->in_shape[i - 1] = X->dims[i];
        li->out_ndim = Y->ndim - 1;
        for (int i = 1; i < Y->ndim && i <= 4; i++)
            li->out_shape[i - 1] = Y->dims[i];
        li->group = 1;
        li->strides[0] = li->strides[1] = li->dilations[0] = li->dilations[1] = 1;
        li->kernel[0] = li->kernel[1] = 1;
        if (n->op == ZP_OP_CONV) {
            li->group = (int)n->group;
            li->depthwise = n->group > 1 && n->group == X->dims[1] && n->group == Y->dims[1];
            li->wndim = 4;
            li->wshape[0] = Y->dims[1];
            li->wshape[1] = X->dims[1] / n->group;
            li->wshape[2] = n->kh;
            li->wshape[3] = n->kw;
            memcpy(li->pads, n->pads, sizeof li->pads);
            li->strides[0] = n->sh; li->strides[1] = n->sw;
            li->dilations[0] = n->dh; li->dilations[1] = n->dw;
            li->kernel[0] = n->kh; li->kernel[1] = n->kw;
        } else {
            li->wndim = 2;
            li->wshape[0] = n->mm_cols;
            li->wshape[1] = n->mm_k;
        }
    }
}

