#!/usr/bin/python3
"""torch_peer.py - PyTorch peer for bench/run_seed.sh.

Rebuilds the ONNX model as a torch module with the ONNX file's own weights
(so every peer runs the same numbers), checks it against the input, then times
each requested config on the same .npy input and prints one JSON line per
config with the fields `qcomp bench --json` writes.

    /usr/bin/python3 bench/peers/torch_peer.py --model M.onnx --input X.npy \
        --runs R [--warmup W] [--threads T] [--configs eager,jit,mkldnn,dynamic-int8]

Configs: eager (fp32 nn.Module), jit (torch.jit.trace + freeze, fp32),
mkldnn (torch.utils.mkldnn, fp32, oneDNN kernels), dynamic-int8-onednn and
dynamic-int8-qnnpack (torch.quantization.quantize_dynamic on every Linear,
on that quantized engine; qnnpack logs one "reduce_range" warning per call
to stderr, which run_seed.sh filters out). Which BLAS serves fp32
is decided by the process (Debian links libblas.so.3, whichever alternative
it points at; run_seed.sh also runs this script with LD_PRELOAD=OpenBLAS):
the "blas" field names the library found mapped in this process.

Only what the seed FNN needs is converted (Gemm, MatMul+Add, Relu,
Sigmoid); anything else is a clear error, not a silent different model.
"""
import argparse
import copy
import json
import os
import resource
import sys
import time

import numpy as np
import onnx
import onnx.numpy_helper
import torch


def die(msg):
    print(f"torch peer: {msg}", file=sys.stderr)
    sys.exit(2)


class OnnxChain(torch.nn.Module):
    """A chain of Linear / ReLU / Sigmoid built from an ONNX graph."""

    def __init__(self, layers):
        super().__init__()
        self.layers = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


def load_onnx_chain(path):
    m = onnx.load(path)
    g = m.graph
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in g.initializer}
    layers = []
    for n in g.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "Gemm":
            w = inits[n.input[1]]
            if attrs.get("transB", 0) == 0:
                w = w.T
            if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
                die(f"{path}: Gemm '{n.name}' with transA/alpha/beta is not converted")
            lin = torch.nn.Linear(w.shape[1], w.shape[0], bias=len(n.input) > 2)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.array(w)))
                if len(n.input) > 2:
                    lin.bias.copy_(torch.from_numpy(np.array(inits[n.input[2]]).reshape(-1)))
            layers.append(lin)
        elif n.op_type == "Relu":
            layers.append(torch.nn.ReLU())
        elif n.op_type == "Sigmoid":
            layers.append(torch.nn.Sigmoid())
        else:
            die(f"{path}: op {n.op_type} ('{n.name}') is not converted by the torch peer "
                f"(it handles Gemm/Relu/Sigmoid chains like the seed FNN)")
    return OnnxChain(layers).eval()


def blas_in_use():
    """The BLAS library mapped into this process (after torch ran a GEMM)."""
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    names = sorted(os.path.basename(p) for p in libs)
    if "openblas" in os.environ.get("LD_PRELOAD", ""):
        return "openblas, LD_PRELOAD"
    if any("openblas" in p for p in libs):
        return "openblas"
    if any("/blas/" in p for p in libs):
        return "reference-blas"
    return "+".join(names) or "builtin"


def time_config(fn, x, runs, warmup):
    with torch.no_grad():
        for _ in range(warmup):
            fn(x)
        ms = np.empty(runs)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for k in range(runs):
            t0 = time.perf_counter()
            fn(x)
            ms[k] = (time.perf_counter() - t0) * 1e3
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return ms, 100.0 * cpu / wall


def build(config, model, x):
    """(callable, input, precision) for one config. Each config gets its own
    copy: to_mkldnn replaces the Linear children of the module it is given in
    place, which would leave quantize_dynamic nothing to quantize."""
    model = copy.deepcopy(model)
    if config == "eager":
        return model, x, "fp32"
    if config == "jit":
        with torch.no_grad():
            traced = torch.jit.freeze(torch.jit.trace(model, x))
        return traced, x, "fp32"
    if config == "mkldnn":
        from torch.utils import mkldnn as mkldnn_utils
        mk = mkldnn_utils.to_mkldnn(model)
        return (lambda t: mk(t).to_dense()), x.to_mkldnn(), "fp32"
    if config.startswith("dynamic-int8-"):
        # The quantized engine: Debian's torch 1.13 has onednn and qnnpack,
        # no fbgemm; which is faster depends on the CPU, so both are configs.
        engine = config[len("dynamic-int8-"):]
        if engine not in torch.backends.quantized.supported_engines:
            raise RuntimeError(f"quantized engine {engine} not in this torch build "
                               f"({torch.backends.quantized.supported_engines})")
        torch.backends.quantized.engine = engine
        q = torch.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        return q, x, "int8-dynamic"
    die(f"unknown config {config}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--configs", default="eager,jit,mkldnn,dynamic-int8-onednn,dynamic-int8-qnnpack")
    a = ap.parse_args()
    if a.runs < 1 or a.warmup < 0 or a.threads < 1:
        die("bad --runs/--warmup/--threads")
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    model = load_onnx_chain(a.model)
    x = torch.from_numpy(np.load(a.input))
    with torch.no_grad():
        ref = model(x)
    blas = blas_in_use()
    for config in a.configs.split(","):
        try:
            fn, xin, precision = build(config, model, x)
            with torch.no_grad():
                got = fn(xin)
            err = float(torch.linalg.norm(got - ref) / max(torch.linalg.norm(ref), 1e-30))
            ms, cpu = time_config(fn, xin, a.runs, a.warmup)
        except Exception as e:  # a config this torch build lacks: report, go on
            print(f"torch peer: config {config} failed: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        print(json.dumps({
            "tool": "torch", "config": f"torch {config} ({blas})", "precision": precision,
            "version": torch.__version__, "blas": blas, "model": a.model,
            "batch": int(x.shape[0]), "runs": a.runs, "warmup": a.warmup, "threads": a.threads,
            "min_ms": float(ms.min()), "p50_ms": float(np.percentile(ms, 50)),
            "p90_ms": float(np.percentile(ms, 90)), "mean_ms": float(ms.mean()),
            "max_ms": float(ms.max()), "throughput_per_s": float(x.shape[0] * 1e3 / ms.mean()),
            "cpu_percent": cpu, "rel_l2_vs_eager": err,
            # ru_maxrss is in kilobytes on Linux; it includes `import torch`.
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        }), flush=True)


if __name__ == "__main__":
    main()
