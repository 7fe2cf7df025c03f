/* Which layer feeds which: the pairs of layers joined directly (at most a fused
 * Relu / Clip between them), for the post-training passes that move per-channel
 * scales from one layer to the next (ptq/equalize.h). */
#include "model/graph.h"
#include "model/graph_internal.h"

int zp_graph_layer_source(const struct zp_graph *g, int l)
{
    if (!g || l < 0 || l >= g->n_layers)
        return -1;
    const struct zp_tensor *x = &g->tensors[g->nodes[g->layer_node[l]].in[0]];
    if (x->is_const || x->producer < 0 || x->n_consumers != 1)
        return -1;
    const struct zp_node *p = &g->nodes[x->producer];
    if (p->layer >= 0) /* no activation between them */
        return p->fuse ? -1 : p->layer;
    /* the activation a layer applies itself (fused: its input has no other reader) */
    if (!p->skip_fast || (p->op != ZP_OP_RELU && p->op != ZP_OP_CLIP))
        return -1;
    if (p->op == ZP_OP_CLIP && !(p->lo == 0.f && p->hi == 6.f)) /* not ReLU6: not scale-free */
        return -1;
    const struct zp_tensor *y = &g->tensors[p->in[0]];
    if (y->producer < 0 || g->nodes[y->producer].layer < 0 || !g->nodes[y->producer].fuse)
        return -1;
    return g->nodes[y->producer].layer;
}
