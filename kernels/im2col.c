/* im2col and its adjoint col2im on one NCHW image (kernels/kernels.h, "im2col
 * and col2im"): one walk serves both, so they cannot disagree. Portable C; the
 * inner loops have no bounds test (zp_im2col_ox_range). */
#include "kernels/kernels.h"

#include <assert.h>
#include <string.h>

void zp_im2col_ox_range(const struct zp_im2col_geom *q, int64_t kx, int64_t *lo, int64_t *hi)
{
    const int64_t x0 = kx * q->dw - q->pl, sw = q->sw;
    *lo = x0 >= 0 ? 0 : (-x0 + sw - 1) / sw;
    *hi = x0 >= q->w ? 0 : (q->w - x0 + sw - 1) / sw;
    if (*hi > q->ow)
        *hi = q->ow;
    if (*lo > *hi)
        *lo = *hi;
}

/* back 0: col = im2col(x); back 1: x += col2im(col). */
static void walk(const struct zp_im2col_geom *q, float *x, float *col, int back)
{
    assert(q && x && col && q->c >= 1 && q->kh >= 1 && q->kw >= 1 && q->sh >= 1 && q->sw >= 1);
    const int64_t P = q->oh * q->ow;
    if (!back)
        memset(col, 0, (size_t)(q->c * q->kh * q->kw * P) * sizeof(float));
    for (int64_t c = 0; c < q->c; c++)
        for (int64_t ky = 0; ky < q->kh; ky++)
            for (int64_t kx = 0; kx < q->kw; kx++) {
                float *d = col + ((c * q->kh + ky) * q->kw + kx) * P;
                float *p = x + c * q->h * q->w + kx * q->dw - q->pl;
                int64_t lo, hi;
                zp_im2col_ox_range(q, kx, &lo, &hi);
                for (int64_t oy = 0; oy < q->oh; oy++) {
                    const int64_t iy = oy * q->sh + ky * q->dh - q->pt;
                    if (iy < 0 || iy >= q->h)
                        continue;
                    float *pr = p + iy * q->w, *dr = d + oy * q->ow;
                    if (back)
                        for (int64_t ox = lo; ox < hi; ox++)
                            pr[ox * q->sw] += dr[ox];
                    else
                        for (int64_t ox = lo; ox < hi; ox++)
                            dr[ox] = pr[ox * q->sw];
                }
            }
}

void zp_f32_im2col(const struct zp_im2col_geom *q, const float *x, float *col)
{
    walk(q, (float *)x, col, 0); /* reads x only */
}

void zp_f32_col2im(const struct zp_im2col_geom *q, const float *col, float *x)
{
    walk(q, x, (float *)col, 1); /* reads col only */
}
