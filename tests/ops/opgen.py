"""Shared helpers for the op-test generators (tests/ops/gen_*.py).

Each generator computes expected outputs with numpy (an implementation
independent of qcomp's C kernels) and writes one folder per case under
tests/ops/cases/<name>/: model.qcir, input_<i>.npy, output_<i>.npy and,
optionally, `tol` ("rtol atol") and `expect_error`. Run with Debian's
/usr/bin/python3 (python3-numpy); the outputs are committed so tests need no
python. Seeds are fixed per case so regenerating is reproducible.
"""
import os
import shutil
import zlib

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")

NP_TO_QC = {
    np.dtype("float32"): "f32", np.dtype("float64"): "f64", np.dtype("float16"): "f16",
    np.dtype("int64"): "i64", np.dtype("int32"): "i32", np.dtype("int16"): "i16",
    np.dtype("int8"): "i8", np.dtype("uint8"): "u8", np.dtype("bool"): "bool",
}


def qtype(arr):
    """Text IR type of a numpy array, e.g. f32[2,3]."""
    return "%s[%s]" % (NP_TO_QC[arr.dtype], ",".join(str(d) for d in arr.shape))


def fmt_scalar(v, dtype):
    if dtype.kind == "f":
        v = float(v)
        if np.isnan(v):
            return "nan"
        if np.isinf(v):
            return "inf" if v > 0 else "-inf"
        return "%.17g" % v if dtype == np.float64 else "%.9g" % v
    if dtype.kind == "b":
        return "1" if v else "0"
    return str(int(v))


def const_line(name, arr):
    """A `const` statement holding arr."""
    arr = np.asarray(arr)
    vals = ", ".join(fmt_scalar(v, arr.dtype) for v in arr.reshape(-1))
    return "  const %s: %s = [%s]" % (name, qtype(arr), vals)


def rand(rng, shape, dtype=np.float32, lo=-1.0, hi=1.0):
    """Random data, never all-zero."""
    if np.dtype(dtype).kind == "f":
        a = rng.uniform(lo, hi, size=shape).astype(dtype)
    else:
        a = rng.integers(int(lo), int(hi) + 1, size=shape).astype(dtype)
    if a.size and not a.any():
        a.reshape(-1)[0] = 1
    return a


def write_case(name, inputs, body, outputs, consts=(), tol=None, expect_error=None):
    """Writes tests/ops/cases/<name>.

    inputs:  list of (name, ndarray) graph inputs
    consts:  list of (name, ndarray) constants
    body:    list of node lines in text IR (e.g. "y = Relu(x)"; types optional)
    outputs: list of (name, ndarray) expected graph outputs
    """
    d = os.path.join(ROOT, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    lines = ["qcir 1", "graph %s {" % name]
    for n, a in inputs:
        lines.append("  input %s: %s" % (n, qtype(np.asarray(a))))
    for n, a in consts:
        lines.append(const_line(n, a))
    for b in body:
        lines.append("  " + b)
    lines.append("  output " + ", ".join(n for n, _ in outputs))
    lines.append("}")
    with open(os.path.join(d, "model.qcir"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for i, (_, a) in enumerate(inputs):
        np.save(os.path.join(d, "input_%d.npy" % i), np.asarray(a))
    for i, (_, a) in enumerate(outputs):
        if a is not None:
            np.save(os.path.join(d, "output_%d.npy" % i), np.array(a, order="C"))  # keeps 0-d shape
    if tol is not None:
        with open(os.path.join(d, "tol"), "w") as f:
            f.write("%g %g\n" % tol)
    if expect_error is not None:
        with open(os.path.join(d, "expect_error"), "w") as f:
            f.write(expect_error + "\n")


def rng_for(name):
    """A generator seeded from the case name: fixed per case, independent of order."""
    return np.random.default_rng(zlib.crc32(name.encode()))


def fmt_attr(v):
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, float):
        return repr(v)          # always has '.' or 'e': reads back as a float
    if isinstance(v, (list, tuple)):
        return "[%s]" % ", ".join(fmt_attr(x) for x in v)
    return str(int(v))


def attrs(**kw):
    """The attribute block of a node line (empty when there are none)."""
    if not kw:
        return ""
    return " {%s}" % ", ".join("%s=%s" % (k, fmt_attr(v)) for k, v in kw.items())


def node(outs, op, ins, **kw):
    """A node line: outs is a name or a list; names may carry declared types ("y: f32[N,3]")."""
    outs = [outs] if isinstance(outs, str) else outs
    return "%s = %s(%s)%s" % (", ".join(outs), op, ", ".join(ins), attrs(**kw))
