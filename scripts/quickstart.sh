#!/usr/bin/env bash
# From a fresh machine: install what is missing, build, then take the seed
# benchmark's network (tests/models/seed_fnn/model.onnx: a PyTorch-exported
# FNN 200-128-64-32-16-8-1, batch 1000) through the path users take:
#
#   ONNX -> int8 static PTQ (calibrated on bundled data, disjoint from the
#   test input) -> cpu artifact (LLVM-generated code in a .qcm) -> run
#
# and print the int8 model's agreement with fp32 (and of fp32 with PyTorch),
# then the speed of both. Without the cpu backend (LLVM missing) it says so
# and uses the ref interpreter instead.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
./scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo

q=./build/qcomp
model=tests/models/seed_fnn/model.onnx
input=tests/models/seed_fnn/input_0.npy       # rand(1000, 200), seed 1000
torch_out=tests/models/seed_fnn/output_0.npy  # PyTorch's fp32 output
calib=examples/models/seed_fnn_calib.npy      # rand(256, 200), seed 2000
runs=${RUNS:-1000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

target=ref
if "$q" bench --list-backends 2>/dev/null | grep -qx cpu; then
  target=cpu
else
  echo "note: the cpu backend is not built (LLVM 19 missing?); using the ref interpreter"
fi

echo
echo "== 1. quantize $model to int8 (static PTQ, calibration: $calib)"
# --batch 1000: the int8-vs-fp32 guard estimates at the batch step 3 runs
"$q" quantize "$model" --scheme int8 --calib "$calib" --batch 1000 -o "$work/int8.qcir" | tail -4

echo
echo "== 2. compile fp32 and int8 to $target artifacts"
"$q" compile "$model" --target "$target" -o "$work/fp32.qcm"
"$q" compile "$work/int8.qcir" --target "$target" -o "$work/int8.qcm"
ls -l "$work/fp32.qcm" "$work/int8.qcm" | awk '{print "   ", $5, "bytes", $NF}'
if [ "$target" = cpu ]; then
  "$q" inspect "$work/int8.qcm" --target cpu 2>&1 >/dev/null | grep -E "cpu code|requires" | sed 's/^ */    /'
fi

echo
echo "== 3. run both on backend $target (batch 1000)"
"$q" run "$work/fp32.qcm" --backend "$target" --input "input=$input" --output-dir "$work/fp32" >/dev/null
"$q" run "$work/int8.qcm" --backend "$target" --input "input=$input" --output-dir "$work/int8" >/dev/null
echo "   fp32 vs PyTorch fp32:"
"$q" compare "$work/fp32/output.npy" "$torch_out" --rtol 1e-4 --atol 1e-6 | sed 's/^/     /'
echo "   int8 vs fp32 (agreement; quantization error, not a bug, if not within 1e-3):"
"$q" compare "$work/int8/output.npy" "$work/fp32/output.npy" | sed 's/^/     /' || true

echo
echo "== 4. speed, $runs runs each (qcomp bench)"
for p in fp32 int8; do
  "$q" bench "$work/$p.qcm" --backend "$target" --input "input=$input" --runs "$runs" \
        --json "$work/$p.json" | grep -E "latency|throughput|peak rss" | sed "s/^/   $p  /"
done
p50() { sed -n 's/.*"p50_ms": *\([0-9.eE+-]*\).*/\1/p' "$1"; }
awk -v a="$(p50 "$work/fp32.json")" -v b="$(p50 "$work/int8.json")" \
    'BEGIN { if (b > 0) printf "   int8 is %.2fx the speed of fp32 (p50 %.4f ms vs %.4f ms)\n", a / b, b, a }'
