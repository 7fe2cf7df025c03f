#!/usr/bin/python3
"""PyTorch's float throughput on an ONNX CNN (the anchor for our runtime's figure).

Builds an equivalent torch module from the ONNX file's own weights (Conv with
explicit, possibly asymmetric pads, Clip, Relu, Add, Identity, GlobalAveragePool,
Flatten, Gemm: MobileNet v1 and v2), checks it against the golden logits when
given, and times it under inference_mode in the memory layouts asked for
(channels-last only from the shell script).  Used by scripts/bench_float_inference.sh.

usage: bench_torch_mobilenet.py MODEL.onnx [--batch 50] [--threads 2] [--reps 20]
                                [--layouts channels_last,nchw]
                                [--golden-input U8_NHWC.bin --golden-logits F32.bin]
"""
import argparse
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


class OnnxNet(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        g = model.graph
        self.inits = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
        consts = {}
        self.steps = []
        for n in g.node:
            a = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
            if n.op_type == "Constant":
                consts[n.output[0]] = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
                continue
            self.steps.append((n.op_type, list(n.input), n.output[0], a))
        self.inits.update(consts)
        self.input = [i.name for i in g.input if i.name not in self.inits][0]
        self.output = g.output[0].name

    def forward(self, x):
        env = {self.input: x}
        get = lambda k: env[k] if k in env else self.inits[k]
        for op, ins, out, a in self.steps:
            if op == "Conv":
                p = list(a.get("pads", [0, 0, 0, 0]))
                xin = get(ins[0])
                if p[0] != p[2] or p[1] != p[3]:  # asymmetric: pad explicitly
                    xin = F.pad(xin, (p[1], p[3], p[0], p[2]))
                    pad = 0
                else:
                    pad = (p[0], p[1])
                env[out] = F.conv2d(xin, get(ins[1]), get(ins[2]) if len(ins) > 2 else None,
                                    stride=tuple(a.get("strides", [1, 1])), padding=pad,
                                    dilation=tuple(a.get("dilations", [1, 1])), groups=a.get("group", 1))
            elif op == "Clip":
                lo = float(get(ins[1])) if len(ins) > 1 and ins[1] else None
                hi = float(get(ins[2])) if len(ins) > 2 and ins[2] else None
                env[out] = F.hardtanh(get(ins[0]), lo, hi) if lo is not None and hi is not None \
                    else torch.clamp(get(ins[0]), lo, hi)
            elif op == "Relu":
                env[out] = F.relu(get(ins[0]))
            elif op == "Add":
                env[out] = get(ins[0]) + get(ins[1])
            elif op == "Identity":
                env[out] = get(ins[0])
            elif op == "GlobalAveragePool":
                env[out] = F.adaptive_avg_pool2d(get(ins[0]), 1)
            elif op == "Flatten":
                env[out] = torch.flatten(get(ins[0]), a.get("axis", 1))
            elif op == "Reshape":
                env[out] = torch.reshape(get(ins[0]), (get(ins[0]).shape[0], -1))
            elif op == "Gemm":
                w = get(ins[1])
                w = w if a.get("transB", 0) else w.t()
                env[out] = F.linear(get(ins[0]) * a.get("alpha", 1.0), w.contiguous(),
                                    get(ins[2]) * a.get("beta", 1.0) if len(ins) > 2 else None)
            else:
                raise SystemExit("bench_torch_mobilenet: op %s not handled" % op)
        return env[self.output]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--layouts", default="channels_last,nchw",
                    help="comma-separated memory layouts to time: channels_last, nchw")
    ap.add_argument("--golden-input")
    ap.add_argument("--golden-logits")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    net = OnnxNet(onnx.load(args.model)).eval()
    shape = [d.dim_value for d in onnx.load(args.model).graph.input[0].type.tensor_type.shape.dim[1:]]
    if args.golden_input:
        u8 = np.fromfile(args.golden_input, dtype=np.uint8).reshape(-1, shape[1], shape[2], shape[0])
        x = torch.from_numpy((u8.astype(np.float32) / 127.5 - 1.0).transpose(0, 3, 1, 2).copy())
        want = np.fromfile(args.golden_logits, dtype="<f4").reshape(x.shape[0], -1)
        with torch.inference_mode():
            got = net(x).numpy()
        print("torch max |logit - golden| = %.3g" % np.abs(got - want).max())
    # channels-last is what PyTorch recommends for CNN inference on CPU; --layouts
    # may add the plain NCHW layout, each reported (a build lacking some fast
    # paths may favour either). Two warm-up batches, as bench_ort.js and ours.
    base = torch.rand(args.batch, *shape) * 2 - 1
    formats = {"channels_last": torch.channels_last, "nchw": torch.contiguous_format}
    layouts = args.layouts.split(",")
    for layout in layouts:
        if layout not in formats:
            raise SystemExit("bench_torch_mobilenet: --layouts: unknown layout '%s' (channels_last, nchw)" % layout)
    for layout in layouts:
        fmt = formats[layout]
        x = base.contiguous(memory_format=fmt)
        with torch.inference_mode():
            for _ in range(2):
                net(x)
            times, cpu0 = [], time.process_time()
            for _ in range(args.reps):
                t0 = time.perf_counter()
                net(x)
                times.append(time.perf_counter() - t0)
            cpu = time.process_time() - cpu0
        print("pytorch %s %s threads=%d batch=%d images_per_s_mean=%.1f images_per_s_best=%.1f "
              "images_per_cpu_s=%.1f" % (torch.__version__, layout, args.threads, args.batch,
                                         args.batch * len(times) / sum(times), args.batch / min(times),
                                         args.batch * args.reps / cpu))


if __name__ == "__main__":
    main()
