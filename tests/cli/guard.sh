# guard.sh — the int8-vs-fp32 guard of `qcomp quantize` (passes/quant_guard.h):
# on a forced sse2 variant the seed FNN's small layers stay float and the
# report says why, --force quantizes them, the JSON report carries "guard",
# `qcomp inspect` shows qc.precision, ONNX export drops it, and bad
# --target / --isa / --batch are usage errors.
#   bash tests/cli/guard.sh build/qcomp        (from the source root)
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"

D=tests/models/seed_fnn
q quantize $D/model.onnx --scheme int8 --calib $D/input_0.npy --isa sse2 \
    --report "$TMP/r.json" -o "$TMP/g.qcir"
expect_rc "guard sse2" 0
expect_out "guard header" "int8-vs-fp32 guard (int8 on sse2, batch 1; estimated time per call):"
expect_out "fc1 quantized" "/fc1/Gemm" "int8: est "
expect_out "fc6 kept float" "kept float: int8 est " ">= fp32 " " us on sse2" "guard: 3 of 6 layers kept float"
if grep -E '^  /fc6/Gemm +Gemm +kept float: int8 est [0-9.e-]+ us >= fp32 [0-9.e-]+ us on sse2$' \
    "$TMP/stdout" >/dev/null; then pass; else fail "fc6 report line"; fi
if /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); g=r['guard']; \
assert g['isa'] == 'sse2' and g['kept_float'] == 3 and len(g['layers']) == 6; \
assert [l['quantized'] for l in g['layers']] == [True]*3 + [False]*3; \
assert len(r['layers']) == 3; \
assert g['layers'][5]['reason'].startswith('kept float: int8 est ')" "$TMP/r.json"
then pass; else fail "JSON guard member"; fi

q inspect "$TMP/g.qcir"
expect_rc "inspect" 0
expect_out "inspect precision" 'qc.precision="kept float: int8 est ' 'qc.precision="int8: est '
if [ "$(grep -c 'qc.precision=' "$TMP/stdout")" -eq 6 ]; then pass; else fail "6 annotated layers"; fi

q quantize $D/model.onnx --scheme int8 --calib $D/input_0.npy --isa sse2 --force -o "$TMP/f.qcir"
expect_rc "guard --force" 0
expect_out "forced" "int8 on sse2, batch 1, --force" "int8 (forced): int8 est " "guard: 0 of 6 layers kept float"

q quantize $D/model.onnx --scheme int8 --calib $D/input_0.npy --isa sse2 -o "$TMP/g.onnx"
expect_rc "guard -> onnx" 0
if ! grep -q "qc.precision" "$TMP/g.onnx"; then pass; else fail "qc.precision exported to ONNX"; fi

q quantize $D/model.onnx --scheme int4-weight -o "$TMP/w.qcir"
expect_rc "weight-only not judged" 0
if ! grep -q "guard" "$TMP/stdout"; then pass; else fail "guard ran for int4-weight"; fi

q quantize $D/model.onnx --scheme int8 --calib $D/input_0.npy --isa avx9 -o "$TMP/x.qcir"
expect_rc "bad isa" 2
expect_err "bad isa" "--isa is sse2, avx2, avxvnni or avx512vnni, got 'avx9'"
q quantize $D/model.onnx --scheme int8 --calib $D/input_0.npy --target cuda --isa sse2 -o "$TMP/x.qcir"
expect_rc "isa with cuda" 2
q quantize $D/model.onnx --scheme int8 --calib $D/input_0.npy --target tpu -o "$TMP/x.qcir"
expect_rc "bad target" 2
q quantize $D/model.onnx --scheme int8 --calib $D/input_0.npy --batch 0 -o "$TMP/x.qcir"
expect_rc "bad batch" 2
q quantize $D/model.onnx --scheme int8 --calib $D/input_0.npy --target cuda -o "$TMP/c.qcir"
expect_rc "guard cuda" 0
expect_out "cuda header" "int8 on cuda, batch 1"
finish
