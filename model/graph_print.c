/* `harness inspect`: the graph, parameter counts and per-layer weight ranges.
 * The spread of per-channel ranges (min / median / max of max|w| per output
 * channel, and max/median) is printed because it is what decides whether one
 * scale per tensor can serve a layer: depthwise layers often have channels whose
 * range is tens of times the median, and per-tensor quantization crushes the rest. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/graph_internal.h"

static void shape_str(const struct zp_tensor *t, char *buf, size_t cap)
{
    size_t k = (size_t)snprintf(buf, cap, "[N");
    for (int i = 1; i < t->ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, ",%lld", (long long)t->dims[i]);
    if (k < cap)
        snprintf(buf + k, cap - k, "]");
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void zp_graph_print(const struct zp_graph *g, void *file)
{
    FILE *f = file;
    char s1[96], s2[96];
    int64_t params = 0;
    for (int l = 0; l < g->n_layers; l++) {
        const struct zp_layer_info *li = &g->layers[l];
        int64_t w = 1;
        for (int i = 0; i < li->wndim; i++)
            w *= li->wshape[i];
        params += w + (li->bias ? li->n_out : 0);
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == ZP_OP_AFFINE)
            params += 2 * g->nodes[i].channels;
    fprintf(f, "opset %lld, input%s", (long long)g->opset, g->n_inputs > 1 ? "s" : "");
    for (int k = 0; k < g->n_inputs; k++) {
        const struct zp_tensor *X = &g->tensors[g->inputs[k]];
        shape_str(X, s1, sizeof s1);
        fprintf(f, "%s '%s' %s%s", k ? "," : "", X->name, s1, X->is_index ? " (int64 ids)" : "");
    }
    shape_str(&g->tensors[g->output], s2, sizeof s2);
    fprintf(f, ", output '%s' %s\n", g->tensors[g->output].name, s2);
    fprintf(f, "%d nodes, %d quantizable layers, %lld parameters (BatchNorm folded)\n\n",
            g->n_nodes, g->n_layers, (long long)params);
    fprintf(f, "graph:\n");
    for (int i = 0; i < g->n_nodes; i++) {
        const struct zp_node *n = &g->nodes[i];
        shape_str(&g->tensors[n->out], s2, sizeof s2);
        fprintf(f, "  %3d %-18s %-28s -> %s", i, n->op_type, n->name, s2);
        if (n->op == ZP_OP_CONV)
            fprintf(f, "  k%lldx%lld s%lld pads [%lld,%lld,%lld,%lld]%s", (long long)n->kh,
                    (long long)n->kw, (long long)n->sh, (long long)n->pads[0],
                    (long long)n->pads[1], (long long)n->pads[2], (long long)n->pads[3],
                    n->group > 1
                        ? (n->group == g->tensors[n->out].dims[1] ? " depthwise" : " grouped")
                        : "");
        if (n->layer >= 0)
            fprintf(f, "  [layer %d]", n->layer);
        fprintf(f, "\n");
    }
    fprintf(f, "\nweights per layer (per-channel max|w|: min / median / max, ratio max/median):\n");
    fprintf(f, "  %-3s %-28s %-6s %9s %10s %10s %10s %10s %10s %8s\n", "#", "layer", "op", "params",
            "w min", "w max", "ch min", "ch median", "ch max", "ratio");
    for (int l = 0; l < g->n_layers; l++) {
        const struct zp_layer_info *li = &g->layers[l];
        int64_t O = li->wshape[0], per = 1;
        for (int i = 1; i < li->wndim; i++)
            per *= li->wshape[i];
        float mn = INFINITY, mx = -INFINITY;
        float *ch = malloc((size_t)O * sizeof *ch);
        if (!ch)
            continue;
        for (int64_t o = 0; o < O; o++) {
            float a = 0.f;
            for (int64_t k = 0; k < per; k++) {
                float v = li->weight[o * per + k];
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
                a = fabsf(v) > a ? fabsf(v) : a;
            }
            ch[o] = a;
        }
        qsort(ch, (size_t)O, sizeof *ch, cmp_float);
        float med = O % 2 ? ch[O / 2] : 0.5f * (ch[O / 2 - 1] + ch[O / 2]);
        const char *op = li->depthwise ? "dwConv" : li->op;
        fprintf(f, "  %-3d %-28.28s %-6s %9lld %10.4g %10.4g %10.4g %10.4g %10.4g %8.2f\n", l,
                li->name, op, (long long)(O * per), mn, mx, ch[0], med, ch[O - 1],
                med > 0 ? ch[O - 1] / med : INFINITY);
        free(ch);
    }
}
