# bad_input.sh — every kind of bad input makes `qcomp run` / `inspect` exit 1
# with one line naming the file, tensor or node at fault, and leave no output
# files behind. Bad files live in tests/bad_input/ (npy ones are made by
# tests/bad_input/gen_test_data.py).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"

D=tests/data/cli
B=tests/bad_input
M=$D/small.qcir
X=(--input "x=$D/x.npy")
Y=(--input "y=$D/y.npy")
n=0

# run_bad WHAT TEXT... -- ARGS...: `qcomp run ARGS --output-dir <fresh dir>`
# must fail with every TEXT and create no file.
run_bad() {
    local what=$1 texts=()
    shift
    while [ "$1" != -- ]; do texts+=("$1"); shift; done
    shift
    n=$((n + 1))
    q run "$@" --output-dir "$TMP/o$n"
    expect_error "$what" "${texts[@]}"
    expect_no_files "$what" "$TMP/o$n"
}

# ---- models ----
run_bad "missing model file" "$TMP/nope.qcir" -- "$TMP/nope.qcir" "${X[@]}"
run_bad "model is a directory" "$B" -- "$B"
run_bad "ONNX model" "model.onnx" "ONNX" -- model.onnx
run_bad "syntax error" "$B/models/syntax_error.qcir:5:24:" -- "$B/models/syntax_error.qcir" "${X[@]}"
run_bad "truncated model" "$B/models/truncated.qcir:" -- "$B/models/truncated.qcir" "${X[@]}"
run_bad "binary junk" "$B/models/binary.qcir:1:" -- "$B/models/binary.qcir"
run_bad "unknown op" "$B/models/unknown_op.qcir" "Frobnicate" -- "$B/models/unknown_op.qcir" "${X[@]}"
run_bad "undefined value" "$B/models/undefined_value.qcir" "nothere" -- "$B/models/undefined_value.qcir" "${X[@]}"
run_bad "Gemm shape mismatch" "$B/models/gemm_shape_mismatch.qcir" "'fc'" -- \
    "$B/models/gemm_shape_mismatch.qcir" "${X[@]}"
run_bad "declared type mismatch" "$B/models/declared_type_mismatch.qcir" "relu1" -- \
    "$B/models/declared_type_mismatch.qcir" "${X[@]}"
for model in syntax_error unknown_op gemm_shape_mismatch declared_type_mismatch; do
    q inspect "$B/models/$model.qcir"
    expect_error "inspect $model" "qcomp inspect: " "$B/models/$model.qcir"
done
q inspect "$TMP/nope.qcir"
expect_error "inspect missing model" "$TMP/nope.qcir"

# ---- inputs ----
run_bad "wrong npy dtype" "input 'x': file $B/cli/x_f64.npy has f64[2,4], model expects f32[N,4]" -- \
    "$M" --input "x=$B/cli/x_f64.npy" "${Y[@]}"
run_bad "wrong npy shape" "input 'x': file $B/cli/x_2x5.npy has f32[2,5], model expects f32[N,4]" -- \
    "$M" --input "x=$B/cli/x_2x5.npy" "${Y[@]}"
run_bad "wrong npy rank" "has f32[2,4,1], model expects f32[N,4]" -- "$M" --input "x=$B/cli/x_rank3.npy" "${Y[@]}"
run_bad "inconsistent batch" \
    "input 'y': file $B/cli/y_batch3.npy has f32[3,4], model expects f32[N,4] with N=2 (from input 'x')" -- \
    "$M" "${X[@]}" --input "y=$B/cli/y_batch3.npy"
run_bad "missing input" "missing input 'y'" "model inputs: x: f32[N,4], y: f32[N,4]" -- "$M" "${X[@]}"
run_bad "no inputs" "missing inputs 'x', 'y'" "x: f32[N,4], y: f32[N,4]" -- "$M"
run_bad "unknown input name" "no input named 'q'" "x: f32[N,4], y: f32[N,4]" -- \
    "$M" "${X[@]}" "${Y[@]}" --input "q=$D/x.npy"
run_bad "input given twice" "input 'x' is given twice" -- "$M" "${X[@]}" "${Y[@]}" --input "x=$D/y.npy"
run_bad "bare FILE with two inputs" "has no NAME=" "x: f32[N,4], y: f32[N,4]" -- "$M" --input "$D/x.npy"
run_bad "missing npy file" "input 'x'" "$TMP/none.npy" "cannot open" -- "$M" --input "x=$TMP/none.npy" "${Y[@]}"
run_bad "npy is a directory" "input 'x'" "is a directory" -- "$M" --input "x=$B" "${Y[@]}"
run_bad "corrupt npy" "input 'y'" "$B/npy/data_short.npy" "data is 60 bytes" -- \
    "$M" "${X[@]}" --input "y=$B/npy/data_short.npy"
run_bad "not an npy file" "$M" "bad magic" -- "$M" "${X[@]}" --input "y=$M"

# ---- backend and outputs ----
run_bad "unknown backend" "no device named 'nope'" "available: ref" -- "$M" "${X[@]}" "${Y[@]}" --backend nope
: >"$TMP/afile"
q run "$M" "${X[@]}" "${Y[@]}" --output-dir "$TMP/afile"
expect_error "output dir is a file" "$TMP/afile" "not a directory"
q run "$M" "${X[@]}" "${Y[@]}" --output-dir "$TMP/afile/sub"
expect_error "output dir under a file" "cannot create output directory $TMP/afile" "Not a directory"
if [ ! -s "$TMP/afile" ]; then pass; else fail "the file standing in for a dir was written to"; fi
if [ "$(id -u)" -ne 0 ]; then   # root ignores permissions
    mkdir "$TMP/ro" && chmod 555 "$TMP/ro"
    q run "$M" "${X[@]}" "${Y[@]}" --output-dir "$TMP/ro"
    expect_error "read-only output dir" "$TMP/ro"
    expect_no_files "read-only output dir" "$TMP/ro"
fi

finish
