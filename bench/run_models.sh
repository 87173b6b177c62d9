#!/usr/bin/env bash
# run_models.sh — resnet18 and mobilenet_v2 (torchvision, weights=None,
# generated on demand by tests/models/gen_models.py --large) at batch 1 and 8:
# qcomp int8 and fp32 on every backend that opens here against ONNX Runtime
# int8 (the QDQ model `qcomp quantize --scheme int8` writes) and ORT fp32.
# Writes bench/results/models.json and models.png.
#
#   bench/run_models.sh                  # RUNS=20 timed runs each
#   RUNS=3 WARMUP=1 BATCHES=1 bench/run_models.sh
#
# Environment: RUNS (20), WARMUP (3), THREADS (2), BATCHES ("1 8"), BACKENDS
# (default: every device `qcomp bench --list-backends` prints), QCOMP
# (build/qcomp), MODELS_DIR (build/large: where the generated models go),
# OUT (bench/results). Every tool gets the same input: a seeded
# np.random.RandomState(BATCH).randn(BATCH, 3, 224, 224), which is also the
# calibration data (a timing benchmark, not an accuracy one).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
THREADS=${THREADS:-2}
BATCHES=${BATCHES:-1 8}
QCOMP=${QCOMP:-build/qcomp}
MODELS_DIR=${MODELS_DIR:-build/large}
OUT=${OUT:-bench/results}
PY=/usr/bin/python3

[ -x "$QCOMP" ] || { echo "run_models: no qcomp at $QCOMP (build it, or set QCOMP=)" >&2; exit 1; }
say() { echo "run_models: $*" >&2; }
if [ ! -f "$MODELS_DIR/resnet18/model.onnx" ] || [ ! -f "$MODELS_DIR/mobilenet_v2/model.onnx" ]; then
    "$PY" -c "import torchvision" 2>/dev/null ||
        { say "needs python3-torchvision to generate the models (scripts/setup.sh --generators)"; exit 1; }
    say "generating resnet18 and mobilenet_v2 into $MODELS_DIR"
    "$PY" tests/models/gen_models.py --large "$MODELS_DIR" >&2
fi
command -v node >/dev/null || { say "node not found (the ONNX Runtime peer needs it)"; exit 1; }
[ -d bench/peers/ort/node_modules/onnxruntime-node ] || bench/peers/ort/install.sh >&2
mkdir -p "$OUT"
W=$(mktemp -d "${TMPDIR:-/tmp}/run_models.XXXXXX")
trap 'rm -rf "$W"' EXIT
LINES=$W/lines.jsonl
: >"$LINES"

# tag CASE: adds "case": CASE to every JSON line on stdin (report.py compares
# rows within a case only).
tag() {
    "$PY" -c 'import json, sys
for line in sys.stdin:
    if line.strip():
        print(json.dumps({**json.loads(line), "case": sys.argv[1]}))' "$1"
}

for name in resnet18 mobilenet_v2; do
    model=$MODELS_DIR/$name/model.onnx
    for b in $BATCHES; do
        case="$name b$b"
        x=$W/x$b.npy
        "$PY" -c "import numpy as np, sys; b = int(sys.argv[2]); \
np.save(sys.argv[1], np.random.RandomState(b).randn(b, 3, 224, 224).astype(np.float32))" "$x" "$b"
        # --force: all-int8 for every tool (no int8-vs-fp32 guard fallback)
        "$QCOMP" quantize "$model" --scheme int8 --calib "$x" --force -o "$W/q.onnx" >/dev/null
        for be in ${BACKENDS:-$("$QCOMP" bench --list-backends)}; do
            say "$case: qcomp $be int8 ($RUNS runs)"
            "$QCOMP" bench "$model" --backend "$be" --scheme int8 --input "$x" --runs "$RUNS" \
                --warmup "$WARMUP" --threads "$THREADS" --json "$W/q.json" >/dev/null
            tag "$case" <"$W/q.json" >>"$LINES"
            say "$case: qcomp $be fp32 ($RUNS runs)"
            "$QCOMP" bench "$model" --backend "$be" --input "$x" --runs "$RUNS" \
                --warmup "$WARMUP" --threads "$THREADS" --json "$W/f.json" >/dev/null
            tag "$case" <"$W/f.json" >>"$LINES"
        done
        for m in "$model:fp32" "$W/q.onnx:int8"; do
            say "$case: ort ${m##*:}"
            node bench/peers/ort/bench.js --model "${m%:*}" --input "$x" --runs "$RUNS" \
                --warmup "$WARMUP" --threads "$THREADS" --precision "${m##*:}" | tag "$case" >>"$LINES"
        done
    done
done

"$PY" - "$W/extras.json" "$RUNS" "$WARMUP" "$THREADS" <<'PY'
import json, sys
path, runs, warmup, threads = sys.argv[1:]
json.dump({"runs": int(runs), "warmup": int(warmup), "threads": int(threads),
           "loadavg_after": open("/proc/loadavg").read().split()[:3]}, open(path, "w"))
PY
"$PY" bench/report.py --lines "$LINES" --extras "$W/extras.json" \
    --title "resnet18 / mobilenet_v2 (random weights), int8, $RUNS runs, $THREADS threads" \
    -o "$OUT/models.json"
"$PY" bench/plot.py "$OUT/models.json" -o "$OUT/models.png"
