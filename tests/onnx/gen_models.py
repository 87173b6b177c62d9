#!/usr/bin/env python3
"""Generates the handcrafted ONNX models used by tests/unit/test_onnx_import.c
(good ones and hostile ones). Run with Debian's python3-onnx:

    /usr/bin/python3 tests/onnx/gen_models.py

The outputs are committed; rerun after editing. No model is passed through
onnx.checker: many are invalid on purpose."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
F = TensorProto.FLOAT


def model(nodes, inputs, outputs, inits=(), opset=17, extra_opsets=(), name="g"):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    m = helper.make_model(g, opset_imports=ops, producer_name="qcomp-tests")
    m.ir_version = 8
    return m


def save(m, *path):
    full = os.path.join(HERE, *path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(m.SerializeToString())


def vi(name, dtype=F, shape=(2, 3)):
    return helper.make_tensor_value_info(name, dtype, shape)


def raw_tensor(name, dtype, dims, raw):
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    t.raw_data = raw
    return t


def external_tensor(name, dims, location, offset=None, length=None):
    t = TensorProto()
    t.name = name
    t.data_type = F
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, str(v)
    return t


def good_models():
    w = np.array([[0.5, -1, 2], [0.25, 1, -3]], np.float32)
    # x + w (typed float_data) -> Relu
    save(model([helper.make_node("Add", ["x", "w"], ["s"], name="add"),
                helper.make_node("Relu", ["s"], ["y"], name="relu")],
               [vi("x")], [vi("y")],
               [helper.make_tensor("w", F, [2, 3], w.flatten().tolist())]), "add_relu.onnx")

    # The same values through every encoding: typed fields vs raw_data.
    vals = {
        "f32": (F, np.array([1.5, -2, 0.25, 3], np.float32)),
        "f64": (TensorProto.DOUBLE, np.array([1.5, -2, 0.25, 3], np.float64)),
        "i64": (TensorProto.INT64, np.array([1, -2, 1 << 40, 3], np.int64)),
        "i32": (TensorProto.INT32, np.array([1, -2, 70000, 3], np.int32)),
        "i16": (TensorProto.INT16, np.array([1, -2, -30000, 3], np.int16)),
        "i8": (TensorProto.INT8, np.array([1, -2, -128, 127], np.int8)),
        "u8": (TensorProto.UINT8, np.array([1, 2, 255, 0], np.uint8)),
        "bool": (TensorProto.BOOL, np.array([True, False, True, True])),
        "f16": (TensorProto.FLOAT16, np.array([1.5, -2, 0.25, 65504], np.float16)),
    }
    inits, outs = [], []
    for key, (dt, a) in vals.items():
        if dt == TensorProto.BOOL:
            typed = helper.make_tensor(f"{key}_typed", dt, [4], a.astype(np.int32).tolist())
        else:
            typed = helper.make_tensor(f"{key}_typed", dt, [4], a.tolist())
        raw = raw_tensor(f"{key}_raw", dt, [4], a.tobytes())
        inits += [typed, raw]
        outs += [helper.make_tensor_value_info(f"{key}_typed", dt, [4]),
                 helper.make_tensor_value_info(f"{key}_raw", dt, [4])]
    # bf16 and int4 only exist as bit patterns.
    # make_tensor stores f16/bf16 values as bit patterns in int32_data.
    inits.append(helper.make_tensor("bf16_typed", TensorProto.BFLOAT16, [2], [1.5, -2.0]))
    inits.append(raw_tensor("bf16_raw", TensorProto.BFLOAT16, [2], bytes([0xC0, 0x3F, 0x00, 0xC0])))
    t = TensorProto(); t.name = "i4_typed"; t.data_type = 22; t.dims.extend([3]); t.int32_data.extend([0x2F, 0x07])
    inits.append(t)
    inits.append(raw_tensor("i4_raw", 22, [3], bytes([0x2F, 0x07])))
    for key, dt, n in (("bf16", TensorProto.BFLOAT16, 2), ("i4", 22, 3)):
        outs += [helper.make_tensor_value_info(f"{key}_typed", dt, [n]),
                 helper.make_tensor_value_info(f"{key}_raw", dt, [n])]
    save(model([], [], outs, inits, opset=21), "encodings.onnx")

    # External data: w lives in weights.bin at offset 16 (data after junk).
    ext = np.arange(6, dtype=np.float32) - 2.5
    with open(os.path.join(HERE, "external", "weights.bin"), "wb") as f:
        f.write(b"0123456789abcdef" + ext.tobytes() + b"trailing")
    save(model([helper.make_node("Add", ["x", "w"], ["y"], name="add")], [vi("x")], [vi("y")],
               [external_tensor("w", [2, 3], "weights.bin", 16, 24)]), "external", "model.onnx")
    # Hostile external data next to the good one.
    for fname, loc, off, ln in (("escape_dotdot.onnx", "../add_relu.onnx", None, None),
                                ("escape_absolute.onnx", "/etc/hostname", None, None),
                                ("out_of_range.onnx", "weights.bin", 40, 24),
                                ("wrong_length.onnx", "weights.bin", 0, 20),
                                ("missing_file.onnx", "nothere.bin", None, None),
                                ("symlink.onnx", "link.bin", None, None)):
        save(model([helper.make_node("Add", ["x", "w"], ["y"], name="add")], [vi("x")], [vi("y")],
                   [external_tensor("w", [2, 3], loc, off, ln)]), "external", fname)
    # A huge shape over a small file: refused before anything is allocated.
    save(model([helper.make_node("Add", ["x", "w"], ["y"], name="add")], [vi("x")], [vi("y")],
               [external_tensor("w", [1 << 38], "weights.bin")]), "external", "huge.onnx")

    # Softmax at opset 11 coerces to 2-D at axis 1: [2,3,4] -> [2,12].
    save(model([helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=1)],
               [vi("x", F, (2, 3, 4))], [vi("y", F, (2, 3, 4))], opset=11), "softmax_opset11.onnx")
    # ... which needs a static shape there.
    save(model([helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=1)],
               [vi("x", F, ("N", 3, 4))], [vi("y", F, ("N", 3, 4))], opset=11),
         "softmax_opset11_symbolic.onnx")

    # A symbolic batch dim, Constant nodes of every kind, ConstantOfShape.
    save(model([helper.make_node("Constant", [], ["c1"], value_float=2.0),
                helper.make_node("Constant", [], ["c2"], value_ints=[3, 4]),
                helper.make_node("Constant", [], ["c3"], value=helper.make_tensor("v", F, [4], [1, 2, 3, 4])),
                helper.make_node("Mul", ["x", "c1"], ["m"], name="mul"),
                helper.make_node("Add", ["m", "c3"], ["y"], name="add"),
                helper.make_node("ConstantOfShape", ["c2"], ["z"], name="cos",
                                 value=helper.make_tensor("v", TensorProto.INT64, [1], [7]))],
               [vi("x", F, ("batch", 4))], [vi("y", F, ("batch", 4)), vi("z", TensorProto.INT64, (3, 4))]),
         "constants_batch.onnx")

    # com.microsoft contrib ops quantized models use.
    U8 = TensorProto.UINT8
    save(model([helper.make_node("QLinearAdd", ["a", "s", "z", "b", "s", "z", "cs", "z"], ["c"],
                                 name="qadd", domain="com.microsoft"),
                helper.make_node("Gelu", ["x"], ["y"], name="gelu", domain="com.microsoft")],
               [vi("a", U8, (2,)), vi("b", U8, (2,)), vi("x", F, (2,))],
               [vi("c", U8, (2,)), vi("y", F, (2,))],
               [helper.make_tensor("s", F, [], [0.5]), helper.make_tensor("cs", F, [], [1.0]),
                helper.make_tensor("z", U8, [], [0])], extra_opsets=[("com.microsoft", 1)]),
         "contrib_ops.onnx")

    # Nodes listed in reverse order: still a valid graph once sorted.
    save(model([helper.make_node("Relu", ["s"], ["y"], name="relu"),
                helper.make_node("Add", ["x", "x"], ["s"], name="add")],
               [vi("x")], [vi("y")]), "unsorted.onnx")


def bad_models():
    d = "bad"
    add = [helper.make_node("Add", ["x", "w"], ["y"], name="add")]
    io = ([vi("x")], [vi("y")])
    save(model(add, *io, [raw_tensor("w", F, [2, 3], b"\0" * 20)]), d, "raw_length.onnx")
    short = helper.make_tensor("w", F, [5], [1, 2, 3, 4, 5])
    short.dims[:] = [2, 3]   # make_tensor checks the count; this model lies on purpose
    save(model(add, *io, [short]), d, "typed_length.onnx")
    save(model(add, *io, [raw_tensor("w", F, [1 << 62, 4], b"\0" * 16)]), d, "huge_dims_overflow.onnx")
    save(model(add, *io, [raw_tensor("w", F, [1 << 30, 1 << 20], b"\0" * 16)]), d, "huge_dims.onnx")
    save(model(add, *io, [raw_tensor("w", F, [-1, 3], b"\0" * 12)]), d, "negative_dims.onnx")
    i8 = TensorProto(); i8.name = "w"; i8.data_type = TensorProto.INT8; i8.dims.extend([2, 3])
    i8.int32_data.extend([1, 2, 3, 4, 5, 300])
    save(model(add, *io, [i8]), d, "int8_range.onnx")
    s = TensorProto(); s.name = "w"; s.data_type = TensorProto.STRING; s.dims.extend([1]); s.string_data.append(b"x")
    save(model(add, *io, [s]), d, "string_tensor.onnx")
    save(model([helper.make_node("Add", ["x", "b"], ["a"], name="first"),
                helper.make_node("Relu", ["a"], ["b"], name="second"),
                helper.make_node("Identity", ["a"], ["y"], name="out")], *io), d, "cycle.onnx")
    save(model([helper.make_node("Add", ["x", "nothere"], ["y"], name="add")], *io), d, "dangling.onnx")
    save(model([helper.make_node("Relu", ["x"], ["y"], name="r1"),
                helper.make_node("Sigmoid", ["x"], ["y"], name="r2")], *io), d, "duplicate_output.onnx")
    save(model([helper.make_node("Relu", ["x"], ["t"], name="r")], *io), d, "missing_output.onnx")
    save(model([helper.make_node("Resize", ["x"], ["a"], name="up1"),
                helper.make_node("Relu", ["a"], ["b"], name="ok"),
                helper.make_node("Resize", ["b"], ["c"], name="up2"),
                helper.make_node("NonMaxSuppression", ["c"], ["d"], name="nms"),
                helper.make_node("Frobnicate", ["d"], ["y"], name="frob", domain="com.example")],
               *io, extra_opsets=[("com.example", 1)]), d, "unsupported_ops.onnx")
    save(model([helper.make_node("Add", ["x", "z"], ["y"], name="add")],
               [vi("x", F, ("batch", 3)), vi("z", F, (2, "seq"))], [vi("y")]), d, "two_symbols.onnx")
    save(model([helper.make_node("Relu", ["x"], ["y"])], *io, opset=22), d, "opset_too_new.onnx")
    save(model([helper.make_node("Clip", ["x"], ["y"], min=0.0)], *io, opset=6), d, "old_opset_op.onnx")
    seq = helper.make_tensor_sequence_value_info("x", F, None)
    save(model([helper.make_node("Identity", ["x"], ["y"])], [seq], [vi("y")]), d, "sequence_input.onnx")
    save(model([helper.make_node("Relu", ["x"], ["y"], name="r", alpha=helper.make_graph([], "sub", [], []))],
               *io), d, "graph_attr.onnx")
    save(model([helper.make_node("Gemm", ["x", "x"], ["y"], name="mm")], *io), d, "shape_error.onnx")
    with open(os.path.join(HERE, d, "not_onnx.onnx"), "wb") as f:
        f.write(b"qcir 1\ngraph main {\n}\n")


if __name__ == "__main__":
    good_models()
    bad_models()
