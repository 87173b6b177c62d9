#!/usr/bin/python3
"""Expected quantized constants for tests/unit/test_quantize.c, computed
independently of qcomp with numpy (float32 arithmetic, np.rint = round half
to even, as ir/quant.h). Writes tests/quant/small.qcir (a Gemm with a
[4,80] weight), tests/quant/calib_x.npy and tests/quant/expected/
<scheme>__<value>.npy for every constant the quantizer must produce.

    /usr/bin/python3 tests/quant/gen_expected.py

Seeded: a rerun reproduces the committed files byte for byte."""
import os
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "expected")
f32 = np.float32

rng = np.random.RandomState(7)
W = (rng.randn(4, 80) * 0.3).astype(f32)
W[2, 40:] *= 4.0           # a block with a larger range, so per-block scales differ
B = (rng.randn(4) * 0.1).astype(f32)
X = rng.randn(16, 80).astype(f32)


def fmt(v):
    """Shortest %g form that reads back to the same float32 (as ir/print.c)."""
    for p in range(6, 10):
        s = "%.*g" % (p, v)
        if f32(s) == v:
            break
    return s


def write_model():
    lines = ["qcir 1", "graph small batch N {", "  input x: f32[N,80]",
             "  const w: f32[4,80] = [" + ", ".join(fmt(v) for v in W.ravel()) + "]",
             "  const b: f32[4] = [" + ", ".join(fmt(v) for v in B) + "]",
             "  y: f32[N,4] = Gemm(x, w, b) {transB=1}", "  output y", "}"]
    with open(os.path.join(HERE, "small.qcir"), "w") as f:
        f.write("\n".join(lines) + "\n")
    np.save(os.path.join(HERE, "calib_x.npy"), X)


def save(scheme, name, a):
    np.save(os.path.join(OUT, "%s__%s.npy" % (scheme, name)), np.ascontiguousarray(a))


def sym_weights(w, qmax, axis_rows=True):
    amax = np.abs(w).max(axis=1) if axis_rows else np.abs(w).max()
    s = (amax / f32(qmax)).astype(f32)
    s = np.where(s > 0, s, f32(1)).astype(f32)
    q = np.clip(np.rint((w / (s[:, None] if axis_rows else s)).astype(f32)), -qmax, qmax)
    return q, s


def act_u8(x):
    lo, hi = min(f32(x.min()), f32(0)), max(f32(x.max()), f32(0))
    s = f32(f32(hi - lo) / f32(255))
    zp = np.clip(np.rint(f32(f32(0) - f32(lo / s))), 0, 255)
    return s, zp


def fp8_e4m3(v):
    """Round to e4m3fn (RNE), saturating at 448."""
    a = np.abs(v).astype(np.float64)
    e = np.floor(np.log2(np.where(a > 0, a, 1.0)))
    e = np.maximum(e, -6)                   # subnormals share the 2^-6 exponent
    step = 2.0 ** (e - 3)
    r = np.rint(a / step) * step
    r = np.minimum(r, 448.0)
    return (np.sign(v) * r).astype(f32)


def bf16(v):
    u = v.astype(f32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return (u.astype(np.uint32) << 16).view(f32)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    write_model()
    # int8 static: per-channel symmetric i8 weights [-127,127], u8 asymmetric
    # activations (min/max), i32 bias with scale s_x * s_w.
    q, s = sym_weights(W, 127)
    sx, zx = act_u8(X)
    save("int8", "w_quantized", q.astype(np.int8))
    save("int8", "w_scale", s)
    save("int8", "x_scale", np.array(sx, dtype=f32))
    save("int8", "x_zero_point", np.array(zx, dtype=np.uint8))
    bs = (sx * s).astype(f32)
    save("int8", "b_scale", bs)
    save("int8", "b_quantized", np.rint((B / bs).astype(f32)).astype(np.int32))
    # 16x8: i16 symmetric activations.
    save("16x8", "x_scale", np.array(f32(np.abs(X).max()) / f32(32767), dtype=f32))
    save("16x8", "w_quantized", q.astype(np.int8))
    # int8-weight / int4-weight: blocks of 32 along K (80 -> 3 blocks), symmetric.
    for scheme, qmax, dt in (("int8-weight", 127, np.int8), ("int4-weight", 7, np.int8)):
        s = np.zeros((4, 3), f32)
        qw = np.zeros_like(W)
        for blk in range(3):
            sl = slice(32 * blk, min(80, 32 * blk + 32))
            a = np.abs(W[:, sl]).max(axis=1)
            s[:, blk] = np.where(a > 0, a / f32(qmax), f32(1))
            qw[:, sl] = np.clip(np.rint((W[:, sl] / s[:, blk:blk + 1]).astype(f32)), -qmax, qmax)
        save(scheme, "w_scale", s)
        save(scheme, "w_quantized", qw.astype(dt))
    # fp8-e4m3: per-tensor scales amax / 448, weights rounded to e4m3.
    sw = f32(f32(np.abs(W).max()) / f32(448))
    save("fp8-e4m3", "w_scale", np.array(sw, dtype=f32))
    save("fp8-e4m3", "w_quantized", fp8_e4m3((W / sw).astype(f32)))
    save("fp8-e4m3", "x_scale", np.array(f32(np.abs(X).max()) / f32(448), dtype=f32))
    # int8-dynamic: per-tensor symmetric i8 weights, transposed to [K,N].
    q, s = sym_weights(W, 127, axis_rows=False)
    save("int8-dynamic", "w_quantized", np.ascontiguousarray(q.T).astype(np.int8))
    save("int8-dynamic", "w_scale", np.array(s, dtype=f32))
    # Variants (file prefix "<scheme>+<flag>+..."): --per-tensor, --asymmetric,
    # --act-type i8.
    q, s = sym_weights(W, 127, axis_rows=False)
    save("int8+per-tensor", "w_quantized", q.astype(np.int8))
    save("int8+per-tensor", "w_scale", np.array(s, dtype=f32))
    save("int8+per-tensor", "b_quantized",
         np.rint((B / f32(sx * s)).astype(f32)).astype(np.int32))
    # asymmetric i8 weights per channel: range includes 0, [-128, 127]
    lo = np.minimum(W.min(axis=1), 0).astype(f32)
    hi = np.maximum(W.max(axis=1), 0).astype(f32)
    s = ((hi - lo) / f32(255)).astype(f32)
    zp = np.clip(np.rint((f32(-128) - lo / s).astype(f32)), -128, 127)
    save("int8+asymmetric", "w_scale", s)
    save("int8+asymmetric", "w_zero_point", zp.astype(np.int8))
    save("int8+asymmetric", "w_quantized",
         np.clip(np.rint((W / s[:, None]).astype(f32)) + zp[:, None], -128, 127).astype(np.int8))
    # i8 activations: symmetric, scale amax / 127
    save("int8+act-i8", "x_scale", np.array(f32(np.abs(X).max()) / f32(127), dtype=f32))
    save("int8+act-i8", "x_zero_point", np.array(0, dtype=np.int8))
    # asymmetric int4 blocks: u4 with zero point, range includes 0
    s = np.zeros((4, 3), f32)
    zq = np.zeros((4, 3), np.uint8)
    qw = np.zeros(W.shape, np.uint8)
    for blk in range(3):
        sl = slice(32 * blk, min(80, 32 * blk + 32))
        lo = np.minimum(W[:, sl].min(axis=1), 0).astype(f32)
        hi = np.maximum(W[:, sl].max(axis=1), 0).astype(f32)
        sc = ((hi - lo) / f32(15)).astype(f32)
        z = np.clip(np.rint((f32(0) - lo / sc).astype(f32)), 0, 15)
        s[:, blk], zq[:, blk] = sc, z
        qw[:, sl] = np.clip(np.rint((W[:, sl] / sc[:, None]).astype(f32)) + z[:, None], 0, 15)
    save("int4-weight+asymmetric", "w_scale", s)
    save("int4-weight+asymmetric", "w_zero_point", zq)
    save("int4-weight+asymmetric", "w_quantized", qw)
    # fp16 / bf16: constants converted (stored here as their f32 values).
    save("fp16", "w", W.astype(np.float16).astype(f32))
    save("bf16", "w", bf16(W))


if __name__ == "__main__":
    main()
