#!/usr/bin/python3
"""Op cases for the 'nn' group: Gemm, MatMul, Conv, ConvTranspose, Softmax,
LayerNormalization, BatchNormalization, MaxPool, AveragePool,
GlobalAveragePool, ReduceMean, ReduceSum.

Expected outputs come from the small numpy implementations below, written
from the ONNX operator specs (opsets 11-21) and deliberately shaped unlike
the C kernels: convolutions are sums over kernel taps of strided slices of a
padded input, pools stack every tap's slice and reduce across the stack,
ConvTranspose scatters taps into an uncropped buffer and crops it. All math is
float64; results are cast to the case's dtype once at the end.

Run: /usr/bin/python3 tests/ops/gen_nn.py   (rewrites tests/ops/cases/nn_*)
"""
import glob
import os
import shutil

import numpy as np

import opgen
from opgen import rand

F32, F16, F64 = np.float32, np.float16, np.float64
F16_TOL = (2e-3, 2e-3)   # one f16 ulp where summation order differs
CASES = []               # names written, to report the count


# ---- case writing ---------------------------------------------------------

rng_for, fmt_attr, attrs, node = opgen.rng_for, opgen.fmt_attr, opgen.attrs, opgen.node


def case(name, inputs, body, outputs, consts=(), tol=None, expect_error=None, sym=None):
    """opgen.write_case plus `sym`: {input name: dim index} dims to declare as
    the symbolic batch N (the data keeps its concrete size, bound at run time)."""
    assert name.startswith("nn_") and name not in CASES, name
    CASES.append(name)
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
                    ty = line[len(prefix):]
                    dt, dims = ty[:-1].split("[")
                    dims = dims.split(",")
                    dims[dim] = "N"
                    lines[i] = prefix + "%s[%s]" % (dt, ",".join(dims))
        with open(path, "w") as f:
            f.write("\n".join(lines))


def typed(name, ty):
    """An output name with its declared type, which the parser checks against
    inference (used to pin down the symbolic-batch output types)."""
    return name if ty is None else "%s: %s" % (name, ty)


def f32(v):
    """The value a float attribute really has (the IR stores f32)."""
    return float(np.float32(v))


def bf16_round(a):
    """float32 -> nearest bf16 (ties to even), kept in float32."""
    u = np.asarray(a, dtype=F32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(F32)


# ---- numpy references -------------------------------------------------------

def gemm_ref(a, b, c, alpha=1.0, beta=1.0, trans_a=0, trans_b=0):
    a = a.astype(F64).T if trans_a else a.astype(F64)
    b = b.astype(F64).T if trans_b else b.astype(F64)
    y = f32(alpha) * (a @ b)
    if c is not None:
        y = y + f32(beta) * c.astype(F64)
    return y


def same_pads(size, k, s, d, upper):
    """auto_pad SAME_*: output ceil(size/s), pad so the last window fits."""
    out = -(-size // s)
    total = max(0, (out - 1) * s + d * (k - 1) + 1 - size)
    small, big = total // 2, total - total // 2
    return (small, big) if upper else (big, small)


def resolve_pads(x_shape, ks, strides, dils, pads, auto_pad):
    nsp = len(ks)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pp = [same_pads(x_shape[2 + i], ks[i], strides[i], dils[i], auto_pad == "SAME_UPPER")
              for i in range(nsp)]
        return [p[0] for p in pp], [p[1] for p in pp]
    if auto_pad == "VALID" or pads is None:
        return [0] * nsp, [0] * nsp
    return list(pads[:nsp]), list(pads[nsp:])


def conv_ref(x, w, b=None, strides=None, dils=None, pads=None, group=1, auto_pad="NOTSET"):
    x, w = x.astype(F64), w.astype(F64)
    nsp = x.ndim - 2
    ks = w.shape[2:]
    strides = strides or [1] * nsp
    dils = dils or [1] * nsp
    pb, pe = resolve_pads(x.shape, ks, strides, dils, pads, auto_pad)
    xp = np.pad(x, [(0, 0), (0, 0)] + list(zip(pb, pe)))
    out = [(xp.shape[2 + i] - dils[i] * (ks[i] - 1) - 1) // strides[i] + 1 for i in range(nsp)]
    n, m, cg = x.shape[0], w.shape[0], w.shape[1]
    mg = m // group
    y = np.zeros((n, m) + tuple(out))
    for tap in np.ndindex(*ks):
        sl = tuple(slice(tap[i] * dils[i], tap[i] * dils[i] + strides[i] * (out[i] - 1) + 1,
                         strides[i]) for i in range(nsp))
        patch = xp[(slice(None), slice(None)) + sl]            # [N, C, out...]
        for g in range(group):
            wt = w[(slice(g * mg, (g + 1) * mg), slice(None)) + tap]   # [Mg, Cg]
            y[:, g * mg:(g + 1) * mg] += np.einsum("nc...,mc->nm...",
                                                   patch[:, g * cg:(g + 1) * cg], wt)
    if b is not None:
        y += b.astype(F64).reshape((1, m) + (1,) * nsp)
    return y


def conv_transpose_ref(x, w, b=None, strides=None, dils=None, pads=None, group=1,
                       output_padding=None, output_shape=None, auto_pad="NOTSET"):
    x, w = x.astype(F64), w.astype(F64)
    nsp = x.ndim - 2
    ks, ins = w.shape[2:], x.shape[2:]
    strides = strides or [1] * nsp
    dils = dils or [1] * nsp
    opad = output_padding or [0] * nsp
    full = [strides[i] * (ins[i] - 1) + opad[i] + dils[i] * (ks[i] - 1) + 1 for i in range(nsp)]
    if output_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        # ONNX spec: pads from total_padding = full - output_shape.
        out = list(output_shape) if output_shape is not None else [ins[i] * strides[i]
                                                                    for i in range(nsp)]
        total = [max(0, full[i] - out[i]) for i in range(nsp)]
        if auto_pad == "SAME_UPPER":
            pb = [t // 2 for t in total]
        else:
            pb = [t - t // 2 for t in total]
    else:
        pb, pe = resolve_pads(x.shape, ks, strides, dils, pads, auto_pad)
        out = [full[i] - pb[i] - pe[i] for i in range(nsp)]
    c, mg = x.shape[1], w.shape[1]
    cg = c // group
    size = [max(full[i], pb[i] + out[i]) for i in range(nsp)]
    buf = np.zeros((x.shape[0], mg * group) + tuple(size))
    for tap in np.ndindex(*ks):
        sl = tuple(slice(tap[i] * dils[i], tap[i] * dils[i] + strides[i] * (ins[i] - 1) + 1,
                         strides[i]) for i in range(nsp))
        for g in range(group):
            wt = w[(slice(g * cg, (g + 1) * cg), slice(None)) + tap]   # [Cg, Mg]
            contrib = np.einsum("nc...,cm->nm...", x[:, g * cg:(g + 1) * cg], wt)
            buf[(slice(None), slice(g * mg, (g + 1) * mg)) + sl] += contrib
    y = buf[(slice(None), slice(None)) + tuple(slice(pb[i], pb[i] + out[i]) for i in range(nsp))]
    if b is not None:
        y = y + b.astype(F64).reshape((1, -1) + (1,) * nsp)
    return y


def pool_ref(x, kind, ks, strides=None, dils=None, pads=None, ceil_mode=0,
             count_include_pad=0, auto_pad="NOTSET"):
    """Returns (y, indices) for MAX, y for AVG."""
    nsp = len(ks)
    xf = x.astype(F64)
    strides = strides or [1] * nsp
    dils = dils or [1] * nsp
    pb, pe = resolve_pads(x.shape, ks, strides, dils, pads, auto_pad)
    out = []
    for i in range(nsp):
        size, eff = x.shape[2 + i], dils[i] * (ks[i] - 1) + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            o = -(-size // strides[i])
        elif ceil_mode and auto_pad == "NOTSET":
            o = -(-(size + pb[i] + pe[i] - eff) // strides[i]) + 1
            if (o - 1) * strides[i] >= size + pb[i]:   # window starting in end padding
                o -= 1
        else:
            o = (size + pb[i] + pe[i] - eff) // strides[i] + 1
        out.append(o)
    # Tail room for ceil_mode windows that overhang the padded input.
    tail = [max(0, (out[i] - 1) * strides[i] + dils[i] * (ks[i] - 1) + 1
                - (x.shape[2 + i] + pb[i] + pe[i])) for i in range(nsp)]
    widths = [(0, 0), (0, 0)] + [(pb[i], pe[i] + tail[i]) for i in range(nsp)]
    vals = np.pad(xf, widths, constant_values=np.nan)
    flat = np.pad(np.arange(x.size, dtype=np.int64).reshape(x.shape), widths, constant_values=-1)
    # 1 inside the explicitly padded extent (counted by count_include_pad), 0 in the tail.
    inpad = np.pad(np.ones(x.shape), [(0, 0), (0, 0)] + [(pb[i], pe[i]) for i in range(nsp)],
                   constant_values=1.0)
    inpad = np.pad(inpad, [(0, 0), (0, 0)] + [(0, tail[i]) for i in range(nsp)])
    taps_v, taps_i, taps_p = [], [], []
    for tap in np.ndindex(*ks):
        sl = (slice(None), slice(None)) + tuple(
            slice(tap[i] * dils[i], tap[i] * dils[i] + strides[i] * (out[i] - 1) + 1, strides[i])
            for i in range(nsp))
        taps_v.append(vals[sl])
        taps_i.append(flat[sl])
        taps_p.append(inpad[sl])
    v, ix, p = np.stack(taps_v), np.stack(taps_i), np.stack(taps_p)
    if kind == "MAX":
        vm = np.where(np.isnan(v), -np.inf, v)
        arg = np.argmax(vm, axis=0)        # first maximum in tap order
        y = np.take_along_axis(vm, arg[None], 0)[0]
        return y, np.take_along_axis(ix, arg[None], 0)[0]
    s = np.nansum(v, axis=0)
    cnt = p.sum(axis=0) if count_include_pad else (~np.isnan(v)).sum(axis=0)
    return s / cnt


def softmax_ref(x, axis=-1):
    x = x.astype(F64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layernorm_ref(x, scale, b, axis=-1, eps=1e-5):
    x = x.astype(F64)
    axes = tuple(range(axis % x.ndim, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    inv = 1.0 / np.sqrt(((x - mean) ** 2).mean(axis=axes, keepdims=True) + f32(eps))
    y = (x - mean) * inv * scale.astype(F64)
    if b is not None:
        y = y + b.astype(F64)
    return y, mean, inv


def batchnorm_ref(x, scale, b, mean, var, eps=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    r = [a.astype(F64).reshape(shape) for a in (scale, b, mean, var)]
    return (x.astype(F64) - r[2]) / np.sqrt(r[3] + f32(eps)) * r[0] + r[1]


# ---- Gemm / MatMul ----------------------------------------------------------

def gen_gemm():
    r = rng_for("gemm")
    a, b = rand(r, (3, 5)), rand(r, (5, 4))
    case("nn_gemm_basic", [("a", a), ("b", b)], [node(["y"], "Gemm", ["a", "b"])],
         [("y", gemm_ref(a, b, None).astype(F32))])

    # transA/transB, alpha/beta, 1-D C broadcast over rows; weights as constants.
    a, b, c = rand(r, (5, 3)), rand(r, (4, 5)), rand(r, (4,))
    case("nn_gemm_trans_alpha_beta", [("a", a)],
         [node(["y"], "Gemm", ["a", "b", "c"], transA=1, transB=1, alpha=0.5, beta=2.0)],
         [("y", gemm_ref(a, b, c, 0.5, 2.0, 1, 1).astype(F32))], consts=[("b", b), ("c", c)])

    for cname, cshape in (("scalar", ()), ("col", (3, 1)), ("row", (1, 4)), ("full", (3, 4))):
        a, b, c = rand(r, (3, 6)), rand(r, (4, 6)), rand(r, cshape)
        case("nn_gemm_c_" + cname, [("a", a), ("b", b), ("c", c)],
             [node(["y"], "Gemm", ["a", "b", "c"], transB=1, beta=0.75)],
             [("y", gemm_ref(a, b, c, 1.0, 0.75, 0, 1).astype(F32))])

    # Symbolic batch: M = N is copied to the output.
    a, w, c = rand(r, (5, 7)), rand(r, (7, 3)), rand(r, (3,))
    case("nn_gemm_sym_batch", [("x", a)],
         [node([typed("y", "f32[N,3]")], "Gemm", ["x", "w", "c"], alpha=1.5)],
         [("y", gemm_ref(a, w, c, 1.5).astype(F32))], consts=[("w", w), ("c", c)],
         sym={"x": 0})

    a, b, c = rand(r, (4, 9), F16), rand(r, (9, 5), F16), rand(r, (4, 5), F16)
    case("nn_gemm_f16", [("a", a), ("b", b), ("c", c)], [node(["y"], "Gemm", ["a", "b", "c"])],
         [("y", gemm_ref(a, b, c).astype(F16))], tol=F16_TOL)
    a, b = rand(r, (3, 4), F64), rand(r, (3, 2), F64)
    case("nn_gemm_f64", [("a", a), ("b", b)], [node(["y"], "Gemm", ["a", "b"], transA=1)],
         [("y", gemm_ref(a, b, None, trans_a=1))], tol=(1e-12, 1e-14))

    # bf16 has no .npy form: cast in and out around the op.
    a, b = rand(r, (3, 8)), rand(r, (8, 4))
    ab, bb = bf16_round(a), bf16_round(b)
    y = bf16_round(gemm_ref(ab, bb, None).astype(F32))
    case("nn_gemm_bf16", [("a", a), ("b", b)],
         [node(["a16"], "Cast", ["a"], to=16), node(["b16"], "Cast", ["b"], to=16),
          node(["y16"], "Gemm", ["a16", "b16"]), node(["y"], "Cast", ["y16"], to=1)],
         [("y", y)], tol=(8e-3, 8e-3))

    a, b = rand(r, (3, 5)), rand(r, (4, 2))
    case("nn_gemm_err_inner", [("a", a), ("b", b)], [node(["y"], "Gemm", ["a", "b"])],
         [("y", None)], expect_error="inner dims differ")
    # C's concrete rows cannot be checked against a symbolic M.
    a, w, c = rand(r, (5, 7)), rand(r, (7, 3)), rand(r, (5, 3))
    case("nn_gemm_err_sym_c", [("x", a)], [node(["y"], "Gemm", ["x", "w", "c"])], [("y", None)],
         consts=[("w", w), ("c", c)], sym={"x": 0}, expect_error="does not broadcast")
    a, b, c = rand(r, (3, 5)), rand(r, (5, 4)), rand(r, (3,))
    case("nn_gemm_err_c_shape", [("a", a), ("b", b), ("c", c)],
         [node(["y"], "Gemm", ["a", "b", "c"])], [("y", None)], expect_error="does not broadcast")


def gen_matmul():
    r = rng_for("matmul")
    shapes = [("2d", (3, 7), (7, 5)), ("batch", (2, 3, 4), (2, 4, 5)),
              ("broadcast", (2, 1, 3, 4), (3, 4, 2)), ("vec_left", (4,), (2, 4, 3)),
              ("vec_right", (2, 3, 4), (4,)), ("vec_both", (5,), (5,)),
              ("batch_b_only", (3, 4), (2, 2, 4, 3))]
    for name, sa, sb in shapes:
        a, b = rand(r, sa), rand(r, sb)
        case("nn_matmul_" + name, [("a", a), ("b", b)], [node(["y"], "MatMul", ["a", "b"])],
             [("y", np.matmul(a.astype(F64), b.astype(F64)).astype(F32))])
    x, w = rand(r, (4, 6)), rand(r, (6, 3))
    case("nn_matmul_sym_batch", [("x", x)], [node([typed("y", "f32[N,3]")], "MatMul", ["x", "w"])],
         [("y", (x.astype(F64) @ w).astype(F32))], consts=[("w", w)], sym={"x": 0})
    a, b = rand(r, (2, 3, 8), F16), rand(r, (8, 4), F16)
    case("nn_matmul_f16", [("a", a), ("b", b)], [node(["y"], "MatMul", ["a", "b"])],
         [("y", np.matmul(a.astype(F64), b.astype(F64)).astype(F16))], tol=F16_TOL)
    a, b = rand(r, (3, 2, 4)), rand(r, (3, 4, 2))
    case("nn_matmul_err_sym_batch", [("a", a)], [node(["y"], "MatMul", ["a", "b"])],
         [("y", None)], consts=[("b", b)], sym={"a": 0}, expect_error="do not broadcast")
    a, b = rand(r, (2, 3, 4)), rand(r, (2, 5, 2))
    case("nn_matmul_err_inner", [("a", a), ("b", b)], [node(["y"], "MatMul", ["a", "b"])],
         [("y", None)], expect_error="inner dims differ")


# ---- Conv / ConvTranspose -----------------------------------------------------

def conv_case(name, r, xs, ws, bias=True, dtype=F32, tol=None, sym=None, ytype=None, **kw):
    """One Conv case; kw are ONNX attributes (kernel_shape only checked by C)."""
    x, w = rand(r, xs, dtype), rand(r, ws, dtype)
    b = rand(r, (ws[0],), dtype) if bias else None
    ref_kw = {k: v for k, v in kw.items() if k in ("strides", "pads", "group", "auto_pad")}
    if "dilations" in kw:
        ref_kw["dils"] = kw["dilations"]
    y = conv_ref(x, w, b, **ref_kw).astype(dtype)
    ins = ["x", "w"] + (["b"] if bias else [])
    consts = [("w", w)] + ([("b", b)] if bias else [])
    case(name, [("x", x)], [node([typed("y", ytype)], "Conv", ins, **kw)], [("y", y)],
         consts=consts, tol=tol, sym=sym)


def gen_conv():
    r = rng_for("conv")
    conv_case("nn_conv1d_basic", r, (2, 3, 11), (4, 3, 3))
    conv_case("nn_conv1d_stride_dil_pads", r, (2, 2, 13), (3, 2, 3), strides=[2], dilations=[2],
              pads=[1, 2])
    conv_case("nn_conv2d_basic", r, (1, 3, 7, 6), (5, 3, 3, 3), bias=False)
    conv_case("nn_conv2d_pads_strides", r, (2, 3, 9, 8), (4, 3, 3, 2), strides=[2, 3],
              pads=[1, 0, 2, 1])
    conv_case("nn_conv2d_dilations", r, (1, 2, 9, 7), (3, 2, 3, 3), dilations=[2, 1],
              pads=[2, 1, 2, 1])
    conv_case("nn_conv2d_group2", r, (2, 4, 6, 5), (6, 2, 3, 3), group=2, pads=[1, 1, 1, 1])
    conv_case("nn_conv2d_depthwise", r, (2, 5, 7, 7), (5, 1, 3, 3), group=5, pads=[1, 1, 1, 1],
              strides=[2, 2])
    conv_case("nn_conv2d_depthwise_mult2", r, (1, 3, 6, 5), (6, 1, 3, 2), group=3)
    conv_case("nn_conv2d_same_upper", r, (1, 2, 7, 8), (3, 2, 3, 3), strides=[2, 2],
              auto_pad="SAME_UPPER")
    conv_case("nn_conv2d_same_lower", r, (1, 2, 5, 6), (2, 2, 4, 3), auto_pad="SAME_LOWER")
    conv_case("nn_conv2d_same_upper_dil", r, (1, 2, 6, 7), (2, 2, 2, 3), dilations=[2, 2],
              strides=[1, 2], auto_pad="SAME_UPPER")
    conv_case("nn_conv2d_valid", r, (1, 3, 8, 9), (2, 3, 3, 2), strides=[2, 2],
              auto_pad="VALID")
    conv_case("nn_conv2d_kernel_shape_attr", r, (1, 2, 5, 6), (2, 2, 3, 2), kernel_shape=[3, 2],
              pads=[0, 1, 0, 1])
    conv_case("nn_conv2d_pointwise", r, (3, 4, 3, 5), (6, 4, 1, 1))
    conv_case("nn_conv2d_pads_exceed_kernel", r, (1, 1, 3, 3), (2, 1, 2, 2), pads=[3, 2, 2, 3])
    conv_case("nn_conv3d_basic", r, (1, 2, 5, 6, 4), (3, 2, 2, 3, 2), strides=[1, 2, 1],
              pads=[1, 0, 1, 0, 1, 1])
    conv_case("nn_conv3d_group_dil", r, (2, 4, 5, 5, 5), (4, 2, 2, 2, 2), group=2,
              dilations=[2, 1, 2])
    conv_case("nn_conv3d_same_lower", r, (1, 1, 4, 5, 3), (2, 1, 2, 2, 2), strides=[2, 2, 2],
              auto_pad="SAME_LOWER")
    conv_case("nn_conv2d_sym_batch", r, (3, 3, 6, 6), (4, 3, 3, 3), pads=[1, 1, 1, 1],
              sym={"x": 0}, ytype="f32[N,4,6,6]")
    conv_case("nn_conv2d_f16", r, (1, 3, 6, 6), (4, 3, 3, 3), dtype=F16, tol=F16_TOL,
              pads=[1, 1, 1, 1])
    conv_case("nn_conv1d_f64", r, (2, 2, 9), (3, 2, 4), dtype=F64, tol=(1e-12, 1e-14),
              strides=[2])

    x = rand(r, (1, 3, 5, 5))
    case("nn_conv_err_channels", [("x", x)], [node(["y"], "Conv", ["x", "w"])], [("y", None)],
         consts=[("w", rand(r, (4, 2, 3, 3)))], expect_error="X has 3 channels but W expects 2")
    case("nn_conv_err_group", [("x", x)], [node(["y"], "Conv", ["x", "w"], group=3)],
         [("y", None)], consts=[("w", rand(r, (4, 1, 3, 3)))],
         expect_error="not divisible by group 3")
    case("nn_conv_err_kernel_shape", [("x", x)],
         [node(["y"], "Conv", ["x", "w"], kernel_shape=[2, 2])], [("y", None)],
         consts=[("w", rand(r, (2, 3, 3, 3)))], expect_error="kernel_shape[0] = 2 but W")
    case("nn_conv_err_sym_spatial", [("x", x)], [node(["y"], "Conv", ["x", "w"])],
         [("y", None)], consts=[("w", rand(r, (2, 3, 3, 3)))], sym={"x": 2},
         expect_error="symbolic batch dim")
    case("nn_conv_err_kernel_too_big", [("x", x)], [node(["y"], "Conv", ["x", "w"])],
         [("y", None)], consts=[("w", rand(r, (2, 3, 7, 3)))],
         expect_error="larger than the padded")


def convt_case(name, r, xs, ws, bias=True, dtype=F32, tol=None, **kw):
    x, w = rand(r, xs, dtype), rand(r, ws, dtype)
    b = rand(r, (ws[1] * kw.get("group", 1),), dtype) if bias else None
    ref_kw = {k: v for k, v in kw.items()
              if k in ("strides", "pads", "group", "auto_pad", "output_padding", "output_shape")}
    if "dilations" in kw:
        ref_kw["dils"] = kw["dilations"]
    y = conv_transpose_ref(x, w, b, **ref_kw).astype(dtype)
    ins = ["x", "w"] + (["b"] if bias else [])
    consts = [("w", w)] + ([("b", b)] if bias else [])
    case(name, [("x", x)], [node(["y"], "ConvTranspose", ins, **kw)], [("y", y)],
         consts=consts, tol=tol)


def gen_conv_transpose():
    r = rng_for("convt")
    convt_case("nn_convt1d_stride", r, (2, 3, 5), (3, 2, 3), strides=[2])
    convt_case("nn_convt2d_basic", r, (1, 2, 4, 3), (2, 3, 3, 3))
    convt_case("nn_convt2d_pads_strides_dil", r, (2, 2, 4, 5), (2, 3, 3, 2), strides=[2, 3],
               pads=[1, 0, 0, 2], dilations=[1, 2], bias=False)
    convt_case("nn_convt2d_output_padding", r, (1, 2, 3, 4), (2, 2, 3, 3), strides=[2, 2],
               output_padding=[1, 1], pads=[1, 1, 1, 1])
    convt_case("nn_convt2d_output_shape", r, (1, 2, 4, 4), (2, 3, 3, 3), strides=[2, 2],
               output_shape=[8, 9])
    convt_case("nn_convt2d_output_shape_big", r, (1, 1, 3, 3), (1, 2, 2, 2), strides=[2, 2],
               output_shape=[8, 7])
    convt_case("nn_convt2d_same_upper", r, (1, 2, 3, 5), (2, 2, 4, 3), strides=[2, 2],
               auto_pad="SAME_UPPER")
    convt_case("nn_convt2d_same_lower", r, (1, 2, 3, 5), (2, 2, 4, 3), strides=[2, 2],
               auto_pad="SAME_LOWER")
    convt_case("nn_convt2d_valid", r, (1, 3, 3, 3), (3, 2, 2, 3), strides=[1, 2],
               auto_pad="VALID")
    convt_case("nn_convt2d_group2", r, (2, 4, 3, 3), (4, 3, 3, 2), group=2, strides=[2, 1],
               pads=[1, 0, 0, 1])
    convt_case("nn_convt2d_depthwise", r, (1, 3, 4, 4), (3, 1, 3, 3), group=3, strides=[2, 2],
               pads=[1, 1, 1, 1], output_padding=[1, 1])
    convt_case("nn_convt3d", r, (1, 2, 3, 2, 3), (2, 2, 2, 3, 2), strides=[2, 1, 2],
               pads=[0, 1, 1, 1, 0, 0])
    convt_case("nn_convt2d_f16", r, (1, 2, 3, 3), (2, 2, 3, 3), dtype=F16, tol=F16_TOL,
               strides=[2, 2])
    x = rand(r, (1, 2, 3, 3))
    case("nn_convt_err_output_padding", [("x", x)],
         [node(["y"], "ConvTranspose", ["x", "w"], strides=[2, 2], output_padding=[2, 0])],
         [("y", None)], consts=[("w", rand(r, (2, 2, 3, 3)))],
         expect_error="output_padding[0] = 2 must be smaller")
    case("nn_convt_err_channels", [("x", x)], [node(["y"], "ConvTranspose", ["x", "w"])],
         [("y", None)], consts=[("w", rand(r, (3, 2, 3, 3)))],
         expect_error="X has 2 channels but W's dim 0")


# ---- pools ----------------------------------------------------------------------

def pool_case(name, r, op, xs, dtype=F32, indices=False, tol=None, sym=None, ytype=None, **kw):
    if np.dtype(dtype).kind == "f":
        x = rand(r, xs, dtype)
    else:
        info = np.iinfo(dtype)
        x = rand(r, xs, dtype, lo=info.min, hi=info.max)
    ref_kw = {k: v for k, v in kw.items()
              if k in ("strides", "pads", "ceil_mode", "count_include_pad", "auto_pad")}
    if "dilations" in kw:
        ref_kw["dils"] = kw["dilations"]
    ks = kw["kernel_shape"]
    if op == "MaxPool":
        y, idx = pool_ref(x, "MAX", ks, **ref_kw)
        outs = [("y", y.astype(dtype))] + ([("idx", idx)] if indices else [])
    else:
        outs = [("y", pool_ref(x, "AVG", ks, **ref_kw).astype(dtype))]
    names = [typed("y", ytype)] + [n for n, _ in outs[1:]]
    case(name, [("x", x)], [node(names, op, ["x"], **kw)], outs, tol=tol, sym=sym)


def gen_pools():
    r = rng_for("pool")
    pool_case("nn_maxpool1d", r, "MaxPool", (2, 3, 10), kernel_shape=[3], strides=[2])
    pool_case("nn_maxpool2d_basic", r, "MaxPool", (2, 3, 7, 8), kernel_shape=[3, 3],
              strides=[2, 2])
    pool_case("nn_maxpool2d_pads_ceil", r, "MaxPool", (1, 2, 8, 7), kernel_shape=[3, 2],
              strides=[2, 2], pads=[1, 0, 1, 1], ceil_mode=1, indices=True)
    # in 4, k 2, s 2, end pad 1: ceil adds a third window starting in the end
    # padding (at 4); ONNX drops it.
    pool_case("nn_maxpool1d_ceil_drop", r, "MaxPool", (1, 2, 4), kernel_shape=[2], strides=[2],
              pads=[0, 1], ceil_mode=1)
    pool_case("nn_maxpool2d_dilations", r, "MaxPool", (1, 2, 9, 8), kernel_shape=[2, 3],
              dilations=[2, 2], pads=[1, 1, 0, 1], indices=True)
    pool_case("nn_maxpool2d_indices", r, "MaxPool", (2, 3, 5, 6), kernel_shape=[2, 2],
              strides=[2, 2], indices=True)
    pool_case("nn_maxpool2d_same_upper", r, "MaxPool", (1, 2, 7, 6), kernel_shape=[3, 2],
              strides=[2, 2], auto_pad="SAME_UPPER", indices=True)
    pool_case("nn_maxpool2d_same_lower", r, "MaxPool", (1, 2, 5, 5), kernel_shape=[2, 2],
              auto_pad="SAME_LOWER")
    pool_case("nn_maxpool2d_valid", r, "MaxPool", (1, 1, 7, 6), kernel_shape=[3, 3],
              strides=[2, 2], auto_pad="VALID")
    pool_case("nn_maxpool3d_indices", r, "MaxPool", (1, 2, 5, 4, 6), kernel_shape=[2, 2, 3],
              strides=[2, 1, 2], pads=[1, 0, 1, 0, 1, 1], ceil_mode=1, indices=True)
    pool_case("nn_maxpool2d_u8", r, "MaxPool", (1, 2, 6, 6), dtype=np.uint8, kernel_shape=[3, 3],
              strides=[2, 2], pads=[1, 1, 1, 1])
    pool_case("nn_maxpool2d_i8", r, "MaxPool", (1, 2, 5, 5), dtype=np.int8, kernel_shape=[2, 2],
              indices=True)
    pool_case("nn_maxpool2d_f16_sym", r, "MaxPool", (3, 2, 6, 6), dtype=F16, kernel_shape=[2, 2],
              strides=[2, 2], sym={"x": 0}, ytype="f16[N,2,3,3]")
    x = rand(r, (1, 1, 5, 5))
    case("nn_maxpool_err_pads", [("x", x)],
         [node(["y"], "MaxPool", ["x"], kernel_shape=[2, 2], pads=[2, 0, 0, 0])], [("y", None)],
         expect_error="must be smaller than the kernel")
    case("nn_maxpool_err_storage_order", [("x", x)],
         [node(["y"], "MaxPool", ["x"], kernel_shape=[2, 2], storage_order=1)], [("y", None)],
         expect_error="storage_order")
    case("nn_maxpool_err_no_kernel", [("x", x)], [node(["y"], "MaxPool", ["x"])], [("y", None)],
         expect_error="kernel_shape is required")

    pool_case("nn_avgpool1d", r, "AveragePool", (2, 3, 9), kernel_shape=[4], strides=[2])
    pool_case("nn_avgpool2d_pads_exclude", r, "AveragePool", (1, 2, 6, 7), kernel_shape=[3, 3],
              pads=[1, 1, 1, 1], strides=[2, 2])
    pool_case("nn_avgpool2d_pads_include", r, "AveragePool", (1, 2, 6, 7), kernel_shape=[3, 3],
              pads=[1, 2, 1, 1], strides=[2, 2], count_include_pad=1)
    pool_case("nn_avgpool2d_ceil_include", r, "AveragePool", (1, 2, 6, 7), kernel_shape=[3, 2],
              pads=[1, 0, 0, 1], strides=[2, 2], ceil_mode=1, count_include_pad=1)
    pool_case("nn_avgpool2d_ceil_exclude", r, "AveragePool", (2, 2, 7, 6), kernel_shape=[2, 3],
              strides=[2, 2], ceil_mode=1)
    pool_case("nn_avgpool2d_same_upper_include", r, "AveragePool", (1, 2, 7, 6),
              kernel_shape=[3, 4], strides=[2, 2], auto_pad="SAME_UPPER", count_include_pad=1)
    pool_case("nn_avgpool2d_same_lower_exclude", r, "AveragePool", (1, 2, 5, 6),
              kernel_shape=[2, 3], auto_pad="SAME_LOWER")
    pool_case("nn_avgpool2d_dilations", r, "AveragePool", (1, 2, 8, 8), kernel_shape=[2, 2],
              dilations=[3, 2], pads=[1, 1, 1, 1], count_include_pad=1)
    pool_case("nn_avgpool2d_valid", r, "AveragePool", (1, 1, 6, 7), kernel_shape=[2, 3],
              strides=[2, 2], auto_pad="VALID")
    pool_case("nn_avgpool3d", r, "AveragePool", (1, 2, 4, 5, 6), kernel_shape=[2, 3, 2],
              strides=[2, 1, 2], pads=[0, 1, 1, 1, 1, 0])
    pool_case("nn_avgpool2d_f16", r, "AveragePool", (1, 2, 6, 6), dtype=F16, kernel_shape=[3, 3],
              pads=[1, 1, 1, 1], tol=F16_TOL)

    for nsp, shape in ((1, (2, 3, 7)), (2, (2, 3, 5, 4)), (3, (1, 2, 3, 4, 5))):
        x = rand(r, shape)
        y = x.astype(F64).mean(axis=tuple(range(2, 2 + nsp)), keepdims=True)
        case("nn_gap%dd" % nsp, [("x", x)], [node(["y"], "GlobalAveragePool", ["x"])],
             [("y", y.astype(F32))])
    x = rand(r, (3, 4, 5, 5), F16)
    y = x.astype(F64).mean(axis=(2, 3), keepdims=True)
    case("nn_gap2d_f16_sym", [("x", x)],
         [node([typed("y", "f16[N,4,1,1]")], "GlobalAveragePool", ["x"])],
         [("y", y.astype(F16))], tol=F16_TOL, sym={"x": 0})
    case("nn_gap_err_rank", [("x", rand(r, (2, 3)))], [node(["y"], "GlobalAveragePool", ["x"])],
         [("y", None)], expect_error="rank >= 3")


# ---- Softmax / LayerNormalization / BatchNormalization ------------------------------

def gen_norms():
    r = rng_for("norm")
    for name, shape, axis, dtype in (("default", (2, 3, 5), None, F32),
                                     ("axis0", (4, 3), 0, F32),
                                     ("axis_neg2", (2, 5, 3), -2, F32),
                                     ("axis1_4d", (2, 3, 2, 4), 1, F32),
                                     ("1d", (7,), None, F32), ("f16", (3, 6), -1, F16),
                                     ("f64", (2, 4), 1, F64)):
        x = rand(r, shape, dtype, lo=-4.0, hi=4.0)
        kw = {} if axis is None else {"axis": axis}
        y = softmax_ref(x, -1 if axis is None else axis).astype(dtype)
        case("nn_softmax_" + name, [("x", x)], [node(["y"], "Softmax", ["x"], **kw)], [("y", y)],
             tol=F16_TOL if dtype == F16 else None)
    x = rand(r, (4, 3, 5))
    case("nn_softmax_sym_batch", [("x", x)],
         [node([typed("y", "f32[N,3,5]")], "Softmax", ["x"], axis=1)],
         [("y", softmax_ref(x, 1).astype(F32))], sym={"x": 0})
    case("nn_softmax_err_axis", [("x", rand(r, (2, 3)))],
         [node(["y"], "Softmax", ["x"], axis=2)], [("y", None)], expect_error="axis 2 out of range")

    # LayerNormalization: axis, epsilon, optional B, optional Mean / InvStdDev.
    x, s, b = rand(r, (2, 3, 8)), rand(r, (8,)), rand(r, (8,))
    y, _, _ = layernorm_ref(x, s, b)
    case("nn_layernorm_default", [("x", x)], [node(["y"], "LayerNormalization", ["x", "s", "b"])],
         [("y", y.astype(F32))], consts=[("s", s), ("b", b)])
    x, s, b = rand(r, (3, 4, 5)), rand(r, (4, 5)), rand(r, (4, 5))
    y, m, inv = layernorm_ref(x, s, b, axis=1, eps=1e-3)
    case("nn_layernorm_axis1_outputs", [("x", x), ("s", s), ("b", b)],
         [node(["y", "mean", "inv"], "LayerNormalization", ["x", "s", "b"], axis=1, epsilon=1e-3)],
         [("y", y.astype(F32)), ("mean", m.astype(F32)), ("inv", inv.astype(F32))])
    x, s = rand(r, (2, 3, 4, 6)), rand(r, (4, 6))
    y, m, inv = layernorm_ref(x, s, None, axis=-2)
    case("nn_layernorm_no_bias_neg_axis", [("x", x), ("s", s)],
         [node(["y", "mean"], "LayerNormalization", ["x", "s", "_"], axis=-2)],
         [("y", y.astype(F32)), ("mean", m.astype(F32))])
    x, s, b = rand(r, (3, 6)), rand(r, (6,)), rand(r, (1,))   # Scale/B broadcast
    y, m, inv = layernorm_ref(x, s, b, axis=0)
    case("nn_layernorm_axis0_broadcast", [("x", x), ("s", s), ("b", b)],
         [node(["y", "mean", "inv"], "LayerNormalization", ["x", "s", "b"], axis=0)],
         [("y", y.astype(F32)), ("mean", m.astype(F32)), ("inv", inv.astype(F32))])
    x, s, b = rand(r, (2, 3, 16), F16), rand(r, (16,), F16), rand(r, (16,), F16)
    y, m, inv = layernorm_ref(x, s, b)
    case("nn_layernorm_f16", [("x", x), ("s", s), ("b", b)],
         [node(["y", "mean", "inv"], "LayerNormalization", ["x", "s", "b"])],
         [("y", y.astype(F16)), ("mean", m.astype(F32)), ("inv", inv.astype(F32))],
         tol=F16_TOL)
    x, s, b = rand(r, (4, 2, 6)), rand(r, (6,)), rand(r, (6,))
    y, _, _ = layernorm_ref(x, s, b)
    case("nn_layernorm_sym_batch", [("x", x)],
         [node([typed("y", "f32[N,2,6]")], "LayerNormalization", ["x", "s", "b"])],
         [("y", y.astype(F32))], consts=[("s", s), ("b", b)], sym={"x": 0})
    case("nn_layernorm_err_scale", [("x", rand(r, (2, 6)))],
         [node(["y"], "LayerNormalization", ["x", "s"])], [("y", None)],
         consts=[("s", rand(r, (5,)))], expect_error="does not broadcast")

    # BatchNormalization (inference: running mean / var).
    for name, shape, eps in (("2d", (2, 3, 4, 5), None), ("1d_eps", (2, 4, 6), 1e-3),
                             ("rank2", (5, 3), None), ("3d", (1, 2, 3, 2, 3), None)):
        c = shape[1]
        x = rand(r, shape)
        sc, bb, mu = rand(r, (c,)), rand(r, (c,)), rand(r, (c,))
        var = rand(r, (c,), lo=0.1, hi=2.0)
        kw = {} if eps is None else {"epsilon": eps}
        y = batchnorm_ref(x, sc, bb, mu, var, eps if eps is not None else 1e-5)
        case("nn_batchnorm_" + name, [("x", x)],
             [node(["y"], "BatchNormalization", ["x", "sc", "bb", "mu", "var"], **kw)],
             [("y", y.astype(F32))], consts=[("sc", sc), ("bb", bb), ("mu", mu), ("var", var)])
    x = rand(r, (2, 3, 4, 4), F16)
    p = [rand(r, (3,), F16) for _ in range(3)] + [rand(r, (3,), F16, lo=0.5, hi=1.5)]
    case("nn_batchnorm_f16_sym", [("x", x)],
         [node([typed("y", "f16[N,3,4,4]")], "BatchNormalization", ["x", "sc", "bb", "mu", "var"])],
         [("y", batchnorm_ref(x, *p).astype(F16))],
         consts=list(zip(["sc", "bb", "mu", "var"], p)), tol=F16_TOL, sym={"x": 0})
    x = rand(r, (2, 3, 4))
    case("nn_batchnorm_err_channels", [("x", x)],
         [node(["y"], "BatchNormalization", ["x", "sc", "sc", "sc", "v"])], [("y", None)],
         consts=[("sc", rand(r, (4,))), ("v", rand(r, (4,), lo=0.5, hi=1.0))],
         expect_error="expected 1-D with 3 channels")


# ---- ReduceMean / ReduceSum ---------------------------------------------------------

def reduce_case(name, r, op, shape, axes=None, axes_input=None, keepdims=None, noop=None,
                dtype=F32, tol=None, sym=None, ytype=None):
    x = rand(r, shape, dtype)
    kw = {}
    if axes is not None:
        kw["axes"] = axes
    if keepdims is not None:
        kw["keepdims"] = keepdims
    if noop is not None:
        kw["noop_with_empty_axes"] = noop
    ax = axes if axes is not None else axes_input
    kd = bool(1 if keepdims is None else keepdims)
    if not ax and noop:
        y = x.astype(F64)
    else:
        f = np.sum if op == "ReduceSum" else np.mean
        y = f(x.astype(F64), axis=tuple(ax) if ax else None, keepdims=kd)
    ins, consts = ["x"], []
    if axes_input is not None:
        ins.append("axes")
        consts.append(("axes", np.array(axes_input, dtype=np.int64)))
    case(name, [("x", x)], [node([typed("y", ytype)], op, ins, **kw)],
         [("y", np.asarray(y).astype(dtype))],
         consts=consts, tol=tol, sym=sym)


def gen_reduce():
    r = rng_for("reduce")
    reduce_case("nn_reducesum_attr_axes", r, "ReduceSum", (2, 3, 4), axes=[1])
    reduce_case("nn_reducesum_input_axes_neg", r, "ReduceSum", (2, 3, 4, 5), axes_input=[-1, 1],
                keepdims=0)
    reduce_case("nn_reducesum_all", r, "ReduceSum", (3, 4, 5), keepdims=0)
    reduce_case("nn_reducesum_all_keepdims", r, "ReduceSum", (3, 5))
    reduce_case("nn_reducesum_empty_axes_all", r, "ReduceSum", (2, 3, 4), axes_input=[],
                keepdims=1)
    reduce_case("nn_reducesum_noop_empty_axes", r, "ReduceSum", (2, 3, 4), axes_input=[], noop=1)
    reduce_case("nn_reducesum_noop_no_axes", r, "ReduceSum", (3, 2), noop=1)
    reduce_case("nn_reducesum_noop_with_axes", r, "ReduceSum", (3, 4), axes_input=[0], noop=1)
    reduce_case("nn_reducesum_f16", r, "ReduceSum", (4, 9), axes=[-1], dtype=F16, tol=F16_TOL)
    reduce_case("nn_reducemean_attr_axes", r, "ReduceMean", (2, 3, 4, 5), axes=[2, 3])
    reduce_case("nn_reducemean_attr_neg_nokeep", r, "ReduceMean", (3, 4, 5), axes=[-3, -1],
                keepdims=0)
    reduce_case("nn_reducemean_input_axes", r, "ReduceMean", (2, 6, 3), axes_input=[1])
    reduce_case("nn_reducemean_all", r, "ReduceMean", (4, 3, 2))
    reduce_case("nn_reducemean_noop_empty", r, "ReduceMean", (2, 5), axes_input=[], noop=1)
    reduce_case("nn_reducemean_sym_batch_axis", r, "ReduceMean", (4, 3, 5), axes=[0, 2],
                sym={"x": 0}, ytype="f32[1,3,1]")
    reduce_case("nn_reducesum_sym_keep_batch", r, "ReduceSum", (3, 4, 5), axes_input=[-1],
                keepdims=0, sym={"x": 0}, ytype="f32[N,4]")
    reduce_case("nn_reducemean_f64", r, "ReduceMean", (3, 7), axes=[1], dtype=F64,
                tol=(1e-12, 1e-14))
    x = rand(r, (2, 3))
    case("nn_reduce_err_dup_axes", [("x", x)], [node(["y"], "ReduceSum", ["x"], axes=[1, -1])],
         [("y", None)], expect_error="listed twice")
    case("nn_reduce_err_axis_range", [("x", x)],
         [node(["y"], "ReduceMean", ["x"], axes=[2])], [("y", None)],
         expect_error="axis 2 out of range")
    case("nn_reduce_err_axes_not_const", [("x", x), ("axes", np.array([0], dtype=np.int64))],
         [node(["y"], "ReduceSum", ["x", "axes"])], [("y", None)],
         expect_error="must be a constant")


def main():
    for d in glob.glob(os.path.join(opgen.ROOT, "nn_*")):
        shutil.rmtree(d)
    gen_gemm()
    gen_matmul()
    gen_conv()
    gen_conv_transpose()
    gen_pools()
    gen_norms()
    gen_reduce()
    print("wrote %d nn_* cases" % len(CASES))


if __name__ == "__main__":
    main()
