#!/usr/bin/python3
"""Generates tests/ops/cases/q_*: the quantized op group (QuantizeLinear,
DequantizeLinear, DynamicQuantizeLinear, QLinearMatMul, QLinearConv,
MatMulInteger, ConvInteger, com.microsoft QLinearAdd / QLinearMul).

Expected outputs come from the numpy implementation below of the ONNX
reference semantics, emulating the fp32 numerics contract of ir/quant.h step
by step: x / scale as a float32 division, np.rint (half to even), the
requantize multiplier (sa * sb) / sy in float32, clip. It shares no code with
the C kernels. Integer results must match exactly; float results coming from
integers (DequantizeLinear of a quantized value with scale 1) get tolerance 0.

Run with /usr/bin/python3 (numpy only): python3 tests/ops/gen_quant.py
"""
import os
import re
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opgen  # noqa: E402
from opgen import rand  # noqa: E402

F32 = np.float32
RANGES = {"u8": (0, 255), "i8": (-128, 127), "i16": (-32768, 32767), "u4": (0, 15),
          "i4": (-8, 7), "i32": (-2**31, 2**31 - 1)}
NPINT = {"u8": np.uint8, "i8": np.int8, "i16": np.int16, "i32": np.int32}
EXACT = (0, 0)   # tolerance for float outputs that are exact by construction


# ---- fp8 (reference encoder: nearest value in the code table) ----------------


def fp8_table(kind):
    """(codes, values) of the non-negative finite codes, ascending, plus the
    first code past the largest finite value (480 / 65536): rounding onto it
    means overflow."""
    codes, vals = [], []
    for c in range(128):
        if kind == "e4m3fn":
            e, m = c >> 3, c & 7
            if e == 15 and m == 7:
                v = 480.0
            else:
                v = m * 2.0 ** -9 if e == 0 else (8 + m) * 2.0 ** (e - 10)
        else:
            e, m = c >> 2, c & 3
            if e == 31:
                if m:
                    continue
                v = 65536.0
            else:
                v = m * 2.0 ** -16 if e == 0 else (4 + m) * 2.0 ** (e - 17)
        codes.append(c)
        vals.append(v)
    return np.array(codes), np.array(vals)


def fp8_decode(kind, code):
    code = int(code)
    s = -1.0 if code & 0x80 else 1.0
    c = code & 0x7F
    if kind == "e4m3fn":
        if c == 0x7F:
            return np.nan
        e, m = c >> 3, c & 7
        return s * (m * 2.0 ** -9 if e == 0 else (8 + m) * 2.0 ** (e - 10))
    e, m = c >> 2, c & 3
    if e == 31:
        return np.nan if m else s * np.inf
    return s * (m * 2.0 ** -16 if e == 0 else (4 + m) * 2.0 ** (e - 17))


def fp8_encode(kind, v, saturate=True):
    """Codes for float32 array v: round to nearest, ties to the even code;
    overflow saturates to the largest finite value, or (saturate=False) gives
    NaN for e4m3fn and inf for e5m2, as ONNX Cast does."""
    codes, vals = fp8_table(kind)
    top, maxcode = len(vals) - 1, codes[-2]
    over = 0x7F if kind == "e4m3fn" else 0x7C
    out = []
    for x in np.asarray(v, dtype=np.float64).reshape(-1):
        sign = 0x80 if np.signbit(x) else 0
        if np.isnan(x):
            out.append(sign | 0x7F)
            continue
        a = abs(x)
        if a > vals[top]:
            i = top
        else:
            i = int(np.searchsorted(vals, a))   # vals[i-1] < a <= vals[i]
            if i > 0 and vals[i] != a:
                lo_d, hi_d = a - vals[i - 1], vals[i] - a
                if lo_d < hi_d or (lo_d == hi_d and codes[i - 1] % 2 == 0):
                    i -= 1
        c = codes[i]
        if i == top:
            c = maxcode if saturate else over
        out.append(sign | c)
    return np.array(out, dtype=np.int64).reshape(np.shape(v))


def fp8_values(kind, codes):
    return np.array([fp8_decode(kind, c) for c in np.asarray(codes).reshape(-1)],
                    dtype=F32).reshape(np.shape(codes))


# ---- reference numerics --------------------------------------------------------


def clip_int(r, zp, qt):
    """saturate(r + zp) for float r (already integral)."""
    lo, hi = RANGES[qt]
    return np.clip(np.asarray(r, dtype=np.float64) + np.asarray(zp, dtype=np.float64),
                   lo, hi).astype(np.int64)


def quantize(x, scale, zp, qt):
    return clip_int(np.rint((x.astype(F32) / scale.astype(F32)).astype(F32)), zp, qt)


def dequantize(q, scale, zp):
    return (np.asarray(q, np.int64) - np.asarray(zp, np.int64)).astype(F32) * scale.astype(F32)


def expand_param(p, xshape, axis, block):
    """Scale/zp broadcast to x's shape: per tensor, per axis, or blocked."""
    p = np.asarray(p)
    if p.size == 1 and p.ndim <= 1:
        return p.reshape(())
    axis = axis % len(xshape)
    if not block:
        shape = [1] * len(xshape)
        shape[axis] = p.size
        return p.reshape(shape)
    return np.take(np.repeat(p, block, axis=axis), np.arange(xshape[axis]), axis=axis)


def requant(acc, mult, zp, qt):
    acc = np.asarray(acc, np.int64)
    assert acc.min() >= -2**31 and acc.max() < 2**31, "int32 accumulator overflow"
    return clip_int(np.rint(acc.astype(F32) * mult), zp, qt)


def multiplier(sa, sb, sy):
    return ((F32(sa) * F32(sb)).astype(F32) / F32(sy)).astype(F32)


def out_scale(real, sy=None):
    """An output scale putting about 90% of |real| inside +-90 quantization
    steps (so both in-range values and some saturation get exercised), unless
    the case fixes one."""
    if sy is not None:
        return scalar(sy)
    return scalar(max(float(np.percentile(np.abs(real), 90)), 1e-3) / 90.0)


def as_np(q, qt):
    return np.asarray(q).astype(NPINT[qt])


# ---- text IR helpers -------------------------------------------------------------


def write_case(name, inputs, body, outputs, **kw):
    """opgen.write_case, keeping 0-d outputs 0-d: it saves outputs through
    np.ascontiguousarray, which turns a 0-d array into shape (1,)."""
    opgen.write_case(name, inputs, body, outputs, **kw)
    for i, (_, a) in enumerate(outputs):
        if a is not None and np.ndim(a) == 0:
            np.save(os.path.join(opgen.ROOT, name, "output_%d.npy" % i), np.asarray(a))


def make_batched(name, inputs):
    """Rewrites case `name` so that the leading dim of the listed graph
    inputs is the symbolic batch N: inference then runs on symbolic shapes
    when the graph is parsed and verified, and on concrete ones when it runs."""
    path = os.path.join(opgen.ROOT, name, "model.qcir")
    with open(path) as f:
        text = f.read()
    text = text.replace("graph %s {" % name, "graph %s batch N {" % name)
    for n in inputs:
        text = re.sub(r"(  input %s: \w+\[)\d+" % n, r"\1N", text)
    with open(path, "w") as f:
        f.write(text)


def raw_const(name, qt, shape, values):
    """A const of a non-npy dtype (i4, u4, fp8), values written as numbers."""
    vals = ", ".join(("%.9g" % v) if isinstance(v, float) else str(int(v))
                     for v in np.asarray(values, dtype=object).reshape(-1))
    return "const %s: %s[%s] = [%s]" % (name, qt, ",".join(str(d) for d in shape), vals)


def attrs(**kw):
    if not kw:
        return ""
    parts = []
    for k, v in kw.items():
        if isinstance(v, str):
            parts.append('%s="%s"' % (k, v))
        elif isinstance(v, (list, tuple)):
            parts.append("%s=[%s]" % (k, ", ".join(str(int(i)) for i in v)))
        else:
            parts.append("%s=%d" % (k, v))
    return " {" + ", ".join(parts) + "}"


def q_attrs(axis, block):
    """Q/DQ attributes, leaving out the defaults (axis 1, no blocks)."""
    kw = {}
    if axis != 1:
        kw["axis"] = axis
    if block:
        kw["block_size"] = block
    return kw


def qint(rng, qt, shape):
    lo, hi = RANGES[qt]
    return rand(rng, shape, NPINT[qt], lo, hi)


def scalar(v, dt=F32):
    return np.array(v, dtype=dt)


CASES = []


def case(fn):
    """Registers a case written as its own function (named like the case)."""
    CASES.append((fn.__name__, fn))
    return fn


def add(fn, name, *args, **kw):
    """Registers case `name` as fn(name, *args, **kw)."""
    CASES.append((name, lambda: fn(name, *args, **kw)))


# ---- QuantizeLinear ------------------------------------------------------------


def quant_case(name, seed, shape, qt, axis=1, block=0, scale_shape=(), with_zp=True,
               out_attr=None, lo=-3.0, hi=3.0, ties=0.0, extra=None):
    """QuantizeLinear of a random f32 input to an npy integer type."""
    rng = np.random.default_rng(seed)
    x = rand(rng, shape, F32, lo, hi)
    if extra is not None:
        x.reshape(-1)[:len(extra)] = extra[:x.size]
    scale = rand(rng, scale_shape, F32, 0.01, 0.05)
    if ties:
        # power-of-two scales and x at exact .5 multiples: ties are exact
        scale = np.full(scale_shape, ties, F32)
        x = ((rng.integers(-40, 40, size=shape) + 0.5) * ties).astype(F32)
        x.reshape(-1)[:2] = [0.5 * ties, -0.5 * ties]
    zlo, zhi = RANGES[qt]
    zp = rand(rng, scale_shape, NPINT[qt], max(zlo, -20), min(zhi, 20) if zlo < 0 else 40)
    kw = q_attrs(axis, block)
    if out_attr:
        kw["output_dtype"] = out_attr
    consts = [("s", scale)] + ([("z", zp)] if with_zp else [])
    body = ["y = QuantizeLinear(x, s%s)%s" % (", z" if with_zp else "", attrs(**kw))]
    sx = expand_param(scale, shape, axis, block)
    zx = expand_param(zp, shape, axis, block) if with_zp else 0
    y = as_np(quantize(x, sx, zx, qt), qt)
    write_case(name, [("x", x)], body, [("y", y)], consts=consts)


add(quant_case, "q_quant_u8_tensor", 101, (3, 5), "u8", extra=[9.0, -9.0])
add(quant_case, "q_quant_i8_tensor", 102, (4, 6), "i8", extra=[5.0, -5.0])
add(quant_case, "q_quant_i8_scalar_1d", 103, (2, 3, 5), "i8", scale_shape=(1,))
add(quant_case, "q_quant_u8_nozp", 104, (5, 3), "u8", with_zp=False, lo=-1.0, hi=4.0)
add(quant_case, "q_quant_i8_output_dtype", 105, (7,), "i8", with_zp=False, out_attr=3)
add(quant_case, "q_quant_i8_axis1", 106, (2, 3, 4), "i8", scale_shape=(3,))
add(quant_case, "q_quant_u8_axis0", 107, (4, 5), "u8", axis=0, scale_shape=(4,))
add(quant_case, "q_quant_i8_axis_neg", 108, (2, 3, 7), "i8", axis=-1, scale_shape=(7,))
add(quant_case, "q_quant_i8_block", 109, (2, 6, 3), "i8", block=2, scale_shape=(2, 3, 3))
add(quant_case, "q_quant_u8_block_ceil", 110, (4, 7), "u8", block=3, scale_shape=(4, 3))
add(quant_case, "q_quant_u8_block_axis0", 111, (5, 3), "u8", axis=0, block=4, scale_shape=(2, 3))


add(quant_case, "q_quant_i16", 112, (3, 4), "i16", lo=-600.0, hi=600.0, extra=[1e4, -1e4])
add(quant_case, "q_quant_i16_axis", 113, (3, 4), "i16", axis=0, scale_shape=(3,), lo=-700.0,
    hi=700.0)


add(quant_case, "q_quant_u8_ties", 114, (6, 7), "u8", ties=0.25)
add(quant_case, "q_quant_i8_ties_axis", 115, (3, 8), "i8", axis=0, scale_shape=(3,), ties=0.125)
add(quant_case, "q_quant_u8_odd", 116, (7, 13), "u8", axis=1, scale_shape=(13,), lo=-1.0, hi=6.0)
# values far outside the range, and huge ones, must clamp at both ends
add(quant_case, "q_quant_u8_saturate", 117, (4, 4), "u8", lo=-50.0, hi=50.0, extra=[3e38, -3e38,
    1e9, -1e9])


@case
def q_quant_f16_input():
    rng = np.random.default_rng(118)
    x = rand(rng, (3, 4), np.float16, -2.0, 2.0)
    s, z = scalar(0.02), scalar(3, np.int8)
    y = as_np(quantize(x.astype(F32), s, z, "i8"), "i8")
    write_case("q_quant_f16_input", [("x", x)], ["y = QuantizeLinear(x, s, z)"], [("y", y)],
               consts=[("s", s), ("z", z)])


@case
def q_quant_scale_input():
    # scale and zero point as graph inputs rather than constants
    rng = np.random.default_rng(119)
    x = rand(rng, (2, 5), F32, -2.0, 2.0)
    s, z = np.array([0.02, 0.03], F32), np.array([120, 130], np.uint8)
    y = as_np(quantize(x, s.reshape(2, 1), z.reshape(2, 1), "u8"), "u8")
    write_case("q_quant_scale_input", [("x", x), ("s", s), ("z", z)],
               ["y = QuantizeLinear(x, s, z) {axis=0}"], [("y", y)])


def quant4_case(name, seed, shape, qt, axis=1, block=0, scale_shape=(), zp_mode="const"):
    """QuantizeLinear to i4/u4, then DequantizeLinear with scale 1 (no zero
    point) back to f32, which reproduces the 4-bit integers exactly."""
    rng = np.random.default_rng(seed)
    x = rand(rng, shape, F32, -1.0, 1.0)
    x.reshape(-1)[:2] = [5.0, -5.0][:x.size]   # saturate at both ends
    scale = rand(rng, scale_shape, F32, 0.08, 0.2)
    lo, hi = RANGES[qt]
    zp = rng.integers(max(lo, -3), min(hi, 3) + 1 if lo < 0 else 9, size=scale_shape)
    kw = q_attrs(axis, block)
    body = []
    if zp_mode == "const":
        body.append(raw_const("z", qt, scale_shape, zp))
        body.append("q = QuantizeLinear(x, s, z)%s" % attrs(**kw))
    else:   # no zero point: the type comes from output_dtype
        zp = np.zeros(scale_shape, np.int64)
        kw["output_dtype"] = {"u4": 21, "i4": 22}[qt]
        body.append("q = QuantizeLinear(x, s)%s" % attrs(**kw))
    body.append("y = DequantizeLinear(q, one)")
    q = quantize(x, expand_param(scale, shape, axis, block),
                 expand_param(zp, shape, axis, block), qt)
    write_case(name, [("x", x)], body, [("y", q.astype(F32))],
               consts=[("s", scale), ("one", scalar(1.0))], tol=EXACT)


add(quant4_case, "q_quant_i4_tensor", 201, (3, 5), "i4")
add(quant4_case, "q_quant_u4_axis", 202, (3, 5), "u4", axis=0, scale_shape=(3,))
add(quant4_case, "q_quant_i4_block", 203, (2, 9), "i4", block=4, scale_shape=(2, 3))
add(quant4_case, "q_quant_u4_output_dtype", 204, (7,), "u4", zp_mode="none")
add(quant4_case, "q_quant_i4_output_dtype_axis", 205, (2, 3), "i4", scale_shape=(3,),
    zp_mode="none")


def quant_fp8_case(name, seed, kind, shape, axis=1, scale_shape=(), saturate=True,
                   zp_mode="none", extra=()):
    """QuantizeLinear to fp8, then DequantizeLinear with scale 1 back to f32:
    the output is the fp8 value itself (or NaN / inf)."""
    rng = np.random.default_rng(seed)
    x = rand(rng, shape, F32, -2.0, 2.0)
    codes, vals = fp8_table(kind)
    # power-of-two scales: x / scale is exact, so the special values below
    # (ties between adjacent codes, subnormals, overflow) arrive unchanged
    scale = rng.choice(np.array([2.0 ** -8, 2.0 ** -7, 2.0 ** -6], F32), size=scale_shape)
    scale = np.asarray(scale, F32)
    sx = expand_param(scale, shape, axis, 0)
    xs = np.broadcast_to(sx, shape).reshape(-1)
    flat = x.reshape(-1)
    for i, v in enumerate(extra):
        flat[i] = F32(v) * xs[i]
    qtname = "f8" + kind
    kw = q_attrs(axis, 0)
    if not saturate:
        kw["saturate"] = 0
    body = []
    if zp_mode == "const":
        body.append(raw_const("z", qtname, scale_shape, [0.0] * int(np.prod(scale_shape))))
        body.append("q = QuantizeLinear(x, s, z)%s" % attrs(**kw))
    else:
        kw["output_dtype"] = {"e4m3fn": 17, "e5m2": 19}[kind]
        body.append("q = QuantizeLinear(x, s)%s" % attrs(**kw))
    body.append("y = DequantizeLinear(q, one)")
    v = (x / sx).astype(F32)
    y = fp8_values(kind, fp8_encode(kind, v, saturate))
    write_case(name, [("x", x)], body, [("y", y)],
               consts=[("s", scale), ("one", scalar(1.0))], tol=EXACT)


E4_SPECIAL = [0.0, 1.0625, 1.1875, -1.0625, 2.0 ** -10, 3 * 2.0 ** -10, 440.0, 464.0, 470.0,
              -1000.0, 2.0 ** -11]
E5_SPECIAL = [0.0, 1.125, 1.375, -1.125, 2.0 ** -17, 3 * 2.0 ** -17, 57344.0, 60000.0,
              61440.0, -1e6, 2.0 ** -18]


add(quant_fp8_case, "q_quant_f8e4m3_tensor", 301, "e4m3fn", (4, 8), extra=E4_SPECIAL)
add(quant_fp8_case, "q_quant_f8e5m2_tensor", 302, "e5m2", (4, 8), extra=E5_SPECIAL)
add(quant_fp8_case, "q_quant_f8e4m3_nosat", 303, "e4m3fn", (3, 6), saturate=False,
    extra=E4_SPECIAL)
add(quant_fp8_case, "q_quant_f8e5m2_nosat", 304, "e5m2", (3, 6), saturate=False,
    extra=E5_SPECIAL)
add(quant_fp8_case, "q_quant_f8e4m3_axis_zp", 305, "e4m3fn", (2, 4, 3), scale_shape=(4,),
    zp_mode="const", extra=E4_SPECIAL)
add(quant_fp8_case, "q_quant_f8e5m2_axis0", 306, "e5m2", (3, 5), axis=0, scale_shape=(3,),
    extra=E5_SPECIAL)


# ---- DequantizeLinear ----------------------------------------------------------


def dequant_case(name, seed, shape, qt, axis=1, block=0, scale_shape=(), with_zp=True):
    rng = np.random.default_rng(seed)
    q = qint(rng, qt, shape)
    scale = rand(rng, scale_shape, F32, 0.01, 0.5)
    zlo, zhi = RANGES[qt]
    zp = rand(rng, scale_shape, NPINT[qt], max(zlo, -50), min(zhi, 50) if zlo < 0 else 200)
    kw = q_attrs(axis, block)
    consts = [("s", scale)] + ([("z", zp)] if with_zp else [])
    body = ["y = DequantizeLinear(x, s%s)%s" % (", z" if with_zp else "", attrs(**kw))]
    y = dequantize(q, expand_param(scale, shape, axis, block),
                   expand_param(zp, shape, axis, block) if with_zp else 0)
    write_case(name, [("x", q)], body, [("y", y)], consts=consts, tol=EXACT)


add(dequant_case, "q_dequant_u8_tensor", 401, (3, 7), "u8")
add(dequant_case, "q_dequant_i8_axis", 402, (2, 4, 3), "i8", scale_shape=(4,))
add(dequant_case, "q_dequant_i8_block", 403, (3, 10), "i8", block=4, scale_shape=(3, 3))
add(dequant_case, "q_dequant_u8_block_axis0", 404, (6, 2, 2), "u8", axis=0, block=3,
    scale_shape=(2, 2, 2))
add(dequant_case, "q_dequant_i16", 405, (5, 3), "i16", axis=-1, scale_shape=(3,))
add(dequant_case, "q_dequant_i32", 406, (4, 4), "i32", with_zp=False)
add(dequant_case, "q_dequant_u8_nozp", 407, (9,), "u8", with_zp=False)


def dequant_const_case(name, seed, qt, shape, axis=1, block=0, scale_shape=(), with_zp=True):
    """DequantizeLinear of an i4/u4/fp8 constant (the only way to feed those
    types: graph inputs are npy files); the graph has no inputs."""
    rng = np.random.default_rng(seed)
    scale = rand(rng, scale_shape, F32, 0.05, 0.5)
    if qt.startswith("f8"):
        kind = qt[2:]
        codes = rng.integers(0, 256, size=shape)
        codes[(codes & 0x7F) >= (0x7F if kind == "e4m3fn" else 0x7C)] = 0x41   # no NaN/inf
        vals = fp8_values(kind, codes)
        xconst = raw_const("x", qt, shape, [float(v) for v in vals.reshape(-1)])
        zp = np.zeros(scale_shape, np.int64)
        zconst = raw_const("z", qt, scale_shape, [0.0] * zp.size)
        deq = vals * expand_param(scale, shape, axis, block)
    else:
        lo, hi = RANGES[qt]
        q = rng.integers(lo, hi + 1, size=shape)
        zp = rng.integers(lo, hi + 1, size=scale_shape)
        xconst = raw_const("x", qt, shape, q)
        zconst = raw_const("z", qt, scale_shape, zp)
        deq = dequantize(q, expand_param(scale, shape, axis, block),
                         expand_param(zp, shape, axis, block))
    kw = q_attrs(axis, block)
    body = [xconst] + ([zconst] if with_zp else [])
    body.append("y = DequantizeLinear(x, s%s)%s" % (", z" if with_zp else "", attrs(**kw)))
    write_case(name, [], body, [("y", deq.astype(F32))], consts=[("s", scale)], tol=EXACT)


add(dequant_const_case, "q_dequant_i4_axis", 411, "i4", (3, 5), axis=0, scale_shape=(3,))
add(dequant_const_case, "q_dequant_u4_block", 412, "u4", (2, 7), block=2, scale_shape=(2, 4))
add(dequant_const_case, "q_dequant_f8e4m3", 413, "f8e4m3fn", (4, 6), scale_shape=(6,), axis=1)
add(dequant_const_case, "q_dequant_f8e5m2", 414, "f8e5m2", (3, 5), with_zp=False)


@case
def q_qdq_roundtrip_axis():
    rng = np.random.default_rng(415)
    x = rand(rng, (2, 3, 4), F32, -1.0, 1.0)
    s = np.array([0.01, 0.007, 0.02], F32)
    z = np.array([-3, 0, 5], np.int8)
    q = quantize(x, s.reshape(1, 3, 1), z.reshape(1, 3, 1), "i8")
    y = dequantize(q, s.reshape(1, 3, 1), z.reshape(1, 3, 1))
    write_case("q_qdq_roundtrip_axis", [("x", x)],
               ["q = QuantizeLinear(x, s, z)", "y = DequantizeLinear(q, s, z)"], [("y", y)],
               consts=[("s", s), ("z", z)], tol=EXACT)


# ---- DynamicQuantizeLinear --------------------------------------------------------


def dynamic_ref(x):
    lo = min(F32(0), x.min())
    hi = max(F32(0), x.max())
    scale = F32(F32(hi - lo) / F32(255))
    zp = int(np.clip(np.rint(F32(F32(0) - F32(lo / scale))), 0, 255))
    y = clip_int(np.rint((x / scale).astype(F32)), zp, "u8").astype(np.uint8)
    return y, np.array(scale, F32), np.array(zp, np.uint8)


def dynamic_case(name, seed, shape, lo, hi):
    rng = np.random.default_rng(seed)
    x = rand(rng, shape, F32, lo, hi)
    y, s, z = dynamic_ref(x)
    write_case(name, [("x", x)], ["y, ys, yz = DynamicQuantizeLinear(x)"],
               [("y", y), ("ys", s), ("yz", z)], tol=EXACT)


add(dynamic_case, "q_dynamic_mixed", 501, (4, 5), -1.0, 2.0)
add(dynamic_case, "q_dynamic_positive", 502, (3, 7), 0.5, 3.0)
add(dynamic_case, "q_dynamic_negative", 503, (11,), -4.0, -0.1)


# ---- QLinearMatMul / MatMulInteger ----------------------------------------------


def qmatmul_case(name, seed, ashape, bshape, at, bt, yt, a_vec=False, b_vec=False,
                 sy=None):
    """QLinearMatMul; a_vec / b_vec give a per-row / per-column params."""
    rng = np.random.default_rng(seed)
    a, b = qint(rng, at, ashape), qint(rng, bt, bshape)
    m = ashape[-2] if len(ashape) > 1 else 1
    n = bshape[-1] if len(bshape) > 1 else 1
    sa = rand(rng, (m,) if a_vec else (), F32, 0.01, 0.05)
    sb = rand(rng, (n,) if b_vec else (), F32, 0.01, 0.05)
    za = qint(rng, at, (m,) if a_vec else ())
    zb = qint(rng, bt, (n,) if b_vec else ())
    za = (za // 2).astype(za.dtype)   # keep zero points mid-range
    zb = (zb // 2).astype(zb.dtype)
    yz = scalar(RANGES[yt][0] // 2 + RANGES[yt][1] // 4, NPINT[yt])
    # integer matmul of the zero-point-free operands (numpy semantics)
    ai = a.astype(np.int64) - (za.astype(np.int64).reshape(-1, 1) if a_vec else za)
    bi = b.astype(np.int64) - zb.astype(np.int64)
    acc = np.matmul(ai, bi)
    ys = out_scale(acc * float(sa.max()) * float(sb.max()), sy)
    mult = multiplier(sa.reshape(-1, 1) if a_vec else sa, sb, ys)
    if len(bshape) == 1:                      # b is a column: N dropped
        mult = mult.reshape(mult.shape[:-1]) if mult.ndim else mult
    if len(ashape) == 1 and mult.ndim == 2:   # a is a row: M dropped
        mult = mult.reshape(-1)
    y = as_np(requant(acc, mult, yz, yt), yt)
    write_case(name, [("a", a), ("b", b)],
               ["y = QLinearMatMul(a, sa, za, b, sb, zb, sy, zy)"], [("y", y)],
               consts=[("sa", sa), ("za", za), ("sb", sb), ("zb", zb), ("sy", ys), ("zy", yz)])


add(qmatmul_case, "q_qmatmul_u8", 601, (3, 5), (5, 4), "u8", "u8", "u8")
add(qmatmul_case, "q_qmatmul_i8", 602, (4, 7), (7, 3), "i8", "i8", "i8")
add(qmatmul_case, "q_qmatmul_mixed", 603, (2, 6), (6, 5), "u8", "i8", "i8")
add(qmatmul_case, "q_qmatmul_batched", 604, (2, 1, 3, 4), (3, 4, 5), "u8", "i8", "u8")
add(qmatmul_case, "q_qmatmul_batched_b", 605, (3, 5), (2, 5, 2), "i8", "u8", "i8")
add(qmatmul_case, "q_qmatmul_percol", 606, (3, 8), (8, 5), "u8", "i8", "u8", b_vec=True)
add(qmatmul_case, "q_qmatmul_perrow_percol", 607, (2, 4, 6), (6, 3), "i8", "i8", "i8",
    a_vec=True, b_vec=True)
add(qmatmul_case, "q_qmatmul_vec_a", 608, (9,), (9, 4), "u8", "u8", "u8")
add(qmatmul_case, "q_qmatmul_vec_b", 609, (3, 9), (9,), "i8", "u8", "u8")
add(qmatmul_case, "q_qmatmul_saturate", 610, (5, 6), (6, 5), "u8", "i8", "i8", sy=0.002)


def mmint_case(name, seed, ashape, bshape, at, bt, za_mode="none", zb_mode="none"):
    """MatMulInteger; zero point modes: none, scalar, vec (per row / column)."""
    rng = np.random.default_rng(seed)
    a, b = qint(rng, at, ashape), qint(rng, bt, bshape)
    m = ashape[-2] if len(ashape) > 1 else 1
    n = bshape[-1] if len(bshape) > 1 else 1
    args, consts = ["a", "b"], []
    ai, bi = a.astype(np.int64), b.astype(np.int64)
    if za_mode != "none":
        za = qint(rng, at, (m,) if za_mode == "vec" else ())
        ai = ai - (za.astype(np.int64).reshape(-1, 1) if za_mode == "vec" else za)
        consts.append(("za", za))
    if zb_mode != "none":
        zb = qint(rng, bt, (n,) if zb_mode == "vec" else ())
        bi = bi - zb.astype(np.int64)
        consts.append(("zb", zb))
    if zb_mode != "none":
        args += ["za" if za_mode != "none" else "_", "zb"]
    elif za_mode != "none":
        args.append("za")
    y = np.matmul(ai, bi).astype(np.int32)
    write_case(name, [("a", a), ("b", b)], ["y = MatMulInteger(%s)" % ", ".join(args)],
               [("y", y)], consts=consts)


add(mmint_case, "q_mmint_u8", 701, (3, 4), (4, 5), "u8", "u8")
add(mmint_case, "q_mmint_i8_scalar_zps", 702, (4, 6), (6, 3), "i8", "i8", "scalar", "scalar")
add(mmint_case, "q_mmint_rowcol_zps", 703, (5, 7), (7, 4), "u8", "i8", "vec", "vec")
add(mmint_case, "q_mmint_batched", 704, (2, 3, 4), (4, 5), "i8", "u8", "scalar", "vec")
add(mmint_case, "q_mmint_bzp_only", 705, (2, 2, 3), (2, 3, 3), "u8", "u8", "none", "scalar")


# ---- QLinearConv / ConvInteger -----------------------------------------------------


def conv_pads(xs, ks, strides, dil, pads, auto_pad):
    """Leading/trailing pads and output dims, ONNX Conv rules."""
    sp = len(ks)
    begin, end, out = [], [], []
    for d in range(sp):
        ext = (ks[d] - 1) * dil[d] + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            o = -(-xs[d] // strides[d])
            total = max(0, (o - 1) * strides[d] + ext - xs[d])
            small = total // 2
            b = small if auto_pad == "SAME_UPPER" else total - small
            begin.append(b)
            end.append(total - b)
        elif auto_pad == "VALID":
            begin.append(0)
            end.append(0)
        else:
            begin.append(pads[d])
            end.append(pads[d + sp])
        out.append((xs[d] + begin[d] + end[d] - ext) // strides[d] + 1)
    return begin, end, out


def conv_int(xi, wi, group, strides, dil, pads, auto_pad):
    """int64 conv of zero-point-free operands: padding contributes 0."""
    n, c = xi.shape[:2]
    m = wi.shape[0]
    ks = wi.shape[2:]
    sp = len(ks)
    begin, end, out = conv_pads(xi.shape[2:], ks, strides, dil, pads, auto_pad)
    xp = np.pad(xi, [(0, 0), (0, 0)] + list(zip(begin, end)))
    acc = np.zeros((n, m) + tuple(out), np.int64)
    cg, mg = c // group, m // group
    for tap in np.ndindex(*ks):
        sl = tuple(slice(tap[d] * dil[d], tap[d] * dil[d] + (out[d] - 1) * strides[d] + 1,
                         strides[d]) for d in range(sp))
        window = xp[(slice(None), slice(None)) + sl]          # [n, c, out...]
        for g in range(group):
            xw = window[:, g * cg:(g + 1) * cg]
            ww = wi[g * mg:(g + 1) * mg][(slice(None), slice(None)) + tap]   # [mg, cg]
            acc[:, g * mg:(g + 1) * mg] += np.einsum("nc...,mc->nm...", xw, ww)
    return acc


def conv_attrs(sp, group, strides, dil, pads, auto_pad, kernel_shape=None):
    kw = {}
    if auto_pad != "NOTSET":
        kw["auto_pad"] = auto_pad
    if group != 1:
        kw["group"] = group
    if any(s != 1 for s in strides):
        kw["strides"] = strides
    if any(d != 1 for d in dil):
        kw["dilations"] = dil
    if any(pads) and auto_pad == "NOTSET":
        kw["pads"] = pads
    if kernel_shape:
        kw["kernel_shape"] = kernel_shape
    return kw


def qconv_case(name, seed, xshape, wshape, xt, wt, yt, group=1, strides=None, dil=None,
               pads=None, auto_pad="NOTSET", per_channel=False, bias=False, sy=None,
               kernel_shape=False):
    rng = np.random.default_rng(seed)
    sp = len(xshape) - 2
    strides = strides or [1] * sp
    dil = dil or [1] * sp
    pads = pads or [0] * (2 * sp)
    m = wshape[0]
    x, w = qint(rng, xt, xshape), qint(rng, wt, wshape)
    sx = scalar(rand(rng, (), F32, 0.01, 0.03))
    zx = (qint(rng, xt, ()) // 2).astype(NPINT[xt])
    sw = rand(rng, (m,) if per_channel else (), F32, 0.005, 0.02)
    zw = (qint(rng, wt, (m,) if per_channel else ()) // 3).astype(NPINT[wt])
    yz = scalar(RANGES[yt][0] // 2 + RANGES[yt][1] // 4, NPINT[yt])
    xi = x.astype(np.int64) - zx
    wi = w.astype(np.int64) - zw.astype(np.int64).reshape((-1,) + (1,) * (len(wshape) - 1))
    acc = conv_int(xi, wi, group, strides, dil, pads, auto_pad)
    args = "x, sx, zx, w, sw, zw, sy, zy"
    extra = []
    if bias:
        b = rand(rng, (m,), np.int32, -3000, 3000)
        acc = acc + b.reshape((1, m) + (1,) * sp)
        extra.append(("b", b))
        args += ", b"
    ys = out_scale(acc * float(sx) * float(sw.max()), sy)
    consts = [("sx", sx), ("zx", zx), ("w", w), ("sw", sw), ("zw", zw), ("sy", ys),
              ("zy", yz)] + extra
    mult = multiplier(sx, sw, ys).reshape((1, -1) + (1,) * sp)
    y = as_np(requant(acc, mult, yz, yt), yt)
    kw = conv_attrs(sp, group, strides, dil, pads, auto_pad,
                    list(wshape[2:]) if kernel_shape else None)
    write_case(name, [("x", x)], ["y = QLinearConv(%s)%s" % (args, attrs(**kw))], [("y", y)],
               consts=consts)


add(qconv_case, "q_qconv_u8_basic", 801, (1, 3, 5, 5), (4, 3, 3, 3), "u8", "u8", "u8")
add(qconv_case, "q_qconv_i8_pad_stride_bias", 802, (2, 2, 7, 6), (3, 2, 3, 3), "i8", "i8", "i8",
    strides=[2, 2], pads=[1, 1, 1, 1], bias=True, kernel_shape=True)


add(qconv_case, "q_qconv_grouped_perchannel", 803, (1, 4, 6, 6), (6, 2, 3, 3), "u8", "i8", "u8",
    group=2, per_channel=True, bias=True, pads=[1, 0, 1, 2])


add(qconv_case, "q_qconv_depthwise", 804, (1, 3, 6, 5), (3, 1, 3, 3), "u8", "u8", "u8", group=3,
    per_channel=True, pads=[1, 1, 1, 1], bias=True)


add(qconv_case, "q_qconv_dilated", 805, (1, 2, 8, 7), (2, 2, 3, 2), "i8", "i8", "u8", dil=[2, 3],
    strides=[1, 2])


add(qconv_case, "q_qconv_same_upper", 806, (1, 2, 6, 5), (3, 2, 2, 3), "u8", "i8", "i8",
    strides=[2, 2], auto_pad="SAME_UPPER", bias=True)


add(qconv_case, "q_qconv_same_lower", 807, (1, 2, 5, 6), (2, 2, 4, 3), "i8", "u8", "u8",
    strides=[1, 2], auto_pad="SAME_LOWER", per_channel=True)


add(qconv_case, "q_qconv_valid", 808, (1, 1, 7, 7), (2, 1, 3, 3), "u8", "u8", "u8", strides=[2, 3],
    auto_pad="VALID")


add(qconv_case, "q_qconv_1d", 809, (2, 3, 11), (4, 3, 3), "u8", "i8", "u8", strides=[2], pads=[2,
    1], bias=True, per_channel=True)


add(qconv_case, "q_qconv_3d", 810, (1, 2, 4, 4, 3), (2, 2, 2, 2, 2), "i8", "i8", "i8", pads=[1, 0,
    0, 0, 1, 1], bias=True)


add(qconv_case, "q_qconv_saturate", 811, (1, 2, 4, 4), (2, 2, 2, 2), "u8", "i8", "u8", sy=0.0005,
    bias=True)


def convint_case(name, seed, xshape, wshape, xt, wt, zx_mode="none", zw_mode="none", group=1,
                 strides=None, dil=None, pads=None, auto_pad="NOTSET"):
    rng = np.random.default_rng(seed)
    sp = len(xshape) - 2
    strides = strides or [1] * sp
    dil = dil or [1] * sp
    pads = pads or [0] * (2 * sp)
    m = wshape[0]
    x, w = qint(rng, xt, xshape), qint(rng, wt, wshape)
    xi, wi = x.astype(np.int64), w.astype(np.int64)
    args, consts = ["x", "w"], [("w", w)]
    if zx_mode != "none":
        zx = qint(rng, xt, ())
        xi = xi - zx
        consts.append(("zx", zx))
    if zw_mode != "none":
        zw = qint(rng, wt, (m,) if zw_mode == "vec" else ())
        wi = wi - zw.astype(np.int64).reshape((-1,) + (1,) * (len(wshape) - 1))
        consts.append(("zw", zw))
    if zw_mode != "none":
        args += ["zx" if zx_mode != "none" else "_", "zw"]
    elif zx_mode != "none":
        args.append("zx")
    y = conv_int(xi, wi, group, strides, dil, pads, auto_pad).astype(np.int32)
    kw = conv_attrs(sp, group, strides, dil, pads, auto_pad)
    write_case(name, [("x", x)], ["y = ConvInteger(%s)%s" % (", ".join(args), attrs(**kw))],
               [("y", y)], consts=consts)


add(convint_case, "q_convint_u8_xzp", 901, (1, 2, 5, 5), (3, 2, 3, 3), "u8", "u8", "scalar")
add(convint_case, "q_convint_i8_perchannel", 902, (2, 4, 5, 4), (4, 2, 2, 2), "i8", "i8",
    "scalar", "vec", group=2, strides=[2, 1], pads=[1, 1, 0, 1])
add(convint_case, "q_convint_1d_nozp", 903, (1, 3, 9), (2, 3, 4), "u8", "i8", dil=[2])
add(convint_case, "q_convint_same", 904, (1, 1, 5, 5), (2, 1, 3, 3), "u8", "u8", "none",
    "scalar", auto_pad="SAME_UPPER", strides=[2, 2])


# ---- QLinearAdd / QLinearMul (com.microsoft) -------------------------------------------


def qbin_case(name, seed, op, ashape, bshape, qt, with_za=True, with_zb=True, with_zc=True,
              sc=None):
    rng = np.random.default_rng(seed)
    a, b = qint(rng, qt, ashape), qint(rng, qt, bshape)
    sa, sb = scalar(rand(rng, (), F32, 0.01, 0.05)), scalar(rand(rng, (), F32, 0.01, 0.05))
    za = (qint(rng, qt, ()) // 2).astype(NPINT[qt])
    zb = (qint(rng, qt, ()) // 2).astype(NPINT[qt])
    zc = (qint(rng, qt, ()) // 2).astype(NPINT[qt])
    da = dequantize(a, sa, za if with_za else 0)
    db = dequantize(b, sb, zb if with_zb else 0)
    r = (da + db if op == "QLinearAdd" else da * db).astype(F32)
    scs = out_scale(r, sc)
    y = as_np(quantize(r, scs, zc if with_zc else 0, qt), qt)
    consts = [("sa", sa), ("sb", sb), ("sc", scs)]
    consts += [("za", za)] if with_za else []
    consts += [("zb", zb)] if with_zb else []
    consts += [("zc", zc)] if with_zc else []
    args = ["a", "sa", "za" if with_za else "_", "b", "sb", "zb" if with_zb else "_", "sc"]
    if with_zc:
        args.append("zc")
    write_case(name, [("a", a), ("b", b)], ["y = %s(%s)" % (op, ", ".join(args))], [("y", y)],
               consts=consts)


add(qbin_case, "q_qadd_u8", 1001, "QLinearAdd", (3, 5), (3, 5), "u8")
add(qbin_case, "q_qadd_i8_broadcast", 1002, "QLinearAdd", (2, 3, 4), (3, 1), "i8")
add(qbin_case, "q_qadd_u8_nozp", 1003, "QLinearAdd", (4,), (2, 4), "u8", with_za=False,
    with_zc=False)


add(qbin_case, "q_qadd_saturate", 1004, "QLinearAdd", (4, 4), (4, 4), "i8", sc=0.002)
add(qbin_case, "q_qmul_u8_broadcast", 1005, "QLinearMul", (2, 1, 5), (3, 1), "u8")
add(qbin_case, "q_qmul_i8", 1006, "QLinearMul", (3, 6), (6,), "i8", with_zb=False)


# ---- symbolic batch ----


@case
def q_sym_qconv():
    qconv_case("q_sym_qconv", 1101, (2, 2, 5, 5), (3, 2, 3, 3), "u8", "i8", "u8", pads=[1] * 4,
               bias=True, per_channel=True)
    make_batched("q_sym_qconv", ["x"])


@case
def q_sym_qadd():
    qbin_case("q_sym_qadd", 1102, "QLinearAdd", (3, 4), (3, 1), "i8")
    make_batched("q_sym_qadd", ["a", "b"])


@case
def q_sym_dynamic():
    dynamic_case("q_sym_dynamic", 1103, (2, 5), -1.0, 1.0)
    make_batched("q_sym_dynamic", ["x"])


@case
def q_sym_quant_block():
    quant_case("q_sym_quant_block", 1104, (3, 5), "i8", block=2, scale_shape=(3, 3))
    make_batched("q_sym_quant_block", ["x"])


# ---- errors ---------------------------------------------------------------------------


def error_case(name, inputs, body, consts, message):
    """A graph inference must reject, with `message` in the error."""
    write_case(name, inputs, body, [("y", None)], consts=consts, expect_error=message)


X23 = [("x", np.ones((2, 3), F32))]
S01, S3, U8Z = ("s", scalar(0.1)), ("s", np.full(3, 0.1, F32)), ("z", scalar(1, np.uint8))
XC = [("x", np.ones((1, 2, 5, 5), np.uint8))]
W3 = ("w", np.ones((3, 2, 3, 3), np.uint8))
add(error_case, "q_err_axis_count", X23, ["y = QuantizeLinear(x, s, z)"],
    [("s", np.full(4, 0.1, F32)), ("z", np.zeros(4, np.uint8))],
    "per-axis scale has 4 entries but x f32[2,3] has 3 along axis 1")
add(error_case, "q_err_zp_dtype", X23, ["y = QuantizeLinear(x, s, z) {output_dtype=3}"],
    [S01, U8Z], "zero point dtype u8 does not match output_dtype i8")
add(error_case, "q_err_dequant_zp_dtype", [("x", np.ones((2, 3), np.int8))],
    ["y = DequantizeLinear(x, s, z)"], [S01, U8Z], "zero point dtype u8 does not match i8")
add(error_case, "q_err_block_shape", [("x", np.ones((2, 7), F32))],
    ["y = QuantizeLinear(x, s) {block_size=3}"], [("s", np.full((2, 2), 0.1, F32))],
    "block_size 3 on axis 1 (dim 1 should be 3)")
add(error_case, "q_err_zp_shape", X23, ["y = QuantizeLinear(x, s, z)"], [S3, U8Z],
    "zero point shape u8[] differs from scale shape f32[3]")
add(error_case, "q_err_scale_dtype", X23, ["y = QuantizeLinear(x, s)"],
    [("s", scalar(0.1, np.float64))], "y_scale must be f32, not f64")
add(error_case, "q_err_axis_range", X23, ["y = QuantizeLinear(x, s) {axis=2}"], [S3],
    "axis 2 out of range for rank 2")
add(error_case, "q_err_output_dtype", X23, ["y = QuantizeLinear(x, s) {output_dtype=4}"], [S01],
    "output_dtype 4 is not supported")
add(error_case, "q_err_fp8_zp", X23,
    [raw_const("z", "f8e4m3fn", (), [0.5]), "y = QuantizeLinear(x, s, z)"], [S01],
    "zero point must be 0 for f8e4m3fn")
add(error_case, "q_err_qmatmul_bscale",
    [("a", np.ones((2, 3), np.uint8)), ("b", np.ones((3, 4), np.uint8))],
    ["y = QLinearMatMul(a, s, z, b, sb, z, s, z)"], [S01, U8Z, ("sb", np.full(3, 0.1, F32))],
    "b_scale must be a scalar or have one entry per column of b (4), got f32[3]")
add(error_case, "q_err_mmint_inner",
    [("a", np.ones((2, 3), np.int8)), ("b", np.ones((4, 2), np.int8))],
    ["y = MatMulInteger(a, b)"], [], "inner dims of i8[2,3] and i8[4,2] differ")
add(error_case, "q_err_qconv_group", [("x", np.ones((1, 4, 5, 5), np.uint8))],
    ["y = QLinearConv(x, s, z, w, s, z, s, z)"], [S01, U8Z, W3],
    "channels do not fit group 1")
add(error_case, "q_err_qconv_bias", XC, ["y = QLinearConv(x, s, z, w, s, z, s, z, b)"],
    [S01, U8Z, W3, ("b", np.ones(3, np.int64))], "bias must be i32[3], got i64[3]")
add(error_case, "q_err_qconv_wscale", XC, ["y = QLinearConv(x, s, z, w, ws, z, s, z)"],
    [S01, U8Z, W3, ("ws", np.full(2, 0.1, F32))],
    "w_scale must be a scalar or have one entry per output channel (3)")
add(error_case, "q_err_qadd_dtype",
    [("a", np.ones((2,), np.uint8)), ("b", np.ones((2,), np.int8))],
    ["y = QLinearAdd(a, s, _, b, s, _, s)"], [S01], "B dtype i8 does not match A dtype u8")


def main():
    np.seterr(over="ignore")   # the saturation cases divide huge values on purpose
    # regenerate from scratch so renamed or dropped cases leave nothing behind
    root = opgen.ROOT
    for d in os.listdir(root) if os.path.isdir(root) else []:
        if d.startswith("q_"):
            shutil.rmtree(os.path.join(root, d))
    names = set()
    for name, fn in CASES:
        assert name not in names and name.startswith("q_"), name
        names.add(name)
        fn()
    print("wrote %d q_* cases" % len(CASES))


if __name__ == "__main__":
    main()
