/* Decode tables of the block-scaled formats: see kernels/minifloat.h. */
#include "kernels/minifloat.h"

#include <math.h>

const float zp_kd_e2m1[16] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f,
                              -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

const int8_t zp_kd_e2m1_x2[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

/* bitsandbytes' NF4 code book (functional.py, get_4bit_type("nf4")), as float. */
const float zp_kd_nf4[16] = {
    -1.0f,
    -0.6961928009986877f,
    -0.5250730514526367f,
    -0.39491748809814453f,
    -0.28444138169288635f,
    -0.18477343022823334f,
    -0.09105003625154495f,
    0.0f,
    0.07958029955625534f,
    0.16093020141124725f,
    0.24611230194568634f,
    0.33791524171829224f,
    0.44070982933044434f,
    0.5626170039176941f,
    0.7229568362236023f,
    1.0f,
};

float zp_kd_e4m3(uint8_t code)
{
    if (zp_kd_e4m3_isnan(code))
        return NAN;
    int e = (code >> 3) & 15, m = code & 7;
    float v = e ? ldexpf(1.0f + (float)m / 8.0f, e - 7) : ldexpf((float)m, -9);
    return code & 0x80 ? -v : v;
}

float zp_kd_e8m0(uint8_t code)
{
    return code == 0xff ? NAN : ldexpf(1.0f, (int)code - 127);
}
