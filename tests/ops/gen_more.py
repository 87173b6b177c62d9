#!/usr/bin/python3
"""Op cases for the ops added with the ONNX frontend (the end of ir/ops.def):
unary math (Neg ... IsNaN, PRelu), Mod, Max/Min/Sum/Mean, comparisons,
And/Or/Xor, Where, the Reduce* family, ArgMax/ArgMin, LogSoftmax, Hardmax,
GlobalMaxPool, InstanceNormalization, and the shape / data-movement ops
Shape, Size, ConstantOfShape, Expand, Tile, Range, Pad, Dropout, CastLike,
Trilu, DepthToSpace, SpaceToDepth. Writes tests/ops/cases/m_*.

Expected outputs follow the ONNX operator specs (opsets 11-21) and are
computed with numpy, independently of qcomp's C kernels: float math in
float64 and rounded once to the case's dtype, integer math on numpy int64 or
Python ints wrapped to the output width, data movement with numpy indexing
(np.pad, np.tile, np.broadcast_to, reshape/transpose for DepthToSpace).

Run:  /usr/bin/python3 tests/ops/gen_more.py
"""
import glob
import math
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opgen  # noqa: E402

F32, F16, F64 = np.float32, np.float16, np.float64
I8, U8, I16, I32, I64 = np.int8, np.uint8, np.int16, np.int32, np.int64
BOOL = np.bool_
ONNX = {"f32": 1, "u8": 2, "i8": 3, "i16": 5, "i32": 6, "i64": 7, "bool": 9, "f16": 10,
        "f64": 11, "bf16": 16, "u4": 21, "i4": 22}
F16_TOL = (2e-3, 2e-3)   # f16 transcendental: numpy and libm may differ by an ulp
CASES = []               # names written, to report the count


# ---- case writing ---------------------------------------------------------------

rng_for, fmt_attr, attrs, node = opgen.rng_for, opgen.fmt_attr, opgen.attrs, opgen.node


def case(name, inputs, body, outputs, consts=(), tol=None, expect_error=None, sym=None):
    """opgen.write_case plus `sym`: {input name: dim index} dims declared as
    the symbolic batch N (the data keeps its concrete size, bound at run time)."""
    assert name.startswith("m_") and name not in CASES, name
    CASES.append(name)
    body = [body] if isinstance(body, str) else body
    opgen.write_case(name, inputs, body, outputs, consts=consts, tol=tol,
                     expect_error=expect_error)
    if sym:
        path = os.path.join(opgen.ROOT, name, "model.qcir")
        with open(path) as f:
            lines = f.read().split("\n")
        for i, line in enumerate(lines):
            if line.startswith("graph "):
                lines[i] = line.replace(" {", " batch N {")
            for inp, dim in sym.items():
                prefix = "  input %s: " % inp
                if line.startswith(prefix):
                    dt, dims = line[len(prefix):-1].split("[")
                    dims = dims.split(",")
                    dims[dim] = "N"
                    lines[i] = prefix + "%s[%s]" % (dt, ",".join(dims))
        with open(path, "w") as f:
            f.write("\n".join(lines))


def unary(name, op, x, y, tol=None, **kw):
    case(name, [("x", x)], node("y", op, ["x"], **kw), [("y", y)], tol=tol)


def f32(v):
    """The value a float attribute really has (the IR stores f32)."""
    return float(np.float32(v))


def i64(*v):
    return np.array(v, I64)


def rand(name, shape, dtype=F32, lo=-1.0, hi=1.0):
    return opgen.rand(rng_for(name), shape, dtype, lo, hi)


def rbool(name, shape):
    a = rng_for(name).integers(0, 2, size=shape).astype(BOOL)
    if a.size:
        a.reshape(-1)[0] = True
    return a


def wrap(values, dtype):
    """Python ints -> dtype with two's complement wrap-around."""
    info = np.iinfo(dtype)
    span = int(info.max) - int(info.min) + 1
    flat = [((int(v) - int(info.min)) % span) + int(info.min) for v in np.ravel(values)]
    return np.array(flat, dtype=dtype).reshape(np.shape(values))


def in_f64(fn):
    """fn on float64, rounded once to the input's dtype."""
    return lambda x: fn(x.astype(F64)).astype(x.dtype)


def narrow_case(name, x, narrow, nodes, outputs, consts=()):
    """x -> Cast(narrow) as `q` -> nodes (writing `<out>4`) -> each output
    Cast back to x's dtype: reaches i4 / u4 / bf16 from npy-typed I/O."""
    back = {np.dtype(I8): "i8", np.dtype(U8): "u8", np.dtype(F32): "f32"}[x.dtype]
    body = ["q = Cast(x) {to=%d}" % ONNX[narrow]] + nodes
    body += ["%s = Cast(%s4) {to=%d}" % (n, n, ONNX[back]) for n, _ in outputs]
    case(name, [("x", x)], body, outputs, consts=consts)


# ---- shape computation: Shape, Size, ConstantOfShape, Range -----------------------

def gen_shape():
    x = rand("m_shape", (2, 3, 4, 5))
    for name, kw, sl in [("m_shape_basic", {}, slice(None)),
                         ("m_shape_start", {"start": 1}, slice(1, None)),
                         ("m_shape_start_end_neg", {"start": -3, "end": -1}, slice(-3, -1)),
                         ("m_shape_clamp", {"start": -10, "end": 10}, slice(0, 4)),
                         ("m_shape_empty_range", {"start": 3, "end": 1}, slice(3, 1))]:
        case(name, [("x", x)], node("y", "Shape", ["x"], **kw),
             [("y", np.array(x.shape[sl], I64))])
    case("m_shape_scalar", [("x", np.array(2.5, F32))], node("y", "Shape", ["x"]),
         [("y", np.zeros(0, I64))])
    b = rbool("m_shape_bool", (3, 0, 2))
    case("m_shape_bool", [("x", b)], node("y", "Shape", ["x"], end=2), [("y", i64(3, 0))])
    # Symbolic batch: i64[3] at compile time, the bound sizes at run time.
    xs = rand("m_shape_sym", (5, 2, 3))
    case("m_shape_sym", [("x", xs)], node("y: i64[3]", "Shape", ["x"]),
         [("y", i64(5, 2, 3))], sym={"x": 0})
    case("m_size_basic", [("x", x)], node("y", "Size", ["x"]), [("y", np.array(120, I64))])
    case("m_size_scalar", [("x", np.array(7, I32))], node("y", "Size", ["x"]),
         [("y", np.array(1, I64))])
    case("m_size_empty", [("x", np.zeros((3, 0), U8))], node("y", "Size", ["x"]),
         [("y", np.array(0, I64))])
    case("m_size_sym", [("x", xs)], node("y: i64[]", "Size", ["x"]),
         [("y", np.array(30, I64))], sym={"x": 0})


def gen_constant_of_shape():
    # The shape is a constant (its values decide the output shape); x only
    # gives the graph an input, and Add checks the result is usable.
    rows = [
        ("m_cos_default", (2, 3), {}, np.zeros((2, 3), F32)),
        ("m_cos_f32_value", (3, 1, 2), {"value": 1.5}, np.full((3, 1, 2), 1.5, F32)),
        ("m_cos_f16", (4,), {"dtype": "f16", "value": -0.25}, np.full(4, -0.25, F16)),
        ("m_cos_f64", (2, 2), {"dtype": "f64", "value": 3.0}, np.full((2, 2), 3.0, F64)),
        ("m_cos_i64", (2, 3), {"dtype": "i64", "value": -7}, np.full((2, 3), -7, I64)),
        ("m_cos_i64_big", (2,), {"dtype": "i64", "value": 2 ** 40 + 3},
         np.full(2, 2 ** 40 + 3, I64)),
        ("m_cos_i32", (1, 4), {"dtype": "i32", "value": 9}, np.full((1, 4), 9, I32)),
        ("m_cos_u8", (5,), {"dtype": "u8", "value": 200}, np.full(5, 200, U8)),
        ("m_cos_bool", (2, 2), {"dtype": "bool", "value": 1}, np.ones((2, 2), BOOL)),
        ("m_cos_scalar", (), {"dtype": "i64", "value": 4}, np.array(4, I64)),
        ("m_cos_empty_dim", (3, 0), {"value": 2.0}, np.zeros((3, 0), F32)),
    ]
    for name, shape, kw, y in rows:
        case(name, [], node("y", "ConstantOfShape", ["s"], **kw), [("y", y)],
             consts=[("s", np.array(shape, I64).reshape(len(shape)))])


def range_ref(start, limit, delta, dtype):
    if np.dtype(dtype).kind == "f":
        s, l, d = (float(dtype(v)) for v in (start, limit, delta))
        n = max(math.ceil((l - s) / d), 0)
        return np.array([s + i * d for i in range(n)], F64).astype(dtype)
    n = max(-((start - limit) // delta), 0) if delta > 0 else max(-((limit - start) // -delta), 0)
    return np.array([start + i * delta for i in range(n)], dtype)


def gen_range():
    rows = [
        ("m_range_i64", 3, 17, 4, I64),
        ("m_range_i64_exact_end", 0, 12, 3, I64),
        ("m_range_i32_neg_delta", 10, -5, -3, I32),
        ("m_range_i16", -4, 6, 1, I16),
        ("m_range_empty", 5, 5, 1, I64),
        ("m_range_empty_wrong_way", 5, 9, -2, I32),
        ("m_range_f32", 0.5, 3.1, 0.25, F32),
        ("m_range_f32_neg", 2.0, -1.0, -0.75, F32),
        ("m_range_f64", -1.5, 1.0, 0.1, F64),
    ]
    for name, s, l, d, dt in rows:
        case(name, [], node("y", "Range", ["s", "l", "d"]), [("y", range_ref(s, l, d, dt))],
             consts=[("s", np.array(s, dt)), ("l", np.array(l, dt)), ("d", np.array(d, dt))])
    # Big int64 bounds: the count is computed without overflow.
    s, l, d = -2 ** 62, 2 ** 62, 2 ** 61
    case("m_range_i64_big", [], node("y", "Range", ["s", "l", "d"]),
         [("y", np.array([s + i * d for i in range(4)], I64))],
         consts=[("s", np.array(s, I64)), ("l", np.array(l, I64)), ("d", np.array(d, I64))])


# ---- Expand, Tile ---------------------------------------------------------------

def gen_expand_tile():
    rows = [   # name, input shape, dtype, target shape
        ("m_expand_bcast", (3, 1), F32, (2, 3, 4)),
        ("m_expand_shorter_shape", (2, 3, 4), F32, (1, 4)),
        ("m_expand_ones_keep", (2, 1, 3), I64, (1, 1, 1)),
        ("m_expand_both_ways", (1, 4, 1), I32, (3, 1, 2)),
        ("m_expand_zero", (1, 3), F32, (0, 3)),
        ("m_expand_scalar", (), F16, (2, 2)),
    ]
    for name, shape, dt, target in rows:
        x = rand(name, shape, dt, -50, 50)
        y = x * np.ones(target, dt)
        case(name, [("x", x)], node("y", "Expand", ["x", "s"]), [("y", y)],
             consts=[("s", np.array(target, I64))])
    xb = rbool("m_expand_bool", (1, 3))
    case("m_expand_bool", [("x", xb)], node("y", "Expand", ["x", "s"]),
         [("y", np.broadcast_to(xb, (2, 3)))], consts=[("s", i64(2, 1))])
    x4 = rand("m_expand_i4", (2, 1), I8, -8, 7)
    narrow_case("m_expand_i4", x4, "i4", [node("y4", "Expand", ["q", "s"])],
                [("y", np.broadcast_to(x4, (2, 3)))], consts=[("s", i64(2, 3))])
    xs = rand("m_expand_sym", (3, 1))
    case("m_expand_sym", [("x", xs)], node("y: f32[N,4]", "Expand", ["x", "s"]),
         [("y", np.broadcast_to(xs, (3, 4)))], consts=[("s", i64(1, 4))], sym={"x": 0})

    rows = [   # name, shape, dtype, repeats
        ("m_tile_2d", (2, 3), F32, (2, 2)),
        ("m_tile_3d_i32", (2, 1, 3), I32, (1, 3, 2)),
        ("m_tile_ones", (3, 2), F64, (1, 1)),
        ("m_tile_zero_rep", (2, 3), F32, (0, 2)),
        ("m_tile_1d_u8", (4,), U8, (3,)),
    ]
    for name, shape, dt, reps in rows:
        x = rand(name, shape, dt, 0 if dt == U8 else -50, 50)
        case(name, [("x", x)], node("y", "Tile", ["x", "r"]), [("y", np.tile(x, reps))],
             consts=[("r", np.array(reps, I64))])
    xu = rand("m_tile_u4", (2, 3), U8, 0, 15)
    narrow_case("m_tile_u4", xu, "u4", [node("y4", "Tile", ["q", "r"])],
                [("y", np.tile(xu, (2, 3)))], consts=[("r", i64(2, 3))])
    xs = rand("m_tile_sym", (2, 3))
    case("m_tile_sym", [("x", xs)], node("y: f32[N,9]", "Tile", ["x", "r"]),
         [("y", np.tile(xs, (1, 3)))], consts=[("r", i64(1, 3))], sym={"x": 0})


# ---- Pad ---------------------------------------------------------------------------

def pad_ref(x, begin, end, mode="constant", value=0):
    """ONNX Pad: negative pads crop, then np.pad extends what is left."""
    sl = tuple(slice(-b if b < 0 else 0, x.shape[k] + e if e < 0 else None)
               for k, (b, e) in enumerate(zip(begin, end)))
    x = x[sl]
    width = [(max(b, 0), max(e, 0)) for b, e in zip(begin, end)]
    if mode == "constant":
        return np.pad(x, width, mode="constant", constant_values=value)
    if mode == "wrap":
        # Periodic. (numpy 1.24's np.pad 'wrap' is not periodic once a pad
        # exceeds the axis length; ONNX Runtime's wrap is.)
        for k, (b, e) in enumerate(width):
            x = np.take(x, np.arange(-b, x.shape[k] + e) % x.shape[k], axis=k)
        return x
    return np.pad(x, width, mode=mode)


def gen_pad():
    rows = [   # name, shape, dtype, begin, end, mode, value (None: not given)
        ("m_pad_constant_default", (2, 3), F32, [1, 0], [0, 2], "constant", None),
        ("m_pad_constant_value", (2, 3), F32, [0, 2], [1, 1], "constant", 1.25),
        ("m_pad_reflect", (3, 4), F32, [2, 1], [1, 3], "reflect", None),
        ("m_pad_reflect_multi_period", (3,), I32, [5], [6], "reflect", None),
        ("m_pad_reflect_one", (1, 3), F32, [2, 0], [1, 0], "reflect", None),
        ("m_pad_edge", (2, 3), I64, [2, 1], [1, 2], "edge", None),
        ("m_pad_wrap", (2, 3), F32, [1, 4], [2, 2], "wrap", None),
        ("m_pad_negative", (4, 5), F32, [-1, 2], [1, -2], "constant", 9.0),
        ("m_pad_negative_edge", (4, 5), F32, [-2, 1], [1, -1], "edge", None),
        ("m_pad_negative_reflect", (5, 3), I16, [2, -1], [-1, 1], "reflect", None),
        ("m_pad_4d_nchw", (1, 2, 3, 3), F32, [0, 0, 1, 1], [0, 0, 1, 1], "constant", None),
        ("m_pad_i8_value", (3, 2), I8, [1, 1], [1, 0], "constant", -5),
        ("m_pad_f16_reflect", (2, 4), F16, [1, 2], [1, 2], "reflect", None),
        ("m_pad_zero_pads", (2, 3), F32, [0, 0], [0, 0], "edge", None),
        ("m_pad_empty_axis_constant", (0, 3), F32, [1, 0], [1, 1], "constant", 2.0),
    ]
    for name, shape, dt, b, e, mode, value in rows:
        x = rand(name, shape, dt, -9, 9)
        y = pad_ref(x, b, e, mode, 0 if value is None else value)
        consts = [("p", np.array(b + e, I64))]
        args = ["x", "p"]
        if value is not None:
            consts.append(("v", np.array(value, dt)))
            args.append("v")
        kw = {} if mode == "constant" and name.endswith("default") else {"mode": mode}
        case(name, [("x", x)], node("y", "Pad", args, **kw), [("y", y)], consts=consts)
    # Opset 18 axes input (negative axes allowed); pads list only those axes.
    x = rand("m_pad_axes", (2, 3, 4))
    case("m_pad_axes", [("x", x)], node("y", "Pad", ["x", "p", "_", "a"], mode="edge"),
         [("y", pad_ref(x, [0, 0, 1], [0, 0, 2], "edge"))],
         consts=[("p", i64(1, 2)), ("a", i64(-1))])
    case("m_pad_axes_two", [("x", x)], node("y", "Pad", ["x", "p", "v", "a"]),
         [("y", pad_ref(x, [0, 2, 1], [0, 1, 0], "constant", -1.0))],
         consts=[("p", i64(1, 2, 0, 1)), ("v", np.array(-1.0, F32)), ("a", i64(2, 1))])
    # Opsets before 11: pads and value as attributes.
    x = rand("m_pad_attr_opset2", (2, 3))
    case("m_pad_attr_opset2", [("x", x)], node("y", "Pad", ["x"], pads=[1, 0, 0, 2], value=0.5),
         [("y", pad_ref(x, [1, 0], [0, 2], "constant", np.float32(0.5)))])
    case("m_pad_attr_reflect", [("x", x)],
         node("y", "Pad", ["x"], mode="reflect", pads=[0, 1, 1, 2]),
         [("y", pad_ref(x, [0, 1], [1, 2], "reflect"))])
    xb = rbool("m_pad_bool", (2, 2))
    case("m_pad_bool", [("x", xb)], node("y", "Pad", ["x", "p", "v"]),
         [("y", pad_ref(xb, [1, 0], [0, 1], "constant", True))],
         consts=[("p", i64(1, 0, 0, 1)), ("v", np.array(True))])
    x4 = rand("m_pad_i4", (2, 3), I8, -8, 7)
    narrow_case("m_pad_i4", x4, "i4",
                ["v4 = Cast(v) {to=22}", node("y4", "Pad", ["q", "p", "v4"])],
                [("y", pad_ref(x4, [1, 1], [0, 1], "constant", -3))],
                consts=[("p", i64(1, 1, 0, 1)), ("v", np.array(-3, I8))])
    xs = rand("m_pad_sym", (3, 2, 2))
    case("m_pad_sym", [("x", xs)], node("y: f32[N,4,3]", "Pad", ["x", "p"], mode="reflect"),
         [("y", pad_ref(xs, [0, 1, 0], [0, 1, 1], "reflect"))],
         consts=[("p", i64(0, 1, 0, 0, 1, 1))], sym={"x": 0})


# ---- comparisons, logic, Where ------------------------------------------------------

def binary(name, op, a, b, y, **kw):
    case(name, [("a", a), ("b", b)], node("y", op, ["a", "b"], **kw), [("y", y)])


def gen_compare():
    ops = {"Equal": np.equal, "Less": np.less, "LessOrEqual": np.less_equal,
           "Greater": np.greater, "GreaterOrEqual": np.greater_equal}
    rows = [   # name, op, shape a, shape b, dtype
        ("m_equal_i64", "Equal", (3, 4), (3, 4), I64),
        ("m_equal_f32_bcast", "Equal", (2, 3), (3,), F32),
        ("m_equal_i32_scalar", "Equal", (5,), (), I32),
        ("m_less_f32", "Less", (3, 4), (4,), F32),
        ("m_less_i32_bcast", "Less", (2, 1, 3), (4, 1), I32),
        ("m_lessorequal_f64", "LessOrEqual", (4, 3), (1, 3), F64),
        ("m_lessorequal_u8", "LessOrEqual", (6,), (6,), U8),
        ("m_greater_f16", "Greater", (2, 5), (2, 1), F16),
        ("m_greater_i8", "Greater", (3, 3), (3,), I8),
        ("m_greaterorequal_i64", "GreaterOrEqual", (2, 4), (2, 4), I64),
        ("m_greaterorequal_i16", "GreaterOrEqual", (4,), (1,), I16),
    ]
    for name, op, sa, sb, dt in rows:
        r = rng_for(name)
        # Small integer ranges so that equal pairs actually occur.
        a = opgen.rand(r, sa, dt, 0 if dt == U8 else -3, 3)
        b = opgen.rand(r, sb, dt, 0 if dt == U8 else -3, 3)
        binary(name, op, a, b, ops[op](a, b))
    a = np.array([1.0, np.nan, np.inf, -np.inf, 0.0, -0.0, np.nan], F32)
    b = np.array([np.nan, 1.0, np.inf, 1.0, -0.0, 0.0, np.nan], F32)
    for op in ["Equal", "Less", "GreaterOrEqual"]:
        binary("m_%s_nan" % op.lower(), op, a, b, ops[op](a, b))
    ab, bb = rbool("m_equal_bool_a", (2, 3)), rbool("m_equal_bool_b", (3,))
    binary("m_equal_bool", "Equal", ab, bb, np.equal(ab, bb))
    big = np.array([2 ** 62 + 1, -2 ** 63, 2 ** 53 + 1], I64)
    big2 = np.array([2 ** 62, -2 ** 63, 2 ** 53], I64)
    binary("m_greater_i64_exact", "Greater", big, big2, big > big2)

    for op, fn in [("And", np.logical_and), ("Or", np.logical_or), ("Xor", np.logical_xor)]:
        a, b = rbool("m_%s_a" % op, (2, 3, 4)), rbool("m_%s_b" % op, (3, 1))
        binary("m_%s_bcast" % op.lower(), op, a, b, fn(a, b))
    x = rbool("m_not", (3, 4))
    unary("m_not", "Not", x, ~x)

    r = rng_for("m_where")
    c, a, b = rbool("m_where_c", (2, 1, 4)), opgen.rand(r, (3, 1)), opgen.rand(r, (2, 3, 4))
    case("m_where_bcast3", [("c", c), ("a", a), ("b", b)], node("y", "Where", ["c", "a", "b"]),
         [("y", np.where(c, a, b))])
    a, b = opgen.rand(r, (2, 3), I64, -99, 99), opgen.rand(r, (), I64, -99, 99)
    c = rbool("m_where_i64_c", (2, 3))
    case("m_where_i64", [("c", c), ("a", a), ("b", b)], node("y", "Where", ["c", "a", "b"]),
         [("y", np.where(c, a, b))])
    a, b = rbool("m_where_bool_a", (4,)), rbool("m_where_bool_b", (4,))
    c = np.array([True, False, False, True])
    case("m_where_bool", [("c", c), ("a", a), ("b", b)], node("y", "Where", ["c", "a", "b"]),
         [("y", np.where(c, a, b))])
    case("m_where_scalar_cond", [("a", a), ("b", ~b)], node("y", "Where", ["c", "a", "b"]),
         [("y", ~b)], consts=[("c", np.array(False))])
    x4 = rand("m_where_i4", (2, 3), I8, -8, 7)
    c = np.array([[True, False, True], [False, False, True]])
    narrow_case("m_where_i4", x4, "i4",
                ["o4 = Cast(o) {to=22}", node("y4", "Where", ["c", "q", "o4"])],
                [("y", np.where(c, x4, np.array([5, -8, 0], I8)))],
                consts=[("c", c), ("o", np.array([5, -8, 0], I8))])
    xs, ys = rand("m_where_sym_x", (3, 2)), rand("m_where_sym_y", (2,))
    case("m_where_sym", [("x", xs)],
         [node("c: bool[N,2]", "Greater", ["x", "z"]),
          node("y: f32[N,2]", "Where", ["c", "x", "w"])],
         [("y", np.where(xs > 0, xs, ys))], consts=[("z", np.array(0, F32)), ("w", ys)],
         sym={"x": 0})


def gen_cast_like():
    x = np.array([1.9, -1.9, 300.0, -200.0, np.nan, 0.5, 7.0], F32)
    case("m_castlike_f32_i32", [("x", x)], node("y", "CastLike", ["x", "t"]),
         [("y", np.array([1, -1, 300, -200, 0, 0, 7], I32))], consts=[("t", np.zeros(1, I32))])
    case("m_castlike_f32_u8_saturate", [("x", x)], node("y", "CastLike", ["x", "t"]),
         [("y", np.array([1, 0, 255, 0, 0, 0, 7], U8))], consts=[("t", np.zeros(0, U8))])
    xi = rand("m_castlike_i64_f16", (3, 4), I64, -3000, 3000)
    case("m_castlike_i64_f16", [("x", xi), ("t", np.zeros(2, F16))],
         node("y", "CastLike", ["x", "t"]), [("y", xi.astype(F16))])
    case("m_castlike_f32_bool", [("x", x)], node("y", "CastLike", ["x", "t"]),
         [("y", x != 0)], consts=[("t", np.array(True))])


def gen_dropout():
    x = rand("m_dropout", (3, 4))
    case("m_dropout_identity", [("x", x)], node("y", "Dropout", ["x"]), [("y", x)])
    case("m_dropout_mask", [("x", x)], node(["y", "m"], "Dropout", ["x", "r"]),
         [("y", x), ("m", np.ones((3, 4), BOOL))], consts=[("r", np.array(0.5, F32))])
    case("m_dropout_training_false", [("x", x)],
         node(["y", "m"], "Dropout", ["x", "r", "t"], seed=3),
         [("y", x), ("m", np.ones((3, 4), BOOL))],
         consts=[("r", np.array(0.25, F32)), ("t", np.array(False))])
    case("m_dropout_training_zero_ratio", [("x", x)],
         node(["y", "m"], "Dropout", ["x", "r", "t"]),
         [("y", x), ("m", np.ones((3, 4), BOOL))],
         consts=[("r", np.array(0.0, F32)), ("t", np.array(True))])
    x16 = rand("m_dropout_f16", (5,), F16)
    case("m_dropout_f16", [("x", x16)], node("y", "Dropout", ["x"], ratio=0.3), [("y", x16)])


# ---- unary math ----------------------------------------------------------------------

def softplus(v):
    return np.where(v > 0, v + np.log1p(np.exp(-np.abs(v))), np.log1p(np.exp(v)))


def gen_unary():
    selu_a, selu_g = 1.67326319217681884765625, 1.05070102214813232421875
    halves = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, -3.5, 0.49999997, 2.4, -2.6,
                       1e8 + 0.5, 0.0, -0.0], F32)
    rows = [   # name, op, shape, dtype, lo, hi, reference on float64, attrs, tol
        ("m_neg_f32", "Neg", (3, 4), F32, -5, 5, np.negative, {}, None),
        ("m_abs_f64", "Abs", (2, 5), F64, -5, 5, np.abs, {}, None),
        ("m_floor_f32", "Floor", (3, 4), F32, -5, 5, np.floor, {}, None),
        ("m_ceil_f64", "Ceil", (3, 4), F64, -5, 5, np.ceil, {}, None),
        ("m_ceil_f16", "Ceil", (7,), F16, -5, 5, np.ceil, {}, None),
        ("m_reciprocal_f32", "Reciprocal", (3, 4), F32, 0.1, 4, lambda v: 1 / v, {}, None),
        ("m_log_f32", "Log", (3, 4), F32, 0.01, 50, np.log, {}, None),
        ("m_log_f16", "Log", (6,), F16, 0.1, 50, np.log, {}, F16_TOL),
        ("m_sign_f32", "Sign", (3, 4), F32, -2, 2, np.sign, {}, None),
        ("m_sin_f32", "Sin", (3, 4), F32, -7, 7, np.sin, {}, None),
        ("m_cos_f64_math", "Cos", (3, 4), F64, -7, 7, np.cos, {}, (1e-12, 1e-14)),
        ("m_softplus_f32", "Softplus", (4, 5), F32, -40, 40, softplus, {}, None),
        ("m_softsign_f32", "Softsign", (3, 4), F32, -9, 9, lambda v: v / (1 + np.abs(v)), {},
         None),
        ("m_hardsigmoid_default", "HardSigmoid", (3, 5), F32, -5, 5,
         lambda v: np.clip(f32(0.2) * v + 0.5, 0, 1), {}, None),
        ("m_hardsigmoid_attrs", "HardSigmoid", (3, 5), F32, -5, 5,
         lambda v: np.clip(f32(0.3) * v + f32(0.1), 0, 1), {"alpha": 0.3, "beta": 0.1}, None),
        ("m_hardswish_f32", "HardSwish", (4, 5), F32, -6, 6,
         lambda v: v * np.clip(v / 6 + 0.5, 0, 1), {}, None),
        ("m_elu_default", "Elu", (3, 5), F32, -4, 4, lambda v: np.where(v < 0, np.expm1(v), v),
         {}, None),
        ("m_elu_alpha", "Elu", (3, 5), F64, -4, 4,
         lambda v: np.where(v < 0, f32(0.5) * np.expm1(v), v), {"alpha": 0.5}, (1e-12, 1e-14)),
        ("m_selu_default", "Selu", (3, 5), F32, -4, 4,
         lambda v: np.where(v > 0, selu_g * v, selu_g * selu_a * np.expm1(v)), {}, None),
        ("m_selu_attrs", "Selu", (3, 5), F32, -4, 4,
         lambda v: np.where(v > 0, f32(1.5) * v, f32(1.5) * f32(2.0) * np.expm1(v)),
         {"alpha": 2.0, "gamma": 1.5}, None),
        ("m_celu_default", "Celu", (3, 5), F32, -4, 4,
         lambda v: np.maximum(0, v) + np.minimum(0, np.expm1(v)), {}, None),
        ("m_celu_alpha", "Celu", (3, 5), F32, -4, 4,
         lambda v: np.maximum(0, v) + np.minimum(0, f32(2.5) * np.expm1(v / f32(2.5))),
         {"alpha": 2.5}, None),
        ("m_thresholdedrelu_default", "ThresholdedRelu", (3, 5), F32, -3, 3,
         lambda v: np.where(v > 1.0, v, 0), {}, None),
        ("m_thresholdedrelu_alpha", "ThresholdedRelu", (3, 5), F32, -3, 3,
         lambda v: np.where(v > f32(0.4), v, 0), {"alpha": 0.4}, None),
        ("m_softplus_f16", "Softplus", (8,), F16, -6, 6, softplus, {}, F16_TOL),
        ("m_hardswish_f16", "HardSwish", (8,), F16, -6, 6,
         lambda v: v * np.clip(v / 6 + 0.5, 0, 1), {}, F16_TOL),
    ]
    for name, op, shape, dt, lo, hi, fn, kw, tol in rows:
        x = rand(name, shape, dt, lo, hi)
        with np.errstate(over="ignore"):
            unary(name, op, x, in_f64(fn)(x), tol=tol, **kw)
    unary("m_round_f32", "Round", halves, np.round(halves))
    unary("m_round_f16", "Round", halves[:10].astype(F16), np.round(halves[:10].astype(F16)))
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -3.0], F32)
    unary("m_sign_special", "Sign", special, np.sign(special))
    unary("m_isnan_f32", "IsNaN", special, np.isnan(special))
    unary("m_isnan_f16", "IsNaN", special.astype(F16), np.isnan(special))
    unary("m_floor_special", "Floor", special, np.floor(special))
    # Integers: two's complement wrap (Neg / Abs of the minimum stay the minimum).
    for name, op, dt, fn in [("m_neg_i32", "Neg", I32, lambda v: -v),
                             ("m_neg_i8_wrap", "Neg", I8, lambda v: -v),
                             ("m_abs_i16", "Abs", I16, abs),
                             ("m_abs_i8_min", "Abs", I8, abs),
                             ("m_abs_u8", "Abs", U8, abs),
                             ("m_sign_i64", "Sign", I64, lambda v: (v > 0) - (v < 0)),
                             ("m_sign_i8", "Sign", I8, lambda v: (v > 0) - (v < 0))]:
        info = np.iinfo(dt)
        x = np.concatenate([np.array([info.min, info.max, 0], dt),
                            rand(name, (6,), dt, max(info.min, -1000), min(info.max, 1000))])
        unary(name, op, x, wrap([fn(int(v)) for v in x], dt))
    # bf16 through Cast: Abs is exact, Round lands on integers (exact in bf16).
    xb = np.array([1.5, 2.5, -0.5, -3.75, 100.5, 0.25, -7.0], F32)
    narrow_case("m_round_bf16", xb, "bf16", [node("y4", "Round", ["q"])], [("y", np.round(xb))])

    r = rng_for("m_prelu")
    x = opgen.rand(r, (2, 3, 2, 2), F32, -2, 2)
    for name, slope in [("m_prelu_scalar_slope", np.array([0.25], F32)),
                        ("m_prelu_channel", opgen.rand(r, (3, 1, 1), F32, 0, 1)),
                        ("m_prelu_full", opgen.rand(r, (2, 3, 2, 2), F32, -1, 1))]:
        case(name, [("x", x)], node("y", "PRelu", ["x", "s"]),
             [("y", np.where(x < 0, slope.astype(F64) * x, x).astype(F32))],
             consts=[("s", slope)])
    xi = rand("m_prelu_i32", (3, 4), I32, -100, 100)
    si = np.array([2, -3, 0, 5], I32)
    case("m_prelu_i32", [("x", xi), ("s", si)], node("y", "PRelu", ["x", "s"]),
         [("y", np.where(xi < 0, si * xi, xi))])


# ---- Mod and the variadic ops ---------------------------------------------------------

def py_mod(p, q):
    return p % q          # Python: the sign of the divisor


def c_fmod(p, q):
    m = abs(p) % abs(q)   # C: the sign of the dividend
    return m if p >= 0 else -m


def gen_mod():
    rows = [   # name, dtype, shape a, shape b, lo, hi, fmod
        ("m_mod_i32_python", I32, (3, 4), (4,), -20, 20, 0),
        ("m_mod_i64_fmod", I64, (3, 4), (3, 1), -10 ** 6, 10 ** 6, 1),
        ("m_mod_i8", I8, (10,), (10,), -128, 127, 0),
        ("m_mod_u8", U8, (2, 5), (5,), 0, 255, 0),
        ("m_mod_i16_fmod", I16, (6,), (), -3000, 3000, 1),
    ]
    for name, dt, sa, sb, lo, hi, fm in rows:
        r = rng_for(name)
        a, b = opgen.rand(r, sa, dt, lo, hi), opgen.rand(r, sb, dt, lo, hi)
        b[b == 0] = 7
        ab, bb = np.broadcast_arrays(a, b)
        fn = c_fmod if fm else py_mod
        y = wrap([fn(int(p), int(q)) for p, q in zip(ab.ravel(), bb.ravel())], dt)
        binary(name, "Mod", a, b, y.reshape(ab.shape), **({"fmod": 1} if fm else {}))
    a = np.array([-128, -128, 127, -7, 7, -7, 7, 5, -1], I8)
    b = np.array([-1, 3, -2, 2, -2, -2, 2, -128, 127], I8)
    binary("m_mod_i8_edges", "Mod", a, b, wrap([py_mod(int(p), int(q)) for p, q in zip(a, b)], I8))
    binary("m_mod_i8_edges_fmod", "Mod", a, b,
           wrap([c_fmod(int(p), int(q)) for p, q in zip(a, b)], I8), fmod=1)
    r = rng_for("m_mod_f32")
    a, b = opgen.rand(r, (3, 4), F32, -10, 10), opgen.rand(r, (4,), F32, 0.5, 3)
    b[1] = -b[1]
    binary("m_mod_f32", "Mod", a, b, np.fmod(a.astype(F64), b).astype(F32), fmod=1)
    a16 = opgen.rand(r, (6,), F16, -10, 10)
    binary("m_mod_f16", "Mod", a16, np.array(1.5, F16), np.fmod(a16, F16(1.5)), fmod=1)


def variadic(name, op, arrays, y, tol=None):
    names = ["x%d" % i for i in range(len(arrays))]
    case(name, list(zip(names, arrays)), node("y", op, names), [("y", y)], tol=tol)


def gen_variadic():
    def fold(fn, arrays, dt):
        acc = arrays[0].astype(F64)
        for a in arrays[1:]:
            acc = fn(acc, a.astype(F64))
        return acc

    rows = [   # name, op, shapes, dtype
        ("m_max_two_bcast", "Max", [(2, 3), (3,)], F32),
        ("m_max_three", "Max", [(2, 1, 4), (3, 1), (4,)], F32),
        ("m_max_single", "Max", [(3, 2)], F64),
        ("m_max_f16", "Max", [(4,), (2, 4)], F16),
        ("m_min_three_bcast", "Min", [(3, 1), (1, 4), ()], F32),
        ("m_sum_four", "Sum", [(2, 3), (3,), (2, 1), ()], F32),
        ("m_sum_single", "Sum", [(5,)], F32),
        ("m_sum_f64", "Sum", [(2, 2), (2, 2), (2, 2)], F64),
        ("m_mean_three", "Mean", [(2, 3), (3,), (2, 1)], F32),
        ("m_mean_f16", "Mean", [(4,), (4,)], F16),
    ]
    fns = {"Max": np.maximum, "Min": np.minimum, "Sum": np.add, "Mean": np.add}
    for name, op, shapes, dt in rows:
        r = rng_for(name)
        arrays = [opgen.rand(r, s, dt, -5, 5) for s in shapes]
        y = fold(fns[op], arrays, dt)
        if op == "Mean":
            y = y / len(arrays)
        variadic(name, op, arrays, y.astype(dt), tol=F16_TOL if dt == F16 else None)
    nan = np.array([1.0, np.nan, -2.0, np.nan], F32)
    other = np.array([np.nan, 3.0, -1.0, np.nan], F32)
    variadic("m_max_nan", "Max", [nan, other], np.maximum(nan, other))
    variadic("m_min_nan", "Min", [nan, other], np.minimum(nan, other))
    rows = [   # name, op, shapes, dtype, lo, hi
        ("m_max_i32", "Max", [(3, 4), (4,)], I32, -1000, 1000),
        ("m_max_u8", "Max", [(5,), (5,), (1,)], U8, 0, 255),
        ("m_min_i64", "Min", [(2, 3), (2, 1)], I64, -2 ** 60, 2 ** 60),
        ("m_min_i8", "Min", [(6,), ()], I8, -128, 127),
        ("m_sum_i64", "Sum", [(2, 3), (3,), ()], I64, -10 ** 6, 10 ** 6),
        ("m_sum_i8_wrap", "Sum", [(6,), (6,)], I8, 60, 127),
    ]
    for name, op, shapes, dt, lo, hi in rows:
        r = rng_for(name)
        arrays = [opgen.rand(r, s, dt, lo, hi) for s in shapes]
        out = np.broadcast_shapes(*[a.shape for a in arrays])
        bs = [np.broadcast_to(a, out).ravel() for a in arrays]
        pyfn = {"Max": max, "Min": min, "Sum": lambda *v: sum(v)}[op]
        y = wrap([pyfn(*[int(b[i]) for b in bs]) for i in range(bs[0].size)], dt)
        variadic(name, op, arrays, y.reshape(out))


# ---- reductions -------------------------------------------------------------------------

def reduce_ref(op, x, axes, keepdims):
    """numpy reference of the Reduce* family; axes None = all. An empty
    reduction gives the operation's identity (opset 18 spec)."""
    xf = x.astype(F64) if x.dtype.kind == "f" else x.astype(object)   # Python ints: exact
    ax = tuple(range(x.ndim)) if axes is None else tuple(a % x.ndim for a in axes)
    kd = bool(keepdims)
    if x.dtype.kind in "iub" and op in ("ReduceMax", "ReduceMin"):
        info = (0, 1) if x.dtype == BOOL else (int(np.iinfo(x.dtype).min),
                                                 int(np.iinfo(x.dtype).max))
        init = info[0] if op == "ReduceMax" else info[1]
        fn = np.max if op == "ReduceMax" else np.min
        return fn(x.astype(I64), axis=ax, keepdims=kd, initial=init).astype(x.dtype)
    if op == "ReduceMax":
        y = np.max(xf, axis=ax, keepdims=kd, initial=-np.inf)
    elif op == "ReduceMin":
        y = np.min(xf, axis=ax, keepdims=kd, initial=np.inf)
    elif op == "ReduceProd":
        y = np.prod(xf, axis=ax, keepdims=kd)
    elif op == "ReduceL1":
        y = np.sum(np.abs(xf), axis=ax, keepdims=kd)
    elif op == "ReduceL2":
        y = np.sqrt(np.sum(xf * xf, axis=ax, keepdims=kd))
    elif op == "ReduceSumSquare":
        y = np.sum(xf * xf, axis=ax, keepdims=kd)
    elif op == "ReduceLogSum":
        y = np.log(np.sum(xf, axis=ax, keepdims=kd))
    elif op == "ReduceLogSumExp":
        m = np.max(xf, axis=ax, keepdims=True, initial=-np.inf)
        mf = np.where(np.isfinite(m), m, 0)
        y = np.log(np.sum(np.exp(xf - mf), axis=ax, keepdims=True)) + mf
        y = y if kd else np.squeeze(y, axis=ax)
    elif op == "ReduceSum":
        y = np.sum(xf, axis=ax, keepdims=kd)
    else:   # ReduceMean; integer means truncate toward zero
        y = np.sum(xf, axis=ax, keepdims=kd)
        cnt = int(np.prod([x.shape[a] for a in ax]))
        if x.dtype.kind == "f":
            y = y / cnt
        else:
            y = np.vectorize(lambda v: abs(v) // cnt * (1 if v >= 0 else -1), otypes=[object])(y)
    if x.dtype.kind == "f":
        return np.asarray(y).astype(x.dtype)
    return wrap(np.asarray(y, dtype=object), x.dtype)


def reduce_case(name, op, x, axes=None, keepdims=None, as_input=False, noop=None, tol=None):
    kw = {}
    if keepdims is not None:
        kw["keepdims"] = keepdims
    if noop is not None:
        kw["noop_with_empty_axes"] = noop
    consts, args = [], ["x"]
    if axes is not None and as_input:
        consts, args = [("a", np.array(axes, I64).reshape(len(axes)))], ["x", "a"]
    elif axes is not None:
        kw["axes"] = list(axes)
    if noop and not axes:
        y = reduce_ref(op, x.reshape(x.shape + (1,)), (-1,), 0)   # every element alone
    else:
        y = reduce_ref(op, x, axes if axes else None, 1 if keepdims is None else keepdims)
    case(name, [("x", x)], node("y", op, args, **kw), [("y", y)], consts=consts, tol=tol)


def gen_reduce():
    rows = [   # name, op, shape, dtype, lo, hi, axes, keepdims, axes as input
        ("m_reducemax_axes_attr", "ReduceMax", (3, 4, 2), F32, -5, 5, [1], None, False),
        ("m_reducemax_axes_input", "ReduceMax", (3, 4, 2), F32, -5, 5, [0, 2], 0, True),
        ("m_reducemax_all", "ReduceMax", (3, 4), F32, -5, 5, None, None, False),
        ("m_reducemax_i32", "ReduceMax", (4, 5), I32, -10 ** 6, 10 ** 6, [-1], 0, True),
        ("m_reducemax_u8", "ReduceMax", (3, 4), U8, 0, 255, [0], 1, False),
        ("m_reducemin_keep0", "ReduceMin", (2, 3, 4), F32, -5, 5, [1, 2], 0, False),
        ("m_reducemin_i64", "ReduceMin", (3, 3), I64, -2 ** 62, 2 ** 62, [1], 1, True),
        ("m_reducemin_f16", "ReduceMin", (4, 3), F16, -5, 5, [0], 1, True),
        ("m_reduceprod_f32", "ReduceProd", (3, 4), F32, 0.5, 1.5, [1], 1, False),
        ("m_reduceprod_i64_wrap", "ReduceProd", (2, 12), I64, -2 ** 20, 2 ** 20, [1], 0, True),
        ("m_reduceprod_all", "ReduceProd", (2, 3), F64, -2, 2, None, 0, False),
        ("m_reducel1_f32", "ReduceL1", (3, 4, 2), F32, -5, 5, [-1], 1, True),
        ("m_reducel1_i32", "ReduceL1", (3, 4), I32, -1000, 1000, [0], 0, False),
        ("m_reducel2_f32", "ReduceL2", (3, 4, 2), F32, -5, 5, [0, 1], 1, False),
        ("m_reducel2_neg_axes", "ReduceL2", (2, 3, 4), F64, -5, 5, [-2], 0, True),
        ("m_reducesumsquare_f32", "ReduceSumSquare", (3, 4), F32, -5, 5, [1], 0, True),
        ("m_reducesumsquare_i16", "ReduceSumSquare", (2, 6), I16, -200, 200, [1], 1, False),
        ("m_reducelogsum_f32", "ReduceLogSum", (3, 4), F32, 0.1, 5, [0], 1, False),
        ("m_reducelogsum_all", "ReduceLogSum", (2, 3, 2), F32, 0.1, 5, None, 0, False),
        ("m_reducelogsumexp_f32", "ReduceLogSumExp", (3, 4), F32, -5, 5, [1], 1, True),
        ("m_reducelogsumexp_large", "ReduceLogSumExp", (2, 5), F32, 500, 800, [1], 0, False),
        ("m_reducesum_i64", "ReduceSum", (3, 4), I64, -2 ** 40, 2 ** 40, [0], 0, True),
        ("m_reducesum_i8_wrap", "ReduceSum", (2, 8), I8, 50, 127, [1], 1, True),
        ("m_reducemean_i32_trunc", "ReduceMean", (3, 4), I32, -100, 100, [1], 0, False),
    ]
    for name, op, shape, dt, lo, hi, axes, kd, inp in rows:
        x = rand(name, shape, dt, lo, hi)
        reduce_case(name, op, x, axes, kd, inp, tol=F16_TOL if dt == F16 else None)
    xb = rbool("m_reducemax_bool", (3, 4))
    xb[1] = False
    reduce_case("m_reducemax_bool", "ReduceMax", xb, [1], 0, True)
    reduce_case("m_reducemin_bool", "ReduceMin", rbool("m_reducemin_bool", (3, 4)), [0], 1, True)
    # Empty reductions: the identity of each operation.
    empty = np.zeros((2, 0, 3), F32)
    for op in ["ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2", "ReduceLogSum",
               "ReduceLogSumExp", "ReduceSumSquare"]:
        with np.errstate(divide="ignore"):
            reduce_case("m_%s_empty" % op.lower(), op, empty, [1], 1, True)
    reduce_case("m_reducemin_empty_i32", "ReduceMin", np.zeros((0, 2), I32), [0], 0, True)
    # noop_with_empty_axes=1 without axes: each element reduced on its own.
    x = rand("m_reduce_noop", (2, 3), F32, -3, 3)
    reduce_case("m_reducesumsquare_noop", "ReduceSumSquare", x, None, None, noop=1)
    reduce_case("m_reducemax_noop_empty_input", "ReduceMax", x, [], None, True, noop=1)
    reduce_case("m_reducel1_empty_axes_input", "ReduceL1", x, [], 0, True, noop=0)


def argext_ref(x, op, axis, keepdims, last):
    fn = np.argmax if op == "ArgMax" else np.argmin
    if last:
        f = np.flip(x, axis)
        y = x.shape[axis] - 1 - fn(f, axis=axis)
    else:
        y = fn(x, axis=axis)
    return np.expand_dims(y, axis).astype(I64) if keepdims else y.astype(I64)


def gen_argext():
    rows = [   # name, op, shape, dtype, lo, hi, axis, keepdims, select_last
        ("m_argmax_default", "ArgMax", (3, 4), F32, -5, 5, None, None, None),
        ("m_argmax_axis_neg_nokeep", "ArgMax", (2, 3, 4), F32, -5, 5, -1, 0, None),
        ("m_argmax_ties_first", "ArgMax", (4, 6), I32, -2, 2, 1, 1, 0),
        ("m_argmax_ties_last", "ArgMax", (4, 6), I32, -2, 2, 1, 1, 1),
        ("m_argmin_i64", "ArgMin", (3, 5), I64, -2 ** 60, 2 ** 60, 0, 0, None),
        ("m_argmin_ties_last", "ArgMin", (2, 3, 5), I8, -2, 2, 2, 0, 1),
        ("m_argmax_f16", "ArgMax", (5, 3), F16, -5, 5, 0, 1, None),
        ("m_argmin_u8_mid", "ArgMin", (2, 6, 2), U8, 0, 3, 1, 1, 0),
    ]
    for name, op, shape, dt, lo, hi, axis, kd, last in rows:
        x = rand(name, shape, dt, lo, hi)
        kw = {k: v for k, v in [("axis", axis), ("keepdims", kd), ("select_last_index", last)]
              if v is not None}
        y = argext_ref(x, op, 0 if axis is None else axis, 1 if kd is None else kd, last)
        unary(name, op, x, y, **kw)
    x = np.array([[1.0, np.nan, 3.0, np.nan], [2.0, 5.0, -1.0, 5.0]], F32)
    unary("m_argmax_nan", "ArgMax", x, argext_ref(x, "ArgMax", 1, 0, 0), axis=1, keepdims=0)
    unary("m_argmin_nan_last", "ArgMin", x, argext_ref(x, "ArgMin", 1, 0, 1), axis=1,
          keepdims=0, select_last_index=1)


# ---- softmax variants, pools, normalization -----------------------------------------------

def log_softmax_ref(x, axis):
    v = x.astype(F64)
    m = v.max(axis=axis, keepdims=True)
    return (v - m - np.log(np.exp(v - m).sum(axis=axis, keepdims=True))).astype(x.dtype)


def hardmax_ref(x, axis):
    idx = np.expand_dims(np.argmax(x, axis=axis), axis)
    y = np.zeros_like(x)
    np.put_along_axis(y, idx, 1, axis=axis)
    return y


def gen_softmax_norm():
    for name, shape, dt, axis, tol in [("m_logsoftmax_default", (3, 5), F32, None, None),
                                       ("m_logsoftmax_axis1", (2, 4, 3), F32, 1, None),
                                       ("m_logsoftmax_large", (2, 4), F64, 0, (1e-12, 1e-12)),
                                       ("m_logsoftmax_f16", (3, 4), F16, -1, F16_TOL)]:
        x = rand(name, shape, dt, -5, 5) * (100 if name.endswith("large") else 1)
        kw = {} if axis is None else {"axis": axis}
        unary(name, "LogSoftmax", x, log_softmax_ref(x, -1 if axis is None else axis), tol,
              **kw)
    x = rand("m_hardmax_default", (3, 5), F32, -5, 5)
    unary("m_hardmax_default", "Hardmax", x, hardmax_ref(x, -1))
    x = rand("m_hardmax_axis0", (4, 2, 3), F64, -5, 5)
    unary("m_hardmax_axis0", "Hardmax", x, hardmax_ref(x, 0), axis=0)
    x = np.array([[1, 3, 3, 2], [4, 4, 4, 4], [0, -1, 5, 5]], F32)   # ties: the first max
    unary("m_hardmax_ties", "Hardmax", x, hardmax_ref(x, 1), axis=1)

    for name, shape, dt in [("m_globalmaxpool_2d", (2, 3, 4, 5), F32),
                            ("m_globalmaxpool_1d_f16", (1, 4, 6), F16),
                            ("m_globalmaxpool_3d", (1, 2, 2, 3, 2), F64)]:
        x = rand(name, shape, dt, -5, 5)
        unary(name, "GlobalMaxPool", x, x.max(axis=tuple(range(2, x.ndim)), keepdims=True))

    for name, shape, dt, eps, tol in [("m_instancenorm_4d", (2, 3, 4, 5), F32, None, None),
                                      ("m_instancenorm_3d_eps", (2, 2, 6), F32, 0.1, None),
                                      ("m_instancenorm_f16", (1, 2, 3, 3), F16, None, F16_TOL)]:
        r = rng_for(name)
        x = opgen.rand(r, shape, dt, -3, 3)
        sc, b = opgen.rand(r, (shape[1],), dt, 0.5, 2), opgen.rand(r, (shape[1],), dt, -1, 1)
        v = x.astype(F64)
        ax = tuple(range(2, x.ndim))
        mean, var = v.mean(axis=ax, keepdims=True), v.var(axis=ax, keepdims=True)
        bshape = (1, shape[1]) + (1,) * (x.ndim - 2)
        e = f32(1e-5 if eps is None else eps)
        y = (v - mean) / np.sqrt(var + e) * sc.astype(F64).reshape(bshape) + \
            b.astype(F64).reshape(bshape)
        kw = {} if eps is None else {"epsilon": eps}
        case(name, [("x", x)], node("y", "InstanceNormalization", ["x", "s", "b"], **kw),
             [("y", y.astype(dt))], consts=[("s", sc), ("b", b)], tol=tol)


# ---- Trilu, DepthToSpace, SpaceToDepth --------------------------------------------------------

def gen_trilu_depth():
    rows = [   # name, shape, dtype, upper, k
        ("m_trilu_upper_default", (4, 5), F32, None, None),
        ("m_trilu_lower", (4, 5), F32, 0, None),
        ("m_trilu_upper_k_pos", (5, 4), I64, 1, 2),
        ("m_trilu_lower_k_neg", (3, 4, 4), F32, 0, -1),
        ("m_trilu_upper_k_neg", (2, 3, 5), I32, 1, -2),
        ("m_trilu_k_large", (3, 3), F32, 1, 10),
        ("m_trilu_lower_k_large_neg", (3, 3), U8, 0, -10),
        ("m_trilu_zero_rows", (0, 3), F32, 1, None),
    ]
    for name, shape, dt, upper, k in rows:
        x = rand(name, shape, dt, 1, 99)
        kk = 0 if k is None else k
        y = np.tril(x, kk) if upper == 0 else np.triu(x, kk)
        kw = {} if upper is None else {"upper": upper}
        args, consts = ["x"], []
        if k is not None:
            args, consts = ["x", "k"], [("k", np.array(k, I64))]
        case(name, [("x", x)], node("y", "Trilu", args, **kw), [("y", y)], consts=consts)
    x4 = rand("m_trilu_i4", (3, 3), I8, -8, 7)
    narrow_case("m_trilu_i4", x4, "i4", [node("y4", "Trilu", ["q"], upper=0)],
                [("y", np.tril(x4))])

    def d2s(x, b, mode):
        n, c, h, w = x.shape
        if mode == "DCR":
            t = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
        else:
            t = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
        return t.reshape(n, c // (b * b), h * b, w * b)

    def s2d(x, b):
        n, c, h, w = x.shape
        t = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
        return t.reshape(n, c * b * b, h // b, w // b)

    for name, shape, dt, b, mode in [("m_depthtospace_dcr", (1, 8, 2, 3), F32, 2, None),
                                     ("m_depthtospace_crd", (2, 8, 2, 2), F32, 2, "CRD"),
                                     ("m_depthtospace_b3_u8", (1, 18, 1, 2), U8, 3, "DCR"),
                                     ("m_depthtospace_b1", (2, 3, 2, 2), F32, 1, "CRD")]:
        x = rand(name, shape, dt, 0, 200)
        kw = {"blocksize": b}
        if mode:
            kw["mode"] = mode
        unary(name, "DepthToSpace", x, d2s(x, b, mode or "DCR"), **kw)
    for name, shape, dt, b in [("m_spacetodepth_b2", (1, 2, 4, 6), F32, 2),
                               ("m_spacetodepth_b3_i64", (2, 1, 3, 6), I64, 3)]:
        x = rand(name, shape, dt, 0, 200)
        unary(name, "SpaceToDepth", x, s2d(x, b), blocksize=b)
    # Round trip: SpaceToDepth undoes DepthToSpace(DCR).
    x = rand("m_depthspace_roundtrip", (1, 4, 3, 3))
    case("m_depthspace_roundtrip", [("x", x)],
         [node("s", "DepthToSpace", ["x"], blocksize=2),
          node("y", "SpaceToDepth", ["s"], blocksize=2)],
         [("s", d2s(x, 2, "DCR")), ("y", x)])
    xs = rand("m_depthtospace_sym", (3, 4, 1, 2))
    case("m_depthtospace_sym", [("x", xs)],
         node("y: f32[N,1,2,4]", "DepthToSpace", ["x"], blocksize=2),
         [("y", d2s(xs, 2, "DCR"))], sym={"x": 0})


# ---- the symbolic batch through the other ops ---------------------------------------------

def gen_sym():
    x = rand("m_sym_x", (3, 4, 2), F32, -3, 3)
    rows = [   # name, body (reads x: f32[N,4,2]), expected outputs, consts
        ("m_sym_reduce_argmax",
         [node("r: f32[N,1,2]", "ReduceL2", ["x", "a"]),
          node("m: i64[N,2]", "ArgMax", ["x"], axis=1, keepdims=0)],
         [("r", reduce_ref("ReduceL2", x, [1], 1)), ("m", argext_ref(x, "ArgMax", 1, 0, 0))],
         [("a", i64(1))]),
        ("m_sym_sum_mod",
         [node("s: f32[N,4,2]", "Sum", ["x", "b", "x"]),
          node("y: f32[N,4,2]", "Mod", ["s", "c"], fmod=1)],
         [("y", np.fmod((x.astype(F64) * 2 + rand("m_sym_b", (2,), F32)).astype(F32), F32(0.75)))],
         [("b", rand("m_sym_b", (2,), F32)), ("c", np.array(0.75, F32))]),
        ("m_sym_trilu_logsoftmax",
         [node("t: f32[N,4,2]", "Trilu", ["x"], upper=0),
          node("y: f32[N,4,2]", "LogSoftmax", ["t"], axis=1)],
         [("y", log_softmax_ref(np.tril(x), 1))], []),
        ("m_sym_unary_chain",
         [node("a: f32[N,4,2]", "Softplus", ["x"]), node("b: f32[N,4,2]", "Neg", ["a"]),
          node("y: bool[N,4,2]", "LessOrEqual", ["b", "z"])],
         [("b", (-softplus(x.astype(F64))).astype(F32)),
          ("y", (-softplus(x.astype(F64))).astype(F32) <= np.float32(-0.5))],
         [("z", np.array(-0.5, F32))]),
    ]
    for name, body, outs, consts in rows:
        case(name, [("x", x)], body, outs, consts=consts, sym={"x": 0})
    x4 = rand("m_sym_pool_norm", (2, 3, 2, 2), F32, -3, 3)
    sc, b = rand("m_sym_sc", (3,), F32, 0.5, 2), rand("m_sym_b2", (3,), F32)
    v = x4.astype(F64)
    mean, var = v.mean(axis=(2, 3), keepdims=True), v.var(axis=(2, 3), keepdims=True)
    inorm = ((v - mean) / np.sqrt(var + f32(1e-5)) * sc.reshape(1, 3, 1, 1) +
             b.reshape(1, 3, 1, 1)).astype(F32)
    case("m_sym_pool_norm", [("x", x4)],
         [node("n: f32[N,3,2,2]", "InstanceNormalization", ["x", "s", "b"]),
          node("y: f32[N,3,1,1]", "GlobalMaxPool", ["n"])],
         [("y", inorm.max(axis=(2, 3), keepdims=True))], consts=[("s", sc), ("b", b)],
         sym={"x": 0})


# ---- errors ------------------------------------------------------------------------------

def err(name, inputs, body, message, consts=(), sym=None, n_out=1):
    r = rng_for(name)
    ins = [(n, a if isinstance(a, np.ndarray) else opgen.rand(r, a[0], a[1]))
           for n, a in inputs]
    outs = [("y" if i == 0 else "y%d" % i, None) for i in range(n_out)]
    case(name, ins, body, outs, consts=consts, expect_error=message, sym=sym)


def gen_errors():
    f = lambda *s: (s, F32)   # noqa: E731
    err("m_err_mod_float_nofmod", [("a", f(3)), ("b", f(3))], "y = Mod(a, b)",
        "float inputs need fmod=1")
    err("m_err_mod_zero", [("a", i64(4, 5)), ("b", i64(2, 0))], "y = Mod(a, b)",
        "integer modulo by zero")
    err("m_err_where_cond_type", [("c", f(2)), ("a", f(2)), ("b", f(2))],
        "y = Where(c, a, b)", "bool (the condition)")
    err("m_err_compare_types", [("a", f(2)), ("b", i64(1, 2))], "y = Less(a, b)",
        "input types differ")
    err("m_err_max_bcast", [("a", f(2, 3)), ("b", f(4)), ("c", f(3))], "y = Max(a, c, b)",
        "do not broadcast")
    err("m_err_expand_bcast", [("x", f(2, 3))], "y = Expand(x, s)", "do not broadcast",
        [("s", i64(4, 4))])
    err("m_err_expand_negative", [("x", f(2, 3))], "y = Expand(x, s)", "shape[0] is -1",
        [("s", i64(-1, 3))])
    err("m_err_tile_repeats_len", [("x", f(2, 3))], "y = Tile(x, r)",
        "repeats has 1 entries for rank 2", [("r", i64(2))])
    err("m_err_sym_tile", [("x", f(2, 3))], "y = Tile(x, r)", "cannot tile axis 0",
        [("r", i64(2, 1))], sym={"x": 0})
    err("m_err_range_delta0", [], "y = Range(s, l, d)", "delta is 0",
        [("s", np.array(0, I64)), ("l", np.array(5, I64)), ("d", np.array(0, I64))])
    err("m_err_range_not_const", [("s", np.array(1.0, F32))], "y = Range(s, l, d)",
        "must be a constant", [("l", np.array(5, F32)), ("d", np.array(1, F32))])
    err("m_err_pad_crop", [("x", f(2, 3))], "y = Pad(x, p)", "crop more than",
        [("p", i64(0, -2, 0, -2))])
    err("m_err_pad_mode", [("x", f(2, 3))], 'y = Pad(x, p) {mode="mirror"}',
        "is not constant, reflect, edge or wrap", [("p", i64(0, 1, 0, 1))])
    err("m_err_pad_reflect_empty", [("x", np.zeros((2, 0), F32))],
        'y = Pad(x, p) {mode="reflect"}', "it has no elements", [("p", i64(0, 1, 0, 1))])
    err("m_err_pad_count", [("x", f(2, 3))], "y = Pad(x, p)", "pads has 3 entries for 2 axes",
        [("p", i64(0, 1, 1))])
    err("m_err_pad_sym", [("x", f(2, 3))], "y = Pad(x, p)", "cannot pad axis 0",
        [("p", i64(1, 0, 0, 0))], sym={"x": 0})
    err("m_err_cos_shape_not_const", [("x", f(2, 3))],
        ["s = Shape(x)", "y = ConstantOfShape(s)"], "must be a constant")
    err("m_err_cos_dtype", [], 'y = ConstantOfShape(s) {dtype="float"}',
        "is not an element type", [("s", i64(2))])
    err("m_err_argmax_empty", [("x", np.zeros((2, 0), F32))], "y = ArgMax(x) {axis=1}",
        "axis 1 is empty")
    err("m_err_d2s_channels", [("x", f(1, 6, 2, 2))], "y = DepthToSpace(x) {blocksize=2}",
        "not a multiple of blocksize")
    err("m_err_s2d_size", [("x", f(1, 1, 3, 4))], "y = SpaceToDepth(x) {blocksize=2}",
        "must be multiples of blocksize")
    err("m_err_dropout_training", [("x", f(2, 3))], "y = Dropout(x, r, t)",
        "training_mode=true is not supported",
        [("r", np.array(0.5, F32)), ("t", np.array(True))])
    err("m_err_reducel2_int", [("x", i64(1, 2))], "y = ReduceL2(x)", "expected f32")
    err("m_err_not_float", [("x", f(3))], "y = Not(x)", "expected bool")
    err("m_err_trilu_rank1", [("x", f(3))], "y = Trilu(x)", "rank >= 2")
    err("m_err_prelu_slope", [("x", f(2, 3)), ("s", f(2))], "y = PRelu(x, s)",
        "do not broadcast")


def main():
    for d in glob.glob(os.path.join(opgen.ROOT, "m_*")):
        shutil.rmtree(d)
    gen_shape()
    gen_constant_of_shape()
    gen_range()
    gen_expand_tile()
    gen_pad()
    gen_compare()
    gen_cast_like()
    gen_dropout()
    gen_unary()
    gen_mod()
    gen_variadic()
    gen_reduce()
    gen_argext()
    gen_softmax_norm()
    gen_trilu_depth()
    gen_sym()
    gen_errors()
    print("wrote %d m_* cases" % len(CASES))


if __name__ == "__main__":
    main()
