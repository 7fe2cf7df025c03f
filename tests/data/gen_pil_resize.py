#!/usr/bin/env python3
"""Writes pil_resize.bin: random images and their PIL.Image.resize(BILINEAR)
results, the bit-exact reference for tests/test_data.c (test_resize_vs_pillow).

Record layout, repeated: five little-endian uint32 (in_w, in_h, channels,
out_w, out_h), the input pixels (HWC uint8), then Pillow's output pixels.
Needs Debian's python3-pil and python3-numpy; run from the repo root:
    /usr/bin/python3 tests/data/gen_pil_resize.py
"""
import struct
import sys

import numpy as np
from PIL import Image

CASES = [  # (in_w, in_h, channels, out_w, out_h)
    (50, 37, 3, 34, 25),     # the ImageNet ratio: 500x375 -> 341x256, scaled down
    (37, 50, 3, 25, 34),
    (75, 50, 3, 51, 34),     # reduction by ~1.47 on both axes
    (97, 61, 3, 7, 5),       # strong reduction: wide triangle support
    (64, 48, 1, 32, 24),     # exact factor 2, grey
    (5, 7, 3, 23, 19),       # upscaling
    (40, 30, 3, 40, 17),     # vertical pass only
    (40, 30, 1, 13, 30),     # horizontal pass only
    (31, 29, 3, 30, 28),     # tiny reduction
    (16, 16, 3, 16, 16),     # identity
]


def main():
    rng = np.random.default_rng(20261126)
    out = bytearray()
    for (iw, ih, c, ow, oh) in CASES:
        # Smooth-ish content plus noise, like a photo, so all rounding paths occur.
        yy, xx = np.mgrid[0:ih, 0:iw]
        base = (128 + 100 * np.sin(xx / 3.0 + yy / 5.0))[..., None]
        px = np.clip(base + rng.integers(-60, 61, size=(ih, iw, c)), 0, 255).astype(np.uint8)
        img = Image.fromarray(px[..., 0] if c == 1 else px, "L" if c == 1 else "RGB")
        res = np.asarray(img.resize((ow, oh), Image.BILINEAR), dtype=np.uint8)
        out += struct.pack("<5I", iw, ih, c, ow, oh)
        out += px.tobytes()
        out += res.tobytes()
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/pil_resize.bin"
    with open(path, "wb") as f:
        f.write(out)
    print(f"{path}: {len(CASES)} cases, {len(out)} bytes (Pillow {Image.__version__})")


if __name__ == "__main__":
    main()
