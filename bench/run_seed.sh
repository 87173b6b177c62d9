#!/usr/bin/env bash
# run_seed.sh — the seed benchmark (/work/shared/seeds: FNN 200-128-64-32-16-8-1,
# ReLU, Sigmoid; batch 1000) in one command: qcomp on every backend that opens
# here (fp32, int8, int8-dynamic), PyTorch and ONNX Runtime on the same model
# and the same input, one table with ratios, bench/results/seed.json and
# bench/results/seed.png.
#
#   bench/run_seed.sh                       # 1000 timed runs each
#   RUNS=20 WARMUP=2 bench/run_seed.sh      # smoke run
#
# Environment: RUNS (1000), WARMUP (50), THREADS (2: the peers' intra-op
# threads and qcomp's runtime threads), QCOMP (build/qcomp), OUT
# (bench/results). Model: tests/models/seed_fnn/model.onnx; input and
# calibration data: its input_0.npy (np.random.RandomState(1000).rand(1000,
# 200), the seed's input; see meta.json), fed to every tool.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-1000}
WARMUP=${WARMUP:-50}
THREADS=${THREADS:-2}
QCOMP=${QCOMP:-build/qcomp}
OUT=${OUT:-bench/results}
PY=/usr/bin/python3   # Debian's, with numpy, onnx, torch, matplotlib
MODEL=tests/models/seed_fnn/model.onnx
X=tests/models/seed_fnn/input_0.npy

[ -x "$QCOMP" ] || { echo "run_seed: no qcomp at $QCOMP (build it, or set QCOMP=)" >&2; exit 1; }
mkdir -p "$OUT"
W=$(mktemp -d "${TMPDIR:-/tmp}/run_seed.XXXXXX")
trap 'rm -rf "$W"' EXIT
LINES=$W/lines.jsonl
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$LINES"
say() { echo "run_seed: $*" >&2; }

# ---- qcomp: every backend x scheme, compiled in memory, calibrated on X ----
backends=$("$QCOMP" bench --list-backends)
for b in $backends; do
    for s in fp32 int8 int8-dynamic; do
        say "qcomp $b $s ($RUNS runs)"
        "$QCOMP" bench "$MODEL" --backend "$b" --scheme "$s" --input "$X" --runs "$RUNS" \
            --warmup "$WARMUP" --threads "$THREADS" --json "$W/q.json" >/dev/null
        cat "$W/q.json" >>"$LINES"
    done
done

# ---- ONNX Runtime: fp32, static QDQ int8, dynamic int8 (models from qcomp) ----
# --force: the same all-int8 model for every tool (the int8-vs-fp32 guard would
# keep layers float where it estimates int8 slower; docs/quantization.md)
"$QCOMP" quantize "$MODEL" --scheme int8 --calib "$X" --force -o "$W/q.onnx" >/dev/null
"$QCOMP" quantize "$MODEL" --scheme int8-dynamic --force -o "$W/qd.onnx" >/dev/null
if command -v node >/dev/null; then
    [ -d bench/peers/ort/node_modules/onnxruntime-node ] || bench/peers/ort/install.sh >&2
    for m in "$MODEL:fp32" "$W/q.onnx:int8" "$W/qd.onnx:int8-dynamic"; do
        say "ort ${m##*:}"
        node bench/peers/ort/bench.js --model "${m%:*}" --input "$X" --runs "$RUNS" \
            --warmup "$WARMUP" --threads "$THREADS" --precision "${m##*:}" >>"$LINES"
    done
else
    say "node not found: ONNX Runtime peer skipped"
fi

# ---- PyTorch: whatever BLAS libblas.so.3 resolves to, then OpenBLAS forced ----
# Debian's libblas.so.3 is an alternative: the reference BLAS (slow) unless
# libopenblas0 took it over. Preloading the OpenBLAS build of libblas.so.3
# makes torch's sgemm_ OpenBLAS's either way. qnnpack logs one warning per
# dynamic-int8 call; that noise is filtered, anything else on stderr stays.
OPENBLAS=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
torch_peer() {
    "$PY" bench/peers/torch_peer.py --model "$MODEL" --input "$X" --runs "$RUNS" \
        --warmup "$WARMUP" --threads "$THREADS" "$@" \
        2> >(grep -v -e 'qlinear_dynamic.cpp' -e 'InitGoogleLogging' >&2) >>"$LINES"
}
if "$PY" -c "import torch" 2>/dev/null; then
    say "torch (default BLAS)"
    torch_peer
    if [ -e "$OPENBLAS" ]; then
        say "torch (LD_PRELOAD OpenBLAS)"
        LD_PRELOAD=$OPENBLAS torch_peer --configs eager,jit
    fi
else
    say "python3-torch not installed: PyTorch peer skipped"
fi

# ---- extras: `qcomp run` peak RSS and `qcomp compile` time ----
# Both for the cpu target when this build has it (the embedded default):
# compile time includes LLVM codegen and linking, RSS is the runtime alone
# running the cpu artifact.
extras=$W/extras.json
TGT=ref
"$QCOMP" bench --list-backends 2>/dev/null | grep -qx cpu && TGT=cpu
rss_kb=""
if [ -x /usr/bin/time ] && "$QCOMP" compile "$MODEL" --target "$TGT" -o "$W/rss.qcm" >/dev/null 2>&1; then
    /usr/bin/time -v "$QCOMP" run "$W/rss.qcm" --input "$X" --quiet 2>"$W/time.txt"
    rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$W/time.txt")
fi
compile_ms=""
if command -v hyperfine >/dev/null; then
    hyperfine -N -w 3 -r 20 --export-json "$W/hf.json" \
        "$QCOMP compile $MODEL --target $TGT -o $W/s.qcm" >/dev/null 2>&1 &&
        compile_ms=$("$PY" -c "import json,sys; print(round(json.load(open(sys.argv[1]))['results'][0]['median']*1e3, 2))" "$W/hf.json")
fi
# The machine is shared: the load average before and after says how quiet
# it was (a busy neighbour shows up as a large p90 - p50 spread).
"$PY" - "$extras" "$rss_kb" "$compile_ms" "$RUNS" "$WARMUP" "$THREADS" "$LOAD0" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$TGT" <<'PY'
import json, sys
path, rss_kb, compile_ms, runs, warmup, threads, load0, load1, tgt = sys.argv[1:]
e = {"runs": int(runs), "warmup": int(warmup), "threads": int(threads),
     "loadavg_before": load0, "loadavg_after": load1}
if rss_kb:
    e[f"qcomp_run_peak_rss_mb (/usr/bin/time -v, {tgt} artifact, one run)"] = round(int(rss_kb) / 1024, 1)
if compile_ms:
    e[f"qcomp_compile_ms (hyperfine median, whole process: import + compile for {tgt} + write .qcm)"] = float(compile_ms)
json.dump(e, open(path, "w"))
PY

"$PY" bench/report.py --lines "$LINES" --extras "$extras" \
    --title "seed FNN 200-128-64-32-16-8-1, batch 1000, $RUNS runs, $THREADS threads" \
    -o "$OUT/seed.json"
"$PY" bench/plot.py "$OUT/seed.json" -o "$OUT/seed.png"
