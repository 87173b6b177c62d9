#!/usr/bin/python3
"""Op cases for the 'tensor' group: elementwise math, Cast and the shape /
data-movement ops. Writes tests/ops/cases/t_*.

Expected outputs follow the ONNX operator spec, computed with numpy and plain
Python independently of qcomp's C kernels: float math in float64 then rounded
to the output type; bf16 and fp8 rounding by nearest-value search over the
table of every representable value (ties to the even code); integer math on
Python ints, wrapped to the output width. Graph inputs and outputs use npy
dtypes only, so bf16 / fp8 / int4 are reached through Cast chains.

Run:  /usr/bin/python3 tests/ops/gen_tensor.py
"""
import bisect
import math
import os
import shutil
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opgen  # noqa: E402

F32, F16, F64 = np.float32, np.float16, np.float64
I8, U8, I16, I32, I64 = np.int8, np.uint8, np.int16, np.int32, np.int64
ONNX = {"f32": 1, "u8": 2, "i8": 3, "i16": 5, "i32": 6, "i64": 7, "bool": 9, "f16": 10,
        "f64": 11, "bf16": 16, "e4m3": 17, "e5m2": 19, "u4": 21, "i4": 22}

CASES = []   # (name, fn(name)) in generation order


def case(fn):
    CASES.append((fn.__name__, fn))
    return fn


def table(fn, rows):
    """Registers one case per row: fn(name, *row[1:])."""
    for row in rows:
        CASES.append((row[0], lambda name, args=row[1:]: fn(name, *args)))


def rng_for(name):
    """A generator seeded from the case name: fixed per case, independent of order."""
    return np.random.default_rng(zlib.crc32(name.encode()))


def write_sym(name, inputs, body, outputs, consts=(), sym=(), **kw):
    """write_case, then declares graph batch N and makes dim 0 of the inputs
    named in `sym` symbolic. The npy inputs keep the concrete size."""
    opgen.write_case(name, inputs, body, outputs, consts=consts, **kw)
    path = os.path.join(opgen.ROOT, name, "model.qcir")
    lines = open(path).read().split("\n")
    for i, line in enumerate(lines):
        if line.startswith("graph "):
            lines[i] = "graph %s batch N {" % name
        for n in sym:
            prefix = "  input %s: " % n
            if line.startswith(prefix):
                dt, dims = line[len(prefix):].split("[", 1)
                rest = dims.split(",", 1)[1] if "," in dims else "]"
                lines[i] = prefix + dt + "[N" + ("," + rest if "," in dims else rest)
    with open(path, "w") as f:
        f.write("\n".join(lines))


# ---- reference number formats ------------------------------------------------


def wrap(values, dtype):
    """Python ints -> dtype with two's complement wrap-around."""
    info = np.iinfo(dtype)
    span = int(info.max) - int(info.min) + 1
    if isinstance(values, np.ndarray):   # (a list may hold ints beyond int64: keep them exact)
        shape, values = values.shape, values.ravel().tolist()
    else:
        shape = (len(values),)
    flat = [((int(v) - int(info.min)) % span) + int(info.min) for v in values]
    return np.array(flat, dtype=dtype).reshape(shape)


def small_float_table(ebits, mbits, bias, top_code):
    """Values of codes 0..top_code of a small float format, plus the value the
    next code would have (the overflow candidate), as float64."""
    vals = []
    for code in range(top_code + 2):
        e, m = code >> mbits, code & ((1 << mbits) - 1)
        if e == 0:
            vals.append(m * 2.0 ** (1 - bias - mbits))
        else:
            vals.append((1 + m / 2.0 ** mbits) * 2.0 ** (e - bias))
    return vals


E4M3_TABLE = small_float_table(4, 3, 7, 0x7E)    # max 448 = 0x7E; 0x7F is NaN
E5M2_TABLE = small_float_table(5, 2, 15, 0x7B)   # max 57344 = 0x7B; 0x7C is inf


def nearest_code(a, table):
    """Index of the table value nearest a >= 0, ties to the even index (the
    even code: the last mantissa bit). May return len(table) - 1: overflow."""
    if a >= table[-1]:
        return len(table) - 1
    i = bisect.bisect_left(table, a)
    if table[i] == a:
        return i
    dlo, dhi = a - table[i - 1], table[i] - a
    if dlo != dhi:
        return i - 1 if dlo < dhi else i
    return i - 1 if (i - 1) % 2 == 0 else i


def to_fp8(x, kind, saturate=True):
    """f32 array -> values of fp8 e4m3fn / e5m2 (as f32), per the ONNX Cast table."""
    table = E4M3_TABLE if kind == "e4m3" else E5M2_TABLE
    top = len(table) - 2
    out = []
    for v in np.ravel(x).astype(np.float64):
        if math.isnan(v):
            out.append(math.nan)
            continue
        code = nearest_code(abs(v), table) if math.isfinite(v) else top + 1
        if code > top:   # rounds past the largest finite value
            r = table[top] if saturate else (math.nan if kind == "e4m3" else math.inf)
        else:
            r = table[code]
        out.append(-r if v < 0 or (v == 0 and math.copysign(1, v) < 0) else r)
    return np.array(out, dtype=np.float32).reshape(np.shape(x))


# bf16: codes 0 .. 0x7F7F are the finite positives; the overflow candidate is
# 2^128 (code 0x7F80, even, so a tie at the top rounds to inf like IEEE).
BF16_TABLE = (np.arange(0x7F80, dtype=np.uint32) << 16).view(np.float32).astype(np.float64)
BF16_TABLE = np.append(BF16_TABLE, 2.0 ** 128)


def to_bf16(x):
    out = []
    for v in np.ravel(x).astype(np.float64):
        if not math.isfinite(v):
            out.append(v)
            continue
        a = abs(v)
        i = int(np.searchsorted(BF16_TABLE, a))
        if i < len(BF16_TABLE) and BF16_TABLE[i] == a:
            code = i
        else:
            dlo, dhi = a - BF16_TABLE[i - 1], BF16_TABLE[i] - a
            code = (i - 1 if dlo < dhi else i) if dlo != dhi else (i - 1 if (i - 1) % 2 == 0 else i)
        r = math.inf if code == len(BF16_TABLE) - 1 else BF16_TABLE[code]
        out.append(math.copysign(r, v))
    return np.array(out, dtype=np.float32).reshape(np.shape(x))


def float_to_int(x, dtype):
    """ONNX leaves this open; qcomp: NaN -> 0, saturate to the range, truncate."""
    lo, hi = (-8, 7) if dtype == "i4" else (0, 15) if dtype == "u4" else (
        int(np.iinfo(dtype).min), int(np.iinfo(dtype).max))
    out = []
    for v in np.ravel(x).astype(np.float64):
        if math.isnan(v):
            out.append(0)
        elif v <= lo:
            out.append(lo)
        elif v >= hi:
            out.append(hi)
        else:
            out.append(int(v))   # int() truncates toward zero
    return out


def erf(x):
    return np.vectorize(math.erf)(np.asarray(x, dtype=np.float64))


# ---- unary --------------------------------------------------------------------


def relu(v):
    return np.maximum(v, 0)


def leaky(alpha):
    return lambda v: np.where(v < 0, np.float64(np.float32(alpha)) * v, v)


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def gelu_ref(v):
    return 0.5 * v * (1 + erf(v / math.sqrt(2)))


def gelu_tanh_ref(v):
    return 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))


def unary_case(name, op, shape, dtype, lo, hi, fn, attrs="", tol=None):
    """y = op(x) with x uniform in [lo, hi]; floats computed in f64, then rounded."""
    x = opgen.rand(rng_for(name), shape, dtype, lo, hi)
    if np.dtype(dtype).kind == "f":
        y = fn(x.astype(np.float64)).astype(dtype)
    else:
        y = fn(x).astype(dtype)
    opgen.write_case(name, [("x", x)], ["y = %s(x)%s" % (op, attrs)], [("y", y)], tol=tol)


F16_TOL = (1e-3, 1e-3)   # transcendental f16: numpy vs libm may differ by an ulp
table(unary_case, [
    ("t_relu_f32", "Relu", (2, 3, 4), F32, -1, 1, relu),
    ("t_relu_f64", "Relu", (5, 3), F64, -1, 1, relu),
    ("t_relu_f16", "Relu", (4, 6), F16, -1, 1, relu),
    ("t_relu_i32", "Relu", (3, 5), I32, -1000, 1000, relu),
    ("t_relu_i8", "Relu", (17,), I8, -128, 127, relu),
    ("t_leakyrelu_default", "LeakyRelu", (3, 7), F32, -1, 1, leaky(0.01)),
    ("t_leakyrelu_alpha", "LeakyRelu", (2, 2, 5), F32, -4, 4, leaky(0.2), " {alpha=0.2}"),
    ("t_sigmoid_f32", "Sigmoid", (4, 5), F32, -8, 8, sigmoid),
    ("t_sigmoid_f16", "Sigmoid", (4, 5), F16, -8, 8, sigmoid, "", F16_TOL),
    ("t_tanh_f32", "Tanh", (3, 8), F32, -3, 3, np.tanh),
    ("t_tanh_f64", "Tanh", (10,), F64, -3, 3, np.tanh, "", (1e-12, 1e-14)),
    ("t_erf_f32", "Erf", (2, 9), F32, -3, 3, erf),
    ("t_gelu_none", "Gelu", (3, 6), F32, -4, 4, gelu_ref),
    ("t_gelu_none_explicit", "Gelu", (2, 5), F32, -4, 4, gelu_ref, ' {approximate="none"}'),
    ("t_gelu_tanh", "Gelu", (3, 6), F32, -4, 4, gelu_tanh_ref, ' {approximate="tanh"}'),
    ("t_gelu_f16", "Gelu", (12,), F16, -3, 3, gelu_ref, "", F16_TOL),
    ("t_sqrt_f32", "Sqrt", (4, 4), F32, 0.01, 9, np.sqrt),
    ("t_sqrt_f64", "Sqrt", (7,), F64, 0.01, 100, np.sqrt, "", (0, 0)),
    ("t_exp_f32", "Exp", (3, 5), F32, -5, 5, np.exp),
])


@case
def t_exp_bf16(name):
    # f32 -> bf16 -> Exp (computed exactly, rounded once to bf16) -> f32
    x = opgen.rand(rng_for(name), (4, 4), lo=-3, hi=3)
    xb = to_bf16(x)
    y = to_bf16(np.exp(xb.astype(np.float64)))
    opgen.write_case(name, [("x", x)],
                     ["b = Cast(x) {to=16}", "e = Exp(b)", "y = Cast(e) {to=1}"], [("y", y)])


# ---- Clip ----------------------------------------------------------------------


def clip_ref(x, lo, hi):
    y = x
    if lo is not None:
        y = np.maximum(y, np.array(lo, x.dtype))
    if hi is not None:
        y = np.minimum(y, np.array(hi, x.dtype))
    return y.astype(x.dtype)


def clip_case(name, dtype, lo, hi, args, attrs="", consts=()):
    """y = Clip(x, args){attrs}; lo/hi are the bounds the spec applies (None: none)."""
    x = opgen.rand(rng_for(name), (3, 5), dtype, *((-2, 2) if dtype == F32 else (-128, 127)))
    opgen.write_case(name, [("x", x)], ["y = Clip(x%s)%s" % (args, attrs)],
                     [("y", clip_ref(x, lo, hi))], consts=consts)


def scalar(v, dtype=F32):
    return np.array(v, dtype)


table(clip_case, [
    ("t_clip_inputs", F32, -0.5, 0.75, ", lo, hi", "",
     [("lo", scalar(-0.5)), ("hi", scalar(0.75))]),
    ("t_clip_min_only", F32, 0.25, None, ", lo, _", "", [("lo", np.array([0.25], F32))]),
    ("t_clip_max_only", F32, None, -0.1, ", _, hi", "", [("hi", scalar(-0.1))]),
    ("t_clip_no_bounds", F32, None, None, ""),
    ("t_clip_attrs_opset6", F32, -0.5, 0.5, "", " {min=-0.5, max=0.5}"),
    # ONNX: when min > max every value becomes max.
    ("t_clip_min_gt_max", F32, 1.0, -1.0, ", lo, hi", "",
     [("lo", scalar(1.0)), ("hi", scalar(-1.0))]),
    ("t_clip_i8", I8, -20, 30, ", lo, hi", "", [("lo", scalar(-20, I8)), ("hi", scalar(30, I8))]),
    ("t_clip_i64", I64, None, 50, ", _, hi", "", [("hi", scalar(50, I64))]),
])


@case
def t_identity_i64(name):
    x = opgen.rand(rng_for(name), (2, 3), I64, -10 ** 15, 10 ** 15)
    opgen.write_case(name, [("x", x)], ["y = Identity(x)"], [("y", x)])


@case
def t_identity_bool(name):
    x = rng_for(name).integers(0, 2, size=(3, 3)).astype(bool)
    x[0, 0] = True
    opgen.write_case(name, [("x", x)], ["y = Identity(x)"], [("y", x)])


# ---- binary --------------------------------------------------------------------


def float_binary(name, op, fn, sa, sb, dtype=F32, lo=-2.0, hi=2.0, tol=None, b_lo=None):
    r = rng_for(name)
    a = opgen.rand(r, sa, dtype, lo, hi)
    b = opgen.rand(r, sb, dtype, lo if b_lo is None else b_lo, hi)
    y = fn(a.astype(np.float64), b.astype(np.float64)).astype(dtype)
    opgen.write_case(name, [("a", a), ("b", b)], ["y = %s(a, b)" % op], [("y", y)], tol=tol)


table(float_binary, [
    ("t_add_f32", "Add", np.add, (3, 4), (3, 4)),
    ("t_add_bcast_last", "Add", np.add, (2, 3, 4), (4,)),
    ("t_add_bcast_mid", "Add", np.add, (2, 1, 4), (3, 1)),
    ("t_add_bcast_both", "Add", np.add, (3, 1, 5), (1, 4, 1)),
    ("t_add_scalar", "Add", np.add, (2, 5), ()),
    ("t_add_f16", "Add", np.add, (4, 5), (5,), F16),
    ("t_sub_bcast", "Sub", np.subtract, (1, 6), (4, 1)),
    ("t_sub_f64", "Sub", np.subtract, (2, 3, 2), (3, 2), F64, -2, 2, (0, 0)),
    ("t_mul_bcast", "Mul", np.multiply, (2, 3, 1, 2), (3, 4, 1)),
    ("t_mul_f16", "Mul", np.multiply, (6,), (1,), F16),
    ("t_div_f32", "Div", np.divide, (4, 3), (3,), F32, -2, 2, None, 0.5),
    ("t_div_f64", "Div", np.divide, (5,), (5,), F64, -2, 2, (0, 0), 0.25),
    ("t_pow_f32", "Pow", np.power, (3, 4), (4,), F32, 0.1, 3.0),
])


@case
def t_pow_f32_int_exp(name):
    r = rng_for(name)
    a = opgen.rand(r, (2, 5), F32, -3, 3)
    e = np.array([0, 1, 2, 3, -2], I64)
    y = (a.astype(np.float64) ** e.astype(np.float64)).astype(F32)
    opgen.write_case(name, [("a", a)], ["y = Pow(a, e)"], [("y", y)], consts=[("e", e)])


@case
def t_div_bf16(name):
    r = rng_for(name)
    a = opgen.rand(r, (3, 4), F32, -4, 4)
    b = opgen.rand(r, (4,), F32, 0.5, 3)
    y = to_bf16(to_bf16(a).astype(np.float64) / to_bf16(b).astype(np.float64))
    opgen.write_case(name, [("a", a), ("b", b)],
                     ["ab = Cast(a) {to=16}", "bb = Cast(b) {to=16}", "q = Div(ab, bb)",
                      "y = Cast(q) {to=1}"], [("y", y)])


def int_binary(name, op, fn, sa, sb, dtype, lo, hi, b_nonzero=False):
    r = rng_for(name)
    a = opgen.rand(r, sa, dtype, lo, hi)
    b = opgen.rand(r, sb, dtype, lo, hi)
    if b_nonzero:
        b[b == 0] = 3
    ab, bb = np.broadcast_arrays(a, b)
    y = wrap([fn(int(p), int(q)) for p, q in zip(ab.ravel(), bb.ravel())], dtype)
    opgen.write_case(name, [("a", a), ("b", b)], ["y = %s(a, b)" % op],
                     [("y", y.reshape(ab.shape))])


def trunc_div(p, q):
    m = abs(p) // abs(q)
    return m if (p < 0) == (q < 0) else -m


table(int_binary, [
    ("t_add_i8_wrap", "Add", lambda p, q: p + q, (4, 5), (5,), I8, 60, 127),
    ("t_add_u8_wrap", "Add", lambda p, q: p + q, (3, 6), (3, 1), U8, 100, 255),
    ("t_sub_i16", "Sub", lambda p, q: p - q, (2, 7), (7,), I16, -32768, 32767),
    ("t_sub_u8_wrap", "Sub", lambda p, q: p - q, (8,), (8,), U8, 0, 255),
    ("t_mul_i32", "Mul", lambda p, q: p * q, (3, 4), (1, 4), I32, -100000, 100000),
    ("t_mul_i64_wrap", "Mul", lambda p, q: p * q, (6,), (6,), I64, -2 ** 40, 2 ** 40),
    ("t_div_i32_trunc", "Div", trunc_div, (4, 5), (5,), I32, -50, 50, True),
    ("t_div_u8", "Div", trunc_div, (3, 4), (4,), U8, 0, 255, True),
])


@case
def t_div_i8_edges(name):
    a = np.array([-128, -128, 127, -7, 7, -7, 7, 0, 1, -1], I8)
    b = np.array([-1, 1, -1, 2, -2, -2, 2, 5, -128, 127], I8)
    y = wrap([trunc_div(int(p), int(q)) for p, q in zip(a, b)], I8)
    opgen.write_case(name, [("a", a), ("b", b)], ["y = Div(a, b)"], [("y", y)])


@case
def t_div_i64_edges(name):
    a = np.array([-2 ** 63, -2 ** 63, 2 ** 63 - 1, -9, 9, 10 ** 18], I64)
    b = np.array([-1, 2, -2, 4, -4, 7], I64)
    y = wrap([trunc_div(int(p), int(q)) for p, q in zip(a, b)], I64)
    opgen.write_case(name, [("a", a), ("b", b)], ["y = Div(a, b)"], [("y", y)])


@case
def t_pow_i32(name):
    r = rng_for(name)
    a = opgen.rand(r, (3, 4), I32, -9, 9)
    e = np.array([0, 1, 3, 7], I32)
    ab, eb = np.broadcast_arrays(a, e)
    y = wrap([int(p) ** int(q) for p, q in zip(ab.ravel(), eb.ravel())], I32).reshape(ab.shape)
    opgen.write_case(name, [("a", a), ("e", e)], ["y = Pow(a, e)"], [("y", y)])


@case
def t_pow_i64_neg_exp(name):
    # Integer base, negative integer exponent: trunc(1 / a^-e) is 0 unless |a| == 1.
    a = np.array([1, -1, -1, 2, -3, 5], I64)
    e = np.array([-3, -3, -2, -1, -2, 2], I64)
    y = np.array([1, -1, 1, 0, 0, 25], I64)
    opgen.write_case(name, [("a", a), ("e", e)], ["y = Pow(a, e)"], [("y", y)])


@case
def t_pow_i64_float_exp(name):
    # Integer base, float exponent: pow in double, then truncated like Cast.
    a = np.array([2, 3, 10, 7, -8, 100], I64)
    e = np.array([0.5, 2.5, -1.0, 1.5, 1.0, 3.0], F32)
    y = np.array(float_to_int(a.astype(np.float64) ** e.astype(np.float64), I64), I64)
    opgen.write_case(name, [("a", a), ("e", e)], ["y = Pow(a, e)"], [("y", y)])


# ---- Cast ---------------------------------------------------------------------

SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 2.7, -2.7, 0.5, -0.5, 1e-8, 3e4, -3e4, 7e4,
                    np.inf, -np.inf, np.nan], F32)


FP8_PROBES = np.array([0.0, -0.0, 448, 449, 464, 465, 480, 500, -470, 1e6, np.inf, -np.inf,
                       np.nan, 2.0 ** -9, 2.0 ** -10, 1.5 * 2.0 ** -10, 0.3, -1.0625, 1.0625,
                       1.1875, 57344, 60000, 61439, 61440, 70000, 2.0 ** -16, 2.0 ** -17,
                       3 * 2.0 ** -18, 17.0, 19.0], F32)


def cast_case(name, probes, dtype, rand, chain, ref, attrs=""):
    """x = probes (as dtype) + `rand` = (count, lo, hi) random values; then a
    chain of Casts to the ONNX types named in `chain` (the first one gets
    attrs). The expected output is ref(x), which must be exact."""
    x = np.array(probes, dtype)
    if rand:
        x = np.concatenate([x, opgen.rand(rng_for(name), (rand[0],), dtype, rand[1], rand[2])])
    body, src = [], "x"
    for i, to in enumerate(chain):
        dst = "y" if i == len(chain) - 1 else "c%d" % i
        body.append("%s = Cast(%s) {to=%d%s}" % (dst, src, ONNX[to], attrs if i == 0 else ""))
        src = dst
    opgen.write_case(name, [("x", x)], body, [("y", ref(x))], tol=(0, 0))


def ints(dtype, kind=None):
    """Reference float -> int Cast, as an array of dtype."""
    return lambda x: np.array(float_to_int(x, kind or dtype), dtype)


BIG_I32 = [3e9, -3e9, 2147483520.0, -2147483648.0]
F16_EDGES = [65504, 65519.99, 65520, 1e-7, 3e-8, 2.98e-8, 1.00048828125, 1.00146484375]
# Just above / at f16 ties: rounding through f32 first would land on the tie.
F64_F16_TIES = [1 + 2.0 ** -11 + 2.0 ** -40, 1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11,
                1 + 3 * 2.0 ** -11 - 2.0 ** -40, 65519.999999, -2.0 ** -25 - 2.0 ** -50]
BF16_EDGES = [1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8, -(1 + 2.0 ** -8), 3.3895313892515355e38,
              3.3961775292304957e38, 3.4e38, 1e-40, 9.2e-41, np.nan, np.inf, -0.0]
table(cast_case, [
    # float -> int: NaN -> 0, saturate, truncate
    ("t_cast_f32_i32", SPECIAL.tolist() + BIG_I32, F32, (8, -1000, 1000), ["i32"], ints(I32)),
    ("t_cast_f32_u8", SPECIAL, F32, (10, -50, 300), ["u8"], ints(U8)),
    ("t_cast_f32_i8", SPECIAL, F32, (10, -200, 200), ["i8"], ints(I8)),
    ("t_cast_f32_i16", SPECIAL, F32, (6, -4e4, 4e4), ["i16"], ints(I16)),
    ("t_cast_f64_i64", [1e19, -1e19, 9.2233720368547748e18, -9.2233720368547758e18, 123.9,
                        -123.9, np.nan, np.inf, -np.inf, 0.0], F64, None, ["i64"], ints(I64)),
    ("t_cast_f32_i4", [7.9, 8.0, -8.5, -9, 3.7, -3.7, np.nan, np.inf], F32, (9, -10, 10),
     ["i4", "f32"], ints(F32, "i4")),
    ("t_cast_f32_u4", [15.5, 16.0, -0.5, -3, 3.7, np.nan], F32, (7, -2, 18), ["u4", "i64"],
     ints(I64, "u4")),
    # int -> int: wraps, except 4-bit targets, which clamp
    ("t_cast_i32_i8_wrap", [127, 128, 255, 256, -129, -2 ** 31, 2 ** 31 - 1], I32,
     (8, -100000, 100000), ["i8"], lambda x: wrap(x, I8)),
    ("t_cast_i64_u8_wrap", [-1, 256, 2 ** 40 + 7, -2 ** 63], I64, (6, -1000, 1000), ["u8"],
     lambda x: wrap(x, U8)),
    ("t_cast_u8_i16", [0, 255], U8, (10, 0, 255), ["i16"], lambda x: x.astype(I16)),
    ("t_cast_i8_i4_clamp", list(range(-20, 21, 3)), I8, None, ["i4", "i8"],
     lambda x: np.clip(x, -8, 7)),
    ("t_cast_i32_u4_clamp", [-5, 0, 3, 15, 16, 1000, 9], I32, None, ["u4", "i32"],
     lambda x: np.clip(x, 0, 15)),
    ("t_cast_i4_f16", [-8, 7, 0, -1], I8, (5, -8, 7), ["i4", "f16"], lambda x: x.astype(F16)),
    # int -> float: round to nearest even, once
    ("t_cast_i32_f32", [0, 1, -1, 16777217, -16777219, 2 ** 31 - 1, -2 ** 31, 123456789], I32,
     None, ["f32"], lambda x: np.array([float(v) for v in x], F32)),
    ("t_cast_i64_f64", [2 ** 53 + 1, -(2 ** 62) - 1, 2 ** 63 - 1, 42], I64, None, ["f64"],
     lambda x: np.array([float(int(v)) for v in x], F64)),
    ("t_cast_i64_f16", [0, 1, -3, 2049, 2051, 65504, 65519, 65520, -70000, 12345], I64, None,
     ["f16"], lambda x: x.astype(np.float64).astype(F16)),
    # float -> float (numpy's f16 / f32 conversions round correctly)
    ("t_cast_f32_f16", SPECIAL.tolist() + F16_EDGES, F32, (8, -100, 100), ["f16"],
     lambda x: x.astype(F16)),
    ("t_cast_f16_f32", [65504, -0.0], F16, (14, -1000, 1000), ["f32"], lambda x: x.astype(F32)),
    ("t_cast_f64_f32", [1e300, -1e300, 1e-300, 0.1, 1 + 2.0 ** -24, 1 + 3 * 2.0 ** -24, np.nan,
                        np.inf], F64, (6, -1e6, 1e6), ["f32"], lambda x: x.astype(F32)),
    ("t_cast_f64_f16", F64_F16_TIES, F64, None, ["f16"], lambda x: x.astype(F16)),
    ("t_cast_bf16_roundtrip", BF16_EDGES, F32, (12, -1e5, 1e5), ["bf16", "f32"], to_bf16),
    ("t_cast_e4m3", FP8_PROBES, F32, (16, -300, 300), ["e4m3", "f32"],
     lambda x: to_fp8(x, "e4m3")),
    ("t_cast_e5m2", FP8_PROBES, F32, (16, -300, 300), ["e5m2", "f32"],
     lambda x: to_fp8(x, "e5m2")),
    ("t_cast_e4m3_nosat", FP8_PROBES, F32, (16, -300, 300), ["e4m3", "f32"],
     lambda x: to_fp8(x, "e4m3", False), ", saturate=0"),
    ("t_cast_e5m2_nosat", FP8_PROBES, F32, (16, -300, 300), ["e5m2", "f32"],
     lambda x: to_fp8(x, "e5m2", False), ", saturate=0"),
    ("t_cast_f16_e4m3", FP8_PROBES, F16, (8, -30, 30), ["e4m3", "f16"],
     lambda x: to_fp8(x.astype(F32), "e4m3").astype(F16)),
    # bool: v != 0 (NaN is true); from bool: 0 / 1
    ("t_cast_f32_bool", SPECIAL.tolist() + [1e-45, -1e-30], F32, None, ["bool"],
     lambda x: np.array([v != 0 for v in x], bool)),
    ("t_cast_bool_f32", [True, False, True, True, False], bool, None, ["f32"],
     lambda x: x.astype(F32)),
    ("t_cast_i32_bool", [0, 1, -1, 256, 7, 0], I32, None, ["bool"], lambda x: x != 0),
])


# ---- shape ops -----------------------------------------------------------------


def i64(*v):
    return np.array(v, I64)


def rand_any(name, shape, dtype, int4=False):
    """Random data for data-movement tests: any range will do, but it must
    fit dtype (and int4 when the test goes through Cast(i4))."""
    lo, hi = (-8, 7) if int4 else (0, 255) if dtype == U8 else (-99, 99)
    return opgen.rand(rng_for(name), shape, dtype, lo, hi)


def shape_case(name, x, node, y, consts=()):
    opgen.write_case(name, [("x", x)], [node], [("y", y)], consts=consts)


def int4_case(name, x, nodes, outputs, consts=(), narrow="i4"):
    """x (i8 or u8, values in the narrow type's range) -> Cast(narrow) ->
    nodes (reading `q`, writing `<out>4`) -> each output Cast back to x's type.
    narrow: i4, u4, or any other Cast target (bf16, e4m3, ...)."""
    back = {np.dtype(I8): ONNX["i8"], np.dtype(U8): ONNX["u8"], np.dtype(F32): ONNX["f32"]}
    body = ["q = Cast(x) {to=%d}" % ONNX[narrow]] + nodes
    for n, _ in outputs:
        body.append("%s = Cast(%s4) {to=%d}" % (n, n, back[x.dtype]))
    opgen.write_case(name, [("x", x)], body, list(outputs), consts=consts)


@case
def t_reshape_allowzero(name):
    x = np.zeros((0, 3), F32)
    shape_case(name, x, "y = Reshape(x, s) {allowzero=1}", x.reshape(3, 0), [("s", i64(3, 0))])


@case
def t_reshape_i4(name):
    x = opgen.rand(rng_for(name), (3, 5), I8, -8, 7)
    int4_case(name, x, ["y4 = Reshape(q, s)"], [("y", x.reshape(5, 3))], [("s", i64(5, -1))])


@case
def t_transpose_i4(name):
    x = opgen.rand(rng_for(name), (3, 5, 1), I8, -8, 7)
    int4_case(name, x, ["y4 = Transpose(q) {perm=[1, 2, 0]}"], [("y", np.transpose(x, (1, 2, 0)))])


@case
def t_transpose_u4(name):
    x = opgen.rand(rng_for(name), (3, 1, 3), U8, 0, 15)
    int4_case(name, x, ["y4 = Transpose(q)"], [("y", np.transpose(x))], narrow="u4")


@case
def t_transpose_bool(name):
    x = rng_for(name).integers(0, 2, size=(2, 3, 2)).astype(bool)
    x[0, 0, 0] = True
    shape_case(name, x, "y = Transpose(x) {perm=[2, 0, 1]}", np.transpose(x, (2, 0, 1)))


@case
def t_concat_axis0(name):
    r = rng_for(name)
    a, b = opgen.rand(r, (2, 3)), opgen.rand(r, (4, 3))
    opgen.write_case(name, [("a", a), ("b", b)], ["y = Concat(a, b) {axis=0}"],
                     [("y", np.concatenate([a, b], 0))])


@case
def t_concat_axis_neg(name):
    r = rng_for(name)
    xs = [opgen.rand(r, (2, 3, k), I64, -50, 50) for k in (1, 4, 2)]
    opgen.write_case(name, [("a", xs[0]), ("b", xs[1]), ("c", xs[2])],
                     ["y = Concat(a, b, c) {axis=-1}"], [("y", np.concatenate(xs, -1))])


@case
def t_concat_mid_many(name):
    r = rng_for(name)
    xs = [opgen.rand(r, (2, k, 3), F16) for k in (1, 2, 3, 1, 2)]
    names = "abcde"
    opgen.write_case(name, list(zip(names, xs)),
                     ["y = Concat(%s) {axis=1}" % ", ".join(names)],
                     [("y", np.concatenate(xs, 1))])


@case
def t_concat_single(name):
    x = opgen.rand(rng_for(name), (3, 2), U8, 0, 255)
    shape_case(name, x, "y = Concat(x) {axis=1}", x)


@case
def t_concat_i4(name):
    x = opgen.rand(rng_for(name), (3, 3), I8, -8, 7)
    c = np.array([[1, -2, 7], [0, -8, 3]], I8)
    body = ["c4 = Cast(c) {to=22}", "y4 = Concat(q, c4, q) {axis=0}"]
    int4_case(name, x, body, [("y", np.concatenate([x, c, x], 0))], [("c", c)])


def split_case(name, x, node, parts, consts=()):
    outs = [("y%d" % i, p) for i, p in enumerate(parts)]
    lhs = ", ".join(n for n, _ in outs)
    opgen.write_case(name, [("x", x)], ["%s = %s" % (lhs, node)], outs, consts=consts)


@case
def t_split_input_sizes(name):
    x = opgen.rand(rng_for(name), (2, 7))
    split_case(name, x, "Split(x, s) {axis=1}", np.split(x, [2, 7], 1),
               [("s", i64(2, 5, 0))])


@case
def t_split_attr(name):
    x = opgen.rand(rng_for(name), (6, 2), I32, -9, 9)
    split_case(name, x, "Split(x) {axis=0, split=[1, 2, 3]}", np.split(x, [1, 3], 0))


@case
def t_split_equal(name):
    x = opgen.rand(rng_for(name), (2, 3, 6))
    split_case(name, x, "Split(x) {axis=2}", np.split(x, 3, 2))


@case
def t_split_num_outputs(name):
    # Opset 18: ceil(7 / 3) = 3 per chunk, the last gets the remaining 1.
    x = opgen.rand(rng_for(name), (7, 2))
    split_case(name, x, "Split(x) {num_outputs=3}", np.split(x, [3, 6], 0))


@case
def t_split_neg_axis(name):
    x = opgen.rand(rng_for(name), (3, 4), I8, -100, 100)
    split_case(name, x, "Split(x, s) {axis=-1}", np.split(x, [1], -1), [("s", i64(1, 3))])


@case
def t_split_i4(name):
    x = opgen.rand(rng_for(name), (3, 5), I8, -8, 7)
    int4_case(name, x, ["a4, b4 = Split(q) {axis=1, split=[2, 3]}"],
              [("a", x[:, :2]), ("b", x[:, 2:])])


def onnx_slice(x, starts, ends, axes=None, steps=None):
    """Slice per the ONNX spec: negative indices count from the end, then
    starts/ends are clamped ([0, d] for steps > 0, [0, d-1] / [-1, d-1] for
    steps < 0)."""
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    index = [np.arange(d) for d in x.shape]
    for s, e, a, st in zip(starts, ends, axes, steps):
        d = x.shape[a]
        s = s + d if s < 0 else s
        e = e + d if e < 0 else e
        if st > 0:
            s, e = min(max(s, 0), d), min(max(e, 0), d)
        else:
            s, e = min(max(s, 0), d - 1), min(max(e, -1), d - 1)
        index[a] = np.array(list(range(s, e, st)), dtype=np.int64)
    return x[np.ix_(*index)]


def slice_case(name, x, starts, ends, axes=None, steps=None, int4=False):
    consts = [("st", i64(*starts)), ("en", i64(*ends))]
    args = "st, en"
    if axes is not None:
        consts.append(("ax", i64(*axes)))
        args += ", ax"
    elif steps is not None:
        args += ", _"
    if steps is not None:
        consts.append(("sp", i64(*steps)))
        args += ", sp"
    y = onnx_slice(x, starts, ends, axes, steps)
    if int4:
        int4_case(name, x, ["y4 = Slice(q, %s)" % args], [("y", y)], consts)
    else:
        shape_case(name, x, "y = Slice(x, %s)" % args, y, consts)


def slice_rand(name, shape, dtype, *args, **kw):
    slice_case(name, rand_any(name, shape, dtype, kw.get("int4")), *args, **kw)


table(slice_rand, [   # name, shape, dtype, starts, ends[, axes[, steps]]
    ("t_slice_basic", (4, 5), F32, [1, 0], [3, 4]),
    ("t_slice_negative_idx", (4, 6), F32, [-3, -5], [-1, 6]),
    ("t_slice_clamp", (3, 4), I32, [-100, 2], [2 ** 63 - 1, 1000], [0, 1]),
    ("t_slice_axes_steps", (5, 4, 7), F32, [0, 1], [7, 5], [-1, 0], [2, 3]),
    ("t_slice_neg_step", (3, 6), F32, [-1], [-2 ** 63], [1], [-1]),
    ("t_slice_neg_step2", (7, 2), I16, [100, 1], [0, -100], [0, 1], [-2, -1]),
    ("t_slice_empty", (4, 3), F32, [3], [1], [0]),
    ("t_slice_huge_step", (4, 3), F32, [1, 2], [4, -4], [0, 1], [2 ** 63 - 1, -2 ** 63]),
    ("t_slice_no_axes_steps", (6, 5), U8, [5, 4], [0, -6], None, [-2, -3]),
])
CASES.append(("t_slice_i4", lambda name: slice_rand(name, (5, 3), I8, [1, -1], [5, -4], [0, 1],
                                                    [2, -1], int4=True)))


def gather_case(name, x, idx, axis, int4=False):
    y = np.take(x, idx, axis=axis)
    node = "Gather(%s, ix) {axis=%d}" % ("q" if int4 else "x", axis)
    if int4:
        int4_case(name, x, ["y4 = " + node], [("y", y)], [("ix", idx)])
    else:
        shape_case(name, x, "y = " + node, y, [("ix", idx)])


def gather_rand(name, shape, dtype, idx, axis, int4=False):
    gather_case(name, rand_any(name, shape, dtype, int4), idx, axis, int4)


table(gather_rand, [
    ("t_gather_axis0", (5, 3), F32, i64(4, 0, 2, 2), 0),
    ("t_gather_axis1_neg", (2, 4, 3), I32, i64(-1, 0, -4), 1),
    ("t_gather_scalar_index", (3, 4), F32, np.array(-2, I64), 1),
    ("t_gather_2d_indices_i32", (6, 2), F16, np.array([[0, 5, 1], [-1, 2, 2]], I32), 0),
    ("t_gather_i4", (3, 5), I8, i64(4, 1, 3), -1, True),
])


@case
def t_gather_bf16(name):
    x = to_bf16(opgen.rand(rng_for(name), (4, 3), F32, -100, 100))
    int4_case(name, x, ["y4 = Gather(q, ix) {axis=1}"], [("y", np.take(x, i64(2, -3), 1))],
              [("ix", i64(2, -3))], narrow="bf16")


@case
def t_slice_e5m2(name):
    x = to_fp8(opgen.rand(rng_for(name), (3, 4), F32, -8, 8), "e5m2")
    int4_case(name, x, ["y4 = Slice(q, st, en, ax, sp)"],
              [("y", onnx_slice(x, [-1, 0], [-10, 3], [1, 0], [-2, 1]))],
              [("st", i64(-1, 0)), ("en", i64(-10, 3)), ("ax", i64(1, 0)), ("sp", i64(-2, 1))],
              narrow="e5m2")


@case
def t_split_u4(name):
    x = opgen.rand(rng_for(name), (7,), U8, 0, 15)
    int4_case(name, x, ["a4, b4, c4 = Split(q) {num_outputs=3}"],
              [("a", x[:3]), ("b", x[3:6]), ("c", x[6:])], narrow="u4")


@case
def t_gather_runtime_indices(name):
    r = rng_for(name)
    x = opgen.rand(r, (4, 3))
    idx = np.array([3, -4, 1], I64)
    opgen.write_case(name, [("x", x), ("ix", idx)], ["y = Gather(x, ix)"],
                     [("y", np.take(x, idx, 0))])


def movement_case(name, shape, dtype, node, fn, consts=()):
    """y = node(x) on random x; fn(x) gives the expected output."""
    x = rand_any(name, shape, dtype)
    shape_case(name, x, node, fn(x), consts)


table(movement_case, [
    ("t_reshape_basic", (2, 3, 4), F32, "y = Reshape(x, s)", lambda x: x.reshape(4, 6),
     [("s", i64(4, 6))]),
    ("t_reshape_zero_copy", (2, 3, 4), F32, "y = Reshape(x, s)", lambda x: x.reshape(2, 12),
     [("s", i64(0, -1))]),
    ("t_reshape_neg1_mid", (2, 3, 4), I16, "y = Reshape(x, s)", lambda x: x.reshape(3, -1, 2),
     [("s", i64(3, -1, 2))]),
    ("t_reshape_i32_shape", (6,), I64, "y = Reshape(x, s)", lambda x: x.reshape(1, 2, 3, 1),
     [("s", np.array([1, 2, 3, 1], I32))]),
    ("t_flatten_default", (2, 3, 4), F32, "y = Flatten(x)", lambda x: x.reshape(2, 12)),
    ("t_flatten_axis0", (2, 3, 4), F32, "y = Flatten(x) {axis=0}", lambda x: x.reshape(1, 24)),
    ("t_flatten_axis_neg", (2, 3, 2, 2), U8, "y = Flatten(x) {axis=-1}",
     lambda x: x.reshape(12, 2)),
    ("t_flatten_axis_end", (2, 3, 2), F32, "y = Flatten(x) {axis=3}", lambda x: x.reshape(12, 1)),
    ("t_transpose_default", (2, 3, 4), F32, "y = Transpose(x)", np.transpose),
    ("t_transpose_perm", (2, 3, 4, 5), I32, "y = Transpose(x) {perm=[0, 2, 3, 1]}",
     lambda x: np.transpose(x, (0, 2, 3, 1))),
    ("t_transpose_f64_2d", (5, 3), F64, "y = Transpose(x) {perm=[1, 0]}", lambda x: x.T),
    ("t_squeeze_attr", (1, 3, 1, 2), F32, "y = Squeeze(x) {axes=[0, -2]}",
     lambda x: x.reshape(3, 2)),
    ("t_squeeze_input", (2, 1, 3, 1), U8, "y = Squeeze(x, ax)", lambda x: x.reshape(2, 3, 1),
     [("ax", i64(1))]),
    ("t_squeeze_all", (1, 4, 1, 1, 2), F32, "y = Squeeze(x)", lambda x: x.reshape(4, 2)),
    ("t_unsqueeze_attr", (3, 2), F32, "y = Unsqueeze(x) {axes=[0, 3]}",
     lambda x: x.reshape(1, 3, 2, 1)),
    ("t_unsqueeze_input_neg", (2, 3), I64, "y = Unsqueeze(x, ax)",
     lambda x: np.expand_dims(x, (-1, 1)), [("ax", i64(-1, 1))]),
    ("t_unsqueeze_scalar", (), F32, "y = Unsqueeze(x, ax)", lambda x: x.reshape(1),
     [("ax", i64(0))]),
])


# ---- symbolic batch: compile-time types with N, run with a concrete batch ------


@case
def t_sym_add_bcast(name):
    r = rng_for(name)
    x, b = opgen.rand(r, (3, 4)), opgen.rand(r, (4,))
    write_sym(name, [("x", x)], ["y: f32[N,4] = Add(x, b)"], [("y", x + b)], [("b", b)],
              sym=["x"])


@case
def t_sym_reshape_flatten(name):
    x = opgen.rand(rng_for(name), (2, 3, 4))
    body = ["a: f32[N,12] = Reshape(x, s0)", "b: f32[N,4,3] = Reshape(a, s1)",
            "c: f32[N,12] = Flatten(b)", "y: f32[N,6,2] = Reshape(c, s2)"]
    write_sym(name, [("x", x)], body, [("y", x.reshape(2, 6, 2))],
              [("s0", i64(0, -1)), ("s1", i64(-1, 4, 3)), ("s2", i64(0, 6, 2))], sym=["x"])


@case
def t_sym_movement(name):
    r = rng_for(name)
    x, c = opgen.rand(r, (3, 4, 2)), opgen.rand(r, (3, 1, 2))
    t = np.transpose(x, (1, 0, 2))
    cat = np.concatenate([x, c], 1)
    sl = onnx_slice(cat, [1, 0], [4, 2 ** 63 - 1], [1, 0])
    g = np.take(sl, i64(2, 0), 1)
    u = np.expand_dims(g, 1)
    body = ["t: f32[4,N,2] = Transpose(x) {perm=[1, 0, 2]}",
            "cat: f32[N,5,2] = Concat(x, c) {axis=1}",
            "sl: f32[N,3,2] = Slice(cat, st, en, ax)",
            "g: f32[N,2,2] = Gather(sl, ix) {axis=1}",
            "u: f32[N,1,2,2] = Unsqueeze(g, ua)",
            "y: f32[N,2,2] = Squeeze(u, ua)"]
    write_sym(name, [("x", x), ("c", c)], body, [("t", t), ("u", u), ("y", g)],
              [("st", i64(1, 0)), ("en", i64(4, 2 ** 63 - 1)), ("ax", i64(1, 0)),
               ("ix", i64(2, 0)), ("ua", i64(1))], sym=["x", "c"])


@case
def t_sym_split_cast(name):
    x = opgen.rand(rng_for(name), (2, 5), lo=-4, hi=4)
    body = ["a: f32[N,2], b: f32[N,3] = Split(x, s) {axis=1}",
            "y: i32[N,3] = Cast(b) {to=6}", "z: f32[N,2] = Sigmoid(a)"]
    write_sym(name, [("x", x)], body,
              [("y", np.array(float_to_int(x[:, 2:], I32), I32).reshape(2, 3)),
               ("z", (1 / (1 + np.exp(-x[:, :2].astype(np.float64)))).astype(F32))],
              [("s", i64(2, 3))], sym=["x"])


# ---- errors ------------------------------------------------------------------------


def error_case(name, inputs, body, n_out, message, consts=(), sym=False):
    """A graph that must fail with `message` in the error (at parse/verify
    time or when run); inputs are (name, shape, dtype) with random data."""
    r = rng_for(name)
    ins = [(n, a if isinstance(a, np.ndarray) else opgen.rand(r, a, dt)) for n, a, dt in inputs]
    outs = [("y%d" % i, None) for i in range(n_out)]
    write = write_sym if sym else opgen.write_case
    kw = {"sym": [ins[0][0]]} if sym else {}
    write(name, ins, body, outs, consts=consts, expect_error=message, **kw)


table(error_case, [
    ("t_err_broadcast", [("a", (2, 3), F32), ("b", (4,), F32)], ["y0 = Add(a, b)"], 1,
     "do not broadcast"),
    ("t_err_gather_oob", [("x", (3, 2), F32)], ["y0 = Gather(x, ix)"], 1,
     "index 3 out of range", [("ix", i64(0, 3))]),
    ("t_err_gather_oob_runtime", [("x", (3, 2), F32), ("ix", i64(1, -4), None)],
     ["y0 = Gather(x, ix)"], 1, "index -4 out of range"),
    ("t_err_reshape_count", [("x", (2, 3), F32)], ["y0 = Reshape(x, s)"], 1, "cannot reshape",
     [("s", i64(4, 2))]),
    ("t_err_reshape_two_neg1", [("x", (2, 3), F32)], ["y0 = Reshape(x, s)"], 1,
     "more than one -1", [("s", i64(-1, -1))]),
    ("t_err_div_zero_int", [("a", np.array([4, 5, 6], I32), None),
                            ("b", np.array([1, 0, 2], I32), None)],
     ["y0 = Div(a, b)"], 1, "integer division by zero"),
    ("t_err_split_uneven", [("x", (5,), F32)], ["y0, y1 = Split(x)"], 2, "does not split evenly"),
    ("t_err_squeeze_not_one", [("x", (2, 3), F32)], ["y0 = Squeeze(x) {axes=[1]}"], 1,
     "cannot squeeze axis 1"),
    ("t_err_sym_reshape", [("x", (2, 3, 4), F32)], ["y0 = Reshape(x, s)"], 1, "cannot reshape",
     [("s", i64(2, -1))], True),
    ("t_err_sym_concat", [("x", (2, 3), F32)], ["y0 = Concat(x, x) {axis=0}"], 1,
     "cannot concatenate along axis 0", (), True),
    ("t_err_cast_to", [("x", (2,), F32)], ["y0 = Cast(x) {to=8}"], 1,
     "not a supported ONNX data type"),
    ("t_err_slice_step0", [("x", (4,), F32)], ["y0 = Slice(x, a, b, _, c)"], 1, "steps[0] is 0",
     [("a", i64(0)), ("b", i64(2)), ("c", i64(0))]),
])


def main():
    for old in os.listdir(opgen.ROOT) if os.path.isdir(opgen.ROOT) else []:
        if old.startswith("t_"):
            shutil.rmtree(os.path.join(opgen.ROOT, old))
    with np.errstate(over="ignore"):   # f16/f32 overflow to inf is intended in Cast probes
        for name, fn in CASES:
            fn(name)
    print("wrote %d t_* cases" % len(CASES))


if __name__ == "__main__":
    main()
