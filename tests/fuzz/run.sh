#!/usr/bin/env bash
# Builds every libFuzzer target with clang-19 (+ASan+UBSan) and runs each for
# SECONDS (default 30) from its seed corpus: text IR, .npy, ONNX models,
# .qcm artifacts.
# Usage: tests/fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-30}
out=${QC_FUZZ_OUT:-build-fuzz}   # QC_FUZZ_OUT: another build dir (parallel runs)
mkdir -p "$out"
# The ONNX frontend's protobuf code is generated here, as CMake does.
mkdir -p "$out/gen"
protoc-c --proto_path=/usr/include/onnx --c_out="$out/gen" /usr/include/onnx/onnx.proto
common=(ir/*.c ops/*.c compiler/*.c runtime/*.c frontend/text/*.c frontend/onnx/*.c passes/*.c backends/ref/*.c
        tools/npy.c "$out/gen/onnx.pb-c.c")
flags=(-std=c11 -D_POSIX_C_SOURCE=200809L -O1 -g -I include -I . -I "$out/gen" -ffp-contract=off
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
status=0
run_target() {  # name corpus-dirs...
  local name=$1; shift
  clang-19 "${flags[@]}" -o "$out/$name" "tests/fuzz/$name.c" "${common[@]}" -lprotobuf-c -lm
  rm -rf "$out/corpus_$name"; mkdir -p "$out/corpus_$name"
  # Seed corpus: copy the committed files so libFuzzer may add to it freely.
  for src in "$@"; do find "$src" -type f -exec cp --backup=numbered {} "$out/corpus_$name/" \; 2>/dev/null || true; done
  echo "fuzz: $name for ${secs}s with $(ls "$out/corpus_$name" | wc -l) seeds"
  # Crash reproducers go to $out, not the source tree.
  if ! "$out/$name" -artifact_prefix="$out/" -max_total_time="$secs" -max_len=65536 -timeout=10 \
       -rss_limit_mb=2048 -print_final_stats=1 "$out/corpus_$name" 2>"$out/$name.log"; then
    tail -40 "$out/$name.log"; status=1
  else
    grep -E "stat::number_of_executed_units|Done" "$out/$name.log" | tail -2
  fi
}
run_target fuzz_text tests/ir tests/bad_input
run_target fuzz_npy tests/bad_input
# ONNX seeds: our handcrafted models plus every 5th node-test model (~190).
onnx_seeds="$out/seeds_onnx"
rm -rf "$onnx_seeds"; mkdir -p "$onnx_seeds"
node=/usr/share/libonnx-testdata/data/node
if [ -d "$node" ]; then
  ls "$node" | awk 'NR % 5 == 1' | while read -r t; do
    [ -f "$node/$t/model.onnx" ] && cp "$node/$t/model.onnx" "$onnx_seeds/$t.onnx"
  done
fi
run_target fuzz_onnx tests/onnx "$onnx_seeds"
run_target fuzz_qcm tests/artifact tests/fuzz/regress/qcm
exit $status
