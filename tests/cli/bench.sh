# bench.sh — `qcomp bench` smoke test: 3 runs of the seed FNN on every
# backend that opens here (fp32 and int8), the JSON has every field with sane
# values, and bad input is a clear error. Never asserts on speed: only that
# the numbers are positive, ordered (min <= p50 <= p90 <= max) and consistent.
#   bash tests/cli/bench.sh build/qcomp        (from the source root)
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"

M=tests/models/seed_fnn

# check_json WHAT FILE BACKEND SCHEME BATCH: fields present and sane.
check_json() {
    if /usr/bin/python3 - "$2" "$3" "$4" "$5" <<'PY'; then pass; else fail "$1: JSON $2"; fi
import json, sys
path, backend, scheme, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
r = json.load(open(path))
need = ["tool", "model", "backend", "scheme", "batch", "runs", "warmup", "threads",
        "load_ms", "compile_ms", "min_ms", "p50_ms", "p90_ms", "mean_ms", "max_ms",
        "throughput_per_s", "cpu_percent", "peak_rss_mb"]
missing = [k for k in need if k not in r]
assert not missing, f"missing fields {missing}"
assert r["tool"] == "qcomp" and r["backend"] == backend and r["scheme"] == scheme, r
assert r["batch"] == batch and r["runs"] == 3 and r["threads"] >= 1, r
assert 0 < r["min_ms"] <= r["p50_ms"] <= r["p90_ms"] <= r["max_ms"], r
assert r["min_ms"] <= r["mean_ms"] <= r["max_ms"], r
assert r["throughput_per_s"] > 0 and r["compile_ms"] > 0, r
# CPU time over wall time: above 0, at most every thread busy (+ slack for
# clock granularity on a 3-run sample).
assert 0 < r["cpu_percent"] <= 100 * r["threads"] + 50, r
assert 0.5 < r["peak_rss_mb"] < 4096, r
# The seed FNN (200-128-64-32-16-8-1): 2 x 36,488 MACs per sample.
if "seed_fnn" in r["model"]:
    assert abs(r["gop_per_run"] - 2 * 36488 * batch / 1e9) < 1e-9, r
    assert r["gops_p50"] > 0, r
PY
}

# Probing every device opens (and closes) a Vulkan instance; Mesa's lavapipe
# leaks when its driver is unloaded, and once unloaded LSan cannot name the
# module, so the probe runs without leak detection, and the sanitizer run of
# scripts/test.sh skips the devices in QC_TEST_SKIP_BACKENDS (vulkan).
backends=$(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$QCOMP" bench --list-backends)
for skip in ${QC_TEST_SKIP_BACKENDS:-}; do backends=$(echo "$backends" | grep -vx "$skip" || true); done
if echo "$backends" | grep -qx ref; then pass; else fail "--list-backends lacks ref: $backends"; fi

for b in $backends; do
    q bench $M/model.onnx --backend "$b" --input $M/input_0.npy --runs 3 --warmup 1 \
        --threads 2 --json "$TMP/$b.json"
    expect_rc "bench $b fp32" 0
    expect_out "bench $b table" "latency" "min " "p50 " "p90 " "mean " "throughput" "cpu " \
        "peak rss" "compile "
    check_json "bench $b fp32" "$TMP/$b.json" "$b" none 1000

    q bench $M/model.onnx --backend "$b" --scheme int8 --batch 16 --runs 3 --warmup 1 \
        --json "$TMP/$b-int8.json"
    expect_rc "bench $b int8" 0
    expect_out "bench $b int8 calibrates on the input" "calibrated on the bench input"
    check_json "bench $b int8" "$TMP/$b-int8.json" "$b" int8 16
done

# A compiled artifact is loaded, not compiled; it cannot be quantized again.
"$QCOMP" compile $M/model.onnx -o "$TMP/s.qcm" >/dev/null 2>&1
q bench "$TMP/s.qcm" --backend ref --batch 4 --runs 3
expect_rc "bench .qcm" 0
expect_out "bench .qcm" "loaded, not compiled"
q bench "$TMP/s.qcm" --scheme int8 --runs 3
expect_error "quantize a .qcm" "s.qcm" "compiled .qcm artifact"

# Bad input: one clear line, exit 1 (runtime errors) or 2 (usage).
q bench $M/model.onnx --backend nope --runs 3
expect_error "unknown backend" "no device named 'nope'" "available: ref"
q bench "$TMP/missing.onnx" --runs 3
expect_error "missing model" "missing.onnx" "cannot read"
q bench $M/model.onnx --input "$TMP/missing.npy" --runs 3
expect_error "missing input" "missing.npy"
q bench $M/model.onnx --input tests/models/digits_cnn/input_0.npy --runs 3
expect_error "wrong input shape" "f32[64,1,8,8]" "f32[N,200]"
q bench tests/models/digits_cnn/model.onnx --scheme int8 --calib $M/input_0.npy --runs 3
expect_error "wrong calibration data" "input_0.npy" "f32[1000,200]"

# expect_usage WHAT TEXT ARGS...: exit 2, TEXT and the usage on stderr.
expect_usage() {
    local what=$1 text=$2
    shift 2
    q "$@"
    expect_rc "$what" 2
    expect_err "$what" "$text" "usage: qcomp bench"
    if [ ! -s "$TMP/stdout" ]; then pass; else fail "$what: wrote to stdout"; fi
}
for bad in 0 -1 abc 1.5 99999999999; do
    expect_usage "--runs '$bad'" "--runs needs a whole number" bench $M/model.onnx --runs "$bad"
done
expect_usage "--warmup -1" "--warmup needs a whole number" bench $M/model.onnx --warmup -1
expect_usage "--batch 0" "--batch needs a whole number" bench $M/model.onnx --batch 0
expect_usage "--threads x" "--threads needs a whole number" bench $M/model.onnx --threads x
expect_usage "no model" "no MODEL given" bench --runs 3
expect_usage "unknown scheme" "unknown scheme 'int9'" bench $M/model.onnx --scheme int9
expect_usage "unknown option" "unknown option '--run'" bench $M/model.onnx --run 3
expect_usage "--input with --batch" "exclude each other" bench $M/model.onnx \
    --input $M/input_0.npy --batch 3
expect_usage "--calib without a scheme" "--calib needs a quantizing --scheme" bench \
    $M/model.onnx --calib $M/input_0.npy
expect_usage "--runs without value" "option --runs needs a value" bench $M/model.onnx --runs

q bench --help
expect_rc "bench --help" 0
expect_out "bench --help" "usage: qcomp bench" "--backend" "--scheme" "--runs" "--json"

finish
