# artifact.sh — `qcomp compile` to .qcm, then `inspect` and `run` on the
# artifact: outputs identical to running the source model, clear errors for
# unavailable targets, bad options and damaged artifacts, and never a
# (partial) output file after an error.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"

M=tests/models/seed_fnn
A=$TMP/fnn.qcm

q compile $M/model.onnx -o "$A"
expect_rc "compile onnx" 0
if [ -s "$A" ] && [ "$(head -c 7 "$A")" = QCMODEL ]; then pass; else fail "no artifact written"; fi

q inspect "$A"
expect_rc "inspect artifact" 0
expect_out "inspect prints the graph" "graph torch_jit batch N" "input \"input\": f32[N,200]"
expect_err "inspect lists the sections" "artifact: 4 sections" "GRAPH" "CONSTANTS" "PLAN       ref" \
    "TARGET     ref" "arena: "

q run "$A" --input $M/input_0.npy --output-dir "$TMP/a"
expect_rc "run artifact" 0
q run $M/model.onnx --input $M/input_0.npy --output-dir "$TMP/b"
expect_rc "run onnx" 0
if cmp -s "$TMP/a/output.npy" "$TMP/b/output.npy"; then pass; else fail "artifact output differs"; fi

# Without --backend an artifact runs on the best device it has code for
# that opens here: a cpu artifact on cpu (the same bytes as --backend cpu),
# a cuda one on a machine without a GPU on ref, saying so.
built=$("$QCOMP" compile --help | sed -n 's/.*those built in: \([a-z,]*\)).*/\1/p')
devices=$(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$QCOMP" bench --list-backends)
if [[ ",$built," == *,cpu,* ]] && grep -qx cpu <<<"$devices"; then
    q compile $M/model.onnx --target cpu -o "$TMP/c.qcm"
    expect_rc "compile cpu" 0
    q run "$TMP/c.qcm" --input $M/input_0.npy --output-dir "$TMP/c1"
    expect_rc "run cpu artifact, default device" 0
    q run "$TMP/c.qcm" --input $M/input_0.npy --output-dir "$TMP/c2" --backend cpu
    expect_rc "run cpu artifact, --backend cpu" 0
    if cmp -s "$TMP/c1/output.npy" "$TMP/c2/output.npy"; then pass; else fail "default device is not cpu"; fi
fi
if [[ ",$built," == *,cuda,* ]] && ! grep -qx cuda <<<"$devices"; then
    q compile $M/model.onnx --target cuda -o "$TMP/g.qcm"
    expect_rc "compile cuda" 0
    q run "$TMP/g.qcm" --input $M/input_0.npy --output-dir "$TMP/g1"
    expect_rc "run cuda artifact without a GPU" 0
    expect_err "falls back to ref" "cuda does not open here; running on ref"
    if cmp -s "$TMP/g1/output.npy" "$TMP/b/output.npy"; then pass; else fail "ref fallback output differs"; fi
fi

# a static batch, and a text IR model
q compile tests/ir/quant.qcir --batch 4 -o "$TMP/q4.qcm"
expect_rc "compile --batch" 0
q inspect "$TMP/q4.qcm"
expect_out "batch bound" "input x: u8[4,16]"

# errors: nothing written
q compile tests/ir/quant.qcir --target ref,tpu -o "$TMP/x.qcm"
expect_error "unknown target in a list" "unknown target 'tpu'"
q compile tests/ir/quant.qcir --target ref,,cpu -o "$TMP/x.qcm"
expect_error "empty list entry" "empty or overlong entry in the target list"
q compile tests/ir/quant.qcir --target tpu -o "$TMP/x.qcm"
expect_error "unknown target" "unknown target 'tpu'"
q compile tests/bad_input/does_not_exist.qcir -o "$TMP/x.qcm"
expect_error "missing model" "does_not_exist.qcir"
q compile "$TMP/missing_dir/../../nope/nope.qcir" -o "$TMP/x.qcm"
expect_rc "bad model path" 1
if [ ! -e "$TMP/x.qcm" ]; then pass; else fail "an artifact was left after errors"; fi
q compile tests/ir/quant.qcir -o "$TMP/no/such/dir/x.qcm"
expect_error "unwritable output" "cannot write $TMP/no/such/dir/x.qcm"
q compile tests/ir/quant.qcir
expect_rc "no -o" 2
q compile tests/ir/quant.qcir --batch 0 -o "$TMP/x.qcm"
expect_rc "bad --batch" 2

# damaged artifacts: one clear line naming the file
head -c 1000 "$A" >"$TMP/cut.qcm"
q run "$TMP/cut.qcm" --input $M/input_0.npy
expect_error "truncated artifact" "$TMP/cut.qcm" "truncated"
cp "$A" "$TMP/flip.qcm"
printf '\x55' | dd of="$TMP/flip.qcm" bs=1 seek=300 conv=notrunc status=none
q inspect "$TMP/flip.qcm"
expect_error "corrupted artifact" "$TMP/flip.qcm" "CRC mismatch"
finish
