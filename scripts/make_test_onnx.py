#!/usr/bin/python3
"""Writes the small ONNX fixtures of tests/test_onnx.c into tests/data/.

Run once by hand when the fixtures need to change (they are committed, so the
tests need neither Python nor PyTorch):  /usr/bin/python3 scripts/make_test_onnx.py
Needs the Debian packages python3-torch and python3-onnx.

  torch_small.onnx      PyTorch's own exporter (opset 13, dynamic batch): Conv+BN+ReLU,
                        depthwise Conv+BN+ReLU6 (Clip with min/max inputs), 1x1 Conv,
                        MaxPool, GlobalAveragePool, Flatten, Linear (Gemm transB=1).
                        BN is folded by the exporter.
  torch_small_bn.onnx   the same model exported without constant folding: separate
                        BatchNormalization nodes, which our loader must fold.
  torch_small_io.bin    float32 little-endian: 2 inputs [2,3,16,16] then PyTorch's
                        outputs [2,10] for them (the independent reference).
  unknown_op.onnx       a valid model with an operator we do not support ('Celu',
                        node 'mystery_celu') after a Conv, for the error message test.
  clip_opset6.onnx      Conv -> Clip(min=0, max=6 as attributes, opset 6) -> Flatten.
"""
import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")


class Small(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.dw = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(8)
        self.pw = torch.nn.Conv2d(8, 16, 1)
        self.pool = torch.nn.MaxPool2d(2)
        self.drop = torch.nn.Dropout(0.5)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.nn.functional.relu6(self.bn2(self.dw(x)))
        x = torch.relu(self.pw(x))
        x = self.pool(x)
        x = torch.nn.functional.adaptive_avg_pool2d(x, 1)
        x = torch.flatten(x, 1)
        return self.fc(self.drop(x))


def torch_models():
    torch.manual_seed(0)
    m = Small()
    # non-trivial BN statistics so that folding matters
    for bn in (m.bn1, m.bn2):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.2, 0.2)
    m.eval()
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        y = m(x)
    args = dict(input_names=["input"], output_names=["logits"], opset_version=13,
                dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    torch.onnx.export(m, x, os.path.join(OUT, "torch_small.onnx"), **args)
    torch.onnx.export(m, x, os.path.join(OUT, "torch_small_bn.onnx"), do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE, **args)
    with open(os.path.join(OUT, "torch_small_io.bin"), "wb") as f:
        f.write(x.numpy().astype("<f4").tobytes())
        f.write(y.numpy().astype("<f4").tobytes())
    bn = onnx.load(os.path.join(OUT, "torch_small_bn.onnx"))
    ops = [n.op_type for n in bn.graph.node]
    assert "BatchNormalization" in ops, ops


def conv_model(name, tail_nodes, out_name, out_dims, opset, extra_inits=()):
    w = np.linspace(-1, 1, 4 * 3 * 3 * 3, dtype=np.float32).reshape(4, 3, 3, 3)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv_0", pads=[1, 1, 1, 1])]
    nodes += tail_nodes
    g = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 5, 5])],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_dims)],
        [numpy_helper.from_array(w, "w")] + list(extra_inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    onnx.save(m, os.path.join(OUT, name + ".onnx"))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch_models()
    conv_model("unknown_op", [helper.make_node("Celu", ["c"], ["y"], name="mystery_celu")],
               "y", ["N", 4, 5, 5], 13)
    conv_model("clip_opset6",
               [helper.make_node("Clip", ["c"], ["r"], name="relu6", min=0.0, max=6.0),
                helper.make_node("Flatten", ["r"], ["y"], name="flat")],
               "y", ["N", 100], 6)
    for f in sorted(os.listdir(OUT)):
        if f.endswith((".onnx", ".bin")):
            print(f, os.path.getsize(os.path.join(OUT, f)))


if __name__ == "__main__":
    main()
