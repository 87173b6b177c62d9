#!/usr/bin/env python3
"""Generates qcomp's model test suite (tests/models/<name>/): real models as
users bring them, each with reference inputs and outputs.

  /usr/bin/python3 tests/models/gen_models.py            # the committed models
  /usr/bin/python3 tests/models/gen_models.py --large DIR  # only resnet18 and
                                        # mobilenet_v2, into DIR (not committed)
  /usr/bin/python3 tests/models/gen_models.py --only digits_cnn,seed_fnn

Each folder holds model.onnx, input_<i>.npy / output_<i>.npy (graph input and
output i, in graph order) and meta.json (source, opset, tolerance, how the
expected outputs were computed). tests/unit/test_models.c runs them all on
the ref interpreter; README.md in this folder lists them.

Expected outputs:
  * models exported from PyTorch: torch's own fp32 outputs;
  * quantized and hand-built (onnx.helper) models: an independent numpy
    implementation of the ONNX semantics that mirrors qcomp's numerics
    contract (ir/quant.h): fp32 x / scale, np.rint (half to even), saturate;
    Gemm/Conv/MatMul accumulated in float64 and rounded once to fp32.

Everything is seeded and single-threaded, so a rerun reproduces the committed
files (torch 1.13, onnx 1.12, numpy, sklearn 1.2 of Debian's /usr/bin/python3).
No downloads: torchvision models use weights=None, data is sklearn's bundled
load_digits.
"""
import argparse
import io
import json
import os
import re
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
F32 = np.float32
F64 = np.float64

# ---------------------------------------------------------------------------
# helpers


def rel_l2(a, b):
    a = np.asarray(a, F64)
    b = np.asarray(b, F64)
    d = np.linalg.norm((a - b).ravel())
    n = np.linalg.norm(b.ravel())
    return float(d / n) if n > 0 else float(d)


def write_case(outdir, name, model, inputs, outputs, meta, check=True):
    """Writes one model folder. `model` is a ModelProto; inputs/outputs are
    lists of numpy arrays in graph order."""
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.endswith(".npy") and (f.startswith("input_") or f.startswith("output_")):
            os.remove(os.path.join(d, f))
    if check:
        onnx.checker.check_model(model)
    onnx.save(model, os.path.join(d, "model.onnx"))
    for i, a in enumerate(inputs):
        np.save(os.path.join(d, "input_%d.npy" % i), np.ascontiguousarray(a))
    for i, a in enumerate(outputs):
        np.save(os.path.join(d, "output_%d.npy" % i), np.ascontiguousarray(a))
    meta = dict(meta)
    meta["name"] = name
    meta["opset"] = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    meta["ir_version"] = model.ir_version
    meta["nodes"] = len(model.graph.node)
    meta["op_types"] = sorted(set(n.op_type for n in model.graph.node))
    meta["inputs"] = [
        {"file": "input_%d.npy" % i, "name": v.name, "dtype": str(a.dtype), "shape": list(a.shape)}
        for i, (v, a) in enumerate(zip(graph_inputs(model), inputs))
    ]
    meta["outputs"] = [
        {"file": "output_%d.npy" % i, "name": v.name, "dtype": str(a.dtype), "shape": list(a.shape)}
        for i, (v, a) in enumerate(zip(model.graph.output, outputs))
    ]
    meta.setdefault("rel_l2_tol", 1e-5)
    meta.setdefault("second_batch", 3)
    with open(os.path.join(d, "meta.json"), "w") as f:
        text = json.dumps(meta, indent=1, sort_keys=True)
        # one line per numeric list (shapes) and per list of short strings
        text = re.sub(r"\[\s*([-0-9.e, \n]+?)\s*\]",
                      lambda mm: "[" + re.sub(r"\s*\n\s*", " ", mm.group(1)) + "]", text)
        text = re.sub(r"\[\s*((?:\"[A-Za-z0-9_.]+\",?\s*)+)\]",
                      lambda mm: "[" + re.sub(r"\s*\n\s*", " ", mm.group(1)).strip() + "]", text)
        f.write(text + "\n")
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print("%-22s opset %2d  %3d nodes  %8.1f KB  %s" %
          (name, meta["opset"], meta["nodes"], size / 1024.0, ", ".join(meta["op_types"])))
    return d


def graph_inputs(model):
    inits = set(i.name for i in model.graph.initializer)
    return [v for v in model.graph.input if v.name not in inits]


def torch_export(torch, module, example, opset, dyn_names, out_names):
    """Exports with a dynamic batch axis 'N' on every input and output."""
    buf = io.BytesIO()
    args = tuple(example) if isinstance(example, (list, tuple)) else (example,)
    dynamic_axes = {n: {0: "N"} for n in dyn_names + out_names}
    torch.onnx.export(module, args, buf, opset_version=opset, input_names=dyn_names,
                      output_names=out_names, dynamic_axes=dynamic_axes,
                      do_constant_folding=True, export_params=True)
    return onnx.load_from_string(buf.getvalue())


def f64_agreement(torch, module, x):
    """rel L2 between torch's fp32 output and the same model in float64: how
    much of torch's own rounding a comparison against it must tolerate."""
    import copy
    m64 = copy.deepcopy(module).double()
    with torch.no_grad():
        y32 = module(torch.from_numpy(x)).numpy()
        y64 = m64(torch.from_numpy(x.astype(F64))).numpy()
    return rel_l2(y32, y64)


# ---- numpy implementation of the ONNX quantization semantics -------------------
# Mirrors ir/quant.h: every fp32 operation rounds once; rint is half-to-even.

QRANGE = {np.uint8: (0, 255), np.int8: (-128, 127), np.int32: (-2**31, 2**31 - 1),
          "int4": (-8, 7), "uint4": (0, 15)}


def np_quantize(x, scale, zp, dtype, axis=None):
    """QuantizeLinear: saturate(rint(x / scale) + zp); per-axis when axis is
    given (scale/zp 1-D along that axis)."""
    x = np.asarray(x, F32)
    scale = np.asarray(scale, F32)
    zp = np.asarray(zp, np.int64)
    if axis is not None and scale.ndim == 1:
        shape = [1] * x.ndim
        shape[axis] = -1
        scale = scale.reshape(shape)
        zp = zp.reshape(shape)
    r = np.rint(x / scale).astype(F64) + zp
    lo, hi = QRANGE[dtype]
    return np.clip(r, lo, hi).astype(dtype)


def np_dequantize(q, scale, zp, axis=None):
    q = np.asarray(q).astype(np.int64)
    scale = np.asarray(scale, F32)
    zp = np.asarray(zp, np.int64)
    if axis is not None and scale.ndim == 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale = scale.reshape(shape)
        zp = zp.reshape(shape)
    return (q - zp).astype(F32) * scale


def np_gemm(a, b, c=None, trans_b=False):
    """fp32 Gemm as the ref backend does it: float64 accumulation, one
    rounding to fp32 at the end."""
    b = np.asarray(b, F64)
    y = np.asarray(a, F64) @ (b.T if trans_b else b)
    if c is not None:
        y = y + np.asarray(c, F64)
    return y.astype(F32)


def np_conv2d(x, w, b=None, pad=1):
    """NCHW conv, stride 1, symmetric padding, accumulated in float64."""
    x = np.asarray(x, F64)
    w = np.asarray(w, F64)
    n, c, h, wd = x.shape
    oc, ic, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    cols = np.empty((n, c, kh, kw, oh, ow), F64)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i:i + oh, j:j + ow]
    y = np.einsum("nckluv,ockl->nouv", cols, w)
    if b is not None:
        y = y + np.asarray(b, F64).reshape(1, -1, 1, 1)
    return y


def np_int_conv2d(xq, xzp, wq, wzp, pad=1):
    """Integer conv of (x - xzp) and (w - wzp) in int64 (exact), padding with
    the zero point, as QLinearConv / ConvInteger define it."""
    x = xq.astype(np.int64) - int(xzp)
    w = wq.astype(np.int64) - np.asarray(wzp, np.int64).reshape(-1, 1, 1, 1)
    n, c, h, wd = x.shape
    oc, ic, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))  # 0 == zp after the shift
    oh, ow = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    y = np.zeros((n, oc, oh, ow), np.int64)
    for i in range(kh):
        for j in range(kw):
            y += np.einsum("ncuv,oc->nouv", xp[:, :, i:i + oh, j:j + ow], w[:, :, i, j])
    return y


def np_maxpool2(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def np_requant(acc, mult, zp, dtype):
    """saturate(rint(fp32(acc) * fp32 multiplier) + zp)."""
    r = np.rint(np.asarray(acc).astype(F32) * np.asarray(mult, F32)).astype(F64) + zp
    lo, hi = QRANGE[dtype]
    return np.clip(r, lo, hi).astype(dtype)


def np_sigmoid(x):
    return (1.0 / (1.0 + np.exp(-np.asarray(x, F64)))).astype(F32)


def act_qparams(lo, hi):
    """ORT's MinMax calibration for u8 activations (asymmetric): the range is
    widened to include 0, scale = (hi - lo) / 255, zp = rint(0 - lo / scale)."""
    lo = F32(min(float(lo), 0.0))
    hi = F32(max(float(hi), 0.0))
    scale = F32((hi - lo) / F32(255.0))
    if scale == 0:
        scale = F32(1.0)
    zp = int(np.clip(np.rint(F32(0.0) - lo / scale), 0, 255))
    return scale, np.uint8(zp)


def weight_qparams_per_channel(w, axis=0):
    """ORT's symmetric int8 weights (range [-127, 127]): scale = absmax / 127
    per output channel, zp = 0."""
    red = tuple(i for i in range(w.ndim) if i != axis)
    absmax = np.max(np.abs(w), axis=red).astype(F32)
    scale = (absmax / F32(127.0)).astype(F32)
    scale[scale == 0] = F32(1.0)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.rint(w.astype(F32) / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, scale, np.zeros(w.shape[axis], np.int8)


def weight_qparams_per_tensor(w):
    absmax = F32(np.max(np.abs(w)))
    scale = F32(absmax / F32(127.0)) if absmax > 0 else F32(1.0)
    q = np.clip(np.rint(w.astype(F32) / scale), -127, 127).astype(np.int8)
    return q, scale, np.int8(0)


def quant_bias(b, x_scale, w_scale):
    """ORT's int32 bias: scale = x_scale * w_scale (fp32), q = rint(b / scale)."""
    bs = (F32(x_scale) * np.asarray(w_scale, F32)).astype(F32)
    bq = np.rint(np.asarray(b, F32) / bs).astype(np.int32)
    return bq, bs


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def vinfo(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def make_model(nodes, inputs, outputs, inits, opset, name, ir_version=None):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="qcomp tests/models/gen_models.py")
    if ir_version is not None:
        m.ir_version = ir_version
    return m


# ---------------------------------------------------------------------------
# 1. the seed benchmark FNN

FNN_WIDTHS = [200, 128, 64, 32, 16, 8, 1]


def seed_fnn_module(torch):
    nn = torch.nn

    class PyTorchModel(nn.Module):
        """The seed benchmark's network, exactly as the seed writes it."""

        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(200, 128)
            self.fc2 = nn.Linear(128, 64)
            self.fc3 = nn.Linear(64, 32)
            self.fc4 = nn.Linear(32, 16)
            self.fc5 = nn.Linear(16, 8)
            self.fc6 = nn.Linear(8, 1)
            self.sigmoid = nn.Sigmoid()

        def forward(self, x):
            x = torch.relu(self.fc1(x))
            x = torch.relu(self.fc2(x))
            x = torch.relu(self.fc3(x))
            x = torch.relu(self.fc4(x))
            x = torch.relu(self.fc5(x))
            x = self.sigmoid(self.fc6(x))
            return x

    torch.manual_seed(0)
    return PyTorchModel().eval()


def fnn_layers(module):
    return [(getattr(module, "fc%d" % i).weight.detach().numpy().astype(F32),
             getattr(module, "fc%d" % i).bias.detach().numpy().astype(F32)) for i in range(1, 7)]


def gen_seed_fnn(torch, outdir):
    m = seed_fnn_module(torch)
    # the seed's input: np.random.rand(1000, 200), uniform [0, 1)
    x = np.random.RandomState(1000).rand(1000, 200).astype(F32)
    with torch.no_grad():
        y = m(torch.from_numpy(x)).numpy()
    model = torch_export(torch, m, torch.from_numpy(x[:2]), 13, ["input"], ["output"])
    agree = f64_agreement(torch, m, x)
    write_case(outdir, "seed_fnn", model, [x], [y], {
        "source": "PyTorch 1.13 torch.onnx.export of the seed benchmark FNN "
                  "(/work/shared/seeds/cpu-inference-benchmark.txt: Linear 200-128-64-32-16-8-1, "
                  "ReLU, Sigmoid), torch.manual_seed(0) default init, dynamic batch axis N",
        "expected": "torch fp32 forward pass",
        "input_data": "np.random.RandomState(1000).rand(1000, 200) as in the seed (batch 1000)",
        "torch_f32_vs_f64_rel_l2": agree,
    })
    return m


# ---------------------------------------------------------------------------
# 2. digits CNN trained on sklearn's load_digits


def digits_data():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = (d.images.astype(F32) / F32(16.0)).reshape(-1, 1, 8, 8)
    y = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    return xtr, xte, ytr, yte


def digits_module(torch):
    nn = torch.nn
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64, 10))


def train_digits(torch, m, xtr, ytr, epochs=40):
    opt = torch.optim.Adam(m.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(0)
    xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr)
    m.train()
    for _ in range(epochs):
        perm = torch.randperm(len(xt), generator=g)
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(m(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    m.eval()
    return m


def gen_digits_cnn(torch, outdir):
    xtr, xte, ytr, yte = digits_data()
    m = train_digits(torch, digits_module(torch), xtr, ytr)
    with torch.no_grad():
        logits = m(torch.from_numpy(xte)).numpy()
        train_acc = float((m(torch.from_numpy(xtr)).numpy().argmax(1) == ytr).mean())
    acc = float((logits.argmax(1) == yte).mean())
    calib = xtr[:128]
    x = xte[:64]
    model = torch_export(torch, m, torch.from_numpy(x[:2]), 13, ["input"], ["logits"])
    d = write_case(outdir, "digits_cnn", model, [x], [logits[:64]], {
        "source": "PyTorch 1.13 export of a CNN (Conv 1-8 3x3 pad 1, ReLU, MaxPool 2, "
                  "Conv 8-16 3x3 pad 1, ReLU, MaxPool 2, Flatten, Linear 64-10) trained "
                  "40 epochs (Adam lr 0.01, batch 64, seed 0) on sklearn load_digits",
        "expected": "torch fp32 logits of the first 64 test images",
        "input_data": "test_x[:64]; images / 16 in [0, 1], NCHW [N,1,8,8]",
        "data_split": "sklearn train_test_split(test_size=0.2, random_state=0, stratify=y): "
                      "1437 train / 360 test",
        "fp32_accuracy": acc,
        "fp32_train_accuracy": train_acc,
        "accuracy_data": "digits_cnn",
        "files": {"test_x.npy": "f32[360,1,8,8] test images",
                  "test_y.npy": "i64[360] test labels",
                  "calib_x.npy": "f32[128,1,8,8] calibration images: the first 128 of "
                                 "the (shuffled) training split"},
        "torch_f32_vs_f64_rel_l2": f64_agreement(torch, m, xte),
    })
    np.save(os.path.join(d, "test_x.npy"), xte)
    np.save(os.path.join(d, "test_y.npy"), yte)
    np.save(os.path.join(d, "calib_x.npy"), calib)
    print("  digits_cnn fp32 accuracy: test %.4f, train %.4f" % (acc, train_acc))
    return m, acc


# ---------------------------------------------------------------------------
# 3. transformer encoder block


def transformer_module(torch, use_shape):
    nn = torch.nn
    D, H, FF, S = 64, 4, 128, 16
    DH = D // H

    class EncoderBlock(nn.Module):
        """Post-norm encoder block written with explicit ops: Linear (MatMul +
        Add on 3-D input), manual attention (MatMul, Softmax), LayerNorm, GELU
        (exported via Erf)."""

        def __init__(self):
            super().__init__()
            self.q = nn.Linear(D, D)
            self.k = nn.Linear(D, D)
            self.v = nn.Linear(D, D)
            self.o = nn.Linear(D, D)
            self.ln1 = nn.LayerNorm(D)
            self.ff1 = nn.Linear(D, FF)
            self.act = nn.GELU()
            self.ff2 = nn.Linear(FF, D)
            self.ln2 = nn.LayerNorm(D)

        def heads(self, t, b):
            return t.reshape(b, S, H, DH).transpose(1, 2)      # [B, H, S, DH]

        def forward(self, x):
            # use_shape: the batch comes from x.shape (Shape/Gather/Concat in
            # the export, as most user code writes it); otherwise -1.
            b = x.shape[0] if use_shape else -1
            q, k, v = self.heads(self.q(x), b), self.heads(self.k(x), b), self.heads(self.v(x), b)
            att = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * (1.0 / DH ** 0.5), dim=-1)
            ctx = torch.matmul(att, v).transpose(1, 2).reshape(b, S, D)
            x = self.ln1(x + self.o(ctx))
            return self.ln2(x + self.ff2(self.act(self.ff1(x))))

    torch.manual_seed(0)
    m = EncoderBlock().eval()
    # non-trivial LayerNorm affine parameters
    with torch.no_grad():
        for ln in (m.ln1, m.ln2):
            ln.weight.copy_(1.0 + 0.1 * torch.randn(D))
            ln.bias.copy_(0.1 * torch.randn(D))
    return m


def gen_transformer(torch, outdir):
    x = np.random.RandomState(16).randn(8, 16, 64).astype(F32)
    variants = [
        ("transformer_block", False, 17,
         "LayerNormalization op (opset 17); reshapes with constant shapes (batch -1)"),
        ("transformer_block_op13", False, 13,
         "opset 13: LayerNorm decomposed into ReduceMean/Sub/Pow/Sqrt/Div/Mul/Add"),
        ("transformer_block_shape", True, 17,
         "batch taken from x.shape[0]: Shape/Gather/Unsqueeze/Concat feed each Reshape, "
         "as typical user code exports (tests folding of shape subgraphs with a symbolic batch)"),
    ]
    for name, use_shape, opset, what in variants:
        m = transformer_module(torch, use_shape)
        with torch.no_grad():
            y = m(torch.from_numpy(x)).numpy()
        model = torch_export(torch, m, torch.from_numpy(x[:2]), opset, ["input"], ["output"])
        write_case(outdir, name, model, [x], [y], {
            "source": "PyTorch 1.13 export of a post-norm encoder block (d_model 64, 4 heads, "
                      "ff 128, seq 16, GELU) written with explicit ops, torch.manual_seed(0); " + what,
            "expected": "torch fp32 forward pass",
            "input_data": "np.random.RandomState(16).randn(8, 16, 64)",
            "torch_f32_vs_f64_rel_l2": f64_agreement(torch, m, x),
        })


# ---------------------------------------------------------------------------
# 4. large torchvision models (not committed)


def gen_large(torch, outdir):
    import torchvision
    x = np.random.RandomState(224).randn(1, 3, 224, 224).astype(F32)
    for name, ctor in (("resnet18", torchvision.models.resnet18),
                       ("mobilenet_v2", torchvision.models.mobilenet_v2)):
        torch.manual_seed(0)
        m = ctor(weights=None).eval()
        with torch.no_grad():
            y = m(torch.from_numpy(x)).numpy()
        model = torch_export(torch, m, torch.from_numpy(x), 13, ["input"], ["logits"])
        agree = f64_agreement(torch, m, x)
        write_case(outdir, name, model, [x], [y], {
            "source": "torchvision 0.14 models.%s(weights=None), torch.manual_seed(0) init, "
                      "eval mode, torch.onnx.export opset 13 (BatchNorm folded into Conv)" % name,
            "expected": "torch fp32 logits",
            "input_data": "np.random.RandomState(224).randn(1, 3, 224, 224)",
            "torch_f32_vs_f64_rel_l2": agree,
            # Deep random-init networks: torch's own fp32 result differs from
            # float64 by `agree`; allow a margin over that, at least 1e-5.
            "rel_l2_tol": float(max(1e-5, 10 * agree)),
            "second_batch": 0,
        })


# ---------------------------------------------------------------------------
# 5a. QDQ models (static quantization as onnxruntime.quantization lays it out:
# QuantFormat.QDQ, per_channel=True, activations QUInt8, weights QInt8)


def qdq_pair(prefix, src, scale, zp, nodes, inits):
    """Q then DQ of an activation tensor with per-tensor scale/zp; returns the
    DQ output name (and the Q output name)."""
    s, z = prefix + "_scale", prefix + "_zero_point"
    inits += [init(s, np.array(scale, F32)), init(z, np.array(zp, np.uint8))]
    qn, dqn = prefix + "_QuantizeLinear_Output", prefix + "_DequantizeLinear_Output"
    nodes.append(helper.make_node("QuantizeLinear", [src, s, z], [qn], prefix + "_QuantizeLinear"))
    nodes.append(helper.make_node("DequantizeLinear", [qn, s, z], [dqn], prefix + "_DequantizeLinear"))
    return dqn, qn


def dq_weight(prefix, wq, wscale, wzp, axis, nodes, inits):
    qn, s, z = prefix + "_quantized", prefix + "_scale", prefix + "_zero_point"
    inits += [init(qn, wq), init(s, wscale), init(z, wzp)]
    out = prefix + "_DequantizeLinear_Output"
    attrs = {"axis": axis} if axis is not None else {}
    nodes.append(helper.make_node("DequantizeLinear", [qn, s, z], [out],
                                  prefix + "_DequantizeLinear", **attrs))
    return out


def gen_seed_fnn_qdq(torch, fnn, outdir):
    layers = fnn_layers(fnn)
    calib = np.random.RandomState(2000).rand(256, 200).astype(F32)
    x = np.random.RandomState(2001).rand(256, 200).astype(F32)

    # calibration: ranges of the input and of each layer's activation output
    # (Relu output for fc1..fc5: ORT removes the Relu and quantizes the Gemm
    # output with the Relu's range, so zp = 0 and Q saturation does the Relu)
    ranges = [(calib.min(), calib.max())]
    h = calib
    for i, (w, b) in enumerate(layers):
        h = np_gemm(h, w, b, trans_b=True)
        if i < 5:
            h = np.maximum(h, 0)
        ranges.append((h.min(), h.max()))
    qp = [act_qparams(lo, hi) for lo, hi in ranges]

    nodes, inits = [], []
    cur, _ = qdq_pair("input", "input", qp[0][0], qp[0][1], nodes, inits)
    for i, (w, b) in enumerate(layers):
        name = "fc%d" % (i + 1)
        wq, ws, wz = weight_qparams_per_channel(w, 0)
        bq, bs = quant_bias(b, qp[i][0], ws)
        wd = dq_weight(name + ".weight", wq, ws, wz, 0, nodes, inits)
        bd = dq_weight(name + ".bias", bq, bs, np.zeros_like(bq), 0, nodes, inits)
        out = name + "_Gemm_Output" if i < 5 else "fc6_logits"
        nodes.append(helper.make_node("Gemm", [cur, wd, bd], [out], name + "_Gemm",
                                      alpha=1.0, beta=1.0, transB=1))
        cur, qout = qdq_pair(out, out, qp[i + 1][0], qp[i + 1][1], nodes, inits)
    logits_q = qout
    nodes.append(helper.make_node("Sigmoid", [cur], ["output"], "sigmoid"))
    model = make_model(nodes, [vinfo("input", TensorProto.FLOAT, ["N", 200])],
                       [vinfo("output", TensorProto.FLOAT, ["N", 1]),
                        vinfo(logits_q, TensorProto.UINT8, ["N", 1])],
                       inits, 13, "seed_fnn_qdq")

    # numpy emulation
    def run(xx):
        h = np_dequantize(np_quantize(xx, qp[0][0], qp[0][1], np.uint8), qp[0][0], qp[0][1])
        q = None
        for i, (w, b) in enumerate(layers):
            wq, ws, wz = weight_qparams_per_channel(w, 0)
            bq, bs = quant_bias(b, qp[i][0], ws)
            wdq = np_dequantize(wq, ws, wz, axis=0)
            bdq = np_dequantize(bq, bs, np.zeros_like(bq), axis=0)
            g = np_gemm(h, wdq, bdq, trans_b=True)
            q = np_quantize(g, qp[i + 1][0], qp[i + 1][1], np.uint8)
            h = np_dequantize(q, qp[i + 1][0], qp[i + 1][1])
        return np_sigmoid(h), q

    y, yq = run(x)
    with torch.no_grad():
        yt = fnn(torch.from_numpy(x)).numpy()
    write_case(outdir, "seed_fnn_qdq", model, [x], [y, yq], {
        "source": "onnx.helper: the seed_fnn weights quantized as onnxruntime's quantize_static "
                  "(QuantFormat.QDQ, per_channel=True, MinMax calibration) lays them out: int8 "
                  "weight initializers [-127,127] symmetric per output channel + DequantizeLinear "
                  "(axis 0), int32 bias (scale x_scale*w_scale, axis 0) + DequantizeLinear, u8 "
                  "activations Q/DQ per tensor; each Relu removed (ORT's QDQRemovableActivation: "
                  "the Gemm output is quantized with the Relu output's range, zp 0)",
        "expected": "numpy emulation of ONNX semantics in fp32 (x/scale fp32, np.rint half to even, "
                    "saturate; Gemm accumulated in float64, rounded once to fp32; Sigmoid in "
                    "float64 rounded to fp32). output_1 is the u8 logits (exact).",
        "calibration": "np.random.RandomState(2000).rand(256, 200)",
        "input_data": "np.random.RandomState(2001).rand(256, 200)",
        "rel_l2_vs_torch_fp32": rel_l2(y, yt),
    })


def gen_digits_cnn_qdq(torch, cnn, fp32_acc, outdir):
    xtr, xte, ytr, yte = digits_data()
    calib = xtr[:128]
    sd = {k: v.detach().numpy().astype(F32) for k, v in cnn.state_dict().items()}
    w1, b1, w2, b2, w3, b3 = (sd["0.weight"], sd["0.bias"], sd["3.weight"], sd["3.bias"],
                              sd["7.weight"], sd["7.bias"])

    def fp(xx):
        r1 = np.maximum(np_conv2d(xx, w1, b1).astype(F32), 0)
        p1 = np_maxpool2(r1)
        r2 = np.maximum(np_conv2d(p1, w2, b2).astype(F32), 0)
        p2 = np_maxpool2(r2).reshape(len(xx), -1)
        return r1, r2, p2, np_gemm(p2, w3, b3, trans_b=True)

    r1, r2, p2, lg = fp(calib)
    qx = act_qparams(calib.min(), calib.max())
    q1 = act_qparams(r1.min(), r1.max())
    q2 = act_qparams(r2.min(), r2.max())
    q3 = act_qparams(lg.min(), lg.max())
    w1q, w1s, w1z = weight_qparams_per_channel(w1, 0)
    w2q, w2s, w2z = weight_qparams_per_channel(w2, 0)
    w3q, w3s, w3z = weight_qparams_per_channel(w3, 0)
    b1q, b1s = quant_bias(b1, qx[0], w1s)
    b2q, b2s = quant_bias(b2, q1[0], w2s)
    b3q, b3s = quant_bias(b3, q2[0], w3s)

    nodes, inits = [], []
    cur, _ = qdq_pair("input", "input", qx[0], qx[1], nodes, inits)
    for name, wq, ws, wz, bq, bs, qo in (("conv1", w1q, w1s, w1z, b1q, b1s, q1),
                                         ("conv2", w2q, w2s, w2z, b2q, b2s, q2)):
        wd = dq_weight(name + ".weight", wq, ws, wz, 0, nodes, inits)
        bd = dq_weight(name + ".bias", bq, bs, np.zeros_like(bq), 0, nodes, inits)
        nodes.append(helper.make_node("Conv", [cur, wd, bd], [name + "_Output"], name,
                                      kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                      strides=[1, 1], dilations=[1, 1], group=1))
        cur, _ = qdq_pair(name + "_Output", name + "_Output", qo[0], qo[1], nodes, inits)
        # MaxPool: ORT's QDQDirect8BitOp, output quantized with the input's params
        nodes.append(helper.make_node("MaxPool", [cur], [name + "_pool"], name + "_pool",
                                      kernel_shape=[2, 2], strides=[2, 2]))
        cur, _ = qdq_pair(name + "_pool", name + "_pool", qo[0], qo[1], nodes, inits)
    nodes.append(helper.make_node("Flatten", [cur], ["flat"], "flatten", axis=1))
    wd = dq_weight("fc.weight", w3q, w3s, w3z, 0, nodes, inits)
    bd = dq_weight("fc.bias", b3q, b3s, np.zeros_like(b3q), 0, nodes, inits)
    nodes.append(helper.make_node("Gemm", ["flat", wd, bd], ["fc_Output"], "fc",
                                  alpha=1.0, beta=1.0, transB=1))
    logits, logits_q = qdq_pair("logits", "fc_Output", q3[0], q3[1], nodes, inits)
    nodes.append(helper.make_node("Identity", [logits], ["logits"], "output_identity"))
    model = make_model(nodes, [vinfo("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
                       [vinfo("logits", TensorProto.FLOAT, ["N", 10]),
                        vinfo(logits_q, TensorProto.UINT8, ["N", 10])],
                       inits, 13, "digits_cnn_qdq")

    def run(xx):
        h = np_dequantize(np_quantize(xx, *qx, np.uint8), *qx)
        for wq, ws, bq, bs, qo in ((w1q, w1s, b1q, b1s, q1), (w2q, w2s, b2q, b2s, q2)):
            c = np_conv2d(h, np_dequantize(wq, ws, 0, axis=0),
                          np_dequantize(bq, bs, 0, axis=0)).astype(F32)
            h = np_dequantize(np_quantize(c, *qo, np.uint8), *qo)
            h = np_dequantize(np_quantize(np_maxpool2(h), *qo, np.uint8), *qo)
        g = np_gemm(h.reshape(len(xx), -1), np_dequantize(w3q, w3s, 0, axis=0),
                    np_dequantize(b3q, b3s, 0, axis=0), trans_b=True)
        q = np_quantize(g, *q3, np.uint8)
        return np_dequantize(q, *q3), q

    y, yq = run(xte)
    acc = float((y.argmax(1) == yte).mean())
    print("  digits_cnn_qdq int8 accuracy: %.4f (fp32 %.4f)" % (acc, fp32_acc))
    write_case(outdir, "digits_cnn_qdq", model, [xte[:64]], [y[:64], yq[:64]], {
        "source": "onnx.helper: the trained digits_cnn quantized as onnxruntime's quantize_static "
                  "(QDQ, per_channel=True, MinMax on calib_x) lays it out: int8 per-channel "
                  "weights + DequantizeLinear (axis 0), int32 bias + DequantizeLinear, u8 Q/DQ "
                  "on activations, Relu removed (its range quantizes the Conv output), MaxPool "
                  "between Q/DQ pairs with its input's parameters",
        "expected": "numpy emulation of ONNX semantics in fp32 (x/scale fp32, np.rint half to even, "
                    "saturate; Conv/Gemm accumulated in float64, rounded once to fp32). output_1 "
                    "is the u8 logits (exact).",
        "calibration": "digits_cnn/calib_x.npy",
        "input_data": "digits_cnn test_x[:64]",
        "accuracy": acc,
        "fp32_accuracy_of_source": fp32_acc,
        "accuracy_data": "digits_cnn",
    })


# ---------------------------------------------------------------------------
# 5b. dynamic quantization (onnxruntime quantize_dynamic, IntegerOps: MatMul ->
# DynamicQuantizeLinear + MatMulInteger + Cast + Mul, weights QInt8 per tensor)


def np_dynamic_quantize(x):
    x = np.asarray(x, F32)
    lo = F32(min(F32(x.min()), F32(0.0)))
    hi = F32(max(F32(x.max()), F32(0.0)))
    scale = F32((hi - lo) / F32(255.0))
    if scale == 0:
        return np.full(x.shape, 0, np.uint8), scale, np.uint8(0)
    zp = np.uint8(np.clip(np.rint(F32(0.0) - lo / scale), 0, 255))
    return np_quantize(x, scale, zp, np.uint8), scale, zp


def gen_seed_fnn_dynamic(torch, fnn, outdir):
    layers = fnn_layers(fnn)
    x = np.random.RandomState(3000).rand(256, 200).astype(F32)
    nodes, inits = [], []
    cur = "input"
    acc1 = None
    for i, (w, b) in enumerate(layers):
        name = "fc%d" % (i + 1)
        wt = np.ascontiguousarray(w.T)                    # MatMul weight [in, out]
        wq, ws, wz = weight_qparams_per_tensor(wt)
        inits += [init(name + ".weight_quantized", wq),
                  init(name + ".weight_scale", np.array(ws, F32)),
                  init(name + ".weight_zero_point", np.array(wz, np.int8)),
                  init(name + ".bias", b)]
        xq, xs, xz = cur + "_quantized", cur + "_scale", cur + "_zero_point"
        nodes.append(helper.make_node("DynamicQuantizeLinear", [cur], [xq, xs, xz],
                                      cur + "_QuantizeLinear"))
        mmi = name + "_MatMul_output_quantized"
        nodes.append(helper.make_node("MatMulInteger", [xq, name + ".weight_quantized", xz,
                                                        name + ".weight_zero_point"],
                                      [mmi], name + "_MatMul_quant"))
        if i == 0:
            acc1 = mmi
        nodes.append(helper.make_node("Cast", [mmi], [mmi + "_cast_output"],
                                      name + "_MatMul_quant_output_quantized_cast",
                                      to=TensorProto.FLOAT))
        nodes.append(helper.make_node("Mul", [xs, name + ".weight_scale"],
                                      [name + "_MatMul_quant_scales_mul:0"],
                                      name + "_MatMul_quant_scales_mul"))
        nodes.append(helper.make_node("Mul", [mmi + "_cast_output",
                                              name + "_MatMul_quant_scales_mul:0"],
                                      [name + "_MatMul_output"],
                                      name + "_MatMul_quant_output_scale_mul"))
        nodes.append(helper.make_node("Add", [name + "_MatMul_output", name + ".bias"],
                                      [name + "_Add_output"], name + "_Add"))
        if i < 5:
            nodes.append(helper.make_node("Relu", [name + "_Add_output"], [name + "_Relu_output"],
                                          name + "_Relu"))
            cur = name + "_Relu_output"
        else:
            nodes.append(helper.make_node("Sigmoid", [name + "_Add_output"], ["output"], "sigmoid"))
    model = make_model(nodes, [vinfo("input", TensorProto.FLOAT, ["N", 200])],
                       [vinfo("output", TensorProto.FLOAT, ["N", 1]),
                        vinfo(acc1, TensorProto.INT32, ["N", 128])],
                       inits, 13, "seed_fnn_dynamic")

    h = x
    a1 = None
    for i, (w, b) in enumerate(layers):
        wq, ws, wz = weight_qparams_per_tensor(np.ascontiguousarray(w.T))
        q, s, z = np_dynamic_quantize(h)
        acc = (q.astype(np.int64) - int(z)) @ (wq.astype(np.int64) - int(wz))
        acc = acc.astype(np.int32)
        if i == 0:
            a1 = acc
        h = (acc.astype(F32) * F32(s * ws)).astype(F32) + b
        h = np.maximum(h, 0) if i < 5 else np_sigmoid(h)
    with torch.no_grad():
        yt = fnn(torch.from_numpy(x)).numpy()
    write_case(outdir, "seed_fnn_dynamic", model, [x], [h, a1], {
        "source": "onnx.helper: the seed_fnn weights (as MatMul [in,out] + Add) quantized as "
                  "onnxruntime's quantize_dynamic (weight_type QInt8, per tensor, symmetric "
                  "[-127,127]) emits them: DynamicQuantizeLinear -> MatMulInteger(x_q, W_q, x_zp, "
                  "W_zp) -> Cast(float) -> Mul(by x_scale*W_scale) -> Add(bias) -> Relu",
        "expected": "numpy emulation of ONNX semantics in fp32 (DynamicQuantizeLinear scale = "
                    "(max(0,xmax)-min(0,xmin))/255 fp32, zp = rint(-min/scale); exact int "
                    "accumulation; fp32 Cast/Mul/Add). output_1 is fc1's int32 MatMulInteger "
                    "result (exact).",
        "input_data": "np.random.RandomState(3000).rand(256, 200)",
        "rel_l2_vs_torch_fp32": rel_l2(h, yt),
        # DynamicQuantizeLinear takes min/max over the whole tensor: a sub-batch
        # quantizes differently, so rows of a smaller batch are not comparable.
        "second_batch": 0,
    })


# ---------------------------------------------------------------------------
# 5c. QOperator model (onnxruntime QuantFormat.QOperator): QLinearConv /
# QLinearMatMul with QuantizeLinear at the input and DequantizeLinear at the end


def gen_digits_cnn_qop(torch, cnn, fp32_acc, outdir):
    xtr, xte, ytr, yte = digits_data()
    calib = xtr[:128]
    sd = {k: v.detach().numpy().astype(F32) for k, v in cnn.state_dict().items()}
    w1, b1, w2, b2, w3, b3 = (sd["0.weight"], sd["0.bias"], sd["3.weight"], sd["3.bias"],
                              sd["7.weight"], sd["7.bias"])
    r1 = np.maximum(np_conv2d(calib, w1, b1).astype(F32), 0)
    r2 = np.maximum(np_conv2d(np_maxpool2(r1), w2, b2).astype(F32), 0)
    p2 = np_maxpool2(r2).reshape(len(calib), -1)
    mm = np_gemm(p2, w3, None, trans_b=True)
    qx = act_qparams(calib.min(), calib.max())
    q1 = act_qparams(r1.min(), r1.max())
    q2 = act_qparams(r2.min(), r2.max())
    q3 = act_qparams(mm.min(), mm.max())
    w1q, w1s, w1z = weight_qparams_per_channel(w1, 0)
    w2q, w2s, w2z = weight_qparams_per_channel(w2, 0)
    w3t = np.ascontiguousarray(w3.T)                      # [64, 10]
    w3q, w3s, w3z = weight_qparams_per_tensor(w3t)
    b1q, _ = quant_bias(b1, qx[0], w1s)
    b2q, _ = quant_bias(b2, q1[0], w2s)

    inits = [
        init("input_scale", np.array(qx[0], F32)), init("input_zero_point", np.array(qx[1])),
        init("conv1.weight_quantized", w1q), init("conv1.weight_scale", w1s),
        init("conv1.weight_zero_point", w1z), init("conv1.bias_quantized", b1q),
        init("conv1_output_scale", np.array(q1[0], F32)),
        init("conv1_output_zero_point", np.array(q1[1])),
        init("conv2.weight_quantized", w2q), init("conv2.weight_scale", w2s),
        init("conv2.weight_zero_point", w2z), init("conv2.bias_quantized", b2q),
        init("conv2_output_scale", np.array(q2[0], F32)),
        init("conv2_output_zero_point", np.array(q2[1])),
        init("fc.weight_quantized", w3q), init("fc.weight_scale", np.array(w3s, F32)),
        init("fc.weight_zero_point", np.array(w3z, np.int8)),
        init("fc_MatMul_output_scale", np.array(q3[0], F32)),
        init("fc_MatMul_output_zero_point", np.array(q3[1])),
        init("fc.bias", b3),
    ]
    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1)
    nodes = [
        helper.make_node("QuantizeLinear", ["input", "input_scale", "input_zero_point"],
                         ["input_quantized"], "input_QuantizeLinear"),
        helper.make_node("QLinearConv", ["input_quantized", "input_scale", "input_zero_point",
                                         "conv1.weight_quantized", "conv1.weight_scale",
                                         "conv1.weight_zero_point", "conv1_output_scale",
                                         "conv1_output_zero_point", "conv1.bias_quantized"],
                         ["conv1_output_quantized"], "conv1_quant", **conv),
        helper.make_node("MaxPool", ["conv1_output_quantized"], ["pool1_output_quantized"],
                         "pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("QLinearConv", ["pool1_output_quantized", "conv1_output_scale",
                                         "conv1_output_zero_point",
                                         "conv2.weight_quantized", "conv2.weight_scale",
                                         "conv2.weight_zero_point", "conv2_output_scale",
                                         "conv2_output_zero_point", "conv2.bias_quantized"],
                         ["conv2_output_quantized"], "conv2_quant", **conv),
        helper.make_node("MaxPool", ["conv2_output_quantized"], ["pool2_output_quantized"],
                         "pool2", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool2_output_quantized"], ["flat_quantized"], "flatten",
                         axis=1),
        helper.make_node("QLinearMatMul", ["flat_quantized", "conv2_output_scale",
                                           "conv2_output_zero_point", "fc.weight_quantized",
                                           "fc.weight_scale", "fc.weight_zero_point",
                                           "fc_MatMul_output_scale",
                                           "fc_MatMul_output_zero_point"],
                         ["fc_MatMul_output_quantized"], "fc_MatMul_quant"),
        helper.make_node("DequantizeLinear", ["fc_MatMul_output_quantized",
                                              "fc_MatMul_output_scale",
                                              "fc_MatMul_output_zero_point"],
                         ["fc_MatMul_output"], "fc_MatMul_output_DequantizeLinear"),
        helper.make_node("Add", ["fc_MatMul_output", "fc.bias"], ["logits"], "fc_Add"),
    ]
    model = make_model(nodes, [vinfo("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
                       [vinfo("logits", TensorProto.FLOAT, ["N", 10]),
                        vinfo("fc_MatMul_output_quantized", TensorProto.UINT8, ["N", 10])],
                       inits, 13, "digits_cnn_qop")

    def run(xx):
        xq = np_quantize(xx, *qx, np.uint8)
        a1 = np_int_conv2d(xq, qx[1], w1q, w1z) + b1q.reshape(1, -1, 1, 1)
        m1 = ((F32(qx[0]) * w1s) / F32(q1[0])).astype(F32).reshape(1, -1, 1, 1)
        c1 = np_requant(a1.astype(np.int32), m1, int(q1[1]), np.uint8)
        a2 = np_int_conv2d(np_maxpool2(c1), q1[1], w2q, w2z) + b2q.reshape(1, -1, 1, 1)
        m2 = ((F32(q1[0]) * w2s) / F32(q2[0])).astype(F32).reshape(1, -1, 1, 1)
        c2 = np_requant(a2.astype(np.int32), m2, int(q2[1]), np.uint8)
        f = np_maxpool2(c2).reshape(len(xx), -1)
        a3 = (f.astype(np.int64) - int(q2[1])) @ (w3q.astype(np.int64) - int(w3z))
        m3 = F32((F32(q2[0]) * F32(w3s)) / F32(q3[0]))
        yq = np_requant(a3.astype(np.int32), m3, int(q3[1]), np.uint8)
        return np_dequantize(yq, *q3) + b3, yq

    y, yq = run(xte)
    acc = float((y.argmax(1) == yte).mean())
    print("  digits_cnn_qop int8 accuracy: %.4f (fp32 %.4f)" % (acc, fp32_acc))
    write_case(outdir, "digits_cnn_qop", model, [xte[:64]], [y[:64], yq[:64]], {
        "source": "onnx.helper: the trained digits_cnn in onnxruntime's QOperator format "
                  "(op_types_to_quantize Conv, MatMul; the Linear as MatMul + Add): "
                  "QuantizeLinear at the input, QLinearConv (int8 per-channel weights, int32 "
                  "bias, Relu fused through its calibrated range), MaxPool and Flatten on u8, "
                  "QLinearMatMul (int8 per-tensor weight), DequantizeLinear, float Add(bias)",
        "expected": "numpy emulation of ONNX semantics: exact integer accumulation, requantize "
                    "rint(fp32(acc) * fp32((s_x*s_w)/s_y)) + zp saturated, as ir/quant.h. "
                    "output_1 is the u8 QLinearMatMul output (exact).",
        "calibration": "digits_cnn/calib_x.npy",
        "input_data": "digits_cnn test_x[:64]",
        "accuracy": acc,
        "fp32_accuracy_of_source": fp32_acc,
        "accuracy_data": "digits_cnn",
    })


# ---------------------------------------------------------------------------
# 6. opset 18 / 21 models built with onnx.helper (onnx 1.12's checker does not
# know these opsets, so it is skipped)


def gen_opset18_reduce(outdir):
    rs = np.random.RandomState(18)
    x = rs.randn(6, 3, 5, 4).astype(F32)
    inits = [init("axes_hw", np.array([2, 3], np.int64)),
             init("axes_last", np.array([-1], np.int64)),
             init("axes_c", np.array([1], np.int64))]
    nodes = [
        helper.make_node("ReduceMean", ["x", "axes_hw"], ["mean_hw"], "mean_hw", keepdims=1),
        helper.make_node("ReduceSum", ["x", "axes_last"], ["sum_last"], "sum_last", keepdims=0),
        helper.make_node("ReduceMax", ["x", "axes_c"], ["max_c"], "max_c", keepdims=1),
        helper.make_node("ReduceSumSquare", ["x", "axes_hw"], ["ssq_hw"], "ssq_hw", keepdims=0),
        # no axes input and noop_with_empty_axes=1: identity
        helper.make_node("ReduceMean", ["x"], ["noop"], "noop", keepdims=1, noop_with_empty_axes=1),
    ]
    model = make_model(nodes, [vinfo("x", TensorProto.FLOAT, ["N", 3, 5, 4])],
                       [vinfo("mean_hw", TensorProto.FLOAT, ["N", 3, 1, 1]),
                        vinfo("sum_last", TensorProto.FLOAT, ["N", 3, 5]),
                        vinfo("max_c", TensorProto.FLOAT, ["N", 1, 5, 4]),
                        vinfo("ssq_hw", TensorProto.FLOAT, ["N", 3]),
                        vinfo("noop", TensorProto.FLOAT, ["N", 3, 5, 4])],
                       inits, 18, "opset18_reduce", ir_version=8)
    x64 = x.astype(F64)
    outs = [x64.mean(axis=(2, 3), keepdims=True), x64.sum(axis=-1), x64.max(axis=1, keepdims=True),
            (x64 * x64).sum(axis=(2, 3)), x64]
    write_case(outdir, "opset18_reduce", model, [x], [o.astype(F32) for o in outs], {
        "source": "onnx.helper, opset 18 (IR 8): ReduceMean/ReduceSum/ReduceMax/ReduceSumSquare "
                  "with axes as a constant input (the opset-18 form), negative axis, keepdims 0/1, "
                  "and ReduceMean with no axes + noop_with_empty_axes=1 (identity)",
        "expected": "numpy in float64, rounded to fp32",
        "input_data": "np.random.RandomState(18).randn(6, 3, 5, 4)",
    }, check=False)


def gen_opset18_split_pad(outdir):
    rs = np.random.RandomState(1818)
    x = rs.randn(5, 7, 6).astype(F32)
    inits = [init("pads_c", np.array([1, 2, 0, 1], np.int64)),     # axes [1, 2]: begins, ends
             init("axes_12", np.array([1, 2], np.int64)),
             init("pad_value", np.array(0.5, F32)),
             init("pads_r", np.array([2, 1], np.int64)),
             init("axes_last", np.array([-1], np.int64))]
    nodes = [
        helper.make_node("Split", ["x"], ["s0", "s1", "s2"], "split3", axis=1, num_outputs=3),
        helper.make_node("Pad", ["x", "pads_c", "pad_value", "axes_12"], ["pad_const"],
                         "pad_const", mode="constant"),
        helper.make_node("Pad", ["x", "pads_r", "", "axes_last"], ["pad_reflect"],
                         "pad_reflect", mode="reflect"),
        helper.make_node("Pad", ["x", "pads_r", "", "axes_last"], ["pad_edge"],
                         "pad_edge", mode="edge"),
    ]
    model = make_model(nodes, [vinfo("x", TensorProto.FLOAT, ["N", 7, 6])],
                       [vinfo("s0", TensorProto.FLOAT, ["N", 3, 6]),
                        vinfo("s1", TensorProto.FLOAT, ["N", 3, 6]),
                        vinfo("s2", TensorProto.FLOAT, ["N", 1, 6]),
                        vinfo("pad_const", TensorProto.FLOAT, ["N", 8, 9]),
                        vinfo("pad_reflect", TensorProto.FLOAT, ["N", 7, 9]),
                        vinfo("pad_edge", TensorProto.FLOAT, ["N", 7, 9])],
                       inits, 18, "opset18_split_pad", ir_version=8)
    outs = [x[:, 0:3], x[:, 3:6], x[:, 6:7],
            np.pad(x, ((0, 0), (1, 0), (2, 1)), constant_values=0.5),
            np.pad(x, ((0, 0), (0, 0), (2, 1)), mode="reflect"),
            np.pad(x, ((0, 0), (0, 0), (2, 1)), mode="edge")]
    write_case(outdir, "opset18_split_pad", model, [x], [o.astype(F32) for o in outs], {
        "source": "onnx.helper, opset 18 (IR 8): Split with num_outputs=3 on a dim of 7 "
                  "(uneven: 3,3,1), Pad with the axes input (constant 0.5 on axes [1,2], "
                  "reflect and edge on axis -1, constant_value input absent)",
        "expected": "numpy slicing / np.pad (exact)",
        "input_data": "np.random.RandomState(1818).randn(5, 7, 6)",
        "rel_l2_tol": 0.0,
    }, check=False)


def pack_int4(q):
    """ONNX int4/uint4 packing: element 2k in the low nibble of byte k."""
    v = (np.asarray(q, np.int64).ravel() & 0xF).astype(np.uint8)
    if len(v) % 2:
        v = np.append(v, np.uint8(0))
    return (v[0::2] | (v[1::2] << 4)).astype(np.uint8).tobytes()


def int4_tensor(name, q, signed=True):
    t = TensorProto()
    t.name = name
    t.dims.extend(q.shape)
    t.data_type = 22 if signed else 21      # INT4 / UINT4 (IR 10; unknown to onnx 1.12)
    t.raw_data = pack_int4(q)
    return t


def gen_opset21_blockq(outdir):
    rs = np.random.RandomState(21)
    K, N1, N2, B1, B2 = 64, 32, 16, 16, 8
    x = rs.randn(6, K).astype(F32)
    # int4 weight [K, N1], blocks of 16 along K (axis 0), int4 zero points
    w1q = rs.randint(-8, 8, size=(K, N1)).astype(np.int8)
    s1 = (rs.uniform(0.01, 0.05, size=(K // B1, N1))).astype(F32)
    z1 = rs.randint(-2, 3, size=(K // B1, N1)).astype(np.int8)
    # int8 weight [N1, N2], blocks of 8 along axis 1, u8 variant: uint4 zero points
    w2q = rs.randint(0, 16, size=(N1, N2)).astype(np.uint8)
    s2 = (rs.uniform(0.02, 0.08, size=(N1, N2 // B2))).astype(F32)
    z2 = rs.randint(6, 10, size=(N1, N2 // B2)).astype(np.uint8)
    inits = [int4_tensor("w1_q", w1q), init("w1_scale", s1), int4_tensor("w1_zp", z1),
             int4_tensor("w2_q", w2q, signed=False), init("w2_scale", s2),
             int4_tensor("w2_zp", z2, signed=False)]
    nodes = [
        helper.make_node("DequantizeLinear", ["w1_q", "w1_scale", "w1_zp"], ["w1"], "dq_w1",
                         axis=0, block_size=B1),
        helper.make_node("MatMul", ["x", "w1"], ["h"], "mm1"),
        helper.make_node("DequantizeLinear", ["w2_q", "w2_scale", "w2_zp"], ["w2"], "dq_w2",
                         axis=1, block_size=B2),
        helper.make_node("MatMul", ["h", "w2"], ["y"], "mm2"),
    ]
    model = make_model(nodes, [vinfo("x", TensorProto.FLOAT, ["N", K])],
                       [vinfo("h", TensorProto.FLOAT, ["N", N1]),
                        vinfo("y", TensorProto.FLOAT, ["N", N2])],
                       inits, 21, "opset21_blockq", ir_version=10)
    w1 = np_dequantize(w1q, np.repeat(s1, B1, axis=0), np.repeat(z1, B1, axis=0))
    w2 = np_dequantize(w2q, np.repeat(s2, B2, axis=1), np.repeat(z2, B2, axis=1))
    h = np_gemm(x, w1)
    y = np_gemm(h, w2)
    write_case(outdir, "opset21_blockq", model, [x], [h, y], {
        "source": "onnx.helper, opset 21 (IR 10): weight-only blocked quantization as users "
                  "export 4-bit LLM weights: DequantizeLinear(int4 [64,32], scale [4,32], "
                  "int4 zp, axis 0, block_size 16) -> MatMul; DequantizeLinear(uint4 [32,16], "
                  "scale [32,2], uint4 zp, axis 1, block_size 8) -> MatMul. INT4/UINT4 "
                  "initializers packed by hand (raw_data, element 2k in the low nibble)",
        "expected": "numpy: fp32 (q - zp) * scale per block, MatMul accumulated in float64 and "
                    "rounded to fp32",
        "input_data": "np.random.RandomState(21).randn(6, 64)",
    }, check=False)


# ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--large", metavar="OUTDIR",
                    help="write resnet18 and mobilenet_v2 (~45 MB / ~14 MB) into OUTDIR "
                         "(alone: only those; with --only: those too)")
    ap.add_argument("--only", help="comma-separated list of models to (re)generate")
    ap.add_argument("--outdir", default=HERE, help="where the committed models go (default: here)")
    args = ap.parse_args()

    import torch
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    # --large alone writes only the large models; add --only to also
    # regenerate committed ones
    only = set(args.only.split(",")) if args.only else (set() if args.large else None)

    def want(*names):
        return only is None or any(n in only for n in names)

    fnn = seed_fnn_module(torch)
    if want("seed_fnn"):
        gen_seed_fnn(torch, args.outdir)
    if want("seed_fnn_qdq"):
        gen_seed_fnn_qdq(torch, fnn, args.outdir)
    if want("seed_fnn_dynamic"):
        gen_seed_fnn_dynamic(torch, fnn, args.outdir)
    if want("digits_cnn", "digits_cnn_qdq", "digits_cnn_qop"):
        if want("digits_cnn"):
            cnn, acc = gen_digits_cnn(torch, args.outdir)
        else:
            xtr, xte, ytr, yte = digits_data()
            cnn = train_digits(torch, digits_module(torch), xtr, ytr)
            with torch.no_grad():
                acc = float((cnn(torch.from_numpy(xte)).numpy().argmax(1) == yte).mean())
        if want("digits_cnn_qdq"):
            gen_digits_cnn_qdq(torch, cnn, acc, args.outdir)
        if want("digits_cnn_qop"):
            gen_digits_cnn_qop(torch, cnn, acc, args.outdir)
    if want("transformer_block", "transformer_block_op13", "transformer_block_shape"):
        gen_transformer(torch, args.outdir)
    if want("opset18_reduce"):
        gen_opset18_reduce(args.outdir)
    if want("opset18_split_pad"):
        gen_opset18_split_pad(args.outdir)
    if want("opset21_blockq"):
        gen_opset21_blockq(args.outdir)
    if args.large:
        gen_large(torch, args.large)
    return 0


if __name__ == "__main__":
    sys.exit(main())
