// bench.js — ONNX Runtime peer for bench/run_seed.sh: times one .onnx model on
// one .npy input with the CPU execution provider and prints ONE JSON line with
// the fields `qcomp bench --json` writes (min/p50/p90/mean/max ms,
// throughput_per_s, cpu_percent, peak_rss_mb), so the driver reads both alike.
//
//   node bench/peers/ort/bench.js --model M.onnx --input X.npy [--input NAME=Y.npy]
//        --runs R [--warmup W] [--threads T] [--precision P] [--config C]
//
// Sessions run sequentially (executionMode 'sequential', inter-op 1 thread)
// with intra-op = --threads (default 2), all graph optimizations on. CPU
// time comes from process.cpuUsage (all threads of this process: ORT's pool
// included), peak RSS from process.resourceUsage().maxRSS (the whole process,
// like getrusage in qcomp bench).
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

function die(msg) {
  process.stderr.write(`ort peer: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { inputs: [], runs: 100, warmup: 10, threads: 2, precision: 'fp32', config: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    if (v === undefined) die(`option ${a} needs a value`);
    i++;
    if (a === '--model') o.model = v;
    else if (a === '--input') o.inputs.push(v);
    else if (a === '--runs') o.runs = parseInt(v, 10);
    else if (a === '--warmup') o.warmup = parseInt(v, 10);
    else if (a === '--threads') o.threads = parseInt(v, 10);
    else if (a === '--precision') o.precision = v;
    else if (a === '--config') o.config = v;
    else die(`unknown option ${a}`);
  }
  if (!o.model || !o.inputs.length) die('need --model and --input');
  if (!(o.runs >= 1) || !(o.warmup >= 0) || !(o.threads >= 1)) die('bad --runs/--warmup/--threads');
  return o;
}

// .npy (v1-3, C order, little-endian float32/int64/int32/uint8/int8/bool) ->
// ort.Tensor. The bench feeds every peer the same file.
const NPY_TYPES = {
  '<f4': ['float32', Float32Array], '<i8': ['int64', BigInt64Array],
  '<i4': ['int32', Int32Array], '|u1': ['uint8', Uint8Array], '|i1': ['int8', Int8Array],
  '|b1': ['bool', Uint8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') die(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !shape || /'fortran_order':\s*True/.test(header)) die(`${file}: unsupported header ${header}`);
  const t = NPY_TYPES[descr[1]];
  if (!t) die(`${file}: unsupported dtype ${descr[1]}`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const off = hstart + hlen;
  const n = dims.reduce((a, b) => a * b, 1);
  // Copy into an aligned buffer: the data offset need not be a multiple of 8.
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset + off, n * t[1].BYTES_PER_ELEMENT).slice();
  return new ort.Tensor(t[0], new t[1](bytes.buffer), dims);
}

function percentile(sorted, q) {   // numpy's default (linear), as qcomp bench
  const pos = q * (sorted.length - 1), lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(o.model, {
    executionProviders: ['cpu'], intraOpNumThreads: o.threads, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const feeds = {};
  for (const arg of o.inputs) {
    const eq = arg.indexOf('=');
    const named = eq > 0 && session.inputNames.includes(arg.slice(0, eq));
    if (!named && session.inputNames.length !== 1) die(`--input ${arg}: use NAME=FILE (inputs: ${session.inputNames})`);
    feeds[named ? arg.slice(0, eq) : session.inputNames[0]] = readNpy(named ? arg.slice(eq + 1) : arg);
  }
  for (let k = 0; k < o.warmup; k++) await session.run(feeds);
  const ms = new Float64Array(o.runs);
  const cpu0 = process.cpuUsage(), wall0 = process.hrtime.bigint();
  for (let k = 0; k < o.runs; k++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    ms[k] = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  const wall = Number(process.hrtime.bigint() - wall0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const mean = ms.reduce((a, b) => a + b, 0) / o.runs;
  ms.sort();
  const first = feeds[session.inputNames[0]];
  const batch = first.dims.length ? first.dims[0] : 1;
  console.log(JSON.stringify({
    tool: 'ort', config: o.config || `ort ${o.precision}`, precision: o.precision,
    version: require(path.join(__dirname, 'node_modules', 'onnxruntime-node', 'package.json')).version,
    model: o.model, batch, runs: o.runs, warmup: o.warmup, threads: o.threads,
    min_ms: ms[0], p50_ms: percentile(ms, 0.5), p90_ms: percentile(ms, 0.9), mean_ms: mean,
    max_ms: ms[o.runs - 1], throughput_per_s: batch * 1e3 / mean,
    cpu_percent: 100 * (cpu.user + cpu.system) / 1e3 / wall,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  }));
}

main().catch((e) => die(e && e.message ? e.message : String(e)));
