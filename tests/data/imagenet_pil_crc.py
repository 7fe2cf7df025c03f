#!/usr/bin/env python3
"""Prints the CRC-32 of Pillow's preprocessing of the first shared ImageNet
images, for test_imagenet_1k in tests/test_data.c (which recomputes them from
the loaded floats). Each CRC covers the 3x224x224 uint8 CHW crop:
  crop        torchvision Resize(256) + CenterCrop(224) (long side truncated,
              offsets round() half to even)
  round_floor long side rounded, offsets (d - 224) // 2
  stretch     resize((224, 224))
all with Image.BILINEAR after Image.open(f).convert("RGB").
Needs Debian's python3-pil and python3-numpy; run from the repo root:
    /usr/bin/python3 tests/data/imagenet_pil_crc.py [../shared/data]
"""
import csv
import sys
import zlib

import numpy as np
from PIL import Image

N = 8


def prep(img, mode):
    w, h = img.size
    if mode == "stretch":
        return img.resize((224, 224), Image.BILINEAR)
    short, long = (w, h) if w <= h else (h, w)
    if mode == "crop":
        nl = int(256 * long / short)
    else:
        nl = int(256 * long / short + 0.5)
    nw, nh = (256, nl) if w <= h else (nl, 256)
    img = img.resize((nw, nh), Image.BILINEAR)
    if mode == "crop":
        top, left = int(round((nh - 224) / 2.0)), int(round((nw - 224) / 2.0))
    else:
        top, left = (nh - 224) // 2, (nw - 224) // 2
    return img.crop((left, top, left + 224, top + 224))


def main():
    root = (sys.argv[1] if len(sys.argv) > 1 else "../shared/data") + "/imagenet/"
    rows = list(csv.reader(open(root + "labels/sample_train_1k.csv")))[1:N + 1]
    print("    /* file, crc32 of crop, round_floor, stretch (tests/data/imagenet_pil_crc.py) */")
    for r in rows:
        img = Image.open(root + "imagenet_sample_train_1k/" + r[0]).convert("RGB")
        crcs = [zlib.crc32(np.ascontiguousarray(np.asarray(prep(img, m)).transpose(2, 0, 1)).tobytes())
                for m in ("crop", "round_floor", "stretch")]
        print('    {"%s", 0x%08xu, 0x%08xu, 0x%08xu},' % (r[0], *crcs))


if __name__ == "__main__":
    main()
