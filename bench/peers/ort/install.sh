#!/bin/sh
# Installs ONNX Runtime's Node.js binding (CPU), the version package.json pins,
# into bench/peers/ort/node_modules (git-ignored).
#
# --ignore-scripts: onnxruntime-node's postinstall only downloads optional GPU
# add-ons (CUDA/TensorRT) from a host this machine cannot reach; the CPU
# library (libonnxruntime.so) ships inside the npm package itself, so the
# install works offline from npm's cache and needs nothing else.
set -eu
cd "$(dirname "$0")"
version=$(node -p "require('./package.json').dependencies['onnxruntime-node']")
npm install --ignore-scripts --no-audit --no-fund --save-exact "onnxruntime-node@$version"
node -e "const ort = require('onnxruntime-node'); \
console.log('onnxruntime-node ' + require('onnxruntime-node/package.json').version + ' loads (' + typeof ort.InferenceSession + ')')"
