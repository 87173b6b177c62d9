#!/usr/bin/env python3
"""Writes the committed test files for the .npy reader and the CLI (numpy only;
deterministic, so rerunning reproduces them byte for byte):

  tests/data/npy/*.npy         valid files written by numpy itself; the values
                               follow the formulas in tests/unit/test_npy.c
  tests/bad_input/npy/*.npy    malformed files, one fault each (test_npy.c
                               lists the error each must produce)
  tests/data/cli/*.npy         inputs and expected outputs of small.qcir
  tests/bad_input/cli/*.npy    inputs of the wrong dtype / shape for small.qcir

Run from the source root:  /usr/bin/python3 tests/bad_input/gen_test_data.py
"""
import os

import numpy as np
from numpy.lib import format as npformat

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA_NPY = os.path.join(ROOT, "tests", "data", "npy")
DATA_CLI = os.path.join(ROOT, "tests", "data", "cli")
BAD_NPY = os.path.join(ROOT, "tests", "bad_input", "npy")
BAD_CLI = os.path.join(ROOT, "tests", "bad_input", "cli")


def save(directory, name, array, version=None):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        npformat.write_array(f, array, version=version, allow_pickle=False)


def valid_files():
    # Each value is a function of the flat index i, mirrored in test_npy.c.
    i = np.arange
    save(DATA_NPY, "f32_2x3.npy", (i(6, dtype=np.float32) * 0.5 - 1).reshape(2, 3))
    save(DATA_NPY, "f64_scalar.npy", np.array(3.25, dtype=np.float64))
    save(DATA_NPY, "f16_5.npy", (i(5) * 0.25 - 0.5).astype(np.float16))
    save(DATA_NPY, "i64_2x2x2.npy", ((i(8, dtype=np.int64) - 4) * 10**12).reshape(2, 2, 2))
    save(DATA_NPY, "i32_4.npy", i(4, dtype=np.int32) * -100000)
    save(DATA_NPY, "i16_3x1.npy", (i(3, dtype=np.int16) * 1000 - 1000).reshape(3, 1))
    save(DATA_NPY, "i8_7.npy", i(7, dtype=np.int8) * 20 - 60)
    save(DATA_NPY, "u8_2x4.npy", (i(8) * 30).astype(np.uint8).reshape(2, 4))
    save(DATA_NPY, "bool_6.npy", i(6) % 3 == 0)
    save(DATA_NPY, "f32_0x3.npy", np.zeros((0, 3), dtype=np.float32))
    save(DATA_NPY, "f32_rank8.npy", i(256, dtype=np.float32).reshape((2,) * 8))
    save(DATA_NPY, "f32_v2.npy", i(4, dtype=np.float32), version=(2, 0))
    save(DATA_NPY, "f32_v3.npy", i(4, dtype=np.float32), version=(3, 0))


def header(d, version=1):
    """A well-formed npy preamble around the header text `d` (padded to 64)."""
    text = d.encode("latin1")
    pre = 10 if version == 1 else 12
    pad = (64 - (pre + len(text) + 1) % 64) % 64
    text += b" " * pad + b"\n"
    size = len(text).to_bytes(2 if version == 1 else 4, "little")
    return b"\x93NUMPY" + bytes([version, 0]) + size + text


def hdr(descr="'<f4'", fortran="False", shape="(4,)"):
    return header("{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape))


def bad(name, data):
    os.makedirs(BAD_NPY, exist_ok=True)
    with open(os.path.join(BAD_NPY, name), "wb") as f:
        f.write(data)


def malformed_files():
    f4 = np.arange(4, dtype=np.float32).tobytes()
    good = hdr() + f4
    bad("empty.npy", b"")
    bad("bad_magic.npy", b"\x92NUMPY" + good[6:])
    bad("text_file.npy", b"1.0, 2.0, 3.0\n")
    bad("truncated_magic.npy", b"\x93NUM")
    bad("truncated_header.npy", good[:8])
    bad("header_past_eof.npy", good[:8] + (1000).to_bytes(2, "little") + good[10:60])
    bad("bad_version.npy", good[:6] + bytes([9, 0]) + good[8:])
    bad("v2_truncated.npy", b"\x93NUMPY\x02\x00\x40\x00")
    bad("not_a_dict.npy", header("hello, world") + f4)
    bad("no_descr.npy", header("{'fortran_order': False, 'shape': (4,), }") + f4)
    bad("no_fortran_order.npy", header("{'descr': '<f4', 'shape': (4,), }") + f4)
    bad("no_shape.npy", header("{'descr': '<f4', 'fortran_order': False, }") + f4)
    bad("unknown_descr.npy", hdr(descr="'<c8'") + f4 + f4)
    bad("object_descr.npy", hdr(descr="'|O'") + f4 + f4)
    bad("structured_descr.npy", hdr(descr="[('a', '<f4')]") + f4)
    bad("big_endian.npy", hdr(descr="'>f4'") + np.arange(4, dtype=">f4").tobytes())
    bad("fortran_garbage.npy", hdr(fortran="1") + f4)
    with open(os.path.join(BAD_NPY, "fortran_order.npy"), "wb") as f:
        npformat.write_array(f, np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    bad("shape_not_tuple.npy", hdr(shape="[4]") + f4)
    bad("bad_shape_text.npy", hdr(shape="(2, x)") + f4)
    bad("shape_no_comma.npy", hdr(shape="(2 2)") + f4)
    bad("unterminated_shape.npy", header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2") + f4)
    bad("negative_dim.npy", hdr(shape="(-1, 4)") + f4)
    bad("huge_dim.npy", hdr(shape="(99999999999999999999,)") + f4)
    bad("huge_numel.npy", hdr(shape="(1000000, 1000000, 1000000)") + f4)
    bad("rank9.npy", hdr(shape="(1, 1, 1, 1, 1, 1, 1, 1, 1)") + f4[:4])
    bad("data_short.npy", hdr(shape="(4, 4)") + f4 * 3 + f4[:12])
    bad("data_long.npy", hdr(shape="(4, 4)") + f4 * 4 + f4[:4])
    bad("data_missing.npy", hdr())


def cli_files():
    # small.qcir computes r = Relu(x + y), "h/out" = Gemm(r, w, b), z = Sigmoid(h).
    # Quarter-step inputs keep r and h exact in f32 whatever the summation order,
    # so the CLI test can compare those files with `cmp`.
    w = np.array([[0.5, -1, 2, 0.25], [1, 1, 1, 1], [0, 0, 0, 3]], dtype=np.float64)
    b = np.array([0.5, -0.25, 1], dtype=np.float64)
    x = ((np.arange(8) % 5) * 0.5 - 1).reshape(2, 4).astype(np.float32)
    y = ((np.arange(8) % 3) * 0.25 - 0.25).reshape(2, 4).astype(np.float32)
    r = np.maximum(x.astype(np.float64) + y, 0)
    h = r @ w.T + b
    z = 1 / (1 + np.exp(-h))
    save(DATA_CLI, "x.npy", x)
    save(DATA_CLI, "y.npy", y)
    save(DATA_CLI, "r.npy", r.astype(np.float32))
    save(DATA_CLI, "h_out.npy", h.astype(np.float32))
    save(DATA_CLI, "z.npy", z.astype(np.float32))
    save(BAD_CLI, "x_f64.npy", x.astype(np.float64))
    save(BAD_CLI, "x_2x5.npy", np.zeros((2, 5), dtype=np.float32))
    save(BAD_CLI, "x_rank3.npy", np.zeros((2, 4, 1), dtype=np.float32))
    save(BAD_CLI, "y_batch3.npy", np.zeros((3, 4), dtype=np.float32))


if __name__ == "__main__":
    valid_files()
    malformed_files()
    cli_files()
