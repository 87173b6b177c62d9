# mixed.sh — `qcomp quantize --scheme mixed`: the digits CNN with labels
# meets a top-1 budget (checked from the JSON report and by re-measuring the
# written model with `qcomp run`), a relative-error budget on the
# transformer block, the .onnx export of a scheme mix (runs and matches the
# .qcir form bit for bit), and the errors: usage (exit 2) for a missing or
# malformed budget, an unreachable budget (exit 1, naming the best value),
# no partial output file.
#   bash tests/cli/mixed.sh build/qcomp        (from the source root)
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"

D=tests/models/digits_cnn
T=tests/models/transformer_block

q quantize $D/model.onnx --scheme mixed --calib $D/calib_x.npy --val $D/test_x.npy \
    --labels $D/test_y.npy --accuracy-budget 0.3 --report "$TMP/d.json" -o "$TMP/d.qcir"
expect_rc "digits mixed 0.3 pp" 0
expect_out "digits table" "mixed precision (cost model: cpu, budget: top-1 drop <= 0.3 pp)" \
    "sensitivity (this layer alone)" "estimated cost (ns/sample, cpu): float " \
    "measured top-1 drop: " "budget 0.3 pp, met"
if /usr/bin/python3 - "$TMP/d.json" <<'PY'; then pass; else fail "digits JSON report / budget"; fi
import json, sys
r = json.load(open(sys.argv[1]))
m = r["mixed"]
assert m["metric"] == "top1_drop_pp" and m["budget"] == 0.3 and m["met"] is True
assert len(m["layers"]) == 3 and all(len(l["candidates"]) >= 2 for l in m["layers"])
assert m["cost_after"] < m["cost_float"] and m["cost_cheapest"] <= m["cost_after"]
drop = 100 * (r["accuracy_before"] - r["accuracy_after"])
assert drop <= 0.3 + 1e-9, drop
assert abs(drop - m["achieved"]) < 1e-6, (drop, m["achieved"])
PY
# the written model, run independently: its top-1 on the 360 test images
q run "$TMP/d.qcir" --input $D/test_x.npy --output-dir "$TMP/d_out" --quiet
expect_rc "run the mixed digits model" 0
if /usr/bin/python3 - "$TMP/d_out" <<'PY'; then pass; else fail "digits: re-measured drop exceeds 0.3 pp"; fi
import glob, sys, numpy as np
y = np.load("tests/models/digits_cnn/test_y.npy")
logits = np.load(glob.glob(sys.argv[1] + "/*.npy")[0])
acc = float((logits.argmax(1) == y).mean())
drop = 100 * (0.9638888888888889 - acc)
print("digits mixed: top-1 %.4f, drop %+.2f pp" % (acc, drop))
assert drop <= 0.3 + 1e-9
PY

q quantize $T/model.onnx --scheme mixed --calib $T/input_0.npy --accuracy-budget rel=0.003 \
    --report "$TMP/t.json" -o "$TMP/t.qcir"
expect_rc "transformer mixed rel=0.003" 0
expect_out "transformer table" "budget: output relative L2 error <= 0.003" "met;"
if /usr/bin/python3 - "$TMP/t.json" <<'PY'; then pass; else fail "transformer JSON / budget"; fi
import json, sys
m = json.load(open(sys.argv[1]))["mixed"]
assert m["metric"] == "rel_err" and m["met"] and m["achieved"] <= 0.003, m["achieved"]
assert len(m["layers"]) == 6
PY
q run "$TMP/t.qcir" --input $T/input_0.npy --output-dir "$TMP/t_out" --quiet
expect_rc "run the mixed transformer" 0
# rel=0.003 of the whole output, as qcomp compare's rel L2 reports it
if "$QCOMP" compare "$TMP/t_out/output.npy" $T/output_0.npy --rtol 1 --atol 1 |
    /usr/bin/python3 -c "import re,sys; s=sys.stdin.read(); e=float(re.search(r'rel L2 err ([0-9.e+-]+)', s).group(1)); print('transformer re-measured rel L2', e); assert e <= 0.003 * 1.01"; then
    pass; else fail "transformer: re-measured rel. error exceeds 0.003"; fi

# a mix of int4-weight, int8 and fp8 (cuda cost model) exports to QDQ ONNX
q quantize $D/model.onnx --scheme mixed --calib $D/calib_x.npy --target cuda \
    --accuracy-budget rel=0.05 -o "$TMP/m.onnx"
expect_rc "mixed -> onnx" 0
expect_out "cuda cost model" "cost model: cuda"
q quantize $D/model.onnx --scheme mixed --calib $D/calib_x.npy --target cuda \
    --accuracy-budget rel=0.05 -o "$TMP/m.qcir"
expect_rc "mixed -> qcir" 0
q run "$TMP/m.onnx" --input $D/input_0.npy --output-dir "$TMP/m_onnx" --quiet
expect_rc "run the exported mix" 0
q run "$TMP/m.qcir" --input $D/input_0.npy --output-dir "$TMP/m_qcir" --quiet
q compare "$TMP/m_qcir/logits.npy" "$TMP/m_onnx/logits.npy" --rtol 0 --atol 0
expect_rc "exported mix matches qcir" 0

# errors
mkdir -p "$TMP/out"
q quantize $T/model.onnx --scheme mixed --calib $T/input_0.npy --candidates int4-weight,int8 \
    --accuracy-budget rel=0.000001 -o "$TMP/out/x.qcir"
expect_rc "unreachable budget" 1
expect_err "unreachable budget" "cannot be met with candidates int4-weight,int8" \
    "best assignment measured has relative error"
expect_no_files "no output after an unreachable budget" "$TMP/out"
q quantize $D/model.onnx --scheme mixed --calib $D/calib_x.npy -o "$TMP/out/x.qcir"
expect_rc "missing budget" 2
expect_err "missing budget" "--scheme mixed needs --accuracy-budget"
for b in abc -1 rel= rel=-0.1 nan 0.5pp 101 rel=x; do
    q quantize $D/model.onnx --scheme mixed --calib $D/calib_x.npy --val $D/test_x.npy \
        --labels $D/test_y.npy --accuracy-budget "$b" -o "$TMP/out/x.qcir"
    expect_rc "malformed budget '$b'" 2
    expect_err "malformed budget '$b'" "--accuracy-budget '$b' is neither"
done
q quantize $D/model.onnx --scheme mixed --calib $D/calib_x.npy --accuracy-budget 0.5 -o "$TMP/out/x.qcir"
expect_rc "pp budget without labels" 2
expect_err "pp budget without labels" "needs --val and --labels"
q quantize $D/model.onnx --scheme int8 --calib $D/calib_x.npy --accuracy-budget 0.5 -o "$TMP/out/x.qcir"
expect_rc "budget without mixed" 2
expect_err "budget without mixed" "--accuracy-budget goes with --scheme mixed"
q quantize $D/model.onnx --scheme mixed --calib $D/calib_x.npy --accuracy-budget rel=0.1 \
    --candidates int8,fp16 -o "$TMP/out/x.qcir"
expect_rc "fp16 is not a per-layer candidate" 2
q quantize $D/model.onnx --scheme mixed --calib $D/calib_x.npy --accuracy-budget rel=0.1 \
    --target tpu -o "$TMP/out/x.qcir"
expect_rc "unknown target" 2
q quantize $D/model.onnx --scheme mixed --accuracy-budget rel=0.1 -o "$TMP/out/x.qcir"
expect_error "mixed without data" "needs data to measure on"
expect_no_files "no partial output" "$TMP/out"

finish
