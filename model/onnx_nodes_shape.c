/* ONNX import: the shape operators that keep the batch where it is. Transpose
 * and Slice become a strided view (ZP_OP_VIEW), Squeeze / Unsqueeze an alias
 * with a new shape, ReduceSum / ReduceMean / ReduceMax a reduction over axes
 * other than the batch, Concat a join of two inputs along a non-batch axis.
 * Axis 0 is the batch everywhere: an op that would move, cut or reduce it is
 * refused with an error naming the node. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "onnx.pb-c.h"

#include "model/onnx_load_internal.h"

/* A list of up to ZP_MAXDIM ints from constant int64 input i (when the node has
 * it) or else the INTS attribute attr; *n = -1 when neither is given. */
static enum zp_status int_list(struct nctx *c, size_t i, const char *attr, int64_t *v, int *n)
{
    *n = -1;
    int t;
    enum zp_status st = ol_input_at(c, i, &t);
    if (st)
        return st;
    if (t >= 0) {
        if ((st = ol_need_const(c, t, attr, 0)))
            return st;
        const struct zp_tensor *T = ol_T(c, t);
        if (T->size > ZP_MAXDIM)
            return NERR(c, ZP_EUNSUPPORTED, "%s '%s' has %lld values, at most %d", attr, T->name,
                        (long long)T->size, ZP_MAXDIM);
        memcpy(v, T->idata, (size_t)T->size * sizeof *v);
        *n = (int)T->size;
        return ZP_OK;
    }
    const Onnx__AttributeProto *a = ol_attr(c, attr);
    if (!a)
        return ZP_OK;
    if (a->n_ints > ZP_MAXDIM)
        return NERR(c, ZP_EUNSUPPORTED, "attribute '%s' has %zu values, at most %d", attr,
                    a->n_ints, ZP_MAXDIM);
    memcpy(v, a->ints, a->n_ints * sizeof *v);
    *n = (int)a->n_ints;
    return ZP_OK;
}

/* Axis a of a rank-r tensor, negative counting from the end; the batch axis 0
 * is refused. */
static enum zp_status norm_axis(struct nctx *c, int64_t a, int r, int64_t *out)
{
    int64_t k = a < 0 ? a + r : a;
    if (k < 0 || k >= r)
        return NERR(c, ZP_EFORMAT, "axis %lld out of range for rank %d", (long long)a, r);
    if (k == 0)
        return NERR(c, ZP_EUNSUPPORTED, "axis %lld is the batch axis", (long long)a);
    *out = k;
    return ZP_OK;
}

/* Per-image row-major strides of dims[1..nd-1] into st[1..nd-1]. */
static void strides_of(const int64_t *dims, int nd, int64_t *st)
{
    int64_t s = 1;
    for (int k = nd - 1; k >= 1; k--) {
        st[k] = s;
        s *= dims[k];
    }
}

static enum zp_status view_out(struct nctx *c, struct zp_node *n, int x, int nd,
                               const int64_t *d, const int64_t *in_stride)
{
    enum zp_status st = ol_add_output(c, n, nd, d);
    if (st)
        return st;
    n->op = ZP_OP_VIEW;
    n->in[0] = x;
    n->n_in = 1;
    n->bnd = nd - 1;
    for (int k = 1; k < nd; k++) {
        n->bdims[k - 1] = d[k];
        n->bstr[0][k - 1] = in_stride[k];
        n->bstr[1][k - 1] = 0;
    }
    return ZP_OK;
}

enum zp_status ol_transpose_node(struct nctx *c, struct zp_node *n, int arg)
{
    static const char *const an[] = {"perm", NULL};
    static const int at[] = {AIS};
    (void)arg;
    enum zp_status st;
    int x;
    if ((st = ol_need_inputs(c, 1, 1)) || (st = ol_check_attrs(c, an, at)) ||
        (st = ol_input_at(c, 0, &x)) || (st = ol_need_act(c, x, "data", 1, ZP_MAXDIM)))
        return st;
    const struct zp_tensor *X = ol_T(c, x);
    const int nd = X->ndim;
    int64_t perm[ZP_MAXDIM], d[ZP_MAXDIM], xs[ZP_MAXDIM] = {0}, vs[ZP_MAXDIM] = {0};
    int present;
    for (int k = 0; k < nd; k++)
        perm[k] = nd - 1 - k; /* the default: reverse every axis */
    if ((st = ol_attr_ints(c, "perm", perm, (size_t)nd, &present)))
        return st;
    int seen[ZP_MAXDIM] = {0};
    for (int k = 0; k < nd; k++) {
        if (perm[k] < 0 || perm[k] >= nd || seen[perm[k]]++)
            return NERR(c, ZP_EFORMAT, "perm is not a permutation of 0..%d", nd - 1);
    }
    if (perm[0] != 0)
        return NERR(c, ZP_EUNSUPPORTED, "perm moves the batch axis 0 (perm[0] = %lld)",
                    (long long)perm[0]);
    strides_of(X->dims, nd, xs);
    d[0] = 1;
    for (int k = 1; k < nd; k++) {
        d[k] = X->dims[perm[k]];
        vs[k] = xs[perm[k]];
    }
    n->vbase = 0;
    return view_out(c, n, x, nd, d, vs);
}

/* Slice (opset >= 10: starts, ends, axes, steps as constant int64 inputs), with
 * the ONNX clamping of out-of-range starts and ends. */
enum zp_status ol_slice_node(struct nctx *c, struct zp_node *n, int arg)
{
    static const char *const none[] = {NULL};
    (void)arg;
    enum zp_status st;
    int x;
    if ((st = ol_need_inputs(c, 3, 5)) || (st = ol_check_attrs(c, none, NULL)) ||
        (st = ol_input_at(c, 0, &x)) || (st = ol_need_act(c, x, "data", 1, ZP_MAXDIM)))
        return st;
    const struct zp_tensor *X = ol_T(c, x);
    const int nd = X->ndim;
    int64_t starts[ZP_MAXDIM], ends[ZP_MAXDIM], axes[ZP_MAXDIM], steps[ZP_MAXDIM];
    int ns, ne, na, nst;
    if ((st = int_list(c, 1, "starts", starts, &ns)) || (st = int_list(c, 2, "ends", ends, &ne)) ||
        (st = int_list(c, 3, "axes", axes, &na)) || (st = int_list(c, 4, "steps", steps, &nst)))
        return st;
    if (ns < 0 || ne != ns || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return NERR(c, ZP_EFORMAT, "starts, ends, axes and steps must have the same length");
    int64_t first[ZP_MAXDIM] = {0}, step[ZP_MAXDIM], d[ZP_MAXDIM];
    int done[ZP_MAXDIM] = {0};
    for (int k = 0; k < nd; k++) {
        step[k] = 1;
        d[k] = X->dims[k];
    }
    for (int i = 0; i < ns; i++) {
        int64_t a = na >= 0 ? axes[i] : i, s = starts[i], e = ends[i], p = nst >= 0 ? steps[i] : 1;
        if (a < 0)
            a += nd;
        if (a < 0 || a >= nd || done[a]++)
            return NERR(c, ZP_EFORMAT, "axis %lld out of range or repeated",
                        (long long)(na >= 0 ? axes[i] : i));
        if (p == 0)
            return NERR(c, ZP_EFORMAT, "step 0 at axis %lld", (long long)a);
        if (p < -ZP_MAX_ELEMS || p > ZP_MAX_ELEMS)
            return NERR(c, ZP_EUNSUPPORTED, "step %lld at axis %lld too large", (long long)p,
                        (long long)a);
        const int64_t dim = X->dims[a];
        if (s < 0)
            s = s < -dim ? 0 : s + dim;
        if (e < 0)
            e = e < -dim ? -1 : e + dim;
        int64_t len;
        if (p > 0) {
            s = s > dim ? dim : s < 0 ? 0 : s;
            e = e > dim ? dim : e < 0 ? 0 : e;
            len = e > s ? (e - s + p - 1) / p : 0;
        } else {
            s = s > dim - 1 ? dim - 1 : s;
            e = e > dim - 1 ? dim - 1 : e;
            len = s > e ? (s - e - p - 1) / -p : 0;
        }
        if (a == 0) { /* the batch: only the whole of it */
            if (s != 0 || p != 1 || len < 1)
                return NERR(c, ZP_EUNSUPPORTED, "slicing the batch axis 0 is not supported");
            continue;
        }
        if (len < 1)
            return NERR(c, ZP_EUNSUPPORTED, "axis %lld: the slice is empty", (long long)a);
        first[a] = s;
        step[a] = p;
        d[a] = len;
    }
    int64_t xs[ZP_MAXDIM] = {0}, vs[ZP_MAXDIM] = {0};
    strides_of(X->dims, nd, xs);
    n->vbase = 0;
    for (int k = 1; k < nd; k++) {
        n->vbase += first[k] * xs[k];
        vs[k] = step[k] * xs[k];
    }
    d[0] = 1;
    return view_out(c, n, x, nd, d, vs);
}

enum zp_status ol_squeeze_node(struct nctx *c, struct zp_node *n, int unsqueeze)
{
    static const char *const an[] = {"axes", NULL};
    static const int at[] = {AIS};
    enum zp_status st;
    int x, na;
    int64_t axes[ZP_MAXDIM];
    if ((st = ol_need_inputs(c, 1, 2)) || (st = ol_check_attrs(c, an, at)) ||
        (st = ol_input_at(c, 0, &x)) || (st = ol_need_act(c, x, "data", 1, ZP_MAXDIM)) ||
        (st = int_list(c, 1, "axes", axes, &na)))
        return st;
    const struct zp_tensor *X = ol_T(c, x);
    const int nd = X->ndim, od = unsqueeze ? nd + (na > 0 ? na : 0) : nd;
    if (unsqueeze && na < 1)
        return NERR(c, ZP_EFORMAT, "axes is required");
    if (od > ZP_MAXDIM)
        return NERR(c, ZP_EUNSUPPORTED, "output rank %d, at most %d", od, ZP_MAXDIM);
    int mark[ZP_MAXDIM] = {0};
    for (int i = 0; i < na; i++) {
        int64_t a;
        if ((st = norm_axis(c, axes[i], od, &a)))
            return st;
        if (mark[a]++)
            return NERR(c, ZP_EFORMAT, "axis %lld repeated", (long long)axes[i]);
        if (!unsqueeze && X->dims[a] != 1)
            return NERR(c, ZP_EFORMAT, "axis %lld has size %lld, not 1", (long long)axes[i],
                        (long long)X->dims[a]);
    }
    if (!unsqueeze && na < 0) /* no axes: every size-1 axis but the batch */
        for (int k = 1; k < nd; k++)
            mark[k] = X->dims[k] == 1;
    int64_t d[ZP_MAXDIM];
    int k = 0;
    d[k++] = 1;
    if (unsqueeze)
        for (int o = 1, i = 1; o < od; o++)
            d[k++] = mark[o] ? 1 : X->dims[i++];
    else
        for (int i = 1; i < nd; i++)
            if (!mark[i])
                d[k++] = X->dims[i];
    return ol_reshape_to(c, n, x, k, d);
}

enum zp_status ol_reduce_node(struct nctx *c, struct zp_node *n, int op)
{
    static const char *const an[] = {"axes", "keepdims", "noop_with_empty_axes", NULL};
    static const int at[] = {AIS, AI, AI};
    enum zp_status st;
    int x, na;
    int64_t axes[ZP_MAXDIM];
    if ((st = ol_need_inputs(c, 1, 2)) || (st = ol_check_attrs(c, an, at)) ||
        (st = ol_input_at(c, 0, &x)) || (st = ol_need_act(c, x, "data", 2, ZP_MAXDIM)) ||
        (st = int_list(c, 1, "axes", axes, &na)))
        return st;
    const struct zp_tensor *X = ol_T(c, x);
    const int nd = X->ndim, keep = ol_attr_i(c, "keepdims", 1) != 0;
    if (na < 1) {
        if (ol_attr_i(c, "noop_with_empty_axes", 0))
            return ol_alias_output(c, x);
        return NERR(c, ZP_EUNSUPPORTED, "no axes: reducing every axis includes the batch");
    }
    int mark[ZP_MAXDIM] = {0};
    for (int i = 0; i < na; i++) {
        int64_t a;
        if ((st = norm_axis(c, axes[i], nd, &a)))
            return st;
        if (mark[a]++)
            return NERR(c, ZP_EFORMAT, "axis %lld repeated", (long long)axes[i]);
    }
    /* the output with kept dims: its strides, 0 along the reduced axes */
    int64_t kd[ZP_MAXDIM], ks[ZP_MAXDIM] = {0}, xs[ZP_MAXDIM] = {0}, d[ZP_MAXDIM];
    int k = 0;
    n->red_count = 1;
    for (int i = 0; i < nd; i++) {
        kd[i] = mark[i] ? 1 : X->dims[i];
        if (mark[i])
            n->red_count *= X->dims[i];
        if (!mark[i] || keep)
            d[k++] = i ? kd[i] : 1;
    }
    strides_of(kd, nd, ks);
    strides_of(X->dims, nd, xs);
    if ((st = ol_add_output(c, n, k, d)))
        return st;
    n->op = (enum zp_op)op;
    n->in[0] = x;
    n->n_in = 1;
    n->bnd = nd - 1;
    for (int i = 1; i < nd; i++) {
        n->bdims[i - 1] = X->dims[i];
        n->bstr[0][i - 1] = xs[i];
        n->bstr[1][i - 1] = mark[i] ? 0 : ks[i];
    }
    return ZP_OK;
}

/* One two-input link of a Concat: m = Concat(t0, t1) on axis, output `on`,
 * node g->n_nodes + k. */
static enum zp_status concat_pair(struct nctx *c, struct zp_node *m, int arg, int t0, int t1,
                                  const char *on, size_t k)
{
    (void)arg;
    enum zp_status st;
    const struct zp_tensor *A = ol_T(c, t0), *B = ol_T(c, t1);
    if (A->is_const && B->is_const)
        return NERR(c, ZP_EUNSUPPORTED, "both inputs are constants (constant folding not "
                    "supported)");
    for (int i = 0; i < 2; i++) {
        const struct zp_tensor *T = i ? B : A;
        if (T->is_const && (!T->data || T->ndim < 1 || T->dims[0] != 1))
            return NERR(c, ZP_EUNSUPPORTED, "constant '%s' must be float32 with batch dimension 1",
                        T->name);
    }
    if (A->ndim != B->ndim)
        return NERR(c, ZP_EFORMAT, "inputs of ranks %d and %d", A->ndim, B->ndim);
    const int nd = A->ndim;
    int64_t axis;
    if ((st = norm_axis(c, ol_attr_i(c, "axis", 0), nd, &axis)))
        return st;
    int64_t d[ZP_MAXDIM];
    for (int i = 0; i < nd; i++) {
        if (i != axis && i > 0 && A->dims[i] != B->dims[i])
            return NERR(c, ZP_EFORMAT, "inputs '%s' and '%s' differ at axis %d (%lld vs %lld)",
                        A->name, B->name, i, (long long)A->dims[i], (long long)B->dims[i]);
        d[i] = i == axis ? A->dims[i] + B->dims[i] : A->dims[i];
    }
    d[0] = 1;
    if ((st = ol_add_named_output(c, m, on, k, nd, d)))
        return st;
    const int64_t inner = ol_prod(A->dims + axis + 1, nd - (int)axis - 1);
    m->op = ZP_OP_CONCAT;
    m->in[0] = t0;
    m->in[1] = t1;
    m->n_in = 2;
    m->cat_outer = ol_prod(A->dims + 1, (int)axis - 1);
    m->cat_a = A->dims[axis] * inner;
    m->cat_b = B->dims[axis] * inner;
    return ZP_OK;
}

enum zp_status ol_concat_node(struct nctx *c, struct zp_node *n, int arg)
{
    static const char *const an[] = {"axis", NULL};
    static const int at[] = {AI};
    (void)arg;
    enum zp_status st;
    const size_t k = c->np->n_input;
    int t0;
    if ((st = ol_need_inputs(c, 1, k > 1 ? k : 1)) || (st = ol_check_attrs(c, an, at)) ||
        (st = ol_input_at(c, 0, &t0)))
        return st;
    if (!ol_attr(c, "axis"))
        return NERR(c, ZP_EFORMAT, "attribute 'axis' is required");
    if (t0 < 0)
        return NERR(c, ZP_EFORMAT, "missing input 0");
    if (k == 1) { /* one input: the identity */
        if ((st = ol_need_act(c, t0, "input", 1, ZP_MAXDIM)))
            return st;
        return ol_alias_output(c, t0);
    }
    /* more than two inputs: ((x0, x1), x2), ... one two-input node each */
    return ol_chain(c, n, t0, concat_pair, 0, "concat");
}

/* Split along a non-batch axis into the node's outputs: sizes from the 'split'
 * input (opset >= 13) or attribute, else equal parts (num_outputs, opset 18,
 * may leave the last one smaller). Each output is a strided view of its own. */
enum zp_status ol_split_node(struct nctx *c, struct zp_node *n, int arg)
{
    static const char *const an[] = {"axis", "split", "num_outputs", NULL};
    static const int at[] = {AI, AIS, AI};
    (void)arg;
    enum zp_status st;
    int x, ns;
    int64_t sizes[ZP_MAXDIM], axis;
    const size_t no = c->np->n_output;
    if ((st = ol_need_inputs(c, 1, 2)) || (st = ol_check_attrs(c, an, at)) ||
        (st = ol_input_at(c, 0, &x)) || (st = ol_need_act(c, x, "input", 2, ZP_MAXDIM)))
        return st;
    if (no > ZP_MAXDIM)
        return NERR(c, ZP_EUNSUPPORTED, "%zu outputs, at most %d", no, ZP_MAXDIM);
    for (size_t k = 0; k < no; k++)
        if (!c->np->output[k][0])
            return NERR(c, ZP_EUNSUPPORTED, "output %zu is unnamed (every output must be used)",
                        k);
    if ((st = int_list(c, 1, "split", sizes, &ns)))
        return st;
    const struct zp_tensor *X = ol_T(c, x);
    const int nd = X->ndim;
    if ((st = norm_axis(c, ol_attr_i(c, "axis", 0), nd, &axis)))
        return st;
    const int64_t dim = X->dims[axis];
    if (ns < 0) { /* equal parts */
        int64_t part = ((int64_t)no + dim - 1) / (int64_t)no;
        if (ol_attr(c, "num_outputs") && ol_attr_i(c, "num_outputs", 0) != (int64_t)no)
            return NERR(c, ZP_EFORMAT, "num_outputs %lld but %zu outputs",
                        (long long)ol_attr_i(c, "num_outputs", 0), no);
        if (!ol_attr(c, "num_outputs") && dim % (int64_t)no)
            return NERR(c, ZP_EFORMAT, "axis %lld of size %lld does not split evenly into %zu",
                        (long long)axis, (long long)dim, no);
        for (size_t k = 0; k < no; k++) {
            int64_t left = dim - (int64_t)k * part;
            sizes[k] = left < part ? left : part;
        }
        ns = (int)no;
    }
    if ((size_t)ns != no)
        return NERR(c, ZP_EFORMAT, "split has %d sizes for %zu outputs", ns, no);
    int64_t total = 0;
    for (size_t k = 0; k < no; k++) {
        if (sizes[k] < 1)
            return NERR(c, ZP_EUNSUPPORTED, "output %zu would be empty", k);
        if (sizes[k] > dim) /* also keeps the sum below from overflowing */
            return NERR(c, ZP_EFORMAT, "split size %lld larger than axis %lld (%lld)",
                        (long long)sizes[k], (long long)axis, (long long)dim);
        total += sizes[k];
    }
    if (total != dim)
        return NERR(c, ZP_EFORMAT, "split sizes add up to %lld, axis %lld has %lld",
                    (long long)total, (long long)axis, (long long)dim);
    int64_t xs[ZP_MAXDIM] = {0}, d[ZP_MAXDIM];
    strides_of(X->dims, nd, xs);
    memcpy(d, X->dims, sizeof d);
    d[0] = 1;
    struct zp_graph *g = c->L->g;
    int64_t start = 0;
    for (size_t k = 0; k < no; k++) {
        struct zp_node *m = k ? &g->nodes[g->n_nodes + k] : n;
        if (k)
            *m = *n; /* name, op_type and the rest as set up for n */
        d[axis] = sizes[k];
        if ((st = ol_add_output_k(c, m, k, nd, d)))
            return st;
        m->op = ZP_OP_VIEW;
        m->in[0] = x;
        m->n_in = 1;
        m->bnd = nd - 1;
        m->vbase = start * xs[axis];
        for (int i = 1; i < nd; i++) {
            m->bdims[i - 1] = d[i];
            m->bstr[0][i - 1] = xs[i];
            m->bstr[1][i - 1] = 0;
        }
        start += sizes[k];
    }
    g->n_nodes += (int)no - 1; /* build() counts n itself */
    return ZP_OK;
}

/* Expand: numpy broadcasting of the input to a constant int64 shape, as a view
 * whose strides are 0 along the broadcast axes (the backward of a view sums
 * their gradients). The shape may not have more axes than the input (that
 * would put new axes before the batch) nor expand the batch axis. */
enum zp_status ol_expand_node(struct nctx *c, struct zp_node *n, int arg)
{
    static const char *const none[] = {NULL};
    (void)arg;
    enum zp_status st;
    int x, s;
    if ((st = ol_need_inputs(c, 2, 2)) || (st = ol_check_attrs(c, none, NULL)) ||
        (st = ol_input_at(c, 0, &x)) || (st = ol_need_act(c, x, "input", 1, ZP_MAXDIM)) ||
        (st = ol_input_at(c, 1, &s)) || (st = ol_need_const(c, s, "shape", 0)))
        return st;
    const struct zp_tensor *X = ol_T(c, x), *S = ol_T(c, s);
    const int nd = X->ndim;
    if (S->ndim != 1 || S->size > nd)
        return NERR(c, ZP_EUNSUPPORTED, "shape '%s' has %lld values for a rank-%d input: new "
                    "leading axes would move the batch axis", S->name, (long long)S->size, nd);
    int64_t d[ZP_MAXDIM], xs[ZP_MAXDIM] = {0}, vs[ZP_MAXDIM] = {0};
    strides_of(X->dims, nd, xs);
    const int off = nd - (int)S->size;
    d[0] = 1;
    for (int k = 0; k < nd; k++) {
        const int64_t want = k < off ? 1 : S->idata[k - off], have = X->dims[k];
        if (k == 0) {
            if (want != 1)
                return NERR(c, ZP_EUNSUPPORTED, "shape '%s' expands the batch axis to %lld",
                            S->name, (long long)want);
            continue;
        }
        if (want != have && want != 1 && have != 1)
            return NERR(c, ZP_EFORMAT, "input dim %lld does not broadcast to %lld at axis %d",
                        (long long)have, (long long)want, k);
        if (want < 1)
            return NERR(c, ZP_EFORMAT, "shape '%s' value %lld at axis %d is not positive",
                        S->name, (long long)want, k);
        d[k] = have > want ? have : want;
        vs[k] = have == 1 ? 0 : xs[k];
    }
    n->vbase = 0;
    return view_out(c, n, x, nd, d, vs);
}
