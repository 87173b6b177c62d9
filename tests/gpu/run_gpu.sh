#!/usr/bin/env bash
# run_gpu.sh — the cuda backend's checks on a GPU machine (CUDA driver +
# toolkit + CMake + PyTorch; no LLVM, no protobuf-c, no apt). Sized for a
# 15-minute device budget: every step has a timeout and the script goes on
# after a failure, printing one summary table at the end.
#   tests/gpu/run_gpu.sh [ARTIFACT_DIR]   (default tests/gpu/artifacts, made
#                                          here by tests/gpu/make_artifacts.sh)
set -uo pipefail
cd "$(dirname "$0")/../.."
A=${1:-tests/gpu/artifacts}
BD=${BD:-build-gpu}
declare -a ROWS
row() { ROWS+=("$(printf '%-34s %-8s %s' "$1" "$2" "$3")"); echo "== $1: $2 $3"; }
step() { local name=$1 t=$2; shift 2; local t0=$SECONDS
  if timeout "$t" "$@" >"/tmp/qc_gpu_$name.log" 2>&1; then row "$name" ok "$((SECONDS-t0))s"
  else local rc=$?; row "$name" "FAIL($rc)" "$((SECONDS-t0))s, log /tmp/qc_gpu_$name.log"; tail -20 "/tmp/qc_gpu_$name.log"; fi; }

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: none"

# 1. CUDA-only build: no LLVM, no Vulkan, no ONNX frontend (no protobuf-c).
step configure 180 cmake -S . -B "$BD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQC_WERROR=ON \
  -DQC_WITH_LLVM=OFF -DQC_WITH_VULKAN=OFF -DQC_WITH_ONNX=OFF -DQC_WITH_CUDA=ON
step build 300 cmake --build "$BD" -j"$(nproc)" --target qcomp_cli qcomp_cuda test_cuda

# 2. Tests: NVRTC compile + no-device paths, then the random graphs on the
#    device against ref (bit-identical integer outputs).
step cuda_compile 300 "$BD/tests/test_cuda" compile
step cuda_gpu 300 "$BD/tests/test_cuda" gpu

# 3. The artifact compiled on the dev machine, against the ref output made there.
if [ -f "$A/seed_fnn_int8.qcm" ]; then
  step fnn_run 120 "$BD/qcomp" run "$A/seed_fnn_int8.qcm" --backend cuda \
       --input "$A/seed_fnn_input.npy" --output-dir /tmp/qc_gpu_fnn --quiet
  step fnn_bit_exact 60 cmp "$A/ref/output.npy" /tmp/qc_gpu_fnn/output.npy
  # Recompiled here too (NVRTC of this machine's toolkit), from the text IR.
  step fnn_compile_here 120 "$BD/qcomp" compile "$A/seed_fnn_int8.qcir" --target ref,cuda -o /tmp/qc_gpu_fnn.qcm
  if command -v compute-sanitizer >/dev/null || [ -x /usr/local/cuda/bin/compute-sanitizer ]; then
    CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
    step memcheck 240 "$CS" --tool memcheck --error-exitcode 9 "$BD/qcomp" run "$A/seed_fnn_int8.qcm" \
         --backend cuda --input "$A/seed_fnn_input.npy" --quiet
  else row memcheck skipped "no compute-sanitizer"; fi
  # 4. Benchmarks: qcomp's own timing line (median of --repeat) at batch 1000.
  step fnn_bench_b1000 120 "$BD/qcomp" run "$A/seed_fnn_int8.qcm" --backend cuda \
       --input "$A/seed_fnn_input.npy" --repeat 200
  grep -h "time" /tmp/qc_gpu_fnn_bench_b1000.log | tail -2
else
  row fnn_run skipped "no $A/seed_fnn_int8.qcm (run tests/gpu/make_artifacts.sh on the dev machine)"
fi

# 5. Peers in the same run (PyTorch): int8 GEMM 8192^3 (torch._int_mm, TN),
#    FP8 e4m3 8192^3 (torch._scaled_mm), seed FNN fp32 eager + CUDA graph.
step torch_peers 240 python3 tests/gpu/peers.py

echo; echo "summary ($(date -u +%FT%TZ))"
printf '%s\n' "${ROWS[@]}"
cat /tmp/qc_gpu_torch_peers.log 2>/dev/null | grep '^|' || true
