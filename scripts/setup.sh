#!/usr/bin/env bash
# Installs every system package qcomp needs (Debian 12). Idempotent: runs
# `apt-get update` and `apt-get install` only when something is missing.
# Works as root with no stdin (CI); uses sudo when not root.
#
#   scripts/setup.sh               build + test packages (what test.sh and quickstart.sh need)
#   scripts/setup.sh --generators  also the packages that regenerate committed test models
#                                  (PyTorch, torchvision, scikit-learn: large, not needed by tests)
#   scripts/setup.sh --bench       also what bench/run_seed.sh needs (PyTorch, matplotlib, hyperfine)
set -euo pipefail

# Build and test essentials. The later backends add their packages here.
PACKAGES=(
  build-essential   # gcc, make, libc headers
  cmake             # build system
  clang-19          # libFuzzer targets (tests/fuzz)
  libclang-rt-19-dev  # libFuzzer + sanitizer runtimes for clang-19
  valgrind          # tests/valgrind: memcheck of compile + run
  python3-numpy     # regenerating committed test data (tests/ops/gen_*.py); tests themselves need no python
  protobuf-c-compiler # protoc-c: generates the ONNX frontend's parser from onnx.proto at build time
  libprotobuf-c-dev # libprotobuf-c, linked by libqcomp
  libonnx-dev       # /usr/include/onnx/onnx.proto
  libonnx-testdata  # ONNX backend node tests (tests/onnx_node)
  python3-onnx      # regenerating tests/onnx/*.onnx (tests/onnx/gen_models.py); tests need no python
  # backends (cmake/backends.cmake enables each when its packages are present)
  llvm-19-dev       # cpu backend: LLVM C API (codegen, ORC LLJIT), libLLVM-19
  lld-19            # cpu backend: links the AOT object into the artifact's shared object
  glslang-dev       # vulkan backend: GLSL -> SPIR-V through the glslang C API
  glslang-tools     # glslangValidator, for checking shaders by hand
  libvulkan-dev     # vulkan headers (the runtime dlopens libvulkan.so.1)
  mesa-vulkan-drivers # lavapipe: Vulkan on the CPU, so vulkan tests run without a GPU
  vulkan-tools      # vulkaninfo
  spirv-tools       # spirv-val: validates generated SPIR-V in tests
  vulkan-validationlayers # VK_LAYER_KHRONOS_validation: tests/vulkan/validation.sh, zero errors
  # benchmarks
  python3-matplotlib # bench/plot.py
  hyperfine         # timing whole commands
)

# bench/run_seed.sh and bench/run_models.sh: the PyTorch peer, the plots and
# the compile-time measurement (the ONNX Runtime peer is npm's
# onnxruntime-node, installed by bench/peers/ort/install.sh; node is needed).
if [ "${1:-}" = "--bench" ] || [ "${1:-}" = "--generators" ]; then
  PACKAGES+=(
    python3-torch        # PyTorch peer (bench/peers/torch_peer.py); also the model generators
    libopenblas0         # OpenBLAS for the PyTorch peer (Debian's default BLAS is the reference one)
    time                 # /usr/bin/time -v: peak RSS of `qcomp run`
  )
  # node >= 18 with npm runs the ONNX Runtime peer; not listed: this machine's
  # node comes from NodeSource (bundling npm), and Debian's npm package would
  # pull Debian's nodejs 18 over it.
fi

if [ "${1:-}" = "--generators" ]; then
  PACKAGES+=(
    python3-torch        # tests/models/gen_models.py: torch.onnx.export of the test models
    python3-torchvision  # resnet18 / mobilenet_v2 (random weights, generated on demand)
    python3-sklearn      # the bundled digits data set for the digits CNN
  )
fi

missing=()
for p in "${PACKAGES[@]}"; do
  # dpkg-query prints "install ok installed" for installed packages.
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq </dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
echo "setup: done"
