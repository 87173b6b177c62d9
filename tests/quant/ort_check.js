#!/usr/bin/env node
// ort_check.js — runs an ONNX model in ONNX Runtime (onnxruntime-node, CPU)
// and in qcomp (`qcomp run ... --output-dir`) on the same .npy inputs and
// compares every output. Driven by tests/quant/ort_check.sh (see there and
// docs/onnx.md, "Export"); needs bench/peers/ort/install.sh to have run.
//
//   node ort_check.js --qcomp BIN [--int-tol N] [--ort-opt LEVEL] [--label TEXT]
//                     MODEL.onnx [NAME=]INPUT.npy...
//
// --ort-opt is ORT's graphOptimizationLevel: `basic` by default (constant
// folding and redundancy removal only, so ORT computes the ONNX semantics
// op by op); `extended`/`all` let ORT fuse Q/DQ pairs into its own
// quantized kernels, which compute something else (docs/onnx.md).
// Inputs bind in graph order unless given as NAME=FILE. Floats pass when
// |qcomp - ort| <= atol + rtol * |ort| (rtol 1e-3, atol 1e-5; NaN matches
// NaN); integers and bools pass when no element differs by more than
// --int-tol (default 0) — the table always shows the max abs difference and
// how many elements differ, since QDQ requantization may round differently.
// Prints one table row per output and ends with "N passed, M failed"
// (outputs); the exit status is 1 when any failed, 2 on usage/setup errors.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const cp = require('child_process');

const ORT_DIR = path.join(__dirname, '..', '..', 'bench', 'peers', 'ort', 'node_modules',
                          'onnxruntime-node');

// .npy descr -> ORT tensor type and typed array.
const NPY_TYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '<f2': ['float16', Uint16Array], '<i8': ['int64', BigInt64Array],
  '<i4': ['int32', Int32Array], '<i2': ['int16', Int16Array],
  '|i1': ['int8', Int8Array], '|u1': ['uint8', Uint8Array], '|b1': ['bool', Uint8Array],
};
const FLOAT_TYPES = new Set(['float32', 'float64', 'float16']);

// A minimal .npy reader (versions 1-3, C order, the types above): what
// qcomp's tools/npy.c writes and numpy's np.save produces for them.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY')
    throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const off = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', off, off + hlen);
  const descr = (/'descr':\s*'([^']+)'/.exec(header) || [])[1];
  const fortran = (/'fortran_order':\s*(True|False)/.exec(header) || [])[1];
  const shapeText = (/'shape':\s*\(([^)]*)\)/.exec(header) || [])[1];
  if (!descr || !fortran || shapeText === undefined) throw new Error(`${file}: bad header`);
  if (fortran === 'True') throw new Error(`${file}: Fortran order is not supported`);
  const type = NPY_TYPES[descr];
  if (!type) throw new Error(`${file}: dtype ${descr} is not supported`);
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  const bytes = n * type[1].BYTES_PER_ELEMENT;
  if (buf.length - off - hlen < bytes) throw new Error(`${file}: truncated data`);
  const ab = new ArrayBuffer(bytes);   // aligned copy for the typed array
  new Uint8Array(ab).set(buf.subarray(off + hlen, off + hlen + bytes));
  return { type: type[0], dims, data: new type[1](ab) };
}

function f16ToNumber(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  if (e === 0) return s * m * 2 ** -24;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

// Plain numbers for comparison (int64 via Number: exact up to 2^53, enough to
// count differences).
function toNumbers(type, data) {
  const out = new Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    out[i] = type === 'float16' && typeof v === 'number' && data instanceof Uint16Array
      ? f16ToNumber(v) : Number(v);
  }
  return out;
}

// qcomp run's file stem for each output (tools/cli_run.c: [^A-Za-z0-9_.-]
// -> '_', at most 160 characters, clashes get _2, _3, ... in output order).
function outputStems(names) {
  const stems = [];
  names.forEach((name, i) => {
    let base = name.slice(0, 160).replace(/[^A-Za-z0-9_.-]/g, '_');
    if (!base) base = `output${i}`;
    let stem = base;
    for (let k = 2; stems.includes(stem); k++) stem = `${base}_${k}`;
    stems.push(stem);
  });
  return stems;
}

function compare(type, got, want, intTol) {
  const a = toNumbers(type, got), b = toNumbers(type, want);
  const isFloat = FLOAT_TYPES.has(type);
  let maxAbs = 0, bad = 0, differ = 0;
  for (let i = 0; i < b.length; i++) {
    const x = a[i], y = b[i];
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;   // also equal infinities
    const d = Math.abs(x - y);
    differ++;
    if (!(d <= maxAbs)) maxAbs = d;   // NaN against a number counts as infinite
    if (isFloat ? !(d <= 1e-5 + 1e-3 * Math.abs(y)) : !(d <= intTol)) bad++;
  }
  if (Number.isNaN(maxAbs)) maxAbs = Infinity;
  return { maxAbs, bad, differ };
}

function usage(msg) {
  if (msg) console.error(`ort_check: ${msg}`);
  console.error('usage: node ort_check.js --qcomp BIN [--int-tol N] [--ort-opt LEVEL] ' +
                '[--label TEXT] MODEL.onnx [NAME=]INPUT.npy...');
  process.exit(2);
}

async function main() {
  const args = process.argv.slice(2);
  let qcomp = null, intTol = 0, label = null, opt = 'basic';
  const rest = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--qcomp') qcomp = args[++i];
    else if (args[i] === '--int-tol') intTol = Number(args[++i]);
    else if (args[i] === '--label') label = args[++i];
    else if (args[i] === '--ort-opt') opt = args[++i];
    else rest.push(args[i]);
  }
  if (!qcomp || rest.length < 1 || !(intTol >= 0)) usage('missing arguments');
  const model = rest[0];
  let ort;
  try {
    ort = require(ORT_DIR);
  } catch (e) {
    usage(`onnxruntime-node is not installed (run bench/peers/ort/install.sh): ${e.message}`);
  }
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: opt });

  // Inputs: NAME=FILE, or positional in graph order.
  const feeds = {}, bind = [];
  rest.slice(1).forEach((arg, i) => {
    const eq = arg.indexOf('=');
    const name = eq > 0 && !fs.existsSync(arg) ? arg.slice(0, eq) : session.inputNames[i];
    const file = eq > 0 && !fs.existsSync(arg) ? arg.slice(eq + 1) : arg;
    if (name === undefined) usage(`more inputs than the model's ${session.inputNames.length}`);
    const t = readNpy(file);
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    bind.push('--input', `${name}=${file}`);
  });
  const ortOut = await session.run(feeds);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ort_check_'));
  try {
    const r = cp.spawnSync(qcomp, ['run', model, ...bind, '--output-dir', dir, '--quiet'],
                           { encoding: 'utf8' });
    if (r.status !== 0) {
      const why = (r.stderr || r.error || '').toString().trim();
      console.log(`${label || model}: qcomp run failed: ${why}`);
      console.log(`0 passed, ${session.outputNames.length} failed`);
      return 1;
    }
    const stems = outputStems(session.outputNames);
    let passed = 0, failed = 0;
    console.log(`# ${label || model} (ORT graphOptimizationLevel ${opt})`);
    console.log('| output | type | shape | max abs diff | differing | status |');
    console.log('|---|---|---|---|---|---|');
    session.outputNames.forEach((name, i) => {
      const want = ortOut[name];
      let row;
      try {
        const got = readNpy(path.join(dir, `${stems[i]}.npy`));
        const type = want.type;
        const sameShape = got.dims.length === want.dims.length &&
          got.dims.every((d, k) => d === Number(want.dims[k]));
        if (!sameShape) {
          row = [type, `qcomp [${got.dims}] vs ort [${want.dims}]`, '-', '-', 'FAIL'];
          failed++;
        } else if (got.type !== type && !(got.type === 'uint8' && type === 'bool')) {
          row = [`qcomp ${got.type} vs ort ${type}`, `[${want.dims}]`, '-', '-', 'FAIL'];
          failed++;
        } else {
          const c = compare(type, got.data, want.data, intTol);
          const ok = c.bad === 0;
          ok ? passed++ : failed++;
          row = [type, `[${want.dims}]`, c.maxAbs.toPrecision(3), `${c.differ}/${want.data.length}`,
                 ok ? 'pass' : `FAIL (${c.bad} out of tolerance)`];
        }
      } catch (e) {
        row = ['-', '-', '-', '-', `FAIL (${e.message})`];
        failed++;
      }
      console.log(`| ${name} | ${row.join(' | ')} |`);
    });
    console.log(`${passed} passed, ${failed} failed`);
    return failed ? 1 : 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code), (e) => {
  console.error(`ort_check: ${e.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
