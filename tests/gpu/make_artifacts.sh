#!/usr/bin/env bash
# Compiles the artifacts and ref outputs the GPU run (tests/gpu/run_gpu.sh)
# uses, on a machine with the full toolchain (this project's dev machine):
#   tests/gpu/make_artifacts.sh BUILD_DIR OUT_DIR
# OUT_DIR gets seed_fnn_int8.qcir (quantized text IR: the GPU machine has
# no ONNX frontend), seed_fnn_int8.qcm (targets ref,cuda), its input and
# the ref output computed here.
set -euo pipefail
B=$1/qcomp; O=$2; M=tests/models/seed_fnn
mkdir -p "$O"
"$B" quantize $M/model.onnx --scheme int8 --calib $M/input_0.npy -o "$O/seed_fnn_int8.qcir" >/dev/null
"$B" compile "$O/seed_fnn_int8.qcir" --target ref,cuda -o "$O/seed_fnn_int8.qcm"
cp $M/input_0.npy "$O/seed_fnn_input.npy"
"$B" run "$O/seed_fnn_int8.qcm" --backend ref --input "$O/seed_fnn_input.npy" --output-dir "$O/ref" --quiet
ls -l "$O" "$O/ref"
