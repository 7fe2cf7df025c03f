/* The integer program of a graph (model/int_graph.h): building it (quantizers of
 * every tensor, packed weights, int32 biases, requantization multipliers) and
 * running it image by image on the OpenMP threads. Layout NHWC throughout, so a
 * pointwise convolution is one GEMM on the activations as they are. */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/round.h"
#include "model/int_graph_internal.h"


static int32_t code_of(const struct zp_iq *q, double x)
{
    if (x >= 1e30)
        return q->qmax;
    if (x <= -1e30)
        return q->qmin;
    double r = nearbyint(x / q->scale) + q->zp;
    return (int32_t)(r < q->qmin ? q->qmin : r > q->qmax ? q->qmax : r);
}

static enum zp_status check_q(const struct zp_iq *q, const char *what, const char *node, struct zp_err *err)
{
    if (!(q->scale > 0) || !isfinite(q->scale) || q->qmin > q->qmax || q->zp < q->qmin || q->zp > q->qmax ||
        q->qmin < (q->qmin < 0 ? -128 : 0) || q->qmax > (q->qmin < 0 ? 127 : 255))
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "integer program: %s of node '%s' (scale %g, zero point %d, codes [%d, %d]) is not an "
                          "8-bit affine quantizer with real 0 on the grid",
                          what, node, q->scale, q->zp, q->qmin, q->qmax);
    return ZP_OK;
}

static int consumers(const struct zp_graph *g, int t, int *only)
{
    int cnt = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == t) {
                cnt++;
                *only = i;
            }
    return cnt + (t == g->output);
}

static int is_clamp(const struct zp_node *n) { return n->op == ZP_OP_RELU || n->op == ZP_OP_CLIP; }
/* Ops whose input may take their output's quantizer (they keep values; a mean's
 * input ranges wider than the mean and gets its own). */
static int keeps_q(const struct zp_node *n)
{
    return is_clamp(n) || n->op == ZP_OP_COPY || n->op == ZP_OP_MAXPOOL;
}

/* GlobalAveragePool, or an AveragePool whose window is the whole unpadded plane
 * of its input t. */
static int is_global_pool(const struct zp_node *n, const struct tinfo *t)
{
    if (n->op == ZP_OP_GAP)
        return 1;
    return n->op == ZP_OP_AVGPOOL && n->kh == t->h && n->kw == t->w && !n->pads[0] && !n->pads[1] && !n->pads[2] &&
           !n->pads[3];
}

void zp_int_program_free(struct zp_int_program *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_steps; i++) {
        struct step *s = &p->steps[i];
        zp_packed_b_free(&s->pb);
        free(s->dw_w);
        free(s->col_add);
        free(s->col_zb);
        free(s->mult);
        free(s->shift);
        free(s->fmult);
        free(s->deq);
        free(s->gap_lo);
        free(s->gap_hi);
    }
    for (int i = 0; i < p->n_threads && p->ws; i++) {
        zp_free(p->ws[i]);
        zp_free(p->wsf[i]);
        zp_free(p->acc[i]);
        zp_free(p->rows[i]);
        zp_free(p->col[i]);
    }
    free(p->ws);
    free(p->wsf);
    free(p->acc);
    free(p->rows);
    free(p->col);
    zp_free(p->zero_rows);
    free(p->steps);
    free(p->t);
    free(p);
}

const struct zp_iq *zp_int_program_input_q(const struct zp_int_program *p) { return &p->t[p->input].q; }

static void set_shape(struct tinfo *ti, const struct zp_tensor *T)
{
    ti->used = 1;
    if (T->ndim == 4) {
        ti->nd4 = 1;
        ti->c = T->dims[1];
        ti->h = T->dims[2];
        ti->w = T->dims[3];
    } else {
        ti->c = T->size;
        ti->h = ti->w = 1;
    }
}

/* The real range a tensor can take, from the calibrated layer outputs: a layer's
 * output range, narrowed by a clamp, summed by an Add, kept by the others; a
 * quantized tensor's grid range. 0 when unknown. */
static int tensor_range(const struct zp_int_program *p, const struct zp_int_layer_q *lq, int t, float *lo,
                        float *hi, int depth)
{
    const struct zp_graph *g = p->g;
    if (p->t[t].has_q) {
        const struct zp_iq *q = &p->t[t].q;
        *lo = q->scale * (float)(q->qmin - q->zp);
        *hi = q->scale * (float)(q->qmax - q->zp);
        return 1;
    }
    int prod = g->tensors[t].producer;
    if (prod < 0 || depth > 64)
        return 0;
    const struct zp_node *n = &g->nodes[prod];
    if (n->layer >= 0) {
        *lo = lq[n->layer].out_lo;
        *hi = lq[n->layer].out_hi;
        return !isnan(*lo) && !isnan(*hi);
    }
    float a, b;
    if (!tensor_range(p, lq, n->in[0], lo, hi, depth + 1))
        return 0;
    if (is_clamp(n)) {
        *lo = fminf(fmaxf(*lo, n->lo), n->hi);
        *hi = fmaxf(fminf(*hi, n->hi), n->lo);
    } else if (n->op == ZP_OP_ADD) {
        if (!tensor_range(p, lq, n->in[1], &a, &b, depth + 1))
            return 0;
        *lo += a;
        *hi += b;
    } else if (!keeps_q(n) && n->op != ZP_OP_AVGPOOL && n->op != ZP_OP_GAP) {
        return 0;
    }
    return 1;
}

/* A quantizer fitted to the tensor's range (an Add operand, a pooling input). */
static enum zp_status fit_tensor(struct zp_int_program *p, const struct zp_int_layer_q *lq,
                                 const struct zp_int_options *o, int t, const struct zp_node *reader,
                                 struct zp_err *err)
{
    float lo, hi;
    if (!o->fit || !tensor_range(p, lq, t, &lo, &hi, 0))
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "integer program: tensor '%s' read by %s '%s' has no quantizer (not a layer input, and "
                          "no calibrated layer output range reaches it)",
                          p->g->tensors[t].name, reader->op_type, reader->name);
    if (o->fit(o->fit_ctx, fminf(lo, 0.f), fmaxf(hi, 0.f), &p->t[t].q, err))
        return err->status;
    p->t[t].has_q = 1;
    return check_q(&p->t[t].q, "the quantizer fitted to its range", reader->name, err);
}

/* Backwards through the ops that keep values (clamps, Flatten, MaxPool): an input
 * takes its output's quantizer. Returns whether anything changed. */
static int propagate_back(struct zp_int_program *p)
{
    const struct zp_graph *g = p->g;
    int any = 0;
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = g->n_nodes - 1; i >= 0; i--) {
            const struct zp_node *n = &g->nodes[i];
            if (keeps_q(n) && p->t[n->out].has_q && !p->t[n->in[0]].has_q) {
                p->t[n->in[0]].q = p->t[n->out].q;
                p->t[n->in[0]].has_q = 1;
                changed = any = 1;
            }
        }
    }
    return any;
}

/* Quantizers of every tensor: layer inputs first, then backwards through the ops that
 * keep them; Add operands and pooling inputs (whose range is wider than the mean's)
 * from their calibrated ranges, and backwards again from those. */
static enum zp_status assign_quantizers(struct zp_int_program *p, const struct zp_int_layer_q *lq,
                                        const struct zp_int_options *o, struct zp_err *err)
{
    const struct zp_graph *g = p->g;
    for (int l = 0; l < g->n_layers; l++) {
        const struct zp_node *n = &g->nodes[g->layer_node[l]];
        struct tinfo *ti = &p->t[n->in[0]];
        if (check_q(&lq[l].in, "the input quantizer", n->name, err))
            return err->status;
        if (!ti->has_q) { /* a tensor read by two layers keeps the first one's */
            ti->q = lq[l].in;
            ti->has_q = 1;
        }
    }
    for (int round = 0; round < g->n_nodes + 1; round++) {
        propagate_back(p);
        int fitted = 0;
        for (int i = g->n_nodes - 1; i >= 0; i--) { /* the last readers first: their ranges are the narrower */
            const struct zp_node *n = &g->nodes[i];
            int k_max = n->op == ZP_OP_ADD ? 2 : (n->op == ZP_OP_GAP || n->op == ZP_OP_AVGPOOL) ? 1 : 0;
            for (int k = 0; k < k_max; k++)
                if (!p->t[n->in[k]].has_q) {
                    if (fit_tensor(p, lq, o, n->in[k], n, err))
                        return err->status;
                    fitted = 1;
                }
        }
        if (!fitted)
            break;
    }
    return ZP_OK;
}

static enum zp_status alloc_cols(struct step *s, int n, int fixed, int float_out, struct zp_err *err)
{
    s->col_add = calloc((size_t)n, sizeof(int32_t));
    s->mult = calloc((size_t)n, sizeof(int32_t));
    s->shift = calloc((size_t)n, 1);
    s->fmult = fixed ? NULL : calloc((size_t)n, sizeof(float));
    s->deq = float_out ? calloc((size_t)n, sizeof(float)) : NULL;
    if (!s->col_add || !s->mult || !s->shift || (!fixed && !s->fmult) || (float_out && !s->deq))
        return zp_err_set(err, ZP_ENOMEM, "integer program: out of memory");
    return ZP_OK;
}

/* A channel whose bias is beyond 2^28 steps of input scale x weight scale: its
 * weights (all at the zero point, or a degenerate slice of tiny values whose scale
 * the scheme shrank to fit them) contribute less than 2^-8 of the bias per product
 * term, so it runs as a constant channel: weights at the zero point, the step
 * widened to keep the bias in int32. */
static int channel_dead(const struct zp_int_layer_q *q, const struct zp_layer_info *li, int j)
{
    const float *bias = q->bias ? q->bias : li->bias;
    double step = (double)q->in.scale * (double)q->wscale[j];
    return bias && fabs(bias[j]) > step * (double)(1 << 28);
}

/* Output multipliers, clamp and int32 biases of a layer step. */
static enum zp_status layer_outputs(struct zp_int_program *p, struct step *s, const struct zp_int_layer_q *q,
                                    const struct zp_layer_info *li, const struct zp_int_options *o,
                                    const struct zp_node *clamp, struct zp_err *err)
{
    const float *bias = q->bias ? q->bias : li->bias;
    const struct zp_iq *oq = s->float_out ? NULL : &p->t[s->gap_cnt ? s->gap_out : s->out].q;
    if (s->gap_cnt && (!(s->gap_lo = malloc((size_t)s->n * sizeof(int32_t))) ||
                       !(s->gap_hi = malloc((size_t)s->n * sizeof(int32_t)))))
        return zp_err_set(err, ZP_ENOMEM, "integer program: out of memory");
    for (int j = 0; j < s->n; j++) {
        double step = (double)q->in.scale * (double)q->wscale[j];
        double b = bias ? bias[j] : 0.0;
        if (channel_dead(q, li, j))
            step = fabs(b) / (double)(1 << 20);
        double bq = step > 0 ? nearbyint(b / step) : 0.0;
        if (fabs(bq) > 2147483647.0 / 4) /* headroom for the accumulator */
            return zp_err_set(err, ZP_EUNSUPPORTED, "integer program: layer '%s' channel %d: bias %g is %g steps, "
                              "beyond int32", li->name, j, b, bq);
        s->col_add[j] += (int32_t)bq;
        if (s->float_out) {
            s->deq[j] = (float)step;
            continue;
        }
        double m = step / (double)oq->scale;
        if (s->gap_cnt) { /* the mean of the clamped accumulators: the clamp in steps of the accumulator */
            const struct zp_node *c = s->gap_clamp;
            double lo = c && step > 0 ? ceil(c->lo / step) : -2147483648.0, hi = c && step > 0 ? floor(c->hi / step)
                                                                                                  : 2147483647.0;
            s->gap_lo[j] = (int32_t)fmax(lo, -2147483648.0);
            s->gap_hi[j] = (int32_t)fmin(hi, 2147483647.0);
            m /= (double)s->gap_cnt;
        }
        if (s->fmult)
            s->fmult[j] = (float)m;
        int sh;
        if (zp_quantize_multiplier(m, &s->mult[j], &sh, err)) {
            zp_err_prefix(err, "integer program: layer '%s' channel %d", li->name, j);
            return err->status;
        }
        s->shift[j] = (int8_t)sh;
    }
    if (!s->float_out) {
        s->zp = oq->zp;
        s->lo = oq->qmin;
        s->hi = oq->qmax;
        if (clamp) {
            int32_t a = code_of(oq, clamp->lo), b = code_of(oq, clamp->hi);
            s->lo = a > s->lo ? a : s->lo;
            s->hi = b < s->hi ? b : s->hi;
        }
    }
    (void)o;
    return ZP_OK;
}

/* The GEMM variant of a layer, exact on every activation code: the VNNI and
 * scalar ones always are; without VNNI the int16 paths are exact only in part
 * (docs/kernels.md, "Narrow range"): the no-128 "i16" path saturates for
 * |a| > 64, so narrow weights run on the s8 "3op" path (exact when no weight is
 * -128, as narrow weights never are: s->fmt becomes s8 for the packing); full-
 * range s8 weights with a -128 code run on the scalar variant. */
static const struct zp_gemm_ukernel *exact_gemm(struct step *s, const struct zp_int_layer_q *q, size_t nw, int isa)
{
    const struct zp_gemm_ukernel *uk = zp_gemm_select(s->fmt, isa < 0 ? -1 : ZP_ISA_REF);
    if (uk && !strcmp(uk->path, "i16")) {
        s->fmt = ZP_KF_S8;
        uk = zp_gemm_select(ZP_KF_S8, -1);
    }
    if (uk && !strcmp(uk->path, "3op"))
        for (size_t i = 0; i < nw; i++)
            if (q->wcode[i] == -128)
                return zp_gemm_select(s->fmt, ZP_ISA_REF);
    return uk;
}

static enum zp_status build_layer(struct zp_int_program *p, const struct zp_node *n, const struct zp_int_layer_q *lq,
                                  const struct zp_int_options *o, struct step *s, struct zp_err *err)
{
    const struct zp_graph *g = p->g;
    const struct zp_layer_info *li = zp_graph_layer(g, n->layer);
    const struct zp_int_layer_q *q = &lq[n->layer];
    const struct tinfo *ti = &p->t[n->in[0]], *to = &p->t[s->out];
    int O = (int)li->n_out;
    if (q->wfmt != ZP_KF_U8 && q->wfmt != ZP_KF_S8 && q->wfmt != ZP_KF_S8N)
        return zp_err_set(err, ZP_EUNSUPPORTED, "integer program: layer '%s': weight format %s has no integer path "
                          "(u8, s8, s8-narrow only)", n->name, zp_kfmt_name(q->wfmt));
    /* The integer steps hold one [C, H, W] image per tensor; a MatMul of token rows
     * ([T, K] per image, channels last) would be read as one row of T K inputs. */
    if (li->channels_last)
        return zp_err_set(err, ZP_EUNSUPPORTED, "integer program: MatMul '%s' of %lld rows per image (channels "
                          "last; only [N, K] inputs and convolutions have an integer path)", n->name,
                          (long long)n->mm_rows);
    const struct zp_kfmt_traits *tr = zp_kfmt_traits(q->wfmt);
    int is_conv = n->op == ZP_OP_CONV;
    if (is_conv && (n->dh != 1 || n->dw != 1))
        return zp_err_set(err, ZP_EUNSUPPORTED, "integer program: Conv '%s': dilation %lldx%lld (only 1)", n->name,
                          (long long)n->dh, (long long)n->dw);
    if (is_conv && n->group != 1 && !li->depthwise)
        return zp_err_set(err, ZP_EUNSUPPORTED, "integer program: Conv '%s': %lld groups (only 1 or depthwise)",
                          n->name, (long long)n->group);
    int C = (int)ti->c;
    s->kh = is_conv ? (int)n->kh : 1;
    s->kw = is_conv ? (int)n->kw : 1;
    s->sh = is_conv ? (int)n->sh : 1;
    s->sw = is_conv ? (int)n->sw : 1;
    s->pt = is_conv ? (int)n->pads[0] : 0;
    s->pl = is_conv ? (int)n->pads[1] : 0;
    s->oh = (int)to->h;
    s->ow = (int)to->w;
    s->n = O;
    s->m = s->oh * s->ow;
    size_t nw = (size_t)O * (size_t)(li->depthwise ? 1 : C) * (size_t)s->kh * (size_t)s->kw;
    if (!is_conv)
        nw = (size_t)O * (size_t)ti->c * ti->h * ti->w;
    for (size_t i = 0; i < nw; i++)
        if (q->wcode[i] < tr->code_min || q->wcode[i] > tr->code_max)
            return zp_err_set(err, ZP_EINVAL, "integer program: layer '%s': weight code %d at %zu outside %s [%d, %d]",
                              n->name, q->wcode[i], i, tr->name, tr->code_min, tr->code_max);
    if (alloc_cols(s, O, !o->float_multiplier, s->float_out, err))
        return err->status;
    int in_signed = zp_iq_signed(&ti->q);
    if (li->depthwise) {
        s->kind = ST_DW;
        s->k = s->kh * s->kw;
        if (!(s->dw_w = malloc((size_t)s->k * O * sizeof(int16_t))))
            return zp_err_set(err, ZP_ENOMEM, "integer program: out of memory");
        for (int c = 0; c < O; c++)
            for (int t = 0; t < s->k; t++) /* ONNX [O][1][kh][kw] -> [kh][kw][C] */
                s->dw_w[(size_t)t * O + c] =
                    channel_dead(q, li, c) ? 0 : (int16_t)(q->wcode[(size_t)c * s->k + t] - q->wzp[c]);
        s->za = ti->q.zp;
        return layer_outputs(p, s, q, li, o, NULL, err) ? err->status : ZP_OK;
    }
    s->kind = ST_GEMM;
    s->fmt = q->wfmt;
    s->k = is_conv ? C * s->kh * s->kw : (int)(ti->c * ti->h * ti->w);
    if (!is_conv)
        s->m = 1;
    s->is1x1 = !is_conv || (s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->pt == 0 && s->pl == 0);
    s->uk = exact_gemm(s, q, nw, o->isa);
    if (!s->uk)
        return zp_err_set(err, ZP_EUNSUPPORTED, "integer program: layer '%s': no %s GEMM", n->name, tr->name);
    int a_u8 = s->fmt == ZP_KF_U8;
    s->a_flip = a_u8 == in_signed; /* u8 kernel on int8 codes, or s8 kernel on uint8 codes */
    s->za = ti->q.zp + (s->a_flip ? (a_u8 ? 128 : -128) : 0);
    /* B[K][N]: k = (ky kw + kx) C + c (NHWC patches); a Gemm reads the flat input */
    uint8_t *b = malloc((size_t)s->k * O);
    int64_t *colsum = calloc((size_t)O, sizeof *colsum);
    if (!b || !colsum) {
        free(b);
        free(colsum);
        return zp_err_set(err, ZP_ENOMEM, "integer program: out of memory");
    }
    for (int j = 0; j < O; j++)
        for (int k = 0; k < s->k; k++) {
            size_t src;
            if (is_conv) {
                int c = k % C, tap = k / C;
                src = (((size_t)j * C + c) * s->kh + tap / s->kw) * s->kw + tap % s->kw;
            } else {
                src = (size_t)j * s->k + k;
            }
            int32_t v = channel_dead(q, li, j) ? q->wzp[j] : q->wcode[src];
            b[(size_t)k * O + j] = (uint8_t)v;
            colsum[j] += v;
        }
    struct zp_gemm_problem gp = {.fmt = s->fmt, .m = 1, .n = O, .k = s->k, .b = b, .za = a_u8 ? s->za : 0, .zb = 0};
    enum zp_status st = zp_pack_b(&gp, &s->pb, err);
    free(b);
    if (!st && a_u8 && !(s->col_zb = malloc((size_t)O * sizeof(int32_t))))
        st = zp_err_set(err, ZP_ENOMEM, "integer program: out of memory");
    for (int j = 0; j < O && !st; j++) {
        if (a_u8) /* (a - za) b - zb (a - za): the row term at run time */
            s->col_zb[j] = q->wzp[j];
        else /* (a - za) w = a w - za colsum(w) */
            s->col_add[j] = (int32_t)(-(int64_t)s->za * colsum[j]);
    }
    free(colsum);
    if (!st)
        st = layer_outputs(p, s, q, li, o, NULL, err);
    return st;
}

static enum zp_status add_step(struct zp_int_program *p, struct step **out, struct zp_err *err)
{
    struct step *ns = realloc(p->steps, (size_t)(p->n_steps + 1) * sizeof *ns);
    if (!ns)
        return zp_err_set(err, ZP_ENOMEM, "integer program: out of memory");
    p->steps = ns;
    *out = &ns[p->n_steps++];
    memset(*out, 0, sizeof **out);
    (*out)->in2 = -1;
    return ZP_OK;
}

enum zp_status zp_int_program_build(const struct zp_graph *g, const struct zp_int_layer_q *lq,
                                    const struct zp_int_options *o, struct zp_int_program **out,
                                    struct zp_err *err)
{
    *out = NULL;
    struct zp_int_program *p = calloc(1, sizeof *p);
    if (!p || !(p->t = calloc((size_t)g->n_tensors, sizeof *p->t))) {
        free(p);
        return zp_err_set(err, ZP_ENOMEM, "integer program: out of memory");
    }
    p->g = g;
    p->input = g->input;
    p->output = g->output;
    p->ik = zp_int_kernels_select(o->isa < 0 ? -1 : ZP_ISA_REF);
    p->direct_a = o->isa < 0;
    enum zp_status st = ZP_OK;
    for (int i = 0; i < g->n_nodes && !st; i++) { /* operators first: a clear error before any fitting */
        enum zp_op op = g->nodes[i].op;
        if (g->nodes[i].layer < 0 && op != ZP_OP_ADD && op != ZP_OP_GAP && op != ZP_OP_AVGPOOL &&
            op != ZP_OP_MAXPOOL && !is_clamp(&g->nodes[i]) && op != ZP_OP_COPY && op != ZP_OP_SOFTMAX)
            st = zp_err_set(err, ZP_EUNSUPPORTED, "integer program: operator %s ('%s') has no integer version",
                            g->nodes[i].op_type, g->nodes[i].name);
    }
    if (!st)
        st = assign_quantizers(p, lq, o, err);
    int *skip = calloc((size_t)g->n_nodes, sizeof *skip);
    if (!st && !skip)
        st = zp_err_set(err, ZP_ENOMEM, "integer program: out of memory");
    if (!st && !p->t[p->input].has_q)
        st = zp_err_set(err, ZP_EUNSUPPORTED, "integer program: the graph input '%s' is not read by a layer",
                        g->tensors[p->input].name);
    if (!st)
        set_shape(&p->t[p->input], &g->tensors[p->input]);
    /* the float tail: Flatten / Softmax after the last layer, whose output is dequantized */
    int tail_from = -1;
    if (!st) {
        int t = p->output;
        while (g->tensors[t].producer >= 0) {
            const struct zp_node *n = &g->nodes[g->tensors[t].producer];
            if (n->layer >= 0) {
                tail_from = t;
                break;
            }
            if (n->op != ZP_OP_COPY && n->op != ZP_OP_SOFTMAX)
                break;
            t = n->in[0];
        }
    }
    for (int i = 0; i < g->n_nodes && !st; i++) {
        const struct zp_node *n = &g->nodes[i];
        if (skip[i])
            continue;
        struct step *s;
        if ((st = add_step(p, &s, err)))
            break;
        s->node = n;
        s->in = n->in[0];
        s->out = n->out;
        struct tinfo *ti = &p->t[n->in[0]];
        if (!ti->used) {
            st = zp_err_set(err, ZP_EUNSUPPORTED, "integer program: node '%s' reads '%s', not produced in integer",
                            n->name, g->tensors[n->in[0]].name);
            break;
        }
        const struct zp_node *clamp = NULL;
        int only = -1;
        if ((n->layer >= 0 || n->op == ZP_OP_ADD) && n->out != tail_from && consumers(g, n->out, &only) == 1 &&
            only >= 0 && is_clamp(&g->nodes[only])) { /* Relu / Clip fused as the output clamp */
            clamp = &g->nodes[only];
            skip[only] = 1;
            s->out = clamp->out;
        }
        /* a layer (and its clamp) read only by a global average pool: the pool is the
         * layer's output stage (fused_gap) */
        const struct zp_node *gap = NULL;
        if (n->layer >= 0 && s->out != tail_from && !ti->is_float && consumers(g, s->out, &only) == 1 &&
            only >= 0 && is_global_pool(&g->nodes[only], &p->t[s->out]) && p->t[g->nodes[only].out].has_q) {
            gap = &g->nodes[only];
            skip[only] = 1;
            s->gap_clamp = clamp;
            s->gap_out = gap->out;
        }
        struct tinfo *to = &p->t[s->out];
        set_shape(to, &g->tensors[s->out]);
        if (gap) {
            s->gap_cnt = (int)(to->h * to->w);
            set_shape(&p->t[gap->out], &g->tensors[gap->out]);
        }
        int float_out = s->out == tail_from || ti->is_float;
        if (float_out && n->layer < 0 && n->op != ZP_OP_COPY && n->op != ZP_OP_SOFTMAX) {
            st = zp_err_set(err, ZP_EUNSUPPORTED, "integer program: %s '%s' after the last layer", n->op_type, n->name);
            break;
        }
        if (!float_out && !to->has_q) {
            st = zp_err_set(err, ZP_EUNSUPPORTED, "integer program: output '%s' of %s '%s' has no quantizer",
                            g->tensors[s->out].name, n->op_type, n->name);
            break;
        }
        to->is_float = float_out;
        if (n->layer >= 0) {
            s->float_out = float_out;
            st = build_layer(p, n, lq, o, s, err);
            if (gap) {
                s->out = gap->out;
                continue;
            }
            if (!st && clamp && !float_out) { /* narrow the clamp to the activation */
                int32_t a = code_of(&to->q, clamp->lo), b = code_of(&to->q, clamp->hi);
                s->lo = a > s->lo ? a : s->lo;
                s->hi = b < s->hi ? b : s->hi;
            }
            continue;
        }
        if (float_out) {
            s->kind = n->op == ZP_OP_COPY ? ST_FCOPY : ST_SOFTMAX;
            continue;
        }
        int same_q = memcmp(&ti->q, &to->q, sizeof ti->q) == 0;
        switch (n->op) {
        case ZP_OP_ADD: {
            const struct tinfo *tb = &p->t[n->in[1]];
            if (!tb->used || tb->c != ti->c || tb->h != ti->h || tb->w != ti->w ||
                zp_iq_signed(&ti->q) != zp_iq_signed(&tb->q) || zp_iq_signed(&ti->q) != zp_iq_signed(&to->q)) {
                st = zp_err_set(err, ZP_EUNSUPPORTED, "integer program: Add '%s': operands of different shapes or "
                                "signedness (no broadcasting in integer)", n->name);
                break;
            }
            s->kind = ST_ADD;
            s->in2 = n->in[1];
            if ((st = zp_add_params(ti->q.scale, tb->q.scale, to->q.scale, &s->add, err)))
                break;
            s->add.za = ti->q.zp;
            s->add.zb = tb->q.zp;
            s->add.zo = to->q.zp;
            s->add.lo = to->q.qmin;
            s->add.hi = to->q.qmax;
            if (clamp) {
                int32_t a = code_of(&to->q, clamp->lo), b = code_of(&to->q, clamp->hi);
                s->add.lo = a > s->add.lo ? a : s->add.lo;
                s->add.hi = b < s->add.hi ? b : s->add.hi;
            }
            break;
        }
        case ZP_OP_GAP:
        case ZP_OP_AVGPOOL: {
            if (n->op == ZP_OP_AVGPOOL && (n->kh != ti->h || n->kw != ti->w || n->pads[0] || n->pads[1] ||
                                           n->pads[2] || n->pads[3])) {
                st = zp_err_set(err, ZP_EUNSUPPORTED, "integer program: AveragePool '%s': only a window over the "
                                "whole plane (global) runs in integer", n->name);
                break;
            }
            s->kind = ST_GAP;
            s->n = (int)ti->c;
            int64_t cnt = ti->h * ti->w;
            if ((st = alloc_cols(s, s->n, !o->float_multiplier, 0, err)))
                break;
            double m = (double)ti->q.scale / ((double)cnt * to->q.scale);
            int sh = 0;
            int32_t mu = 0;
            if ((st = zp_quantize_multiplier(m, &mu, &sh, err)))
                break;
            for (int j = 0; j < s->n; j++) {
                s->col_add[j] = (int32_t)(-cnt * ti->q.zp);
                s->mult[j] = mu;
                s->shift[j] = (int8_t)sh;
                if (s->fmult)
                    s->fmult[j] = (float)m;
            }
            s->zp = to->q.zp;
            s->lo = to->q.qmin;
            s->hi = to->q.qmax;
            break;
        }
        case ZP_OP_MAXPOOL:
        case ZP_OP_RELU:
        case ZP_OP_CLIP:
            if (!same_q) {
                st = zp_err_set(err, ZP_EUNSUPPORTED, "integer program: %s '%s': input and output quantizers differ",
                                n->op_type, n->name);
                break;
            }
            s->kind = n->op == ZP_OP_MAXPOOL ? ST_MAXPOOL : ST_CLAMP;
            if (s->kind == ST_CLAMP) {
                s->lo = code_of(&to->q, n->lo);
                s->hi = code_of(&to->q, n->hi);
            }
            break;
        case ZP_OP_COPY:
            if (!same_q) {
                st = zp_err_set(err, ZP_EUNSUPPORTED, "integer program: %s '%s': input and output quantizers differ",
                                n->op_type, n->name);
                break;
            }
            s->kind = ST_COPY;
            break;
        default:
            st = zp_err_set(err, ZP_EUNSUPPORTED, "integer program: operator %s ('%s') has no integer version",
                            n->op_type, n->name);
        }
    }
    free(skip);
    if (!st && !p->t[p->output].is_float) { /* the output is not a layer's: dequantize codes */
        struct step *s;
        if (!(st = add_step(p, &s, err))) {
            s->kind = ST_DEQUANT;
            s->in = s->out = p->output;
        }
    }
    /* workspace: every tensor its own region (small models; no reuse) */
    if (!st) {
        for (int t = 0; t < g->n_tensors; t++) {
            struct tinfo *ti = &p->t[t];
            if (!ti->used)
                continue;
            size_t sz = (size_t)(ti->c * ti->h * ti->w);
            if (ti->is_float) {
                ti->off = p->ws_floats;
                p->ws_floats += sz;
            } else {
                ti->off = p->ws_bytes;
                p->ws_bytes += (sz + 63) & ~(size_t)63;
            }
        }
        p->ws_floats += (size_t)g->tensors[p->input].size; /* + the output's float copy */
        for (int i = 0; i < p->n_steps; i++) {
            const struct step *s = &p->steps[i];
            size_t accn = (size_t)s->m * s->n;
            if (s->kind == ST_GAP)
                accn = (size_t)s->n;
            if (accn > p->acc_ints)
                p->acc_ints = accn;
            size_t kp = (size_t)(s->k + ZP_KPAD - 1) / ZP_KPAD * ZP_KPAD; /* patches or flipped rows */
            if (s->kind == ST_GEMM && (size_t)s->m * kp > p->col_bytes)
                p->col_bytes = (size_t)s->m * kp;
            if (s->kind == ST_COPY && (size_t)g->tensors[s->in].size > p->col_bytes) /* its NCHW copy */
                p->col_bytes = (size_t)g->tensors[s->in].size;
        }
        p->n_threads = omp_get_max_threads();
        p->ws = calloc((size_t)p->n_threads, sizeof *p->ws);
        p->wsf = calloc((size_t)p->n_threads, sizeof *p->wsf);
        p->acc = calloc((size_t)p->n_threads, sizeof *p->acc);
        p->rows = calloc((size_t)p->n_threads, sizeof *p->rows);
        p->col = calloc((size_t)p->n_threads, sizeof *p->col);
        if (!p->ws || !p->wsf || !p->acc || !p->rows || !p->col)
            st = zp_err_set(err, ZP_ENOMEM, "integer program: out of memory");
        size_t max_m = 1;
        for (int i = 0; i < p->n_steps; i++)
            if ((size_t)p->steps[i].m > max_m)
                max_m = (size_t)p->steps[i].m;
        if (!st && !(p->zero_rows = zp_calloc(max_m + 16, sizeof(int32_t))))
            st = zp_err_set(err, ZP_ENOMEM, "integer program: out of memory (workspace)");
        for (int i = 0; i < p->n_threads && !st; i++) {
            p->ws[i] = zp_alloc(p->ws_bytes + 64);
            p->wsf[i] = zp_alloc((p->ws_floats + 16) * sizeof(float));
            p->acc[i] = zp_alloc((p->acc_ints + 16) * sizeof(int32_t));
            p->rows[i] = zp_alloc((max_m + 16) * sizeof(int32_t));
            p->col[i] = zp_alloc(p->col_bytes + 64);
            if (!p->ws[i] || !p->wsf[i] || !p->acc[i] || !p->rows[i] || !p->col[i])
                st = zp_err_set(err, ZP_ENOMEM, "integer program: out of memory (workspace)");
        }
    }
    if (st) {
        zp_int_program_free(p);
        return st;
    }
    *out = p;
    return ZP_OK;
}
