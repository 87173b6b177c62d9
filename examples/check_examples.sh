#!/usr/bin/env bash
# check_examples.sh MODE HOST_APP AOT_APP QCOMP — runs the examples (ctest).
#  jit: host_app imports, compiles in memory and runs test models.
#  aot: aot_app links libqcrt only (readelf), runs a .qcm from `qcomp compile`,
#       and prints exactly what host_app prints for the same model.
#  static: check_examples.sh static AOT_STATIC AOT_APP QCOMP — the program with
#       the seed FNN linked in prints exactly what aot_app prints for the .qcm
#       of the same compile (cpu, x86-64-v3), links libqcrt and no LLVM.
set -u
mode=$1 host=$2 aot=$3 qcomp=$4
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
models="seed_fnn digits_cnn_qdq transformer_block"

if [ "$mode" = static ]; then
  static=$2
  needed=$(readelf -d "$static" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  echo "aot_static NEEDED: $(echo $needed)"
  echo "$needed" | grep -q '^libqcrt\.so' || { echo "FAIL aot_static does not link libqcrt"; fail=1; }
  if echo "$needed" | grep -qE '^lib(qcomp|LLVM)'; then echo "FAIL aot_static links the compiler"; fail=1; fi
  "$qcomp" compile tests/models/seed_fnn/model.onnx --target cpu --cpu x86-64-v3 -o "$tmp/m.qcm" ||
    { echo "FAIL qcomp compile"; exit 1; }
  for b in 1 3 1000; do
    "$static" $b cpu >"$tmp/s.out" 2>&1 || { echo "FAIL aot_static $b:"; cat "$tmp/s.out"; fail=1; continue; }
    "$aot" "$tmp/m.qcm" $b cpu >"$tmp/a.out" 2>&1 || { echo "FAIL aot_app $b:"; cat "$tmp/a.out"; fail=1; continue; }
    grep -q "on device 'cpu'" "$tmp/s.out" || { echo "FAIL aot_static not on cpu:"; head -1 "$tmp/s.out"; fail=1; }
    if ! diff <(tail -n +2 "$tmp/s.out") <(tail -n +2 "$tmp/a.out") >/dev/null; then
      echo "FAIL batch $b: aot_static and aot_app differ"; diff "$tmp/s.out" "$tmp/a.out" | head; fail=1
    else
      echo "batch $b: static == artifact ($(tail -n +2 "$tmp/s.out" | wc -l) outputs)"
    fi
  done
  # The object path rejects what it cannot do, leaving no files.
  if "$qcomp" compile tests/models/seed_fnn/model.onnx --target ref --emit-object "$tmp/x.o" 2>"$tmp/err" ||
     ! grep -q "needs the cpu target" "$tmp/err" || [ -e "$tmp/x.o" ]; then
    echo "FAIL --emit-object without cpu:"; cat "$tmp/err"; fail=1
  fi
  [ $fail = 0 ] && echo "examples_static: ok"
  exit $fail
fi

if [ "$mode" = jit ]; then
  for m in $models; do
    if ! "$host" "tests/models/$m/model.onnx" 2 >"$tmp/$m.out" 2>&1; then
      echo "FAIL host_app $m:"; cat "$tmp/$m.out"; fail=1; continue
    fi
    grep -q "^model '" "$tmp/$m.out" && [ "$(wc -l <"$tmp/$m.out")" -ge 2 ] ||
      { echo "FAIL host_app $m printed no outputs"; fail=1; }
    head -3 "$tmp/$m.out"
  done
  # An unknown device is an error that lists the available ones.
  if "$host" tests/models/seed_fnn/model.onnx 2 no-such-device >"$tmp/bad" 2>&1 ||
     ! grep -q "available: .*ref" "$tmp/bad"; then
    echo "FAIL unknown device:"; cat "$tmp/bad"; fail=1
  fi
  [ $fail = 0 ] && echo "examples_jit: ok"
  exit $fail
fi

# aot: libqcrt only.
needed=$(readelf -d "$aot" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
echo "aot_app NEEDED: $(echo $needed)"
echo "$needed" | grep -q '^libqcrt\.so' || { echo "FAIL aot_app does not link libqcrt"; fail=1; }
if echo "$needed" | grep -q '^libqcomp\.so'; then echo "FAIL aot_app links libqcomp"; fail=1; fi
# Every device that opens here, with an artifact holding that device's code:
# same device, same kernels, so the printed outputs agree exactly.
# (The probe opens a Vulkan instance: no leak check there, and the sanitizer
# run skips QC_TEST_SKIP_BACKENDS; see tests/cli/bench.sh.)
devices=$(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$qcomp" bench --list-backends 2>/dev/null || echo ref)
for skip in ${QC_TEST_SKIP_BACKENDS:-}; do devices=$(echo "$devices" | grep -vx "$skip" || true); done
for dev in $devices; do
for m in $models; do
  if ! "$qcomp" compile "tests/models/$m/model.onnx" --target "$dev" -o "$tmp/$m.qcm" >"$tmp/compile" 2>&1; then
    echo "FAIL qcomp compile $m --target $dev:"; cat "$tmp/compile"; fail=1; continue
  fi
  "$aot" "$tmp/$m.qcm" 3 "$dev" >"$tmp/$m.aot" 2>&1 || { echo "FAIL aot_app $m on $dev:"; cat "$tmp/$m.aot"; fail=1; continue; }
  "$host" "tests/models/$m/model.onnx" 3 "$dev" >"$tmp/$m.jit" 2>&1 || { echo "FAIL host_app $m on $dev"; fail=1; continue; }
  if ! grep -q "on device '$dev'" "$tmp/$m.aot"; then
    echo "FAIL aot_app $m did not run on device $dev:"; head -1 "$tmp/$m.aot"; fail=1
  fi
  if ! diff <(tail -n +2 "$tmp/$m.jit") <(tail -n +2 "$tmp/$m.aot") >/dev/null; then
    echo "FAIL $m on $dev: aot_app and host_app outputs differ"; diff "$tmp/$m.jit" "$tmp/$m.aot" | head; fail=1
  else
    echo "$m on $dev: aot == jit ($(tail -n +2 "$tmp/$m.aot" | wc -l) outputs)"
  fi
done
done
[ $fail = 0 ] && echo "examples_aot: ok"
exit $fail
