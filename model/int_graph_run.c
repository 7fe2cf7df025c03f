/* Running the integer program (model/int_graph.h): one image per OpenMP thread
 * at a time, in that thread's workspace; the input quantized once, every step on
 * codes, the float tail (dequantized logits, Flatten, Softmax) last. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "common/round.h"
#include "model/int_graph_internal.h"

static inline int32_t rd(const uint8_t *x, int sgn, size_t i) { return sgn ? (int32_t)(int8_t)x[i] : (int32_t)x[i]; }

/* float NCHW -> NHWC codes, as the affine schemes quantize (half to even, exact ties) */
static void quantize_input(const struct zp_int_program *p, const struct tinfo *t, const float *x, uint8_t *q)
{
    const struct zp_iquant_params qp = {t->q.scale, t->q.zp, t->q.qmin, t->q.qmax};
    p->ik->quantize(&qp, x, (int)t->c, t->h * t->w, q);
}

/* The activations of a GEMM step in the kernel's domain: the input itself, or its
 * NHWC patches (padding = the zero point), flipped by 0x80 when the kernel wants the
 * other signedness; zp_pack_a packs them. For the kernels that take a sign-split A
 * (the AVX2 / AVX-512BW int8 paths) and for the reference program (so that the
 * tests compare direct_rows with this plain route); the others read direct_rows. */
static const uint8_t *gemm_rows(const struct step *s, const struct tinfo *ti, const uint8_t *x, uint8_t *col)
{
    const uint8_t flip = s->a_flip ? 0x80 : 0;
    if (s->is1x1) {
        if (!flip)
            return x;
        for (size_t i = 0; i < (size_t)s->m * s->k; i++)
            col[i] = x[i] ^ flip;
        return col;
    }
    const int C = (int)ti->c, H = (int)ti->h, W = (int)ti->w;
    const uint8_t pad = (uint8_t)s->za;
    uint8_t *o = col;
    for (int oy = 0; oy < s->oh; oy++)
        for (int ox = 0; ox < s->ow; ox++)
            for (int ky = 0; ky < s->kh; ky++) {
                int iy = oy * s->sh - s->pt + ky;
                for (int kx = 0; kx < s->kw; kx++, o += C) {
                    int ix = ox * s->sw - s->pl + kx;
                    if (iy < 0 || iy >= H || ix < 0 || ix >= W) {
                        memset(o, pad, (size_t)C);
                        continue;
                    }
                    const uint8_t *src = x + ((size_t)iy * W + ix) * C;
                    for (int c = 0; c < C; c++)
                        o[c] = src[c] ^ flip;
                }
            }
    return col;
}

static void requant(const struct zp_int_program *p, const struct step *s, const int32_t *acc, const int32_t *rows,
                    int m, uint8_t *out);

/* A layer's output stage fused with the global average pool after it: per
 * channel the sum over the pixels of the accumulators (biases and zero points
 * in), each clamped to the layer's Relu / Clip in accumulator steps, then
 * requantized once (the multipliers hold 1 / pixels). The sums go into acc's
 * first row (each entry is read before it is written). */
static void pool_acc(const struct zp_int_program *p, const struct step *s, int32_t *acc, const int32_t *rows,
                     uint8_t *out)
{
    for (int j = 0; j < s->n; j++) {
        int64_t sum = 0;
        for (int i = 0; i < s->m; i++) {
            int64_t v = (int64_t)acc[(size_t)i * s->n + j] + s->col_add[j];
            if (s->col_zb)
                v -= (int64_t)s->col_zb[j] * rows[i];
            sum += v < s->gap_lo[j] ? s->gap_lo[j] : v > s->gap_hi[j] ? s->gap_hi[j] : v;
        }
        acc[j] = (int32_t)(sum < INT32_MIN ? INT32_MIN : sum > INT32_MAX ? INT32_MAX : sum);
    }
    struct zp_rq_call c = {.rows = 1, .n = s->n, .acc = acc, .ld_acc = (size_t)s->n, .mult = s->mult,
                           .shift = s->shift, .fmult = s->fmult, .zp = s->zp, .lo = s->lo, .hi = s->hi,
                           .out = out, .ld_out = (size_t)s->n};
    p->ik->requant(&c);
}

/* The output stage of a layer: requantization, or the fused pool. */
static void layer_out(const struct zp_int_program *p, const struct step *s, int32_t *acc, const int32_t *rows,
                      uint8_t *out)
{
    if (s->gap_cnt)
        pool_acc(p, s, acc, rows, out);
    else
        requant(p, s, acc, rows, s->m, out);
}

static void requant(const struct zp_int_program *p, const struct step *s, const int32_t *acc, const int32_t *rows,
                    int m, uint8_t *out)
{
    struct zp_rq_call c = {.rows = m, .n = s->n, .acc = acc, .ld_acc = (size_t)s->n, .col_add = s->col_add,
                           .col_zb = s->col_zb, .rowsum = s->col_zb ? rows : NULL, .mult = s->mult,
                           .shift = s->shift, .fmult = s->fmult, .zp = s->zp, .lo = s->lo, .hi = s->hi,
                           .out = out, .ld_out = (size_t)s->n};
    p->ik->requant(&c);
}

/* int32 accumulators -> float outputs in NCHW order (the logits) */
static void dequant_acc(const struct step *s, const int32_t *acc, const int32_t *rows, float *y)
{
    for (int i = 0; i < s->m; i++)
        for (int j = 0; j < s->n; j++) {
            int64_t v = (int64_t)acc[(size_t)i * s->n + j] + s->col_add[j];
            if (s->col_zb)
                v -= (int64_t)s->col_zb[j] * rows[i];
            y[(size_t)j * s->m + i] = (float)((double)v * (double)s->deq[j]);
        }
}

/* The packed A of a GEMM step for the kernels that read plain bytes (activation
 * formats U8 and S8SHIFT: the VNNI and scalar ones), without zp_pack_a: in both a
 * byte is the code as uint8 (int8 codes + 128, i.e. xor 0x80; u8 weights want the
 * codes as they are, s8 weights an int8 domain shifted back by 128), rows kp
 * bytes apart with the K padding 0 (B is 0 there). A 1x1 step on uint8 codes with
 * K a multiple of ZP_KPAD reads the tensor in place; others are written into the
 * thread's buffer, a convolution's patches straight from the NHWC rows (a tap
 * row of kw pixels is kw C contiguous bytes). rowsum (u8 weights only: the
 * kernel's row term and the per-channel zero points' term) is the bytes' sum. */
static void direct_rows(const struct step *s, const struct tinfo *ti, const uint8_t *x, uint8_t *col,
                        int32_t *rowsum, struct zp_packed_a *pa)
{
    const uint8_t flip = zp_iq_signed(&ti->q) ? 0x80 : 0;
    const int kp = (s->k + ZP_KPAD - 1) / ZP_KPAD * ZP_KPAD;
    *pa = (struct zp_packed_a){.fmt = s->uk->afmt, .m = s->m, .k = s->k, .kp = kp, .rowsum = rowsum};
    if (s->is1x1 && !flip && kp == s->k) {
        pa->data = (void *)x;
    } else if (s->is1x1) {
        for (int i = 0; i < s->m; i++) {
            const uint8_t *src = x + (size_t)i * s->k;
            uint8_t *o = col + (size_t)i * kp;
            for (int k = 0; k < s->k; k++)
                o[k] = src[k] ^ flip;
            memset(o + s->k, 0, (size_t)(kp - s->k));
        }
        pa->data = col;
    } else {
        const int C = (int)ti->c, H = (int)ti->h, W = (int)ti->w, rowb = s->kw * C;
        const uint8_t pad = (uint8_t)ti->q.zp ^ flip;
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++) {
                uint8_t *o = col + ((size_t)oy * s->ow + ox) * kp;
                int ix0 = ox * s->sw - s->pl;
                int kx0 = ix0 < 0 ? -ix0 : 0, kx1 = W - ix0 < s->kw ? W - ix0 : s->kw;
                for (int ky = 0; ky < s->kh; ky++, o += rowb) {
                    int iy = oy * s->sh - s->pt + ky;
                    if (iy < 0 || iy >= H || kx0 >= kx1) {
                        memset(o, pad, (size_t)rowb);
                        continue;
                    }
                    if (kx0 > 0)
                        memset(o, pad, (size_t)kx0 * C);
                    const uint8_t *src = x + ((size_t)iy * W + ix0 + kx0) * C;
                    size_t nb = (size_t)(kx1 - kx0) * C;
                    if (flip)
                        for (size_t b = 0; b < nb; b++)
                            o[(size_t)kx0 * C + b] = src[b] ^ flip;
                    else if (nb <= 16) /* one vector move (a 3-channel input's 9 bytes): the bytes past nb are
                                          rewritten by what follows, the buffers have 64 bytes of slack */
                        memcpy(o + (size_t)kx0 * C, src, 16);
                    else
                        memcpy(o + (size_t)kx0 * C, src, nb);
                    if (kx1 < s->kw)
                        memset(o + (size_t)kx1 * C, pad, (size_t)(s->kw - kx1) * C);
                }
                memset(o, 0, (size_t)(kp - s->k));
            }
        pa->data = col;
    }
    if (!s->col_zb)
        return; /* s8 weights: the kernel's row term is 0, rowsum is the zeroed buffer */
    for (int i = 0; i < s->m; i++) {
        const uint8_t *r = (const uint8_t *)pa->data + (size_t)i * kp;
        int32_t sum = 0;
        for (int k = 0; k < s->k; k++)
            sum += r[k];
        rowsum[i] = sum;
    }
}

static enum zp_status run_gemm(const struct zp_int_program *p, const struct step *s, int tid, uint8_t *ws,
                               float *wsf, struct zp_err *err)
{
    const struct tinfo *ti = &p->t[s->in], *to = &p->t[s->out];
    int32_t *acc = p->acc[tid], *rows = p->rows[tid];
    struct zp_packed_a pa;
    int direct = p->direct_a && (s->uk->afmt == ZP_AF_U8 || s->uk->afmt == ZP_AF_S8SHIFT);
    if (direct) {
        direct_rows(s, ti, ws + ti->off, p->col[tid], s->col_zb ? rows : p->zero_rows, &pa);
    } else {
        const uint8_t *a = gemm_rows(s, ti, ws + ti->off, p->col[tid]);
        struct zp_gemm_problem gp = {.fmt = s->fmt, .m = s->m, .n = s->n, .k = s->k, .a = a, .za = s->za};
        if (zp_pack_a(&gp, s->uk->afmt, &pa, err))
            return err->status;
        if (s->col_zb)
            memcpy(rows, pa.rowsum, (size_t)s->m * sizeof *rows);
    }
    struct zp_gemm_call call = {.a = &pa, .b = &s->pb, .c = acc, .ldc = (size_t)s->n, .threads = 1};
    zp_gemm_run(s->uk, &call);
    if (s->col_zb) /* sum over k of (a - za): the rows' sums less K za */
        for (int i = 0; i < s->m; i++)
            rows[i] -= s->k * s->za;
    if (!direct)
        zp_packed_a_free(&pa);
    if (s->float_out)
        dequant_acc(s, acc, rows, wsf + to->off);
    else
        layer_out(p, s, acc, rows, ws + to->off);
    return ZP_OK;
}

static void run_maxpool(const struct step *s, const struct tinfo *ti, const struct tinfo *to, const uint8_t *x,
                        uint8_t *y)
{
    const struct zp_node *n = s->node;
    int sg = zp_iq_signed(&ti->q);
    for (int64_t oy = 0; oy < to->h; oy++)
        for (int64_t ox = 0; ox < to->w; ox++)
            for (int64_t c = 0; c < ti->c; c++) {
                int32_t m = INT32_MIN;
                for (int64_t ky = 0; ky < n->kh; ky++) {
                    int64_t iy = oy * n->sh - n->pads[0] + ky * n->dh;
                    if (iy < 0 || iy >= ti->h)
                        continue;
                    for (int64_t kx = 0; kx < n->kw; kx++) {
                        int64_t ix = ox * n->sw - n->pads[1] + kx * n->dw;
                        if (ix < 0 || ix >= ti->w)
                            continue;
                        int32_t v = rd(x, sg, (size_t)((iy * ti->w + ix) * ti->c + c));
                        m = v > m ? v : m;
                    }
                }
                y[(size_t)((oy * to->w + ox) * to->c + c)] = (uint8_t)(m == INT32_MIN ? ti->q.qmin : m);
            }
}

/* Flatten / Reshape on NHWC codes: the same elements in NCHW order. */
static void run_copy(const struct tinfo *ti, const struct tinfo *to, const uint8_t *x, uint8_t *y, uint8_t *tmp)
{
    size_t n = (size_t)(ti->c * ti->h * ti->w);
    if ((ti->h * ti->w == 1 && to->h * to->w == 1) || (ti->c == to->c && ti->h == to->h && ti->w == to->w)) {
        memcpy(y, x, n);
        return;
    }
    size_t hw = (size_t)(ti->h * ti->w), ohw = (size_t)(to->h * to->w);
    for (size_t c = 0; c < (size_t)ti->c; c++)
        for (size_t q = 0; q < hw; q++)
            tmp[c * hw + q] = x[q * (size_t)ti->c + c];
    for (size_t c = 0; c < (size_t)to->c; c++)
        for (size_t q = 0; q < ohw; q++)
            y[q * (size_t)to->c + c] = tmp[c * ohw + q];
}

static enum zp_status run_image(const struct zp_int_program *p, const float *x, float *logits, int tid,
                                struct zp_err *err)
{
    uint8_t *ws = p->ws[tid];
    float *wsf = p->wsf[tid];
    quantize_input(p, &p->t[p->input], x, ws + p->t[p->input].off);
    for (int i = 0; i < p->n_steps; i++) {
        const struct step *s = &p->steps[i];
        const struct tinfo *ti = &p->t[s->in], *to = &p->t[s->out];
        const uint8_t *xin = ws + ti->off;
        uint8_t *y = ws + to->off;
        switch (s->kind) {
        case ST_GEMM:
            if (run_gemm(p, s, tid, ws, wsf, err))
                return err->status;
            break;
        case ST_DW: {
            struct zp_idw_call c = {.h = (int)ti->h, .w = (int)ti->w, .c = (int)ti->c, .kh = s->kh, .kw = s->kw,
                                    .sh = s->sh, .sw = s->sw, .pt = s->pt, .pl = s->pl, .oh = s->oh, .ow = s->ow,
                                    .x = xin, .x_signed = zp_iq_signed(&ti->q), .zx = s->za, .wt = s->dw_w,
                                    .acc = p->acc[tid]};
            p->ik->dw(&c);
            if (s->float_out)
                dequant_acc(s, p->acc[tid], NULL, wsf + to->off);
            else
                layer_out(p, s, p->acc[tid], NULL, y);
            break;
        }
        case ST_ADD:
            p->ik->add(&s->add, xin, ws + p->t[s->in2].off, zp_iq_signed(&ti->q), ti->c * ti->h * ti->w, y);
            break;
        case ST_GAP:
            p->ik->chansum(xin, zp_iq_signed(&ti->q), (int)(ti->h * ti->w), (int)ti->c, p->acc[tid]);
            requant(p, s, p->acc[tid], NULL, 1, y);
            break;
        case ST_MAXPOOL:
            run_maxpool(s, ti, to, xin, y);
            break;
        case ST_CLAMP: {
            int sg = zp_iq_signed(&ti->q);
            for (size_t k = 0; k < (size_t)(ti->c * ti->h * ti->w); k++) {
                int32_t v = rd(xin, sg, k);
                y[k] = (uint8_t)(v < s->lo ? s->lo : v > s->hi ? s->hi : v);
            }
            break;
        }
        case ST_COPY:
            run_copy(ti, to, xin, y, p->col[tid]);
            break;
        case ST_FCOPY:
            memcpy(wsf + to->off, wsf + ti->off, (size_t)(to->c * to->h * to->w) * sizeof(float));
            break;
        case ST_SOFTMAX:
            zp_op_unary(p->g, s->node, wsf + ti->off, wsf + to->off);
            break;
        case ST_DEQUANT: {
            size_t hw = (size_t)(ti->h * ti->w);
            int sg = zp_iq_signed(&ti->q);
            for (size_t c = 0; c < (size_t)ti->c; c++)
                for (size_t q = 0; q < hw; q++)
                    logits[c * hw + q] = ti->q.scale * (float)(rd(xin, sg, q * (size_t)ti->c + c) - ti->q.zp);
            return ZP_OK;
        }
        }
    }
    const struct tinfo *t = &p->t[p->output];
    memcpy(logits, wsf + t->off, (size_t)(t->c * t->h * t->w) * sizeof(float));
    return ZP_OK;
}

enum zp_status zp_int_program_run(struct zp_int_program *p, const float *input, int batch, float *logits,
                                  struct zp_err *err)
{
    const struct zp_graph *g = p->g;
    size_t in_n = (size_t)g->tensors[p->input].size, out_n = (size_t)g->tensors[p->output].size;
    enum zp_status st = ZP_OK;
    struct zp_err first = {0};
#pragma omp parallel for schedule(dynamic, 1) num_threads(p->n_threads)
    for (int b = 0; b < batch; b++) {
        struct zp_err e = {0};
        if (run_image(p, input + (size_t)b * in_n, logits + (size_t)b * out_n, omp_get_thread_num(), &e)) {
#pragma omp critical(zp_int_run_err)
            if (!st) {
                st = e.status;
                first = e;
            }
        }
    }
    if (st && err)
        *err = first;
    return st;
}
