# inspect.sh — `qcomp inspect`: canonical IR on stdout (stable under a second
# round), summary on stderr, --no-verify, write errors.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"

M=tests/data/cli/small.qcir

q inspect "$M"
expect_rc "inspect small" 0
expect_out "inspect small" "qcir 1" "graph small batch N {" "input x: f32[N,4]" "Gemm(r, w, b)" "output r"
expect_err "inspect small summary" "graph 'small' (batch N): 2 inputs, 3 outputs" \
    "nodes: 4 (Gemm 1, Relu 1, Sigmoid 1, Add 1)" "constants: 2 (60 bytes)"
if grep -q "nodes:" "$TMP/stdout"; then fail "summary went to stdout"; else pass; fi

# Printing is canonical: inspecting the printed IR gives the same text.
cp "$TMP/stdout" "$TMP/a.qcir"
q inspect "$TMP/a.qcir"
expect_rc "inspect printed IR" 0
if cmp -s "$TMP/stdout" "$TMP/a.qcir"; then pass; else fail "print -> parse -> print changed the text"; fi
q run "$TMP/a.qcir" --input x=tests/data/cli/x.npy --input y=tests/data/cli/y.npy --output-dir "$TMP/o"
expect_rc "run the printed IR" 0
if cmp -s "$TMP/o/h_out.npy" tests/data/cli/h_out.npy; then pass; else fail "printed IR computes something else"; fi

q inspect examples/models/seed_fnn.qcir --no-verify
expect_rc "inspect seed_fnn" 0
expect_err "inspect seed_fnn" "nodes: 12 (Gemm 6, Relu 5, Sigmoid 1)"

# --no-verify skips only the verifier.
q inspect tests/bad_input/models/syntax_error.qcir --no-verify
expect_error "--no-verify still parses" "syntax_error.qcir:5:24:"

# A failed write of the IR is an error, not a silent truncation.
if [ -w /dev/full ]; then
    "$QCOMP" inspect "$M" >/dev/full 2>"$TMP/stderr"
    rc=$?
    expect_rc "inspect > /dev/full" 1
    expect_err "inspect > /dev/full" "qcomp inspect: cannot write"
fi

finish
