#!/usr/bin/env bash
# From a fresh machine: install what is missing, build, then run the bundled
# example model (the seed benchmark's FNN, 200-128-64-32-16-8-1, batch 1000)
# on the default backend, checking its outputs and printing its timing.
#
# Today the default (and only) backend is `ref`, the reference interpreter,
# running fp32. The int8 cpu path (ONNX -> int8 PTQ -> LLVM-compiled artifact)
# replaces this once the cpu backend lands (see README's status table).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
./scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo

model=examples/models/seed_fnn.qcir
input=examples/models/seed_fnn_input.npy
expected=examples/models/seed_fnn_expected.npy
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo
echo "== model: $model"
./build/qcomp inspect "$model" >/dev/null
echo "== run on backend ref (fp32), batch 1000, 20 runs"
./build/qcomp run "$model" --input "x=$input" --output-dir "$out" --backend ref --repeat 20
echo "== check against the numpy float64 forward pass"
./build/qcomp compare "$out/y.npy" "$expected" --rtol 1e-4 --atol 1e-6
