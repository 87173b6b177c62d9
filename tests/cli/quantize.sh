# quantize.sh — `qcomp quantize` end to end: every scheme writes a model that
# `qcomp run` accepts, the report (table + JSON), pass-through of a
# pre-quantized model, and clear one-line errors for bad calibration data and
# options, never leaving a (partial) output file behind.
#   bash tests/cli/quantize.sh build/qcomp        (from the source root)
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"

D=tests/models/digits_cnn
for s in int8 int8-dynamic int8-weight int4-weight fp16 bf16 fp8-e4m3 fp8-e5m2 16x8 kmeans; do
    q quantize $D/model.onnx --scheme $s --calib $D/calib_x.npy -o "$TMP/$s.qcir"
    expect_rc "quantize $s" 0
    expect_out "$s table" "layer" "constants: 7592 -> "
    q run "$TMP/$s.qcir" --input $D/input_0.npy --quiet
    expect_rc "run $s" 0
done

# --force: at batch 1 the int8-vs-fp32 guard keeps this small CNN float
# (tests/cli/guard.sh); the report of all three quantized layers is checked here.
q quantize $D/model.onnx --scheme int8 --method entropy --calib $D/calib_x.npy --force \
    --val $D/test_x.npy --labels $D/test_y.npy --report "$TMP/r.json" -o "$TMP/e.qcir"
expect_rc "int8 entropy with report" 0
expect_out "accuracy line" "top-1 accuracy on 360 samples: 0.9639 -> "
if /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); \
assert len(r['layers']) == 3 and r['bytes_before'] == 7592 and r['accuracy_before'] > 0.96" \
    "$TMP/r.json"; then pass; else fail "JSON report"; fi

q quantize tests/models/digits_cnn_qdq/model.onnx --scheme int8 -o "$TMP/p.qcir"
expect_rc "pre-quantized" 0
expect_out "pass-through note" "already quantized"

# bad calibration data: one-line errors naming the file and the input
/usr/bin/python3 - "$TMP" <<'PY'
import sys, numpy as np
t = sys.argv[1]
x = np.load("tests/models/digits_cnn/calib_x.npy"); x[3, 0, 2, 2] = np.nan
np.save(t + "/nan.npy", x)
np.save(t + "/shape.npy", np.zeros((4, 1, 7, 8), np.float32))
np.save(t + "/empty.npy", np.zeros((0, 1, 8, 8), np.float32))
np.save(t + "/f64.npy", np.zeros((4, 1, 8, 8)))
PY
mkdir -p "$TMP/out"
q quantize $D/model.onnx --scheme int8 --calib "$TMP/nan.npy" -o "$TMP/out/x.qcir"
expect_error "NaN" "nan.npy" "'input'" "non-finite"
q quantize $D/model.onnx --scheme int8 --calib "$TMP/shape.npy" -o "$TMP/out/x.qcir"
expect_error "shape" "shape.npy" "f32[4,1,7,8]" "f32[N,1,8,8]"
q quantize $D/model.onnx --scheme int8 --calib "$TMP/empty.npy" -o "$TMP/out/x.qcir"
expect_error "empty" "empty.npy" "empty"
q quantize $D/model.onnx --scheme int8 --calib "$TMP/f64.npy" -o "$TMP/out/x.qcir"
expect_error "dtype" "f64.npy" "f64[4,1,8,8]"
q quantize $D/model.onnx --scheme int8 --calib "$TMP/missing.npy" -o "$TMP/out/x.qcir"
expect_error "missing file" "missing.npy"
q quantize $D/model.onnx --scheme int8 -o "$TMP/out/x.qcir"
expect_error "no calibration" "needs calibration data"
q quantize $D/model.onnx --scheme int8 --calib $D/calib_x.npy -o "$TMP/out/missing/x.onnx"
expect_rc "onnx export into a missing dir" 1
expect_err "onnx export into a missing dir" "missing/x.onnx"
expect_no_files "no partial output" "$TMP/out"

# usage errors: exit 2
q quantize $D/model.onnx --scheme int9 -o "$TMP/out/x.qcir"
expect_rc "unknown scheme" 2
expect_err "unknown scheme" "unknown scheme 'int9'"
q quantize $D/model.onnx --scheme int8 --method kl -o "$TMP/out/x.qcir"
expect_rc "unknown method" 2
q quantize $D/model.onnx --scheme int4-weight --group 48 -o "$TMP/out/x.qcir"
expect_rc "bad group" 2
q quantize $D/model.onnx --scheme int8
expect_rc "no output" 2
# -o .onnx: a standard QDQ ONNX model that qcomp (and ONNX Runtime) can run,
# giving the same outputs as the .qcir form.
q quantize $D/model.onnx --scheme int8 --calib $D/calib_x.npy -o "$TMP/q.onnx"
expect_rc "quantize int8 -> onnx" 0
q run "$TMP/q.onnx" --input $D/input_0.npy --output-dir "$TMP/onnx_out" --quiet
expect_rc "run exported onnx" 0
q run "$TMP/int8.qcir" --input $D/input_0.npy --output-dir "$TMP/qcir_out" --quiet
expect_rc "run int8 qcir" 0
for f in "$TMP"/qcir_out/*.npy; do
    q compare "$f" "$TMP/onnx_out/$(basename "$f")" --rtol 0 --atol 0
    expect_rc "onnx export matches qcir: $(basename "$f")" 0
done

q quantize --help
expect_rc "help" 0
expect_out "help text" "usage: qcomp quantize"
finish
