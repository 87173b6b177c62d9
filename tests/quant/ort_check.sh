#!/bin/bash
# ort_check.sh — cross-checks qcomp against ONNX Runtime on an ONNX model.
#
#   tests/quant/ort_check.sh [--export] [--opset N] [--int-tol N] [--ort-opt LEVEL]
#                            MODEL.onnx [NAME=]INPUT.npy...
#   tests/quant/ort_check.sh --all [--int-tol N] [--ort-opt LEVEL]
#
# Runs MODEL in ONNX Runtime (CPU, onnxruntime-node) and with `qcomp run`
# (ref backend) on the same inputs and compares every output (floats: rtol
# 1e-3, atol 1e-5; integers: max abs diff and differing count, pass within
# --int-tol, default 0). --ort-opt sets ORT's graphOptimizationLevel
# (disabled, basic [default], extended, all; above basic ORT fuses Q/DQ into
# its own quantized kernels, see docs/onnx.md). With --export the model is first imported and
# exported again by qcomp (qc_onnx_export, at --opset, default: the lowest
# that fits) and the exported model is what both run. --all does both for
# every tests/models/<name>/ (model.onnx + input_*.npy). Ends with
# "N passed, M failed" (outputs); exit status 1 when any failed.
#
# Not part of ctest: it needs node and bench/peers/ort/install.sh's
# node_modules. Binaries: $QCOMP (default build/qcomp) and $QC_EXPORT_TOOL
# (default build/tests/test_onnx_export, whose --export mode does the export).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
qcomp=${QCOMP:-$root/build/qcomp}
export_tool=${QC_EXPORT_TOOL:-$root/build/tests/test_onnx_export}
js=$root/tests/quant/ort_check.js
do_export=0 opset=0 int_tol=0 all=0 ort_opt=basic
while [ $# -gt 0 ]; do
    case $1 in
        --export) do_export=1 ;;
        --opset) opset=$2; shift ;;
        --int-tol) int_tol=$2; shift ;;
        --ort-opt) ort_opt=$2; shift ;;
        --all) all=1 ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        *) break ;;
    esac
    shift
done
for bin in "$qcomp" "$export_tool"; do
    [ -x "$bin" ] || { echo "ort_check: $bin not built (cmake --build build)" >&2; exit 2; }
done
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

# check LABEL EXPORT MODEL INPUTS...: prints the table; adds to the totals.
passed=0 failed=0
check() {
    local label=$1 exp=$2 model=$3
    shift 3
    if [ "$exp" = 1 ]; then
        local out=$tmp/$(echo "$label" | tr -c 'A-Za-z0-9_.-' _).onnx
        if ! err=$("$export_tool" --export "$model" "$out" "$opset" 2>&1); then
            echo "# $label"
            echo "export failed: $err"
            failed=$((failed + 1))
            return
        fi
        model=$out
    fi
    local log
    log=$(node "$js" --qcomp "$qcomp" --int-tol "$int_tol" --ort-opt "$ort_opt" \
               --label "$label" "$model" "$@")
    echo "$log" | sed '$d'
    local last p f
    last=$(echo "$log" | tail -n 1)
    p=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-1}))
}

if [ "$all" = 1 ]; then
    for dir in "$root"/tests/models/*/; do
        name=$(basename "$dir")
        [ -f "$dir/model.onnx" ] || continue
        inputs=()
        for i in $(seq 0 15); do
            [ -f "$dir/input_$i.npy" ] && inputs+=("$dir/input_$i.npy")
        done
        check "$name (as generated)" 0 "$dir/model.onnx" "${inputs[@]}"
        echo
        check "$name (qcomp export)" 1 "$dir/model.onnx" "${inputs[@]}"
        echo
    done
else
    [ $# -ge 1 ] || { sed -n '2,6p' "$0" >&2; exit 2; }
    model=$1
    shift
    if [ "$do_export" = 1 ]; then check "$model (qcomp export)" 1 "$model" "$@"
    else check "$model" 0 "$model" "$@"; fi
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
