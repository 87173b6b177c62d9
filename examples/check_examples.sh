#!/usr/bin/env bash
# check_examples.sh MODE HOST_APP AOT_APP QCOMP — runs the examples (ctest).
#  jit: host_app imports, compiles in memory and runs test models.
#  aot: aot_app links libqcrt only (readelf), runs a .qcm from `qcomp compile`,
#       and prints exactly what host_app prints for the same model.
set -u
mode=$1 host=$2 aot=$3 qcomp=$4
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
models="seed_fnn digits_cnn_qdq transformer_block"

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
