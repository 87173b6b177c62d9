#!/usr/bin/env bash
# valgrind memcheck on the seed FNN: import + compile to .qcm, run the .qcm
# through the runtime, and run the .onnx directly. Any leak or memory error
# fails. Release build only (valgrind and ASan do not mix): label "valgrind".
#   bash tests/valgrind/seed_fnn.sh path/to/qcomp
set -u
qcomp=$1
command -v valgrind >/dev/null || { echo "skipped: valgrind not installed"; exit 77; }
M=tests/models/seed_fnn
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
vg=(valgrind --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all
    --suppressions="$(dirname "$0")/thirdparty.supp" --error-exitcode=9 -q)
pass=0 fail=0
check() {   # name command...
    local name=$1; shift
    if "${vg[@]}" "$@" >/dev/null 2>"$tmp/err"; then pass=$((pass + 1))
    else fail=$((fail + 1)); echo "FAIL: $name"; cat "$tmp/err"; fi
}
check "compile seed_fnn" "$qcomp" compile $M/model.onnx -o "$tmp/fnn.qcm"
check "run seed_fnn.qcm" "$qcomp" run "$tmp/fnn.qcm" --input input=$M/input_0.npy --quiet
check "run seed_fnn.onnx" "$qcomp" run $M/model.onnx --input input=$M/input_0.npy --quiet
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
