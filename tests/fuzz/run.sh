#!/usr/bin/env bash
# Builds every libFuzzer target with clang-19 (+ASan+UBSan) and runs each for
# SECONDS (default 30) from its seed corpus. Usage: tests/fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-30}
out=build-fuzz
mkdir -p "$out"
common=(ir/*.c ops/*.c runtime/*.c frontend/text/*.c backends/ref/*.c tools/npy.c)
flags=(-std=c11 -D_POSIX_C_SOURCE=200809L -O1 -g -I include -I . -ffp-contract=off
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
status=0
run_target() {  # name corpus-dirs...
  local name=$1; shift
  clang-19 "${flags[@]}" -o "$out/$name" "tests/fuzz/$name.c" "${common[@]}" -lm
  rm -rf "$out/corpus_$name"; mkdir -p "$out/corpus_$name"
  # Seed corpus: copy the committed files so libFuzzer may add to it freely.
  for src in "$@"; do find "$src" -type f -exec cp --backup=numbered {} "$out/corpus_$name/" \; 2>/dev/null || true; done
  echo "fuzz: $name for ${secs}s with $(ls "$out/corpus_$name" | wc -l) seeds"
  if ! "$out/$name" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 "$out/corpus_$name" 2>"$out/$name.log"; then
    tail -40 "$out/$name.log"; status=1
  else
    grep -E "stat::number_of_executed_units|Done" "$out/$name.log" | tail -2
  fi
}
run_target fuzz_text tests/ir tests/bad_input
run_target fuzz_npy tests/bad_input
exit $status
