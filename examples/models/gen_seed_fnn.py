#!/usr/bin/env python3
"""Writes the quickstart's example model and data (numpy only):

  seed_fnn.qcir          the seed benchmark's network as text IR:
                         200 -> 128 -> 64 -> 32 -> 16 -> 8 -> 1, Relu between
                         the Gemm layers and a Sigmoid at the end; input
                         x: f32[N,200] with symbolic batch N; Gemm weights are
                         f32 [out, in] used with transB=1
  seed_fnn_input.npy     f32[1000,200], standard normal
  seed_fnn_expected.npy  f32[1000,1], numpy's forward pass in float64 cast
                         to f32 (what the ref backend must match to ~1e-6)
  seed_fnn_calib.npy     f32[256,200], uniform [0,1) from seed 2000: calibration
                         data for quantizing tests/models/seed_fnn/model.onnx
                         (whose test input is uniform [0,1) from seed 1000, as
                         in the seed benchmark), disjoint from that input

Everything comes from fixed seeds, so rerunning reproduces the committed
files byte for byte:  /usr/bin/python3 examples/models/gen_seed_fnn.py
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
WIDTHS = [200, 128, 64, 32, 16, 8, 1]
BATCH = 1000
WEIGHT_SEED = 20240601
INPUT_SEED = 7


def make_layers(rng):
    """He-uniform weights (limit sqrt(6/fan_in), suited to Relu) and small
    uniform biases (PyTorch's default limit 1/sqrt(fan_in)), rounded to f32
    since that is what the model stores."""
    layers = []
    for fan_in, fan_out in zip(WIDTHS[:-1], WIDTHS[1:]):
        limit = np.sqrt(6.0 / fan_in)
        w = rng.uniform(-limit, limit, size=(fan_out, fan_in)).astype(np.float32)
        b_limit = 1.0 / np.sqrt(fan_in)
        b = rng.uniform(-b_limit, b_limit, size=(fan_out,)).astype(np.float32)
        layers.append((w, b))
    return layers


def forward(x, layers):
    """The reference forward pass in float64 from the stored f32 values."""
    h = x.astype(np.float64)
    for i, (w, b) in enumerate(layers):
        h = h @ w.astype(np.float64).T + b.astype(np.float64)
        h = np.maximum(h, 0.0) if i + 1 < len(layers) else 1.0 / (1.0 + np.exp(-h))
    return h.astype(np.float32)


def fmt(values):
    # %.9g round-trips every f32 exactly through the text IR.
    return ", ".join(format(float(v), ".9g") for v in values.ravel())


def write_model(path, layers):
    lines = [
        "# The seed benchmark's feed-forward network (examples/models/gen_seed_fnn.py).",
        "qcir 1",
        "graph seed_fnn batch N {",
        "  input x: f32[N,%d]" % WIDTHS[0],
    ]
    for i, (w, b) in enumerate(layers, 1):
        lines.append("  const fc%d.weight: f32[%d,%d] = [%s]" % (i, w.shape[0], w.shape[1], fmt(w)))
        lines.append("  const fc%d.bias: f32[%d] = [%s]" % (i, b.shape[0], fmt(b)))
    h = "x"
    for i, (w, _) in enumerate(layers, 1):
        out = w.shape[0]
        lines.append("  fc%d: f32[N,%d] = Gemm(%s, fc%d.weight, fc%d.bias) {transB=1}"
                     % (i, out, h, i, i))
        if i < len(layers):
            lines.append("  relu%d: f32[N,%d] = Relu(fc%d)" % (i, out, i))
            h = "relu%d" % i
        else:
            lines.append("  y: f32[N,%d] = Sigmoid(fc%d)" % (out, i))
    lines.append("  output y")
    lines.append("}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    layers = make_layers(np.random.default_rng(WEIGHT_SEED))
    x = np.random.default_rng(INPUT_SEED).standard_normal((BATCH, WIDTHS[0])).astype(np.float32)
    write_model(os.path.join(HERE, "seed_fnn.qcir"), layers)
    np.save(os.path.join(HERE, "seed_fnn_input.npy"), x)
    np.save(os.path.join(HERE, "seed_fnn_expected.npy"), forward(x, layers))
    calib = np.random.RandomState(2000).rand(256, 200).astype(np.float32)
    np.save(os.path.join(HERE, "seed_fnn_calib.npy"), calib)


if __name__ == "__main__":
    main()
